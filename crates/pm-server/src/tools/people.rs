//! Users of a tracker: find them (for assignee ids), read one.
use pm_core::{PageRequest, QualifiedId, User};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

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

#[tool_router(router = people_router, vis = "pub(crate)")]
impl PmServer {
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
        let state = self.state();
        let project = match a.project_id.as_deref().map(str::trim) {
            Some(raw) if !raw.is_empty() => {
                Some(QualifiedId::parse(raw).map_err(|e| ToolError::new(e.0))?)
            }
            _ => None,
        };
        let given = a
            .provider_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let named = match (
            project
                .as_ref()
                .and_then(|q| q.connection.as_ref())
                .map(|c| c.as_str()),
            given,
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(ToolError::new(format!(
                    "provider_id {b:?} and project_id's connection {a:?} differ; use one"
                )));
            }
            (Some(a), _) => Some(a),
            (None, b) => b,
        };
        let conn = state.service.resolve(&p, named).await?;
        let provider = state.service.client(&conn).await?;
        let query = a.query.as_deref().unwrap_or("");
        let request = PageRequest::new(a.cursor, a.limit);
        let page = match &project {
            Some(q) => {
                provider
                    .list_project_members(&q.native, query, &request)
                    .await
            }
            None => provider.list_users(query, &request).await,
        }
        .map_err(|e| ToolError::provider(&conn.name, &e))?;
        let users = page
            .items
            .into_iter()
            .map(|mut u| {
                u.id = QualifiedId::new(&conn.name, u.id).to_string();
                u
            })
            .collect();
        Ok(Json(UserList {
            users,
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
        let (conn, provider, native) = self.target(&p, &a.user_id).await?;
        let mut user = provider
            .get_user(&native)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        user.id = QualifiedId::new(&conn.name, user.id).to_string();
        Ok(Json(UserOne { user }))
    }
}
