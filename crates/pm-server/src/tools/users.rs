//! The users toolset: who is calling (`get_current_user`, never a secret), and the users of a
//! tracker: find them (for assignee ids), read one.
use chrono::{DateTime, Utc};
use pm_core::{PageRequest, Scope, User};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use super::args::{given, native_of};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::ServiceError;

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
pub struct ListUsersArgs {
    /// Part of a name or e-mail.
    #[serde(default)]
    pub query: Option<String>,
    /// Only this project's members.
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetUserArgs {
    /// User id from list_users (e.g. "acme-jira:5b10…").
    pub user_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserList {
    pub users: Vec<User>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserOne {
    pub user: User,
}

/// The users toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Users,
        router: PmServer::users_router(),
        order: &["get_current_user", "list_users", "get_user"],
    }
}

#[tool_router(router = users_router, vis = "pub(crate)")]
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
                        .map_err(|e| ServiceError::tracker(&conn.name, &e).message),
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

    /// Find tracker users by name or e-mail (their ids are what assignee_id takes).
    #[tool(
        name = "list_users",
        annotations(
            title = "Find users",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_users(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ListUsersArgs>,
    ) -> Result<Json<UserList>, ToolError> {
        let project = given(a.project_id.as_deref())?;
        let members_of = native_of(&project);
        let ids = [("project_id", project)];
        let tracker = self.tracker_for(&p, a.provider_id.as_deref(), &ids).await?;
        let query = a.query.unwrap_or_default();
        let request = PageRequest::new(a.cursor, a.limit);
        let page = tracker
            .call(|t| async move {
                match &members_of {
                    Some(project) => t.list_project_members(project, &query, &request).await,
                    None => t.list_users(&query, &request).await,
                }
            })
            .await?;
        Ok(Json(UserList {
            users: page.items,
            next_cursor: page.next,
        }))
    }

    /// One tracker user by id.
    #[tool(
        name = "get_user",
        annotations(
            title = "Get a user",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_user(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<GetUserArgs>,
    ) -> Result<Json<UserOne>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.user_id).await?;
        let user = tracker
            .call(|t| async move { t.get_user(&id).await })
            .await?;
        Ok(Json(UserOne { user }))
    }
}
