//! The tasks toolset: list, search and read tasks (`read`), create and change them (`write`).
//! Here: the answers both sides give, and the task query lists and searches share.
use pm_core::{Assignee, ConnectionHandle, PageRequest, QualifiedId, Task, TaskQuery, User};
use rmcp::handler::server::wrapper::Json;
use schemars::JsonSchema;
use serde::Serialize;

use super::ToolError;
use super::args::statuses;
use crate::auth::Principal;
use crate::server::PmServer;

mod read;
mod write;

pub use read::MyTasksArgs;
pub use write::Done;

/// The tasks toolset.
pub(super) fn family() -> crate::tools::Family {
    crate::tools::Family {
        toolset: crate::tools::Toolset::Tasks,
        router: PmServer::task_reads_router() + PmServer::task_writes_router(),
        order: &[
            "list_tasks",
            "list_my_tasks",
            "list_tasks_by_assignee",
            "list_unassigned_tasks",
            "search_tasks",
            "get_task",
            "create_task",
            "update_task",
            "update_task_status",
            "assign_task",
            "bulk_update_tasks",
            "delete_task",
            "add_task_watcher",
            "link_related_tasks",
        ],
    }
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
pub(crate) struct Ids {
    connection: Option<ConnectionHandle>,
}

impl Ids {
    pub(crate) fn new() -> Self {
        Self { connection: None }
    }

    pub(crate) fn native(&mut self, raw: Option<&str>) -> Result<Option<String>, ToolError> {
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

    pub(crate) async fn run_task_query(
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
