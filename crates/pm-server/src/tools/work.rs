//! Task writing tools: create, move through the workflow, assign, comment, log work — and read
//! comments and worklogs back.
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use pm_core::{Comment, NewTask, PageRequest, QualifiedId, Task, Worklog};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::mcp::PmServer;
use crate::providers::resolve;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTaskArgs {
    /// Project id (e.g. "acme-jira:PROJ") or key.
    pub project_id: String,
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// Tracker user id (see list_users).
    #[serde(default)]
    pub assignee_id: Option<String>,
    /// Priority name, e.g. "High".
    #[serde(default)]
    pub priority: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub due_date: Option<String>,
    /// Type, e.g. "Bug" (default Task, else the tracker's own).
    #[serde(default)]
    pub task_type: Option<String>,
    /// Parent task id, for a sub-task or a task under an epic.
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Sprint id (e.g. "acme-jira:42").
    #[serde(default)]
    pub sprint_id: Option<String>,
    #[serde(default)]
    pub story_points: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusArgs {
    /// Task id (e.g. "acme-jira:PROJ-42").
    pub task_id: String,
    /// The status to move to, by name (e.g. "In Progress").
    pub status: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AssignArgs {
    pub task_id: String,
    /// Tracker user id; empty or null to unassign.
    #[serde(default)]
    pub assignee_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CommentArgs {
    pub task_id: String,
    /// Markdown.
    pub comment: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskPageArgs {
    pub task_id: String,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LogWorkArgs {
    pub task_id: String,
    /// Hours worked, e.g. 1.5 (whole minutes are kept).
    pub hours: f64,
    /// The day the work was done, YYYY-MM-DD (default today, UTC).
    #[serde(default)]
    pub date: Option<String>,
    /// What was done (Markdown).
    #[serde(default)]
    pub comment: Option<String>,
}

/// A write's answer: the task as the tracker now holds it (description capped like get_task's).
pub type TaskOut = super::tasks::TaskOne;
pub type AssignOut = super::tasks::TaskOne;

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentOut {
    pub comment: Comment,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentsOut {
    pub comments: Vec<Comment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorklogOut {
    pub worklog: Worklog,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorklogsOut {
    pub worklogs: Vec<Worklog>,
    pub total_hours: f64,
    pub next_cursor: Option<String>,
}

pub(crate) fn date(raw: &str, field: &str) -> Result<NaiveDate, ToolError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        ToolError(format!(
            "{field} {raw:?} is not a date; use YYYY-MM-DD, e.g. 2026-12-01"
        ))
    })
}

pub(crate) fn native(raw: &str) -> Result<QualifiedId, ToolError> {
    QualifiedId::parse(raw).map_err(|e| ToolError(e.0))
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
        let conn = resolve(state, p, id.connection.as_ref().map(|c| c.as_str())).await?;
        let provider = state.providers.client(state, &conn).await?;
        Ok((conn, provider, id.native))
    }
}

fn requalify(t: Task, c: &pm_core::ConnectionHandle) -> Task {
    super::tasks::qualify(t, c)
}

#[tool_router(router = work_router, vis = "pub(crate)")]
impl PmServer {
    /// Create a task in a project; returns it with its id.
    #[tool(
        name = "create_task",
        annotations(
            title = "Create a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_task(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CreateTaskArgs>,
    ) -> Result<Json<TaskOut>, ToolError> {
        let state = self.state();
        let project = native(&a.project_id)?;
        let conn = resolve(state, &p, project.connection.as_ref().map(|c| c.as_str())).await?;
        let other = |raw: &Option<String>| -> Result<Option<String>, ToolError> {
            match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(r) => {
                    let q = native(r)?;
                    match q.connection {
                        Some(c) if c != conn.name => Err(ToolError(format!(
                            "{r:?} belongs to connection {c}, the project to {}",
                            conn.name
                        ))),
                        _ => Ok(Some(q.native)),
                    }
                }
            }
        };
        let type_given = a.task_type.as_deref().is_some_and(|t| !t.trim().is_empty());
        let task = NewTask {
            project: project.native.clone(),
            title: a.title,
            description: a.description,
            task_type: a.task_type,
            assignee: other(&a.assignee_id)?,
            priority: a.priority,
            due_date: a
                .due_date
                .as_deref()
                .map(|d| date(d, "due_date"))
                .transpose()?,
            parent: other(&a.parent_id)?,
            labels: a.labels.unwrap_or_default(),
            sprint: None,
            story_points: None,
        };
        let sprint = other(&a.sprint_id)?;
        let provider = state.providers.client(state, &conn).await?;
        // Where the tracker takes sprint and story points in the create itself (or refuses them
        // before writing), they go there; elsewhere they are set on the created task.
        let (task, sprint, story_points) = if provider.creates_in_sprint() {
            let task = NewTask {
                sprint,
                story_points: a.story_points,
                ..task
            };
            (task, None, None)
        } else {
            (task, sprint, a.story_points)
        };
        let mut created = provider
            .create_task(&task)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        // Sprint and story points are set on the created task (trackers take them as edits).
        // If that fails, the task is deleted again: no half-created item is left for a retry
        // to duplicate.
        if sprint.is_some() || story_points.is_some() {
            let change = pm_core::TaskChange {
                sprint,
                story_points,
                ..Default::default()
            };
            match provider.update_task(&created.id, &change).await {
                Ok(updated) => created = updated,
                Err(e) => {
                    let id = QualifiedId::new(&conn.name, created.id.clone());
                    return Err(ToolError(match provider.delete_task(&created.id).await {
                        Ok(()) => format!(
                            "connection {}: nothing was created: the sprint or story points could not be set ({e}), so the new task was deleted again",
                            conn.name
                        ),
                        Err(d) => format!(
                            "connection {}: created {id}, but its sprint or story points could not be set ({e}) and deleting it again failed ({d}); delete {id} before retrying",
                            conn.name
                        ),
                    }));
                }
            }
        }
        let mut out = TaskOut::of(requalify(created, &conn.name));
        if !type_given && let Some(used) = out.task.task_type.as_deref() {
            out.notes.push(format!(
                "task_type was not given: the tracker's default type {used:?} was used"
            ));
        }
        Ok(Json(out))
    }

    /// Move a task to a status by name, through the workflow. If no transition leads there, the
    /// error lists the statuses it can move to.
    #[tool(
        name = "update_task_status",
        annotations(
            title = "Change a task's status",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_task_status(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<StatusArgs>,
    ) -> Result<Json<TaskOut>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let task = provider
            .transition_task(&id, &a.status)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(TaskOut::of(requalify(task, &conn.name))))
    }

    /// Assign a task to a tracker user, or unassign it.
    #[tool(
        name = "assign_task",
        annotations(
            title = "Assign a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn assign_task(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<AssignArgs>,
    ) -> Result<Json<AssignOut>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let who = match a
            .assignee_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => Some(native(raw)?.native),
            None => None,
        };
        provider
            .assign_task(&id, who.as_deref())
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        let task = provider
            .get_task(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(AssignOut::of(requalify(task, &conn.name))))
    }

    /// Add a comment (Markdown) to a task.
    #[tool(
        name = "add_task_comment",
        annotations(
            title = "Comment on a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn add_task_comment(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CommentArgs>,
    ) -> Result<Json<CommentOut>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let comment = provider
            .add_comment(&id, &a.comment)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(CommentOut { comment }))
    }

    /// A task's comments, oldest first, as Markdown.
    #[tool(
        name = "get_task_comments",
        annotations(
            title = "Read a task's comments",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_task_comments(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<TaskPageArgs>,
    ) -> Result<Json<CommentsOut>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let page = provider
            .list_comments(&id, &PageRequest::new(a.cursor, a.limit))
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(CommentsOut {
            comments: page.items,
            next_cursor: page.next,
        }))
    }

    /// Log time spent on a task: hours (e.g. 1.5), the day (YYYY-MM-DD, default today), a comment.
    #[tool(
        name = "log_work",
        annotations(
            title = "Log work",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn log_work(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<LogWorkArgs>,
    ) -> Result<Json<WorklogOut>, ToolError> {
        if !a.hours.is_finite() || a.hours <= 0.0 || a.hours > 24.0 {
            return Err(ToolError(format!(
                "hours must be more than 0 and at most 24 (got {})",
                a.hours
            )));
        }
        let day = match a.date.as_deref() {
            Some(d) => date(d, "date")?,
            None => Utc::now().date_naive(),
        };
        let started = Utc
            .from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()));
        let seconds = (a.hours * 3600.0 / 60.0).round() as i64 * 60;
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let worklog = provider
            .log_work(&id, seconds, started, a.comment.as_deref())
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(WorklogOut { worklog }))
    }

    /// Time logged on a task, with the total in hours.
    #[tool(
        name = "list_worklogs",
        annotations(
            title = "Read logged work",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_worklogs(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<TaskPageArgs>,
    ) -> Result<Json<WorklogsOut>, ToolError> {
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let page = provider
            .list_worklogs(&id, &PageRequest::new(a.cursor, a.limit))
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        let total_hours = page.items.iter().map(|w| w.seconds).sum::<i64>() as f64 / 3600.0;
        Ok(Json(WorklogsOut {
            worklogs: page.items,
            total_hours,
            next_cursor: page.next,
        }))
    }
}
