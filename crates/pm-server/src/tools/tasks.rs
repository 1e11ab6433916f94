//! Task tools (read side): list by project, sprint, assignee or status; the caller's own tasks
//! in the tracker; unassigned ones; free-text search; one task by id.
use pm_core::{Assignee, ConnectionHandle, PageRequest, QualifiedId, Task, TaskQuery, User};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListTasksArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    #[serde(default)]
    pub project_id: Option<String>,
    /// Sprint id (e.g. "acme-jira:42").
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// Tracker user id of the assignee.
    #[serde(default)]
    pub assignee_id: Option<String>,
    /// Status name(s), comma-separated (e.g. "To Do,In Progress").
    #[serde(default)]
    pub status: Option<String>,
    /// Connection name or id (default: the ids' one, else your default).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// From the previous page's next_cursor.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct MyTasksArgs {
    #[serde(default)]
    pub project_id: Option<String>,
    /// Status name(s), comma-separated.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ByAssigneeArgs {
    /// Tracker user id of the assignee.
    pub assignee_id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InSprintArgs {
    /// Sprint id (e.g. "acme-jira:42").
    pub sprint_id: String,
    /// Tracker user id of the assignee.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchTasksArgs {
    /// Words to find in titles, descriptions and comments.
    pub query: String,
    #[serde(default)]
    pub project_id: Option<String>,
    /// Status name(s), comma-separated.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetTaskArgs {
    /// Task id (e.g. "acme-jira:PROJ-42") or key.
    pub task_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskItem>,
    /// Pass as cursor for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskOne {
    pub task: Task,
    /// True when the description was longer than the answer cap
    /// ([`super::DESCRIPTION_CAP_CHARS`] characters) and is cut: the task's url has the rest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub description_cut: bool,
    /// What the tracker decided that was not asked for (e.g. the type used when none was given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl TaskOne {
    /// One task's answer (a read or a write): its description whole up to the answer cap.
    pub(crate) fn of(mut task: Task) -> Self {
        let description_cut = super::cut(&mut task.description, super::DESCRIPTION_CAP_CHARS);
        TaskOne {
            task,
            description_cut,
            notes: Vec::new(),
        }
    }
}

/// A task as lists and searches show it: its description cut to an excerpt of at most
/// [`super::EXCERPT_CHARS`] characters, flagged; `get_task` gives the whole text.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskItem {
    #[serde(flatten)]
    pub task: Task,
    /// True when `description` is an excerpt: get_task has the whole text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub description_cut: bool,
}

impl TaskItem {
    /// The list form of a qualified task.
    pub(crate) fn of(mut task: Task) -> Self {
        let description_cut = super::cut(&mut task.description, super::EXCERPT_CHARS);
        TaskItem {
            task,
            description_cut,
        }
    }
}

/// The native ids of qualified inputs, and the one connection they name (mixing is refused).
struct Ids {
    connection: Option<ConnectionHandle>,
}

impl Ids {
    fn new() -> Self {
        Self { connection: None }
    }

    fn native(&mut self, raw: Option<&str>) -> Result<Option<String>, ToolError> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let q = QualifiedId::parse(raw).map_err(|e| ToolError::new(e.0))?;
        if let Some(c) = q.connection {
            match &self.connection {
                Some(existing) if *existing != c => {
                    return Err(ToolError::new(format!(
                        "the ids name two connections ({existing} and {c}); use one"
                    )));
                }
                _ => self.connection = Some(c),
            }
        }
        Ok(Some(q.native))
    }
}

fn statuses(raw: Option<&str>) -> Vec<String> {
    raw.map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn qualify_user(u: &mut User, c: &ConnectionHandle) {
    u.id = QualifiedId::new(c, u.id.clone()).to_string();
}

/// Ids handed out are qualified with the connection, so they work as input as they are.
pub(crate) fn qualify(mut t: Task, c: &ConnectionHandle) -> Task {
    t.id = QualifiedId::new(c, t.id).to_string();
    t.project_id = t.project_id.map(|p| QualifiedId::new(c, p).to_string());
    t.parent_id = t.parent_id.map(|p| QualifiedId::new(c, p).to_string());
    if let Some(u) = t.assignee.as_mut() {
        qualify_user(u, c);
    }
    if let Some(u) = t.reporter.as_mut() {
        qualify_user(u, c);
    }
    t
}

impl PmServer {
    /// Tasks of one kind of assignee (the caller's tracker account, or nobody), optionally
    /// within a project and statuses.
    async fn tasks_assigned(
        &self,
        p: &Principal,
        a: MyTasksArgs,
        who: Assignee,
    ) -> Result<Json<TaskList>, ToolError> {
        let mut ids = Ids::new();
        let query = TaskQuery {
            project: ids.native(a.project_id.as_deref())?,
            assignee: Some(who),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        self.run_task_query(p, ids, a.provider_id.as_deref(), query, a.cursor, a.limit)
            .await
    }

    async fn run_task_query(
        &self,
        p: &Principal,
        ids: Ids,
        provider_id: Option<&str>,
        query: TaskQuery,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<Json<TaskList>, ToolError> {
        let state = self.state();
        let named = match (
            ids.connection.as_ref().map(|c| c.as_str()),
            provider_id.map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(ToolError::new(format!(
                    "provider_id {b:?} and the ids' connection {a:?} differ; use one"
                )));
            }
            (Some(a), _) => Some(a.to_string()),
            (None, b) => b.map(str::to_string),
        };
        let conn = state.service.resolve(p, named.as_deref()).await?;
        let provider = state.service.client(&conn).await?;
        let page = provider
            .search_tasks(&query, &PageRequest::new(cursor, limit))
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(TaskList {
            tasks: page
                .items
                .into_iter()
                .map(|t| TaskItem::of(qualify(t, &conn.name)))
                .collect(),
            next_cursor: page.next,
        }))
    }
}

#[tool_router(router = tasks_router, vis = "pub(crate)")]
impl PmServer {
    /// List tasks, filtered by project, sprint, assignee and status; newest changes first.
    #[tool(
        name = "list_tasks",
        annotations(
            title = "List tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ListTasksArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        let mut ids = Ids::new();
        let query = TaskQuery {
            project: ids.native(a.project_id.as_deref())?,
            sprint: ids.native(a.sprint_id.as_deref())?,
            assignee: ids.native(a.assignee_id.as_deref())?.map(Assignee::User),
            statuses: statuses(a.status.as_deref()),
            text: None,
        };
        self.run_task_query(&p, ids, a.provider_id.as_deref(), query, a.cursor, a.limit)
            .await
    }

    /// Tasks assigned to you in the tracker.
    #[tool(
        name = "list_my_tasks",
        annotations(
            title = "My tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_my_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<MyTasksArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        self.tasks_assigned(&p, a, Assignee::Me).await
    }

    /// Tasks assigned to one tracker user.
    #[tool(
        name = "list_tasks_by_assignee",
        annotations(
            title = "Tasks by assignee",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_tasks_by_assignee(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ByAssigneeArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        let mut ids = Ids::new();
        let assignee = ids
            .native(Some(&a.assignee_id))?
            .ok_or_else(|| ToolError::new("assignee_id is empty".into()))?;
        let query = TaskQuery {
            project: ids.native(a.project_id.as_deref())?,
            assignee: Some(Assignee::User(assignee)),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        self.run_task_query(&p, ids, a.provider_id.as_deref(), query, a.cursor, a.limit)
            .await
    }

    /// Tasks nobody is assigned to.
    #[tool(
        name = "list_unassigned_tasks",
        annotations(
            title = "Unassigned tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_unassigned_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<MyTasksArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        self.tasks_assigned(&p, a, Assignee::Nobody).await
    }

    /// The tasks of one sprint.
    #[tool(
        name = "list_tasks_in_sprint",
        annotations(
            title = "Tasks in a sprint",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_tasks_in_sprint(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<InSprintArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        let mut ids = Ids::new();
        let query = TaskQuery {
            sprint: ids.native(Some(&a.sprint_id))?,
            assignee: ids.native(a.assignee_id.as_deref())?.map(Assignee::User),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        self.run_task_query(&p, ids, None, query, a.cursor, a.limit)
            .await
    }

    /// Find tasks containing words, optionally within one project.
    #[tool(
        name = "search_tasks",
        annotations(
            title = "Search tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn search_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SearchTasksArgs>,
    ) -> Result<Json<TaskList>, ToolError> {
        if a.query.trim().is_empty() {
            return Err(ToolError::new(
                "query is empty; give words to search for".into(),
            ));
        }
        let mut ids = Ids::new();
        let query = TaskQuery {
            project: ids.native(a.project_id.as_deref())?,
            statuses: statuses(a.status.as_deref()),
            text: Some(a.query),
            ..TaskQuery::default()
        };
        self.run_task_query(&p, ids, a.provider_id.as_deref(), query, a.cursor, a.limit)
            .await
    }

    /// Read one task: title, description (Markdown), status, people, dates.
    #[tool(
        name = "get_task",
        annotations(
            title = "Get a task",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_task(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<GetTaskArgs>,
    ) -> Result<Json<TaskOne>, ToolError> {
        let (conn, provider, native) = self.target(&p, &a.task_id).await?;
        let task = provider
            .get_task(&native)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(TaskOne::of(qualify(task, &conn.name))))
    }
}
