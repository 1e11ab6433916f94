//! `list_providers`: the caller's tracker connections, never a secret (in the connections
//! toolset, with the tools of `connections.rs`).
use chrono::{DateTime, Utc};
use pm_core::{AuthKind, ProviderKind};
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

/// A tracker connection, without its credentials.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionSummary {
    /// The connection's id (`provider_id` takes it as well as the name).
    pub id: String,
    /// The handle used as a prefix in ids, e.g. `acme-jira` in `acme-jira:PROJ-42`.
    pub name: String,
    pub provider_type: ProviderKind,
    pub base_url: String,
    pub auth_kind: AuthKind,
    pub is_default: bool,
    /// false: the connection is switched off and no tool uses it.
    pub is_active: bool,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A connection as tools show it: never its credentials.
pub(crate) fn summary(c: pm_store::Connection) -> ConnectionSummary {
    ConnectionSummary {
        id: c.id.to_string(),
        name: c.name.to_string(),
        provider_type: c.provider_type,
        base_url: c.base_url.to_string(),
        auth_kind: c.auth_kind,
        is_default: c.is_default,
        is_active: c.is_active,
        last_checked_at: c.last_checked_at,
        last_error: c.last_error,
        created_at: c.created_at,
    }
}

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
