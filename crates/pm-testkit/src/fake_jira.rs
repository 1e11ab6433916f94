//! A fake Jira that answers as the real one does: bodies taken from the official OpenAPI
//! document's examples (read from `../shared/specs` at run time, or `PM_MCP_SPECS_DIR`), real
//! offset paging, Jira's error bodies, 401/403/404/429/5xx and slow answers. Data Center answers
//! are hand-written (no published spec exists).
#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// Where the providers' published specs are.
/// `PM_MCP_SPECS_DIR`, or the first `shared/specs` beside the checkout or one of its parents
/// (the layout the project and its CI use: `<checkout>/../shared/specs`).
pub fn spec_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PM_MCP_SPECS_DIR") {
        return PathBuf::from(dir);
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .map(|a| a.join("shared/specs"))
        .find(|d| d.join("jira-platform-v3.json").is_file())
        .unwrap_or_else(|| {
            panic!(
                "the providers' published specs were not found in a shared/specs folder above {}; set PM_MCP_SPECS_DIR",
                crate_dir.display()
            )
        })
}

/// The `example` of an operation's 200 answer in the Jira Cloud platform spec.
/// The `example` of an operation's 200 answer in the Jira Cloud platform spec.
pub fn example(path: &str) -> Value {
    example_of(path, "get")
}

/// The `example` of the 200 answer of `method` on `path` in the Jira Cloud platform spec.
pub fn example_of(path: &str, method: &str) -> Value {
    let file = spec_dir().join("jira-platform-v3.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec JSON");
    spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["example"]
        .clone()
}

pub struct Fake {
    project_template: Value,
    myself: Value,
    server_info: Value,
    projects: Mutex<Vec<(String, String)>>,
    pub hits: Mutex<HashMap<String, usize>>,
    /// Every JQL query received, in order.
    pub queries: Mutex<Vec<String>>,
    issue_template: Value,
    pub issues: Mutex<Vec<FakeIssue>>,
    /// Comments and worklogs per issue key, as Jira would answer them.
    pub comments: Mutex<HashMap<String, Vec<Value>>>,
    pub worklogs: Mutex<HashMap<String, Vec<Value>>>,
    /// The sprints of the EX project's Scrum board (84), as the Agile API shows them.
    pub sprints: Mutex<Vec<Value>>,
    /// Rich text received by the Data Center endpoints, as sent.
    pub dc_texts: Mutex<Vec<String>>,
    flaky: AtomicUsize,
    expected_auth: String,
}

pub type Shared = Arc<Fake>;

/// One issue of the fake site.
#[derive(Clone)]
pub struct FakeIssue {
    pub key: String,
    pub project: String,
    pub summary: String,
    pub status: (&'static str, &'static str),
    pub assignee: Option<String>,
    pub sprint: Option<u64>,
    pub story_points: Option<f64>,
    pub issue_type: String,
    pub parent: Option<String>,
    pub watchers: Vec<String>,
    pub links: Vec<(String, String)>,
    pub created: String,
    /// The changelog, oldest first, as Jira records it (`created`, `items[]`).
    pub history: Vec<Value>,
}

const MIA: &str = "5b10a2844c20165700ede21g";

fn fake_issues() -> Vec<FakeIssue> {
    let statuses = [
        ("To Do", "new"),
        ("In Progress", "indeterminate"),
        ("Done", "done"),
    ];
    (1..=12)
        .map(|i| FakeIssue {
            key: format!("EX-{i}"),
            project: "EX".into(),
            summary: format!("Example task {i}"),
            status: statuses[i % 3],
            assignee: (i % 2 == 1).then(|| MIA.to_string()),
            sprint: (i <= 6).then_some(7),
            story_points: Some((i % 5 + 1) as f64),
            issue_type: "Task".into(),
            parent: None,
            watchers: Vec::new(),
            links: Vec::new(),
            created: at(-6, 9),
            history: seed_history(i, statuses[i % 3].0),
        })
        .collect()
}

/// Jira's status ids for the fake's workflow.
pub fn status_id(name: &str) -> &'static str {
    match name {
        "To Do" => "10000",
        "In Progress" => "3",
        "Done" => "10001",
        _ => "1",
    }
}

fn status_item(from: &str, to: &str) -> Value {
    json!({ "field": "status", "fieldtype": "jira", "fieldId": "status", "from": status_id(from), "fromString": from, "to": status_id(to), "toString": to })
}

fn sprint_item(from: Option<u64>, to: Option<u64>) -> Value {
    let id = |s: Option<u64>| s.map(|s| s.to_string()).unwrap_or_default();
    let name = |s: Option<u64>| s.map(|s| format!("Sprint {s}")).unwrap_or_default();
    json!({ "field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020", "from": id(from), "fromString": name(from), "to": id(to), "toString": name(to) })
}

fn points_item(from: Option<f64>, to: Option<f64>) -> Value {
    let s = |p: Option<f64>| p.map(|p| p.to_string());
    json!({ "field": "Story point estimate", "fieldtype": "custom", "fieldId": "customfield_10016", "from": null, "fromString": s(from), "to": null, "toString": s(to) })
}

fn entry(at: &str, items: Vec<Value>) -> Value {
    json!({ "id": "1", "author": { "accountId": MIA, "displayName": "Mia Krystof" }, "created": at, "items": items })
}

/// The day Sprint 7 started, 09:00 UTC: three weeks before today, so the seeded history always
/// lies inside the analytics windows that count back from now, whatever the calendar says.
pub fn sprint7_start() -> chrono::DateTime<chrono::Utc> {
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(21);
    day.and_hms_opt(9, 0, 0).unwrap_or_default().and_utc()
}

/// Jira's changelog time `days` after Sprint 7's start day, at `hour` UTC.
fn at(days: i64, hour: u32) -> String {
    let day = sprint7_start().date_naive() + chrono::Duration::days(days);
    format!("{}T{hour:02}:00:00.000+0000", day.format("%Y-%m-%d"))
}

/// An Agile sprint date `days` after Sprint 7's start (same hour).
fn sprint_at(days: i64, hour: u32) -> String {
    let day = sprint7_start().date_naive() + chrono::Duration::days(days);
    format!("{}T{hour:02}:00:00.000Z", day.format("%Y-%m-%d"))
}

/// The seeded history of EX-i, relative to Sprint 7's start (day 0, 09:00; three weeks ago): the
/// first six joined Sprint 7 before it started (day -0, 08:00), except EX-6, added on day 2; work
/// started on day 1; done work finished on days 3 to 5; EX-4 was re-estimated from 1 to 5 points
/// on day 3. Created six days before the start.
fn seed_history(i: usize, status: &str) -> Vec<Value> {
    let mut h = Vec::new();
    if i <= 6 {
        let when = if i == 6 { at(2, 10) } else { at(0, 8) };
        h.push(entry(&when, vec![sprint_item(None, Some(7))]));
    }
    if status != "To Do" {
        h.push(entry(&at(1, 10), vec![status_item("To Do", "In Progress")]));
    }
    if i == 4 {
        h.push(entry(&at(3, 12), vec![points_item(Some(1.0), Some(5.0))]));
    }
    if status == "Done" {
        h.push(entry(
            &at(3 + (i % 3) as i64, 15),
            vec![status_item("In Progress", "Done")],
        ));
    }
    h.sort_by(|a, b| a["created"].as_str().cmp(&b["created"].as_str()));
    h
}

/// Now, as Jira writes times.
fn jira_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000+0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn issue_json(f: &Fake, i: &FakeIssue) -> Value {
    let mut v = f.issue_template.clone();
    v["key"] = json!(i.key);
    v["id"] = json!(format!("2{}", i.key.trim_start_matches("EX-")));
    let fields = &mut v["fields"];
    fields["summary"] = json!(i.summary);
    fields["description"] = json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": format!("Details of {}", i.key) }] }] });
    fields["status"] = json!({ "name": i.status.0, "statusCategory": { "key": i.status.1 } });
    fields["assignee"] = match &i.assignee {
        Some(id) => json!({ "accountId": id, "displayName": "Mia Krystof", "active": true }),
        None => Value::Null,
    };
    fields["project"] = json!({ "key": i.project, "id": "10000", "name": "Example" });
    fields["customfield_10016"] = json!(i.story_points);
    fields["issuetype"] = json!({ "name": i.issue_type });
    fields["parent"] = match &i.parent {
        Some(p) => json!({ "key": p }),
        None => Value::Null,
    };
    v
}

/// Jira's search embeds at most 100 changelog entries per issue; the rest is read from
/// `/issue/{key}/changelog`.
fn with_changelog(mut v: Value, i: &FakeIssue, changelog: bool) -> Value {
    if changelog {
        let shown: Vec<Value> = i.history.iter().take(100).cloned().collect();
        v["changelog"] = json!({ "startAt": 0, "maxResults": shown.len(), "total": i.history.len(), "histories": shown });
    }
    v["fields"]["created"] = json!(i.created);
    v
}

/// Splits `a AND b` outside quoted strings.
fn clauses(jql: &str) -> Vec<String> {
    let body = jql.split(" ORDER BY ").next().unwrap_or("");
    let (mut out, mut cur, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted
            && body[body.char_indices().nth(i).map(|(b, _)| b).unwrap_or(0)..].starts_with(" AND ")
        {
            out.push(std::mem::take(&mut cur));
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// The value of a JQL string literal.
fn unquote(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Evaluates the JQL pm-mcp writes; anything else is a 400, as Jira answers bad JQL.
fn matches(issue: &FakeIssue, jql: &str) -> Result<bool, String> {
    for clause in clauses(jql) {
        let c = clause.trim();
        let ok = if c == "assignee = currentUser()" {
            issue.assignee.as_deref() == Some(MIA)
        } else if c == "assignee is EMPTY" {
            issue.assignee.is_none()
        } else if let Some(v) = c.strip_prefix("project = ") {
            unquote(v).ok_or("bad project value")? == issue.project
        } else if let Some(v) = c.strip_prefix("assignee = ") {
            Some(unquote(v).ok_or("bad assignee value")?) == issue.assignee
        } else if let Some(v) = c.strip_prefix("issuetype = ") {
            unquote(v).ok_or("bad issuetype value")? == issue.issue_type
        } else if let Some(v) = c.strip_prefix("sprint = ") {
            unquote(v).ok_or("bad sprint value")?.parse::<u64>().ok() == issue.sprint
        } else if let Some(list) = c
            .strip_prefix("status in (")
            .and_then(|l| l.strip_suffix(')'))
        {
            let names: Vec<String> = list
                .split("\", \"")
                .map(|p| p.trim_matches(|ch| ch == '"' || ch == ' ').to_string())
                .collect();
            names.iter().any(|n| n.eq_ignore_ascii_case(issue.status.0))
        } else if c == "statusCategory != Done" {
            issue.status.1 != "done"
        } else if c == "statusCategory = Done" {
            issue.status.1 == "done"
        } else if let Some(v) = c.strip_prefix("updated >= ") {
            let day = unquote(v).ok_or("bad updated value")?;
            let last = issue
                .history
                .last()
                .and_then(|h| h["created"].as_str())
                .unwrap_or(&issue.created);
            last[..10] >= day[..day.len().min(10)]
        } else if let Some(v) = c.strip_prefix("text ~ ") {
            let t = unquote(v).ok_or("bad text value")?.to_lowercase();
            issue.summary.to_lowercase().contains(&t)
        } else {
            return Err(format!("Error in the JQL Query: unexpected clause '{c}'"));
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn search_jql(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    count(&f, "search/jql");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let jql = body["jql"].as_str().unwrap_or("").to_string();
    f.queries.lock().unwrap().push(jql.clone());
    let max = body["maxResults"].as_u64().unwrap_or(50).min(100) as usize;
    let start: usize = body["nextPageToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut hits = Vec::new();
    let all = f.issues.lock().unwrap().clone();
    for issue in &all {
        match matches(issue, &jql) {
            Ok(true) => hits.push(issue.clone()),
            Ok(false) => {}
            Err(e) => return jira_error(StatusCode::BAD_REQUEST, &e),
        }
    }
    let changelog = body["expand"]
        .as_str()
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "changelog"));
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| with_changelog(issue_json(&f, i), i, changelog))
        .collect();
    let end = start + page.len();
    let mut out = json!({ "issues": page, "isLast": end >= hits.len() });
    if end < hits.len() {
        out["nextPageToken"] = json!(format!("page-{end}"));
    }
    axum::Json(out).into_response()
}

async fn dc_search(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    count(&f, "dc/search");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let jql = body["jql"].as_str().unwrap_or("").to_string();
    let max = body["maxResults"].as_u64().unwrap_or(50) as usize;
    let start = body["startAt"].as_u64().unwrap_or(0) as usize;
    let all = f.issues.lock().unwrap().clone();
    let hits: Vec<&FakeIssue> = all
        .iter()
        .filter(|i| matches(i, &jql).unwrap_or(false))
        .collect();
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            let changelog = body["expand"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x == "changelog"));
            let mut v = with_changelog(issue_json(&f, i), i, changelog);
            v["fields"]["description"] = json!(format!("Details of {}", i.key));
            v
        })
        .collect();
    axum::Json(json!({ "startAt": start, "maxResults": max, "total": hits.len(), "issues": page }))
        .into_response()
}

const WORKFLOW: [(&str, &str); 3] = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("Done", "done"),
];

/// Where an issue may go from `status`: the next step, and back to To Do from anywhere else.
fn transitions_from(status: &str) -> Vec<(String, (&'static str, &'static str))> {
    let mut out = Vec::new();
    match status {
        "To Do" => out.push(("11".to_string(), WORKFLOW[1])),
        "In Progress" => {
            out.push(("21".to_string(), WORKFLOW[2]));
            out.push(("31".to_string(), WORKFLOW[0]));
        }
        _ => out.push(("31".to_string(), WORKFLOW[0])),
    }
    out
}

async fn create_issue(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    count(&f, "create");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let fields = &body["fields"];
    let project = fields["project"]["key"].as_str().unwrap_or("");
    let summary = fields["summary"].as_str().unwrap_or("").trim();
    let mut errors = serde_json::Map::new();
    if project != "EX" {
        errors.insert("project".into(), json!("Specify a valid project ID or key"));
    }
    if summary.is_empty() {
        errors.insert(
            "summary".into(),
            json!("You must specify a summary of the issue."),
        );
    }
    if !fields["description"].is_null() && fields["description"]["type"] != "doc" {
        errors.insert(
            "description".into(),
            json!(
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            ),
        );
    }
    if !errors.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "errorMessages": [], "errors": errors })),
        )
            .into_response();
    }
    let mut issues = f.issues.lock().unwrap();
    let key = format!("EX-{}", issues.len() + 1);
    issues.push(FakeIssue {
        key: key.clone(),
        project: "EX".into(),
        summary: summary.to_string(),
        status: WORKFLOW[0],
        assignee: fields["assignee"]["accountId"].as_str().map(str::to_string),
        sprint: None,
        story_points: None,
        issue_type: fields["issuetype"]["name"]
            .as_str()
            .unwrap_or("Task")
            .to_string(),
        parent: fields["parent"]["key"].as_str().map(str::to_string),
        watchers: Vec::new(),
        links: Vec::new(),
        created: jira_now(),
        history: Vec::new(),
    });
    (StatusCode::CREATED, axum::Json(json!({ "id": format!("3{}", issues.len()), "key": key, "self": format!("https://your-domain.atlassian.net/rest/api/3/issue/{key}") })))
        .into_response()
}

async fn get_transitions(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let Some(issue) = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == key)
        .cloned()
    else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let list: Vec<Value> = transitions_from(issue.status.0)
        .into_iter()
        .map(|(id, (name, cat))| json!({ "id": id, "name": format!("Move to {name}"), "to": { "name": name, "statusCategory": { "key": cat } } }))
        .collect();
    axum::Json(json!({ "expand": "transitions", "transitions": list })).into_response()
}

async fn do_transition(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    count(&f, "transition");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut issues = f.issues.lock().unwrap();
    let Some(issue) = issues.iter_mut().find(|i| i.key == key) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let wanted = body["transition"]["id"].as_str().unwrap_or("");
    match transitions_from(issue.status.0)
        .into_iter()
        .find(|(id, _)| id == wanted)
    {
        Some((_, to)) => {
            let item = status_item(issue.status.0, to.0);
            issue.history.push(entry(&jira_now(), vec![item]));
            issue.status = to;
            StatusCode::NO_CONTENT.into_response()
        }
        None => jira_error(
            StatusCode::BAD_REQUEST,
            "Transition id is not valid for this issue.",
        ),
    }
}

async fn set_assignee(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut issues = f.issues.lock().unwrap();
    let Some(issue) = issues.iter_mut().find(|i| i.key == key) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    issue.assignee = body["accountId"].as_str().map(str::to_string);
    StatusCode::NO_CONTENT.into_response()
}

fn exists(f: &Fake, key: &str) -> bool {
    f.issues.lock().unwrap().iter().any(|i| i.key == key)
}

async fn add_comment(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if !exists(&f, &key) {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    }
    if body["body"]["type"] != "doc" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "errorMessages": [], "errors": { "comment": "Comment body must be an Atlassian Document" } }))).into_response();
    }
    let mut all = f.comments.lock().unwrap();
    let list = all.entry(key).or_default();
    let c = json!({ "id": format!("{}", 10000 + list.len()), "author": f.myself.clone(), "body": body["body"], "created": at(18, 9), "updated": at(18, 9) });
    list.push(c.clone());
    (StatusCode::CREATED, axum::Json(c)).into_response()
}

async fn list_comments(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if !exists(&f, &key) {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    }
    let list = f
        .comments
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    axum::Json(json!({ "startAt": 0, "maxResults": 50, "total": list.len(), "comments": list }))
        .into_response()
}

async fn add_worklog(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if !exists(&f, &key) {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    }
    let seconds = body["timeSpentSeconds"].as_i64().unwrap_or(0);
    let started = body["started"].as_str().unwrap_or("");
    if seconds < 60 || !started.contains('T') {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "errorMessages": ["Worklog must not be null."], "errors": {} })),
        )
            .into_response();
    }
    let mut all = f.worklogs.lock().unwrap();
    let list = all.entry(key).or_default();
    let w = json!({ "id": format!("{}", 20000 + list.len()), "author": f.myself.clone(), "comment": body["comment"], "started": started, "timeSpentSeconds": seconds });
    list.push(w.clone());
    (StatusCode::CREATED, axum::Json(w)).into_response()
}

async fn list_worklogs(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if !exists(&f, &key) {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    }
    let list = f
        .worklogs
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    axum::Json(json!({ "startAt": 0, "maxResults": 5000, "total": list.len(), "worklogs": list }))
        .into_response()
}

/// The site's fields: the spec's example list plus a story points field.
async fn fields(State(f): State<Shared>, headers: HeaderMap) -> Response {
    count(&f, "field");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut all = example("/rest/api/3/field");
    if let Some(list) = all.as_array_mut() {
        list.push(json!({ "id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": true, "schema": { "type": "number" } }));
    }
    axum::Json(all).into_response()
}

async fn update_issue(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    count(&f, "update");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut issues = f.issues.lock().unwrap();
    let Some(issue) = issues.iter_mut().find(|i| i.key == key) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let fields = &body["fields"];
    if let Some(s) = fields.get("summary") {
        match s.as_str().filter(|s| !s.is_empty()) {
            Some(s) => issue.summary = s.to_string(),
            None => return (StatusCode::BAD_REQUEST, axum::Json(json!({ "errorMessages": [], "errors": { "summary": "You must specify a summary of the issue." } }))).into_response(),
        }
    }
    if let Some(a) = fields.get("assignee") {
        issue.assignee = a["accountId"].as_str().map(str::to_string);
    }
    if let Some(p) = fields.get("customfield_10016") {
        let item = points_item(issue.story_points, p.as_f64());
        issue.history.push(entry(&jira_now(), vec![item]));
        issue.story_points = p.as_f64();
    }
    if let Some(p) = fields.get("parent") {
        issue.parent = p["key"].as_str().map(str::to_string);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_issue(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut issues = f.issues.lock().unwrap();
    match issues.iter().position(|i| i.key == key) {
        Some(i) => {
            issues.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

async fn add_watcher(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let Some(who) = body.as_str() else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "The watcher must be given as a string.",
        );
    };
    let mut issues = f.issues.lock().unwrap();
    match issues.iter_mut().find(|i| i.key == key) {
        Some(i) => {
            i.watchers.push(who.to_string());
            StatusCode::NO_CONTENT.into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

async fn issue_link(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let kind = body["type"]["name"].as_str().unwrap_or("");
    if !["Relates", "Blocks", "Duplicate", "Cloners"].contains(&kind) {
        return jira_error(
            StatusCode::NOT_FOUND,
            &format!("No issue link type with name '{kind}' found."),
        );
    }
    let (from, to) = (
        body["inwardIssue"]["key"].as_str().unwrap_or(""),
        body["outwardIssue"]["key"].as_str().unwrap_or(""),
    );
    let mut issues = f.issues.lock().unwrap();
    if !issues.iter().any(|i| i.key == to) {
        return jira_error(
            StatusCode::NOT_FOUND,
            &format!("Issue {to} does not exist."),
        );
    }
    match issues.iter_mut().find(|i| i.key == from) {
        Some(i) => {
            i.links.push((kind.to_string(), to.to_string()));
            StatusCode::CREATED.into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            &format!("Issue {from} does not exist."),
        ),
    }
}

async fn user_search(
    State(f): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let needle = q.get("query").map(|s| s.to_lowercase()).unwrap_or_default();
    let people = [
        (MIA, "Mia Krystof", "mia@example.com"),
        (
            "6c20b3955d31276811fef32h",
            "Ravi Sharma",
            "ravi@example.com",
        ),
    ];
    let found: Vec<Value> = people
        .iter()
        .filter(|(_, n, e)| needle.is_empty() || n.to_lowercase().contains(&needle) || e.contains(&needle))
        .map(|(id, n, e)| json!({ "accountId": id, "accountType": "atlassian", "displayName": n, "emailAddress": e, "active": true }))
        .collect();
    axum::Json(Value::Array(found)).into_response()
}

async fn user_get(
    State(f): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    match q.get("accountId").map(String::as_str) {
        Some(MIA) => axum::Json(f.myself.clone()).into_response(),
        _ => jira_error(
            StatusCode::NOT_FOUND,
            "Specified user does not exist or you do not have required permissions",
        ),
    }
}

async fn move_to_sprint(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let open = f
        .sprints
        .lock()
        .unwrap()
        .iter()
        .any(|s| s["id"] == json!(id) && s["state"] != "closed");
    if !open {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "Issues can only be moved to an open sprint.",
        );
    }
    let keys: Vec<String> = body["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let mut issues = f.issues.lock().unwrap();
    for i in issues.iter_mut().filter(|i| keys.contains(&i.key)) {
        if i.sprint != Some(id) {
            let item = sprint_item(i.sprint, Some(id));
            i.history.push(entry(&jira_now(), vec![item]));
        }
        i.sprint = Some(id);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn epic_issues(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(epic): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut issues = f.issues.lock().unwrap();
    let parent = if epic == "none" {
        None
    } else if issues
        .iter()
        .any(|i| i.key == epic && i.issue_type == "Epic")
    {
        Some(epic)
    } else {
        return jira_error(
            StatusCode::NOT_FOUND,
            &format!("Epic {epic} does not exist or is not an epic."),
        );
    };
    let keys: Vec<String> = body["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    for i in issues.iter_mut().filter(|i| keys.contains(&i.key)) {
        i.parent = parent.clone();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn create_project(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let key = body["key"].as_str().unwrap_or("").to_string();
    let name = body["name"].as_str().unwrap_or("").to_string();
    if body["leadAccountId"].as_str().is_none() || body["projectTypeKey"].as_str().is_none() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "errorMessages": [], "errors": { "projectLead": "You must specify a valid project lead." } }))).into_response();
    }
    let mut projects = f.projects.lock().unwrap();
    if projects.iter().any(|(k, _)| *k == key) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "errorMessages": [], "errors": { "projectKey": format!("Project '{name}' uses this project key.") } }))).into_response();
    }
    projects.push((key.clone(), name));
    (StatusCode::CREATED, axum::Json(json!({ "id": 10100 + projects.len(), "key": key, "self": format!("https://your-domain.atlassian.net/rest/api/3/project/{key}") }))).into_response()
}

async fn update_project(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut projects = f.projects.lock().unwrap();
    match projects.iter_mut().find(|(k, _)| *k == key) {
        Some(p) => {
            if let Some(n) = body["name"].as_str() {
                p.1 = n.to_string();
            }
            axum::Json(project_json(&f, &p.0, &p.1)).into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
        ),
    }
}

async fn delete_project(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut projects = f.projects.lock().unwrap();
    match projects.iter().position(|(k, _)| *k == key) {
        Some(i) => {
            projects.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
        ),
    }
}

/// Data Center: description and comment bodies are wiki-markup strings, never ADF.
async fn dc_create_issue(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let fields = &body["fields"];
    if !fields["description"].is_null() && !fields["description"].is_string() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "errorMessages": [], "errors": { "description": "Field 'description' must be a string." } }))).into_response();
    }
    f.dc_texts
        .lock()
        .unwrap()
        .push(fields["description"].as_str().unwrap_or("").to_string());
    let mut issues = f.issues.lock().unwrap();
    let key = format!("EX-{}", issues.len() + 1);
    issues.push(FakeIssue {
        key: key.clone(),
        project: fields["project"]["key"]
            .as_str()
            .unwrap_or("EX")
            .to_string(),
        summary: fields["summary"].as_str().unwrap_or("").to_string(),
        status: WORKFLOW[0],
        assignee: fields["assignee"]["name"].as_str().map(str::to_string),
        sprint: None,
        story_points: None,
        issue_type: fields["issuetype"]["name"]
            .as_str()
            .unwrap_or("Task")
            .to_string(),
        parent: None,
        watchers: Vec::new(),
        links: Vec::new(),
        created: jira_now(),
        history: Vec::new(),
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({ "id": "40001", "key": key })),
    )
        .into_response()
}

async fn dc_comment(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(_key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let Some(text) = body["body"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({ "errorMessages": ["Comment body must be a string."], "errors": {} }),
            ),
        )
            .into_response();
    };
    f.dc_texts.lock().unwrap().push(text.to_string());
    (StatusCode::CREATED, axum::Json(json!({ "id": "50001", "body": text, "author": { "key": "JIRAUSER10100", "name": "mia", "displayName": "Mia Krystof" }, "created": at(18, 9) }))).into_response()
}

async fn boards(
    State(f): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let project = q.get("projectKeyOrId").map(String::as_str).unwrap_or("");
    let values: Vec<Value> = if project == "EX" {
        let mut b = example_of_agile("/rest/agile/1.0/board")["values"][0].clone();
        b["location"] = json!({ "projectKey": "EX" });
        vec![b]
    } else {
        vec![]
    };
    axum::Json(json!({ "maxResults": 50, "startAt": 0, "total": values.len(), "isLast": true, "values": values })).into_response()
}

async fn board_sprints(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(board): Path<u64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&f, "board/sprint");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if board != 84 {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Board does not exist or you do not have permission to see it.",
        );
    }
    let states: Vec<String> = q
        .get("state")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let start: usize = q.get("startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: usize = q
        .get("maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let all: Vec<Value> = f
        .sprints
        .lock()
        .unwrap()
        .iter()
        .filter(|s| states.is_empty() || states.iter().any(|st| s["state"] == json!(st)))
        .cloned()
        .collect();
    let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let is_last = start + page.len() >= all.len();
    axum::Json(json!({ "maxResults": max, "startAt": start, "total": all.len(), "isLast": is_last, "values": page })).into_response()
}

async fn sprint_get(State(f): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    match f
        .sprints
        .lock()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(id))
    {
        Some(s) => axum::Json(s.clone()).into_response(),
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Sprint does not exist or you do not have permission to see it.",
        ),
    }
}

async fn sprint_create(
    State(f): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if body["originBoardId"] != json!(84) || body["name"].as_str().is_none_or(str::is_empty) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({ "errorMessages": [], "errors": { "name": "Sprint name is required." } }),
            ),
        )
            .into_response();
    }
    let mut sprints = f.sprints.lock().unwrap();
    let id = 6 + sprints.len() as u64;
    let mut s = json!({ "id": id, "name": body["name"], "state": "future", "originBoardId": 84 });
    for k in ["startDate", "endDate", "goal"] {
        if !body[k].is_null() {
            s[k] = body[k].clone();
        }
    }
    sprints.push(s.clone());
    (StatusCode::CREATED, axum::Json(s)).into_response()
}

/// Partial update, as Jira's POST /sprint/{id} does; enforces the state machine.
async fn sprint_update(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut sprints = f.sprints.lock().unwrap();
    let Some(s) = sprints.iter_mut().find(|s| s["id"] == json!(id)) else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Sprint does not exist or you do not have permission to see it.",
        );
    };
    if let Some(state) = body["state"].as_str() {
        let from = s["state"].as_str().unwrap_or("").to_string();
        let ok = matches!(
            (from.as_str(), state),
            ("future", "active") | ("active", "closed")
        );
        if !ok {
            return jira_error(
                StatusCode::BAD_REQUEST,
                &format!("Cannot move a {from} sprint to {state}."),
            );
        }
        if state == "active" && (body["startDate"].is_null() && s["startDate"].is_null()) {
            return jira_error(
                StatusCode::BAD_REQUEST,
                "A sprint needs a start date to be started.",
            );
        }
        if state == "closed" {
            s["completeDate"] = json!(
                chrono::Utc::now()
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
            );
        }
        s["state"] = json!(state);
    }
    for k in ["name", "startDate", "endDate", "goal"] {
        if !body[k].is_null() {
            s[k] = body[k].clone();
        }
    }
    axum::Json(s.clone()).into_response()
}

async fn sprint_delete(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut sprints = f.sprints.lock().unwrap();
    match sprints.iter().position(|s| s["id"] == json!(id)) {
        Some(i) if sprints[i]["state"] == "future" => {
            sprints.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        Some(_) => jira_error(
            StatusCode::BAD_REQUEST,
            "Only future sprints can be deleted.",
        ),
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Sprint does not exist or you do not have permission to see it.",
        ),
    }
}

/// The `example` of a GET 200 answer in the Jira Software (Agile 1.0) spec.
pub fn example_of_agile(path: &str) -> Value {
    let file = spec_dir().join("jira-software-agile-1.0.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec JSON");
    spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"].clone()
}

async fn issue(State(f): State<Shared>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    count(&f, &format!("issue/{key}"));
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let found = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == key)
        .cloned();
    match found {
        Some(i) => axum::Json(issue_json(&f, &i)).into_response(),
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

async fn statuses(State(f): State<Shared>, headers: HeaderMap) -> Response {
    count(&f, "status");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let all: Vec<Value> = WORKFLOW
        .iter()
        .map(|(name, cat)| json!({ "id": status_id(name), "name": name, "statusCategory": { "key": cat } }))
        .collect();
    axum::Json(Value::Array(all)).into_response()
}

/// `/project/{key}/statuses`: the project's issue types, each with its workflow's statuses, in
/// the spec's shape (its example's entry as the template).
async fn project_statuses(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    count(&f, "project/statuses");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    if !f.projects.lock().unwrap().iter().any(|(k, _)| *k == key) {
        return jira_error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
        );
    }
    let template = example("/rest/api/3/project/{projectIdOrKey}/statuses")[0].clone();
    let status_template = template["statuses"][0].clone();
    let statuses: Vec<Value> = WORKFLOW
        .iter()
        .map(|(name, cat)| {
            let mut s = status_template.clone();
            s["id"] = json!(status_id(name));
            s["name"] = json!(name);
            s["statusCategory"] = json!({ "key": cat });
            s
        })
        .collect();
    let types: Vec<Value> = [
        ("10001", "Task", false),
        ("10002", "Bug", false),
        ("10000", "Epic", false),
        ("10003", "Subtask", true),
    ]
    .iter()
    .map(|(id, name, subtask)| {
        let mut t = template.clone();
        t["id"] = json!(id);
        t["name"] = json!(name);
        t["subtask"] = json!(subtask);
        t["statuses"] = json!(statuses);
        t
    })
    .collect();
    axum::Json(Value::Array(types)).into_response()
}

/// `/priority`: the site's priorities, as the spec's example lists them.
async fn priorities(State(f): State<Shared>, headers: HeaderMap) -> Response {
    count(&f, "priority");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    axum::Json(example("/rest/api/3/priority")).into_response()
}

/// `/issue/{key}/changelog`: the whole changelog, paged (oldest first).
async fn changelog(
    State(f): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&f, "changelog");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let Some(issue) = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == key)
        .cloned()
    else {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let start: usize = q.get("startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: usize = q
        .get("maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .min(100);
    let values: Vec<Value> = issue
        .history
        .iter()
        .skip(start)
        .take(max)
        .cloned()
        .collect();
    let end = start + values.len();
    axum::Json(json!({ "startAt": start, "maxResults": max, "total": issue.history.len(), "isLast": end >= issue.history.len(), "values": values }))
        .into_response()
}

fn jira_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessages": [message], "errors": {} })),
    )
        .into_response()
}

fn authorised(fake: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v == fake.expected_auth => Ok(()),
        // Jira Cloud answers a bad token with 401 and this body.
        _ => Err(jira_error(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        )),
    }
}

fn count(fake: &Fake, key: &str) {
    *fake
        .hits
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default() += 1;
}

fn project_json(fake: &Fake, key: &str, name: &str) -> Value {
    let mut p = fake.project_template.clone();
    p["id"] = json!(format!("1{:04}", key.len() * 7));
    p["key"] = json!(key);
    p["name"] = json!(name);
    p
}

async fn myself(State(f): State<Shared>, headers: HeaderMap) -> Response {
    count(&f, "myself");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    axum::Json(f.myself.clone()).into_response()
}

async fn server_info(State(f): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let mut info = f.server_info.clone();
    info["deploymentType"] = json!("Cloud");
    axum::Json(info).into_response()
}

async fn project_search(
    State(f): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&f, "project/search");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let start: usize = q.get("startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: usize = q
        .get("maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
        .min(50);
    let needle = q.get("query").map(|s| s.to_lowercase());
    let projects = f.projects.lock().unwrap().clone();
    let matching: Vec<&(String, String)> = projects
        .iter()
        .filter(|(k, n)| {
            needle
                .as_ref()
                .is_none_or(|s| k.to_lowercase().contains(s) || n.to_lowercase().contains(s))
        })
        .collect();
    let values: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(max)
        .map(|(k, n)| project_json(&f, k, n))
        .collect();
    let is_last = start + values.len() >= matching.len();
    axum::Json(json!({
        "self": format!("https://your-domain.atlassian.net/rest/api/3/project/search?startAt={start}&maxResults={max}"),
        "maxResults": max, "startAt": start, "total": matching.len(), "isLast": is_last, "values": values
    }))
    .into_response()
}

async fn project(State(f): State<Shared>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    count(&f, &format!("project/{key}"));
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    match key.as_str() {
        // Rate-limited once, then fine.
        "FLAKY" if f.flaky.fetch_add(1, Ordering::SeqCst) == 0 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            axum::Json(json!({ "errorMessages": ["Rate limit exceeded."] })),
        )
            .into_response(),
        "FLAKY" => axum::Json(project_json(&f, "FLAKY", "Flaky")).into_response(),
        "DOWN" => jira_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Jira is down for maintenance.",
        ),
        "SLOW" => {
            // Far past any client timeout: a caller that gets an answer did not time out.
            tokio::time::sleep(Duration::from_secs(60)).await;
            axum::Json(project_json(&f, "SLOW", "Slow")).into_response()
        }
        "LOCKED" => jira_error(
            StatusCode::CONFLICT,
            "The project is being changed by another request; try again.",
        ),
        "SECRET" => jira_error(
            StatusCode::FORBIDDEN,
            "You do not have permission to view this project.",
        ),
        k => match f
            .projects
            .lock()
            .unwrap()
            .clone()
            .iter()
            .find(|(key, _)| key == k)
        {
            Some((key, name)) => axum::Json(project_json(&f, key, name)).into_response(),
            None => jira_error(
                StatusCode::NOT_FOUND,
                &format!("No project could be found with key '{k}'."),
            ),
        },
    }
}

/// Data Center lists every project at once, without paging.
async fn dc_projects(State(f): State<Shared>, headers: HeaderMap) -> Response {
    count(&f, "dc/project");
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    let all: Vec<Value> = f.projects.lock().unwrap().iter().map(|(k, n)| json!({ "id": format!("2{}", k.len()), "key": k, "name": n, "description": "" })).collect();
    axum::Json(Value::Array(all)).into_response()
}

async fn dc_myself(State(f): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&f, &headers) {
        return r;
    }
    axum::Json(json!({ "key": "JIRAUSER10100", "name": "mia", "displayName": "Mia Krystof", "emailAddress": "mia@example.com", "active": true }))
        .into_response()
}

/// Starts a fake Jira accepting exactly `expected_auth` as the Authorization header; returns its
/// base URL and its state (request counts per route in `hits`).
pub async fn spawn(expected_auth: &str) -> (String, Shared) {
    let projects = (1..=7)
        .map(|i| (format!("P{i}"), format!("Project {i}")))
        .chain([("EX".into(), "Example".into())])
        .collect();
    let search = example("/rest/api/3/project/search");
    let fake = Arc::new(Fake {
        project_template: search["values"][0].clone(),
        myself: example("/rest/api/3/myself"),
        server_info: example("/rest/api/3/serverInfo"),
        projects: Mutex::new(projects),
        hits: Mutex::default(),
        queries: Mutex::default(),
        issue_template: example_of("/rest/api/3/search/jql", "post")["issues"][0].clone(),
        issues: Mutex::new(fake_issues()),
        comments: Mutex::default(),
        worklogs: Mutex::default(),
        dc_texts: Mutex::default(),
        sprints: Mutex::new(vec![
            json!({ "id": 6, "name": "Sprint 6", "state": "closed", "startDate": sprint_at(-14, 9), "endDate": sprint_at(0, 9), "completeDate": sprint_at(0, 10), "originBoardId": 84, "goal": "Ship search" }),
            json!({ "id": 7, "name": "Sprint 7", "state": "active", "startDate": sprint_at(0, 9), "endDate": sprint_at(14, 9), "originBoardId": 84, "goal": "Fix checkout" }),
            json!({ "id": 8, "name": "Sprint 8", "state": "future", "originBoardId": 84 }),
        ]),
        flaky: AtomicUsize::new(0),
        expected_auth: expected_auth.to_string(),
    });
    let app = Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/3/project/search", get(project_search))
        .route("/rest/api/3/project", axum::routing::post(create_project))
        .route(
            "/rest/api/3/project/{key}",
            get(project).put(update_project).delete(delete_project),
        )
        .route("/rest/api/3/search/jql", axum::routing::post(search_jql))
        .route("/rest/api/3/issue", axum::routing::post(create_issue))
        .route(
            "/rest/api/3/issue/{key}",
            get(issue).put(update_issue).delete(delete_issue),
        )
        .route(
            "/rest/api/3/issue/{key}/watchers",
            axum::routing::post(add_watcher),
        )
        .route("/rest/api/3/issueLink", axum::routing::post(issue_link))
        .route("/rest/api/3/user/search", get(user_search))
        .route("/rest/api/3/user", get(user_get))
        .route(
            "/rest/agile/1.0/sprint/{id}/issue",
            axum::routing::post(move_to_sprint),
        )
        .route(
            "/rest/agile/1.0/epic/{key}/issue",
            axum::routing::post(epic_issues),
        )
        .route(
            "/rest/api/3/issue/{key}/transitions",
            get(get_transitions).post(do_transition),
        )
        .route(
            "/rest/api/3/issue/{key}/assignee",
            axum::routing::put(set_assignee),
        )
        .route(
            "/rest/api/3/issue/{key}/comment",
            get(list_comments).post(add_comment),
        )
        .route(
            "/rest/api/3/issue/{key}/worklog",
            get(list_worklogs).post(add_worklog),
        )
        .route("/rest/api/2/search", axum::routing::post(dc_search))
        .route("/rest/api/3/field", get(fields))
        .route("/rest/api/3/status", get(statuses))
        .route("/rest/api/2/status", get(statuses))
        .route("/rest/api/3/project/{key}/statuses", get(project_statuses))
        .route("/rest/api/2/project/{key}/statuses", get(project_statuses))
        .route("/rest/api/3/priority", get(priorities))
        .route("/rest/api/2/priority", get(priorities))
        .route(
            "/rest/api/2/issue/{key}/transitions",
            get(get_transitions).post(do_transition),
        )
        .route("/rest/api/3/issue/{key}/changelog", get(changelog))
        .route("/rest/agile/1.0/board", get(boards))
        .route("/rest/agile/1.0/board/{id}/sprint", get(board_sprints))
        .route("/rest/agile/1.0/sprint", axum::routing::post(sprint_create))
        .route(
            "/rest/agile/1.0/sprint/{id}",
            get(sprint_get).post(sprint_update).delete(sprint_delete),
        )
        .route("/rest/api/2/myself", get(dc_myself))
        .route("/rest/api/2/field", get(fields))
        .route("/rest/api/2/issue", axum::routing::post(dc_create_issue))
        .route("/rest/api/2/issue/{key}", get(issue))
        .route(
            "/rest/api/2/issue/{key}/comment",
            axum::routing::post(dc_comment),
        )
        .route("/rest/api/2/project", get(dc_projects))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

/// The Basic header Jira Cloud expects for an e-mail and API token.
pub fn basic(user: &str, token: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}
