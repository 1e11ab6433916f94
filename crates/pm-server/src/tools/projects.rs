//! Project tools: list, search and read the projects of a tracker connection.
use pm_core::{PageRequest, Project, Vocabulary};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::given;
use super::{ToolError, scan};
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListProjectsArgs {
    /// Connection name or id (default: your default one).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// Text in the name or description, any case (e.g. "mobile").
    #[serde(default)]
    pub search: Option<String>,
    /// From the previous page's next_cursor.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchProjectsArgs {
    /// Text to find in project names and keys.
    pub query: String,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetProjectArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    pub project_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct VocabularyArgs {
    /// Project id (e.g. "acme-jira:PROJ").
    pub project_id: String,
    /// Also list where this task can move.
    #[serde(default)]
    pub task_id: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VocabularyOut {
    pub project_id: String,
    #[serde(flatten)]
    pub vocabulary: Vocabulary,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateProjectArgs {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Connection to create it in (default: your default one).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// Jira project key (2-10 capitals); default: from the name.
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateProjectArgs {
    /// Project id (e.g. "acme-jira:PROJ").
    pub project_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// OpenProject: on_track, at_risk, off_track, not_started, finished or discontinued.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectDeleted {
    pub deleted: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectItem>,
    /// Pass as cursor for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectOne {
    pub project: Project,
}

/// A project as lists show it: its description cut to an excerpt, flagged; get_project has it
/// whole.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectItem {
    #[serde(flatten)]
    pub project: Project,
    /// True when `description` is an excerpt: get_project has the whole text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub description_cut: bool,
}

/// The list form of a (qualified) project: its description an excerpt.
fn item(mut project: Project) -> ProjectItem {
    let description_cut = super::cut(&mut project.description, super::EXCERPT_CHARS);
    ProjectItem {
        project,
        description_cut,
    }
}

/// The projects toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Projects,
        router: PmServer::projects_router(),
        order: &[
            "list_projects",
            "search_projects",
            "get_project",
            "get_project_vocabulary",
            "create_project",
            "update_project",
            "delete_project",
        ],
    }
}

#[tool_router(router = projects_router, vis = "pub(crate)")]
impl PmServer {
    /// List the projects of a tracker connection, a page at a time.
    #[tool(
        name = "list_projects",
        annotations(
            title = "List projects",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_projects(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ListProjectsArgs>,
    ) -> Result<Json<ProjectList>, ToolError> {
        let tracker = self.tracker(&p, args.provider_id.as_deref()).await?;
        let search = args
            .search
            .as_deref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        let page = match search {
            None => {
                let page = PageRequest::new(args.cursor, args.limit);
                tracker
                    .call(|t| async move { t.list_projects(&page).await })
                    .await?
            }
            // Trackers search projects by name or key at most; the description needs a scan.
            Some(needle) => {
                let limit = PageRequest::new(None, args.limit).limit;
                let fetch = |cursor: Option<String>| {
                    let (tracker, page) =
                        (&tracker, PageRequest::new(cursor, Some(scan::SCAN_PAGE)));
                    async move {
                        tracker
                            .call(|t| async move { t.list_projects(&page).await })
                            .await
                    }
                };
                scan::scan(args.cursor.as_deref(), limit, fetch, |p: &Project| {
                    scan::holds(Some(&p.name), &needle)
                        || scan::holds(p.description.as_deref(), &needle)
                })
                .await?
            }
        };
        Ok(Json(ProjectList {
            projects: page.items.into_iter().map(item).collect(),
            next_cursor: page.next,
        }))
    }

    /// Find projects whose name or key contains the query text.
    #[tool(
        name = "search_projects",
        annotations(
            title = "Search projects",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn search_projects(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<SearchProjectsArgs>,
    ) -> Result<Json<ProjectList>, ToolError> {
        let tracker = self.tracker(&p, args.provider_id.as_deref()).await?;
        let (query, page) = (args.query, PageRequest::new(args.cursor, args.limit));
        let page = tracker
            .call(|t| async move { t.search_projects(&query, &page).await })
            .await?;
        Ok(Json(ProjectList {
            projects: page.items.into_iter().map(item).collect(),
            next_cursor: page.next,
        }))
    }

    /// Create a project (you become its lead).
    #[tool(
        name = "create_project",
        annotations(
            title = "Create a project",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_project(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<CreateProjectArgs>,
    ) -> Result<Json<ProjectOne>, ToolError> {
        let tracker = self.tracker(&p, args.provider_id.as_deref()).await?;
        let (name, key, description) = (args.name, args.key, args.description);
        let project = tracker
            .call(|t| async move {
                t.create_project(&name, key.as_deref(), description.as_deref())
                    .await
            })
            .await?;
        Ok(Json(ProjectOne { project }))
    }

    /// Change a project's name, description or status.
    #[tool(
        name = "update_project",
        annotations(
            title = "Change a project",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_project(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<UpdateProjectArgs>,
    ) -> Result<Json<ProjectOne>, ToolError> {
        // Checked here, once, so every provider answers an empty change the same way.
        let status = args
            .status
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty());
        let fields = args.name.as_deref().is_some_and(|n| !n.trim().is_empty())
            || args.description.is_some();
        if !fields && status.is_none() {
            return Err(ToolError::new(
                "nothing to change: give a name, a description or a status".into(),
            ));
        }
        let (tracker, native) = self.tracker_of(&p, &args.project_id).await?;
        // The status is checked before anything is written: a tracker without project statuses
        // refuses the whole change.
        if let Some(s) = &status {
            let known = tracker.provider().project_statuses();
            if known.is_empty() {
                let e = tracker.provider().unsupported("a project status");
                return Err(tracker.failed(&e).into());
            }
            if !known.contains(&s.as_str()) {
                return Err(ToolError::new(format!(
                    "status {s:?} is not a project status here; use one of {}",
                    known.join(", ")
                )));
            }
        }
        let native = native.as_str();
        let mut project = None;
        if let Some(s) = &status {
            project = Some(
                tracker
                    .call(|t| async move { t.update_project_status(native, s).await })
                    .await?,
            );
        }
        if fields {
            let (name, description) = (args.name.as_deref(), args.description.as_deref());
            project = Some(
                tracker
                    .call(|t| async move { t.update_project(native, name, description).await })
                    .await?,
            );
        }
        let project = project.ok_or_else(|| ToolError::new("nothing was changed".into()))?;
        Ok(Json(ProjectOne { project }))
    }

    /// Delete a project and everything in it (Jira Cloud keeps it in its trash for 60 days).
    #[tool(
        name = "delete_project",
        annotations(
            title = "Delete a project",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn delete_project(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<GetProjectArgs>,
    ) -> Result<Json<ProjectDeleted>, ToolError> {
        let (tracker, native) = self.tracker_of(&p, &args.project_id).await?;
        let id = native.as_str();
        tracker
            .call(|t| async move { t.delete_project(id).await })
            .await?;
        Ok(Json(ProjectDeleted {
            deleted: tracker.qualified(native),
        }))
    }

    /// A project's statuses (with category), priorities and task types; with task_id, the
    /// statuses that task can move to.
    #[tool(
        name = "get_project_vocabulary",
        annotations(
            title = "Project statuses, priorities, types",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_project_vocabulary(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<VocabularyArgs>,
    ) -> Result<Json<VocabularyOut>, ToolError> {
        let (tracker, native) = self.tracker_of(&p, &args.project_id).await?;
        let task = given(args.task_id.as_deref())?
            .map(|id| tracker.native_of(&id, "task_id"))
            .transpose()?;
        let id = native.as_str();
        // A vocabulary names statuses, priorities and types: no ids to qualify.
        let vocabulary = tracker
            .call_native(|t| async move { t.project_vocabulary(id, task.as_deref()).await })
            .await?;
        Ok(Json(VocabularyOut {
            project_id: tracker.qualified(native),
            vocabulary,
        }))
    }

    /// Read one project by id or key.
    #[tool(
        name = "get_project",
        annotations(
            title = "Get a project",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_project(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<GetProjectArgs>,
    ) -> Result<Json<ProjectOne>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &args.project_id).await?;
        let project = tracker
            .call(|t| async move { t.get_project(&id).await })
            .await?;
        Ok(Json(ProjectOne { project }))
    }
}
