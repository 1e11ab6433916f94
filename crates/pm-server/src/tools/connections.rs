//! Connection tools: add a tracker connection after testing it (`configure_pm_provider`), test a
//! stored one (`test_pm_provider`), remove one (`remove_pm_provider`). The rules are the
//! service's (`service::connections`), shared with the admin API, the sync and the CLI.
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::ServiceError;
use crate::service::connections::{
    ConfigureArgs, ConfigureResult, RemoveResult, SameTracker, TestResult,
};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectionArgs {
    /// Connection name or id (default: your default one).
    #[serde(default)]
    pub provider_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RemoveArgs {
    /// The connection's name or id (see list_providers).
    pub provider_id: String,
}

#[tool_router(router = connections_router, vis = "pub(crate)")]
impl PmServer {
    /// Connect a tracker with your own credentials: tests them (sign-in, site, projects), then stores
    /// them sealed. Jira Cloud: base_url, username (e-mail), api_token. Jira Data Center: base_url,
    /// api_token (personal access token). OpenProject, Redmine: base_url, api_key. Nothing is
    /// stored if the test fails, unless asked.
    #[tool(
        name = "configure_pm_provider",
        annotations(
            title = "Connect a tracker",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn configure_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ConfigureArgs>,
    ) -> Result<Json<ConfigureResult>, ToolError> {
        let service = &self.state().service;
        Ok(Json(
            service
                .configure(p.user.id, args, SameTracker::TakeNewCredentials)
                .await
                .map_err(ServiceError::from)?,
        ))
    }

    /// Test one of your tracker connections now (sign-in, site, projects) and record the outcome.
    #[tool(
        name = "test_pm_provider",
        annotations(
            title = "Test a tracker connection",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn test_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ConnectionArgs>,
    ) -> Result<Json<TestResult>, ToolError> {
        let service = &self.state().service;
        let conn = service.resolve_any(&p, args.provider_id.as_deref()).await?;
        Ok(Json(
            service
                .test_connection(p.user.id, &conn)
                .await
                .map_err(ServiceError::from)?,
        ))
    }

    /// Remove one of your tracker connections and its stored credentials.
    #[tool(
        name = "remove_pm_provider",
        annotations(
            title = "Remove a tracker connection",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn remove_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<RemoveArgs>,
    ) -> Result<Json<RemoveResult>, ToolError> {
        let service = &self.state().service;
        let conn = service.resolve_any(&p, Some(&args.provider_id)).await?;
        Ok(Json(
            service
                .remove_connection(p.user.id, &conn)
                .await
                .map_err(ServiceError::from)?,
        ))
    }
}
