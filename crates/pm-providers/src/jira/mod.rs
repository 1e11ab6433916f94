//! Jira Cloud (REST v3, e-mail + API token as Basic) and Jira Data Center / Server (REST v2,
//! personal access token as Bearer, or Basic). One client; the edition picks the API version and
//! the paging style.
pub(crate) mod adf;
mod boards;
mod history;
pub mod jql;
mod map;
pub mod markdown;
pub mod wiki;
pub mod wire;

use async_trait::async_trait;
use base64::Engine as _;
use pm_core::{
    Assignee, Comment, ConnectionSpec, NewSprint, NewTask, Page, PageRequest, Project, Provider,
    ProviderError, ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState,
    Status, Task, TaskChange, TaskQuery, TaskType, Transition, User, Vocabulary, Worklog,
};
use pm_core::{Secret, SignIn};
use serde_json::json;

use crate::cursor;
use crate::http::{HttpSettings, Upstream};
use crate::ids::not_found;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    Cloud,
    DataCenter,
}

pub struct Jira {
    up: Upstream,
    edition: Edition,
    /// Custom field ids of this site, discovered once from `GET /field`.
    fields: tokio::sync::OnceCell<FieldIds>,
    /// The site's statuses by id, with their categories, read once (for history).
    statuses: tokio::sync::OnceCell<std::collections::HashMap<String, pm_core::Status>>,
    /// Issues this client changed lately, for Cloud searches to reconcile (see `Written`).
    written: std::sync::Mutex<Written>,
    /// The site's own base URL from `serverInfo`, for links (read once it answers).
    link_base: tokio::sync::OnceCell<String>,
    /// Each project's story points field, from its board's estimation (see `boards`).
    project_points: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

/// Issues this client wrote lately, so Cloud searches can ask for them consistently: Cloud's
/// search index lags writes ("Recent updates might not be immediately visible in the returned
/// search results"; `reconcileIssues`, at most 50 issue ids, makes a search see them — spec,
/// `POST /rest/api/3/search/jql`). Issue ids come from creates and from reads of the issue.
#[derive(Debug, Default)]
struct Written {
    /// Issue key → numeric id, from creates and reads.
    ids: std::collections::HashMap<String, u64>,
    /// Keys written, newest last, with when.
    recent: std::collections::VecDeque<(String, std::time::Instant)>,
}

/// How long a write is reconciled in searches (Cloud's index catches up within seconds).
const RECONCILE_FOR: std::time::Duration = std::time::Duration::from_secs(300);
/// `reconcileIssues` takes at most 50 ids.
const RECONCILE_MAX: usize = 50;
/// Issue ids kept for `reconcileIssues` (cleared past this: bounded memory per connection).
const ISSUE_IDS_KEPT: usize = 10_000;
/// Projects whose story points field is kept (cleared past this, then read again).
const PROJECT_POINTS_KEPT: usize = 1_000;

#[derive(Debug, Default)]
struct FieldIds {
    story_points: Option<String>,
    /// Every field that may hold a project's story points, the site's own first: a board may
    /// estimate with another one (see `boards`).
    points_candidates: Vec<String>,
    /// Data Center's Epic Link (an issue's epic; `parent` is a sub-task's only there) and Epic
    /// Name (required to create an epic), found by their Jira Software custom types.
    epic_link: Option<String>,
    epic_name: Option<String>,
    /// Jira Software's Sprint field (custom type gh-sprint): the bulk changelog filters by it.
    sprint: Option<String>,
    /// Every field's name by id: Data Center's changelogs name a project's points field.
    names: std::collections::HashMap<String, String>,
}

impl Jira {
    /// The client for a Jira Cloud or Data Center connection (the edition is the spec's kind).
    pub fn new(
        client: reqwest::Client,
        spec: &ConnectionSpec,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let edition = match spec.kind {
            ProviderKind::JiraCloud => Edition::Cloud,
            ProviderKind::JiraDataCenter => Edition::DataCenter,
            other => {
                return Err(ProviderError::BadInput(format!(
                    "a {other} connection is not a Jira one"
                )));
            }
        };
        let auth = match &spec.sign_in {
            SignIn::Basic { username, token } => {
                // Every text holding the secret on the way to the header is wiped after use.
                let pair = Secret::new(format!("{username}:{}", token.expose()));
                let encoded =
                    Secret::new(base64::engine::general_purpose::STANDARD.encode(pair.expose()));
                Secret::new(format!("Basic {}", encoded.expose()))
            }
            SignIn::Bearer(token) => Secret::new(format!("Bearer {}", token.expose())),
            SignIn::ApiKey(_) => {
                return Err(ProviderError::BadInput(
                    "Jira signs in with basic or bearer auth".into(),
                ));
            }
        };
        let auth = crate::http::credential(auth, "token")?;
        let base_url = spec.base_url.as_str();
        let name = match edition {
            Edition::Cloud => "Jira Cloud",
            Edition::DataCenter => "Jira Data Center",
        };
        let up = Upstream::new(
            client,
            base_url,
            "authorization",
            auth,
            name,
            map::error_text,
            settings,
        )?
        .with_header_text(map::denied_text);
        Ok(Self {
            up,
            edition,
            fields: tokio::sync::OnceCell::new(),
            statuses: tokio::sync::OnceCell::new(),
            written: std::sync::Mutex::default(),
            link_base: tokio::sync::OnceCell::new(),
            project_points: std::sync::Mutex::default(),
        })
    }

    fn api(&self, path: &str) -> String {
        match self.edition {
            Edition::Cloud => format!("rest/api/3/{path}"),
            Edition::DataCenter => format!("rest/api/2/{path}"),
        }
    }

    fn site_url(&self) -> String {
        self.up.base().as_str().trim_end_matches('/').to_string()
    }

    /// Where links to the site point: its own base URL from `serverInfo` (with a scoped token
    /// the connection's URL is Atlassian's gateway, `api.atlassian.com/ex/jira/{cloudId}`, where
    /// `/browse/KEY` is nothing), read once; the connection's URL while the site does not say.
    async fn links(&self) -> String {
        if let Some(b) = self.link_base.get() {
            return b.clone();
        }
        let base = match self
            .up
            .get::<wire::ServerInfo>(&self.api("serverInfo"), &[])
            .await
        {
            Ok(info) => info
                .base_url
                .filter(|b| {
                    url::Url::parse(b).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
                })
                .map(|b| b.trim_end_matches('/').to_string())
                .unwrap_or_else(|| self.site_url()),
            // The site will not say (a refusal, not a passing fault): the connection's URL.
            Err(
                ProviderError::Auth { .. }
                | ProviderError::Forbidden { .. }
                | ProviderError::NotFound { .. }
                | ProviderError::Invalid { .. },
            ) => self.site_url(),
            // Asked again on the next read.
            Err(_) => return self.site_url(),
        };
        let _ = self.link_base.set(base.clone());
        base
    }

    /// Notes a write to `key` (and its id when known), for searches to reconcile.
    fn wrote(&self, key: &str, id: Option<&str>) {
        let Ok(mut w) = self.written.lock() else {
            return;
        };
        if let Some(id) = id.and_then(|i| i.parse::<u64>().ok()) {
            if w.ids.len() > ISSUE_IDS_KEPT {
                w.ids.clear();
            }
            w.ids.insert(key.to_string(), id);
        }
        w.recent.retain(|(k, _)| k != key);
        w.recent
            .push_back((key.to_string(), std::time::Instant::now()));
        while w.recent.len() > RECONCILE_MAX {
            w.recent.pop_front();
        }
    }

    /// Notes an issue's numeric id seen on a read.
    fn saw(&self, key: &str, id: &str) {
        if let (Ok(mut w), Ok(id)) = (self.written.lock(), id.parse::<u64>()) {
            if w.ids.len() > ISSUE_IDS_KEPT {
                w.ids.clear();
            }
            w.ids.insert(key.to_string(), id);
        }
    }

    /// The ids of issues written in the last minutes, for `reconcileIssues`.
    pub(super) fn to_reconcile(&self) -> Vec<u64> {
        let Ok(mut w) = self.written.lock() else {
            return Vec::new();
        };
        w.recent.retain(|(_, at)| at.elapsed() < RECONCILE_FOR);
        w.recent
            .iter()
            .filter_map(|(k, _)| w.ids.get(k).copied())
            .collect()
    }
}

#[async_trait]
impl Provider for Jira {
    fn kind(&self) -> ProviderKind {
        match self.edition {
            Edition::Cloud => ProviderKind::JiraCloud,
            Edition::DataCenter => ProviderKind::JiraDataCenter,
        }
    }

    async fn whoami(&self) -> ProviderResult<User> {
        let me: wire::User = self.up.get(&self.api("myself"), &[]).await?;
        Ok(map::user(me))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        let info: wire::ServerInfo = self.up.get(&self.api("serverInfo"), &[]).await?;
        if let Some(b) = info
            .base_url
            .as_deref()
            .filter(|b| url::Url::parse(b).is_ok_and(|u| matches!(u.scheme(), "https" | "http")))
        {
            let _ = self.link_base.set(b.trim_end_matches('/').to_string());
        }
        let product = match info.deployment_type.as_deref() {
            Some("Cloud") => "Jira Cloud".to_string(),
            Some("DataCenter") => "Jira Data Center".to_string(),
            Some("Server") => "Jira Server".to_string(),
            _ => self.up.provider().to_string(),
        };
        Ok(SiteInfo {
            product,
            version: info.version,
            base_url: info.base_url.unwrap_or_else(|| self.site_url()),
            workspace_id: None,
        })
    }

    async fn list_projects(&self, page: &PageRequest) -> ProviderResult<Page<Project>> {
        self.projects(None, page).await
    }

    async fn search_projects(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let query = query.trim();
        if query.is_empty() {
            return Err(ProviderError::BadInput("the search text is empty".into()));
        }
        self.projects(Some(query), page).await
    }

    async fn search_tasks(
        &self,
        query: &TaskQuery,
        page: &PageRequest,
    ) -> ProviderResult<Page<Task>> {
        let jql = self.jql(query)?;
        self.search_jql(jql, page).await
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        self.read_task(id).await
    }

    async fn create_task(&self, t: &NewTask) -> ProviderResult<Task> {
        if t.title.trim().is_empty() {
            return Err(ProviderError::BadInput("a task needs a title".into()));
        }
        let mut fields = json!({
            "project": { "key": t.project },
            "summary": t.title.trim(),
            "issuetype": { "name": t.task_type.as_deref().unwrap_or("Task") },
        });
        if let Some(d) = t.description.as_deref().filter(|d| !d.trim().is_empty()) {
            fields["description"] = self.rich_text(d);
        }
        if let Some(a) = &t.assignee {
            fields["assignee"] = self.user_ref(a);
        }
        if let Some(p) = &t.priority {
            fields["priority"] = json!({ "name": p });
        }
        if let Some(d) = t.due_date {
            fields["duedate"] = json!(d.format("%Y-%m-%d").to_string());
        }
        let (epic_link, epic_name) = self.epic_fields().await?;
        let kind = t.task_type.as_deref().unwrap_or("Task");
        let subtask = kind.eq_ignore_ascii_case("sub-task") || kind.eq_ignore_ascii_case("subtask");
        if let Some(p) = &t.parent {
            // Data Center: `parent` is for sub-tasks; an epic is set through Epic Link.
            match epic_link.as_deref().filter(|_| !subtask) {
                Some(link) => fields[link] = json!(p),
                None => fields["parent"] = json!({ "key": p }),
            }
        }
        // Data Center requires an epic's Epic Name: the title.
        if let Some(name) = epic_name
            .as_deref()
            .filter(|_| kind.eq_ignore_ascii_case("epic"))
        {
            fields[name] = json!(t.title.trim());
        }
        if !t.labels.is_empty() {
            fields["labels"] = json!(t.labels);
        }
        // Story points go in the create itself and the sprint is checked first, so a task is
        // created with every argument honoured or not at all (Jira refuses a field that is not
        // on the create screen with 400, creating nothing).
        if let Some(points) = t.story_points {
            if !points.is_finite() || points < 0.0 {
                return Err(ProviderError::BadInput(
                    "story_points must be a number of 0 or more".into(),
                ));
            }
            let field = self.points_field_for(&t.project).await?.ok_or_else(|| {
                ProviderError::BadInput(
                    "this Jira site has no story points field, so story_points cannot be set; nothing was created".into(),
                )
            })?;
            fields[field] = json!(points);
        }
        let sprint = match t.sprint.as_deref() {
            Some(s) => {
                let sprint = self.get_sprint(s).await?;
                if sprint.state == SprintState::Closed {
                    return Err(ProviderError::BadInput(format!(
                        "sprint {} ({}) is closed; a task can join a future or active sprint; nothing was created",
                        sprint.id, sprint.name
                    )));
                }
                Some(sprint.id)
            }
            None => None,
        };
        let created: wire::Created = self
            .up
            .post(&self.api("issue"), &json!({ "fields": fields }))
            .await
            .map_err(|e| match e {
                // `{"errors": {"project": "Specify a valid project ID or key"}}`.
                ProviderError::Invalid { message, .. } if message.contains("project: ") => {
                    ProviderError::NotFound {
                        what: unknown_project(&t.project),
                    }
                }
                other => other,
            })?;
        self.wrote(&created.key, created.id.as_deref());
        if let Some(sprint) = sprint {
            let _: serde_json::Value = self
                .up
                .post(
                    &format!("rest/agile/1.0/sprint/{sprint}/issue"),
                    &json!({ "issues": [created.key] }),
                )
                .await?;
        }
        self.get_task(&created.key).await
    }

    fn creates_in_sprint(&self) -> bool {
        true
    }

    async fn check_transition(&self, id: &str, status: &str) -> ProviderResult<()> {
        self.plan_transition(&issue_key(id)?, status.trim())
            .await
            .map(|_| ())
    }

    async fn transition_task(&self, id: &str, status: &str) -> ProviderResult<Task> {
        let key = issue_key(id)?;
        let (current, body) = self.plan_transition(&key, status.trim()).await?;
        let Some(body) = body else {
            return Ok(current);
        };
        let _: serde_json::Value = self
            .up
            .post(&self.api(&format!("issue/{key}/transitions")), &body)
            .await?;
        self.wrote(&key, None);
        self.get_task(&key).await
    }

    async fn assign_task(&self, id: &str, assignee: Option<&str>) -> ProviderResult<()> {
        let key = issue_key(id)?;
        let body = match assignee {
            Some(a) => self.user_ref(a),
            None => match self.edition {
                Edition::Cloud => json!({ "accountId": null }),
                Edition::DataCenter => json!({ "name": null }),
            },
        };
        let _: serde_json::Value = self
            .up
            .put(&self.api(&format!("issue/{key}/assignee")), &body)
            .await
            .map_err(|e| unknown_user(e, assignee))?;
        self.wrote(&key, None);
        Ok(())
    }

    async fn add_comment(&self, task: &str, markdown: &str) -> ProviderResult<Comment> {
        let key = issue_key(task)?;
        if markdown.trim().is_empty() {
            return Err(ProviderError::BadInput("the comment is empty".into()));
        }
        let c: wire::Comment = self
            .up
            .post(
                &self.api(&format!("issue/{key}/comment")),
                &json!({ "body": self.rich_text(markdown) }),
            )
            .await?;
        Ok(map::comment(c))
    }

    async fn list_comments(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Comment>> {
        let key = issue_key(task)?;
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let q = [
            ("startAt", start.to_string()),
            ("maxResults", page.limit.to_string()),
            ("orderBy", "created".to_string()),
        ];
        let res: wire::Comments = self
            .up
            .get(&self.api(&format!("issue/{key}/comment")), &q)
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira issue {key}"))))?;
        let end = res.start_at + res.comments.len() as u64;
        let more = !res.comments.is_empty() && res.total.is_some_and(|t| end < t);
        Ok(Page {
            items: res.comments.into_iter().map(map::comment).collect(),
            next: more.then(|| cursor::encode_offset(end)),
        })
    }

    async fn log_work(
        &self,
        task: &str,
        seconds: i64,
        started: chrono::DateTime<chrono::Utc>,
        comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        let key = issue_key(task)?;
        if seconds < 60 {
            return Err(ProviderError::BadInput(
                "Jira records work in whole minutes; log at least one minute".into(),
            ));
        }
        let mut body = json!({
            "timeSpentSeconds": seconds,
            "started": started.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
        });
        if let Some(c) = comment.filter(|c| !c.trim().is_empty()) {
            body["comment"] = self.rich_text(c);
        }
        let w: wire::Worklog = self
            .up
            .post(&self.api(&format!("issue/{key}/worklog")), &body)
            .await?;
        Ok(map::worklog(w))
    }

    async fn list_worklogs(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Worklog>> {
        let key = issue_key(task)?;
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let q = [
            ("startAt", start.to_string()),
            ("maxResults", page.limit.to_string()),
        ];
        let res: wire::Worklogs = self
            .up
            .get(&self.api(&format!("issue/{key}/worklog")), &q)
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira issue {key}"))))?;
        let end = res.start_at + res.worklogs.len() as u64;
        let more = !res.worklogs.is_empty() && res.total.is_some_and(|t| end < t);
        Ok(Page {
            items: res.worklogs.into_iter().map(map::worklog).collect(),
            next: more.then(|| cursor::encode_offset(end)),
        })
    }

    async fn create_project(
        &self,
        name: &str,
        key: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ProviderError::BadInput("a project needs a name".into()));
        }
        let key = match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_ascii_uppercase(),
            None => project_key_from(name),
        };
        if key.len() < 2
            || key.len() > 10
            || !key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            || !key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(ProviderError::BadInput(format!(
                "{key:?} is not a Jira project key: 2-10 capital letters or digits, starting with a letter"
            )));
        }
        let me = self.whoami().await?;
        // Jira Software's Scrum template, so the project has a board and can have sprints at
        // once (without a template Jira makes no board; platform spec, `POST /project`).
        let template = match self.edition {
            Edition::Cloud => "com.pyxis.greenhopper.jira:gh-simplified-scrum-classic",
            Edition::DataCenter => "com.pyxis.greenhopper.jira:gh-scrum-template",
        };
        let mut body = json!({ "key": key, "name": name, "projectTypeKey": "software", "projectTemplateKey": template });
        match self.edition {
            Edition::Cloud => body["leadAccountId"] = json!(me.id),
            Edition::DataCenter => body["lead"] = json!(me.id),
        }
        if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
            body["description"] = json!(d);
        }
        let created: serde_json::Value = self.up.post(&self.api("project"), &body).await?;
        let key = created
            .get("key")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .unwrap_or(key);
        self.get_project(&key).await
    }

    async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let key = project_ref(id)?;
        let mut body = json!({});
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            body["name"] = json!(n);
        }
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let _: serde_json::Value = self
            .up
            .put(&self.api(&format!("project/{key}")), &body)
            .await?;
        self.get_project(&key).await
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        let key = project_ref(id)?;
        let _: serde_json::Value = self.up.delete(&self.api(&format!("project/{key}"))).await?;
        Ok(())
    }

    async fn update_task(&self, id: &str, c: &TaskChange) -> ProviderResult<Task> {
        let key = issue_key(id)?;
        let mut fields = serde_json::Map::new();
        if let Some(t) = c.title.as_deref().map(str::trim) {
            if t.is_empty() {
                return Err(ProviderError::BadInput("the title cannot be empty".into()));
            }
            fields.insert("summary".into(), json!(t));
        }
        if let Some(d) = &c.description {
            let value = if d.trim().is_empty() {
                serde_json::Value::Null
            } else {
                self.rich_text(d)
            };
            fields.insert("description".into(), value);
        }
        if let Some(p) = &c.priority {
            fields.insert("priority".into(), json!({ "name": p }));
        }
        if let Some(a) = &c.assignee {
            let value = match a {
                Some(id) => self.user_ref(id),
                None => serde_json::Value::Null,
            };
            fields.insert("assignee".into(), value);
        }
        if let Some(d) = c.due_date {
            fields.insert("duedate".into(), json!(d.format("%Y-%m-%d").to_string()));
        }
        if let Some(l) = &c.labels {
            fields.insert("labels".into(), json!(l));
        }
        let mut timetracking = serde_json::Map::new();
        for (hours, name, arg) in [
            (c.estimated_hours, "originalEstimate", "estimated_hours"),
            (c.remaining_hours, "remainingEstimate", "remaining_hours"),
        ] {
            if let Some(h) = hours {
                if !(0.0..=10_000.0).contains(&h) {
                    return Err(ProviderError::BadInput(format!(
                        "{arg} must be between 0 and 10000"
                    )));
                }
                timetracking.insert(
                    name.into(),
                    json!(format!("{}m", (h * 60.0).round() as i64)),
                );
            }
        }
        if !timetracking.is_empty() {
            fields.insert(
                "timetracking".into(),
                serde_json::Value::Object(timetracking),
            );
        }
        if let Some(points) = c.story_points {
            let field = self
                .points_field_for(&self.project_of(&key).await?)
                .await?
                .ok_or_else(|| {
                    ProviderError::BadInput(
                        "this Jira site has no story points field, so story_points cannot be set"
                            .into(),
                    )
                })?;
            fields.insert(field, json!(points));
        }
        if !fields.is_empty() {
            let _: serde_json::Value = self
                .up
                .put(
                    &self.api(&format!("issue/{key}")),
                    &json!({ "fields": fields }),
                )
                .await?;
        }
        if let Some(sprint) = &c.sprint {
            let sprint = sprint_id(sprint)?;
            let _: serde_json::Value = self
                .up
                .post(
                    &format!("rest/agile/1.0/sprint/{sprint}/issue"),
                    &json!({ "issues": [key] }),
                )
                .await?;
        }
        self.wrote(&key, None);
        self.read_task(&key).await
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        let key = issue_key(id)?;
        let _: serde_json::Value = self.up.delete(&self.api(&format!("issue/{key}"))).await?;
        self.wrote(&key, None);
        Ok(())
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        let key = issue_key(task)?;
        // The body is the bare account id (Cloud) or user name (DC) as a JSON string.
        let _: serde_json::Value = self
            .up
            .post(
                &self.api(&format!("issue/{key}/watchers")),
                &json!(user.trim()),
            )
            .await
            .map_err(|e| unknown_user(e, Some(user.trim())))?;
        Ok(())
    }

    async fn link_tasks(&self, from: &str, to: &str, link_type: &str) -> ProviderResult<()> {
        let (from, to) = (issue_key(from)?, issue_key(to)?);
        let body = json!({ "type": { "name": link_type.trim() }, "inwardIssue": { "key": from }, "outwardIssue": { "key": to } });
        let _: serde_json::Value = self.up.post(&self.api("issueLink"), &body).await?;
        Ok(())
    }

    async fn list_users(&self, query: &str, page: &PageRequest) -> ProviderResult<Page<User>> {
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let name = match self.edition {
            Edition::Cloud => "query",
            Edition::DataCenter => "username",
        };
        // Data Center's `username` is required and matches nothing when empty; `.` matches
        // every user (Atlassian KB, "How to get all users using the Jira REST API").
        let text = match (self.edition, query.trim()) {
            (Edition::DataCenter, "") => ".".to_string(),
            (_, t) => t.to_string(),
        };
        let q = [
            (name, text),
            ("startAt", start.to_string()),
            ("maxResults", page.limit.to_string()),
        ];
        let users: Vec<wire::User> = self.up.get(&self.api("user/search"), &q).await?;
        let got = users.len() as u64;
        Ok(Page {
            items: users.into_iter().map(map::user).collect(),
            next: (got > 0 && got == u64::from(page.limit))
                .then(|| cursor::encode_offset(start + got)),
        })
    }

    async fn list_project_members(
        &self,
        project: &str,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<User>> {
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let project = project.trim();
        if project.is_empty() {
            return Err(ProviderError::BadInput("the project id is empty".into()));
        }
        let mut q = vec![
            ("project", project.to_string()),
            ("startAt", start.to_string()),
            ("maxResults", page.limit.to_string()),
        ];
        // Cloud wants `query` (or `accountId`) present; an empty one matches everyone. Data
        // Center's `username` is optional here.
        match (self.edition, query.trim()) {
            (Edition::Cloud, t) => q.push(("query", t.to_string())),
            (Edition::DataCenter, "") => {}
            (Edition::DataCenter, t) => q.push(("username", t.to_string())),
        }
        let users: Vec<wire::User> = self
            .up
            .get(&self.api("user/assignable/search"), &q)
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira project {project}"))))?;
        let got = users.len() as u64;
        Ok(Page {
            items: users.into_iter().map(map::user).collect(),
            next: (got > 0 && got == u64::from(page.limit))
                .then(|| cursor::encode_offset(start + got)),
        })
    }

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        let name = match self.edition {
            Edition::Cloud => "accountId",
            // The id pm-mcp gives a DC user is the username.
            Edition::DataCenter => "username",
        };
        let u: wire::User = self
            .up
            .get(&self.api("user"), &[(name, id.trim().to_string())])
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira user {id}"))))?;
        Ok(map::user(u))
    }

    async fn list_epics(&self, project: &str, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let jql = jql::Jql::new()
            .eq("project", project)
            .eq("issuetype", "Epic")
            .build("created DESC");
        self.search_jql(jql, page).await
    }

    async fn set_epic(&self, task: &str, epic: Option<&str>) -> ProviderResult<()> {
        let key = issue_key(task)?;
        // Cloud: an issue's epic is its `parent`, in company- and team-managed projects alike
        // (the Agile epic operations refuse team-managed ones; `parent: null` clears it).
        if self.edition == Edition::Cloud {
            let parent = match epic {
                Some(e) => json!({ "key": issue_key(e)? }),
                None => serde_json::Value::Null,
            };
            let _: serde_json::Value = self
                .up
                .put(
                    &self.api(&format!("issue/{key}")),
                    &json!({ "fields": { "parent": parent } }),
                )
                .await
                .map_err(|e| match e {
                    // "Given parent issue does not belong to appropriate hierarchy."
                    ProviderError::Invalid { message, .. } if message.contains("hierarchy") => {
                        ProviderError::BadInput(format!(
                            "{} is not an epic, so {key} cannot go under it (Jira: {message}); list_epics names the epics",
                            epic.unwrap_or_default()
                        ))
                    }
                    other => not_found(other, format!("Jira issue {key}")),
                })?;
            return Ok(());
        }
        // Data Center: `parent` is a sub-task's only; the Agile API sets the Epic Link.
        let target = match epic {
            Some(e) => issue_key(e)?,
            None => "none".to_string(),
        };
        let _: serde_json::Value = self
            .up
            .post(
                &format!("rest/agile/1.0/epic/{target}/issue"),
                &json!({ "issues": [key] }),
            )
            .await?;
        self.wrote(&key, None);
        Ok(())
    }

    async fn list_sprints(
        &self,
        project: &str,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        // The board's note is for list_sprints' caller (list_board_sprints), not for analytics.
        let mut page = self.list_board_sprints(project, None, states, page).await?;
        for s in &mut page.items {
            s.notes.clear();
        }
        Ok(page)
    }

    async fn list_board_sprints(
        &self,
        project: &str,
        board: Option<&str>,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        let chosen = self.choose_board(project, board).await?;
        self.board_sprints(chosen, project, states, page).await
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let id = sprint_id(id)?;
        let s: wire::Sprint = self
            .up
            .get(&format!("rest/agile/1.0/sprint/{id}"), &[])
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira sprint {id}"))))?;
        Ok(map::sprint(s))
    }

    async fn create_sprint(&self, s: &NewSprint) -> ProviderResult<Sprint> {
        self.create_board_sprint(s, None).await
    }

    async fn create_board_sprint(
        &self,
        s: &NewSprint,
        board: Option<&str>,
    ) -> ProviderResult<Sprint> {
        if s.name.trim().is_empty() {
            return Err(ProviderError::BadInput("a sprint needs a name".into()));
        }
        let chosen = self.choose_board(&s.project, board).await?;
        let mut body = json!({ "name": s.name.trim(), "originBoardId": chosen.board.id });
        if let Some(d) = s.start {
            body["startDate"] = json!(jira_time(d));
        }
        if let Some(d) = s.end {
            body["endDate"] = json!(jira_time(d));
        }
        if let Some(g) = &s.goal {
            body["goal"] = json!(g);
        }
        let created: wire::Sprint = self.up.post("rest/agile/1.0/sprint", &body).await?;
        let mut sprint = map::sprint(created);
        sprint.notes.extend(chosen.note);
        Ok(sprint)
    }

    async fn update_sprint(&self, id: &str, change: &SprintChange) -> ProviderResult<Sprint> {
        let id = sprint_id(id)?;
        let body = sprint_changes(change, None);
        let s: wire::Sprint = self
            .up
            .post(&format!("rest/agile/1.0/sprint/{id}"), &body)
            .await?;
        Ok(map::sprint(s))
    }

    async fn start_sprint(&self, id: &str, change: &SprintChange) -> ProviderResult<Sprint> {
        let current = self.get_sprint(id).await?;
        if current.state != SprintState::Future {
            return Err(ProviderError::BadInput(
                format!(
                    "sprint {} is {:?}; only a future sprint can be started",
                    current.name, current.state
                )
                .to_lowercase(),
            ));
        }
        let (start, end) = (
            change.start.or(current.start_date),
            change.end.or(current.end_date),
        );
        let (Some(start), Some(end)) = (start, end) else {
            return Err(ProviderError::BadInput(
                "starting a sprint needs start_date and end_date (the sprint has none yet)".into(),
            ));
        };
        let change = SprintChange {
            start: Some(start),
            end: Some(end),
            ..change.clone()
        };
        let body = sprint_changes(&change, Some("active"));
        let s: wire::Sprint = self
            .up
            .post(&format!("rest/agile/1.0/sprint/{}", sprint_id(id)?), &body)
            .await?;
        Ok(map::sprint(s))
    }

    fn completes_sprints(&self) -> bool {
        true
    }

    async fn complete_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let current = self.get_sprint(id).await?;
        if current.state != SprintState::Active {
            return Err(ProviderError::BadInput(format!(
                "sprint {} is not active; only the active sprint can be completed",
                current.name
            )));
        }
        // Jira sends a completed sprint's unfinished issues back to the backlog: counted first,
        // and said in the result.
        let id = sprint_id(id)?;
        let (open, keys) = self.unfinished(id, current.board_id.as_deref()).await?;
        let s: wire::Sprint = self
            .up
            .post(
                &format!("rest/agile/1.0/sprint/{id}"),
                &json!({ "state": "closed" }),
            )
            .await?;
        let mut sprint = map::sprint(s);
        if open > 0 {
            let more = if open > keys.len() as u64 {
                ", …"
            } else {
                ""
            };
            sprint.notes.push(format!(
                "{open} unfinished task(s) went back to the backlog, as Jira does when a sprint is completed: {}{more}; update_task with sprint_id moves them into another sprint",
                keys.join(", ")
            ));
        }
        Ok(sprint)
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        let id = sprint_id(id)?;
        let _: serde_json::Value = self
            .up
            .delete(&format!("rest/agile/1.0/sprint/{id}"))
            .await?;
        Ok(())
    }

    async fn sprint_history(
        &self,
        sprint: &str,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let id = sprint_id(sprint)?;
        let jql = jql::Jql::new()
            .eq("sprint", &id.to_string())
            .build("created ASC");
        let mut history = self.history(&[jql], max_items).await?;
        self.add_removed_items(&mut history, id, max_items).await?;
        Ok(history)
    }

    async fn project_history(
        &self,
        project: &str,
        since: chrono::DateTime<chrono::Utc>,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let p = project_ref(project)?;
        let open = jql::Jql::new()
            .eq("project", &p)
            .raw("statusCategory != Done")
            .build("created ASC");
        let done = jql::Jql::new()
            .eq("project", &p)
            .raw("statusCategory = Done")
            .eq_op("updated", ">=", &since.format("%Y-%m-%d").to_string())
            .build("created ASC");
        self.history(&[open, done], max_items).await
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let p: wire::Project = self
            .up
            .get(&self.api(&format!("project/{id}")), &[])
            .await
            .map_err(|e| not_found(e, hidden(unknown_project(&id))))?;
        Ok(map::project(p, &self.links().await))
    }

    async fn project_vocabulary(
        &self,
        project: &str,
        task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        let key = project_ref(project)?;
        let types: Vec<wire::IssueTypeStatuses> = self
            .up
            .get(&self.api(&format!("project/{key}/statuses")), &[])
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira project {key}"))))?;
        // Each issue type has its workflow's statuses; the project's are their union, in the
        // order they first appear. A status without its category takes the site's.
        let mut statuses: Vec<Status> = Vec::new();
        for s in types.iter().flat_map(|t| &t.statuses) {
            let name = s.name.clone().unwrap_or_else(|| s.id.clone());
            if statuses.iter().any(|x| x.name == name) {
                continue;
            }
            let status = match s.status_category.as_ref().and_then(|c| c.key.as_deref()) {
                Some(k) => Status {
                    name,
                    category: history::category(Some(k)),
                },
                None => {
                    let table = self.status_table().await?;
                    let mut found = history::status_of(Some(&s.id), Some(&name), table);
                    found.name = name;
                    found
                }
            };
            statuses.push(status);
        }
        let priorities: Vec<wire::Named> = self.up.get(&self.api("priority"), &[]).await?;
        let task_types: Vec<TaskType> = types
            .iter()
            .map(|t| TaskType {
                name: t.name.clone(),
                // As list_epics and create_task name them.
                is_epic: t.name.eq_ignore_ascii_case("Epic"),
                is_default: t.name.eq_ignore_ascii_case("Task"),
            })
            .collect();
        let mut notes = vec![
            "priorities are the site's list; the project's priority scheme may offer fewer"
                .to_string(),
        ];
        let subtasks: Vec<&str> = types
            .iter()
            .filter(|t| t.subtask)
            .map(|t| t.name.as_str())
            .collect();
        if !subtasks.is_empty() {
            notes.push(format!(
                "sub-task types need a parent task: {}",
                subtasks.join(", ")
            ));
        }
        if !task_types.iter().any(|t| t.is_default) {
            notes.push("the project has no Task type: give task_type to create_task".into());
        }
        let transitions = match task {
            Some(t) => {
                let key = issue_key(t)?;
                let available: wire::Transitions = self
                    .up
                    .get(&self.api(&format!("issue/{key}/transitions")), &[])
                    .await
                    .map_err(|e| not_found(e, hidden(format!("Jira issue {key}"))))?;
                Some(
                    available
                        .transitions
                        .into_iter()
                        .filter_map(|t| {
                            let to = t.to.and_then(|s| s.name).or(t.name.clone())?;
                            Some(Transition {
                                to_status: to,
                                name: t.name,
                            })
                        })
                        .collect(),
                )
            }
            None => None,
        };
        Ok(Vocabulary {
            statuses,
            priorities: priorities.into_iter().filter_map(|p| p.name).collect(),
            task_types,
            transitions,
            notes,
        })
    }
}

impl Jira {
    /// The project of an issue: the key's prefix (`EX-3` → `EX`), or read for an issue id.
    async fn project_of(&self, key: &str) -> ProviderResult<String> {
        if let Some((p, n)) = key.rsplit_once('-')
            && !p.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
        {
            return Ok(p.to_string());
        }
        let issue: wire::Issue = self
            .up
            .get(
                &self.api(&format!("issue/{key}")),
                &[("fields", "project".to_string())],
            )
            .await
            .map_err(|e| not_found(e, format!("Jira issue {key}")))?;
        issue
            .fields
            .project
            .and_then(|p| p.key)
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("the project of Jira issue {key}"),
            })
    }
}

/// The fields a task needs (asking for only these keeps searches small), plus the site's own
/// ones it has: story points, and Epic Link on Data Center.
fn issue_fields(custom: &[String]) -> Vec<String> {
    ISSUE_FIELDS
        .iter()
        .map(|f| f.to_string())
        .chain(custom.iter().cloned())
        .collect()
}

const ISSUE_FIELDS: [&str; 13] = [
    "summary",
    "description",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "reporter",
    "project",
    "parent",
    "duedate",
    "labels",
    "created",
    "updated",
];

fn sprint_state(s: SprintState) -> &'static str {
    match s {
        SprintState::Future => "future",
        SprintState::Active => "active",
        SprintState::Closed => "closed",
    }
}

/// Jira's sprint dates: `2026-12-01T09:00:00.000Z`.
fn jira_time(d: chrono::DateTime<chrono::Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn sprint_changes(c: &SprintChange, state: Option<&str>) -> serde_json::Value {
    let mut body = json!({});
    if let Some(n) = c.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        body["name"] = json!(n);
    }
    if let Some(g) = &c.goal {
        body["goal"] = json!(g);
    }
    if let Some(d) = c.start {
        body["startDate"] = json!(jira_time(d));
    }
    if let Some(d) = c.end {
        body["endDate"] = json!(jira_time(d));
    }
    if let Some(s) = state {
        body["state"] = json!(s);
    }
    body
}

/// A sprint id: a number.
pub(crate) fn sprint_id(id: &str) -> ProviderResult<u64> {
    id.trim()
        .parse::<u64>()
        .map_err(|_| ProviderError::BadInput(format!("{id:?} is not a Jira sprint id (a number)")))
}

/// A project key or id, checked so it can go into a URL path.
pub(crate) fn project_ref(id: &str) -> ProviderResult<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ProviderError::BadInput(format!(
            "{id:?} is not a Jira project key or id"
        )));
    }
    Ok(id.to_string())
}

/// A project key from a name: the initials of its words, or its first letters; `PROJ` when the
/// name has no ASCII letter or digit. Jira wants an upper-case letter and at least one more
/// letter or digit.
pub(crate) fn project_key_from(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let initials: String = words
        .iter()
        .filter_map(|w| w.chars().next())
        .filter(char::is_ascii_alphabetic)
        .collect();
    let key = if initials.len() >= 2 {
        initials
    } else {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(4)
            .collect()
    };
    let key: String = key.to_ascii_uppercase().chars().take(10).collect();
    let key = if key.is_empty() {
        "PROJ".to_string()
    } else if key.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        key
    } else {
        format!("P{key}").chars().take(10).collect()
    };
    if key.len() < 2 {
        format!("{key}X")
    } else {
        key
    }
}

/// An issue key or id, checked so it can go into a URL path.
pub(crate) fn issue_key(id: &str) -> ProviderResult<String> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ProviderError::BadInput(format!(
            "{id:?} is not a Jira issue key (like PROJ-42) or id"
        )));
    }
    Ok(id.to_string())
}

/// The values a transition's screen requires: the resolution is filled (Done where the screen
/// offers it, else its first choice, as Jira's own resolve screen preselects); any other required
/// field without a default is refused in words, naming it and its choices, before anything moves.
fn screen_fields(
    key: &str,
    to: &str,
    screen: &serde_json::Map<String, serde_json::Value>,
) -> ProviderResult<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    let mut missing = Vec::new();
    for (id, meta) in screen {
        let Ok(f) = serde_json::from_value::<wire::ScreenField>(meta.clone()) else {
            continue;
        };
        if !f.required || f.has_default_value {
            continue;
        }
        let label = |v: &serde_json::Value| {
            v.get("name")
                .or_else(|| v.get("value"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        if id == "resolution" {
            let names: Vec<String> = f.allowed_values.iter().filter_map(label).collect();
            let pick = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case("Done"))
                .or(names.first());
            if let Some(name) = pick {
                out.insert(id.clone(), json!({ "name": name }));
                continue;
            }
        }
        let name = f.name.unwrap_or_else(|| id.clone());
        let choices: Vec<String> = f.allowed_values.iter().filter_map(label).collect();
        missing.push(if choices.is_empty() {
            name
        } else {
            format!("{name} (one of: {})", choices.join(", "))
        });
    }
    if missing.is_empty() {
        return Ok(out);
    }
    Err(ProviderError::BadInput(format!(
        "moving {key} to {to:?} needs {} on Jira's transition screen, which update_task_status cannot fill; make the move in Jira; nothing was changed",
        missing.join(" and ")
    )))
}

/// Jira's 400 for a user it does not know ("User 'x' does not exist.") as a not-found naming
/// the user.
fn unknown_user(e: ProviderError, user: Option<&str>) -> ProviderError {
    match (&e, user) {
        (ProviderError::Invalid { message, .. }, Some(u)) if message.contains("does not exist") => {
            ProviderError::NotFound {
                what: format!("Jira user {u}"),
            }
        }
        _ => e,
    }
}

/// A thing a read did not find, said as Jira means its 404: Jira answers the same for what does
/// not exist and for what this account may not browse ("Issue does not exist or you do not have
/// permission to see it.").
fn hidden(what: String) -> String {
    format!("{what} visible to this account")
}

/// How an unknown project is named in errors (the tool layer adds where to look: list_projects).
fn unknown_project(key: &str) -> String {
    format!("Jira project {key}")
}

/// Jira refuses a query whose values name nothing on the site with 400 and "The value 'NOPE'
/// does not exist for the field 'project'." — that is a not-found of the thing named, said so.
fn jql_refusal(e: ProviderError) -> ProviderError {
    let ProviderError::Invalid { message, .. } = &e else {
        return e;
    };
    let Some(rest) = message.split("The value '").nth(1) else {
        return e;
    };
    let Some((value, rest)) = rest.split_once("' does not exist for the field '") else {
        return e;
    };
    let field = rest.split('\'').next().unwrap_or("").to_ascii_lowercase();
    let what = match field.as_str() {
        "project" => unknown_project(value),
        "sprint" => format!("Jira sprint {value}"),
        "assignee" | "reporter" => format!("Jira user {value}"),
        "issuetype" | "type" => format!("Jira issue type {value}"),
        "status" => format!("Jira status {value}"),
        _ => return e,
    };
    ProviderError::NotFound { what }
}

impl Jira {
    /// Markdown as the edition's rich text: ADF on Cloud, wiki markup on Data Center.
    fn rich_text(&self, markdown: &str) -> serde_json::Value {
        match self.edition {
            Edition::Cloud => markdown::to_adf(markdown),
            Edition::DataCenter => json!(markdown::to_wiki(markdown)),
        }
    }

    /// A user reference as the edition names users: account id (Cloud), user name (DC).
    fn user_ref(&self, id: &str) -> serde_json::Value {
        match self.edition {
            Edition::Cloud => json!({ "accountId": id }),
            Edition::DataCenter => json!({ "name": id }),
        }
    }

    /// Runs a JQL search, a page at a time (Cloud: token paging; DC: offsets).
    async fn search_jql(&self, jql: String, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let points = self.story_points_field().await?;
        let (epic_link, _) = self.epic_fields().await?;
        let fields = issue_fields(&self.points_fields(epic_link.as_deref()));
        let site = self.links().await;
        match self.edition {
            Edition::Cloud => {
                let mut body = json!({ "jql": jql, "maxResults": page.limit, "fields": fields });
                if let Some(token) = cursor::decode_token(page.cursor.as_deref())? {
                    body["nextPageToken"] = json!(token);
                }
                let recent = self.to_reconcile();
                if !recent.is_empty() {
                    body["reconcileIssues"] = json!(recent);
                }
                let res: wire::JqlPage = self
                    .up
                    .post_read(&self.api("search/jql"), &body)
                    .await
                    .map_err(jql_refusal)?;
                for i in &res.issues {
                    self.saw(&i.key, &i.id);
                }
                let next = match (res.is_last, res.next_page_token) {
                    (Some(true), _) | (_, None) => None,
                    (_, Some(token)) => Some(cursor::encode_token(&token)),
                };
                Ok(Page {
                    items: res
                        .issues
                        .into_iter()
                        .map(|i| self.to_task(i, &site, points.as_deref(), epic_link.as_deref()))
                        .collect(),
                    next,
                })
            }
            Edition::DataCenter => {
                let start = cursor::decode_offset(page.cursor.as_deref())?;
                let body = json!({ "jql": jql, "startAt": start, "maxResults": page.limit, "fields": fields });
                let res: wire::SearchPage = self
                    .up
                    .post_read(&self.api("search"), &body)
                    .await
                    .map_err(jql_refusal)?;
                let end = res.start_at + res.issues.len() as u64;
                let more = !res.issues.is_empty() && res.total.is_some_and(|t| end < t);
                Ok(Page {
                    items: res
                        .issues
                        .into_iter()
                        .map(|i| self.to_task(i, &site, points.as_deref(), epic_link.as_deref()))
                        .collect(),
                    next: more.then(|| cursor::encode_offset(end)),
                })
            }
        }
    }

    async fn read_task(&self, id: &str) -> ProviderResult<Task> {
        let id = id.trim();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ProviderError::BadInput(format!(
                "{id:?} is not a Jira issue key (like PROJ-42) or id"
            )));
        }
        let points = self.story_points_field().await?;
        let (epic_link, _) = self.epic_fields().await?;
        let fields = issue_fields(&self.points_fields(epic_link.as_deref())).join(",");
        let issue: wire::Issue = self
            .up
            .get(&self.api(&format!("issue/{id}")), &[("fields", fields)])
            .await
            .map_err(|e| not_found(e, hidden(format!("Jira issue {id}"))))?;
        self.saw(&issue.key, &issue.id);
        let site = self.links().await;
        Ok(self.to_task(issue, &site, points.as_deref(), epic_link.as_deref()))
    }

    /// The transition that moves issue `key` to `wanted`, with the values its screen requires,
    /// as the body to post (`None` when the issue is there already); refused in words, before
    /// anything moves, when no transition leads there or its screen requires what cannot be
    /// filled.
    async fn plan_transition(
        &self,
        key: &str,
        wanted: &str,
    ) -> ProviderResult<(Task, Option<serde_json::Value>)> {
        let current = self.get_task(key).await?;
        if current.status.name.eq_ignore_ascii_case(wanted) {
            return Ok((current, None));
        }
        // The transitions with their screens' fields: a move may require some (platform spec,
        // `GET /issue/{issueIdOrKey}/transitions`, `expand=transitions.fields`).
        let available: wire::Transitions = self
            .up
            .get(
                &self.api(&format!("issue/{key}/transitions")),
                &[("expand", "transitions.fields".to_string())],
            )
            .await?;
        let target = |t: &wire::Transition| {
            t.to.as_ref()
                .and_then(|s| s.name.clone())
                .or(t.name.clone())
                .unwrap_or_default()
        };
        let chosen = available.transitions.iter().find(|t| {
            target(t).eq_ignore_ascii_case(wanted)
                || t.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        });
        let Some(chosen) = chosen else {
            let reachable: Vec<String> = available.transitions.iter().map(target).collect();
            return Err(ProviderError::BadInput(format!(
                "{key} is in {:?} and no transition leads to {wanted:?}; it can move to: {}",
                current.status.name,
                if reachable.is_empty() {
                    "nothing (no transitions available to this account)".into()
                } else {
                    reachable.join(", ")
                }
            )));
        };
        let fields = screen_fields(key, &target(chosen), &chosen.fields)?;
        let mut body = json!({ "transition": { "id": chosen.id } });
        if !fields.is_empty() {
            body["fields"] = serde_json::Value::Object(fields);
        }
        Ok((current, Some(body)))
    }

    /// The id of the site's story points field, if it has one (looked up once, then cached).
    async fn story_points_field(&self) -> ProviderResult<Option<String>> {
        let ids = self
            .fields
            .get_or_try_init(|| async {
                let all: Vec<wire::Field> = match self.up.get(&self.api("field"), &[]).await {
                    Ok(fields) => fields,
                    // A site that hides its field list still serves tasks, just without story points.
                    Err(e @ (ProviderError::Auth { .. } | ProviderError::RateLimited { .. } | ProviderError::Timeout { .. } | ProviderError::Network { .. } | ProviderError::Blocked { .. } | ProviderError::Unavailable { .. })) => {
                        return Err(e);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list the Jira site's fields; story points are not available");
                        Vec::new()
                    }
                };
                // Jira Software's own type first (Cloud's "Story point estimate"), then the names
                // sites give it (Data Center's "Story Points" is a plain number field): sites
                // often have both fields, and a name alone does not say which one boards use.
                let named = |name: &str| {
                    all.iter()
                        .find(|f| f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                };
                let candidates: Vec<&wire::Field> = all
                    .iter()
                    .filter(|f| f.schema.as_ref().and_then(|s| s.custom.as_deref()) == Some("com.pyxis.greenhopper.jira:jsw-story-points"))
                    .take(1)
                    .chain(named("Story Points"))
                    .chain(named("Story point estimate"))
                    .collect();
                let found = candidates.first().copied();
                let mut points_candidates: Vec<String> = Vec::new();
                for f in &candidates {
                    if !points_candidates.contains(&f.id) {
                        points_candidates.push(f.id.clone());
                    }
                }
                let typed = |kind: &str| {
                    all.iter()
                        .find(|f| f.schema.as_ref().and_then(|s| s.custom.as_deref()) == Some(kind))
                        .map(|f| f.id.clone())
                };
                let dc = self.edition == Edition::DataCenter;
                Ok::<_, ProviderError>(FieldIds {
                    story_points: found.map(|f| f.id.clone()),
                    points_candidates,
                    epic_link: typed("com.pyxis.greenhopper.jira:gh-epic-link").filter(|_| dc),
                    epic_name: typed("com.pyxis.greenhopper.jira:gh-epic-label").filter(|_| dc),
                    sprint: typed("com.pyxis.greenhopper.jira:gh-sprint"),
                    names: all
                        .iter()
                        .filter_map(|f| Some((f.id.clone(), f.name.clone()?)))
                        .collect(),
                })
            })
            .await?;
        Ok(ids.story_points.clone())
    }

    /// Data Center's Epic Link and Epic Name field ids, when the site has them.
    async fn epic_fields(&self) -> ProviderResult<(Option<String>, Option<String>)> {
        self.story_points_field().await?;
        Ok(self
            .fields
            .get()
            .map(|f| (f.epic_link.clone(), f.epic_name.clone()))
            .unwrap_or_default())
    }

    /// A task from an issue; on Data Center an issue's epic (Epic Link) is its parent.
    fn to_task(
        &self,
        mut i: wire::Issue,
        site: &str,
        points: Option<&str>,
        epic_link: Option<&str>,
    ) -> Task {
        let epic = epic_link
            .and_then(|f| i.fields.extra.remove(f))
            .and_then(|v| v.as_str().map(str::to_string));
        let points = self.points_of_issue(&i, points);
        let mut t = map::task(i, site, points.as_deref());
        if t.parent_id.is_none() {
            t.parent_id = epic;
        }
        t
    }

    /// The site's Sprint field id, when it has Jira Software.
    async fn sprint_field(&self) -> ProviderResult<Option<String>> {
        self.story_points_field().await?;
        Ok(self.fields.get().and_then(|f| f.sprint.clone()))
    }

    /// The JQL for a task query; every user value quoted (see `jql`).
    fn jql(&self, q: &TaskQuery) -> ProviderResult<String> {
        let mut jql = jql::Jql::new();
        if let Some(p) = &q.project {
            jql = jql.eq("project", p);
        }
        if let Some(s) = &q.sprint {
            if !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(ProviderError::BadInput(format!(
                    "{s:?} is not a Jira sprint id (a number)"
                )));
            }
            jql = jql.eq("sprint", s);
        }
        match &q.assignee {
            Some(Assignee::Me) => jql = jql.raw("assignee = currentUser()"),
            Some(Assignee::Nobody) => jql = jql.raw("assignee is EMPTY"),
            Some(Assignee::User(u)) => jql = jql.eq("assignee", u),
            None => {}
        }
        if !q.statuses.is_empty() {
            let names: Vec<&str> = q.statuses.iter().map(String::as_str).collect();
            jql = jql.one_of("status", &names);
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            jql = jql.text(t);
        }
        // Cloud's `search/jql` refuses a query without a restriction (spec: "this parameter
        // requires a bounded query"); ask for one in words rather than send it.
        if jql.is_empty() && self.edition == Edition::Cloud {
            return Err(ProviderError::BadInput(
                "Jira Cloud does not search all issues at once: name a project, sprint, assignee, status or search text".into(),
            ));
        }
        Ok(jql.build("updated DESC"))
    }

    /// Cloud pages on the server (`project/search`); Data Center lists every project at once
    /// (`project`), so pm-mcp pages that list itself.
    async fn projects(
        &self,
        query: Option<&str>,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let site = self.links().await;
        match self.edition {
            Edition::Cloud => {
                let mut q = vec![
                    ("startAt", start.to_string()),
                    ("maxResults", page.limit.to_string()),
                    ("orderBy", "key".to_string()),
                    // Lists show the description (list_projects' search looks in it).
                    ("expand", "description".to_string()),
                ];
                if let Some(text) = query {
                    q.push(("query", text.to_string()));
                }
                let bean: wire::PageBean<wire::Project> =
                    self.up.get(&self.api("project/search"), &q).await?;
                let got = bean.values.len() as u64;
                let last = bean.is_last.unwrap_or(got == 0)
                    || bean.total.is_some_and(|t| bean.start_at + got >= t);
                Ok(Page {
                    items: bean
                        .values
                        .into_iter()
                        .map(|p| map::project(p, &site))
                        .collect(),
                    next: (!last && got > 0).then(|| cursor::encode_offset(bean.start_at + got)),
                })
            }
            Edition::DataCenter => {
                let all: Vec<wire::Project> = self
                    .up
                    .get(&self.api("project"), &[("expand", "description".into())])
                    .await?;
                let needle = query.map(str::to_lowercase);
                let matching: Vec<wire::Project> = all
                    .into_iter()
                    .filter(|p| {
                        needle.as_ref().is_none_or(|n| {
                            p.name.to_lowercase().contains(n) || p.key.to_lowercase().contains(n)
                        })
                    })
                    .collect();
                let total = matching.len() as u64;
                let items: Vec<Project> = matching
                    .into_iter()
                    .skip(start as usize)
                    .take(page.limit as usize)
                    .map(|p| map::project(p, &site))
                    .collect();
                let end = start + items.len() as u64;
                Ok(Page {
                    items,
                    next: (end < total).then(|| cursor::encode_offset(end)),
                })
            }
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::project_key_from;

    #[test]
    fn project_keys_come_from_names() {
        assert_eq!(project_key_from("Mobile Banking App"), "MBA");
        assert_eq!(project_key_from("payments"), "PAYM");
        assert_eq!(project_key_from("42 things"), "P42TH");
        assert_eq!(project_key_from("a b c d e f g h i j k l"), "ABCDEFGHIJ");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/ids.rs): an empty or one-letter name gave a
    /// one-letter key, which Jira refuses.
    #[test]
    fn project_keys_have_two_characters_at_least() {
        assert_eq!(project_key_from(""), "PROJ");
        assert_eq!(project_key_from("  ♥ "), "PROJ");
        assert_eq!(project_key_from("Q"), "QX");
        assert_eq!(project_key_from("7"), "P7");
    }
}
