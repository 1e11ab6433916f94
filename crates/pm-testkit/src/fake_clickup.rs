//! A fake ClickUp (API v2) that answers as the real one does: bodies built from the official
//! OpenAPI document's examples (read from `../shared/specs/clickup-v2.json` at run time), `page`
//! paging with `last_page`, `include_closed`, `statuses[]`/`assignees[]` filters, 401/404/429 with
//! ClickUp's `{"err", "ECODE"}` bodies and `X-RateLimit-Reset`, and state for every write. Every
//! request is recorded (`Running::recorder`, see [`crate::fake`]) so tests can count upstream
//! calls per tool call.
//!
//! Where the real ClickUp is inconvenient, so is the fake (each with its source at the code):
//! date-only dates snap to 04:00 in the user's time zone; custom task ids (`DEV-1`) answer only
//! with `custom_task_ids=true&team_id=…`; a subtask must be created in its parent's list; the time
//! entry search has a 30-day, own-entries default and refuses others' entries to a non-admin; the
//! bulk time-in-status takes 2–100 ids and `since` is a status's latest entry; comments take the
//! rich `comment` form (`comment_text` is plain text); lists may override the space's statuses;
//! a second list needs the Tasks in Multiple Lists ClickApp; OAuth tokens need `Bearer `; only
//! workspace members can be assigned; a URL over 16 KB is refused (414). Refusals whose words
//! ClickUp does not publish can be worded otherwise by a test (`time_in_status_refusal`,
//! a [`Failure`] with its own words), so pm-mcp cannot depend on the fake's wording.
#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};

use crate::fake::{Checks, Failure, Guard, Running};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::fake_jira::spec_dir;

/// The workspace (team) the fake token belongs to, and another one it does not.
pub const TEAM: &str = "9001";
pub const OTHER_TEAM: &str = "9002";
/// The token's own user (the spec's example user) and a colleague.
pub const ME: u64 = 123;
pub const JANE: u64 = 813;
/// The space with a backlog list and a sprint folder; one without any list.
pub const SPACE: &str = "790";
pub const EMPTY_SPACE: &str = "791";
pub const BACKLOG: &str = "124";
pub const SPRINT_FOLDER: &str = "456";
pub const SPRINT_DONE: &str = "201";
pub const SPRINT_NOW: &str = "202";
pub const SPRINT_NEXT: &str = "203";
/// The id of the "Story Points" number field of the backlog list (the spec's example field).
pub const POINTS_FIELD: &str = "1f3cc395-3448-4264-bedd-590a3b3fa178";

fn spec() -> Value {
    let file = spec_dir().join("clickup-v2.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).expect("spec JSON")
}

/// The `example` of the 200 answer of `method` on `path` in ClickUp's spec.
pub fn example(path: &str, method: &str) -> Value {
    let c =
        spec()["paths"][path][method]["responses"]["200"]["content"]["application/json"].clone();
    match c.get("example") {
        Some(e) => e.clone(),
        None => c["examples"]
            .as_object()
            .and_then(|o| o.values().next())
            .map(|e| e["value"].clone())
            .unwrap_or(Value::Null),
    }
}

#[derive(Clone)]
pub struct FakeTask {
    pub id: String,
    /// The custom task id (`DEV-1`), as the Custom Task IDs ClickApp gives one.
    pub custom_id: Option<String>,
    /// When the task was created (ms).
    pub created: i64,
    pub name: String,
    pub description: String,
    pub list: String,
    /// Other lists the task is in (sprints, via "Tasks in Multiple Lists").
    pub also_in: Vec<String>,
    pub status: String,
    pub assignees: Vec<u64>,
    pub watchers: Vec<u64>,
    pub tags: Vec<String>,
    pub priority: Option<u8>,
    pub due_date: Option<i64>,
    /// Whether the due date has a time of day (`due_date_time`).
    pub due_date_time: bool,
    pub points: Option<f64>,
    /// The value of the list's "Story Points" field.
    pub story_field: Option<f64>,
    pub parent: Option<String>,
    pub custom_item_id: i64,
    pub links: Vec<String>,
    pub depends_on: Vec<String>,
    pub time_estimate: Option<i64>,
}

impl FakeTask {
    /// A plain task of `list` in `status`, created `created` (ms), for tests to add.
    pub fn new(id: &str, name: &str, list: &str, status: &str, created: i64) -> Self {
        FakeTask {
            id: id.into(),
            custom_id: None,
            created,
            name: name.into(),
            description: String::new(),
            list: list.into(),
            also_in: Vec::new(),
            status: status.into(),
            assignees: Vec::new(),
            watchers: vec![ME],
            tags: Vec::new(),
            priority: None,
            due_date: None,
            due_date_time: false,
            points: None,
            story_field: None,
            parent: None,
            custom_item_id: 0,
            links: Vec::new(),
            depends_on: Vec::new(),
            time_estimate: None,
        }
    }
}

/// One time entry: (interval id, user id, start ms, duration ms, description).
pub type Interval = (String, u64, i64, i64, String);

#[derive(Clone)]
pub struct FakeList {
    pub id: String,
    pub name: String,
    pub space: String,
    pub folder: Option<String>,
    pub content: String,
    pub start_date: Option<i64>,
    pub due_date: Option<i64>,
    /// The list's own statuses (name, type) where it overrides the space's (`override_statuses`).
    pub statuses: Option<Vec<(String, String)>>,
}

pub struct Fake {
    token: String,
    me: Value,
    team_template: Value,
    space_template: Value,
    list_template: Value,
    task_template: Value,
    comment_template: Value,
    /// (id, name)
    pub spaces: Mutex<Vec<(String, String)>>,
    /// (id, name, space)
    pub folders: Mutex<Vec<(String, String, String)>>,
    pub lists: Mutex<Vec<FakeList>>,
    pub tasks: Mutex<Vec<FakeTask>>,
    pub comments: Mutex<HashMap<String, Vec<Value>>>,
    /// Tracked time per task.
    pub time: Mutex<HashMap<String, Vec<Interval>>>,
    /// Tasks per page (ClickUp's is 100).
    pub page_size: AtomicUsize,
    next_id: AtomicUsize,
    /// When each task last entered each status (ms), as the Time in Status ClickApp keeps it;
    /// tasks without an entry have been in their current status since they were created.
    pub status_history: Mutex<HashMap<String, Vec<(String, i64)>>>,
    /// The token's user's time zone (IANA), as `GET /v2/user` reports it.
    pub timezone: Mutex<String>,
    /// Whether the token's user is a workspace owner or admin (may list others' time entries).
    pub admin: std::sync::atomic::AtomicBool,
    /// Whether the Total Time in Status ClickApp is on.
    pub time_in_status_on: std::sync::atomic::AtomicBool,
    /// Whether the Tasks in Multiple Lists ClickApp is on.
    pub multiple_lists_on: std::sync::atomic::AtomicBool,
    /// How both time-in-status endpoints refuse while the ClickApp is off: (HTTP status, `err`,
    /// `ECODE`). ClickUp does not publish the words, so a test may word them otherwise.
    pub time_in_status_refusal: Mutex<(u16, String, String)>,
    /// Members of the workspace besides `ME` and `JANE` (ids; shown as Jane-like users).
    pub more_members: Mutex<Vec<u64>>,
}

pub type Shared = Arc<Fake>;

/// The statuses of every list of the fake (ClickUp's four types).
pub const STATUSES: [(&str, &str); 4] = [
    ("to do", "open"),
    ("in progress", "custom"),
    ("review", "custom"),
    ("complete", "closed"),
];

impl Fake {
    fn id(&self) -> usize {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }
}

fn err(status: StatusCode, message: &str, code: &str) -> Response {
    (status, axum::Json(json!({ "err": message, "ECODE": code }))).into_response()
}

fn not_found(what: &str) -> Response {
    err(
        StatusCode::NOT_FOUND,
        &format!("{what} not found"),
        "ITEM_013",
    )
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub const DAY: i64 = 86_400_000;

/// The space's statuses (every space of the fake has the same).
fn space_statuses() -> Vec<(String, String)> {
    STATUSES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The statuses a list offers: its own where it overrides the space's, else the space's. ClickUp
/// lets a list (or folder) override its space's statuses (the list's `override_statuses`; "Get
/// List" returns the list's `statuses`), and a task's status must be one of its home list's.
pub fn list_statuses(f: &Fake, list: &str) -> Vec<(String, String)> {
    f.lists
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.id == list)
        .and_then(|l| l.statuses.clone())
        .unwrap_or_else(space_statuses)
}

fn status_in(statuses: &[(String, String)], name: &str) -> Value {
    let i = statuses
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap_or(0);
    let (n, t) = statuses[i].clone();
    json!({ "id": format!("p{i}_status"), "status": n, "color": "#d3d3d3", "orderindex": i, "type": t })
}

fn status_json(name: &str) -> Value {
    status_in(&space_statuses(), name)
}

fn statuses_in(statuses: &[(String, String)]) -> Value {
    Value::Array(
        statuses
            .iter()
            .enumerate()
            .map(|(i, (n, t))| json!({ "id": format!("p{i}_status"), "status": n, "orderindex": i, "color": "#d3d3d3", "type": t }))
            .collect(),
    )
}

fn statuses_json() -> Value {
    statuses_in(&space_statuses())
}

fn user_json(f: &Fake, id: u64) -> Value {
    if id == ME {
        let mut u = f.me["user"].clone();
        u["id"] = json!(ME);
        return u;
    }
    json!({ "id": id, "username": "Jane Doe", "email": "jane@example.com", "color": null, "initials": "JD", "profilePicture": null })
}

fn task_json(f: &Fake, t: &FakeTask) -> Value {
    let lists = f.lists.lock().unwrap();
    let home = lists.iter().find(|l| l.id == t.list).cloned();
    drop(lists);
    let mut v = f.task_template.clone();
    v["id"] = json!(t.id);
    v["custom_id"] = json!(t.custom_id);
    v["date_created"] = json!(t.created.to_string());
    v["name"] = json!(t.name);
    v["text_content"] = json!(t.description);
    v["description"] = json!(t.description);
    v["markdown_description"] = json!(t.description);
    v["status"] = status_in(&list_statuses(f, &t.list), &t.status);
    v["custom_item_id"] = json!(t.custom_item_id);
    v["creator"] = user_json(f, ME);
    v["assignees"] = Value::Array(t.assignees.iter().map(|a| user_json(f, *a)).collect());
    v["watchers"] = Value::Array(t.watchers.iter().map(|a| user_json(f, *a)).collect());
    v["tags"] = Value::Array(
        t.tags
            .iter()
            .map(|n| json!({ "name": n, "tag_fg": "#000000", "tag_bg": "#000000", "creator": ME }))
            .collect(),
    );
    v["parent"] = json!(t.parent);
    v["priority"] = match t.priority {
        Some(p) => {
            let name = ["urgent", "high", "normal", "low"][(p as usize - 1).min(3)];
            json!({ "color": "#f8ae00", "id": p.to_string(), "orderindex": p.to_string(), "priority": name })
        }
        None => Value::Null,
    };
    v["due_date"] = json!(t.due_date.map(|d| d.to_string()));
    v["due_date_time"] = json!(t.due_date.map(|_| t.due_date_time));
    v["points"] = json!(t.points);
    v["time_estimate"] = json!(t.time_estimate.map(|d| d.to_string()));
    v["url"] = json!(format!("https://app.clickup.com/t/{}", t.id));
    v["team_id"] = json!(TEAM);
    v["dependencies"] = Value::Array(
        t.depends_on
            .iter()
            .map(|d| json!({ "task_id": t.id, "depends_on": d, "type": 1, "date_created": "1567780450202", "userid": ME.to_string(), "workspace_id": TEAM, "chain_id": null }))
            .collect(),
    );
    v["linked_tasks"] = Value::Array(
        t.links
            .iter()
            .map(|l| json!({ "task_id": t.id, "link_id": l, "date_created": "1587571108988", "userid": ME.to_string() }))
            .collect(),
    );
    // The backlog list has a "Story Points" field (the spec's example field); sprint lists none.
    let fields: Vec<Value> = v["custom_fields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["id"] == POINTS_FIELD && t.list == BACKLOG)
        .map(|mut c| {
            match t.story_field {
                Some(p) => c["value"] = json!(p.to_string()),
                None => {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("value");
                    }
                }
            }
            c
        })
        .collect();
    v["custom_fields"] = Value::Array(fields);
    if let Some(h) = home {
        v["list"] = json!({ "id": h.id, "name": h.name, "access": true });
        v["folder"] = match &h.folder {
            Some(fid) => json!({ "id": fid, "name": "Sprints", "hidden": false, "access": true }),
            None => json!({ "id": "0", "name": "hidden", "hidden": true, "access": true }),
        };
        v["project"] = v["folder"].clone();
        v["space"] = json!({ "id": h.space });
    }
    v["locations"] = Value::Array(
        t.also_in
            .iter()
            .map(|l| json!({ "id": l, "name": "Sprint" }))
            .collect(),
    );
    v
}

fn list_json(f: &Fake, l: &FakeList) -> Value {
    let mut v = f.list_template.clone();
    v["id"] = json!(l.id);
    v["name"] = json!(l.name);
    v["content"] = json!(l.content);
    v["start_date"] = json!(l.start_date.map(|d| d.to_string()));
    v["due_date"] = json!(l.due_date.map(|d| d.to_string()));
    v["task_count"] = json!(
        f.tasks
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.list == l.id || t.also_in.contains(&l.id))
            .count()
    );
    v["folder"] = match &l.folder {
        Some(fid) => json!({ "id": fid, "name": "Sprints", "hidden": false, "access": true }),
        None => json!({ "id": "0", "name": "hidden", "hidden": true, "access": true }),
    };
    let space_name = f
        .spaces
        .lock()
        .unwrap()
        .iter()
        .find(|(id, _)| *id == l.space)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    v["space"] = json!({ "id": l.space, "name": space_name, "access": true });
    v["override_statuses"] = json!(l.statuses.is_some());
    v["statuses"] = statuses_in(&l.statuses.clone().unwrap_or_else(space_statuses));
    v
}

fn space_json(f: &Fake, id: &str, name: &str) -> Value {
    let mut v = f.space_template.clone();
    v["id"] = json!(id);
    v["name"] = json!(name);
    v["statuses"] = statuses_json();
    v
}

fn pairs_all<'a>(q: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    let bracketed = format!("{name}[]");
    q.iter()
        .filter(|(k, _)| *k == name || *k == bracketed)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn pair<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// ClickUp's authentication page: a personal token (`pk_…`) goes in `Authorization` as it is;
/// an OAuth access token as `Bearer <token>` (developer.clickup.com/docs/authentication).
fn auth(f: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    let wanted = if f.token.starts_with("pk_") {
        f.token.clone()
    } else {
        format!("Bearer {}", f.token)
    };
    match crate::fake::authorization(headers) {
        None => Err(err(
            StatusCode::BAD_REQUEST,
            "Authorization header required",
            "OAUTH_017",
        )),
        Some(v) if v == wanted => Ok(()),
        Some(_) => Err(err(StatusCode::UNAUTHORIZED, "Token invalid", "OAUTH_025")),
    }
}

/// An injected failure in ClickUp's error shape (`{"err", "ECODE"}`); a 429 as its rate limit
/// answers, with the `X-RateLimit-*` headers and a reset a second away.
fn refusal(failure: &Failure) -> Response {
    let status = StatusCode::from_u16(failure.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let reset = (now_ms() / 1000 + 1).to_string();
        return (
            status,
            [
                ("x-ratelimit-limit", "100".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset),
            ],
            axum::Json(json!({
                "err": failure.message().unwrap_or("Rate limit reached"),
                "ECODE": failure.code().unwrap_or("APP_002"),
            })),
        )
            .into_response();
    }
    err(
        status,
        failure
            .message()
            .unwrap_or(status.canonical_reason().unwrap_or("Error")),
        failure.code().unwrap_or("APP_000"),
    )
}

/// ClickUp's own checks before routing, behind the shared layer (which records the request,
/// answers injected failures and checks the token, see [`auth`]): the URL length, the workspace,
/// and custom task ids, replaced by their task's id before the route is chosen.
async fn front(State(f): State<Shared>, mut req: Request, next: Next) -> Response {
    // ClickUp's API is served through Cloudflare, whose documented request limit is a URL of
    // 16 KB (developers.cloudflare.com, "Cloudflare request limits"): a longer one is refused
    // with 414 before ClickUp sees it.
    let line_len = req.method().as_str().len()
        + 1
        + req
            .uri()
            .path_and_query()
            .map_or(0, |p| p.as_str().trim_start_matches("/api").len());
    if line_len > 16 * 1024 {
        return (StatusCode::URI_TOO_LONG, "414 Request-URI Too Large").into_response();
    }
    let path = req.uri().path().trim_start_matches("/api").to_string();
    // A workspace the token does not belong to.
    if let Some(rest) = path.strip_prefix("/v2/team/") {
        let team = rest.split('/').next().unwrap_or("");
        if team != TEAM {
            return err(StatusCode::UNAUTHORIZED, "Team not authorized", "OAUTH_027");
        }
    }
    if let Some(rest) = path.strip_prefix("/v2/task/") {
        let (seg, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let q: Vec<(String, String)> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let custom = pair(&q, "custom_task_ids") == Some("true");
        let canonical = f
            .tasks
            .lock()
            .unwrap()
            .iter()
            .find(|t| {
                t.custom_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(seg))
            })
            .map(|t| t.id.clone());
        // Every task endpoint documents `custom_task_ids` ("If you want to reference a task by
        // its custom task id, this value must be true") with `team_id` ("When the
        // custom_task_ids parameter is set to true, the Workspace ID must be provided using the
        // team_id parameter"). A custom id without them is not found as a task id, and ClickUp
        // answers 401 "Team not authorized" (as nicholasbester/clickup-cli#98 and #101 report).
        if seg != "bulk_time_in_status" && (custom || canonical.is_some() || seg.contains('-')) {
            if !custom || pair(&q, "team_id") != Some(TEAM) {
                return err(StatusCode::UNAUTHORIZED, "Team not authorized", "OAUTH_027");
            }
            let Some(id) = canonical else {
                return not_found("Task");
            };
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!("/{tail}")
            };
            let query = req
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            if let Ok(uri) = format!("/api/v2/task/{id}{tail}{query}").parse() {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

async fn user(State(f): State<Shared>) -> Response {
    let mut me = f.me.clone();
    me["user"]["id"] = json!(ME);
    me["user"]["timezone"] = json!(f.timezone.lock().unwrap().clone());
    axum::Json(me).into_response()
}

/// ClickUp keeps a date without a time (`due_date_time` / `start_date_time` false or left out)
/// as 04:00 in the user's time zone on the calendar day the sent instant falls on *in that
/// zone*: 2026-12-31 sent as midnight UTC is stored as 2026-12-30 04:00 America/New_York
/// (nicholasbester/clickup-cli#126, read back from the REST API; fixed in its PR #128).
pub fn snap_date_only(ms: i64, tz: &str) -> i64 {
    use chrono::{TimeZone, Utc};
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let Some(at) = Utc.timestamp_millis_opt(ms).single() else {
        return ms;
    };
    let day = at.with_timezone(&zone).date_naive();
    day.and_hms_opt(4, 0, 0)
        .and_then(|t| zone.from_local_datetime(&t).earliest())
        .map_or(ms, |t| t.timestamp_millis())
}

/// A due date as ClickUp stores it from a create or update body.
fn due_from(f: &Fake, body: &Value) -> Option<(i64, bool)> {
    let ms = body["due_date"].as_i64()?;
    let timed = body["due_date_time"].as_bool().unwrap_or(false);
    if timed {
        Some((ms, true))
    } else {
        Some((snap_date_only(ms, &f.timezone.lock().unwrap()), false))
    }
}

async fn teams(State(f): State<Shared>) -> Response {
    let mut t = f.team_template.clone();
    t["id"] = json!(TEAM);
    t["name"] = json!("Acme");
    let mut members = vec![
        json!({ "user": user_json(&f, ME) }),
        json!({ "user": user_json(&f, JANE) }),
    ];
    for m in f.more_members.lock().unwrap().iter() {
        members.push(json!({ "user": user_json(&f, *m) }));
    }
    t["members"] = Value::Array(members);
    axum::Json(json!({ "teams": [t] })).into_response()
}

async fn spaces(State(f): State<Shared>) -> Response {
    let all: Vec<Value> = f
        .spaces
        .lock()
        .unwrap()
        .iter()
        .map(|(id, n)| space_json(&f, id, n))
        .collect();
    axum::Json(json!({ "spaces": all })).into_response()
}

async fn create_space(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let name = body["name"].as_str().unwrap_or("").trim().to_string();
    if name.is_empty() || body["features"].is_null() {
        return err(StatusCode::BAD_REQUEST, "Space name invalid", "PROJ_005");
    }
    let mut spaces = f.spaces.lock().unwrap();
    if spaces.iter().any(|(_, n)| n.eq_ignore_ascii_case(&name)) {
        return err(
            StatusCode::BAD_REQUEST,
            "Space with this name already exists",
            "PROJ_006",
        );
    }
    let id = (800 + f.id()).to_string();
    spaces.push((id.clone(), name.clone()));
    drop(spaces);
    axum::Json(space_json(&f, &id, &name)).into_response()
}

async fn space(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    let found = f
        .spaces
        .lock()
        .unwrap()
        .iter()
        .find(|(s, _)| *s == id)
        .cloned();
    match found {
        Some((id, n)) => axum::Json(space_json(&f, &id, &n)).into_response(),
        None => not_found("Space"),
    }
}

async fn update_space(
    State(f): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut spaces = f.spaces.lock().unwrap();
    let Some(s) = spaces.iter_mut().find(|(s, _)| *s == id) else {
        return not_found("Space");
    };
    match body["name"].as_str().filter(|n| !n.trim().is_empty()) {
        Some(n) => s.1 = n.to_string(),
        None => return err(StatusCode::BAD_REQUEST, "Space name invalid", "PROJ_005"),
    }
    let (id, n) = s.clone();
    drop(spaces);
    axum::Json(space_json(&f, &id, &n)).into_response()
}

async fn delete_space(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    let mut spaces = f.spaces.lock().unwrap();
    match spaces.iter().position(|(s, _)| *s == id) {
        Some(i) => {
            spaces.remove(i);
            axum::Json(json!({})).into_response()
        }
        None => not_found("Space"),
    }
}

async fn space_folders(State(f): State<Shared>, Path(space): Path<String>) -> Response {
    if !f.spaces.lock().unwrap().iter().any(|(s, _)| *s == space) {
        return not_found("Space");
    }
    let template = example("/v2/folder/{folder_id}", "get");
    let folders: Vec<Value> = f
        .folders
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, s)| *s == space)
        .map(|(id, n, s)| {
            let mut v = template.clone();
            v["id"] = json!(id);
            v["name"] = json!(n);
            v["space"] = json!({ "id": s, "name": "Space", "access": true });
            if let Some(o) = v.as_object_mut() {
                o.remove("parent_folder");
            }
            let lists: Vec<Value> = f
                .lists
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.folder.as_deref() == Some(id))
                .map(|l| list_json(&f, l))
                .collect();
            v["lists"] = Value::Array(lists);
            v
        })
        .collect();
    axum::Json(json!({ "folders": folders })).into_response()
}

async fn folderless_lists(State(f): State<Shared>, Path(space): Path<String>) -> Response {
    if !f.spaces.lock().unwrap().iter().any(|(s, _)| *s == space) {
        return not_found("Space");
    }
    let all: Vec<FakeList> = f.lists.lock().unwrap().clone();
    let lists: Vec<Value> = all
        .iter()
        .filter(|l| l.space == space && l.folder.is_none())
        .map(|l| list_json(&f, l))
        .collect();
    axum::Json(json!({ "lists": lists })).into_response()
}

async fn folder_lists(State(f): State<Shared>, Path(folder): Path<String>) -> Response {
    if !f
        .folders
        .lock()
        .unwrap()
        .iter()
        .any(|(id, _, _)| *id == folder)
    {
        return not_found("Folder");
    }
    let all: Vec<FakeList> = f.lists.lock().unwrap().clone();
    let lists: Vec<Value> = all
        .iter()
        .filter(|l| l.folder.as_deref() == Some(folder.as_str()))
        .map(|l| list_json(&f, l))
        .collect();
    axum::Json(json!({ "lists": lists })).into_response()
}

async fn create_list(
    State(f): State<Shared>,
    Path(folder): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let space = f
        .folders
        .lock()
        .unwrap()
        .iter()
        .find(|(id, _, _)| *id == folder)
        .map(|(_, _, s)| s.clone());
    let Some(space) = space else {
        return not_found("Folder");
    };
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "List name invalid", "SUBCAT_020");
    };
    let l = FakeList {
        id: (300 + f.id()).to_string(),
        name: name.to_string(),
        space,
        folder: Some(folder),
        content: body["content"].as_str().unwrap_or("").to_string(),
        start_date: None,
        due_date: body["due_date"].as_i64(),
        statuses: None,
    };
    f.lists.lock().unwrap().push(l.clone());
    axum::Json(list_json(&f, &l)).into_response()
}

fn find_list(f: &Fake, id: &str) -> Option<FakeList> {
    f.lists.lock().unwrap().iter().find(|l| l.id == id).cloned()
}

async fn list(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    match find_list(&f, &id) {
        Some(l) => axum::Json(list_json(&f, &l)).into_response(),
        None => not_found("List"),
    }
}

async fn update_list(
    State(f): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut lists = f.lists.lock().unwrap();
    let Some(l) = lists.iter_mut().find(|l| l.id == id) else {
        return not_found("List");
    };
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "List name invalid", "SUBCAT_020");
    };
    l.name = name.to_string();
    if let Some(c) = body["content"].as_str() {
        l.content = c.to_string();
    }
    if let Some(d) = body["due_date"].as_i64() {
        l.due_date = Some(d);
    }
    let l = l.clone();
    drop(lists);
    axum::Json(list_json(&f, &l)).into_response()
}

async fn delete_list(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    let mut lists = f.lists.lock().unwrap();
    match lists.iter().position(|l| l.id == id) {
        Some(i) => {
            lists.remove(i);
            axum::Json(json!({})).into_response()
        }
        None => not_found("List"),
    }
}

async fn list_fields(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    if find_list(&f, &id).is_none() {
        return not_found("List");
    }
    let fields: Vec<Value> = if id == BACKLOG {
        f.task_template["custom_fields"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["id"] == POINTS_FIELD)
            .map(|mut c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("value");
                }
                c
            })
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(json!({ "fields": fields })).into_response()
}

fn closed(status: &str) -> bool {
    STATUSES
        .iter()
        .any(|(n, t)| *n == status && (*t == "closed" || *t == "done"))
}

/// The shared filter of the list and workspace task endpoints, with real paging.
fn task_page(f: &Fake, q: &[(String, String)], scope: &dyn Fn(&FakeTask) -> bool) -> Response {
    let page: usize = match pair(q, "page").map(str::parse) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => return err(StatusCode::BAD_REQUEST, "Page invalid", "ITEM_028"),
    };
    let include_closed = pair(q, "include_closed") == Some("true");
    let statuses: Vec<String> = pairs_all(q, "statuses")
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    let assignees: Vec<u64> = pairs_all(q, "assignees")
        .into_iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let items: Vec<i64> = pairs_all(q, "custom_items")
        .into_iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = f.page_size.load(Ordering::SeqCst).max(1);
    let all = f.tasks.lock().unwrap().clone();
    let hits: Vec<&FakeTask> = all
        .iter()
        .filter(|t| scope(t))
        .filter(|t| include_closed || !statuses.is_empty() || !closed(&t.status))
        .filter(|t| statuses.is_empty() || statuses.contains(&t.status.to_lowercase()))
        .filter(|t| assignees.is_empty() || t.assignees.iter().any(|a| assignees.contains(a)))
        .filter(|t| items.is_empty() || items.contains(&t.custom_item_id))
        .collect();
    let tasks: Vec<Value> = hits
        .iter()
        .skip(page * size)
        .take(size)
        .map(|t| task_json(f, t))
        .collect();
    let last_page = (page + 1) * size >= hits.len();
    axum::Json(json!({ "tasks": tasks, "last_page": last_page })).into_response()
}

async fn list_tasks(
    State(f): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if find_list(&f, &id).is_none() {
        return not_found("List");
    }
    let timl = pair(&q, "include_timl") == Some("true");
    task_page(&f, &q, &|t| {
        t.list == id || (timl && t.also_in.contains(&id))
    })
}

async fn team_tasks(State(f): State<Shared>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let spaces: Vec<String> = pairs_all(&q, "space_ids")
        .into_iter()
        .map(str::to_string)
        .collect();
    let lists = f.lists.lock().unwrap().clone();
    task_page(&f, &q, &|t| {
        spaces.is_empty()
            || lists
                .iter()
                .any(|l| l.id == t.list && spaces.contains(&l.space))
    })
}

async fn create_task(
    State(f): State<Shared>,
    Path(list): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if find_list(&f, &list).is_none() {
        return not_found("List");
    }
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "Task name invalid", "INPUT_005");
    };
    // Create Task's `parent`: "The parent task ID you include can be a subtask, but must be in
    // the same List specified in the path parameter" (the spec, POST /v2/list/{list_id}/task).
    if let Some(p) = body["parent"].as_str() {
        match find_task(&f, p) {
            None => return not_found("Parent task"),
            Some(parent) if parent.list != list => {
                return err(
                    StatusCode::BAD_REQUEST,
                    "Parent task must be in the same list as the subtask",
                    "ITEM_140",
                );
            }
            Some(_) => {}
        }
    }
    let statuses = list_statuses(&f, &list);
    let status = match body["status"].as_str() {
        None => statuses[0].0.clone(),
        Some(s) => match statuses.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            Some((n, _)) => n.clone(),
            None => return err(StatusCode::BAD_REQUEST, "Status does not exist", "ITEM_114"),
        },
    };
    let due = due_from(&f, &body);
    let priority = match &body["priority"] {
        Value::Null => None,
        p => match p.as_u64().filter(|p| (1..=4).contains(p)) {
            Some(p) => Some(p as u8),
            None => return err(StatusCode::BAD_REQUEST, "Priority invalid", "INPUT_003"),
        },
    };
    let t = FakeTask {
        id: format!("86c{}", f.id()),
        custom_id: None,
        created: now_ms(),
        name: name.to_string(),
        description: body["markdown_content"]
            .as_str()
            .or(body["description"].as_str())
            .unwrap_or("")
            .to_string(),
        list,
        also_in: Vec::new(),
        status,
        assignees: body["assignees"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect(),
        watchers: vec![ME],
        tags: body["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        priority,
        due_date: due.map(|d| d.0),
        due_date_time: due.is_some_and(|d| d.1),
        points: body["points"].as_f64(),
        story_field: None,
        parent: body["parent"].as_str().map(str::to_string),
        custom_item_id: body["custom_item_id"].as_i64().unwrap_or(0),
        links: Vec::new(),
        depends_on: Vec::new(),
        time_estimate: body["time_estimate"].as_i64(),
    };
    f.tasks.lock().unwrap().push(t.clone());
    axum::Json(task_json(&f, &t)).into_response()
}

fn find_task(f: &Fake, id: &str) -> Option<FakeTask> {
    f.tasks.lock().unwrap().iter().find(|t| t.id == id).cloned()
}

async fn task(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    match find_task(&f, &id) {
        Some(t) => axum::Json(task_json(&f, &t)).into_response(),
        None => not_found("Task"),
    }
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect()
}

async fn update_task(
    State(f): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    // A task's status is one of its home list's (read before the tasks are locked).
    let Some(home) = find_task(&f, &id).map(|t| t.list) else {
        return not_found("Task");
    };
    let statuses = list_statuses(&f, &home);
    let due = due_from(&f, &body);
    let mut tasks = f.tasks.lock().unwrap();
    let Some(t) = tasks.iter_mut().find(|t| t.id == id) else {
        return not_found("Task");
    };
    if let Some(n) = body.get("name") {
        match n.as_str().filter(|n| !n.trim().is_empty()) {
            Some(n) => t.name = n.to_string(),
            None => return err(StatusCode::BAD_REQUEST, "Task name invalid", "INPUT_005"),
        }
    }
    if let Some(d) = body["markdown_content"].as_str() {
        t.description = d.to_string();
    }
    if let Some(s) = body["status"].as_str() {
        match statuses.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            Some((n, _)) => {
                if t.status != *n {
                    let mut h = f.status_history.lock().unwrap();
                    let entries = h
                        .entry(t.id.clone())
                        .or_insert_with(|| vec![(t.status.clone(), t.created)]);
                    // One entry per status, whose `since` is when the task *last* entered it
                    // (the spec's example of GET /v2/task/{task_id}/time_in_status: the current
                    // "open" is `since` after "active status", which it was in before).
                    let at = now_ms();
                    match entries.iter_mut().find(|(s, _)| s == n) {
                        Some(e) => e.1 = at,
                        None => entries.push((n.to_string(), at)),
                    }
                }
                t.status = n.to_string()
            }
            None => return err(StatusCode::BAD_REQUEST, "Status does not exist", "ITEM_114"),
        }
    }
    if let Some(p) = body.get("priority") {
        match p.as_u64().filter(|p| (1..=4).contains(p)) {
            Some(p) => t.priority = Some(p as u8),
            None => return err(StatusCode::BAD_REQUEST, "Priority invalid", "INPUT_003"),
        }
    }
    if let Some(a) = body.get("assignees") {
        if a["add"].is_null() || a["rem"].is_null() {
            return err(
                StatusCode::BAD_REQUEST,
                "Assignees must have add and rem",
                "INPUT_004",
            );
        }
        // Only the workspace's members can be assigned (the spec's Update Task: `assignees.add`
        // takes user ids of the Workspace); ClickUp's words for a stranger are not published.
        let members = f.more_members.lock().unwrap().clone();
        if ids(&a["add"])
            .iter()
            .any(|x| *x != ME && *x != JANE && !members.contains(x))
        {
            return err(
                StatusCode::BAD_REQUEST,
                "Assignee is not a member of this Workspace",
                "ITEM_059",
            );
        }
        let rem = ids(&a["rem"]);
        t.assignees.retain(|x| !rem.contains(x));
        for x in ids(&a["add"]) {
            if !t.assignees.contains(&x) {
                t.assignees.push(x);
            }
        }
    }
    if let Some(w) = body.get("watchers") {
        for x in ids(&w["add"]) {
            if !t.watchers.contains(&x) {
                t.watchers.push(x);
            }
        }
    }
    if let Some((d, timed)) = due {
        t.due_date = Some(d);
        t.due_date_time = timed;
    }
    if let Some(p) = body["points"].as_f64() {
        t.points = Some(p);
    }
    if let Some(e) = body["time_estimate"].as_i64() {
        t.time_estimate = Some(e);
    }
    if let Some(p) = body["parent"].as_str() {
        t.parent = Some(p.to_string());
    }
    let t = t.clone();
    drop(tasks);
    axum::Json(task_json(&f, &t)).into_response()
}

async fn delete_task(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    let mut tasks = f.tasks.lock().unwrap();
    match tasks.iter().position(|t| t.id == id) {
        Some(i) => {
            tasks.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found("Task"),
    }
}

fn with_task(f: &Fake, id: &str, change: impl FnOnce(&mut FakeTask)) -> Response {
    let mut tasks = f.tasks.lock().unwrap();
    match tasks.iter_mut().find(|t| t.id == id) {
        Some(t) => {
            change(t);
            axum::Json(json!({})).into_response()
        }
        None => not_found("Task"),
    }
}

async fn add_to_list(
    State(f): State<Shared>,
    Path((list, id)): Path<(String, String)>,
) -> Response {
    if find_list(&f, &list).is_none() {
        return not_found("List");
    }
    // "This endpoint requires the Tasks in Multiple List ClickApp to be enabled" (the spec,
    // POST /v2/list/{list_id}/task/{task_id}); the words of ClickUp's refusal are not published.
    if !f.multiple_lists_on.load(Ordering::SeqCst) {
        return err(
            StatusCode::BAD_REQUEST,
            "Tasks in Multiple Lists is not enabled",
            "ITEM_120",
        );
    }
    with_task(&f, &id, |t| {
        if t.list != list && !t.also_in.contains(&list) {
            t.also_in.push(list);
        }
    })
}

async fn remove_from_list(
    State(f): State<Shared>,
    Path((list, id)): Path<(String, String)>,
) -> Response {
    with_task(&f, &id, |t| t.also_in.retain(|l| *l != list))
}

async fn set_field(
    State(f): State<Shared>,
    Path((id, field)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if field != POINTS_FIELD {
        return err(
            StatusCode::BAD_REQUEST,
            "Custom field not found",
            "FIELD_033",
        );
    }
    let Some(v) = body["value"].as_f64() else {
        return err(
            StatusCode::BAD_REQUEST,
            "Value must be a number",
            "FIELD_015",
        );
    };
    with_task(&f, &id, |t| t.story_field = Some(v))
}

async fn add_tag(State(f): State<Shared>, Path((id, tag)): Path<(String, String)>) -> Response {
    with_task(&f, &id, |t| {
        if !t.tags.contains(&tag) {
            t.tags.push(tag);
        }
    })
}

async fn remove_tag(State(f): State<Shared>, Path((id, tag)): Path<(String, String)>) -> Response {
    with_task(&f, &id, |t| t.tags.retain(|x| *x != tag))
}

async fn dependency(
    State(f): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(on) = body["depends_on"].as_str().map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "Dependency invalid", "DEPEND_001");
    };
    if find_task(&f, &on).is_none() {
        return not_found("Task");
    }
    with_task(&f, &id, |t| t.depends_on.push(on))
}

async fn link(State(f): State<Shared>, Path((id, to)): Path<(String, String)>) -> Response {
    if find_task(&f, &to).is_none() {
        return not_found("Task");
    }
    let r = with_task(&f, &id, |t| t.links.push(to));
    if r.status() != StatusCode::OK {
        return r;
    }
    let t = find_task(&f, &id).unwrap();
    let mut v = example("/v2/task/{task_id}/link/{links_to}", "post");
    v["task"] = task_json(&f, &t);
    axum::Json(v).into_response()
}

async fn comments(
    State(f): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if find_task(&f, &id).is_none() {
        return not_found("Task");
    }
    // Newest first, 25 at a time; `start`/`start_id` name the oldest already seen.
    let mut all = f
        .comments
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_default();
    all.reverse();
    if let Some(start_id) = pair(&q, "start_id") {
        match all.iter().position(|c| c["id"] == start_id) {
            Some(i) => all = all.split_off(i + 1),
            None => return err(StatusCode::BAD_REQUEST, "Comment not found", "COMM_006"),
        }
    }
    all.truncate(25);
    axum::Json(json!({ "comments": all })).into_response()
}

async fn add_comment(
    State(f): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if find_task(&f, &id).is_none() {
        return not_found("Task");
    }
    // ClickUp's comment formatting page (developer.clickup.com/docs/comment-formatting): a
    // comment is a `comment` array of `{text, attributes}` segments (bold, italic, code, links;
    // lists and code blocks as attributes of the "\n" that ends their line); `comment_text` is
    // plain text, kept as one unformatted segment (Markdown in it shows as typed).
    let segments: Vec<Value> = match (&body["comment"], body["comment_text"].as_str()) {
        (Value::Array(parts), _) if !parts.is_empty() => parts.clone(),
        (_, Some(text)) => vec![json!({ "text": text, "attributes": {} })],
        _ => Vec::new(),
    };
    let text: String = segments.iter().filter_map(|p| p["text"].as_str()).collect();
    if text.trim().is_empty() {
        return err(StatusCode::BAD_REQUEST, "Comment text invalid", "COMM_002");
    }
    let n = f.id();
    let date = 1_764_000_000_000_i64 + n as i64 * 1000;
    let mut c = f.comment_template.clone();
    c["id"] = json!((90_000 + n).to_string());
    c["comment"] = Value::Array(segments);
    c["comment_text"] = json!(text);
    c["user"] = user_json(&f, ME);
    c["date"] = json!(date.to_string());
    c["reply_count"] = json!("0");
    f.comments
        .lock()
        .unwrap()
        .entry(id)
        .or_default()
        .push(c.clone());
    axum::Json(json!({ "id": c["id"], "hist_id": format!("h{n}"), "date": date })).into_response()
}

/// The Time in Status answer for one task: its current status and every status it has been
/// in, each with when it last entered it (`since`).
fn time_in_status_of(f: &Fake, t: &FakeTask) -> Value {
    let now = now_ms();
    let statuses = list_statuses(f, &t.list);
    let history = f
        .status_history
        .lock()
        .unwrap()
        .get(&t.id)
        .cloned()
        .unwrap_or_else(|| vec![(t.status.clone(), t.created)]);
    let entry = |(status, since): &(String, i64)| {
        let mut s = status_in(&statuses, status);
        s["total_time"] =
            json!({ "by_minute": (now - since) / 60_000, "since": since.to_string() });
        s
    };
    let current = history
        .iter()
        .find(|(s, _)| *s == t.status)
        .cloned()
        .unwrap_or((t.status.clone(), now));
    json!({ "current_status": entry(&current), "status_history": history.iter().map(entry).collect::<Vec<_>>() })
}

/// Both time-in-status endpoints: "The Total time in Status ClickApp must first be enabled by
/// the Workspace owner or an admin" (the spec). ClickUp does not publish the status or the words
/// of its refusal: `time_in_status_refusal` holds them (by default a 400 naming the ClickApp).
fn time_in_status_off(f: &Fake) -> Option<Response> {
    (!f.time_in_status_on.load(Ordering::SeqCst)).then(|| {
        let (status, message, code) = f.time_in_status_refusal.lock().unwrap().clone();
        err(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &message,
            &code,
        )
    })
}

/// `GET /task/{task_id}/time_in_status`: one task.
async fn time_in_status(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(t) = find_task(&f, &id) else {
        return not_found("Task");
    };
    if let Some(off) = time_in_status_off(&f) {
        return off;
    }
    axum::Json(time_in_status_of(&f, &t)).into_response()
}

/// `GET /task/bulk_time_in_status/task_ids?task_ids=a&task_ids=b`: "View how long two or more
/// tasks have been in each status" and "You can include up to 100 task ids per request" (the
/// spec, GetBulkTasks'TimeinStatus): one id is refused.
async fn bulk_time_in_status(
    State(f): State<Shared>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let ids: Vec<String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "task_ids")
        .map(|(_, v)| v.into_owned())
        .collect();
    if ids.len() < 2 || ids.len() > 100 {
        return err(
            StatusCode::BAD_REQUEST,
            "Include between 2 and 100 task_ids",
            "INPUT_004",
        );
    }
    if let Some(off) = time_in_status_off(&f) {
        return off;
    }
    let mut out = serde_json::Map::new();
    for id in ids {
        let Some(t) = find_task(&f, &id) else {
            return not_found("Task");
        };
        out.insert(id, time_in_status_of(&f, &t));
    }
    axum::Json(Value::Object(out)).into_response()
}

/// `GET /team/{team_Id}/time_entries` (the spec, Gettimeentrieswithinadaterange): "By default,
/// this endpoint returns time entries from the last 30 days created by the authenticated user";
/// others' entries need `assignee` (user ids, comma-separated), which "Only Workspace
/// Owners/Admins have access to" (the fake refuses it to a member with 401; ClickUp's words are
/// not published); only one of `space_id`, `folder_id`, `list_id`, `task_id`.
async fn time_entries(State(f): State<Shared>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let now = now_ms();
    let num = |k: &str| {
        pair(&q, k)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as i64)
    };
    let end = num("end_date").unwrap_or(now);
    let start = num("start_date").unwrap_or(end - 30 * DAY);
    let who: Vec<u64> = match pair(&q, "assignee") {
        None => vec![ME],
        Some(a) => a.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
    };
    if who.iter().any(|u| *u != ME) && !f.admin.load(Ordering::SeqCst) {
        return err(
            StatusCode::UNAUTHORIZED,
            "Only Workspace owners and admins can view other users' time entries",
            "TIMEENTRY_070",
        );
    }
    let locations = ["space_id", "folder_id", "list_id", "task_id"]
        .iter()
        .filter(|k| pair(&q, k).is_some())
        .count();
    if locations > 1 {
        return err(
            StatusCode::BAD_REQUEST,
            "Only one of space_id, folder_id, list_id or task_id",
            "TIMEENTRY_010",
        );
    }
    let mut task_filter = pair(&q, "task_id").map(str::to_string);
    if let Some(t) = &task_filter
        && pair(&q, "custom_task_ids") == Some("true")
    {
        let canonical = f
            .tasks
            .lock()
            .unwrap()
            .iter()
            .find(|x| x.custom_id.as_deref() == Some(t.as_str()))
            .map(|x| x.id.clone());
        task_filter = canonical.or(task_filter);
    }
    let template = example("/v2/team/{team_Id}/time_entries", "get")["data"][0].clone();
    let all = f.time.lock().unwrap().clone();
    let mut data = Vec::new();
    for (tid, entries) in &all {
        if task_filter.as_ref().is_some_and(|t| t != tid) {
            continue;
        }
        let Some(task) = find_task(&f, tid) else {
            continue;
        };
        for (id, user, at, duration, description) in entries {
            if !who.contains(user) || *at < start || *at > end {
                continue;
            }
            let mut e = template.clone();
            e["id"] = json!(id);
            e["task"] = json!({ "id": task.id, "custom_id": task.custom_id, "name": task.name, "status": status_json(&task.status), "custom_type": null });
            e["wid"] = json!(TEAM);
            e["user"] = user_json(&f, *user);
            e["start"] = json!(at);
            e["end"] = json!(at + duration);
            e["duration"] = json!(duration.to_string());
            e["description"] = json!(description);
            e["at"] = json!((at + duration).to_string());
            e["task_url"] = json!(format!("https://app.clickup.com/t/{}", task.id));
            data.push(e);
        }
    }
    axum::Json(json!({ "data": data })).into_response()
}

/// `GET /task/{task_id}/time`, "a legacy time tracking endpoint" (the spec): every user's
/// intervals, without their descriptions (the spec's example interval has none).
async fn tracked(State(f): State<Shared>, Path(id): Path<String>) -> Response {
    if find_task(&f, &id).is_none() {
        return not_found("Task");
    }
    let entries = f.time.lock().unwrap().get(&id).cloned().unwrap_or_default();
    let mut users: Vec<u64> = entries.iter().map(|e| e.1).collect();
    users.dedup();
    let data: Vec<Value> = users
        .iter()
        .map(|u| {
            let mine: Vec<&Interval> =
                entries.iter().filter(|e| e.1 == *u).collect();
            json!({
                "user": user_json(&f, *u),
                "time": mine.iter().map(|e| e.3).sum::<i64>(),
                "intervals": mine.iter().map(|e| json!({ "id": e.0, "start": e.2.to_string(), "end": (e.2 + e.3).to_string(), "time": e.3.to_string(), "source": "clickup", "date_added": e.2.to_string() })).collect::<Vec<_>>()
            })
        })
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

async fn create_time_entry(
    State(f): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let (Some(start), Some(duration)) = (body["start"].as_i64(), body["duration"].as_i64()) else {
        return err(
            StatusCode::BAD_REQUEST,
            "Start and duration required",
            "TIMEENTRY_001",
        );
    };
    let Some(tid) = body["tid"].as_str().map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "Task id required", "TIMEENTRY_002");
    };
    // A custom `tid` is a task only with `custom_task_ids=true&team_id=…` (the spec).
    let custom = pair(&q, "custom_task_ids") == Some("true") && pair(&q, "team_id") == Some(TEAM);
    let tid = if custom {
        f.tasks
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.custom_id.as_deref() == Some(tid.as_str()))
            .map_or(tid, |t| t.id.clone())
    } else {
        tid
    };
    if find_task(&f, &tid).is_none() {
        return not_found("Task");
    }
    if duration <= 0 {
        return err(StatusCode::BAD_REQUEST, "Duration invalid", "TIMEENTRY_003");
    }
    let id = format!("4{}", 100_000 + f.id());
    let description = body["description"].as_str().unwrap_or("").to_string();
    f.time
        .lock()
        .unwrap()
        .entry(tid.clone())
        .or_default()
        .push((id.clone(), ME, start, duration, description.clone()));
    let mut entry = example("/v2/team/{team_Id}/time_entries", "post");
    entry["id"] = json!(id);
    entry["tid"] = json!(tid);
    entry["start"] = json!(start);
    entry["duration"] = json!(duration);
    entry["description"] = json!(description);
    entry["assignee"] = json!(ME);
    entry["tags"] = json!([]);
    entry["user"] = user_json(&f, ME);
    axum::Json(json!({ "data": entry })).into_response()
}

async fn custom_items() -> Response {
    let mut items = example("/v2/team/{team_id}/custom_item", "get");
    // The published example wraps the answer in an array; ClickUp answers the object.
    if let Some(first) = items.as_array().and_then(|a| a.first()).cloned() {
        items = first;
    }
    if let Some(list) = items["custom_items"].as_array_mut() {
        list.push(json!({ "id": 1301, "name": "Epic", "name_plural": "Epics", "description": "Large bodies of work." }));
    }
    axum::Json(items).into_response()
}

fn seed_tasks() -> Vec<FakeTask> {
    (1..=12)
        .map(|i| FakeTask {
            id: format!("86b{i:02}"),
            custom_id: Some(format!("DEV-{i}")),
            created: now_ms() - 30 * DAY,
            name: format!("Example task {i}"),
            description: format!("Details of **task {i}**"),
            list: BACKLOG.into(),
            also_in: if i <= 6 {
                vec![SPRINT_NOW.into()]
            } else {
                Vec::new()
            },
            status: STATUSES[i % 4].0.into(),
            assignees: if i % 2 == 1 { vec![ME] } else { Vec::new() },
            watchers: vec![ME],
            tags: if i % 3 == 0 {
                vec!["web".into()]
            } else {
                Vec::new()
            },
            priority: Some((i % 4 + 1) as u8),
            due_date: None,
            due_date_time: false,
            points: None,
            story_field: Some((i % 5 + 1) as f64),
            parent: None,
            custom_item_id: 0,
            links: Vec::new(),
            depends_on: Vec::new(),
            time_estimate: None,
        })
        .collect()
}

/// How to start a fake ClickUp.
pub struct Options {
    /// The token it accepts: a personal token (`pk_…`) as it is, else an OAuth token as
    /// `Bearer <token>`.
    pub token: String,
}

impl Options {
    pub fn token(token: &str) -> Self {
        Options {
            token: token.to_string(),
        }
    }
}

/// Starts a fake ClickUp accepting exactly `opts.token` in `Authorization`; its URL is the API
/// root (the base URL a connection is configured with; paths are under `/v2`, requests are
/// recorded from the server's root, `/api/v2/…`).
/// `None` (the test skipped, in one line) where the providers' published specs are not.
pub async fn spawn(opts: Options) -> Option<Running<Fake>> {
    let token = opts.token.as_str();
    crate::specs_for("the tests with the fake ClickUp")?;
    let now = now_ms();
    let spaces_example = example("/v2/team/{team_id}/space", "get");
    let fake = Arc::new(Fake {
        token: token.to_string(),
        me: example("/v2/user", "get"),
        team_template: example("/v2/team", "get")["teams"][0].clone(),
        space_template: spaces_example["spaces"][0].clone(),
        list_template: example("/v2/list/{list_id}", "get"),
        task_template: example("/v2/task/{task_id}", "put"),
        comment_template: example("/v2/task/{task_id}/comment", "get")["comments"][0].clone(),
        spaces: Mutex::new(vec![
            (SPACE.into(), "Product".into()),
            (EMPTY_SPACE.into(), "Marketing".into()),
        ]),
        folders: Mutex::new(vec![(SPRINT_FOLDER.into(), "Sprints".into(), SPACE.into())]),
        lists: Mutex::new(vec![
            FakeList {
                id: BACKLOG.into(),
                name: "Backlog".into(),
                space: SPACE.into(),
                folder: None,
                content: String::new(),
                start_date: None,
                due_date: None,
                statuses: None,
            },
            FakeList {
                id: SPRINT_DONE.into(),
                name: "Sprint 6".into(),
                space: SPACE.into(),
                folder: Some(SPRINT_FOLDER.into()),
                content: "Ship search".into(),
                start_date: Some(now - 18 * DAY),
                due_date: Some(now - 4 * DAY),
                statuses: None,
            },
            FakeList {
                id: SPRINT_NOW.into(),
                name: "Sprint 7".into(),
                space: SPACE.into(),
                folder: Some(SPRINT_FOLDER.into()),
                content: "Fix checkout".into(),
                start_date: Some(now - 3 * DAY),
                due_date: Some(now + 11 * DAY),
                statuses: None,
            },
            FakeList {
                id: SPRINT_NEXT.into(),
                name: "Sprint 8".into(),
                space: SPACE.into(),
                folder: Some(SPRINT_FOLDER.into()),
                content: String::new(),
                start_date: Some(now + 11 * DAY),
                due_date: Some(now + 25 * DAY),
                statuses: None,
            },
        ]),
        tasks: Mutex::new(seed_tasks()),
        comments: Mutex::default(),
        time: Mutex::default(),
        page_size: AtomicUsize::new(100),
        next_id: AtomicUsize::new(1),
        status_history: Mutex::default(),
        // The spec's example user's zone.
        timezone: Mutex::new(
            example("/v2/user", "get")["user"]["timezone"]
                .as_str()
                .unwrap_or("America/Los_Angeles")
                .to_string(),
        ),
        admin: true.into(),
        time_in_status_on: true.into(),
        multiple_lists_on: true.into(),
        time_in_status_refusal: Mutex::new((
            400,
            "Time in Status ClickApp is not enabled for this Workspace".into(),
            "TIS_001".into(),
        )),
        more_members: Mutex::default(),
    });
    let app = Router::new()
        .route("/v2/user", get(user))
        .route("/v2/team", get(teams))
        .route("/v2/team/{team}/space", get(spaces).post(create_space))
        .route("/v2/team/{team}/task", get(team_tasks))
        .route("/v2/team/{team}/custom_item", get(custom_items))
        .route(
            "/v2/team/{team}/time_entries",
            get(time_entries).post(create_time_entry),
        )
        .route(
            "/v2/space/{id}",
            get(space).put(update_space).delete(delete_space),
        )
        .route("/v2/space/{id}/folder", get(space_folders))
        .route("/v2/space/{id}/list", get(folderless_lists))
        .route("/v2/folder/{id}/list", get(folder_lists).post(create_list))
        .route(
            "/v2/list/{id}",
            get(list).put(update_list).delete(delete_list),
        )
        .route("/v2/list/{id}/task", get(list_tasks).post(create_task))
        .route("/v2/list/{id}/field", get(list_fields))
        .route(
            "/v2/list/{list}/task/{task}",
            post(add_to_list).delete(remove_from_list),
        )
        .route(
            "/v2/task/{id}",
            get(task).put(update_task).delete(delete_task),
        )
        .route("/v2/task/{id}/comment", get(comments).post(add_comment))
        .route("/v2/task/{id}/time", get(tracked))
        .route("/v2/task/{id}/time_in_status", get(time_in_status))
        .route(
            "/v2/task/bulk_time_in_status/task_ids",
            get(bulk_time_in_status),
        )
        .route("/v2/task/{id}/field/{field}", post(set_field))
        .route("/v2/task/{id}/tag/{tag}", post(add_tag).delete(remove_tag))
        .route("/v2/task/{id}/dependency", post(dependency))
        .route("/v2/task/{id}/link/{to}", post(link))
        .fallback(|| async { err(StatusCode::NOT_FOUND, "Route not found", "APP_001") })
        .with_state(fake.clone());
    // Served under /api as ClickUp is, so the client's joining of `/v2` to the base is tested.
    // `front` runs before routing (a custom task id is replaced before the route is chosen):
    // layers of a router run after its routing, so the routes sit behind a fallback.
    let app = Router::new()
        .fallback_service(Router::new().nest("/api", app))
        .layer(axum::middleware::from_fn_with_state(fake.clone(), front));
    let guard = Guard {
        auth,
        refusal,
        checks: Checks::Every,
    };
    Some(crate::fake::serve(app, fake, guard, "/api").await)
}
