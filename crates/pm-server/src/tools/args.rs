//! Reading the arguments tools share: qualified ids, dates, lists of statuses.
use chrono::NaiveDate;
use pm_core::QualifiedId;

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::Tracker;

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

/// An optional id: `None` when absent or blank.
pub(crate) fn given(raw: Option<&str>) -> Result<Option<QualifiedId>, ToolError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(native)
        .transpose()
}

/// The native part of an optional id.
pub(crate) fn native_of(id: &Option<QualifiedId>) -> Option<String> {
    id.as_ref().map(|q| q.native.clone())
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
    /// The tracker a (qualified) id is on, and the id's native part.
    pub(crate) async fn tracker_of(
        &self,
        p: &Principal,
        raw: &str,
    ) -> Result<(Tracker, String), ToolError> {
        let id = native(raw)?;
        let tracker = self.state().service.tracker_of(p, &id).await?;
        Ok((tracker, id.native))
    }

    /// The caller's connection named `named` (or their default) as a tracker.
    pub(crate) async fn tracker(
        &self,
        p: &Principal,
        named: Option<&str>,
    ) -> Result<Tracker, ToolError> {
        Ok(self.state().service.tracker(p, named).await?)
    }

    /// The tracker of a call given several ids and perhaps a connection name (see
    /// [`crate::service::Service::tracker_for`]).
    pub(crate) async fn tracker_for(
        &self,
        p: &Principal,
        provider_id: Option<&str>,
        ids: &[(&'static str, Option<QualifiedId>)],
    ) -> Result<Tracker, ToolError> {
        Ok(self
            .state()
            .service
            .tracker_for(p, provider_id, ids)
            .await?)
    }
}
