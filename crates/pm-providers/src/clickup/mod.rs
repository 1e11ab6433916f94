//! ClickUp (API v2, personal token in `Authorization`). The hierarchy is workspace (team) → space →
//! folder → list → task; pm-mcp maps a **space** to a project (the unit a team plans in, with its
//! own statuses and members), the lists of a space's **sprint folder** to sprints (their due date
//! and start date give the state), statuses with their ClickUp type (open / custom / done / closed)
//! as the category, priorities 1–4 by name, tags as labels, time entries as worklogs, comments, the
//! Sprint Points ClickApp's `points` (or a "Story Points" number field) as story points, custom
//! task types (e.g. "Epic") as task types and parent tasks as epics. ClickUp's manners: `page`
//! (0-based, 100 tasks a page) with `last_page`, `include_closed=true` for closed tasks, 429 with
//! `X-RateLimit-Reset`, `{"err", "ECODE"}` error bodies. A connection works in one workspace: the
//! one given, or the only one the token sees. A personal token (`pk_…`) goes in `Authorization`
//! as it is, an OAuth access token as `Bearer …`. Date-only dates are days in the user's time
//! zone (ClickUp keeps them at 04:00 there); custom task ids (`DEV-42`) are resolved once to the
//! task's own id; comments are written in ClickUp's rich form.
mod history;
mod map;
pub(crate) mod rich;
pub mod wire;

use async_trait::async_trait;
use chrono::Utc;
use pm_core::{
    Assignee, Comment, ConnectionSpec, NewSprint, NewTask, Page, PageRequest, Project, Provider,
    ProviderError, ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState,
    Status, Task, TaskChange, TaskQuery, TaskType, Transition, User, Vocabulary, Worklog,
};
use pm_core::{Secret, SignIn};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::cursor;
use crate::http::{HttpSettings, Upstream};
use crate::ids::{self, not_found};

const NAME: &str = "ClickUp";
/// ClickUp returns tasks 100 a page, comments 25.
const TASK_PAGE: usize = 100;
const COMMENT_PAGE: usize = 25;

pub struct ClickUp {
    up: Upstream,
    /// The workspace the connection was configured with, if any.
    wanted_team: Option<String>,
    team: OnceCell<wire::Team>,
    me: OnceCell<wire::User>,
    custom_items: OnceCell<Vec<wire::CustomItem>>,
    /// Spaces read once, so an empty task list need not look again whether its space exists.
    known_spaces: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Custom task ids (`DEV-42`, upper-cased) resolved to the tasks' own ids.
    custom_ids: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// The earliest time the time-entry search is asked from (ClickUp's own default is the last 30
/// days): long before ClickUp existed (2017), so a back-dated entry is found too.
const TIME_ENTRIES_FROM_MS: i64 = 946_684_800_000; // 2000-01-01

/// ClickUp's own words when it refuses Time in Status (400, 401 or 403: the ClickApp is off, or
/// the plan or the account may not use it; ClickUp does not publish which words it uses), so the
/// history can fall back to current statuses and say why. Not found, rate limits and outages
/// are errors, not refusals.
fn time_in_status_refusal(e: &ProviderError) -> Option<String> {
    match e {
        ProviderError::Invalid { message, .. }
        | ProviderError::Forbidden { message, .. }
        | ProviderError::Auth { message, .. } => Some(message.clone()),
        _ => None,
    }
}

/// How many custom task ids a connection remembers before it starts again (as other caches do).
const CUSTOM_IDS_MAX: usize = 10_000;

/// How many user ids one time-entry search names in `assignee` (the URL stays short however
/// large the workspace).
const ASSIGNEES_PER_SEARCH: usize = 50;

/// The `Authorization` value: a personal token (`pk_…`) as it is, an OAuth access token as
/// `Bearer <token>` (ClickUp's authentication page), one given with `Bearer ` as given.
fn authorization(token: &Secret) -> Secret {
    let t = token.expose().trim();
    if t.starts_with("pk_")
        || t.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
    {
        Secret::new(t)
    } else {
        Secret::new(format!("Bearer {t}"))
    }
}

/// Whether a task reference is a custom task id (`DEV-42`): ClickUp's own ids are letters and
/// digits only.
fn is_custom_id(id: &str) -> bool {
    id.contains('-')
}

impl ClickUp {
    /// `base_url` is ClickUp's API root (`https://api.clickup.com/api`); `/v2` is added unless it
    /// is already there (a mock of the published document serves under `/v2`).
    pub fn new(
        client: reqwest::Client,
        spec: &ConnectionSpec,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let SignIn::ApiKey(token) = &spec.sign_in else {
            return Err(ProviderError::BadInput(
                "ClickUp signs in with an API token".into(),
            ));
        };
        let key = crate::http::credential(authorization(token), "API token")?;
        let base_url = spec.base_url.as_str();
        let root = base_url.trim_end_matches('/');
        let api = if root.ends_with("/v2") {
            root.to_string()
        } else {
            format!("{root}/v2")
        };
        let up = Upstream::new(
            client,
            &api,
            "authorization",
            key,
            NAME,
            map::error_text,
            settings,
        )?
        .with_json_content_type_always();
        let wanted_team = spec.options.workspace_id.map(|w| w.to_string());
        Ok(Self {
            up,
            wanted_team,
            team: OnceCell::new(),
            me: OnceCell::new(),
            custom_items: OnceCell::new(),
            known_spaces: std::sync::Mutex::default(),
            custom_ids: std::sync::Mutex::default(),
        })
    }

    /// The user's time zone (from `GET /v2/user`, read once): date-only dates are its days.
    async fn zone(&self) -> ProviderResult<chrono_tz::Tz> {
        Ok(map::zone(self.me().await?.timezone.as_deref()))
    }

    /// A task reference as the task's own id: a custom task id (`DEV-42`) is looked up once
    /// with `custom_task_ids=true&team_id=…` (ClickUp knows it only so) and remembered.
    async fn task_id(&self, raw: &str) -> ProviderResult<String> {
        let id = task_ref(raw)?;
        if !is_custom_id(&id) {
            return Ok(id);
        }
        if let Some(known) = self.known_custom(&id) {
            return Ok(known);
        }
        Ok(self.wire_task(&id).await?.id)
    }

    fn known_custom(&self, custom: &str) -> Option<String> {
        self.custom_ids
            .lock()
            .ok()
            .and_then(|m| m.get(&custom.to_uppercase()).cloned())
    }

    async fn teams(&self) -> ProviderResult<Vec<wire::Team>> {
        Ok(self.up.get::<wire::Teams>("team", &[]).await?.teams)
    }

    /// The connection's workspace, found once: the configured one (which the token must see), or
    /// the only one the token sees.
    async fn team(&self) -> ProviderResult<&wire::Team> {
        self.team
            .get_or_try_init(|| async {
                let teams = self.teams().await?;
                let names = || {
                    teams
                        .iter()
                        .map(|t| format!("{} ({})", t.name, t.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match &self.wanted_team {
                    Some(w) => teams.iter().find(|t| t.id == *w).cloned().ok_or_else(|| {
                        ProviderError::Forbidden {
                            provider: NAME,
                            message: format!(
                                "the token does not belong to workspace {w}; it sees: {}",
                                if teams.is_empty() { "no workspace".into() } else { names() }
                            ),
                        }
                    }),
                    None => match teams.len() {
                        1 => Ok(teams[0].clone()),
                        0 => Err(ProviderError::Forbidden {
                            provider: NAME,
                            message: "the token sees no workspace".into(),
                        }),
                        _ => Err(ProviderError::BadInput(format!(
                            "the token sees {} ClickUp workspaces: {}; configure the connection with workspace_id set to one of those ids",
                            teams.len(),
                            names()
                        ))),
                    },
                }
            })
            .await
    }

    async fn team_id(&self) -> ProviderResult<String> {
        Ok(self.team().await?.id.clone())
    }

    async fn me(&self) -> ProviderResult<&wire::User> {
        self.me
            .get_or_try_init(|| async {
                Ok::<_, ProviderError>(self.up.get::<wire::UserOne>("user", &[]).await?.user)
            })
            .await
    }

    /// The workspace's custom task types (read once; none when the plan has no such feature).
    async fn custom_items(&self) -> ProviderResult<&Vec<wire::CustomItem>> {
        self.custom_items
            .get_or_try_init(|| async {
                let team = self.team_id().await?;
                let items: wire::CustomItemsAnswer = self
                    .up
                    .get(&format!("team/{team}/custom_item"), &[])
                    .await?;
                Ok::<_, ProviderError>(items.into_items())
            })
            .await
    }

    /// Maps tasks; custom task types are named from the workspace's list, read only when a task
    /// has one, and due dates are days in the user's zone (read once, when a task has one).
    async fn to_tasks(&self, tasks: Vec<wire::Task>) -> ProviderResult<Vec<Task>> {
        let zone = if tasks.iter().any(|t| t.due_date.is_some()) {
            self.zone().await?
        } else {
            chrono_tz::Tz::UTC
        };
        let typed = tasks
            .iter()
            .any(|t| t.custom_item_id.is_some_and(|n| n != 0));
        let items: Vec<wire::CustomItem> = if typed {
            self.custom_items().await.cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let name = |n: i64| {
            items
                .iter()
                .find(|i| i.id == n.to_string())
                .map(|i| i.name.clone())
        };
        Ok(tasks
            .into_iter()
            .map(|t| map::task(t, &name, zone))
            .collect())
    }

    async fn to_task(&self, t: wire::Task) -> ProviderResult<Task> {
        self.to_tasks(vec![t])
            .await?
            .pop()
            .ok_or_else(|| ProviderError::Decode {
                provider: NAME,
                message: "no task".into(),
            })
    }

    /// A task by its id or its custom id (resolved and remembered on the way).
    async fn wire_task(&self, raw: &str) -> ProviderResult<wire::Task> {
        let given = task_ref(raw)?;
        let mut params = vec![("include_markdown_description", "true".to_string())];
        let id = match (is_custom_id(&given), self.known_custom(&given)) {
            (false, _) => given.clone(),
            (true, Some(known)) => known,
            (true, None) => {
                params.push(("custom_task_ids", "true".into()));
                params.push(("team_id", self.team_id().await?));
                given.clone()
            }
        };
        let task: wire::Task = self
            .up
            .get(&format!("task/{id}"), &params)
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {given}")))?;
        if is_custom_id(&given) {
            self.remember_custom(&given, &task.id);
        }
        Ok(task)
    }

    /// Remembers a custom task id's task; the memory starts again when it is full.
    fn remember_custom(&self, custom: &str, id: &str) {
        if let Ok(mut m) = self.custom_ids.lock() {
            if m.len() >= CUSTOM_IDS_MAX {
                m.clear();
            }
            m.insert(custom.to_uppercase(), id.to_string());
        }
    }

    async fn list(&self, id: &str) -> ProviderResult<wire::List> {
        let id = number(id, "list")?;
        self.up
            .get(&format!("list/{id}"), &[])
            .await
            .map_err(|e| not_found(e, format!("ClickUp list {id}")))
    }

    async fn space(&self, id: &str) -> ProviderResult<wire::Space> {
        let id = number(id, "space")?;
        let space: wire::Space = self
            .up
            .get(&format!("space/{id}"), &[])
            .await
            .map_err(|e| space_missing(e, &id))?;
        if let Ok(mut known) = self.known_spaces.lock() {
            known.insert(id);
        }
        Ok(space)
    }

    /// Whether the space exists (read once per connection): ClickUp's team task list filtered
    /// by a space that does not exist is empty, not an error.
    async fn check_space(&self, id: &str) -> ProviderResult<()> {
        let known = self
            .known_spaces
            .lock()
            .is_ok_and(|k| k.contains(id.trim()));
        if !known {
            self.space(id).await?;
        }
        Ok(())
    }

    async fn folders(&self, space: &str) -> ProviderResult<Vec<wire::Folder>> {
        let res: wire::Folders = self
            .up
            .get(
                &format!("space/{space}/folder"),
                &[("archived", "false".into())],
            )
            .await
            .map_err(|e| space_missing(e, space))?;
        Ok(res.folders)
    }

    async fn folder_lists(&self, folder: &str) -> ProviderResult<Vec<wire::List>> {
        let res: wire::Lists = self
            .up
            .get(
                &format!("folder/{folder}/list"),
                &[("archived", "false".into())],
            )
            .await?;
        Ok(res.lists)
    }

    async fn sprint_folders(&self, space: &str) -> ProviderResult<Vec<wire::Folder>> {
        let sprint_folders: Vec<wire::Folder> = self
            .folders(space)
            .await?
            .into_iter()
            .filter(map::is_sprint_folder)
            .collect();
        if sprint_folders.is_empty() {
            return Err(ProviderError::BadInput(format!(
                "ClickUp space {space} has no sprint folder (a folder named like \"Sprints\", as the Sprints ClickApp makes); turn on Sprints for the space first"
            )));
        }
        Ok(sprint_folders)
    }

    /// Where create_task puts a task of a space: its first folderless list, else the first list
    /// of its first folder that is not a sprint folder.
    async fn home_list(&self, space: &str) -> ProviderResult<String> {
        let loose: wire::Lists = self
            .up
            .get(
                &format!("space/{space}/list"),
                &[("archived", "false".into())],
            )
            .await
            .map_err(|e| space_missing(e, space))?;
        if let Some(l) = loose.lists.into_iter().find(|l| !l.archived) {
            return Ok(l.id);
        }
        for f in self.folders(space).await? {
            if map::is_sprint_folder(&f) || f.archived {
                continue;
            }
            if let Some(l) = self
                .folder_lists(&f.id)
                .await?
                .into_iter()
                .find(|l| !l.archived)
            {
                return Ok(l.id);
            }
        }
        Err(ProviderError::BadInput(format!(
            "ClickUp space {space} has no list to put a task in; create a list in the space first"
        )))
    }

    /// The statuses of a space's tasks by name: the space's, and those of its lists that have
    /// their own (a list may override its space's statuses; the lists are read only when a
    /// name is not the space's). The error names every status there is.
    async fn space_status_names(
        &self,
        space: &str,
        wanted: &[String],
    ) -> ProviderResult<Vec<String>> {
        let s = self.space(space).await?;
        let mut known: Vec<String> = s.statuses.iter().map(|x| x.status.clone()).collect();
        let find = |known: &[String], name: &str| {
            known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name.trim()))
                .cloned()
        };
        if wanted.iter().any(|w| find(&known, w).is_none()) {
            let mut lists: Vec<wire::List> = self
                .up
                .get::<wire::Lists>(
                    &format!("space/{space}/list"),
                    &[("archived", "false".into())],
                )
                .await
                .map_err(|e| space_missing(e, space))?
                .lists;
            for f in self.folders(space).await? {
                lists.extend(self.folder_lists(&f.id).await?);
            }
            for l in lists {
                // A listing may leave a list's statuses out: then the list itself is read.
                let own = if l.statuses.is_empty() {
                    self.list(&l.id).await?.statuses
                } else {
                    l.statuses
                };
                for st in own {
                    if find(&known, &st.status).is_none() {
                        known.push(st.status);
                    }
                }
            }
        }
        wanted
            .iter()
            .map(|w| {
                find(&known, w).ok_or_else(|| {
                    ProviderError::BadInput(format!(
                        "ClickUp space {:?} ({}) has no status {w:?}; it has: {}",
                        s.name,
                        s.id,
                        known.join(", ")
                    ))
                })
            })
            .collect()
    }

    /// A status of a list by name; the error lists the list's statuses.
    fn pick_status(list: &wire::List, name: &str) -> ProviderResult<String> {
        list.statuses
            .iter()
            .find(|s| s.status.eq_ignore_ascii_case(name.trim()))
            .map(|s| s.status.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = list.statuses.iter().map(|s| s.status.as_str()).collect();
                ProviderError::BadInput(format!(
                    "ClickUp list {:?} ({}) has no status {name:?}; it has: {}",
                    list.name,
                    list.id,
                    names.join(", ")
                ))
            })
    }

    /// One page of ClickUp tasks from `path`, kept by `keep`, cut to the caller's limit. The
    /// cursor holds ClickUp's page and how many kept tasks of it were handed out already.
    async fn task_page(
        &self,
        path: &str,
        mut params: Vec<(&'static str, String)>,
        keep: &(dyn Fn(&wire::Task) -> bool + Sync),
        page: &PageRequest,
    ) -> ProviderResult<Page<Task>> {
        let (n, skip) = decode_task_cursor(page.cursor.as_deref())?;
        params.push(("page", n.to_string()));
        let res: wire::Tasks = self.up.get(path, &params).await?;
        let fetched = res.tasks.len();
        let kept: Vec<wire::Task> = res.tasks.into_iter().filter(|t| keep(t)).collect();
        let total = kept.len();
        let items: Vec<wire::Task> = kept
            .into_iter()
            .skip(skip)
            .take(page.limit as usize)
            .collect();
        let end = skip + items.len();
        let more_pages = res.last_page.map_or(fetched >= TASK_PAGE, |last| !last);
        let next = if end < total {
            Some(encode_task_cursor(n, end))
        } else if more_pages && fetched > 0 {
            Some(encode_task_cursor(n + 1, 0))
        } else {
            None
        };
        Ok(Page {
            items: self.to_tasks(items).await?,
            next,
        })
    }

    /// A user of the connection's workspace, read fresh.
    async fn members(&self) -> ProviderResult<Vec<wire::User>> {
        let id = self.team_id().await?;
        let teams = self.teams().await?;
        Ok(teams
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.members.into_iter().map(|m| m.user).collect())
            .unwrap_or_default())
    }

    async fn put_task(&self, id: &str, body: &Value) -> ProviderResult<wire::Task> {
        self.up
            .put(&format!("task/{id}"), body)
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {id}")))
    }

    /// The `assignees` change that leaves exactly `who` assigned.
    fn assignee_change(current: &wire::Task, who: Option<&str>) -> ProviderResult<Value> {
        let add: Vec<i64> = match who {
            Some(u) => vec![user_number(u)?],
            None => Vec::new(),
        };
        let rem: Vec<i64> = map::assignees(&current.assignees)
            .into_iter()
            .filter_map(|u| u.id.parse::<i64>().ok())
            .filter(|id| !add.contains(id))
            .collect();
        Ok(json!({ "add": add, "rem": rem }))
    }

    /// The writes of `update_task` after the sprint join: the task's fields, the points field,
    /// the tags, then the task read back.
    async fn update_rest(
        &self,
        current: &wire::Task,
        c: &TaskChange,
        body: &Value,
        points_field: Option<(String, f64)>,
    ) -> ProviderResult<Task> {
        let id = current.id.clone();
        if body.as_object().is_some_and(|o| !o.is_empty()) {
            self.put_task(&id, body).await?;
        }
        if let Some((field, points)) = points_field {
            let _: Value = self
                .up
                .post(
                    &format!("task/{id}/field/{}", segment(&field)),
                    &json!({ "value": points }),
                )
                .await?;
        }
        if let Some(labels) = &c.labels {
            let have = map::tag_names(&current.tags);
            for add in labels.iter().filter(|l| !have.contains(l)) {
                let _: Value = self
                    .up
                    .post_empty(&format!("task/{id}/tag/{}", segment(add)))
                    .await?;
            }
            for gone in have.iter().filter(|h| !labels.contains(h)) {
                let _: Value = self
                    .up
                    .delete(&format!("task/{id}/tag/{}", segment(gone)))
                    .await?;
            }
        }
        self.get_task(&id).await
    }

    async fn task_type_id(&self, name: &str) -> ProviderResult<Option<String>> {
        if name.trim().eq_ignore_ascii_case("task") {
            return Ok(None);
        }
        let items = self.custom_items().await?;
        items
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name.trim()))
            .map(|i| Some(i.id.clone()))
            .ok_or_else(|| {
                let mut names = vec!["Task"];
                names.extend(items.iter().map(|i| i.name.as_str()));
                ProviderError::BadInput(format!(
                    "the ClickUp workspace has no task type {name:?}; it has: {}",
                    names.join(", ")
                ))
            })
    }
}

const MULTIPLE_LISTS: &str = "the Tasks in Multiple Lists ClickApp, which a workspace owner or admin turns on in ClickUp (Settings → ClickApps)";

/// ClickUp's refusal to put a task in a sprint list as a second list, in words. The endpoint
/// "requires the Tasks in Multiple List ClickApp to be enabled" (Add Task To List), but ClickUp
/// does not publish the words of that refusal: the ClickApp is blamed when ClickUp's message
/// names it (or multiple lists), a 403 is reported as the permission it is, and any other
/// refusal gives ClickUp's words with the ClickApp as one possible cause.
fn sprint_refused(e: ProviderError, task: &str, list: &str) -> ProviderError {
    let about_clickapp = |m: &str| {
        let m = m.to_lowercase();
        m.contains("clickapp") || m.contains("multiple list")
    };
    match e {
        ProviderError::NotFound { .. } => ProviderError::NotFound {
            what: format!("ClickUp sprint list {list}"),
        },
        ProviderError::Invalid { message, .. } | ProviderError::Forbidden { message, .. }
            if about_clickapp(&message) =>
        {
            ProviderError::Invalid {
                provider: NAME,
                message: format!(
                    "task {task} cannot join sprint list {list} ({message}): a task joins a sprint list besides its home list only with {MULTIPLE_LISTS}; nothing was changed"
                ),
            }
        }
        ProviderError::Forbidden { message, .. } => ProviderError::Forbidden {
            provider: NAME,
            message: format!(
                "task {task} cannot be added to sprint list {list}: {message}; ask a workspace admin for the permission, or leave out the sprint; nothing was changed"
            ),
        },
        ProviderError::Invalid { message, .. } => ProviderError::Invalid {
            provider: NAME,
            message: format!(
                "task {task} cannot join sprint list {list}: {message}; one possible cause is that a task joins a sprint list besides its home list only with {MULTIPLE_LISTS}; nothing was changed"
            ),
        },
        other => other,
    }
}

/// An error after the task joined its sprint list: it says that the join stands.
fn after_join(e: ProviderError, task: &str, list: &str) -> ProviderError {
    let note = format!(
        "task {task} had already joined sprint list {list}, which stands; the rest of the change may be only partly saved: read the task, then send what is missing without `sprint`"
    );
    let with = |m: String| format!("{m}; {note}");
    // A kind without words of its own becomes "not answering", with its sentence and the note.
    e.map_message(with)
        .unwrap_or_else(|other| ProviderError::Unavailable {
            provider: NAME,
            message: format!("{other}; {note}"),
        })
}

fn space_missing(e: ProviderError, id: &str) -> ProviderError {
    not_found(e, format!("ClickUp space (project) {id}"))
}

fn number(id: &str, what: &str) -> ProviderResult<String> {
    ids::number(NAME, id, what).map(|n| n.to_string())
}

fn user_number(id: &str) -> ProviderResult<i64> {
    number(id, "user")?
        .parse()
        .map_err(|_| ProviderError::BadInput(format!("{id:?} is not a ClickUp user id")))
}

/// A task id (e.g. `86b1x2y3z`), safe in a path.
fn task_ref(id: &str) -> ProviderResult<String> {
    let id = id.trim().trim_start_matches('#');
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ProviderError::BadInput(format!(
            "{id:?} is not a ClickUp task id (letters and digits, e.g. 86b1x2y3z)"
        )));
    }
    Ok(id.to_string())
}

/// A tag name as one path segment.
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_task_cursor(page: u32, skip: usize) -> String {
    cursor::encode_token(&format!("{page}.{skip}"))
}

fn decode_task_cursor(c: Option<&str>) -> ProviderResult<(u32, usize)> {
    let bad = || {
        ProviderError::BadInput(
            "the cursor is not one this list handed out; start again without a cursor".into(),
        )
    };
    match cursor::decode_token(c)? {
        None => Ok((0, 0)),
        Some(t) => {
            let (p, s) = t.split_once('.').ok_or_else(bad)?;
            let p: u32 = p.parse().map_err(|_| bad())?;
            let s: usize = s.parse().map_err(|_| bad())?;
            if p > 10_000 || s > TASK_PAGE {
                return Err(bad());
            }
            Ok((p, s))
        }
    }
}

fn no_start(start: Option<chrono::DateTime<Utc>>) -> ProviderResult<()> {
    match start {
        Some(_) => Err(ProviderError::BadInput(
            "ClickUp's API cannot set a sprint's start date (the Sprints ClickApp sets it from the sprint folder's schedule); leave start_date out".into(),
        )),
        None => Ok(()),
    }
}

#[async_trait]
impl Provider for ClickUp {
    fn kind(&self) -> ProviderKind {
        ProviderKind::ClickUp
    }

    async fn whoami(&self) -> ProviderResult<User> {
        Ok(map::user(self.me().await?.clone()))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        let team = self.team().await?;
        Ok(SiteInfo {
            product: format!("ClickUp (workspace {})", team.name),
            version: Some("API v2".into()),
            base_url: self
                .up
                .base()
                .as_str()
                .trim_end_matches('/')
                .trim_end_matches("/v2")
                .to_string(),
            workspace_id: Some(team.id.clone()),
        })
    }

    async fn list_projects(&self, page: &PageRequest) -> ProviderResult<Page<Project>> {
        let team = self.team_id().await?;
        let res: wire::Spaces = self
            .up
            .get(
                &format!("team/{team}/space"),
                &[("archived", "false".into())],
            )
            .await?;
        let all = res
            .spaces
            .into_iter()
            .map(|s| map::project(s, &team))
            .collect();
        cursor::slice(all, page)
    }

    async fn search_projects(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let needle = query.trim().to_lowercase();
        if needle.is_empty() {
            return Err(ProviderError::BadInput("the search text is empty".into()));
        }
        let team = self.team_id().await?;
        let res: wire::Spaces = self
            .up
            .get(
                &format!("team/{team}/space"),
                &[("archived", "false".into())],
            )
            .await?;
        let all = res
            .spaces
            .into_iter()
            .filter(|s| s.name.to_lowercase().contains(&needle))
            .map(|s| map::project(s, &team))
            .collect();
        cursor::slice(all, page)
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let space = self.space(id).await?;
        Ok(map::project(space, &self.team_id().await?))
    }

    async fn project_vocabulary(
        &self,
        project: &str,
        task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        let space = self.space(project).await?;
        let statuses = space
            .statuses
            .iter()
            .map(|s| Status {
                name: s.status.clone(),
                category: map::category(s.kind.as_deref()),
            })
            .collect();
        let mut notes = vec![
            "ClickUp has no priorities list: urgent, high, normal, low are fixed".to_string(),
            "statuses are the space's; a list may have its own (task_id gives a task's list)"
                .to_string(),
        ];
        let priorities_off = space
            .features
            .as_ref()
            .and_then(|f| f.pointer("/priorities/enabled"))
            .and_then(Value::as_bool)
            == Some(false);
        let priorities = if priorities_off {
            notes.push("priorities are turned off in this space".into());
            Vec::new()
        } else {
            map::PRIORITIES.iter().map(|(_, n)| n.to_string()).collect()
        };
        // "Task" is ClickUp's own type; custom task types are the workspace's.
        let mut task_types = vec![TaskType {
            name: "Task".into(),
            is_epic: false,
            is_default: true,
        }];
        task_types.extend(self.custom_items().await?.iter().map(|i| TaskType {
            name: i.name.clone(),
            is_epic: i.name.eq_ignore_ascii_case("Epic"),
            is_default: false,
        }));
        let transitions = match task {
            Some(t) => {
                let current = self.wire_task(t).await?;
                let list_id = current.list.as_ref().map(|l| l.id.clone()).ok_or_else(|| {
                    ProviderError::Decode {
                        provider: NAME,
                        message: format!("task {} came without its list", current.id),
                    }
                })?;
                let list = self.list(&list_id).await?;
                notes
                    .push("ClickUp has no workflow: a task can take any status of its list".into());
                Some(
                    list.statuses
                        .iter()
                        .filter(|s| !s.status.eq_ignore_ascii_case(&current.status.status))
                        .map(|s| Transition {
                            to_status: s.status.clone(),
                            name: None,
                        })
                        .collect(),
                )
            }
            None => None,
        };
        Ok(Vocabulary {
            statuses,
            priorities,
            task_types,
            transitions,
            notes,
        })
    }

    async fn create_project(
        &self,
        name: &str,
        key: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        if key.is_some_and(|k| !k.trim().is_empty()) {
            return Err(ProviderError::BadInput(
                "ClickUp spaces have no key; leave key out".into(),
            ));
        }
        if description.is_some_and(|d| !d.trim().is_empty()) {
            return Err(ProviderError::BadInput(
                "ClickUp spaces have no description; leave description out".into(),
            ));
        }
        let team = self.team_id().await?;
        let on = json!({ "enabled": true });
        let body = json!({
            "name": name.trim(),
            "multiple_assignees": true,
            "features": {
                "due_dates": { "enabled": true, "start_date": true, "remap_due_dates": true, "remap_closed_due_date": false },
                "time_tracking": on, "tags": on, "time_estimates": on, "checklists": on,
                "custom_fields": on, "remap_dependencies": on, "dependency_warning": on,
                "portfolios": on
            }
        });
        let created: wire::Space = self.up.post(&format!("team/{team}/space"), &body).await?;
        Ok(map::project(created, &team))
    }

    async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        if description.is_some() {
            return Err(ProviderError::BadInput(
                "ClickUp spaces have no description; only the name can change".into(),
            ));
        }
        let current = self.space(id).await?;
        // ClickUp's update takes the space's settings whole: send back what it has.
        let mut body = json!({
            "name": name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&current.name),
            "private": current.private.unwrap_or(false),
            "multiple_assignees": current.multiple_assignees.unwrap_or(true),
        });
        if let Some(c) = &current.color {
            body["color"] = json!(c);
        }
        if let Some(a) = current.admin_can_manage {
            body["admin_can_manage"] = json!(a);
        }
        if let Some(f) = &current.features {
            body["features"] = f.clone();
        }
        let updated: wire::Space = self.up.put(&format!("space/{}", current.id), &body).await?;
        Ok(map::project(updated, &self.team_id().await?))
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        let id = number(id, "space")?;
        let _: Value = self
            .up
            .delete(&format!("space/{id}"))
            .await
            .map_err(|e| space_missing(e, &id))?;
        Ok(())
    }

    async fn search_tasks(&self, q: &TaskQuery, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let mut params: Vec<(&'static str, String)> = vec![
            ("include_closed", "true".into()),
            ("subtasks", "true".into()),
            ("include_markdown_description", "true".into()),
        ];
        match &q.assignee {
            Some(Assignee::Me) => params.push(("assignees[]", self.me().await?.id.clone())),
            Some(Assignee::User(u)) => params.push(("assignees[]", number(u, "user")?)),
            Some(Assignee::Nobody) | None => {}
        }
        // Status names are checked against the statuses of the sprint's list or the project's
        // space (a name ClickUp does not know would silently match nothing).
        let mut statuses = Vec::new();
        let mut not_found_as = None;
        let mut space_asked = None;
        let path = match (&q.sprint, &q.project) {
            (Some(sprint), _) => {
                let list = number(sprint, "sprint (list)")?;
                if !q.statuses.is_empty() {
                    let l = self.list(&list).await?;
                    for s in &q.statuses {
                        statuses.push(Self::pick_status(&l, s)?);
                    }
                }
                params.push(("include_timl", "true".into()));
                not_found_as = Some(format!("ClickUp list {list}"));
                format!("list/{list}/task")
            }
            (None, project) => {
                if let Some(p) = project {
                    let space = number(p, "space")?;
                    if !q.statuses.is_empty() {
                        statuses = self.space_status_names(&space, &q.statuses).await?;
                    }
                    space_asked = Some(space.clone());
                    params.push(("space_ids[]", space));
                } else {
                    statuses.extend(q.statuses.iter().map(|s| s.trim().to_string()));
                }
                format!("team/{}/task", self.team_id().await?)
            }
        };
        for s in statuses {
            params.push(("statuses[]", s));
        }
        // ClickUp filters neither unassigned tasks nor text: those are kept here, page by page.
        let nobody = matches!(q.assignee, Some(Assignee::Nobody));
        let text = q
            .text
            .as_deref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        let keep = move |t: &wire::Task| {
            (!nobody || map::assignees(&t.assignees).is_empty())
                && text.as_ref().is_none_or(|needle| {
                    t.name.to_lowercase().contains(needle)
                        || t.text_content
                            .as_deref()
                            .is_some_and(|c| c.to_lowercase().contains(needle))
                })
        };
        let found =
            self.task_page(&path, params, &keep, page)
                .await
                .map_err(|e| match not_found_as {
                    Some(what) => not_found(e, what),
                    None => e,
                })?;
        if let (Some(space), true) = (&space_asked, found.items.is_empty()) {
            self.check_space(space).await?;
        }
        Ok(found)
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        let t = self.wire_task(id).await?;
        self.to_task(t).await
    }

    async fn create_task(&self, t: &NewTask) -> ProviderResult<Task> {
        let space = number(&t.project, "space (project)")?;
        // A subtask is created in its parent's list: ClickUp's Create Task takes a `parent`
        // only "in the same List specified in the path parameter".
        let parent = match &t.parent {
            Some(p) => {
                let parent = self.wire_task(p).await?;
                if let Some(other) = parent.space.as_ref().filter(|s| s.id != space) {
                    return Err(ProviderError::BadInput(format!(
                        "the parent task {} is in ClickUp space {}, not in space {space}; a subtask is created in its parent's list, so give project {} (or another parent)",
                        parent.id, other.id, other.id
                    )));
                }
                let list = parent.list.as_ref().map(|l| l.id.clone()).ok_or_else(|| {
                    ProviderError::Decode {
                        provider: NAME,
                        message: format!("task {} came without its list", parent.id),
                    }
                })?;
                Some((parent.id, list))
            }
            None => None,
        };
        let mut body = json!({ "name": t.title.trim() });
        if let Some(d) = &t.description {
            body["markdown_content"] = json!(d);
        }
        if let Some(kind) = &t.task_type
            && let Some(item) = self.task_type_id(kind).await?
        {
            body["custom_item_id"] = json!(item.parse::<i64>().unwrap_or(0));
        }
        if let Some(p) = &t.priority {
            body["priority"] = json!(map::priority_number(p).map_err(ProviderError::BadInput)?);
        }
        if let Some(a) = &t.assignee {
            body["assignees"] = json!([user_number(a)?]);
        }
        if let Some(d) = t.due_date {
            body["due_date"] = json!(map::date_ms(d, self.zone().await?));
            body["due_date_time"] = json!(false);
        }
        if !t.labels.is_empty() {
            body["tags"] = json!(t.labels);
        }
        let list = match parent {
            Some((id, list)) => {
                body["parent"] = json!(id);
                list
            }
            None => self.home_list(&space).await?,
        };
        let created: wire::Task = self.up.post(&format!("list/{list}/task"), &body).await?;
        self.to_task(created).await
    }

    async fn update_task(&self, id: &str, c: &TaskChange) -> ProviderResult<Task> {
        // ClickUp tasks have a time estimate and tracked time, no remaining work.
        if c.remaining_hours.is_some() {
            return Err(ProviderError::Unsupported {
                provider: NAME,
                operation: "remaining_hours (ClickUp tasks have no remaining-work field; nothing was written)",
            });
        }
        // Checked before anything is written (the sprint join comes first and stays).
        if c.title.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ProviderError::BadInput(
                "title cannot be empty; nothing was written".into(),
            ));
        }
        for (arg, v) in [
            ("estimated_hours", c.estimated_hours),
            ("story_points", c.story_points),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(ProviderError::BadInput(format!(
                    "{arg} must be a number of 0 or more; nothing was written"
                )));
            }
        }
        if c.labels
            .as_ref()
            .is_some_and(|l| l.iter().any(|l| l.trim().is_empty()))
        {
            return Err(ProviderError::BadInput(
                "labels cannot contain an empty name; nothing was written".into(),
            ));
        }
        let current = self.wire_task(id).await?;
        let id = current.id.clone();
        let mut body = json!({});
        if let Some(t) = &c.title {
            body["name"] = json!(t.trim());
        }
        if let Some(d) = &c.description {
            body["markdown_content"] = json!(d);
        }
        if let Some(p) = &c.priority {
            body["priority"] = json!(map::priority_number(p).map_err(ProviderError::BadInput)?);
        }
        if let Some(a) = &c.assignee {
            body["assignees"] = Self::assignee_change(&current, a.as_deref())?;
        }
        if let Some(d) = c.due_date {
            body["due_date"] = json!(map::date_ms(d, self.zone().await?));
            body["due_date_time"] = json!(false);
        }
        if let Some(h) = c.estimated_hours {
            body["time_estimate"] = json!((h * 3_600_000.0).round() as i64);
        }
        let sprint = match &c.sprint {
            Some(s) => Some(number(s, "sprint (list)")?),
            None => None,
        };
        if sprint.is_some()
            && let Some(Some(who)) = &c.assignee
        {
            // ClickUp assigns only the workspace's members: a stranger is refused here, before
            // the join, not by the PUT after it.
            let n = user_number(who)?.to_string();
            if !self.members().await?.iter().any(|m| m.id == n) {
                return Err(ProviderError::BadInput(format!(
                    "user {who} is not a member of the ClickUp workspace, so cannot be assigned (list_users shows the members); nothing was written"
                )));
            }
        }
        let mut points_field = None;
        if let Some(points) = c.story_points {
            // A "Story Points" number field of the task's list wins; else Sprint Points.
            let field = match current.list.as_ref() {
                Some(l) => self
                    .up
                    .get::<wire::Fields>(&format!("list/{}/field", l.id), &[])
                    .await?
                    .fields
                    .into_iter()
                    .find(map::is_points_field),
                None => None,
            };
            match field {
                Some(f) => points_field = Some((f.id, points)),
                None => body["points"] = json!(points),
            }
        }
        if let Some(list) = &sprint {
            // A sprint is a list; the task joins it and keeps its home list. First, so that a
            // refusal (the ClickApp off) leaves the task as it was; what follows fails only for
            // reasons not known beforehand, and then says the join stands.
            let _: Value = self
                .up
                .post_empty(&format!("list/{list}/task/{id}"))
                .await
                .map_err(|e| sprint_refused(e, &id, list))?;
        }
        let rest = self.update_rest(&current, c, &body, points_field).await;
        match (rest, &sprint) {
            (Err(e), Some(list)) => Err(after_join(e, &id, list)),
            (r, _) => r,
        }
    }

    async fn transition_task(&self, id: &str, status: &str) -> ProviderResult<Task> {
        let current = self.wire_task(id).await?;
        if current.status.status.eq_ignore_ascii_case(status.trim()) {
            return self.to_task(current).await;
        }
        let list_id =
            current
                .list
                .as_ref()
                .map(|l| l.id.clone())
                .ok_or_else(|| ProviderError::Decode {
                    provider: NAME,
                    message: format!("task {} came without its list", current.id),
                })?;
        let list = self.list(&list_id).await?;
        let target = Self::pick_status(&list, status)?;
        let moved = self
            .put_task(&current.id, &json!({ "status": target }))
            .await?;
        self.to_task(moved).await
    }

    async fn assign_task(&self, id: &str, assignee: Option<&str>) -> ProviderResult<()> {
        let current = self.wire_task(id).await?;
        let change = Self::assignee_change(&current, assignee)?;
        self.put_task(&current.id, &json!({ "assignees": change }))
            .await?;
        Ok(())
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        let id = self.task_id(id).await?;
        let _: Value = self
            .up
            .delete(&format!("task/{id}"))
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {id}")))?;
        Ok(())
    }

    async fn add_comment(&self, task: &str, markdown: &str) -> ProviderResult<Comment> {
        if markdown.trim().is_empty() {
            return Err(ProviderError::BadInput("the comment is empty".into()));
        }
        let id = self.task_id(task).await?;
        // `comment_text` is plain text: the Markdown goes in the rich form.
        let created: wire::CommentCreated = self
            .up
            .post(
                &format!("task/{id}/comment"),
                &json!({ "comment": rich::to_segments(markdown), "notify_all": false }),
            )
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {id}")))?;
        Ok(Comment {
            id: created.id,
            author: Some(map::user(self.me().await?.clone())),
            body: markdown.to_string(),
            created_at: map::time(created.date),
            updated_at: None,
        })
    }

    async fn list_comments(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Comment>> {
        let id = self.task_id(task).await?;
        // Cursor: the (date, id) of the oldest comment already read — ClickUp pages backwards
        // from there, 25 at a time — and how many of that page were handed out.
        let bad = || {
            ProviderError::BadInput(
                "the cursor is not one this list handed out; start again without a cursor".into(),
            )
        };
        let (start, skip) = match cursor::decode_token(page.cursor.as_deref())? {
            None => (None, 0usize),
            Some(t) => {
                let mut parts = t.splitn(3, '.');
                let (d, c, s) = (parts.next(), parts.next(), parts.next());
                let skip = s.and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                match (d, c) {
                    (Some(""), Some("")) => (None, skip),
                    (Some(d), Some(c)) => {
                        let d: i64 = d.parse().map_err(|_| bad())?;
                        (Some((d, task_ref(c).map_err(|_| bad())?)), skip)
                    }
                    _ => return Err(bad()),
                }
            }
        };
        let mut params = Vec::new();
        if let Some((d, c)) = &start {
            params.push(("start", d.to_string()));
            params.push(("start_id", c.clone()));
        }
        let res: wire::Comments = self
            .up
            .get(&format!("task/{id}/comment"), &params)
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {id}")))?;
        let fetched = res.comments.len();
        let oldest = res
            .comments
            .last()
            .map(|c| (c.date.unwrap_or(0), c.id.clone()));
        let items: Vec<Comment> = res
            .comments
            .into_iter()
            .skip(skip)
            .take(page.limit as usize)
            .map(map::comment)
            .collect();
        let end = skip + items.len();
        let here = match &start {
            Some((d, c)) => format!("{d}.{c}"),
            None => ".".to_string(),
        };
        let next = if end < fetched {
            Some(cursor::encode_token(&format!("{here}.{end}")))
        } else if fetched >= COMMENT_PAGE {
            oldest.map(|(d, c)| cursor::encode_token(&format!("{d}.{c}.0")))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn log_work(
        &self,
        task: &str,
        seconds: i64,
        started: chrono::DateTime<Utc>,
        comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        let id = self.task_id(task).await?;
        let team = self.team_id().await?;
        let start = started.timestamp_millis();
        let mut body = json!({ "tid": id, "start": start, "duration": seconds * 1000 });
        if let Some(c) = comment.filter(|c| !c.trim().is_empty()) {
            body["description"] = json!(c);
        }
        let created: wire::TimeEntryCreated = self
            .up
            .post(&format!("team/{team}/time_entries"), &body)
            .await
            .map_err(|e| not_found(e, format!("ClickUp task {id}")))?;
        let entry = created.data.unwrap_or(created.bare);
        Ok(Worklog {
            id: entry.id.unwrap_or_default(),
            author: Some(map::user(match entry.user {
                Some(u) => u,
                None => self.me().await?.clone(),
            })),
            started_at: map::time(entry.start.or(Some(start))),
            seconds: entry.duration.map_or(seconds, |d| d / 1000),
            comment: entry
                .description
                .or(comment.map(str::to_string))
                .filter(|c| !c.trim().is_empty()),
        })
    }

    async fn list_worklogs(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Worklog>> {
        let id = self.task_id(task).await?;
        let team = self.team_id().await?;
        // The workspace's time entries, with their descriptions. The search's defaults are the
        // last 30 days and the token's own entries: the window is opened and every member is
        // asked for, which only owners and admins may do.
        let mut window: Vec<(&'static str, String)> = vec![
            ("task_id", id.clone()),
            ("start_date", TIME_ENTRIES_FROM_MS.to_string()),
            (
                "end_date",
                (Utc::now() + chrono::Duration::days(1))
                    .timestamp_millis()
                    .to_string(),
            ),
        ];
        let members: Vec<String> = self.members().await?.into_iter().map(|u| u.id).collect();
        let path = format!("team/{team}/time_entries");
        // Every member, a few dozen ids a search, so the URL stays short in a large workspace.
        let groups: Vec<&[String]> = if members.is_empty() {
            vec![&[]]
        } else {
            members.chunks(ASSIGNEES_PER_SEARCH).collect()
        };
        let mut searched: Option<Vec<Worklog>> = Some(Vec::new());
        let mut seen = std::collections::HashSet::new();
        for group in groups {
            let mut q = window.clone();
            if !group.is_empty() {
                q.push(("assignee", group.join(",")));
            }
            match self.up.get::<wire::TimeEntries>(&path, &q).await {
                Ok(res) => {
                    if let Some(found) = searched.as_mut() {
                        found.extend(
                            res.data
                                .into_iter()
                                .filter_map(map::time_entry)
                                .filter(|w| seen.insert(w.id.clone())),
                        );
                    }
                }
                // "Only Workspace Owners/Admins" may name others (the spec): the documented
                // refusal is the only one that falls back; any other is an error.
                Err(ProviderError::Auth { .. } | ProviderError::Forbidden { .. }) => {
                    searched = None;
                    break;
                }
                Err(e) => return Err(not_found(e, format!("ClickUp task {id}"))),
            }
        }
        let mut all: Vec<Worklog> = match searched {
            Some(found) => found,
            None => {
                // Not allowed to list others' entries: every user's intervals from the legacy
                // endpoint (which has no descriptions), the account's own descriptions added.
                let res: wire::Tracked = self
                    .up
                    .get(&format!("task/{id}/time"), &[])
                    .await
                    .map_err(|e| not_found(e, format!("ClickUp task {id}")))?;
                window.truncate(3);
                let own: std::collections::HashMap<String, String> = self
                    .up
                    .get::<wire::TimeEntries>(&path, &window)
                    .await
                    .map(|r| r.data)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|e| Some((e.id?, e.description?)))
                    .collect();
                res.data
                    .into_iter()
                    .flat_map(|by| {
                        let user = by.user;
                        by.intervals
                            .into_iter()
                            .map(move |i| map::worklog(i, user.clone()))
                    })
                    .map(|mut w| {
                        if w.comment.is_none() {
                            w.comment = own.get(&w.id).filter(|d| !d.trim().is_empty()).cloned();
                        }
                        w
                    })
                    .collect()
            }
        };
        if all.is_empty() {
            // No entries, or no such task: the search does not say which.
            self.wire_task(&id).await?;
        }
        all.sort_by_key(|w| w.started_at);
        cursor::slice(all, page)
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        let id = self.task_id(task).await?;
        let body = json!({ "watchers": { "add": [user_number(user)?], "rem": [] } });
        self.put_task(&id, &body).await?;
        Ok(())
    }

    async fn link_tasks(&self, from: &str, to: &str, link_type: &str) -> ProviderResult<()> {
        let (from, to) = (self.task_id(from).await?, self.task_id(to).await?);
        match link_type.trim().to_lowercase().as_str() {
            "" | "relates" | "relates to" | "related" | "link" | "links to" => {
                let _: Value = self
                    .up
                    .post_empty(&format!("task/{from}/link/{to}"))
                    .await
                    .map_err(|e| not_found(e, format!("ClickUp task {from} or {to}")))?;
            }
            "blocks" => {
                let _: Value = self
                    .up
                    .post(
                        &format!("task/{to}/dependency"),
                        &json!({ "depends_on": from }),
                    )
                    .await
                    .map_err(|e| not_found(e, format!("ClickUp task {from} or {to}")))?;
            }
            "blocked by" | "is blocked by" | "depends on" | "waiting on" => {
                let _: Value = self
                    .up
                    .post(
                        &format!("task/{from}/dependency"),
                        &json!({ "depends_on": to }),
                    )
                    .await
                    .map_err(|e| not_found(e, format!("ClickUp task {from} or {to}")))?;
            }
            _ => {
                return Err(ProviderError::BadInput(format!(
                    "ClickUp has no link type {:?}; use relates (a task link), blocks or blocked by (dependencies)",
                    link_type.trim()
                )));
            }
        }
        Ok(())
    }

    async fn list_users(&self, query: &str, page: &PageRequest) -> ProviderResult<Page<User>> {
        let needle = query.trim().to_lowercase();
        let all: Vec<User> = self
            .members()
            .await?
            .into_iter()
            .map(map::user)
            .filter(|u| {
                needle.is_empty()
                    || u.name.to_lowercase().contains(&needle)
                    || u.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&needle))
            })
            .collect();
        cursor::slice(all, page)
    }

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        let id = number(id, "user")?;
        self.members()
            .await?
            .into_iter()
            .find(|u| u.id == id)
            .map(map::user)
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("ClickUp user {id} in the connection's workspace"),
            })
    }

    async fn list_epics(&self, project: &str, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let space = number(project, "space (project)")?;
        let epic = self
            .task_type_id("Epic")
            .await?
            .ok_or_else(|| ProviderError::BadInput("\"Task\" is not an epic type".into()))?;
        let team = self.team_id().await?;
        let params = vec![
            ("include_closed", "true".to_string()),
            ("space_ids[]", space),
            ("custom_items[]", epic),
        ];
        self.task_page(&format!("team/{team}/task"), params, &|_| true, page)
            .await
    }

    async fn set_epic(&self, task: &str, epic: Option<&str>) -> ProviderResult<()> {
        match epic {
            Some(e) => {
                let id = self.task_id(task).await?;
                let parent = self.task_id(e).await?;
                self.put_task(&id, &json!({ "parent": parent })).await?;
                Ok(())
            }
            None => Err(ProviderError::Unsupported {
                provider: NAME,
                operation: "taking a task out of its epic (ClickUp's API cannot turn a subtask back into a top-level task)",
            }),
        }
    }

    async fn list_sprints(
        &self,
        project: &str,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        let space = number(project, "space (project)")?;
        let now = Utc::now();
        let mut all = Vec::new();
        for f in self.sprint_folders(&space).await? {
            all.extend(
                self.folder_lists(&f.id)
                    .await?
                    .into_iter()
                    .map(|l| map::sprint(l, now))
                    .filter(|s| states.is_empty() || states.contains(&s.state)),
            );
        }
        all.sort_by_key(|s| (s.start_date.or(s.end_date), s.id.clone()));
        cursor::slice(all, page)
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let list = self.list(id).await?;
        Ok(map::sprint(list, Utc::now()))
    }

    async fn create_sprint(&self, s: &NewSprint) -> ProviderResult<Sprint> {
        no_start(s.start)?;
        let space = number(&s.project, "space (project)")?;
        let folder = self
            .sprint_folders(&space)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ProviderError::BadInput(format!("space {space} has no sprint folder"))
            })?;
        let mut body = json!({ "name": s.name.trim() });
        if let Some(g) = &s.goal {
            body["content"] = json!(g);
        }
        if let Some(end) = s.end {
            body["due_date"] = json!(end.timestamp_millis());
            body["due_date_time"] = json!(true);
        }
        let created: wire::List = self
            .up
            .post(&format!("folder/{}/list", folder.id), &body)
            .await?;
        Ok(map::sprint(created, Utc::now()))
    }

    async fn update_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        no_start(c.start)?;
        let current = self.list(id).await?;
        let mut body = json!({
            "name": c.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&current.name)
        });
        if let Some(g) = &c.goal {
            body["content"] = json!(g);
        }
        if let Some(end) = c.end {
            body["due_date"] = json!(end.timestamp_millis());
            body["due_date_time"] = json!(true);
        }
        let updated: wire::List = self.up.put(&format!("list/{}", current.id), &body).await?;
        Ok(map::sprint(updated, Utc::now()))
    }

    async fn start_sprint(&self, _id: &str, _c: &SprintChange) -> ProviderResult<Sprint> {
        Err(ProviderError::Unsupported {
            provider: NAME,
            operation: "starting a sprint (ClickUp starts sprint lists on their start date itself, and its API cannot set that date)",
        })
    }

    async fn complete_sprint(&self, _id: &str) -> ProviderResult<Sprint> {
        Err(ProviderError::Unsupported {
            provider: NAME,
            operation: "completing a sprint (ClickUp closes sprint lists on their due date itself, moving unfinished tasks as the Sprints ClickApp is set up; change the due date with update_sprint instead)",
        })
    }

    async fn sprint_history(
        &self,
        sprint: &str,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let list = number(sprint, "sprint (list)")?;
        let params = vec![
            ("include_closed", "true".to_string()),
            ("subtasks", "true".into()),
            ("include_timl", "true".into()),
        ];
        self.history(vec![(format!("list/{list}/task"), params)], max_items)
            .await
            .map_err(|e| not_found(e, format!("ClickUp list {list}")))
    }

    async fn project_history(
        &self,
        project: &str,
        since: chrono::DateTime<Utc>,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let space = number(project, "space")?;
        let path = format!("team/{}/task", self.team_id().await?);
        let open = vec![
            ("subtasks", "true".to_string()),
            ("space_ids[]", space.clone()),
        ];
        let recent = vec![
            ("include_closed", "true".to_string()),
            ("subtasks", "true".into()),
            ("space_ids[]", space.clone()),
            ("date_updated_gt", since.timestamp_millis().to_string()),
        ];
        let found = self
            .history(vec![(path.clone(), open), (path, recent)], max_items)
            .await?;
        if found.items.is_empty() {
            self.check_space(&space).await?;
        }
        Ok(found)
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        let id = number(id, "sprint (list)")?;
        let _: Value = self
            .up
            .delete(&format!("list/{id}"))
            .await
            .map_err(|e| not_found(e, format!("ClickUp sprint list {id}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert_eq!(number("790", "space").unwrap(), "790");
        assert!(number("79a", "space").is_err());
        assert!(number("../team", "space").is_err());
        assert_eq!(task_ref("86b1x2y3z").unwrap(), "86b1x2y3z");
        assert!(task_ref("9hx/comment").is_err());
        assert!(task_ref("").is_err());
        assert_eq!(segment("needs review/v2"), "needs%20review%2Fv2");
    }

    #[test]
    fn tokens_and_custom_ids() {
        let auth = |t: &str| authorization(&Secret::new(t)).expose().to_string();
        assert_eq!(auth(" pk_42_ABC "), "pk_42_ABC");
        assert_eq!(auth("42_0f6a3c"), "Bearer 42_0f6a3c");
        assert_eq!(auth("Bearer 42_0f6a3c"), "Bearer 42_0f6a3c");
        assert!(is_custom_id("DEV-42") && !is_custom_id("86b1x2y3z"));
        let refused = |m: &str| ProviderError::Invalid {
            provider: NAME,
            message: m.into(),
        };
        // Any refusal, in whatever words, is reported as ClickUp gave it.
        assert_eq!(
            time_in_status_refusal(&refused("Feature unavailable (FEAT_1)")).as_deref(),
            Some("Feature unavailable (FEAT_1)")
        );
        assert!(
            time_in_status_refusal(&ProviderError::Forbidden {
                provider: NAME,
                message: "no".into()
            })
            .is_some()
        );
        for not_refused in [
            ProviderError::NotFound {
                what: "ClickUp task x".into(),
            },
            ProviderError::RateLimited {
                provider: NAME,
                retry_after: None,
            },
            ProviderError::Upstream {
                provider: NAME,
                status: 503,
                message: "down".into(),
            },
        ] {
            assert!(time_in_status_refusal(&not_refused).is_none());
        }
    }

    #[test]
    fn remembered_custom_ids_are_capped() {
        let spec = ConnectionSpec::new(
            ProviderKind::ClickUp,
            pm_core::BaseUrl::parse("https://api.clickup.com/api", false).unwrap(),
            SignIn::ApiKey(Secret::new("pk_1_X")),
            pm_core::ConnectionOptions::default(),
        )
        .unwrap();
        let cu = ClickUp::new(reqwest::Client::new(), &spec, HttpSettings::default()).unwrap();
        for i in 0..=CUSTOM_IDS_MAX + 5 {
            cu.remember_custom(&format!("dev-{i}"), &format!("86x{i}"));
        }
        let n = cu.custom_ids.lock().unwrap().len();
        assert!((1..=CUSTOM_IDS_MAX).contains(&n), "{n}");
        let last = CUSTOM_IDS_MAX + 5;
        assert_eq!(
            cu.known_custom(&format!("DEV-{last}")),
            Some(format!("86x{last}"))
        );
    }

    #[test]
    fn task_cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_task_cursor(None).unwrap(), (0, 0));
        let c = encode_task_cursor(3, 40);
        assert_eq!(decode_task_cursor(Some(&c)).unwrap(), (3, 40));
        assert!(decode_task_cursor(Some("o:5")).is_err());
        assert!(decode_task_cursor(Some("t:3")).is_err());
        assert!(decode_task_cursor(Some("t:3.999")).is_err());
    }
}
