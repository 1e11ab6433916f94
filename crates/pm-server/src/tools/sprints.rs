//! Sprint tools: list a project's sprints, read one with its tasks, and plan them — create,
//! change, start, complete, delete.
use chrono::{DateTime, NaiveDate, Utc};
use pm_core::{
    Assignee, NewSprint, PageRequest, ProviderError, Sprint, SprintChange, SprintState, TaskQuery,
};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use super::args::{given, native_of, statuses};
use super::tasks::{TaskItem, TaskList};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::{Qualify, Tracker};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListSprintsArgs {
    /// Project id, e.g. "acme-jira:PROJ" (default: all projects).
    #[serde(default)]
    pub project_id: Option<String>,
    /// Connection name or id (default: the project's or yours).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// future, active, closed; comma-separated (default: all).
    #[serde(default)]
    pub state: Option<String>,
    // Jira: the board whose sprints to list (default: the project's; the notes name the others).
    #[serde(default)]
    pub board_id: Option<String>,
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
pub struct CreateSprintArgs {
    pub project_id: String,
    pub name: String,
    /// YYYY-MM-DD or RFC 3339.
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub goal: Option<String>,
    // Jira: the board to plan it on (default: the project's).
    #[serde(default)]
    pub board_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartSprintArgs {
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
    /// active (starts a future sprint), closed (completes the active one), or future/planned.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintList {
    pub sprints: Vec<SprintItem>,
    pub next_cursor: Option<String>,
    /// What the list rests on (e.g. projects skipped, or a page cut short).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A sprint in a list; across projects, with the project it belongs to.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintItem {
    #[serde(flatten)]
    pub sprint: Sprint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// Where a listing of every project's sprints goes on: the page of projects (the tracker's
/// cursor), the project's place on it, and the cursor within that project's sprints.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct AcrossProjects {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default)]
    i: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
}

const ACROSS: &str = "all:";
/// Projects read per page of projects, and at most looked into per call of list_sprints.
const PROJECTS_PAGE: u32 = 50;
const PROJECTS_PER_CALL: usize = 20;

impl AcrossProjects {
    fn encode(&self) -> String {
        use base64::Engine as _;
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "{ACROSS}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    fn decode(cursor: Option<&str>) -> Result<Self, ToolError> {
        use base64::Engine as _;
        let Some(c) = cursor.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(Self::default());
        };
        c.strip_prefix(ACROSS)
            .filter(|b| b.len() <= 8192)
            .and_then(|b| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(b)
                    .ok()
            })
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| {
                ToolError::new(
                    "the cursor is not one this list handed out; start again without a cursor"
                        .into(),
                )
            })
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintOne {
    pub sprint: Sprint,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SprintWithTasks {
    pub sprint: Sprint,
    pub tasks: Vec<TaskItem>,
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
            ToolError::new(format!(
                "{field} {raw:?} is not a date; use YYYY-MM-DD, e.g. 2026-12-01"
            ))
        })
}

/// The changes asked for, dates checked.
fn change_of(
    name: &Option<String>,
    goal: &Option<String>,
    start: &Option<String>,
    end: &Option<String>,
) -> Result<SprintChange, ToolError> {
    Ok(SprintChange {
        name: name.clone(),
        goal: goal.clone(),
        start: when(start.as_deref(), "start_date")?,
        end: when(end.as_deref(), "end_date")?,
    })
}

impl StartSprintArgs {
    fn change(&self) -> Result<SprintChange, ToolError> {
        change_of(&self.name, &self.goal, &self.start_date, &self.end_date)
    }
}

impl UpdateSprintArgs {
    fn change(&self) -> Result<SprintChange, ToolError> {
        change_of(&self.name, &self.goal, &self.start_date, &self.end_date)
    }
}

/// The state an `update_sprint` status asks for: pm-mcp's names, and the reference's
/// (`planned` for future, `completed` for closed).
fn wanted_state(raw: &str) -> Result<SprintState, ToolError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "future" | "planned" => Ok(SprintState::Future),
        "active" => Ok(SprintState::Active),
        "closed" | "completed" => Ok(SprintState::Closed),
        other => Err(ToolError::new(format!(
            "unknown sprint status {other:?}; use active (start it), closed (complete it) or future"
        ))),
    }
}

/// What reaching a sprint state takes.
#[derive(Debug, PartialEq, Eq)]
enum Transition {
    /// Already there.
    Stay,
    /// Start the sprint (future → active).
    Start,
    /// Complete the sprint (active → closed).
    Complete,
}

/// The transition from `now` to `wanted`, or why there is none (nothing is written then).
fn transition(name: &str, now: SprintState, wanted: SprintState) -> Result<Transition, ToolError> {
    use SprintState::{Active, Closed, Future};
    match (now, wanted) {
        (Future, Future) | (Active, Active) | (Closed, Closed) => Ok(Transition::Stay),
        (Future, Active) => Ok(Transition::Start),
        (Active, Closed) => Ok(Transition::Complete),
        (Future, Closed) => Err(ToolError::new(format!(
            "sprint {name} has not started, so it cannot be closed; start it first (status active), or delete_sprint removes a sprint that never ran; nothing was changed"
        ))),
        (Active, _) => Err(ToolError::new(format!(
            "sprint {name} is active and cannot go back to future; close it with status closed; nothing was changed"
        ))),
        (Closed, _) => Err(ToolError::new(format!(
            "sprint {name} is closed and cannot be reopened; create_sprint plans a new one; nothing was changed"
        ))),
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
            other => Err(ToolError::new(format!(
                "unknown sprint state {other:?}; use future, active or closed"
            ))),
        })
        .collect()
}

/// The notes a list's sprints carry (the board used, say) go to the list's notes, once each.
fn hoist_notes(list: &mut SprintList) {
    for item in &mut list.sprints {
        for note in std::mem::take(&mut item.sprint.notes) {
            if !list.notes.contains(&note) {
                list.notes.push(note);
            }
        }
    }
}

/// One page of the sprints of every project of a connection, project after project. At most
/// `PROJECTS_PER_CALL` projects are looked into per call: a page may then hold fewer sprints than
/// asked, with a next_cursor and a note saying so. Projects without sprints (a Jira project
/// without a Scrum board) or whose sprints the account may not read are skipped, named in notes.
async fn across_projects(
    tracker: &Tracker,
    wanted: &[SprintState],
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<SprintList, ToolError> {
    let limit = PageRequest::new(None, limit).limit as usize;
    let mut pos = AcrossProjects::decode(cursor.as_deref())?;
    let mut out: Vec<SprintItem> = Vec::new();
    let mut notes = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut looked = 0usize;
    let next = 'pages: loop {
        let page = PageRequest::new(pos.p.clone(), Some(PROJECTS_PAGE));
        let projects = tracker
            .call_native(|t| async move { t.list_projects(&page).await })
            .await?;
        while let Some(project) = projects.items.get(pos.i) {
            if out.len() >= limit {
                break 'pages Some(pos);
            }
            if looked == PROJECTS_PER_CALL {
                notes.push(format!(
                    "looked into {PROJECTS_PER_CALL} projects in this call; next_cursor goes on with the next ones"
                ));
                break 'pages Some(pos);
            }
            looked += 1;
            let want = Some((limit - out.len()) as u32);
            // Not through `Tracker::call`: some failures skip the project instead.
            match tracker
                .provider()
                .list_sprints(&project.id, wanted, &PageRequest::new(pos.s.clone(), want))
                .await
            {
                Ok(page) => {
                    let pid = tracker.qualified(project.id.clone());
                    out.extend(page.items.into_iter().map(|s| SprintItem {
                        sprint: s.qualify(tracker.name()),
                        project_id: Some(pid.clone()),
                    }));
                    match page.next {
                        // More of this project's sprints: the same project goes on.
                        Some(n) => {
                            pos.s = Some(n);
                            continue;
                        }
                        None => {
                            pos.i += 1;
                            pos.s = None;
                        }
                    }
                }
                Err(ProviderError::BadInput(_) | ProviderError::Forbidden { .. }) => {
                    skipped.push(project.key.clone().unwrap_or_else(|| project.id.clone()));
                    pos.i += 1;
                    pos.s = None;
                }
                Err(e) => return Err(tracker.failed(&e).into()),
            }
        }
        match projects.next {
            Some(n) => {
                pos = AcrossProjects {
                    p: Some(n),
                    i: 0,
                    s: None,
                };
            }
            None => break None,
        }
    };
    if !skipped.is_empty() {
        let shown: Vec<&str> = skipped.iter().take(10).map(String::as_str).collect();
        notes.push(format!(
            "{} project(s) without sprints readable here were skipped: {}{}",
            skipped.len(),
            shown.join(", "),
            if skipped.len() > 10 { ", …" } else { "" }
        ));
    }
    Ok(SprintList {
        sprints: out,
        next_cursor: next.map(|p| p.encode()),
        notes,
    })
}

/// The sprints toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Sprints,
        router: PmServer::sprints_router(),
        order: &[
            "list_sprints",
            "get_sprint",
            "get_sprint_tasks",
            "list_tasks_in_sprint",
            "create_sprint",
            "update_sprint",
            "start_sprint",
            "complete_sprint",
            "delete_sprint",
        ],
    }
}

#[tool_router(router = sprints_router, vis = "pub(crate)")]
impl PmServer {
    /// Sprints (future, active, closed) of a project, or of every project of a connection, a
    /// page at a time.
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
        let project = given(a.project_id.as_deref())?;
        let project_native = native_of(&project);
        let ids = [("project_id", project)];
        let tracker = self.tracker_for(&p, a.provider_id.as_deref(), &ids).await?;
        let board = a
            .board_id
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let Some(project) = project_native else {
            if board.is_some() {
                return Err(ToolError::new(
                    "board_id needs the project_id of the board's project".into(),
                ));
            }
            return across_projects(&tracker, &wanted, a.cursor, a.limit)
                .await
                .map(|mut list| {
                    hoist_notes(&mut list);
                    Json(list)
                });
        };
        let page = PageRequest::new(a.cursor, a.limit);
        let page = tracker
            .call(|t| async move { t.list_board_sprints(&project, board, &wanted, &page).await })
            .await?;
        let mut list = SprintList {
            sprints: page
                .items
                .into_iter()
                .map(|sprint| SprintItem {
                    sprint,
                    project_id: None,
                })
                .collect(),
            next_cursor: page.next,
            notes: Vec::new(),
        };
        hoist_notes(&mut list);
        Ok(Json(list))
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
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let sprint = tracker
            .call(|t| async move { t.get_sprint(&id).await })
            .await?;
        Ok(Json(SprintOne { sprint }))
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
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let native = id.as_str();
        let sprint = tracker
            .call(|t| async move { t.get_sprint(native).await })
            .await?;
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
        let page = PageRequest::new(a.cursor, a.limit);
        let page = tracker
            .call(|t| async move { t.search_tasks(&query, &page).await })
            .await?;
        Ok(Json(SprintWithTasks {
            sprint,
            tasks: page.items.into_iter().map(TaskItem::of).collect(),
            next_cursor: page.next,
        }))
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
        let sprint = given(Some(&a.sprint_id))?;
        let assignee = given(a.assignee_id.as_deref())?;
        let query = TaskQuery {
            sprint: native_of(&sprint),
            assignee: native_of(&assignee).map(Assignee::User),
            statuses: statuses(a.status.as_deref()),
            ..TaskQuery::default()
        };
        let ids = [("sprint_id", sprint), ("assignee_id", assignee)];
        self.run_task_query(&p, None, &ids, query, a.cursor, a.limit)
            .await
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
            return Err(ToolError::new("end_date must come after start_date".into()));
        }
        let (tracker, project) = self.tracker_of(&p, &a.project_id).await?;
        let board = a
            .board_id
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let sprint = NewSprint {
            project,
            name: a.name,
            start,
            end,
            goal: a.goal,
        };
        let sprint = tracker
            .call(|t| async move { t.create_board_sprint(&sprint, board).await })
            .await?;
        Ok(Json(SprintOne { sprint }))
    }

    /// Change a sprint's name, goal or dates; status active starts a future sprint, closed
    /// completes the active one.
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
        // Everything is checked before anything is written.
        let change = a.change()?;
        let wanted = a.status.as_deref().map(wanted_state).transpose()?;
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let (id, change) = (id.as_str(), &change);
        let Some(wanted) = wanted else {
            let sprint = tracker
                .call(|t| async move { t.update_sprint(id, change).await })
                .await?;
            return Ok(Json(SprintOne { sprint }));
        };
        let current = tracker
            .call(|t| async move { t.get_sprint(id).await })
            .await?;
        let fields = *change != SprintChange::default();
        let sprint = match transition(&current.name, current.state, wanted)? {
            Transition::Stay if !fields => current,
            Transition::Stay => {
                tracker
                    .call(|t| async move { t.update_sprint(id, change).await })
                    .await?
            }
            // The same call as start_sprint, with the other changes in it.
            Transition::Start => {
                tracker
                    .call(|t| async move { t.start_sprint(id, change).await })
                    .await?
            }
            Transition::Complete => {
                let provider = tracker.provider();
                if !provider.completes_sprints() {
                    // The tracker's own refusal, before anything is written.
                    let refusal = provider.complete_sprint(id).await.err().unwrap_or(
                        pm_core::ProviderError::Unsupported {
                            provider: provider.kind().display_name(),
                            operation: "completing sprints",
                        },
                    );
                    return Err(tracker.failed(&refusal).into());
                }
                if fields {
                    tracker
                        .call(|t| async move { t.update_sprint(id, change).await })
                        .await?;
                }
                tracker
                    .call(|t| async move { t.complete_sprint(id).await })
                    .await?
            }
        };
        Ok(Json(SprintOne { sprint }))
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
        Parameters(a): Parameters<StartSprintArgs>,
    ) -> Result<Json<SprintOne>, ToolError> {
        let change = a.change()?;
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let sprint = tracker
            .call(|t| async move { t.start_sprint(&id, &change).await })
            .await?;
        Ok(Json(SprintOne { sprint }))
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
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let sprint = tracker
            .call(|t| async move { t.complete_sprint(&id).await })
            .await?;
        Ok(Json(SprintOne { sprint }))
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
        let (tracker, id) = self.tracker_of(&p, &a.sprint_id).await?;
        let native = id.as_str();
        tracker
            .call(|t| async move { t.delete_sprint(native).await })
            .await?;
        Ok(Json(Deleted {
            deleted: tracker.qualified(id),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SprintState::{Active, Closed, Future};

    #[test]
    fn statuses_take_both_vocabularies() {
        let w = |s: &str| wanted_state(s).map_err(|e| e.0);
        assert_eq!(w("active").ok(), Some(Active));
        assert_eq!(w(" Planned ").ok(), Some(Future));
        assert_eq!(w("future").ok(), Some(Future));
        assert_eq!(w("closed").ok(), Some(Closed));
        assert_eq!(w("COMPLETED").ok(), Some(Closed));
        assert!(w("done").is_err_and(|e| e.contains("active")));
    }

    #[test]
    fn the_cursor_across_projects_comes_back_as_it_went() {
        let at = AcrossProjects {
            p: Some("o:50".into()),
            i: 3,
            s: Some("t:abc".into()),
        };
        let c = at.encode();
        assert!(c.starts_with(ACROSS));
        assert_eq!(AcrossProjects::decode(Some(&c)).ok(), Some(at));
        assert_eq!(
            AcrossProjects::decode(None).ok(),
            Some(AcrossProjects::default())
        );
        assert!(AcrossProjects::decode(Some("o:50")).is_err());
        assert!(AcrossProjects::decode(Some("all:!!")).is_err());
    }

    #[test]
    fn only_forward_transitions_exist() {
        let t = |a, b| transition("S1", a, b).map_err(|e| e.0);
        assert_eq!(t(Future, Active).ok(), Some(Transition::Start));
        assert_eq!(t(Active, Closed).ok(), Some(Transition::Complete));
        for s in [Future, Active, Closed] {
            assert_eq!(t(s, s).ok(), Some(Transition::Stay));
        }
        assert!(t(Future, Closed).is_err_and(|e| e.contains("has not started")));
        assert!(t(Active, Future).is_err_and(|e| e.contains("cannot go back")));
        assert!(t(Closed, Active).is_err_and(|e| e.contains("cannot be reopened")));
        assert!(t(Closed, Future).is_err_and(|e| e.contains("nothing was changed")));
    }
}
