//! Identity tools: who is calling (`get_current_user`) and which tracker connections they have
//! (`list_providers`). Neither ever shows a secret.
use chrono::{DateTime, Utc};
use pm_core::{ProviderKind, Scope};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Serialize, JsonSchema)]
pub struct CurrentUser {
    pub user: UserView,
    /// The API key used (absent with OAuth).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "KeyView")]
    pub key: Option<KeyView>,
    /// The OAuth sign-in used (absent with a key).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SignInView")]
    pub oauth: Option<SignInView>,
    /// The user's tracker connections, as `name (provider type)`; the names go in `provider_id`.
    pub connections: Vec<String>,
    /// The connection used when a tool is given no connection name.
    pub default_connection: Option<String>,
    /// The caller's account in the tracker (default or named connection); null without one.
    pub provider_account: Option<ProviderAccount>,
    pub server: ServerView,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProviderAccount {
    pub connection: String,
    pub account: Option<pm_core::User>,
    /// Why the tracker could not say (bad token, unreachable…).
    pub error: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CurrentUserArgs {
    /// Connection whose tracker account to show (default: the default).
    #[serde(default)]
    pub provider_id: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The public start of the key, e.g. `pmcp_3fA9xQ2b`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// `null`: every toolset.
    pub toolsets: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

// An OAuth access token from the company's identity provider, as verified (no doc comment: it
// would be advertised in every tools/list).
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignInView {
    pub issuer: String,
    pub client_id: Option<String>,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerView {
    pub name: String,
    pub version: String,
}

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

#[tool_router(router = identity_router, vis = "pub(crate)")]
impl PmServer {
    /// Who you are: pm-mcp user, key or OAuth sign-in, scopes, connections and tracker account.
    /// Call this first to check the setup.
    #[tool(
        name = "get_current_user",
        annotations(
            title = "Current user",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_current_user(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<CurrentUserArgs>,
    ) -> Result<Json<CurrentUser>, ToolError> {
        let state = self.state();
        let connections = state.store.list_connections(p.user.id).await?;
        let named = args
            .provider_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let provider_account = if named.is_some() || connections.iter().any(|c| c.is_default) {
            let conn = state.service.resolve_any(&p, named).await?;
            let found = if !conn.is_active {
                Err("the connection is inactive and is not used".to_string())
            } else {
                match state.service.client(&conn).await {
                    Ok(client) => client
                        .whoami()
                        .await
                        .map_err(|e| ToolError::provider(&conn.name, &e).0),
                    Err(e) => Err(e.message),
                }
            };
            let (account, error) = match found {
                Ok(a) => (Some(a), None),
                Err(e) => (None, Some(e)),
            };
            Some(ProviderAccount {
                connection: conn.name.to_string(),
                account,
                error,
            })
        } else {
            None
        };
        Ok(Json(CurrentUser {
            user: UserView {
                id: p.user.id.to_string(),
                email: p.user.email.to_string(),
                name: p.user.name.clone(),
                is_admin: p.user.is_admin,
            },
            key: p.key().map(|k| KeyView {
                id: k.id.to_string(),
                name: k.name.clone(),
                prefix: k.key_prefix.clone(),
                scopes: k.scopes.to_vec(),
                toolsets: k.toolsets.clone(),
                expires_at: k.expires_at,
            }),
            oauth: p.token().map(|t| SignInView {
                issuer: t.issuer.clone(),
                client_id: t.client_id.clone(),
                scopes: t.scopes.to_vec(),
                expires_at: t.expires_at,
            }),
            connections: connections
                .iter()
                .map(|c| format!("{} ({})", c.name, c.provider_type))
                .collect(),
            default_connection: connections
                .iter()
                .find(|c| c.is_default)
                .map(|c| c.name.to_string()),
            provider_account,
            server: ServerView {
                name: "pm-mcp".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        }))
    }

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
