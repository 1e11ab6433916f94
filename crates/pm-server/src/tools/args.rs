//! Reading the arguments tools share: qualified ids, dates, lists of statuses.
use chrono::NaiveDate;
use pm_core::QualifiedId;

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

pub(crate) fn date(raw: &str, field: &str) -> Result<NaiveDate, ToolError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        ToolError::new(format!(
            "{field} {raw:?} is not a date; use YYYY-MM-DD, e.g. 2026-12-01"
        ))
    })
}

pub(crate) fn native(raw: &str) -> Result<QualifiedId, ToolError> {
    QualifiedId::parse(raw).map_err(|e| ToolError::new(e.0))
}

pub(crate) fn statuses(raw: Option<&str>) -> Vec<String> {
    raw.map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

impl PmServer {
    /// The caller's connection that a (qualified) id names, its client, and the native id.
    pub(crate) async fn target(
        &self,
        p: &Principal,
        task_id: &str,
    ) -> Result<
        (
            pm_store::Connection,
            std::sync::Arc<dyn pm_core::Provider>,
            String,
        ),
        ToolError,
    > {
        let state = self.state();
        let id = native(task_id)?;
        let conn = state
            .service
            .resolve(p, id.connection.as_ref().map(|c| c.as_str()))
            .await?;
        let provider = state.service.client(&conn).await?;
        Ok((conn, provider, id.native))
    }
}
