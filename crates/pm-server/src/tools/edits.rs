//! Changing tasks: edit fields (and status) one at a time or in bulk, delete, watch, link.
use pm_core::{Provider, QualifiedId, Task, TaskChange};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

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
pub type Updated = super::tasks::TaskOne;

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
    fn to_change(&self) -> Result<TaskChange, ToolError> {
        let native = |raw: &str| {
            QualifiedId::parse(raw)
                .map(|q| q.native)
                .map_err(|e| ToolError::new(e.0))
        };
        Ok(TaskChange {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: self.priority.clone(),
            assignee: match self.assignee_id.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(a) => Some(Some(native(a)?)),
            },
            due_date: self
                .due_date
                .as_deref()
                .map(|d| super::work::date(d, "due_date"))
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
            sprint: self.sprint_id.as_deref().map(native).transpose()?,
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

#[tool_router(router = edits_router, vis = "pub(crate)")]
impl PmServer {
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
        let change = a.changes.to_change()?;
        if a.changes.is_empty(&change) {
            return Err(ToolError::new(
                "nothing to change: give at least one field (title, status, assignee_id, …)".into(),
            ));
        }
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let task = apply(provider.as_ref(), &id, &change, a.changes.status.as_deref())
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(Updated::of(super::tasks::qualify(task, &conn.name))))
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
        let change = a.changes.to_change()?;
        if a.changes.is_empty(&change) {
            return Err(ToolError::new(
                "nothing to change: give at least one field (status, assignee_id, …)".into(),
            ));
        }
        let mut result = BulkResult {
            updated: Vec::new(),
            failed: Vec::new(),
        };
        for raw in &a.task_ids {
            match self.target(&p, raw).await {
                Err(e) => result.failed.push(BulkFailure {
                    task_id: raw.clone(),
                    error: e.0,
                }),
                Ok((conn, provider, id)) => {
                    // A bulk change mails nobody unless the connection says so (OpenProject).
                    let provider = provider.for_bulk().unwrap_or(provider);
                    match apply(provider.as_ref(), &id, &change, a.changes.status.as_deref()).await
                    {
                        Ok(t) => result.updated.push(super::tasks::qualify(t, &conn.name).id),
                        Err(e) => result.failed.push(BulkFailure {
                            task_id: raw.clone(),
                            error: ToolError::provider(&conn.name, &e).0,
                        }),
                    }
                }
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
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        provider
            .delete_task(&id)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(Done {
            ok: true,
            message: format!("deleted {}", QualifiedId::new(&conn.name, id)),
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
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let user = match a
            .user_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(u) => {
                QualifiedId::parse(u)
                    .map_err(|e| ToolError::new(e.0))?
                    .native
            }
            None => {
                provider
                    .whoami()
                    .await
                    .map_err(|e| ToolError::provider(&conn.name, &e))?
                    .id
            }
        };
        provider
            .add_watcher(&id, &user)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        Ok(Json(Done {
            ok: true,
            message: format!("{user} now watches {}", QualifiedId::new(&conn.name, id)),
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
        let (conn, provider, id) = self.target(&p, &a.task_id).await?;
        let other = QualifiedId::parse(&a.related_task_id).map_err(|e| ToolError::new(e.0))?;
        if other.connection.as_ref().is_some_and(|c| *c != conn.name) {
            return Err(ToolError::new(
                "both tasks must be in the same connection".into(),
            ));
        }
        let given = a
            .link_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("Relates");
        let (kind, swap) = reference_link(given).unwrap_or((given, false));
        let (from, to) = if swap {
            (other.native.as_str(), id.as_str())
        } else {
            (id.as_str(), other.native.as_str())
        };
        provider
            .link_tasks(from, to, kind)
            .await
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
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
