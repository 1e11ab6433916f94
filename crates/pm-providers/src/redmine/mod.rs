//! Redmine (REST JSON, `X-Redmine-API-Key`): projects, issues as tasks, versions as sprints,
//! journals as comments, time entries as worklogs, watchers, relations, parent issues. Redmine's
//! manners: `offset`/`limit` paging with `total_count`, PUT answered 204 with no body (so every
//! write is read back), 422 `{"errors": [...]}`, 404 with an empty body, `status_id=*` for closed
//! issues. What Redmine cannot do (start a version, epics as a type) is refused as unsupported.
mod history;
mod map;
pub mod wire;

use std::collections::HashMap;

use async_trait::async_trait;
use pm_core::{
    Assignee, Comment, NewSprint, NewTask, Page, PageRequest, Project, Provider, ProviderError,
    ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState, Task, TaskChange,
    TaskQuery, User, Worklog,
};
use reqwest::header::HeaderValue;
use serde_json::json;

use crate::cursor;
use crate::http::{HttpSettings, Upstream};
use crate::ids::{self, not_found};

pub struct Redmine {
    up: Upstream,
    /// Status id → closed, read once.
    statuses: tokio::sync::OnceCell<Vec<wire::IssueStatus>>,
}

/// Redmine pages hold at most 100 items.
const MAX_LIMIT: u32 = 100;

impl Redmine {
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        api_key: &str,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let key = HeaderValue::from_str(api_key.trim()).map_err(|_| {
            ProviderError::BadInput("the API key contains characters a header cannot carry".into())
        })?;
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
            .map(|i| map::task(i, &site, &|id| closed.get(&id).copied().unwrap_or(false)))
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
        let me: wire::UserOne = self.up.get("users/current.json", &[]).await?;
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
                .map(|p| map::project(p, &site))
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
            .map(|p| map::project(p, &site))
            .collect();
        Ok(Self::page_of(items, start as u64, Some(total)))
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let one: wire::ProjectOne = self
            .up
            .get(&format!("projects/{id}.json"), &[])
            .await
            .map_err(|e| not_found(e, format!("Redmine project {id}")))?;
        Ok(map::project(one.project, &self.site()))
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
        let body = json!({ "project": { "name": name.trim(), "identifier": identifier, "description": description.unwrap_or("") } });
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
            p["description"] = json!(d);
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("projects/{id}.json"), &json!({ "project": p }))
            .await?;
        self.get_project(&id).await
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        let id = project_ref(id)?;
        let _: serde_json::Value = self.up.delete(&format!("projects/{id}.json")).await?;
        Ok(())
    }

    async fn search_tasks(&self, q: &TaskQuery, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let (offset, limit) = paging(page)?;
        let mut params = vec![
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
            ("sort", "updated_on:desc".to_string()),
        ];
        if let Some(p) = &q.project {
            params.push(("project_id", project_ref(p)?));
        }
        if let Some(s) = &q.sprint {
            params.push(("fixed_version_id", number(s, "version")?.to_string()));
        }
        match &q.assignee {
            Some(Assignee::Me) => params.push(("assigned_to_id", "me".into())),
            Some(Assignee::Nobody) => params.push(("assigned_to_id", "!*".into())),
            Some(Assignee::User(u)) => {
                params.push(("assigned_to_id", number(u, "user")?.to_string()))
            }
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
            params.push(("subject", format!("~{t}")));
        }
        let res: wire::Issues = self.up.get("issues.json", &params).await?;
        let tasks = self.to_tasks(res.issues).await?;
        Ok(Self::page_of(tasks, res.offset, res.total_count))
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        let issue = self.issue(id, "").await?;
        self.to_task(issue).await
    }

    async fn create_task(&self, t: &NewTask) -> ProviderResult<Task> {
        let mut issue =
            json!({ "project_id": project_ref(&t.project)?, "subject": t.title.trim() });
        if let Some(d) = &t.description {
            issue["description"] = json!(d);
        }
        if let Some(kind) = &t.task_type {
            issue["tracker_id"] = json!(self.enum_id("trackers.json", "tracker", kind).await?);
        }
        if let Some(p) = &t.priority {
            issue["priority_id"] = json!(
                self.enum_id("enumerations/issue_priorities.json", "priority", p)
                    .await?
            );
        }
        if let Some(a) = &t.assignee {
            issue["assigned_to_id"] = json!(number(a, "user")?);
        }
        if let Some(d) = t.due_date {
            issue["due_date"] = json!(d.format("%Y-%m-%d").to_string());
        }
        if let Some(p) = &t.parent {
            issue["parent_issue_id"] = json!(number(p, "issue")?);
        }
        let created: wire::IssueOne = self
            .up
            .post("issues.json", &json!({ "issue": issue }))
            .await?;
        self.get_task(&created.issue.id.to_string()).await
    }

    async fn update_task(&self, id: &str, c: &TaskChange) -> ProviderResult<Task> {
        let n = number(id, "issue")?;
        let mut issue = json!({});
        if let Some(t) = &c.title {
            issue["subject"] = json!(t.trim());
        }
        if let Some(d) = &c.description {
            issue["description"] = json!(d);
        }
        if let Some(p) = &c.priority {
            issue["priority_id"] = json!(
                self.enum_id("enumerations/issue_priorities.json", "priority", p)
                    .await?
            );
        }
        if let Some(a) = &c.assignee {
            issue["assigned_to_id"] = match a {
                Some(u) => json!(number(u, "user")?),
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
        if c.story_points.is_some() {
            return Err(ProviderError::Unsupported {
                provider: "Redmine",
                operation: "story points (Redmine has no such field)",
            });
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("issues/{n}.json"), &json!({ "issue": issue }))
            .await?;
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
            Some(a) => json!(number(a, "user")?),
            None => json!(""),
        };
        let _: serde_json::Value = self
            .up
            .put(
                &format!("issues/{n}.json"),
                &json!({ "issue": { "assigned_to_id": value } }),
            )
            .await?;
        Ok(())
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "issue")?;
        let _: serde_json::Value = self.up.delete(&format!("issues/{n}.json")).await?;
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
                &json!({ "issue": { "notes": markdown } }),
            )
            .await?;
        // Redmine answers 204: read the journal back.
        let issue = self.issue(&n.to_string(), "journals").await?;
        issue
            .journals
            .into_iter()
            .rev()
            .find_map(map::comment)
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
            .filter_map(map::comment)
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
        Ok(Self::page_of(
            res.time_entries.into_iter().map(map::worklog).collect(),
            res.offset,
            res.total_count,
        ))
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        let n = number(task, "issue")?;
        let _: serde_json::Value = self
            .up
            .post(
                &format!("issues/{n}/watchers.json"),
                &json!({ "user_id": number(user, "user")? }),
            )
            .await?;
        Ok(())
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
        let _: serde_json::Value = self
            .up
            .post(&format!("issues/{from}/relations.json"), &body)
            .await?;
        Ok(())
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

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        let n = number(id, "user")?;
        let one: wire::UserOne = self
            .up
            .get(&format!("users/{n}.json"), &[])
            .await
            .map_err(|e| not_found(e, format!("Redmine user {n}")))?;
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
            .await?;
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
            .map_err(|e| not_found(e, format!("Redmine project {project}")))?;
        let all: Vec<Sprint> = res
            .versions
            .into_iter()
            .map(map::sprint)
            .filter(|s| states.is_empty() || states.contains(&s.state))
            .collect();
        cursor::slice(all, page)
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let one: wire::VersionOne = self
            .up
            .get(&format!("versions/{n}.json"), &[])
            .await
            .map_err(|e| not_found(e, format!("Redmine version {n}")))?;
        Ok(map::sprint(one.version))
    }

    async fn create_sprint(&self, s: &NewSprint) -> ProviderResult<Sprint> {
        let project = project_ref(&s.project)?;
        let mut v = json!({ "name": s.name.trim(), "status": "open" });
        if let Some(end) = s.end {
            v["due_date"] = json!(end.format("%Y-%m-%d").to_string());
        }
        if let Some(g) = &s.goal {
            v["description"] = json!(g);
        }
        let created: wire::VersionOne = self
            .up
            .post(
                &format!("projects/{project}/versions.json"),
                &json!({ "version": v }),
            )
            .await?;
        Ok(map::sprint(created.version))
    }

    async fn update_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let mut v = json!({});
        if let Some(name) = &c.name {
            v["name"] = json!(name.trim());
        }
        if let Some(g) = &c.goal {
            v["description"] = json!(g);
        }
        if let Some(end) = c.end {
            v["due_date"] = json!(end.format("%Y-%m-%d").to_string());
        }
        let _: serde_json::Value = self
            .up
            .put(&format!("versions/{n}.json"), &json!({ "version": v }))
            .await?;
        self.get_sprint(&n.to_string()).await
    }

    async fn start_sprint(&self, _id: &str, _c: &SprintChange) -> ProviderResult<Sprint> {
        Err(ProviderError::Unsupported {
            provider: "Redmine",
            operation: "starting a sprint (Redmine versions are open from creation)",
        })
    }

    async fn complete_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let _: serde_json::Value = self
            .up
            .put(
                &format!("versions/{n}.json"),
                &json!({ "version": { "status": "closed" } }),
            )
            .await?;
        self.get_sprint(&n.to_string()).await
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "version")?;
        let _: serde_json::Value = self.up.delete(&format!("versions/{n}.json")).await?;
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
