//! The tasks toolset: list, search and read tasks (`read`), create and change them (`write`).
//! Here: the answers both sides give, and the task query lists and searches share.
use pm_core::{Assignee, Page, PageRequest, QualifiedId, Task, TaskQuery};
use rmcp::handler::server::wrapper::Json;
use schemars::JsonSchema;
use serde::Serialize;

use super::ToolError;
use super::args::{given, native_of, statuses};
use crate::auth::Principal;
use crate::server::PmServer;

mod mine;
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

/// `list_my_tasks`' answer: a page of tasks, and the trackers that failed when all of the
/// caller's connections were listed (their tasks are missing from this answer).
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyTasks {
    #[serde(flatten)]
    pub list: TaskList,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<TrackerFailure>,
}

/// A tracker that failed while several were listed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TrackerFailure {
    /// The connection's handle.
    pub connection: String,
    pub error: String,
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

impl TaskList {
    /// A page of qualified tasks, in the list form.
    pub(crate) fn of(page: Page<Task>) -> Self {
        TaskList {
            tasks: page.items.into_iter().map(TaskItem::of).collect(),
            next_cursor: page.next,
        }
    }
}

impl PmServer {
    /// The caller's tasks: on every active connection when they name none (neither a
    /// connection nor a project) and have several, else on the one named, their only active
    /// one, or their default.
    async fn my_tasks(
        &self,
        p: &Principal,
        mut a: MyTasksArgs,
    ) -> Result<Json<MyTasks>, ToolError> {
        let named = a
            .provider_id
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty());
        let project = a
            .project_id
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty());
        if !named && !project {
            let status = statuses(a.status.as_deref());
            let cursor = a.cursor.as_deref();
            if super::across::is_across_cursor(cursor) {
                let position = super::across::Position::decode(cursor.unwrap_or_default())?;
                let all = self
                    .my_tasks_from(p, position, false, status, a.limit)
                    .await?;
                return Ok(Json(all));
            }
            let connections = self.state().service.connections_of(p.user.id).await?;
            match super::across::Position::start(&connections) {
                // Several active connections: all of them (a tracker's own cursor was given by
                // the listing of the default one, before the others were added: it goes on there).
                Some(start) if !start.rest.is_empty() && cursor.is_none() => {
                    let all = self.my_tasks_from(p, start, true, status, a.limit).await?;
                    return Ok(Json(all));
                }
                // One active connection: that one, even when the default is inactive.
                Some(only) if only.rest.is_empty() => a.provider_id = Some(only.at),
                _ => {}
            }
        }
        let Json(list) = self.tasks_assigned(p, a, Assignee::Me).await?;
        Ok(Json(MyTasks {
            list,
            failed: Vec::new(),
        }))
    }

    /// Tasks of one kind of assignee (the caller's tracker account, or nobody), optionally
    /// within a project and statuses.
    async fn tasks_assigned(
        &self,
        p: &Principal,
        a: MyTasksArgs,
        who: Assignee,
    ) -> Result<Json<TaskList>, ToolError> {
        let project = given(a.project_id.as_deref())?;
        if super::across::is_across_cursor(a.cursor.as_deref()) {
            return Err(ToolError::new(
                "this cursor is of the listing across all your connections; pass it to \
                 list_my_tasks without provider_id and project_id"
                    .into(),
            ));
        }
        let query = TaskQuery {
            project: native_of(&project),
            assignee: Some(who),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        let ids = [("project_id", project)];
        self.run_task_query(p, a.provider_id.as_deref(), &ids, query, a.cursor, a.limit)
            .await
    }

    /// A page of the tasks `query` finds, on the connection `provider_id` and the `ids` the
    /// query was built from name.
    pub(crate) async fn run_task_query(
        &self,
        p: &Principal,
        provider_id: Option<&str>,
        ids: &[(&'static str, Option<QualifiedId>)],
        query: TaskQuery,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<Json<TaskList>, ToolError> {
        let tracker = self.tracker_for(p, provider_id, ids).await?;
        let page = tracker
            .call(|t| async move {
                t.search_tasks(&query, &PageRequest::new(cursor, limit))
                    .await
            })
            .await?;
        Ok(Json(TaskList::of(page)))
    }
}
