//! Task tools that read: list by project, assignee or status; the caller's own tasks in the
//! tracker; unassigned ones; free-text search; one task by id.
use pm_core::{Assignee, TaskQuery};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{MyTasks, TaskList, TaskOne};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::tools::ToolError;
use crate::tools::args::{given, native_of, statuses};

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

#[tool_router(router = task_reads_router, vis = "pub(crate)")]
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
        let project = given(a.project_id.as_deref())?;
        let sprint = given(a.sprint_id.as_deref())?;
        let assignee = given(a.assignee_id.as_deref())?;
        let query = TaskQuery {
            project: native_of(&project),
            sprint: native_of(&sprint),
            assignee: native_of(&assignee).map(Assignee::User),
            statuses: statuses(a.status.as_deref()),
            text: None,
        };
        let ids = [
            ("project_id", project),
            ("sprint_id", sprint),
            ("assignee_id", assignee),
        ];
        self.run_task_query(&p, a.provider_id.as_deref(), &ids, query, a.cursor, a.limit)
            .await
    }

    /// Tasks assigned to you, on all your connections unless provider_id or project_id names one.
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
    ) -> Result<Json<MyTasks>, ToolError> {
        self.my_tasks(&p, a).await
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
        let assignee = given(Some(&a.assignee_id))?
            .ok_or_else(|| ToolError::new("assignee_id is empty".into()))?;
        let project = given(a.project_id.as_deref())?;
        let query = TaskQuery {
            project: native_of(&project),
            assignee: Some(Assignee::User(assignee.native.clone())),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        let ids = [("assignee_id", Some(assignee)), ("project_id", project)];
        self.run_task_query(&p, a.provider_id.as_deref(), &ids, query, a.cursor, a.limit)
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
        let project = given(a.project_id.as_deref())?;
        let query = TaskQuery {
            project: native_of(&project),
            statuses: statuses(a.status.as_deref()),
            text: Some(a.query),
            ..TaskQuery::default()
        };
        let ids = [("project_id", project)];
        self.run_task_query(&p, a.provider_id.as_deref(), &ids, query, a.cursor, a.limit)
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
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let task = tracker
            .call(|t| async move { t.get_task(&id).await })
            .await?;
        Ok(Json(TaskOne::of(task)))
    }
}
