//! OpenProject (13 and later; API v3, HAL+JSON, Basic `apikey:<token>`): projects, work packages
//! as tasks (the Epic type as epics, the parent as the epic link), versions as sprints, activities
//! as comments, time entries as worklogs (ISO-8601 durations), watchers, relations, story points
//! (`storyPoints` of the Backlogs module, or a custom field named so, found in the schema).
//!
//! OpenProject's traps, handled here: without a `filters` parameter a work-package list shows open
//! work packages only (so a status filter `*` is always sent); `offset` is a page number; filters
//! are JSON in the query string; every change goes through the form endpoint first (for the
//! workflow's verdict in plain words) and then a PATCH carrying `lockVersion`, retried once on 409;
//! links are followed only on the connection's own origin; time entries name their work package
//! `workPackage` up to 15 and `entity` from 16 on (read from the time-entry schema, cached), and
//! take the time-entry form's activity where the site has no default one; a project's versions
//! list holds versions shared with it (its sprints are those it defines); milestones have one
//! `date`; every change mails the people interested unless `notify=false` (the connection's
//! `notify` option; bulk changes are quiet by default); activities link their author without a
//! name (read once per user).
mod filters;
mod history;
mod map;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use pm_core::{
    Assignee, Comment, ConnectionSpec, NewSprint, NewTask, Page, PageRequest, Project, Provider,
    ProviderError, ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState, Task,
    TaskChange, TaskQuery, TaskType, Transition, User, Vocabulary, Worklog,
};
use pm_core::{Secret, SignIn};
use serde_json::{Value, json};

use self::filters::{Filters, sort_by};
use crate::cursor;
use crate::http::{HttpSettings, Upstream};
use crate::ids::{self, not_found};

const P: &str = "OpenProject";
/// OpenProject's own limit is a site setting (1000 by default); pm-mcp pages stay small.
const MAX_LIMIT: u32 = 100;
/// Whole lists (statuses, versions, comments) are read at most this many pages deep.
const MAX_PAGES: usize = 50;

pub struct OpenProject {
    up: Upstream,
    statuses: tokio::sync::OnceCell<Vec<wire::Status>>,
    /// How time entries name their work package: `workPackage` (≤ 15) or `entity` (≥ 16).
    time_entry_link: tokio::sync::OnceCell<&'static str>,
    me: tokio::sync::OnceCell<String>,
    /// Schemas already read, the custom-field keys among them named like story points, and the
    /// names (in the account's language) they give the properties history reads.
    points: Mutex<Known>,
    /// The connection's `notify` option: whether changes mail the people interested in the work
    /// package (`None`: single changes do, bulk changes do not).
    notify: Option<bool>,
    /// This client serves a bulk change.
    bulk: bool,
    /// Users' names by id, read for links that carry no title (activities' authors).
    names: Mutex<HashMap<String, String>>,
}

impl OpenProject {
    /// The client for an OpenProject connection: its API key as Basic `apikey:<key>`, and the
    /// `notify` option.
    pub fn new(
        client: reqwest::Client,
        spec: &ConnectionSpec,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let SignIn::ApiKey(api_key) = &spec.sign_in else {
            return Err(ProviderError::BadInput(
                "OpenProject signs in with an API key".into(),
            ));
        };
        // A pasted API address (`https://op.acme.org/api/v3`) names the same site.
        let trimmed = spec.base_url.as_str().trim_end_matches('/');
        let base_url = trimmed.strip_suffix("/api/v3").unwrap_or(trimmed);
        // Every text holding the key on the way to the header is wiped after use.
        let pair = Secret::new(format!("apikey:{}", api_key.expose().trim()));
        let encoded = Secret::new(base64::engine::general_purpose::STANDARD.encode(pair.expose()));
        let auth = Secret::new(format!("Basic {}", encoded.expose()));
        let auth = crate::http::credential(auth, "API key")?;
        let up = Upstream::new(
            client,
            base_url,
            "authorization",
            auth,
            P,
            map::error_text,
            settings,
        )?
        .with_accept("application/hal+json, application/json");
        Ok(Self {
            up,
            statuses: tokio::sync::OnceCell::new(),
            time_entry_link: tokio::sync::OnceCell::new(),
            me: tokio::sync::OnceCell::new(),
            points: Mutex::default(),
            notify: spec.options.notify,
            bulk: false,
            names: Mutex::default(),
        })
    }

    /// `path` with `notify=false` when this change should mail nobody. OpenProject's `notify`
    /// (on creating, changing and commenting a work package) is true by default and "controls
    /// notifications for all users interested in changes to the work package (e.g. watchers,
    /// author and assignee)".
    fn told(&self, path: String) -> String {
        if self.notify.unwrap_or(!self.bulk) {
            path
        } else {
            format!("{path}?notify=false")
        }
    }

    fn site(&self) -> String {
        self.up.base().as_str().trim_end_matches('/').to_string()
    }

    /// The absolute path OpenProject uses in links (`/openproject/api/v3/...` under a sub-path).
    fn href(&self, rest: &str) -> String {
        format!("{}api/v3/{rest}", self.up.base().path())
    }

    /// Every element of a collection, following `nextByOffset` on the same origin only.
    async fn all<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> ProviderResult<Vec<T>> {
        let mut page: wire::Collection<T> = self.up.get(path, query).await?;
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            out.append(&mut page.embedded.elements);
            let Some(next) = page
                .links
                .next_by_offset
                .as_ref()
                .and_then(|l| l.href.clone())
            else {
                return Ok(out);
            };
            page = self.up.get_href(&next).await?;
        }
        Ok(out)
    }

    /// One page of a collection, from a row-offset cursor (OpenProject counts pages).
    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        mut query: Vec<(&str, String)>,
        page: &PageRequest,
    ) -> ProviderResult<Page<T>> {
        let offset = cursor::decode_offset(page.cursor.as_deref())?;
        let (number, size) = map::page_for(offset, page.limit.min(MAX_LIMIT));
        query.push(("offset", number.to_string()));
        query.push(("pageSize", size.to_string()));
        let res: wire::Collection<T> = self.up.get(path, &query).await?;
        let got = res.embedded.elements.len() as u64;
        let end = offset + got;
        let more = got > 0
            && match res.total {
                Some(total) => end < total,
                None => res.links.next_by_offset.is_some(),
            };
        Ok(Page {
            items: res.embedded.elements,
            next: more.then(|| cursor::encode_offset(end)),
        })
    }

    async fn statuses(&self) -> ProviderResult<&Vec<wire::Status>> {
        self.statuses
            .get_or_try_init(|| async { self.all("api/v3/statuses", &[]).await })
            .await
    }

    async fn status_by_name(&self, name: &str) -> ProviderResult<wire::Status> {
        let all = self.statuses().await?;
        all.iter()
            .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                ProviderError::BadInput(format!(
                    "OpenProject has no status {name:?}; it has: {}",
                    names.join(", ")
                ))
            })
    }

    /// A type, priority or similar by name from a list; the error lists the names there are.
    async fn named(&self, path: &str, what: &str, name: &str) -> ProviderResult<u64> {
        let items: Vec<wire::Named> = self.all(path, &[]).await?;
        items
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
            .map(|t| t.id)
            .ok_or_else(|| {
                let names: Vec<&str> = items.iter().map(|t| t.name.as_str()).collect();
                ProviderError::BadInput(format!(
                    "OpenProject has no {what} {name:?} here; it has: {}",
                    names.join(", ")
                ))
            })
    }

    async fn epic_type(&self, project: Option<&str>) -> ProviderResult<u64> {
        let path = match project {
            Some(p) => format!("api/v3/projects/{p}/types"),
            None => "api/v3/types".into(),
        };
        self.named(&path, "work package type", "Epic")
            .await
            .map_err(|e| match e {
                ProviderError::BadInput(m) => ProviderError::BadInput(format!(
                    "{m} (epics are work packages of the type Epic; an administrator can add it to the project)"
                )),
                other => other,
            })
    }

    /// The id of the account the connection signs in as (read once).
    async fn me(&self) -> ProviderResult<String> {
        self.me
            .get_or_try_init(|| async {
                let me: wire::User = self.up.get("api/v3/users/me", &[]).await?;
                Ok::<_, ProviderError>(me.id.to_string())
            })
            .await
            .cloned()
    }

    async fn time_entry_link(&self) -> ProviderResult<&'static str> {
        self.time_entry_link
            .get_or_try_init(|| async {
                let schema: Value = self.up.get("api/v3/time_entries/schema", &[]).await?;
                Ok::<_, ProviderError>(if schema.get("entity").is_some() {
                    "entity"
                } else {
                    "workPackage"
                })
            })
            .await
            .copied()
    }

    /// Learns which custom fields hold story points from the schemas of these work packages
    /// (one request for all the schemas not seen yet; none once they are known).
    async fn learn_points(&self, wps: &[wire::WorkPackage]) -> ProviderResult<HashSet<String>> {
        let wanted: Vec<&wire::WorkPackage> = wps
            .iter()
            .filter(|w| {
                w.story_points.is_none() && w.other.keys().any(|k| k.starts_with("customField"))
            })
            .collect();
        self.learn_schemas(&wanted).await?;
        Ok(self
            .points
            .lock()
            .map(|k| k.points.clone())
            .unwrap_or_default())
    }

    /// Reads the schemas of these work packages not read yet, in one request.
    async fn learn_schemas(&self, wps: &[&wire::WorkPackage]) -> ProviderResult<()> {
        let unknown: Vec<String> = {
            let Ok(known) = self.points.lock() else {
                return Ok(());
            };
            let mut ids: Vec<String> = wps
                .iter()
                .filter_map(|w| w.links.schema.id().map(str::to_string))
                .filter(|id| !known.seen.contains(id))
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        if unknown.is_empty() {
            return Ok(());
        }
        let f = Filters::new().add("id", "=", &unknown);
        let schemas: Vec<wire::Schema> = self
            .all("api/v3/work_packages/schemas", &[("filters", f.to_query())])
            .await?;
        if let Ok(mut known) = self.points.lock() {
            known.seen.extend(unknown);
            for s in schemas {
                let keys = points_keys(&s.properties);
                known.labels.learn(&s.properties, &keys);
                known.points.extend(keys);
            }
        }
        Ok(())
    }

    /// The schemas' names for status, version and story points (every schema of `wps` read).
    async fn labels(&self, wps: &[wire::WorkPackage]) -> ProviderResult<history::Labels> {
        let all: Vec<&wire::WorkPackage> = wps.iter().collect();
        self.learn_schemas(&all).await?;
        Ok(self
            .points
            .lock()
            .map(|k| k.labels.clone())
            .unwrap_or_default())
    }

    async fn to_tasks(&self, wps: Vec<wire::WorkPackage>) -> ProviderResult<Vec<Task>> {
        let closed: HashMap<String, bool> = self
            .statuses()
            .await?
            .iter()
            .map(|s| (s.id.to_string(), s.is_closed))
            .collect();
        let keys = self.learn_points(&wps).await?;
        let site = self.site();
        Ok(wps
            .into_iter()
            .map(|w| {
                let field = keys.iter().find(|k| w.other.contains_key(*k)).cloned();
                map::task(
                    w,
                    &site,
                    &|id| closed.get(id).copied().unwrap_or(false),
                    field.as_deref(),
                )
            })
            .collect())
    }

    async fn to_task(&self, w: wire::WorkPackage) -> ProviderResult<Task> {
        self.to_tasks(vec![w])
            .await?
            .pop()
            .ok_or_else(|| ProviderError::Decode {
                provider: P,
                message: "no work package".into(),
            })
    }

    async fn wp(&self, id: u64) -> ProviderResult<wire::WorkPackage> {
        self.up
            .get(&format!("api/v3/work_packages/{id}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{id}")))
    }

    /// Changes a work package the way OpenProject wants it: the form endpoint first (its
    /// validation errors, e.g. a status the workflow does not allow, come back in plain words),
    /// then a PATCH carrying the `lockVersion` just read. Someone else's edit in between (409)
    /// is retried once from a fresh read.
    async fn change(&self, id: u64, changes: Value) -> ProviderResult<wire::WorkPackage> {
        for attempt in 0..2 {
            let current = self.wp(id).await?;
            let mut body = changes.clone();
            // A milestone has one date, `date`: its finish date is that.
            if map::is_milestone(&current)
                && let Some(d) = body.as_object_mut().and_then(|o| o.remove("dueDate"))
            {
                body["date"] = d;
            }
            body["lockVersion"] = json!(current.lock_version);
            let form: wire::Form = match self
                .up
                .post(&format!("api/v3/work_packages/{id}/form"), &body)
                .await
            {
                Ok(f) => f,
                Err(ProviderError::Conflict { .. }) if attempt == 0 => continue,
                Err(e) => return Err(conflict_words(e, id)),
            };
            if !form.embedded.validation_errors.is_empty() {
                return Err(self.explain(&current, &form));
            }
            match self
                .up
                .patch::<wire::WorkPackage, _>(
                    &self.told(format!("api/v3/work_packages/{id}")),
                    &body,
                )
                .await
            {
                Ok(w) => return Ok(w),
                Err(ProviderError::Conflict { .. }) if attempt == 0 => continue,
                Err(e) => return Err(conflict_words(e, id)),
            }
        }
        Err(conflict_words(
            ProviderError::Conflict {
                provider: P,
                message: String::new(),
            },
            id,
        ))
    }

    /// A form's validation errors in words; a refused status names the ones the workflow allows.
    fn explain(&self, current: &wire::WorkPackage, form: &wire::Form) -> ProviderError {
        let errors = &form.embedded.validation_errors;
        if errors.contains_key("status") {
            let allowed: Vec<String> = form
                .embedded
                .schema
                .as_ref()
                .and_then(|s| s.pointer("/status/_embedded/allowedValues"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.get("name").and_then(Value::as_str))
                        .filter(|n| Some(*n) != current.links.status.title.as_deref())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            return ProviderError::BadInput(format!(
                "#{} is {:?} and the workflow does not allow that status for this account ({}); it can move to: {}",
                current.id,
                current.links.status.title.as_deref().unwrap_or("unknown"),
                map::validation_text(errors),
                if allowed.is_empty() {
                    "nothing".to_string()
                } else {
                    allowed.join(", ")
                }
            ));
        }
        ProviderError::Invalid {
            provider: P,
            message: map::validation_text(errors),
        }
    }

    /// The JSON key that holds story points for this work package, from its schema.
    async fn points_key(&self, w: &wire::WorkPackage) -> ProviderResult<Option<String>> {
        let Some(href) = w.links.schema.href.clone() else {
            return Ok(None);
        };
        let schema: wire::Schema = self.up.get_href(&href).await?;
        if schema.properties.contains_key("storyPoints") {
            return Ok(Some("storyPoints".into()));
        }
        Ok(points_keys(&schema.properties).into_iter().next())
    }

    async fn task_changes(&self, id: u64, c: &TaskChange) -> ProviderResult<Value> {
        let mut body = json!({});
        let mut links = serde_json::Map::new();
        if let Some(t) = &c.title {
            body["subject"] = json!(t.trim());
        }
        if let Some(d) = &c.description {
            body["description"] = json!({ "raw": d });
        }
        if let Some(p) = &c.priority {
            let pid = self.named("api/v3/priorities", "priority", p).await?;
            links.insert("priority".into(), self.link(&format!("priorities/{pid}")));
        }
        if let Some(a) = &c.assignee {
            links.insert("assignee".into(), self.user_link(a.as_deref())?);
        }
        if let Some(d) = c.due_date {
            body["dueDate"] = json!(d.format("%Y-%m-%d").to_string());
        }
        if let Some(l) = &c.labels {
            no_labels(l)?;
        }
        if let Some(h) = c.estimated_hours {
            if !(h.is_finite() && h >= 0.0) {
                return Err(ProviderError::BadInput(
                    "estimated_hours must be a positive number".into(),
                ));
            }
            body["estimatedTime"] = json!(map::format_duration((h * 3600.0).round() as i64));
        }
        if let Some(h) = c.remaining_hours {
            if !(h.is_finite() && h >= 0.0) {
                return Err(ProviderError::BadInput(
                    "remaining_hours must be a positive number".into(),
                ));
            }
            body["remainingTime"] = json!(map::format_duration((h * 3600.0).round() as i64));
        }
        if let Some(s) = &c.sprint {
            let v = number(s, "version")?;
            links.insert("version".into(), self.link(&format!("versions/{v}")));
        }
        if let Some(points) = c.story_points {
            let w = self.wp(id).await?;
            let key = self.points_key(&w).await?.ok_or(ProviderError::Unsupported {
                provider: P,
                operation: "story points here (the work package's type has neither the Backlogs module's story points nor a custom field named \"Story Points\")",
            })?;
            // Backlogs' story points and most such custom fields are integers.
            body[key] = if points.fract() == 0.0 && points.abs() < 1e9 {
                json!(points as i64)
            } else {
                json!(points)
            };
        }
        if !links.is_empty() {
            body["_links"] = Value::Object(links);
        }
        Ok(body)
    }

    fn link(&self, rest: &str) -> Value {
        json!({ "href": self.href(rest) })
    }

    fn user_link(&self, user: Option<&str>) -> ProviderResult<Value> {
        Ok(match user {
            Some(u) => self.link(&format!("users/{}", number(u, "user")?)),
            None => json!({ "href": null }),
        })
    }

    /// `got` as it is, unless it is refused as invalid or `empty` says it found nothing: then
    /// `exists` looks up the thing asked about, and its "not found" is the answer.
    async fn or_missing<T, U>(
        &self,
        got: ProviderResult<T>,
        empty: impl FnOnce(&T) -> bool,
        exists: impl std::future::Future<Output = ProviderResult<U>>,
    ) -> ProviderResult<T> {
        let look = match &got {
            Ok(t) => empty(t),
            Err(e) => matches!(e, ProviderError::Invalid { .. }),
        };
        if look && let Err(missing @ ProviderError::NotFound { .. }) = exists.await {
            return Err(missing);
        }
        got
    }

    /// The activity to log time with when the time-entry form says the activity is missing
    /// (`validationErrors.activity`, whatever the account's language): the one the form marks
    /// as the default, else the first it allows. `None` when the activity is not what is wrong.
    async fn form_activity(&self, body: &Value) -> ProviderResult<Option<String>> {
        let form: wire::Form = self.up.post("api/v3/time_entries/form", body).await?;
        if !form.embedded.validation_errors.contains_key("activity") {
            return Ok(None);
        }
        let activity = form
            .embedded
            .schema
            .as_ref()
            .and_then(|s| s.get("activity"));
        let embedded = activity
            .and_then(|a| a.pointer("/_embedded/allowedValues"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let href_of = |v: &Value| -> Option<String> {
            v.pointer("/_links/self/href")
                .or_else(|| v.get("href"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let chosen = embedded
            .iter()
            .find(|v| v.get("default").and_then(Value::as_bool) == Some(true))
            .or(embedded.first())
            .and_then(href_of)
            .or_else(|| {
                activity
                    .and_then(|a| a.pointer("/_links/allowedValues/0"))
                    .and_then(href_of)
            });
        match chosen {
            Some(href) => Ok(Some(href)),
            None => Err(ProviderError::BadInput(
                "OpenProject needs an activity for this time entry, and the site has no default activity and offers none for this project; an administrator can enable one (Administration → Time and costs → Activities)".into(),
            )),
        }
    }

    /// Comments with their authors named: an activity's link to its author has no title, so
    /// each author is read once (`/api/v3/users/{id}`, cached); one this account may not see
    /// is named in words.
    async fn named_comments(&self, acts: Vec<wire::Activity>) -> ProviderResult<Vec<Comment>> {
        let mut comments: Vec<Comment> = acts.into_iter().filter_map(map::comment).collect();
        for c in &mut comments {
            let Some(author) = c.author.as_mut() else {
                continue;
            };
            if author.name != author.id {
                continue;
            }
            author.name = self.user_name(&author.id).await?;
        }
        Ok(comments)
    }

    async fn user_name(&self, id: &str) -> ProviderResult<String> {
        if let Some(n) = self.names.lock().ok().and_then(|n| n.get(id).cloned()) {
            return Ok(n);
        }
        let name = match self
            .up
            .get::<wire::User>(&format!("api/v3/users/{id}"), &[])
            .await
        {
            Ok(u) => map::user(u).name,
            Err(ProviderError::NotFound { .. } | ProviderError::Forbidden { .. }) => {
                format!("OpenProject user {id} (not visible to this account)")
            }
            Err(e) => return Err(e),
        };
        if let Ok(mut n) = self.names.lock() {
            // Bounded: past 10,000 users the names are read again.
            if n.len() >= 10_000 {
                n.clear();
            }
            n.insert(id.to_string(), name.clone());
        }
        Ok(name)
    }

    async fn version(&self, id: u64) -> ProviderResult<wire::Version> {
        self.up
            .get(&format!("api/v3/versions/{id}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject version {id}")))
    }

    async fn patch_version(&self, id: u64, body: Value) -> ProviderResult<Sprint> {
        let v: wire::Version = self
            .up
            .patch(&format!("api/v3/versions/{id}"), &body)
            .await
            .map_err(|e| not_found(e, format!("OpenProject version {id}")))?;
        Ok(map::sprint(v, today()))
    }
}

/// What the work-package schemas read so far say.
#[derive(Default, Clone)]
struct Known {
    /// Ids of the schemas read (`1-7`: project 1, type 7).
    seen: HashSet<String>,
    /// Custom-field keys named like story points.
    points: HashSet<String>,
    labels: history::Labels,
}

/// Keys of custom fields a schema names like story points.
fn points_keys(properties: &HashMap<String, Value>) -> Vec<String> {
    properties
        .iter()
        .filter(|(k, _)| k.starts_with("customField"))
        .filter(|(_, v)| {
            v.get("name")
                .and_then(Value::as_str)
                .map(|n| {
                    let n = n.to_lowercase();
                    n == "story points" || n == "storypoints" || n == "points" || n == "sp"
                })
                .unwrap_or(false)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn no_labels(labels: &[String]) -> ProviderResult<()> {
    if labels.is_empty() {
        Ok(())
    } else {
        Err(ProviderError::Unsupported {
            provider: P,
            operation: "labels (OpenProject has no labels; categories or custom fields serve instead)",
        })
    }
}

fn number(id: &str, what: &str) -> ProviderResult<u64> {
    ids::number(P, id, what)
}

/// A project id or identifier, safe in a path.
fn project_ref(id: &str) -> ProviderResult<String> {
    ids::slug(P, id, "project id or identifier", 100)
}

fn conflict_words(e: ProviderError, id: u64) -> ProviderError {
    match e {
        ProviderError::Conflict { .. } => ProviderError::Conflict {
            provider: P,
            message: format!(
                "#{id} was changed by someone else twice while pm-mcp was saving; nothing was saved, read it again and retry"
            ),
        },
        other => other,
    }
}

#[async_trait]
impl Provider for OpenProject {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenProject
    }

    async fn whoami(&self) -> ProviderResult<User> {
        let me: wire::User = self.up.get("api/v3/users/me", &[]).await?;
        Ok(map::user(me))
    }

    /// A bulk change mails nobody unless the connection's `notify` option says otherwise.
    fn for_bulk(&self) -> Option<std::sync::Arc<dyn Provider>> {
        if self.notify.is_some() {
            return None;
        }
        Some(std::sync::Arc::new(OpenProject {
            up: self.up.clone(),
            statuses: self.statuses.clone(),
            time_entry_link: self.time_entry_link.clone(),
            me: self.me.clone(),
            points: Mutex::new(self.points.lock().map(|k| k.clone()).unwrap_or_default()),
            notify: None,
            bulk: true,
            names: Mutex::new(self.names.lock().map(|n| n.clone()).unwrap_or_default()),
        }))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        let root: wire::Root = self.up.get("api/v3", &[]).await?;
        Ok(SiteInfo {
            product: match &root.instance_name {
                Some(n) if !n.trim().is_empty() && n != "OpenProject" => {
                    format!("OpenProject ({n})")
                }
                _ => "OpenProject".into(),
            },
            version: root.core_version,
            base_url: self.site(),
            workspace_id: None,
        })
    }

    async fn list_projects(&self, page: &PageRequest) -> ProviderResult<Page<Project>> {
        let query = vec![
            ("filters", Filters::new().to_query()),
            ("sortBy", sort_by("id", false)),
        ];
        let res: Page<wire::Project> = self.page("api/v3/projects", query, page).await?;
        let site = self.site();
        Ok(Page {
            items: res
                .items
                .into_iter()
                .map(|p| map::project(p, &site))
                .collect(),
            next: res.next,
        })
    }

    async fn search_projects(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let text = query.trim();
        if text.is_empty() {
            return Err(ProviderError::BadInput("the search text is empty".into()));
        }
        let f = Filters::new().add("name_and_identifier", "~", &[text]);
        let q = vec![("filters", f.to_query()), ("sortBy", sort_by("id", false))];
        let res: Page<wire::Project> = self.page("api/v3/projects", q, page).await?;
        let site = self.site();
        Ok(Page {
            items: res
                .items
                .into_iter()
                .map(|p| map::project(p, &site))
                .collect(),
            next: res.next,
        })
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let p: wire::Project = self
            .up
            .get(&format!("api/v3/projects/{id}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {id}")))?;
        Ok(map::project(p, &self.site()))
    }

    async fn create_project(
        &self,
        name: &str,
        key: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let identifier = match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_lowercase(),
            None => identifier_from(name),
        };
        let mut body = json!({ "name": name.trim(), "identifier": identifier });
        if let Some(d) = description {
            body["description"] = json!({ "raw": d });
        }
        let p: wire::Project = self.up.post("api/v3/projects", &body).await?;
        Ok(map::project(p, &self.site()))
    }

    async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let mut body = json!({});
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            body["name"] = json!(n);
        }
        if let Some(d) = description {
            body["description"] = json!({ "raw": d });
        }
        let p: wire::Project = self
            .up
            .patch(&format!("api/v3/projects/{id}"), &body)
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {id}")))?;
        Ok(map::project(p, &self.site()))
    }

    /// OpenProject's project statuses (`/api/v3/project_statuses/{id}`).
    fn project_statuses(&self) -> &'static [&'static str] {
        &[
            "on_track",
            "at_risk",
            "off_track",
            "not_started",
            "finished",
            "discontinued",
        ]
    }

    async fn update_project_status(&self, id: &str, status: &str) -> ProviderResult<Project> {
        let id = project_ref(id)?;
        let status = status.trim().to_ascii_lowercase();
        if !self.project_statuses().contains(&status.as_str()) {
            return Err(ProviderError::BadInput(format!(
                "OpenProject has no project status {status:?}; use one of {}",
                self.project_statuses().join(", ")
            )));
        }
        let body =
            json!({ "_links": { "status": self.link(&format!("project_statuses/{status}")) } });
        let p: wire::Project = self
            .up
            .patch(&format!("api/v3/projects/{id}"), &body)
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {id}")))?;
        Ok(map::project(p, &self.site()))
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        let id = project_ref(id)?;
        let _: Value = self
            .up
            .delete(&format!("api/v3/projects/{id}"))
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {id}")))?;
        Ok(())
    }

    async fn search_tasks(&self, q: &TaskQuery, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let mut f = Filters::new();
        if q.statuses.is_empty() {
            // Without a status filter OpenProject lists open work packages only.
            f = f.add("status", "*", &[] as &[&str]);
        } else {
            let mut ids = Vec::new();
            for name in &q.statuses {
                ids.push(self.status_by_name(name).await?.id.to_string());
            }
            f = f.add("status", "=", &ids);
        }
        let sprint = q
            .sprint
            .as_deref()
            .map(|s| number(s, "version"))
            .transpose()?;
        if let Some(s) = sprint {
            f = f.add("version", "=", &[s.to_string()]);
        }
        match &q.assignee {
            Some(Assignee::Me) => f = f.add("assignee", "=", &["me"]),
            Some(Assignee::Nobody) => f = f.add("assignee", "!*", &[] as &[&str]),
            Some(Assignee::User(u)) => {
                f = f.add("assignee", "=", &[number(u, "user")?.to_string()])
            }
            None => {}
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            f = f.add("subject", "~", &[t]);
        }
        let path = match &q.project {
            Some(p) => format!("api/v3/projects/{}/work_packages", project_ref(p)?),
            None => "api/v3/work_packages".to_string(),
        };
        let query = vec![
            ("filters", f.to_query()),
            ("sortBy", sort_by("updatedAt", true)),
        ];
        let listed = self
            .page(&path, query, page)
            .await
            .map_err(|e| match (&q.project, e) {
                (Some(p), ProviderError::NotFound { .. }) => ProviderError::NotFound {
                    what: format!("OpenProject project {p}"),
                },
                (_, e) => e,
            });
        // A version that does not exist lists nothing (or its filter value is refused): look,
        // and say "not found" when that is why.
        let res: Page<wire::WorkPackage> = match sprint {
            Some(s) => {
                self.or_missing(listed, |r| r.items.is_empty(), self.version(s))
                    .await?
            }
            None => listed?,
        };
        Ok(Page {
            items: self.to_tasks(res.items).await?,
            next: res.next,
        })
    }

    async fn project_vocabulary(
        &self,
        project: &str,
        task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        let project = project_ref(project)?;
        let p: wire::Project = self
            .up
            .get(&format!("api/v3/projects/{project}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
        let types: Vec<wire::Named> = self
            .all(&format!("api/v3/projects/{}/types", p.id), &[])
            .await?;
        let task_types = TaskType::in_order(types.iter().map(|t| t.name.as_str()), true);
        let statuses = self
            .statuses()
            .await?
            .iter()
            .map(|s| map::status(&s.name, s.is_closed))
            .collect();
        let priorities: Vec<wire::Named> = self.all("api/v3/priorities", &[]).await?;
        let mut notes = vec![
            "statuses are the site's; each type's workflow allows a subset (task_id gives one task's moves)".to_string(),
        ];
        if let Some(d) = priorities.iter().find(|p| p.is_default) {
            notes.push(format!("default priority: {}", d.name));
        }
        let transitions = match task {
            Some(t) => {
                notes.push("OpenProject transitions have no names: set the status itself".into());
                // The form answers with the statuses the workflow allows this account from the
                // work package's current status (type and role decide).
                let n = number(t, "work package")?;
                let current = self.wp(n).await?;
                let form: wire::Form = match self
                    .up
                    .post(
                        &format!("api/v3/work_packages/{n}/form"),
                        &json!({ "lockVersion": current.lock_version }),
                    )
                    .await
                {
                    Ok(f) => f,
                    // An account that may read but not edit the work package has no moves.
                    Err(ProviderError::Forbidden { .. }) => {
                        notes.push(format!(
                            "this account may not change #{n}, so it can move it nowhere"
                        ));
                        wire::Form {
                            embedded: wire::FormEmbedded::default(),
                        }
                    }
                    Err(e) => {
                        return Err(not_found(e, format!("OpenProject work package #{n}")));
                    }
                };
                let now = current.links.status.title.as_deref();
                Some(
                    form.embedded
                        .schema
                        .as_ref()
                        .and_then(|s| s.pointer("/status/_embedded/allowedValues"))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.get("name").and_then(Value::as_str))
                                .filter(|n| Some(*n) != now)
                                .map(|n| Transition {
                                    to_status: n.to_string(),
                                    name: None,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            }
            None => None,
        };
        Ok(Vocabulary {
            statuses,
            priorities: priorities.into_iter().map(|p| p.name).collect(),
            task_types,
            transitions,
            notes,
        })
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        let w = self.wp(number(id, "work package")?).await?;
        self.to_task(w).await
    }

    async fn create_task(&self, t: &NewTask) -> ProviderResult<Task> {
        let project = project_ref(&t.project)?;
        no_labels(&t.labels)?;
        // OpenProject documents project, type, status and priority as required links; the ones
        // not given are its defaults (the project's "Task" type or its first, the default
        // status and priority).
        let p: wire::Project = self
            .up
            .get(&format!("api/v3/projects/{project}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
        let types: Vec<wire::Named> = self
            .all(&format!("api/v3/projects/{}/types", p.id), &[])
            .await?;
        let wanted = t.task_type.as_deref().unwrap_or("Task");
        let kind = types
            .iter()
            .find(|k| k.name.eq_ignore_ascii_case(wanted.trim()))
            .or(if t.task_type.is_none() {
                types.first()
            } else {
                None
            })
            .ok_or_else(|| {
                let names: Vec<&str> = types.iter().map(|k| k.name.as_str()).collect();
                ProviderError::BadInput(format!(
                    "project {} has no work package type {wanted:?}; it has: {}",
                    p.identifier,
                    names.join(", ")
                ))
            })?;
        let priorities: Vec<wire::Named> = self.all("api/v3/priorities", &[]).await?;
        let priority = match &t.priority {
            Some(name) => priorities
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| {
                    let names: Vec<&str> = priorities.iter().map(|x| x.name.as_str()).collect();
                    ProviderError::BadInput(format!(
                        "OpenProject has no priority {name:?}; it has: {}",
                        names.join(", ")
                    ))
                })?,
            None => priorities
                .iter()
                .find(|x| x.is_default)
                .or(priorities.first())
                .ok_or_else(|| ProviderError::Decode {
                    provider: P,
                    message: "the site has no priorities".into(),
                })?,
        };
        let statuses = self.statuses().await?;
        let status = statuses
            .iter()
            .find(|s| s.is_default)
            .or(statuses.first())
            .ok_or_else(|| ProviderError::Decode {
                provider: P,
                message: "the site has no statuses".into(),
            })?;
        let mut links = serde_json::Map::new();
        links.insert("project".into(), self.link(&format!("projects/{}", p.id)));
        links.insert("type".into(), self.link(&format!("types/{}", kind.id)));
        links.insert(
            "priority".into(),
            self.link(&format!("priorities/{}", priority.id)),
        );
        links.insert(
            "status".into(),
            self.link(&format!("statuses/{}", status.id)),
        );
        if let Some(a) = &t.assignee {
            links.insert("assignee".into(), self.user_link(Some(a))?);
        }
        if let Some(parent) = &t.parent {
            let parent = number(parent, "work package")?;
            links.insert(
                "parent".into(),
                self.link(&format!("work_packages/{parent}")),
            );
        }
        let mut body = json!({ "subject": t.title.trim(), "_links": links });
        if let Some(d) = &t.description {
            body["description"] = json!({ "raw": d });
        }
        if let Some(d) = t.due_date {
            // A milestone has one date, `date`.
            let key = if kind.is_milestone { "date" } else { "dueDate" };
            body[key] = json!(d.format("%Y-%m-%d").to_string());
        }
        let created: wire::WorkPackage = self
            .up
            .post(
                &self.told(format!("api/v3/projects/{}/work_packages", p.id)),
                &body,
            )
            .await?;
        self.to_task(created).await
    }

    async fn update_task(&self, id: &str, c: &TaskChange) -> ProviderResult<Task> {
        let n = number(id, "work package")?;
        let body = self.task_changes(n, c).await?;
        let w = self.change(n, body).await?;
        self.to_task(w).await
    }

    async fn transition_task(&self, id: &str, status: &str) -> ProviderResult<Task> {
        let n = number(id, "work package")?;
        let target = self.status_by_name(status).await?;
        let body = json!({ "_links": { "status": self.link(&format!("statuses/{}", target.id)) } });
        let w = self.change(n, body).await?;
        self.to_task(w).await
    }

    async fn assign_task(&self, id: &str, assignee: Option<&str>) -> ProviderResult<()> {
        let n = number(id, "work package")?;
        let body = json!({ "_links": { "assignee": self.user_link(assignee)? } });
        self.change(n, body).await?;
        Ok(())
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "work package")?;
        let _: Value = self
            .up
            .delete(&format!("api/v3/work_packages/{n}"))
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{n}")))?;
        Ok(())
    }

    async fn add_comment(&self, task: &str, markdown: &str) -> ProviderResult<Comment> {
        let n = number(task, "work package")?;
        if markdown.trim().is_empty() {
            return Err(ProviderError::BadInput("the comment is empty".into()));
        }
        let a: wire::Activity = self
            .up
            .post(
                &self.told(format!("api/v3/work_packages/{n}/activities")),
                &json!({ "comment": { "raw": markdown } }),
            )
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{n}")))?;
        let id = a.id;
        self.named_comments(vec![a])
            .await?
            .pop()
            .ok_or_else(|| ProviderError::Decode {
                provider: P,
                message: format!("activity {id} was created without the comment"),
            })
    }

    async fn list_comments(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Comment>> {
        let n = number(task, "work package")?;
        let all: Vec<wire::Activity> = self
            .all(&format!("api/v3/work_packages/{n}/activities"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{n}")))?;
        let comments = self.named_comments(all).await?;
        cursor::slice(comments, page)
    }

    async fn log_work(
        &self,
        task: &str,
        seconds: i64,
        started: chrono::DateTime<chrono::Utc>,
        comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        let n = number(task, "work package")?;
        if seconds <= 0 {
            return Err(ProviderError::BadInput(
                "the time to log must be more than zero".into(),
            ));
        }
        let link = self.time_entry_link().await?;
        let wp_link = self.link(&format!("work_packages/{n}"));
        let mut body = json!({
            "hours": map::format_duration(seconds),
            "spentOn": started.format("%Y-%m-%d").to_string(),
            "_links": { link: wp_link },
        });
        if let Some(c) = comment.filter(|c| !c.trim().is_empty()) {
            body["comment"] = json!({ "raw": c });
        }
        // OpenProject documents project and user as required links of a time entry; the activity
        // is left out so that the site's default activity applies.
        let w = self.wp(n).await?;
        let me = self.me().await?;
        body["_links"] = json!({
            link: wp_link,
            "project": { "href": w.links.project.href },
            "user": self.user_link(Some(&me))?,
        });
        let t: wire::TimeEntry = match self.up.post("api/v3/time_entries", &body).await {
            Ok(t) => t,
            Err(e @ ProviderError::Invalid { .. }) => {
                // A site without a default activity refuses it (422 "Activity can't be blank."):
                // the time-entry form, the only place that lists the activities, offers them.
                let Some(activity) = self.form_activity(&body).await? else {
                    return Err(e);
                };
                body["_links"]["activity"] = json!({ "href": activity });
                self.up.post("api/v3/time_entries", &body).await?
            }
            Err(e) => return Err(e),
        };
        map::worklog(t)
    }

    async fn list_worklogs(&self, task: &str, page: &PageRequest) -> ProviderResult<Page<Worklog>> {
        let id = number(task, "work package")?;
        let n = id.to_string();
        let f = match self.time_entry_link().await? {
            "entity" => Filters::new()
                .add("entity_type", "=", &["WorkPackage"])
                .add("entity_id", "=", &[n.as_str()]),
            _ => Filters::new().add("work_package", "=", &[n.as_str()]),
        };
        let q = vec![("filters", f.to_query()), ("sortBy", sort_by("id", false))];
        // A work package that does not exist has no time entries (or its filter value is
        // refused): look, and say "not found" when that is why.
        let listed = self.page("api/v3/time_entries", q, page).await;
        let res: Page<wire::TimeEntry> = self
            .or_missing(listed, |r| r.items.is_empty(), self.wp(id))
            .await?;
        Ok(Page {
            items: res
                .items
                .into_iter()
                .map(map::worklog)
                .collect::<ProviderResult<_>>()?,
            next: res.next,
        })
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        let n = number(task, "work package")?;
        let body = json!({ "user": self.user_link(Some(user))? });
        let _: Value = self
            .up
            .post(&format!("api/v3/work_packages/{n}/watchers"), &body)
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{n}")))?;
        Ok(())
    }

    async fn link_tasks(&self, from: &str, to: &str, link_type: &str) -> ProviderResult<()> {
        let (from, to) = (number(from, "work package")?, number(to, "work package")?);
        let kind = relation_type(link_type)?;
        let body =
            json!({ "type": kind, "_links": { "to": self.link(&format!("work_packages/{to}")) } });
        let linked: ProviderResult<Value> = self
            .up
            .post(&format!("api/v3/work_packages/{from}/relations"), &body)
            .await
            .map_err(|e| not_found(e, format!("OpenProject work package #{from}")));
        // OpenProject answers 422 "Related work package is invalid." for one that does not
        // exist (or that the account cannot see): look, and say "not found" when that is why.
        self.or_missing(linked, |_| false, self.wp(to)).await?;
        Ok(())
    }

    async fn list_users(&self, query: &str, page: &PageRequest) -> ProviderResult<Page<User>> {
        // Principals are visible to every user (the users list needs an administrator).
        let mut f = Filters::new().add("type", "=", &["User"]);
        if let Some(q) = Some(query.trim()).filter(|q| !q.is_empty()) {
            f = f.add("any_name_attribute", "~", &[q]);
        }
        let res: Page<wire::User> = self
            .page("api/v3/principals", vec![("filters", f.to_query())], page)
            .await?;
        Ok(Page {
            items: res
                .items
                .into_iter()
                .filter(|u| u.kind.as_deref().is_none_or(|k| k == "User"))
                .map(map::user)
                .collect(),
            next: res.next,
        })
    }

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        let n = number(id, "user")?;
        let u: wire::User = self
            .up
            .get(&format!("api/v3/users/{n}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject user {n}")))?;
        Ok(map::user(u))
    }

    async fn list_epics(&self, project: &str, page: &PageRequest) -> ProviderResult<Page<Task>> {
        let project = project_ref(project)?;
        let epic = self.epic_type(Some(&project)).await?;
        let f =
            Filters::new()
                .add("status", "*", &[] as &[&str])
                .add("type", "=", &[epic.to_string()]);
        let q = vec![("filters", f.to_query()), ("sortBy", sort_by("id", false))];
        let res: Page<wire::WorkPackage> = self
            .page(&format!("api/v3/projects/{project}/work_packages"), q, page)
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
        Ok(Page {
            items: self.to_tasks(res.items).await?,
            next: res.next,
        })
    }

    async fn set_epic(&self, task: &str, epic: Option<&str>) -> ProviderResult<()> {
        let n = number(task, "work package")?;
        let parent = match epic {
            Some(e) => {
                let e = number(e, "work package")?;
                self.link(&format!("work_packages/{e}"))
            }
            None => json!({ "href": null }),
        };
        self.change(n, json!({ "_links": { "parent": parent } }))
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
        let versions: Vec<wire::Version> = self
            .all(&format!("api/v3/projects/{project}/versions"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
        // The list holds the versions *available* in the project, those other projects share
        // with it among them: its sprints are the ones it defines (the shared ones are listed
        // under the project that defines them).
        let id = match project.parse::<u64>() {
            Ok(n) => n.to_string(),
            Err(_) if versions.is_empty() => String::new(),
            Err(_) => {
                let p: wire::Project = self
                    .up
                    .get(&format!("api/v3/projects/{project}"), &[])
                    .await
                    .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
                p.id.to_string()
            }
        };
        let day = today();
        let all: Vec<Sprint> = versions
            .into_iter()
            .filter(|v| v.links.defining_project.id() == Some(id.as_str()))
            // An open version without dates is a backlog, not a sprint.
            .filter(|v| !map::is_backlog(v))
            .map(|v| map::sprint(v, day))
            .filter(|s| states.is_empty() || states.contains(&s.state))
            .collect();
        cursor::slice(all, page)
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let v = self.version(number(id, "version")?).await?;
        Ok(map::sprint(v, today()))
    }

    async fn create_sprint(&self, s: &NewSprint) -> ProviderResult<Sprint> {
        let project = project_ref(&s.project)?;
        let p: wire::Project = self
            .up
            .get(&format!("api/v3/projects/{project}"), &[])
            .await
            .map_err(|e| not_found(e, format!("OpenProject project {project}")))?;
        let mut body = json!({
            "name": s.name.trim(),
            "status": "open",
            "_links": { "definingProject": self.link(&format!("projects/{}", p.id)) },
        });
        if let Some(start) = s.start {
            body["startDate"] = json!(start.format("%Y-%m-%d").to_string());
        }
        if let Some(end) = s.end {
            body["endDate"] = json!(end.format("%Y-%m-%d").to_string());
        }
        if let Some(g) = &s.goal {
            body["description"] = json!({ "raw": g });
        }
        let v: wire::Version = self.up.post("api/v3/versions", &body).await?;
        Ok(map::sprint(v, today()))
    }

    async fn update_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        self.patch_version(n, sprint_changes(c)).await
    }

    async fn start_sprint(&self, id: &str, c: &SprintChange) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        let current = map::sprint(self.version(n).await?, today());
        if current.state != SprintState::Future {
            return Err(ProviderError::BadInput(format!(
                "version {n} is {:?}, not a future sprint; only a version that starts later can be started",
                current.state
            )));
        }
        let mut body = sprint_changes(c);
        if c.start.is_none() {
            body["startDate"] = json!(today().format("%Y-%m-%d").to_string());
        }
        // The status stays: a future version is open or locked (locked to new work packages,
        // which starting does not change).
        self.patch_version(n, body).await
    }

    fn completes_sprints(&self) -> bool {
        true
    }

    async fn complete_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        let n = number(id, "version")?;
        self.patch_version(n, json!({ "status": "closed" })).await
    }

    async fn sprint_history(
        &self,
        sprint: &str,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let n = number(sprint, "version")?;
        let v = self.version(n).await?;
        let f =
            Filters::new()
                .add("status", "*", &[] as &[&str])
                .add("version", "=", &[n.to_string()]);
        let id = n.to_string();
        self.history("api/v3/work_packages", f, Some((&id, &v.name)), max_items)
            .await
    }

    async fn project_history(
        &self,
        project: &str,
        since: chrono::DateTime<chrono::Utc>,
        max_items: u32,
    ) -> ProviderResult<pm_core::History> {
        let p = project_ref(project)?;
        let path = format!("api/v3/projects/{p}/work_packages");
        let open = Filters::new().add("status", "o", &[] as &[&str]);
        let mut h = self.history(&path, open, None, max_items).await?;
        let left = max_items.saturating_sub(h.items.len() as u32);
        if left > 0 {
            let closed = Filters::new().add("status", "c", &[] as &[&str]).add(
                "updatedAt",
                "<>d",
                &[since.format("%Y-%m-%d").to_string(), String::new()],
            );
            let more = self.history(&path, closed, None, left).await?;
            h.items.extend(more.items);
        }
        Ok(h)
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        let n = number(id, "version")?;
        let _: Value = self
            .up
            .delete(&format!("api/v3/versions/{n}"))
            .await
            .map_err(|e| not_found(e, format!("OpenProject version {n}")))?;
        Ok(())
    }
}

fn sprint_changes(c: &SprintChange) -> Value {
    let mut body = json!({});
    if let Some(n) = c.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        body["name"] = json!(n);
    }
    if let Some(g) = &c.goal {
        body["description"] = json!({ "raw": g });
    }
    if let Some(s) = c.start {
        body["startDate"] = json!(s.format("%Y-%m-%d").to_string());
    }
    if let Some(e) = c.end {
        body["endDate"] = json!(e.format("%Y-%m-%d").to_string());
    }
    body
}

/// A project identifier from a name: lower case, dashes, at most 100 characters, starting with a
/// letter (OpenProject's rule).
fn identifier_from(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let joined = slug
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let trimmed = joined.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    let id: String = if trimmed.is_empty() {
        format!("project-{joined}")
    } else {
        trimmed.to_string()
    };
    id.chars().take(100).collect::<String>()
}

fn relation_type(link_type: &str) -> ProviderResult<&'static str> {
    Ok(match link_type.trim().to_lowercase().as_str() {
        "relates" | "relates to" | "related" | "" => "relates",
        "blocks" => "blocks",
        "blocked by" | "blocked" | "is blocked by" => "blocked",
        "duplicates" | "duplicate" => "duplicates",
        "duplicated by" | "is duplicated by" | "duplicated" => "duplicated",
        "precedes" => "precedes",
        "follows" => "follows",
        "includes" => "includes",
        "part of" | "partof" | "is part of" => "partof",
        "requires" => "requires",
        "required by" | "required" | "is required by" => "required",
        other => {
            return Err(ProviderError::BadInput(format!(
                "OpenProject has no relation {other:?}; use relates, blocks, blocked by, duplicates, duplicated by, precedes, follows, includes, part of, requires or required by"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_from_names() {
        assert_eq!(
            identifier_from("Website Relaunch 2027"),
            "website-relaunch-2027"
        );
        assert_eq!(identifier_from("2027 plan"), "plan");
        assert_eq!(identifier_from("!!!"), "project-");
        assert_eq!(identifier_from(&"a".repeat(300)).len(), 100);
    }

    #[test]
    fn ids_and_relations_are_checked() {
        assert_eq!(number("#42", "work package").unwrap(), 42);
        assert!(number("0", "work package").is_err());
        assert!(number("42/../../users", "work package").is_err());
        assert!(project_ref("demo-project").is_ok());
        assert!(project_ref("../admin").is_err());
        assert!(project_ref("a?b=c").is_err());
        assert_eq!(relation_type("Blocked by").unwrap(), "blocked");
        assert_eq!(relation_type("part of").unwrap(), "partof");
        let e = relation_type("clones").unwrap_err().to_string();
        assert!(e.contains("relates, blocks"), "{e}");
    }

    #[test]
    fn story_point_fields_are_found_by_name() {
        let props: HashMap<String, Value> = serde_json::from_value(json!({
            "subject": { "name": "Subject" },
            "customField3": { "name": "Customer" },
            "customField7": { "name": "Story Points", "type": "Float" }
        }))
        .unwrap();
        assert_eq!(points_keys(&props), vec!["customField7".to_string()]);
    }
}
