//! Sprint tools: list a project's sprints, read one with its tasks, and plan them — create,
//! change, start, complete, delete.
use chrono::{DateTime, NaiveDate, Utc};
use pm_core::{
    ConnectionHandle, NewSprint, PageRequest, QualifiedId, Sprint, SprintChange, SprintState,
    TaskQuery,
};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::mcp::PmServer;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListSprintsArgs {
    /// Project id (e.g. "acme-jira:PROJ") or key.
    pub project_id: String,
    /// future, active or closed; comma-separated for several (default: all).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SprintArgs {
    /// Sprint id (e.g. "acme-jira:42").
    pub sprint_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SprintTasksArgs {
    pub sprint_id: String,
    /// Status name(s), comma-separated.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateSprintArgs {
    pub project_id: String,
    pub name: String,
    /// YYYY-MM-DD or an RFC 3339 time.
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub goal: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateSprintArgs {
    pub sprint_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub goal: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintList {
    pub sprints: Vec<Sprint>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintOne {
    pub sprint: Sprint,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintWithTasks {
    pub sprint: Sprint,
    pub tasks: Vec<super::tasks::TaskItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    pub deleted: String,
}

fn when(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ToolError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| {
            ToolError(format!(
                "{field} {raw:?} is not a date; use YYYY-MM-DD, e.g. 2026-12-01"
            ))
        })
}

impl UpdateSprintArgs {
    /// The changes asked for, dates checked.
    fn change(&self) -> Result<SprintChange, ToolError> {
        Ok(SprintChange {
            name: self.name.clone(),
            goal: self.goal.clone(),
            start: when(self.start_date.as_deref(), "start_date")?,
            end: when(self.end_date.as_deref(), "end_date")?,
        })
    }
}

fn states(raw: Option<&str>) -> Result<Vec<SprintState>, ToolError> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "future" => Ok(SprintState::Future),
            "active" => Ok(SprintState::Active),
            "closed" => Ok(SprintState::Closed),
            other => Err(ToolError(format!(
                "unknown sprint state {other:?}; use future, active or closed"
            ))),
        })
        .collect()
}

fn qualify(mut s: Sprint, c: &ConnectionHandle) -> Sprint {
    s.id = QualifiedId::new(c, s.id).to_string();
    s
}

#[tool_router(router = sprints_router, vis = "pub(crate)")]
impl PmServer {
    /// A project's sprints (future, active, closed), a page at a time.
    #[tool(
        name = "list_sprints",
        annotations(
            title = "List sprints",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_sprints(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ListSprintsArgs>,
    ) -> Result<Json<SprintList>, ToolError> {
        let wanted = states(a.state.as_deref())?;
        let (conn, provider, project) = self.target(&p, &a.project_id).await?;
        let page = provider
            .list_sprints(&project, &wanted, &PageRequest::new(a.cursor, a.limit))
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintList {
            sprints: page
                .items
                .into_iter()
                .map(|s| qualify(s, &conn.name))
                .collect(),
            next_cursor: page.next,
        }))
    }

    /// One sprint: name, state, dates, goal.
    #[tool(
        name = "get_sprint",
        annotations(
            title = "Get a sprint",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        let sprint = provider
            .get_sprint(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintOne {
            sprint: qualify(sprint, &conn.name),
        }))
    }

    /// A sprint and its tasks.
    #[tool(
        name = "get_sprint_tasks",
        annotations(
            title = "Sprint with its tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_sprint_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintTasksArgs>,
    ) -> Result<Json<SprintWithTasks>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        let sprint = provider
            .get_sprint(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        let statuses = a
            .status
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let query = TaskQuery {
            sprint: Some(id),
            statuses,
            ..TaskQuery::default()
        };
        let page = provider
            .search_tasks(&query, &PageRequest::new(a.cursor, a.limit))
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintWithTasks {
            sprint: qualify(sprint, &conn.name),
            tasks: page
                .items
                .into_iter()
                .map(|t| super::tasks::TaskItem::of(super::tasks::qualify(t, &conn.name)))
                .collect(),
            next_cursor: page.next,
        }))
    }

    /// Plan a new sprint in a project (it starts as future).
    #[tool(
        name = "create_sprint",
        annotations(
            title = "Create a sprint",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CreateSprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let start = when(a.start_date.as_deref(), "start_date")?;
        let end = when(a.end_date.as_deref(), "end_date")?;
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            return Err(ToolError("end_date must come after start_date".into()));
        }
        let (conn, provider, project) = self.target(&p, &a.project_id).await?;
        let sprint = provider
            .create_sprint(&NewSprint {
                project,
                name: a.name,
                start,
                end,
                goal: a.goal,
            })
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintOne {
            sprint: qualify(sprint, &conn.name),
        }))
    }

    /// Change a sprint's name, goal or dates.
    #[tool(
        name = "update_sprint",
        annotations(
            title = "Change a sprint",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<UpdateSprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let change = a.change()?;
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        let sprint = provider
            .update_sprint(&id, &change)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintOne {
            sprint: qualify(sprint, &conn.name),
        }))
    }

    /// Start a future sprint (give start_date and end_date if it has none).
    #[tool(
        name = "start_sprint",
        annotations(
            title = "Start a sprint",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn start_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<UpdateSprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let change = a.change()?;
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        let sprint = provider
            .start_sprint(&id, &change)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintOne {
            sprint: qualify(sprint, &conn.name),
        }))
    }

    /// Complete the active sprint.
    #[tool(
        name = "complete_sprint",
        annotations(
            title = "Complete a sprint",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn complete_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        let sprint = provider
            .complete_sprint(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(SprintOne {
            sprint: qualify(sprint, &conn.name),
        }))
    }

    /// Delete a sprint that has not started.
    #[tool(
        name = "delete_sprint",
        annotations(
            title = "Delete a sprint",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn delete_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintArgs>,
    ) -> Result<Json<Deleted>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.sprint_id).await?;
        provider
            .delete_sprint(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(Deleted {
            deleted: QualifiedId::new(&conn.name, id).to_string(),
        }))
    }
}
