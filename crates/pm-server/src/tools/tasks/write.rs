//! Task tools that write: create, move through the workflow, assign, edit fields one at a time
//! or in bulk, delete, watch, link.
use pm_core::{NewTask, Provider, Task, TaskChange};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::{Qualify, Tracker};
use crate::tools::ToolError;
use crate::tools::args::{date, given, native};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTaskArgs {
    /// Project id, e.g. "acme-jira:PROJ".
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

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct Changes {
    #[serde(default)]
    pub title: Option<String>,
    /// Markdown; empty clears it.
    #[serde(default)]
    pub description: Option<String>,
    /// A status name; the task moves there through the workflow.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    /// Tracker user id; empty string unassigns.
    #[serde(default)]
    pub assignee_id: Option<String>,
    /// Move into this sprint (e.g. "acme-jira:42").
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub estimated_hours: Option<f64>,
    /// Hours of work left, e.g. 3.5 (Jira, OpenProject).
    #[serde(default)]
    pub remaining_hours: Option<f64>,
    #[serde(default)]
    pub story_points: Option<f64>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateTaskArgs {
    /// Task id (e.g. "acme-jira:PROJ-42").
    pub task_id: String,
    #[serde(flatten)]
    pub changes: Changes,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BulkArgs {
    /// Task ids, all of one connection (at most 50).
    pub task_ids: Vec<String>,
    #[serde(flatten)]
    pub changes: Changes,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskIdArgs {
    pub task_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WatchArgs {
    pub task_id: String,
    /// Tracker user id (default: you).
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LinkArgs {
    pub task_id: String,
    pub related_task_id: String,
    /// relates_to (default), blocks, depends_on (related blocks task) or a tracker's link
    /// type, e.g. "Duplicate".
    #[serde(default)]
    pub link_type: Option<String>,
}

/// A reference link type (`relates_to`, `blocks`, `depends_on`) as the link pm-mcp creates: the
/// tracker's link type name, and whether the two tasks swap places ("A depends_on B" is "B
/// blocks A"). `None` for any other name, which goes to the tracker as it is.
fn reference_link(kind: &str) -> Option<(&'static str, bool)> {
    match kind.trim().to_ascii_lowercase().as_str() {
        "relates_to" => Some(("Relates", false)),
        "blocks" => Some(("Blocks", false)),
        "depends_on" => Some(("Blocks", true)),
        _ => None,
    }
}

/// A write's answer: the task as the tracker now holds it (description capped like get_task's).
pub type Updated = super::TaskOne;

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkFailure {
    pub task_id: String,
    pub error: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkResult {
    pub updated: Vec<String>,
    pub failed: Vec<BulkFailure>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Done {
    pub ok: bool,
    pub message: String,
}

impl Changes {
    /// The change as the tracker takes it. With `on`, the connection the task is on: an
    /// assignee or sprint id qualified with another connection is refused (never sent as a bare
    /// id that could name someone else there); without it, the ids are only checked.
    fn to_change(&self, on: Option<&Tracker>) -> Result<TaskChange, ToolError> {
        let native = |raw: &str, what: &str| -> Result<String, ToolError> {
            let id = native(raw)?;
            Ok(match on {
                Some(tracker) => tracker.native_of(&id, what)?,
                None => id.native,
            })
        };
        Ok(TaskChange {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: self.priority.clone(),
            assignee: match self.assignee_id.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(a) => Some(Some(native(a, "assignee_id")?)),
            },
            due_date: self
                .due_date
                .as_deref()
                .map(|d| crate::tools::args::date(d, "due_date"))
                .transpose()?,
            labels: self.labels.clone(),
            estimated_hours: self.estimated_hours,
            remaining_hours: match self.remaining_hours {
                Some(h) if !(h.is_finite() && h >= 0.0) => {
                    return Err(ToolError::new(format!(
                        "remaining_hours must be 0 or more, not {h}"
                    )));
                }
                h => h,
            },
            sprint: self
                .sprint_id
                .as_deref()
                .map(|s| native(s, "sprint_id"))
                .transpose()?,
            story_points: self.story_points,
        })
    }

    fn is_empty(&self, change: &TaskChange) -> bool {
        self.status.is_none() && *change == TaskChange::default()
    }
}

/// Applies field changes, then the status move, to one task; a move the tracker would refuse
/// is refused before anything is written.
async fn apply(
    provider: &dyn Provider,
    id: &str,
    change: &TaskChange,
    status: Option<&str>,
) -> Result<Task, pm_core::ProviderError> {
    let status = status.map(str::trim).filter(|s| !s.is_empty());
    let mut task = if *change != TaskChange::default() {
        // A move the workflow would refuse is refused before the fields are written.
        if let Some(s) = status {
            provider.check_transition(id, s).await?;
        }
        Some(provider.update_task(id, change).await?)
    } else {
        None
    };
    if let Some(s) = status {
        task = Some(provider.transition_task(id, s).await?);
    }
    match task {
        Some(t) => Ok(t),
        None => provider.get_task(id).await,
    }
}

/// A write's answer: the task as the tracker now holds it (description capped like get_task's).
pub type TaskOut = super::TaskOne;
pub type AssignOut = super::TaskOne;

#[tool_router(router = task_writes_router, vis = "pub(crate)")]
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
        let (tracker, project) = self.tracker_of(&p, &a.project_id).await?;
        let other = |raw: &Option<String>| -> Result<Option<String>, ToolError> {
            match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(r) => Ok(Some(tracker.native_of(&native(r)?, &format!("{r:?}"))?)),
            }
        };
        let type_given = a.task_type.as_deref().is_some_and(|t| !t.trim().is_empty());
        let task = NewTask {
            project,
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
        // Where the tracker takes sprint and story points in the create itself (or refuses them
        // before writing), they go there; elsewhere they are set on the created task.
        let (task, sprint, story_points) = if tracker.provider().creates_in_sprint() {
            let task = NewTask {
                sprint,
                story_points: a.story_points,
                ..task
            };
            (task, None, None)
        } else {
            (task, sprint, a.story_points)
        };
        let mut created = tracker
            .call_native(|t| async move { t.create_task(&task).await })
            .await?;
        // Sprint and story points are set on the created task (trackers take them as edits).
        // If that fails, the task is deleted again: no half-created item is left for a retry
        // to duplicate.
        if sprint.is_some() || story_points.is_some() {
            let change = TaskChange {
                sprint,
                story_points,
                ..Default::default()
            };
            let provider = tracker.provider();
            match provider.update_task(&created.id, &change).await {
                Ok(updated) => created = updated,
                Err(e) => {
                    let (id, conn) = (tracker.qualified(created.id.clone()), tracker.name());
                    return Err(ToolError::new(
                        match provider.delete_task(&created.id).await {
                            Ok(()) => format!(
                                "connection {conn}: nothing was created: the sprint or story points could not be set ({e}), so the new task was deleted again"
                            ),
                            Err(d) => format!(
                                "connection {conn}: created {id}, but its sprint or story points could not be set ({e}) and deleting it again failed ({d}); delete {id} before retrying"
                            ),
                        },
                    ));
                }
            }
        }
        let mut out = TaskOut::of(created.qualify(tracker.name()));
        if !type_given && let Some(used) = out.task.task_type.as_deref() {
            out.notes.push(format!(
                "task_type was not given: the tracker's default type {used:?} was used"
            ));
        }
        Ok(Json(out))
    }

    /// Move a task to a status by name, through the workflow; if none leads there, the error
    /// lists those it can reach.
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
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let status = a.status;
        let task = tracker
            .call(|t| async move { t.transition_task(&id, &status).await })
            .await?;
        Ok(Json(TaskOut::of(task)))
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
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let who = given(a.assignee_id.as_deref())?
            .map(|q| tracker.native_of(&q, "assignee_id"))
            .transpose()?;
        let id = id.as_str();
        tracker
            .call(|t| async move { t.assign_task(id, who.as_deref()).await })
            .await?;
        let task = tracker
            .call(|t| async move { t.get_task(id).await })
            .await?;
        Ok(Json(AssignOut::of(task)))
    }

    /// Change a task; only the fields given change. A status is a name, reached through the
    /// workflow.
    #[tool(
        name = "update_task",
        annotations(
            title = "Change a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_task(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<UpdateTaskArgs>,
    ) -> Result<Json<Updated>, ToolError> {
        let change = a.changes.to_change(None)?;
        if a.changes.is_empty(&change) {
            return Err(ToolError::new(
                "nothing to change: give at least one field (title, status, assignee_id, …)".into(),
            ));
        }
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let change = a.changes.to_change(Some(&tracker))?;
        let status = a.changes.status;
        let task = tracker
            .call(|t| async move { apply(t.as_ref(), &id, &change, status.as_deref()).await })
            .await?;
        Ok(Json(Updated::of(task)))
    }

    /// Apply the same change to several tasks; reports which were updated and why others failed.
    #[tool(
        name = "bulk_update_tasks",
        annotations(
            title = "Change several tasks",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn bulk_update_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<BulkArgs>,
    ) -> Result<Json<BulkResult>, ToolError> {
        if a.task_ids.is_empty() || a.task_ids.len() > 50 {
            return Err(ToolError::new("give between 1 and 50 task_ids".into()));
        }
        let change = a.changes.to_change(None)?;
        if a.changes.is_empty(&change) {
            return Err(ToolError::new(
                "nothing to change: give at least one field (status, assignee_id, …)".into(),
            ));
        }
        let mut result = BulkResult {
            updated: Vec::new(),
            failed: Vec::new(),
        };
        let (changes, status) = (&a.changes, a.changes.status.as_deref());
        for raw in &a.task_ids {
            let updated = async {
                let (tracker, id) = self.tracker_of(&p, raw).await?;
                // Ids in the change must be on this task's connection.
                let change = &changes.to_change(Some(&tracker))?;
                // A bulk change mails nobody unless the connection says so (OpenProject).
                let tracker = tracker.for_bulk();
                let task = tracker
                    .call(|t| async move { apply(t.as_ref(), &id, change, status).await })
                    .await?;
                Ok::<_, ToolError>(task.id)
            };
            match updated.await {
                Ok(id) => result.updated.push(id),
                Err(e) => result.failed.push(BulkFailure {
                    task_id: raw.clone(),
                    error: e.0,
                }),
            }
        }
        Ok(Json(result))
    }

    /// Delete a task for good.
    #[tool(
        name = "delete_task",
        annotations(
            title = "Delete a task",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn delete_task(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<TaskIdArgs>,
    ) -> Result<Json<Done>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let id = id.as_str();
        tracker
            .call(|t| async move { t.delete_task(id).await })
            .await?;
        Ok(Json(Done {
            ok: true,
            message: format!("deleted {}", tracker.qualified(id)),
        }))
    }

    /// Add a watcher to a task (default: yourself in the tracker).
    #[tool(
        name = "add_task_watcher",
        annotations(
            title = "Watch a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn add_task_watcher(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<WatchArgs>,
    ) -> Result<Json<Done>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let user = match given(a.user_id.as_deref())? {
            Some(u) => tracker.native_of(&u, "user_id")?,
            None => {
                tracker
                    .call_native(|t| async move { t.whoami().await })
                    .await?
                    .id
            }
        };
        let (task, watcher) = (id.as_str(), user.as_str());
        tracker
            .call(|t| async move { t.add_watcher(task, watcher).await })
            .await?;
        Ok(Json(Done {
            ok: true,
            message: format!("{user} now watches {}", tracker.qualified(id)),
        }))
    }

    /// Link two tasks (see link_type).
    #[tool(
        name = "link_related_tasks",
        annotations(
            title = "Link two tasks",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn link_related_tasks(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<LinkArgs>,
    ) -> Result<Json<Done>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let other = tracker.native_of(&native(&a.related_task_id)?, "related_task_id")?;
        let given = a
            .link_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("Relates");
        let (kind, swap) = reference_link(given).unwrap_or((given, false));
        let (from, to) = if swap {
            (other.as_str(), id.as_str())
        } else {
            (id.as_str(), other.as_str())
        };
        tracker
            .call(|t| async move { t.link_tasks(from, to, kind).await })
            .await?;
        Ok(Json(Done {
            ok: true,
            message: format!("linked {from} to {to} ({kind})"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::reference_link;

    #[test]
    fn reference_link_types_keep_their_meaning() {
        assert_eq!(reference_link("relates_to"), Some(("Relates", false)));
        assert_eq!(reference_link("blocks"), Some(("Blocks", false)));
        // "A depends_on B" is "B blocks A": the same link, the tasks swapped.
        assert_eq!(reference_link(" Depends_On "), Some(("Blocks", true)));
        assert_eq!(reference_link("Duplicate"), None);
        assert_eq!(reference_link("Blocks"), Some(("Blocks", false)));
    }
}
