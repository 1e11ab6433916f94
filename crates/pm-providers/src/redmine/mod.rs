//! Redmine (REST JSON, `X-Redmine-API-Key`): projects, issues as tasks, versions as sprints,
//! journals as comments, time entries as worklogs, watchers, relations, parent issues. Redmine's
//! manners: `offset`/`limit` paging with `total_count`, PUT answered 204 with no body (so every
//! write is read back), 422 `{"errors": [...]}`, 404 with an empty body, `status_id=*` for closed
//! issues. What Redmine cannot do (epics as a type) is refused as unsupported.
//! What Redmine lacks is refused before anything is written: labels, story points. Descriptions
//! and comments are converted to and from the site's text format (`text`); sprint start dates,
//! which versions lack, are kept in a "Start date" version field or a description trailer (`map`).
mod history;
mod map;
pub mod text;
pub mod wire;

use std::collections::HashMap;

use async_trait::async_trait;
use pm_core::{
    Assignee, Comment, ConnectionSpec, NewSprint, NewTask, Page, PageRequest, Project, Provider,
    ProviderError, ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState, Task,
    TaskChange, TaskQuery, TaskType, Transition, User, Vocabulary, Worklog,
};
use pm_core::{Secret, SignIn};
use serde_json::json;

use crate::cursor;
use crate::http::{HttpSettings, Upstream};
use crate::ids::{self, not_found};
pub use text::{Markup, TextFormat};

pub struct Redmine {
    up: Upstream,
    /// Status id → closed, read once.
    statuses: tokio::sync::OnceCell<Vec<wire::IssueStatus>>,
    /// The site's text formatting (the connection's `text_format` option).
    text: TextFormat,
    /// The site's "Start date" version custom field, from /custom_fields.json, read once.
    start_field: tokio::sync::OnceCell<Option<u64>>,
}

/// Redmine pages hold at most 100 items.
const MAX_LIMIT: u32 = 100;

/// Matches of Redmine's search taken into one `search_tasks` (the rest: narrow the text).
const MAX_SEARCH_HITS: usize = 500;

/// Characters a version's description holds.
const VERSION_DESCRIPTION_MAX: usize = 255;

impl Redmine {
    /// The client for a Redmine connection: its API key in `X-Redmine-API-Key`, and the site's
    /// text format (Textile unless the connection says otherwise).
    pub fn new(
        client: reqwest::Client,
        spec: &ConnectionSpec,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let SignIn::ApiKey(api_key) = &spec.sign_in else {
            return Err(ProviderError::BadInput(
                "Redmine signs in with an API key".into(),
            ));
        };
        let key = crate::http::credential(Secret::new(api_key.expose().trim()), "API key")?;
        let base_url = spec.base_url.as_str();
        let up = Upstream::new(
            client,
            base_url,
            "x-redmine-api-key",
            key,
            "Redmine",
            map::error_text,
            settings,
        )?;
        Ok(Self {
            up,
            statuses: tokio::sync::OnceCell::new(),
            text: spec.options.text_format.unwrap_or_default(),
            start_field: tokio::sync::OnceCell::new(),
        })
    }

    fn site(&self) -> String {
        self.up.base().as_str().trim_end_matches('/').to_string()
    }

    async fn statuses(&self) -> ProviderResult<&Vec<wire::IssueStatus>> {
        self.statuses
            .get_or_try_init(|| async {
                let s: wire::Statuses = self.up.get("issue_statuses.json", &[]).await?;
                Ok::<_, ProviderError>(s.issue_statuses)
            })
            .await
    }

    /// Maps issues with the site's status list (read once per client) deciding "done".
    async fn to_tasks(&self, issues: Vec<wire::Issue>) -> ProviderResult<Vec<Task>> {
        let closed: HashMap<u64, bool> = self
            .statuses()
            .await?
            .iter()
            .map(|s| (s.id, s.is_closed))
            .collect();
        let site = self.site();
        Ok(issues
            .into_iter()
            .map(|i| {
                map::task(i, &site, self.text, &|id| {
                    closed.get(&id).copied().unwrap_or(false)
                })
            })
            .collect())
    }

    async fn to_task(&self, i: wire::Issue) -> ProviderResult<Task> {
        self.to_tasks(vec![i])
            .await?
            .pop()
            .ok_or_else(|| ProviderError::Decode {
                provider: "Redmine",
                message: "no issue".into(),
            })
    }

    async fn issue(&self, id: &str, include: &str) -> ProviderResult<wire::Issue> {
        let id = number(id, "issue")?;
        let one: wire::IssueOne = self
            .up
            .get(
                &format!("issues/{id}.json"),
                &[("include", include.to_string())],
            )
            .await
            .map_err(|e| not_found(e, format!("Redmine issue #{id}")))?;
        Ok(one.issue)
    }

    /// A tracker or priority id by name; the error lists the names there are.
    async fn enum_id(&self, path: &str, what: &str, name: &str) -> ProviderResult<u64> {
        let items: Vec<(u64, String)> = match path {
            "trackers.json" => self
                .up
                .get::<wire::Trackers>(path, &[])
                .await?
                .trackers
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            _ => self
                .up
                .get::<wire::Priorities>(path, &[])
                .await?
                .issue_priorities
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
        };
        items
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                let names: Vec<&str> = items.iter().map(|(_, n)| n.as_str()).collect();
                ProviderError::BadInput(format!(
                    "Redmine has no {what} {name:?}; it has: {}",
                    names.join(", ")
                ))
            })
    }

    /// The project with its trackers (Redmine's order); "not found" names the project.
    async fn project_trackers(&self, project: &str) -> ProviderResult<wire::ProjectTrackers> {
        let one: wire::ProjectTrackersOne = self
            .up
            .get(
                &format!("projects/{project}.json"),
                &[("include", "trackers".to_string())],
            )
            .await
            .map_err(|e| project_missing(e, project))?;
        Ok(one.project)
    }

    /// Tracker id → the standard fields it enables, for trackers that say (Redmine 3.4+).
    async fn tracker_fields(&self) -> ProviderResult<HashMap<u64, Vec<String>>> {
        let list: wire::TrackersFields = self.up.get("trackers.json", &[]).await?;
        Ok(list
            .trackers
            .into_iter()
            .filter_map(|t| t.enabled_standard_fields.map(|f| (t.id, f)))
            .collect())
    }

    async fn version(&self, n: u64) -> ProviderResult<wire::Version> {
        let one: wire::VersionOne = self
            .up
            .get(&format!("versions/{n}.json"), &[])
            .await
            .map_err(|e| version_missing(e, n))?;
        Ok(one.version)
    }

    /// The site's "Start date" version custom field (date format), from the administrators'
    /// list of custom fields; `None` when there is none or the account may not read the list.
    async fn site_start_field(&self) -> ProviderResult<Option<u64>> {
        self.start_field
            .get_or_try_init(|| async {
                match self
                    .up
                    .get::<wire::CustomFields>("custom_fields.json", &[])
                    .await
                {
                    Ok(list) => Ok(list
                        .custom_fields
                        .into_iter()
                        .find(|f| {
                            f.customized_type == "version"
                                && f.field_format == "date"
                                && f.name.trim().eq_ignore_ascii_case(map::START_FIELD)
                        })
                        .map(|f| f.id)),
                    Err(ProviderError::Forbidden { .. } | ProviderError::NotFound { .. }) => {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .copied()
    }

    /// Where a sprint's start goes: the "Start date" field of the version at hand, else of the
    /// site (administrators), else of another version of the project (every version lists the
    /// site's version fields), else `None` — the description's trailer.
    async fn start_field_for(
        &self,
        version: Option<&wire::Version>,
        project: Option<&str>,
    ) -> ProviderResult<Option<u64>> {
        if let Some((id, _)) = version.and_then(|v| map::start_field(&v.custom_fields)) {
            return Ok(Some(id));
        }
        if let Some(id) = self.site_start_field().await? {
            return Ok(Some(id));
        }
        if let Some(p) = project {
            let res: wire::Versions = self
                .up
                .get(&format!("projects/{p}/versions.json"), &[])
                .await
                .map_err(|e| project_missing(e, p))?;
            return Ok(res
                .versions
                .iter()
                .find_map(|v| map::start_field(&v.custom_fields))
                .map(|(id, _)| id));
        }
        Ok(None)
    }

    /// Issue ids Redmine's own search finds for `text` in subjects, descriptions and comments
    /// (journals), in a project (and its sub-projects, as the issue list shows them) or in all
    /// visible ones; at most `MAX_SEARCH_HITS`.
    async fn search_ids(&self, project: Option<&str>, text: &str) -> ProviderResult<Vec<u64>> {
        let path = match project {
            Some(p) => format!("projects/{p}/search.json"),
            None => "search.json".to_string(),
        };
        let scope = if project.is_some() {
            "subprojects"
        } else {
            "all"
        };
        let mut ids = Vec::new();
        let mut offset = 0u64;
        while ids.len() < MAX_SEARCH_HITS {
            let res: wire::SearchResults = self
                .up
                .get(
                    &path,
                    &[
                        ("q", text.to_string()),
                        ("issues", "1".into()),
                        ("scope", scope.into()),
                        ("offset", offset.to_string()),
                        ("limit", MAX_LIMIT.to_string()),
                    ],
                )
                .await
                .map_err(|e| match project {
                    Some(p) => project_missing(e, p),
                    None => e,
                })?;
            let got = res.results.len() as u64;
            ids.extend(
                res.results
                    .into_iter()
                    .filter(|r| r.kind == "issue" || r.kind.is_empty())
                    .map(|r| r.id),
            );
            offset += got;
            if got == 0 || res.total_count.is_none_or(|t| offset >= t) {
                break;
            }
        }
        ids.truncate(MAX_SEARCH_HITS);
        Ok(ids)
    }

    fn page_of<T>(items: Vec<T>, offset: u64, total: Option<u64>) -> Page<T> {
        let end = offset + items.len() as u64;
        let more = !items.is_empty() && total.is_some_and(|t| end < t);
        Page {
            items,
            next: more.then(|| cursor::encode_offset(end)),
        }
    }
}

fn number(id: &str, what: &str) -> ProviderResult<u64> {
    ids::number("Redmine", id, what)
}

/// A user id, or an error that says where ids come from.
fn user_number(id: &str) -> ProviderResult<u64> {
    ids::number("Redmine", id, "user").map_err(|e| {
        ProviderError::BadInput(format!("{e}; list_users gives the ids of Redmine's users"))
    })
}

fn project_missing(e: ProviderError, project: &str) -> ProviderError {
    not_found(
        e,
        format!("Redmine project {project:?} (list_projects lists the projects)"),
    )
}

fn version_missing(e: ProviderError, n: u64) -> ProviderError {
    not_found(
        e,
        format!("Redmine version (sprint) {n} (list_sprints lists a project's sprints)"),
    )
}

fn issue_missing(e: ProviderError, n: u64) -> ProviderError {
    not_found(e, format!("Redmine issue #{n}"))
}

fn labels_unsupported() -> ProviderError {
    ProviderError::Unsupported {
        provider: "Redmine",
        operation: "labels (Redmine issues have none; leave labels out, nothing was written)",
    }
}

fn points_unsupported() -> ProviderError {
    ProviderError::Unsupported {
        provider: "Redmine",
        operation: "story points (Redmine has no such field; use estimated hours, nothing was written)",
    }
}

/// A goal may not carry the text that keeps a start date: read back, it would set one.
fn check_goal(goal: Option<&str>) -> ProviderResult<()> {
    if goal.is_some_and(|g| g.contains(map::START_TRAILER)) {
        return Err(ProviderError::BadInput(format!(
            "a sprint goal may not contain {:?}: pm-mcp keeps the sprint's start date in that form; give the start as start_date",
            map::START_TRAILER.trim_end()
        )));
    }
    Ok(())
}

/// A version description must fit Redmine's 255 characters, the start trailer included.
fn check_description(description: &str, trailer: bool) -> ProviderResult<()> {
    let n = description.chars().count();
    if n > VERSION_DESCRIPTION_MAX {
        return Err(ProviderError::BadInput(format!(
            "the goal is too long: Redmine keeps at most {VERSION_DESCRIPTION_MAX} characters in a version's description{}; shorten the goal by {} characters",
            if trailer {
                ", and the start date kept at its end takes some of them"
            } else {
                ""
            },
            n - VERSION_DESCRIPTION_MAX
        )));
    }
    Ok(())
}

/// A project id or identifier, safe in a path.
fn project_ref(id: &str) -> ProviderResult<String> {
    ids::slug("Redmine", id, "project id or identifier", 100)
}

fn paging(page: &PageRequest) -> ProviderResult<(u64, u32)> {
    Ok((
        cursor::decode_offset(page.cursor.as_deref())?,
        page.limit.min(MAX_LIMIT),
    ))
}

#[async_trait]
impl Provider for Redmine {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Redmine
    }

    async fn whoami(&self) -> ProviderResult<User> {
        let site = self.site();
        let me: wire::UserOne = self
            .up
            .get("users/current.json", &[])
            .await
            .map_err(|e| match e {
                ProviderError::NotFound { .. } => ProviderError::BadInput(format!(
                    "there is no Redmine REST API at {site} (users/current.json answered 404): check the base URL (the address Redmine's home page opens at), and that Redmine's Administration → Settings → API → \"Enable REST web service\" is on"
                )),
                ProviderError::Decode { provider, .. } => ProviderError::Decode {
                    provider,
                    message: format!(
                        "{site}/users/current.json is not Redmine's JSON; check the base URL (the address Redmine's home page opens at)"
                    ),
                },
                other => other,
            })?;
        Ok(map::user(me.user))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        Ok(SiteInfo {
            product: "Redmine".into(),
            version: None,
            base_url: self.site(),
            workspace_id: None,
        })
    }

    async fn list_projects(&self, page: &PageRequest) -> ProviderResult<Page<Project>> {
        let (offset, limit) = paging(page)?;
        let res: wire::Projects = self
            .up
            .get(
                "projects.json",
                &[("offset", offset.to_string()), ("limit", limit.to_string())],
            )
            .await?;
        let site = self.site();
        Ok(Self::page_of(
            res.projects
                .into_iter()
                .map(|p| map::project(p, &site, self.text))
                .collect(),
            res.offset,
            res.total_count,
        ))
    }

    async fn search_projects(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        // Redmine cannot filter projects by text: read them (100 a page) and filter here.
        let needle = query.trim().to_lowercase();
        if needle.is_empty() {
            return Err(ProviderError::BadInput("the search text is empty".into()));
        }
        let mut found = Vec::new();
        let mut offset = 0u64;
        loop {
            let res: wire::Projects = self
                .up
                .get(
                    "projects.json",
                    &[("offset", offset.to_string()), ("limit", "100".into())],
                )
                .await?;
            let got = res.projects.len() as u64;
            found.extend(res.projects.into_iter().filter(|p| {
                p.name.to_lowercase().contains(&needle) || p.identifier.contains(&needle)
            }));
            offset += got;
            if got == 0 || res.total_count.is_none_or(|t| offset >= t) || offset >= 10_000 {
                break;
            }
        }
        let start = cursor::decode_offset(page.cursor.as_deref())? as usize;
        let total = found.len() as u64;
        let site = self.site();
        let items: Vec<Project> = found
            .into_iter()
            .skip(start)
            .take(page.limit as usize)
            .map(|p| map::project(p, &site, self.text))
            .collect();
        Ok(Self::page_of(items, start as u64, Some(total)))
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let one: wire::ProjectOne = self
            .up
            .get(&format!("projects/{id}.json"), &[])
            .await
            .map_err(|e| project_missing(e, &id))?;
        Ok(map::project(one.project, &self.site(), self.text))
    }

    async fn create_project(
        &self,
        name: &str,
        key: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let identifier = match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_lowercase(),
            None => {
                let slug: String = name
                    .to_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                slug.split('-')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("-")
                    .chars()
                    .take(100)
                    .collect()
            }
        };
        let description = self.text.write_markdown(description.unwrap_or(""));
        let body = json!({ "project": { "name": name.trim(), "identifier": identifier, "description": description } });
        let created: wire::ProjectOne = self.up.post("projects.json", &body).await?;
        self.get_project(&created.project.id.to_string()).await
    }

    async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let mut p = json!({});
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            p["name"] = json!(n);
        }
        if let Some(d) = description {
            p["description"] = json!(self.text.write_markdown(d));
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("projects/{id}.json"), &json!({ "project": p }))
            .await
            .map_err(|e| project_missing(e, &id))?;
        self.get_project(&id).await
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        let id = project_ref(id)?;
        let _: serde_json::Value = self
            .up
            .delete(&format!("projects/{id}.json"))
            .await
            .map_err(|e| project_missing(e, &id))?;
        Ok(())
    }

    async fn project_vocabulary(
        &self,
        project: &str,
        task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        let project = project_ref(project)?;
        let p = self.project_trackers(&project).await?;
        // Redmine has no epic type.
        let task_types = TaskType::in_order(p.trackers.iter().map(|t| t.name.as_str()), false);
        let statuses = self
            .statuses()
            .await?
            .iter()
            .map(|s| {
                map::status(
                    &wire::Named {
                        id: s.id,
                        name: s.name.clone(),
                    },
                    s.is_closed,
                )
            })
            .collect();
        let priorities: wire::Priorities = self
            .up
            .get("enumerations/issue_priorities.json", &[])
            .await?;
        let mut notes = vec![
            "statuses are the site's; each tracker's workflow allows a subset (task_id gives one task's moves)".to_string(),
            "Redmine has no epic type: parent tasks stand in (link_task_to_epic)".to_string(),
        ];
        if p.trackers.is_empty() {
            notes.push("the project has no tracker enabled, so it takes no tasks".into());
        }
        if let Some(d) = priorities.issue_priorities.iter().find(|p| p.is_default) {
            notes.push(format!("default priority: {}", d.name));
        }
        let transitions = match task {
            Some(t) => {
                let current = self.issue(t, "allowed_statuses").await?;
                notes.push("Redmine transitions have no names: set the status itself".into());
                Some(
                    current
                        .allowed_statuses
                        .iter()
                        .filter(|s| s.id != current.status.id)
                        .map(|s| Transition {
                            to_status: s.name.clone(),
                            name: None,
                        })
                        .collect(),
                )
            }
            None => None,
        };
        Ok(Vocabulary {
            statuses,
            priorities: priorities
                .issue_priorities
                .into_iter()
                .filter(|p| p.active)
                .map(|p| p.name)
                .collect(),
            task_types,
            transitions,
            notes,
        })
    }

    async fn search_tasks(&self, q: &TaskQuery, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let (offset, limit) = paging(page)?;
        let mut params = vec![
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
            ("sort", "updated_on:desc".to_string()),
        ];
        let project = q.project.as_deref().map(project_ref).transpose()?;
        if let Some(p) = &project {
            params.push(("project_id", p.clone()));
        }
        let sprint = q
            .sprint
            .as_deref()
            .map(|s| number(s, "version"))
            .transpose()?;
        if let Some(s) = sprint {
            params.push(("fixed_version_id", s.to_string()));
        }
        match &q.assignee {
            Some(Assignee::Me) => params.push(("assigned_to_id", "me".into())),
            Some(Assignee::Nobody) => params.push(("assigned_to_id", "!*".into())),
            Some(Assignee::User(u)) => params.push(("assigned_to_id", user_number(u)?.to_string())),
            None => {}
        }
        if q.statuses.is_empty() {
            // Closed issues are listed too, as in every other provider.
            params.push(("status_id", "*".into()));
        } else {
            let all = self.statuses().await?;
            let mut ids = Vec::new();
            for name in &q.statuses {
                let s = all
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
                    .ok_or_else(|| {
                        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                        ProviderError::BadInput(format!(
                            "Redmine has no status {name:?}; it has: {}",
                            names.join(", ")
                        ))
                    })?;
                ids.push(s.id.to_string());
            }
            params.push(("status_id", ids.join("|")));
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if t.chars().count() < 2 {
                // Redmine's search ignores one-letter words: match titles instead.
                params.push(("subject", format!("~{t}")));
            } else {
                // Redmine's search finds subjects, descriptions and comments (the issue
                // filter `any_searchable` is not in Redmine 5.0); the matches are then listed
                // with the other filters, sorted and paged by the issue list.
                let ids = self.search_ids(project.as_deref(), t).await?;
                if ids.is_empty() {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
                let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
                params.push(("issue_id", ids.join(",")));
            }
        }
        let res: wire::Issues =
            self.up
                .get("issues.json", &params)
                .await
                .map_err(|e| match &project {
                    Some(p) => project_missing(e, p),
                    None => e,
                })?;
        // Redmine lists no issues for a version that does not exist: when nothing is listed,
        // look, and say "not found" when that is why.
        if let (Some(s), true) = (sprint, res.issues.is_empty()) {
            self.version(s).await?;
        }
        let tasks = self.to_tasks(res.issues).await?;
        Ok(Self::page_of(tasks, res.offset, res.total_count))
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        let issue = self.issue(id, "").await?;
        self.to_task(issue).await
    }

    fn creates_in_sprint(&self) -> bool {
        true
    }

    /// One write: everything asked is checked (and refused when Redmine cannot hold it) before
    /// the issue is created, sprint and parent included, so a retry never makes a duplicate.
    async fn create_task(&self, t: &NewTask) -> ProviderResult<Task> {
        if !t.labels.is_empty() {
            return Err(labels_unsupported());
        }
        if t.story_points.is_some() {
            return Err(points_unsupported());
        }
        let project = project_ref(&t.project)?;
        let assignee = t.assignee.as_deref().map(user_number).transpose()?;
        let parent = t
            .parent
            .as_deref()
            .map(|p| number(p, "issue"))
            .transpose()?;
        let sprint = t
            .sprint
            .as_deref()
            .map(|s| number(s, "version"))
            .transpose()?;
        let p = self.project_trackers(&project).await?;
        let names = || {
            p.trackers
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A tracker can turn standard fields off, and Redmine then drops them without a word:
        // the fields asked for must be on in the tracker used.
        let asked: Vec<(&str, &str)> = [
            (
                t.description
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty()),
                "description",
                "description",
            ),
            (assignee.is_some(), "assigned_to_id", "assignee"),
            (t.due_date.is_some(), "due_date", "due date"),
            (parent.is_some(), "parent_issue_id", "parent task"),
            (
                sprint.is_some(),
                "fixed_version_id",
                "sprint (target version)",
            ),
        ]
        .into_iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, field, label)| (field, label))
        .collect();
        let enabled = self.tracker_fields().await?;
        let lacks = |tracker: u64| -> Vec<&str> {
            match enabled.get(&tracker) {
                Some(on) => asked
                    .iter()
                    .filter(|(f, _)| !on.iter().any(|o| o == f))
                    .map(|(_, label)| *label)
                    .collect(),
                None => Vec::new(),
            }
        };
        // No type given: a "Task" tracker when the project has one, else the project's first
        // tracker — the one Redmine itself picks when none is sent — or, as Redmine does for a
        // parent, the first one with every field asked for. The task read back carries the type.
        let tracker = match t.task_type.as_deref().map(str::trim) {
            Some(kind) if !kind.is_empty() => p
                .trackers
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(kind))
                .ok_or_else(|| {
                    ProviderError::BadInput(format!(
                        "Redmine project {:?} has no task type (tracker) {kind:?}; it has: {}",
                        p.identifier,
                        names()
                    ))
                })?,
            _ => p
                .trackers
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case("Task") && lacks(t.id).is_empty())
                .or_else(|| p.trackers.iter().find(|t| lacks(t.id).is_empty()))
                .or_else(|| p.trackers.first())
                .ok_or_else(|| {
                    ProviderError::BadInput(format!(
                        "Redmine project {:?} has no tracker enabled, so it takes no issues; a project manager enables trackers in the project's Settings → Issue tracking",
                        p.identifier
                    ))
                })?,
        };
        let missing = lacks(tracker.id);
        if !missing.is_empty() {
            let fit: Vec<&str> = p
                .trackers
                .iter()
                .filter(|t| lacks(t.id).is_empty())
                .map(|t| t.name.as_str())
                .collect();
            return Err(ProviderError::BadInput(format!(
                "Redmine's task type {:?} has these fields turned off, so they would be dropped: {}; {} (an administrator turns fields on under Administration → Trackers)",
                tracker.name,
                missing.join(", "),
                if fit.is_empty() {
                    "no task type of the project has them all".to_string()
                } else {
                    format!("task types that have them: {}", fit.join(", "))
                }
            )));
        }
        let mut issue = json!({
            "project_id": p.id,
            "tracker_id": tracker.id,
            "subject": t.title.trim(),
        });
        if let Some(d) = &t.description {
            issue["description"] = json!(self.text.write_markdown(d));
        }
        if let Some(pr) = &t.priority {
            issue["priority_id"] = json!(
                self.enum_id("enumerations/issue_priorities.json", "priority", pr)
                    .await?
            );
        }
        if let Some(a) = assignee {
            issue["assigned_to_id"] = json!(a);
        }
        if let Some(d) = t.due_date {
            issue["due_date"] = json!(d.format("%Y-%m-%d").to_string());
        }
        if let Some(pa) = parent {
            issue["parent_issue_id"] = json!(pa);
        }
        if let Some(v) = sprint {
            issue["fixed_version_id"] = json!(v);
        }
        let created: wire::IssueOne = self
            .up
            .post("issues.json", &json!({ "issue": issue }))
            .await?;
        self.get_task(&created.issue.id.to_string()).await
    }

    async fn update_task(&self, id: &str, c: &TaskChange) -> ProviderResult<Task> {
        // Refused before anything is written.
        if c.labels.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(labels_unsupported());
        }
        if c.story_points.is_some() {
            return Err(points_unsupported());
        }
        // Redmine 5.0's issues have an estimate and spent time, no remaining work.
        if c.remaining_hours.is_some() {
            return Err(ProviderError::Unsupported {
                provider: "Redmine",
                operation: "remaining_hours (Redmine issues have no remaining-work field; nothing was written)",
            });
        }
        let n = number(id, "issue")?;
        let mut issue = json!({});
        if let Some(t) = &c.title {
            issue["subject"] = json!(t.trim());
        }
        if let Some(d) = &c.description {
            issue["description"] = json!(self.text.write_markdown(d));
        }
        if let Some(p) = &c.priority {
            issue["priority_id"] = json!(
                self.enum_id("enumerations/issue_priorities.json", "priority", p)
                    .await?
            );
        }
        if let Some(a) = &c.assignee {
            issue["assigned_to_id"] = match a {
                Some(u) => json!(user_number(u)?),
                None => json!(""),
            };
        }
        if let Some(d) = c.due_date {
            issue["due_date"] = json!(d.format("%Y-%m-%d").to_string());
        }
        if let Some(h) = c.estimated_hours {
            issue["estimated_hours"] = json!(h);
        }
        if let Some(s) = &c.sprint {
            issue["fixed_version_id"] = json!(number(s, "version")?);
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("issues/{n}.json"), &json!({ "issue": issue }))
            .await
            .map_err(|e| issue_missing(e, n))?;
        self.get_task(&n.to_string()).await
    }

    async fn transition_task(&self, id: &str, status: &str) -> ProviderResult<Task> {
        let current = self.issue(id, "allowed_statuses").await?;
        if current.status.name.eq_ignore_ascii_case(status.trim()) {
            return self.to_task(current).await;
        }
        let allowed = &current.allowed_statuses;
        let Some(target) = allowed
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(status.trim()))
        else {
            let names: Vec<&str> = allowed
                .iter()
                .filter(|s| s.id != current.status.id)
                .map(|s| s.name.as_str())
                .collect();
            return Err(ProviderError::BadInput(format!(
                "#{} is {:?} and cannot move to {status:?}; it can move to: {}",
                current.id,
                current.status.name,
                if names.is_empty() {
                    "nothing (the workflow allows no change for this account)".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        let _: serde_json::Value = self
            .up
            .put(
                &format!("issues/{}.json", current.id),
                &json!({ "issue": { "status_id": target.id } }),
            )
            .await?;
        self.get_task(&current.id.to_string()).await
    }

    async fn assign_task(&self, id: &str, assignee: Option<&str>) -> ProviderResult<()> {
        let n = number(id, "issue")?;
        let value = match assignee {
            Some(a) => json!(user_number(a)?),
            None => json!(""),
        };
        let _: serde_json::Value = self
            .up
            .put(
                &format!("issues/{n}.json"),
                &json!({ "issue": { "assigned_to_id": value } }),
            )
            .await
            .map_err(|e| issue_missing(e, n))?;
        Ok(())
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "issue")?;
        let _: serde_json::Value = self
            .up
            .delete(&format!("issues/{n}.json"))
            .await
            .map_err(|e| issue_missing(e, n))?;
        Ok(())
    }

    async fn add_comment(&self, task: &str, markdown: &str) -> ProviderResult<Comment> {
        let n = number(task, "issue")?;
        if markdown.trim().is_empty() {
            return Err(ProviderError::BadInput("the comment is empty".into()));
        }
        let _: serde_json::Value = self
            .up
            .put(
                &format!("issues/{n}.json"),
                &json!({ "issue": { "notes": self.text.write_markdown(markdown) } }),
            )
            .await
            .map_err(|e| issue_missing(e, n))?;
        // Redmine answers 204: read the journal back.
        let issue = self.issue(&n.to_string(), "journals").await?;
        issue
            .journals
            .into_iter()
            .rev()
            .find_map(|j| map::comment(j, self.text))
            .ok_or_else(|| ProviderError::Decode {
                provider: "Redmine",
                message: "the comment was accepted but is not in the issue's journal".into(),
            })
    }

    async fn list_comments(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Comment>> {
        let issue = self.issue(task, "journals").await?;
        let all: Vec<Comment> = issue
            .journals
            .into_iter()
            .filter_map(|j| map::comment(j, self.text))
            .collect();
        cursor::slice(all, page)
    }

    async fn log_work(
        &self,
        task: &str,
        seconds: i64,
        started: chrono::DateTime<chrono::Utc>,
        comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        let n = number(task, "issue")?;
        let activities: wire::Activities = self
            .up
            .get("enumerations/time_entry_activities.json", &[])
            .await?;
        let activity = activities
            .time_entry_activities
            .iter()
            .filter(|a| a.active)
            .find(|a| a.is_default)
            .or_else(|| activities.time_entry_activities.first());
        let mut entry = json!({
            "issue_id": n,
            "hours": seconds as f64 / 3600.0,
            "spent_on": started.format("%Y-%m-%d").to_string(),
            "comments": comment.unwrap_or(""),
        });
        if let Some(a) = activity {
            entry["activity_id"] = json!(a.id);
        }
        let created: wire::TimeEntryOne = self
            .up
            .post("time_entries.json", &json!({ "time_entry": entry }))
            .await?;
        Ok(map::worklog(created.time_entry))
    }

    async fn list_worklogs(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Worklog>> {
        let n = number(task, "issue")?;
        let (offset, limit) = paging(page)?;
        let res: wire::TimeEntries = self
            .up
            .get(
                "time_entries.json",
                &[
                    ("issue_id", n.to_string()),
                    ("offset", offset.to_string()),
                    ("limit", limit.to_string()),
                ],
            )
            .await?;
        // Redmine lists no time entries for an issue that does not exist: when nothing is
        // listed, look, and say "not found" when that is why.
        if res.time_entries.is_empty() {
            self.issue(&n.to_string(), "").await?;
        }
        Ok(Self::page_of(
            res.time_entries.into_iter().map(map::worklog).collect(),
            res.offset,
            res.total_count,
        ))
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        let n = number(task, "issue")?;
        let added: ProviderResult<serde_json::Value> = self
            .up
            .post(
                &format!("issues/{n}/watchers.json"),
                &json!({ "user_id": user_number(user)? }),
            )
            .await;
        match added {
            Ok(_) => Ok(()),
            // Redmine answers 403 for the watchers of an issue that does not exist (its
            // permission check finds no issue): look, and say "not found" when that is why.
            Err(ProviderError::Forbidden { .. })
                if self
                    .get_task(&n.to_string())
                    .await
                    .is_err_and(|e| e.kind() == "not_found") =>
            {
                Err(issue_missing(
                    ProviderError::NotFound {
                        what: String::new(),
                    },
                    n,
                ))
            }
            Err(e) => Err(issue_missing(e, n)),
        }
    }

    async fn link_tasks(&self, from: &str, to: &str, link_type: &str) -> ProviderResult<()> {
        let (from, to) = (number(from, "issue")?, number(to, "issue")?);
        let kind = match link_type.trim().to_lowercase().as_str() {
            "relates" | "relates to" | "" => "relates",
            "blocks" => "blocks",
            "blocked by" | "blocked" => "blocked",
            "duplicates" | "duplicate" => "duplicates",
            "precedes" => "precedes",
            "follows" => "follows",
            "copied to" | "copies" => "copied_to",
            other => {
                return Err(ProviderError::BadInput(format!(
                    "Redmine has no relation {other:?}; use relates, blocks, blocked by, duplicates, precedes, follows or copied to"
                )));
            }
        };
        let body = json!({ "relation": { "issue_to_id": to, "relation_type": kind } });
        let linked: ProviderResult<serde_json::Value> = self
            .up
            .post(&format!("issues/{from}/relations.json"), &body)
            .await;
        match linked {
            Ok(_) => Ok(()),
            // Redmine answers 422 "Related issue cannot be blank" for a related issue that does
            // not exist (or that the account cannot see): look, and say "not found" when that
            // is why.
            Err(e @ ProviderError::Invalid { .. }) => match self.issue(&to.to_string(), "").await {
                Err(missing @ ProviderError::NotFound { .. }) => Err(missing),
                _ => Err(e),
            },
            Err(e) => Err(issue_missing(e, from)),
        }
    }

    async fn list_users(&self, query: &str, page: &PageRequest) -> ProviderResult<Page<User>> {
        let (offset, limit) = paging(page)?;
        let res: wire::Users = self
            .up
            .get(
                "users.json",
                &[
                    ("name", query.trim().to_string()),
                    ("offset", offset.to_string()),
                    ("limit", limit.to_string()),
                ],
            )
            .await?;
        Ok(Self::page_of(
            res.users.into_iter().map(map::user).collect(),
            res.offset,
            res.total_count,
        ))
    }

    async fn list_project_members(
        &self,
        project: &str,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<User>> {
        let id = project_ref(project)?;
        let (offset, limit) = paging(page)?;
        let res: wire::Memberships = self
            .up
            .get(
                &format!("projects/{id}/memberships.json"),
                &[("offset", offset.to_string()), ("limit", limit.to_string())],
            )
            .await
            .map_err(|e| project_missing(e, &id))?;
        let seen = res.memberships.len() as u64;
        // Groups are skipped: their users are listed as members of their own. Redmine cannot
        // filter memberships by name, so `query` is matched here, on this page.
        let needle = query.trim().to_lowercase();
        let users: Vec<User> = res
            .memberships
            .into_iter()
            .filter_map(|m| m.user)
            .filter(|u| needle.is_empty() || u.name.to_lowercase().contains(&needle))
            .map(|u| User {
                id: u.id.to_string(),
                name: u.name,
                email: None,
                active: true,
            })
            .collect();
        let end = res.offset + seen;
        Ok(Page {
            items: users,
            next: (seen > 0 && res.total_count.is_some_and(|t| end < t))
                .then(|| cursor::encode_offset(end)),
        })
    }

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        let n = user_number(id)?;
        let one: wire::UserOne = self
            .up
            .get(&format!("users/{n}.json"), &[])
            .await
            .map_err(|e| not_found(e, format!("Redmine user {n} (list_users lists the users)")))?;
        Ok(map::user(one.user))
    }

    async fn list_epics(&self, _project: &str, _page: &PageRequest) -> ProviderResult<Page<Task>> {
        Err(ProviderError::Unsupported {
            provider: "Redmine",
            operation: "listing epics (Redmine has no epic type; use parent tasks with link_task_to_epic)",
        })
    }

    async fn set_epic(&self, task: &str, epic: Option<&str>) -> ProviderResult<()> {
        let n = number(task, "issue")?;
        let parent = match epic {
            Some(e) => json!(number(e, "issue")?),
            None => json!(""),
        };
        let _: serde_json::Value = self
            .up
            .put(
                &format!("issues/{n}.json"),
                &json!({ "issue": { "parent_issue_id": parent } }),
            )
            .await
            .map_err(|e| issue_missing(e, n))?;
        Ok(())
    }

    async fn list_sprints(
        &self,
        project: &str,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        let project = project_ref(project)?;
        let res: wire::Versions = self
            .up
            .get(&format!("projects/{project}/versions.json"), &[])
            .await
            .map_err(|e| project_missing(e, &project))?;
        let now = chrono::Utc::now();
        let all: Vec<Sprint> = res
            .versions
            .into_iter()
            .map(|v| map::sprint(v, now))
            .filter(|s| states.is_empty() || states.contains(&s.state))
            .collect();
        cursor::slice(all, page)
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        Ok(map::sprint(self.version(n).await?, chrono::Utc::now()))
    }

    async fn create_sprint(&self, s: &NewSprint) -> ProviderResult<Sprint> {
        let project = project_ref(&s.project)?;
        let start = s.start.map(|d| d.date_naive());
        let field = match start {
            Some(_) => self.start_field_for(None, Some(&project)).await?,
            None => None,
        };
        let trailer = if field.is_some() { None } else { start };
        check_goal(s.goal.as_deref())?;
        let description = map::join_goal(s.goal.as_deref(), trailer);
        check_description(&description, trailer.is_some())?;
        let mut v = json!({ "name": s.name.trim(), "status": "open", "description": description });
        if let Some(end) = s.end {
            v["due_date"] = json!(end.format("%Y-%m-%d").to_string());
        }
        if let (Some(f), Some(d)) = (field, start) {
            v["custom_fields"] = json!([{ "id": f, "value": d.format("%Y-%m-%d").to_string() }]);
        }
        let created: wire::VersionOne = self
            .up
            .post(
                &format!("projects/{project}/versions.json"),
                &json!({ "version": v }),
            )
            .await
            .map_err(|e| project_missing(e, &project))?;
        self.get_sprint(&created.version.id.to_string()).await
    }

    async fn update_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let mut v = json!({});
        if let Some(name) = &c.name {
            v["name"] = json!(name.trim());
        }
        if let Some(end) = c.end {
            v["due_date"] = json!(end.format("%Y-%m-%d").to_string());
        }
        check_goal(c.goal.as_deref())?;
        if c.goal.is_some() || c.start.is_some() {
            // Goal and (without the custom field) start share the description.
            let current = self.version(n).await?;
            let (goal, kept) = map::split_goal(current.description.as_deref());
            let start = c.start.map(|d| d.date_naive());
            let field = match start {
                Some(_) => self.start_field_for(Some(&current), None).await?,
                None => None,
            };
            let trailer = match (field, start) {
                (Some(_), _) => None,
                (None, Some(d)) => Some(d),
                (None, None) => kept,
            };
            let description = map::join_goal(c.goal.as_deref().or(goal.as_deref()), trailer);
            check_description(&description, trailer.is_some())?;
            v["description"] = json!(description);
            if let (Some(f), Some(d)) = (field, start) {
                v["custom_fields"] =
                    json!([{ "id": f, "value": d.format("%Y-%m-%d").to_string() }]);
            }
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("versions/{n}.json"), &json!({ "version": v }))
            .await
            .map_err(|e| version_missing(e, n))?;
        self.get_sprint(&n.to_string()).await
    }

    /// Redmine versions have no "started" state: starting one records its start date (now
    /// unless given), which makes a planned version active.
    async fn start_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        let current = self.get_sprint(id).await?;
        let now = chrono::Utc::now();
        match (current.state, current.start_date) {
            (SprintState::Closed, _) => {
                return Err(ProviderError::BadInput(format!(
                    "Redmine version {} is closed or locked, so it cannot start; create_sprint makes a new one",
                    current.id
                )));
            }
            (SprintState::Active, Some(s)) if c.start.is_none() => {
                return Err(ProviderError::BadInput(format!(
                    "Redmine version {} already started on {}; update_sprint changes its dates",
                    current.id,
                    s.format("%Y-%m-%d")
                )));
            }
            _ => {}
        }
        let change = SprintChange {
            start: Some(c.start.unwrap_or(now)),
            ..c.clone()
        };
        self.update_sprint(id, &change).await
    }

    fn completes_sprints(&self) -> bool {
        true
    }

    async fn complete_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let _: serde_json::Value = self
            .up
            .put(
                &format!("versions/{n}.json"),
                &json!({ "version": { "status": "closed" } }),
            )
            .await
            .map_err(|e| version_missing(e, n))?;
        self.get_sprint(&n.to_string()).await
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "version")?;
        let _: serde_json::Value = self
            .up
            .delete(&format!("versions/{n}.json"))
            .await
            .map_err(|e| version_missing(e, n))?;
        Ok(())
    }

    async fn sprint_history(
        &self,
        sprint: &str,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let n = number(sprint, "version")?;
        self.history(
            vec![
                ("fixed_version_id", n.to_string()),
                ("status_id", "*".into()),
                ("sort", "id".into()),
            ],
            max_items,
        )
        .await
    }

    async fn project_history(
        &self,
        project: &str,
        since: chrono::DateTime<chrono::Utc>,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let p = project_ref(project)?;
        let mut open = self
            .history(
                vec![
                    ("project_id", p.clone()),
                    ("status_id", "o".into()),
                    ("sort", "id".into()),
                ],
                max_items,
            )
            .await?;
        let left = max_items.saturating_sub(open.items.len() as u32);
        if left > 0 {
            let closed = self
                .history(
                    vec![
                        ("project_id", p),
                        ("status_id", "c".into()),
                        ("updated_on", format!(">={}", since.format("%Y-%m-%d"))),
                        ("sort", "id".into()),
                    ],
                    left,
                )
                .await?;
            open.items.extend(closed.items);
        }
        Ok(open)
    }
}
