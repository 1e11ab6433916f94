//! Epics: in Jira, tasks of the Epic type. List, read, create, change, delete, and put tasks under
//! an epic or take them out.
use pm_core::{NewTask, PageRequest, Task};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use super::args::native;
use super::tasks::TaskItem;
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::{Qualify, Tracker};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListEpicsArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    pub project_id: String,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct EpicArgs {
    /// Epic id (e.g. "acme-jira:PROJ-7").
    pub epic_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEpicArgs {
    pub project_id: String,
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateEpicArgs {
    pub epic_id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A status name.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct EpicLinkArgs {
    pub task_id: String,
    pub epic_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UnlinkArgs {
    pub task_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EpicList {
    pub epics: Vec<TaskItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EpicOne {
    pub epic: Task,
    /// True when the description was longer than the answer cap and is cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub description_cut: bool,
}

impl EpicOne {
    fn of(mut epic: Task) -> Self {
        let description_cut = super::cut(&mut epic.description, super::DESCRIPTION_CAP_CHARS);
        EpicOne {
            epic,
            description_cut,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EpicLinked {
    pub task: Task,
}

/// Whether a tracker item is an epic: its type is the tracker's epic type (named "Epic" on every
/// supported tracker: Jira's issue type, OpenProject's type, ClickUp's custom task type).
pub(crate) fn is_epic(t: &Task) -> bool {
    t.task_type
        .as_deref()
        .is_some_and(|ty| ty.trim().eq_ignore_ascii_case("epic"))
}

/// Redmine has no epic type (list_epics says so too): every epic tool answers "not supported",
/// and parent tasks stand in through link_task_to_epic.
fn no_epics_on_redmine(tracker: &Tracker) -> Result<(), ToolError> {
    if tracker.provider().kind() != pm_core::ProviderKind::Redmine {
        return Ok(());
    }
    Err(tracker
        .failed(&pm_core::ProviderError::Unsupported {
            provider: "Redmine",
            operation: "epics (Redmine has no epic type; link_task_to_epic sets a parent task)",
        })
        .into())
}

/// The item `id`, read (its ids native), if it is an epic; an item of another type is refused
/// by name, so the epic tools never read, change or delete an ordinary task.
async fn the_epic(tracker: &Tracker, id: &str) -> Result<Task, ToolError> {
    no_epics_on_redmine(tracker)?;
    let item = tracker
        .call_native(|t| async move { t.get_task(id).await })
        .await?;
    if is_epic(&item) {
        return Ok(item);
    }
    Err(ToolError::new(format!(
        "{} is a {}, not an epic; the task tools (get_task, update_task, delete_task) handle it, and list_epics lists the epics",
        tracker.qualified(id),
        item.task_type.as_deref().unwrap_or("task without a type")
    )))
}

/// The epics toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Epics,
        router: PmServer::epics_router(),
        order: &[
            "list_epics",
            "get_epic",
            "create_epic",
            "update_epic",
            "delete_epic",
            "link_task_to_epic",
            "unlink_task_from_epic",
        ],
    }
}

#[tool_router(router = epics_router, vis = "pub(crate)")]
impl PmServer {
    /// A project's epics, newest first.
    #[tool(
        name = "list_epics",
        annotations(
            title = "List epics",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_epics(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ListEpicsArgs>,
    ) -> Result<Json<EpicList>, ToolError> {
        let (tracker, project) = self.tracker_of(&p, &a.project_id).await?;
        let page = PageRequest::new(a.cursor, a.limit);
        let page = tracker
            .call(|t| async move { t.list_epics(&project, &page).await })
            .await?;
        Ok(Json(EpicList {
            epics: page.items.into_iter().map(TaskItem::of).collect(),
            next_cursor: page.next,
        }))
    }

    /// One epic: title, description (Markdown), status and dates.
    #[tool(
        name = "get_epic",
        annotations(
            title = "Get an epic",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<EpicArgs>,
    ) -> Result<Json<EpicOne>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.epic_id).await?;
        let epic = the_epic(&tracker, &id).await?;
        Ok(Json(EpicOne::of(epic.qualify(tracker.name()))))
    }

    /// Create an epic in a project.
    #[tool(
        name = "create_epic",
        annotations(
            title = "Create an epic",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CreateEpicArgs>,
    ) -> Result<Json<EpicOne>, ToolError> {
        let (tracker, project) = self.tracker_of(&p, &a.project_id).await?;
        no_epics_on_redmine(&tracker)?;
        let task = NewTask {
            project,
            title: a.title,
            description: a.description,
            task_type: Some("Epic".into()),
            ..NewTask::default()
        };
        let epic = tracker
            .call(|t| async move { t.create_task(&task).await })
            .await?;
        Ok(Json(EpicOne::of(epic)))
    }

    /// Change an epic's title, description or status.
    #[tool(
        name = "update_epic",
        annotations(
            title = "Change an epic",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<UpdateEpicArgs>,
    ) -> Result<Json<EpicOne>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.epic_id).await?;
        // Nothing is changed on an item that is not an epic.
        let current = the_epic(&tracker, &id).await?;
        let id = id.as_str();
        let change = pm_core::TaskChange {
            title: a.title,
            description: a.description,
            ..Default::default()
        };
        let mut epic = if change != pm_core::TaskChange::default() {
            tracker
                .call(|t| async move { t.update_task(id, &change).await })
                .await?
        } else {
            current.qualify(tracker.name())
        };
        if let Some(s) = a.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            epic = tracker
                .call(|t| async move { t.transition_task(id, s).await })
                .await?;
        }
        Ok(Json(EpicOne::of(epic)))
    }

    /// Delete an epic for good (its tasks stay, without an epic).
    #[tool(
        name = "delete_epic",
        annotations(
            title = "Delete an epic",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn delete_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<EpicArgs>,
    ) -> Result<Json<super::tasks::Done>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.epic_id).await?;
        // An ordinary task given as the epic is refused, never deleted.
        the_epic(&tracker, &id).await?;
        let native = id.as_str();
        tracker
            .call(|t| async move { t.delete_task(native).await })
            .await?;
        Ok(Json(super::tasks::Done {
            ok: true,
            message: format!("deleted epic {}", tracker.qualified(id)),
        }))
    }

    /// Put a task under an epic.
    #[tool(
        name = "link_task_to_epic",
        annotations(
            title = "Put a task under an epic",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn link_task_to_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<EpicLinkArgs>,
    ) -> Result<Json<EpicLinked>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let epic = tracker.native_of(&native(&a.epic_id)?, "epic_id")?;
        let id = id.as_str();
        tracker
            .call(|t| async move { t.set_epic(id, Some(&epic)).await })
            .await?;
        let task = tracker
            .call(|t| async move { t.get_task(id).await })
            .await?;
        Ok(Json(EpicLinked { task }))
    }

    /// Take a task out of its epic.
    #[tool(
        name = "unlink_task_from_epic",
        annotations(
            title = "Take a task out of its epic",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn unlink_task_from_epic(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<UnlinkArgs>,
    ) -> Result<Json<EpicLinked>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let id = id.as_str();
        tracker
            .call(|t| async move { t.set_epic(id, None).await })
            .await?;
        let task = tracker
            .call(|t| async move { t.get_task(id).await })
            .await?;
        Ok(Json(EpicLinked { task }))
    }
}
