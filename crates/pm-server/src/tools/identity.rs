//! `list_providers`: the caller's tracker connections, never a secret (in the connections
//! toolset, with the tools of `connections.rs`).
use pm_core::ProviderKind;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListProvidersArgs {
    /// Only connections of this provider type, e.g. "jira_cloud".
    #[serde(default)]
    pub provider_type: Option<ProviderKind>,
    /// true: only active connections (default: all, inactive ones marked is_active false).
    #[serde(default)]
    pub active_only: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderList {
    pub connections: Vec<ConnectionSummary>,
    /// Provider types pm-mcp knows.
    pub supported_provider_types: Vec<ProviderKind>,
}

pub use crate::service::connections::{ConnectionSummary, summary};

/// The connections toolset (list_providers here, the others in `connections.rs`).
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Connections,
        router: PmServer::identity_router() + PmServer::connections_router(),
        order: &[
            "list_providers",
            "configure_pm_provider",
            "test_pm_provider",
            "remove_pm_provider",
        ],
    }
}

#[tool_router(router = identity_router, vis = "pub(crate)")]
impl PmServer {
    /// Your tracker connections (Jira, OpenProject, ClickUp, Redmine): name, type, URL, default
    /// flag, last check. Never shows credentials.
    #[tool(
        name = "list_providers",
        annotations(
            title = "List tracker connections",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_providers(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ListProvidersArgs>,
    ) -> Result<Json<ProviderList>, ToolError> {
        let mut connections = self.state().store.list_connections(p.user.id).await?;
        if let Some(kind) = args.provider_type {
            connections.retain(|c| c.provider_type == kind);
        }
        if args.active_only {
            connections.retain(|c| c.is_active);
        }
        Ok(Json(ProviderList {
            connections: connections.into_iter().map(summary).collect(),
            supported_provider_types: ProviderKind::ALL.to_vec(),
        }))
    }
}
