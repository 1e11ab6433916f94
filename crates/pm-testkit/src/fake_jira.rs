//! A fake Jira that answers as the real one does, in two editions:
//! - **Cloud** ([`Options::cloud`]): REST v3 + Agile 1.0; bodies taken from the official OpenAPI
//!   documents' examples (read from `../shared/specs` at run time, or `PM_MCP_SPECS_DIR`); ADF rich
//!   text; users by `accountId`; `search/jql` with `nextPageToken` paging and bounded queries only.
//! - **Data Center** ([`Options::dc`]): REST v2 + Agile 1.0, hand-written after Jira Server's REST
//!   reference (no published OpenAPI document): wiki-markup strings, users with `key` ≠ `name`
//!   identified by the username, `startAt` / `maxResults` / `total` paging, Epic Link / Epic Name.
//!
//! Both validate as Jira does: JQL values that name nothing are a 400 in Jira's error shape,
//! create/edit fields are checked (and refused) before anything is stored, searches return only
//! the asked fields, keys are never reused; plus 401/403/404/429/5xx and slow answers.
//! Also, each in its own module: transition screens with required fields (`screens`: the
//! resolution of a move to Done, a reason to reopen), Cloud's refusal of an ADF document with an
//! empty text node (`adf`), and boards (`boards`: cross-project and team-managed boards, board
//! configuration with its estimation field, boards made by project templates, a completed
//! sprint's unfinished issues sent to the backlog); the Agile epic operations refuse
//! team-managed projects. Data Center's EX-5 has a real wiki-markup description.
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

mod read;
pub use read::CLOUD_ID;

use crate::fake::{Checks, Failure, Guard, Running};
mod adf;
pub mod boards;
mod screens;

/// Where the providers' published specs are (see [`crate::specs_dir`]); only called once a fake
/// has started, which it does only where they are.
pub fn spec_dir() -> PathBuf {
    crate::specs_dir().unwrap_or_else(|| panic!("{}", crate::SPECS_MISSING))
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

/// Which Jira the fake is: Cloud (REST v3, ADF, account ids, `search/jql` token paging) or Data
/// Center (REST v2, wiki markup, usernames, `startAt` paging). Each edition serves only its own
/// routes, as the real products do (Data Center has no `/rest/api/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    Cloud,
    DataCenter,
}

pub struct Fake {
    pub edition: Edition,
    project_template: Value,
    myself: Value,
    server_info: Value,
    projects: Mutex<Vec<(String, String)>>,
    /// Every JQL query received, in order.
    pub queries: Mutex<Vec<String>>,
    issue_template: Value,
    pub issues: Mutex<Vec<FakeIssue>>,
    /// The number of the next issue key. Jira never reuses a key, even after a delete (an
    /// issue key is the project's counter, `pcounter`, which only grows).
    next_key: Mutex<HashMap<String, usize>>,
    /// Comments and worklogs per issue key, as Jira would answer them.
    pub comments: Mutex<HashMap<String, Vec<Value>>>,
    pub worklogs: Mutex<HashMap<String, Vec<Value>>>,
    /// The sprints of the EX project's Scrum board (84), as the Agile API shows them.
    pub sprints: Mutex<Vec<Value>>,
    /// Rich text received by the Data Center endpoints, as sent.
    pub dc_texts: Mutex<Vec<String>>,
    /// Every request body received by the write routes, in order (`"METHOD path"`, body).
    pub bodies: Mutex<Vec<(String, Value)>>,
    /// The resolution each issue was given by a transition screen, by key.
    pub resolutions: Mutex<HashMap<String, String>>,
    /// The site's boards (see `boards`).
    pub boards: Mutex<Vec<boards::FakeBoard>>,
    /// How many unfinished issues each completed sprint sent to the backlog.
    pub moved_to_backlog: Mutex<HashMap<u64, usize>>,
    flaky: AtomicUsize,
    expected_auth: String,
    /// Faults on any route, Data Center's CAPTCHA, Cloud's lagging search index, bulk
    /// changelogs (see `fake_jira_read.rs`).
    pub read: read::ReadState,
}

pub type Shared = Arc<Fake>;

/// One issue of the fake site.
#[derive(Clone)]
pub struct FakeIssue {
    pub key: String,
    pub project: String,
    pub summary: String,
    /// As the edition stores it: an ADF document (Cloud) or a wiki-markup string (Data Center);
    /// `null` when empty.
    pub description: Value,
    pub status: (&'static str, &'static str),
    /// The account id (Cloud) or the username (Data Center).
    pub assignee: Option<String>,
    pub sprint: Option<u64>,
    pub story_points: Option<f64>,
    pub issue_type: String,
    /// The parent: on Cloud `fields.parent` for every level; on Data Center a sub-task's parent
    /// (`fields.parent`), else the epic, shown in the Epic Link field.
    pub parent: Option<String>,
    /// Data Center: an epic's Epic Name (required when creating an epic).
    pub epic_name: Option<String>,
    pub priority: Option<String>,
    /// `YYYY-MM-DD`.
    pub due: Option<String>,
    pub labels: Vec<String>,
    pub watchers: Vec<String>,
    pub links: Vec<(String, String)>,
    /// `fields.timetracking` as Jira shows it (`originalEstimate`, `remainingEstimate` and their
    /// `…Seconds`); empty when nothing is estimated.
    pub timetracking: serde_json::Map<String, Value>,
    pub created: String,
    /// The changelog, oldest first, as Jira records it (`created`, `items[]`).
    pub history: Vec<Value>,
}

const MIA: &str = "5b10a2844c20165700ede21g";
const RAVI: &str = "6c20b3955d31276811fef32h";

/// The Data Center users: `(key, name, display name, e-mail)`. Users created since Jira 8 get a
/// generated key `JIRAUSER<id>` that differs from their username; the REST API takes the
/// username (`name`) in assignee, watcher, lead and JQL values (Atlassian, "Jira 8.0 upgrade
/// notes": user keys for new users; Jira Server REST v2 `PUT /issue/{key}/assignee` takes
/// `{"name": …}`).
const DC_USERS: [(&str, &str, &str, &str); 2] = [
    ("JIRAUSER10100", "mia", "Mia Krystof", "mia@example.com"),
    ("JIRAUSER10200", "ravi", "Ravi Sharma", "ravi@example.com"),
];

/// The Cloud users: `(accountId, display name, e-mail)`.
const CLOUD_USERS: [(&str, &str, &str); 2] = [
    (MIA, "Mia Krystof", "mia@example.com"),
    (RAVI, "Ravi Sharma", "ravi@example.com"),
];

/// Data Center's Jira Software fields for epics: Epic Link (on an epic's children) and Epic Name
/// (required on an epic), as a Jira Software install creates them.
const EPIC_LINK: &str = "customfield_10100";
const EPIC_NAME: &str = "customfield_10102";

/// The priorities of the default priority scheme (Jira's `GET /priority`).
const PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];

/// The issue types of the fake's projects.
const ISSUE_TYPES: [&str; 5] = ["Task", "Bug", "Story", "Epic", "Sub-task"];

impl Fake {
    /// The connection's own user as the edition identifies users.
    fn me(&self) -> &'static str {
        match self.edition {
            Edition::Cloud => MIA,
            Edition::DataCenter => DC_USERS[0].1,
        }
    }

    fn known_user(&self, id: &str) -> bool {
        match self.edition {
            Edition::Cloud => CLOUD_USERS.iter().any(|u| u.0 == id),
            Edition::DataCenter => DC_USERS.iter().any(|u| u.1 == id),
        }
    }

    /// A user as the edition shows one: `accountId` (Cloud), `key` + `name` (Data Center).
    fn user_json(&self, id: &str) -> Value {
        match self.edition {
            Edition::Cloud => {
                let (name, email) = CLOUD_USERS
                    .iter()
                    .find(|u| u.0 == id)
                    .map_or((id, ""), |u| (u.1, u.2));
                json!({ "accountId": id, "accountType": "atlassian", "displayName": name, "emailAddress": email, "active": true })
            }
            Edition::DataCenter => match DC_USERS.iter().find(|u| u.1 == id) {
                Some((key, name, display, email)) => {
                    json!({ "key": key, "name": name, "displayName": display, "emailAddress": email, "active": true })
                }
                None => json!({ "name": id, "displayName": id, "active": false }),
            },
        }
    }

    /// The story points field: Cloud's "Story point estimate" (customfield_10016), Data
    /// Center's "Story Points" (customfield_10106, the id a Jira Software install creates).
    fn points_field(&self) -> (&'static str, &'static str) {
        match self.edition {
            Edition::Cloud => ("customfield_10016", "Story point estimate"),
            Edition::DataCenter => ("customfield_10106", "Story Points"),
        }
    }

    /// The story points field of a project's issues: its board's estimation field, else the
    /// site's (see `boards`).
    fn points_field_of(&self, project: &str) -> (&'static str, &'static str) {
        boards::points_of(self, project).unwrap_or(self.points_field())
    }

    fn api(&self) -> &'static str {
        match self.edition {
            Edition::Cloud => "3",
            Edition::DataCenter => "2",
        }
    }
}

/// EX-5's description on Data Center, in wiki markup as Jira Server stores and answers it
/// (Atlassian, "Text formatting notation help"): a heading, emphasis, a deleted span, a link,
/// monospace, nested and numbered lists, a table, a macro Markdown has no form for, escapes.
pub const DC_WIKI_DESCRIPTION: &str = "h3. Context\nSeen on *Safari* and _Firefox_, -only on v2-; see [the log|https://logs.example.com/5].\n\n* open {{/cart}}\n** pay\n* retry\n\n# one\n# two\n\n||Browser||Fails||\n|Safari|yes|\n\n{color:red}urgent{color} and \\{braces\\}";

/// A one-paragraph ADF document.
fn adf_text(text: &str) -> Value {
    json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": text }] }] })
}

fn fake_issues(edition: Edition) -> Vec<FakeIssue> {
    let statuses = [
        ("To Do", "new"),
        ("In Progress", "indeterminate"),
        ("Done", "done"),
    ];
    let me = match edition {
        Edition::Cloud => MIA,
        Edition::DataCenter => DC_USERS[0].1,
    };
    (1..=12)
        .map(|i| FakeIssue {
            key: format!("EX-{i}"),
            project: "EX".into(),
            summary: format!("Example task {i}"),
            description: match edition {
                Edition::Cloud => adf_text(&format!("Details of EX-{i}")),
                Edition::DataCenter if i == 5 => json!(DC_WIKI_DESCRIPTION),
                Edition::DataCenter => json!(format!("Details of EX-{i}")),
            },
            status: statuses[i % 3],
            assignee: (i % 2 == 1).then(|| me.to_string()),
            sprint: (i <= 6).then_some(7),
            story_points: Some((i % 5 + 1) as f64),
            issue_type: "Task".into(),
            parent: None,
            epic_name: None,
            priority: Some("Medium".into()),
            due: None,
            labels: Vec::new(),
            watchers: Vec::new(),
            links: Vec::new(),
            timetracking: serde_json::Map::new(),
            created: at(-6, 9),
            history: seed_history(i, statuses[i % 3].0, edition),
        })
        .collect()
}

/// Seconds in a Jira duration ("3h 30m", "90m", "2d"; a day is 8 hours, a week 5 days).
fn jira_duration(d: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut any = false;
    for part in d.split_whitespace() {
        let unit = part.chars().last()?;
        let n: f64 = part[..part.len() - unit.len_utf8()].parse().ok()?;
        let per = match unit {
            'w' => 5 * 8 * 3600,
            'd' => 8 * 3600,
            'h' => 3600,
            'm' => 60,
            _ => return None,
        };
        total += (n * f64::from(per)).round() as i64;
        any = true;
    }
    any.then_some(total)
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

fn points_item(field: (&str, &str), from: Option<f64>, to: Option<f64>) -> Value {
    let s = |p: Option<f64>| p.map(|p| p.to_string());
    json!({ "field": field.1, "fieldtype": "custom", "fieldId": field.0, "from": null, "fromString": s(from), "to": null, "toString": s(to) })
}

/// A changelog entry; its id is unique on the site, as Jira's history ids are.
fn entry(at: &str, items: Vec<Value>) -> Value {
    static NEXT: AtomicUsize = AtomicUsize::new(10_000);
    let id = NEXT.fetch_add(1, Ordering::SeqCst).to_string();
    json!({ "id": id, "author": { "accountId": MIA, "displayName": "Mia Krystof" }, "created": at, "items": items })
}

/// The day Sprint 7 started, 09:00 UTC: three weeks before today, so the seeded history always
/// lies inside the analytics windows that count back from now, whatever the calendar says.
pub fn sprint7_start() -> chrono::DateTime<chrono::Utc> {
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(21);
    day.and_hms_opt(9, 0, 0).unwrap_or_default().and_utc()
}

/// Jira's changelog time `days` after Sprint 7's start day, at `hour` UTC.
pub fn at(days: i64, hour: u32) -> String {
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
fn seed_history(i: usize, status: &str, edition: Edition) -> Vec<Value> {
    let points = match edition {
        Edition::Cloud => ("customfield_10016", "Story point estimate"),
        Edition::DataCenter => ("customfield_10106", "Story Points"),
    };
    let mut h = Vec::new();
    if i <= 6 {
        let when = if i == 6 { at(2, 10) } else { at(0, 8) };
        h.push(entry(&when, vec![sprint_item(None, Some(7))]));
    }
    if status != "To Do" {
        h.push(entry(&at(1, 10), vec![status_item("To Do", "In Progress")]));
    }
    if i == 4 {
        h.push(entry(
            &at(3, 12),
            vec![points_item(points, Some(1.0), Some(5.0))],
        ));
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
    let number = i.key.rsplit('-').next().unwrap_or("0");
    let mut v = match f.edition {
        Edition::Cloud => f.issue_template.clone(),
        // Jira Server REST v2 issue bean (`GET /rest/api/2/issue/{key}`).
        Edition::DataCenter => {
            json!({ "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations", "fields": {} })
        }
    };
    v["key"] = json!(i.key);
    v["id"] = json!(format!("2{number}"));
    v["self"] = json!(format!(
        "https://jira.example.com/rest/api/{}/issue/2{number}",
        f.api()
    ));
    let fields = &mut v["fields"];
    fields["summary"] = json!(i.summary);
    fields["description"] = i.description.clone();
    fields["status"] = json!({ "name": i.status.0, "id": status_id(i.status.0), "statusCategory": { "key": i.status.1 } });
    fields["assignee"] = match &i.assignee {
        Some(id) => f.user_json(id),
        None => Value::Null,
    };
    fields["reporter"] = f.user_json(f.me());
    fields["project"] = json!({ "key": i.project, "id": "10000", "name": "Example" });
    fields[f.points_field_of(&i.project).0] = json!(i.story_points);
    fields["issuetype"] = json!({ "name": i.issue_type, "subtask": i.issue_type == "Sub-task" });
    let subtask = i.issue_type == "Sub-task";
    fields["parent"] = match &i.parent {
        // Data Center: `parent` is a sub-task's only; an epic's children show it in Epic Link
        // (Jira Software Server: "Epic Link" custom field, type gh-epic-link).
        Some(_) if f.edition == Edition::DataCenter && !subtask => Value::Null,
        Some(p) => json!({ "key": p }),
        None => Value::Null,
    };
    if f.edition == Edition::DataCenter {
        fields[EPIC_LINK] = match &i.parent {
            Some(p) if !subtask => json!(p),
            _ => Value::Null,
        };
        fields[EPIC_NAME] = json!(i.epic_name);
    }
    fields["priority"] = match &i.priority {
        Some(p) => json!({ "name": p }),
        None => Value::Null,
    };
    fields["duedate"] = json!(i.due);
    fields["labels"] = json!(i.labels);
    fields["timetracking"] = Value::Object(i.timetracking.clone());
    fields["created"] = json!(i.created);
    fields["updated"] = json!(
        i.history
            .last()
            .and_then(|h| h["created"].as_str())
            .unwrap_or(&i.created)
    );
    v
}

/// Keeps only the asked fields, as Jira does: `*all` / `*navigable` keep everything, `id` keeps
/// none, a list keeps those named. `None` is the edition's default (Cloud's `search/jql`:
/// "The default is `id`"; everywhere else every navigable field).
fn select_fields(mut v: Value, wanted: Option<&[String]>) -> Value {
    let Some(wanted) = wanted else {
        return v;
    };
    if wanted.iter().any(|w| w == "*all" || w == "*navigable") {
        return v;
    }
    if let Some(fields) = v["fields"].as_object_mut() {
        fields.retain(|k, _| wanted.iter().any(|w| w == k));
    }
    if wanted.iter().all(|w| w == "id")
        && let Some(o) = v.as_object_mut()
    {
        o.remove("fields");
    }
    v
}

/// A `fields` request value: a JSON array (POST bodies) or a comma-separated string (query).
fn field_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
        ),
        Value::String(s) => Some(s.split(',').map(|x| x.trim().to_string()).collect()),
        _ => None,
    }
}

/// The changelog `expand=changelog` embeds outside Cloud's `search/jql` (see
/// `read::cloud_changelog` for that one): Data Center's search and issue give the whole
/// changelog, oldest first (Jira Server loads it all: JRASERVER-60107, memory use of
/// `expand=changelog` on long histories); Cloud's `GET /issue/{key}` the newest 100, newest
/// first (pycontribs/jira#911: "supplies the most recent 100 histories"; the rest via
/// `/issue/{key}/changelog`).
fn with_changelog(mut v: Value, i: &FakeIssue, changelog: bool, edition: Edition) -> Value {
    if changelog {
        let shown: Vec<Value> = match edition {
            Edition::DataCenter => i.history.clone(),
            Edition::Cloud => i.history.iter().rev().take(100).cloned().collect(),
        };
        v["changelog"] = json!({ "startAt": 0, "maxResults": shown.len(), "total": i.history.len(), "histories": shown });
    }
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

/// Jira's answer to a JQL value that names nothing: 400 with
/// `"The value 'NOPE' does not exist for the field 'project'."` (Jira validates every literal of
/// a clause against the site — projects, sprints, users, issue types, statuses — and refuses the
/// whole query rather than answering "no results"; JQL docs, "Advanced searching — fields
/// reference", and the ErrorCollection 400 of `POST /rest/api/3/search/jql`).
fn no_such(value: &str, field: &str) -> String {
    format!("The value '{value}' does not exist for the field '{field}'.")
}

/// Checks every value of the query against the site, as Jira does before searching.
fn validate_jql(f: &Fake, jql: &str) -> Result<(), String> {
    for clause in clauses(jql) {
        let c = clause.trim();
        if let Some(v) = c.strip_prefix("project = ") {
            let p = unquote(v).ok_or_else(|| bad_jql(c))?;
            if !f.projects.lock().unwrap().iter().any(|(k, _)| *k == p) {
                return Err(no_such(&p, "project"));
            }
        } else if let Some(v) = c.strip_prefix("sprint = ") {
            let s = unquote(v).ok_or_else(|| bad_jql(c))?;
            let known = s.parse::<u64>().ok().is_some_and(|id| {
                f.sprints
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|x| x["id"] == json!(id))
            });
            if !known {
                return Err(no_such(&s, "sprint"));
            }
        } else if let Some(v) = c.strip_prefix("assignee = ") {
            if v.trim() != "currentUser()" {
                let a = unquote(v).ok_or_else(|| bad_jql(c))?;
                if !f.known_user(&a) {
                    return Err(no_such(&a, "assignee"));
                }
            }
        } else if let Some(v) = c.strip_prefix("issuetype = ") {
            let t = unquote(v).ok_or_else(|| bad_jql(c))?;
            if !ISSUE_TYPES.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                return Err(no_such(&t, "issuetype"));
            }
        }
    }
    Ok(())
}

fn bad_jql(clause: &str) -> String {
    format!("Error in the JQL Query: the clause '{clause}' could not be parsed.")
}

/// Evaluates the JQL pm-mcp writes; anything else is a 400, as Jira answers bad JQL.
fn matches(f: &Fake, issue: &FakeIssue, jql: &str) -> Result<bool, String> {
    for clause in clauses(jql) {
        let c = clause.trim();
        let ok = if c == "assignee = currentUser()" {
            issue.assignee.as_deref() == Some(f.me())
        } else if c == "assignee is EMPTY" {
            issue.assignee.is_none()
        } else if let Some(v) = c.strip_prefix("project = ") {
            unquote(v).ok_or_else(|| bad_jql(c))? == issue.project
        } else if let Some(v) = c.strip_prefix("assignee = ") {
            Some(unquote(v).ok_or_else(|| bad_jql(c))?) == issue.assignee
        } else if let Some(v) = c.strip_prefix("issuetype = ") {
            unquote(v)
                .ok_or_else(|| bad_jql(c))?
                .eq_ignore_ascii_case(&issue.issue_type)
        } else if let Some(v) = c.strip_prefix("sprint = ") {
            unquote(v).ok_or_else(|| bad_jql(c))?.parse::<u64>().ok() == issue.sprint
        } else if let Some(list) = c
            .strip_prefix("status in (")
            .and_then(|l| l.strip_suffix(')'))
        {
            let names: Vec<String> = list
                .split("\", \"")
                .map(|p| p.trim_matches(|ch| ch == '"' || ch == ' ').to_string())
                .collect();
            names.iter().any(|n| n.eq_ignore_ascii_case(issue.status.0))
        } else if let Some(list) = c
            .strip_prefix("status not in (")
            .and_then(|l| l.strip_suffix(')'))
        {
            // Status ids, as Jira takes them in JQL.
            !list
                .split(',')
                .map(|p| p.trim().trim_matches('"'))
                .any(|id| id == status_id(issue.status.0))
        } else if c == "statusCategory != Done" {
            issue.status.1 != "done"
        } else if c == "statusCategory = Done" {
            issue.status.1 == "done"
        } else if let Some(v) = c.strip_prefix("updated >= ") {
            let day = unquote(v).ok_or_else(|| bad_jql(c))?;
            let last = issue
                .history
                .last()
                .and_then(|h| h["created"].as_str())
                .unwrap_or(&issue.created);
            last[..10] >= day[..day.len().min(10)]
        } else if let Some(v) = c.strip_prefix("text ~ ") {
            let t = unquote(v).ok_or_else(|| bad_jql(c))?.to_lowercase();
            issue.summary.to_lowercase().contains(&t)
        } else if let Some(ok) = read::clause(f, issue, c) {
            ok?
        } else {
            return Err(format!("Error in the JQL Query: unexpected clause '{c}'"));
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The issues a query finds, or Jira's 400 for a query it refuses.
fn run_jql(f: &Fake, jql: &str) -> Result<Vec<FakeIssue>, Response> {
    f.queries.lock().unwrap().push(jql.to_string());
    if let Err(e) = validate_jql(f, jql) {
        return Err(jql_error(&e));
    }
    let all = f.issues.lock().unwrap().clone();
    let mut hits = Vec::new();
    for issue in all {
        match matches(f, &issue, jql) {
            Ok(true) => hits.push(issue),
            Ok(false) => {}
            Err(e) => return Err(jql_error(&e)),
        }
    }
    Ok(hits)
}

/// A refused query: 400 and an ErrorCollection with `warningMessages`, as Jira's search answers.
fn jql_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "errorMessages": [message], "errors": {}, "warningMessages": [] })),
    )
        .into_response()
}

/// Cloud: `POST /rest/api/3/search/jql` (spec): token paging (`nextPageToken`, `isLast`),
/// `maxResults` at most 100 with fields (5000 with only ids), `fields` defaulting to `id`.
async fn search_jql(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let jql = body["jql"].as_str().unwrap_or("").to_string();
    let max = body["maxResults"].as_u64().unwrap_or(50).min(100) as usize;
    let start: usize = body["nextPageToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // "For performance reasons, this parameter requires a bounded query" (spec, `jql` of
    // `POST /rest/api/3/search/jql`): a query without a condition is refused.
    if read::unbounded(&jql) {
        return jql_error(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        );
    }
    let hits = match read::cloud_hits(&f, &jql, &body) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let changelog = body["expand"]
        .as_str()
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "changelog"));
    let wanted = field_list(&body["fields"]).unwrap_or_else(|| vec!["id".to_string()]);
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            select_fields(
                read::cloud_changelog(issue_json(&f, i), i, changelog),
                Some(&wanted),
            )
        })
        .collect();
    let end = start + page.len();
    let mut out = json!({ "issues": page, "isLast": end >= hits.len() });
    if end < hits.len() {
        out["nextPageToken"] = json!(format!("page-{end}"));
    }
    axum::Json(out).into_response()
}

/// Data Center: `POST /rest/api/2/search` (Jira Server REST v2): `startAt` / `maxResults` /
/// `total` paging, `maxResults` capped at 1000 (`jira.search.views.default.max`), `expand` a
/// list, `fields` defaulting to every navigable field.
async fn dc_search(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let jql = body["jql"].as_str().unwrap_or("").to_string();
    let max = body["maxResults"].as_u64().unwrap_or(50).min(1000) as usize;
    let start = body["startAt"].as_u64().unwrap_or(0) as usize;
    let hits = match run_jql(&f, &jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let changelog = body["expand"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x == "changelog"));
    let wanted = field_list(&body["fields"]);
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            select_fields(
                with_changelog(issue_json(&f, i), i, changelog, f.edition),
                wanted.as_deref(),
            )
        })
        .collect();
    axum::Json(json!({ "expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": page }))
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
        // Reopening a done issue has its own transition, with a screen (see `screens`).
        _ => out.push(("41".to_string(), WORKFLOW[0])),
    }
    out
}

/// Jira's answer to a create or edit it refuses: 400 and `{"errorMessages": [], "errors": {field:
/// message}}` (ErrorCollection; spec example of `POST /rest/api/3/issue` 400).
fn field_errors(errors: serde_json::Map<String, Value>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "errorMessages": [], "errors": errors })),
    )
        .into_response()
}

/// Checks and applies the `fields` of a create or an edit, as Jira does: every field is
/// validated before anything is stored, and the first bad one is named in `errors`.
/// - `description`: an ADF document on Cloud v3 ("Operation value must be an Atlassian
///   Document", spec: REST v3 takes ADF in rich-text fields), a wiki-markup string on Data Center.
/// - `assignee`: `{"accountId": …}` on Cloud (usernames were removed from Cloud's APIs, Atlassian
///   "Deprecation notice — user privacy API migration guide"), `{"name": username}` on Data Center.
/// - `priority`: `{"name"|"id"}` of a priority of the scheme; `duedate`: `YYYY-MM-DD` ("Error
///   parsing date string"); `labels`: strings without spaces ("The label '…' contains spaces").
/// - a field Jira does not know or that is not on the screen: "Field '…' cannot be set. It is
///   not on the appropriate screen, or unknown."
fn apply_fields(
    f: &Fake,
    issue: &mut FakeIssue,
    fields: &serde_json::Map<String, Value>,
    all: &[FakeIssue],
) -> Result<Vec<Value>, serde_json::Map<String, Value>> {
    let mut errors = serde_json::Map::new();
    let mut changes = Vec::new();
    let mut next = issue.clone();
    let (points_id, points_name) = f.points_field_of(&issue.project);
    for (k, v) in fields {
        match k.as_str() {
            "project" | "issuetype" => {} // create only; checked by the caller
            "summary" => match v.as_str().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => next.summary = s.to_string(),
                None => {
                    errors.insert(k.clone(), json!("You must specify a summary of the issue."));
                }
            },
            "description" => {
                let ok = match f.edition {
                    Edition::Cloud => {
                        v.is_null() || (v["type"] == "doc" && v["content"].is_array())
                    }
                    Edition::DataCenter => v.is_null() || v.is_string(),
                };
                if ok {
                    if let Some(t) = v.as_str() {
                        f.dc_texts.lock().unwrap().push(t.to_string());
                    }
                    next.description = v.clone();
                } else if f.edition == Edition::Cloud {
                    errors.insert(k.clone(), json!("Operation value must be an Atlassian Document (see the Atlassian Document Format)"));
                } else {
                    errors.insert(k.clone(), json!("Operation value must be a string"));
                }
            }
            "assignee" => {
                let who = match f.edition {
                    Edition::Cloud => v.get("accountId"),
                    Edition::DataCenter => v.get("name"),
                };
                match (v.is_null(), who) {
                    (true, _) | (false, Some(Value::Null)) => next.assignee = None,
                    (false, Some(Value::String(id))) if f.known_user(id) => {
                        next.assignee = Some(id.clone());
                    }
                    (false, Some(Value::String(id))) => {
                        errors.insert(k.clone(), json!(format!("User '{id}' does not exist.")));
                    }
                    _ => {
                        let msg = match f.edition {
                            Edition::Cloud => {
                                "'accountId' must be the only user identifying field in GDPR strict mode."
                            }
                            Edition::DataCenter => "Specify a user by 'name' (the username).",
                        };
                        errors.insert(k.clone(), json!(msg));
                    }
                }
            }
            "priority" => {
                let name = v["name"].as_str().or_else(|| {
                    v["id"]
                        .as_str()
                        .and_then(|id| id.parse::<usize>().ok())
                        .and_then(|n| PRIORITIES.get(n.wrapping_sub(1)).copied())
                });
                match name.and_then(|n| PRIORITIES.iter().find(|p| p.eq_ignore_ascii_case(n))) {
                    Some(p) => next.priority = Some(p.to_string()),
                    None if v.is_null() => next.priority = None,
                    None => {
                        errors.insert(k.clone(), json!("The priority selected is invalid."));
                    }
                }
            }
            "duedate" => match v {
                Value::Null => next.due = None,
                Value::String(d) if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() => {
                    next.due = Some(d.clone());
                }
                other => {
                    errors.insert(
                        k.clone(),
                        json!(format!(
                            "Error parsing date string: {}",
                            other.as_str().unwrap_or("")
                        )),
                    );
                }
            },
            "labels" => {
                let list: Option<Vec<String>> = v.as_array().map(|a| {
                    a.iter()
                        .filter_map(|l| l.as_str().map(str::to_string))
                        .collect()
                });
                match list {
                    Some(l) => match l.iter().find(|x| x.contains(' ') || x.is_empty()) {
                        Some(bad) => {
                            errors.insert(
                                k.clone(),
                                json!(format!(
                                    "The label '{bad}' contains spaces which is invalid."
                                )),
                            );
                        }
                        None => next.labels = l,
                    },
                    None if v.is_null() => next.labels = Vec::new(),
                    None => {
                        errors.insert(k.clone(), json!("Labels must be a list of strings."));
                    }
                }
            }
            // Data Center: only a sub-task has a `parent` field on its screens.
            "parent" if f.edition == Edition::DataCenter && next.issue_type != "Sub-task" => {
                errors.insert(k.clone(), json!("Field 'parent' cannot be set. It is not on the appropriate screen, or unknown."));
            }
            EPIC_LINK
                if f.edition == Edition::DataCenter
                    && next.issue_type != "Sub-task"
                    && next.issue_type != "Epic" =>
            {
                match v.as_str() {
                    Some(e) if all.iter().any(|i| i.key == e && i.issue_type == "Epic") => {
                        next.parent = Some(e.to_string());
                    }
                    None if v.is_null() => next.parent = None,
                    _ => {
                        errors.insert(
                            k.clone(),
                            json!(format!(
                                "The issue '{}' is not an epic.",
                                v.as_str().unwrap_or("")
                            )),
                        );
                    }
                }
            }
            EPIC_NAME if f.edition == Edition::DataCenter && next.issue_type == "Epic" => {
                match v.as_str().map(str::trim).filter(|n| !n.is_empty()) {
                    Some(n) => next.epic_name = Some(n.to_string()),
                    None => {
                        errors.insert(k.clone(), json!("Epic Name is required."));
                    }
                }
            }
            // The issue hierarchy: a sub-task's parent is a standard issue, a standard issue's
            // is an epic, an epic has none ("Given parent issue does not belong to appropriate
            // hierarchy.", as Jira answers: elastic/kibana#131285).
            "parent" => match v["key"].as_str() {
                Some(p)
                    if all.iter().any(|i| {
                        i.key == p && !hierarchy_fits(&next.issue_type, &i.issue_type)
                    }) =>
                {
                    errors.insert(
                        k.clone(),
                        json!("Given parent issue does not belong to appropriate hierarchy."),
                    );
                }
                Some(p) if all.iter().any(|i| i.key == p) => next.parent = Some(p.to_string()),
                None if v.is_null() => next.parent = None,
                _ => {
                    errors.insert(k.clone(), json!("Could not find issue by id or key."));
                }
            },
            // TimeTrackingDetails: the estimates given change, the others stay; a duration
            // Jira cannot read is refused.
            "timetracking" => {
                for (name, seconds) in [
                    ("originalEstimate", "originalEstimateSeconds"),
                    ("remainingEstimate", "remainingEstimateSeconds"),
                ] {
                    match v.get(name) {
                        None => {}
                        Some(Value::String(d)) => {
                            match jira_duration(d) {
                                Some(secs) => {
                                    next.timetracking.insert(name.into(), json!(d));
                                    next.timetracking.insert(seconds.into(), json!(secs));
                                }
                                None => {
                                    errors.insert(
                                    k.clone(),
                                    json!("Please specify a valid time duration, e.g. 2w 4d 6h 45m."),
                                );
                                }
                            }
                        }
                        Some(_) => {
                            errors.insert(k.clone(), json!("Operation value must be a string"));
                        }
                    }
                }
            }
            id if id == points_id => match v {
                Value::Null => next.story_points = None,
                Value::Number(n) => next.story_points = n.as_f64(),
                _ => {
                    errors.insert(
                        k.clone(),
                        json!(format!("Operation value must be a number ({points_name}).")),
                    );
                }
            },
            other => {
                errors.insert(
                    other.to_string(),
                    json!(format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown.")),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if next.story_points != issue.story_points {
        changes.push(points_item(
            f.points_field_of(&issue.project),
            issue.story_points,
            next.story_points,
        ));
    }
    *issue = next;
    Ok(changes)
}

/// Whether an issue of type `child` may have a parent of type `parent` (Jira's hierarchy:
/// sub-task < standard issue < epic).
fn hierarchy_fits(child: &str, parent: &str) -> bool {
    let level = |t: &str| match t {
        "Sub-task" => 0,
        "Epic" => 2,
        _ => 1,
    };
    level(parent) == level(child) + 1
}

/// `POST /rest/api/{2,3}/issue`: the project and issue type must exist, then every field is
/// checked (see [`apply_fields`]); nothing is created unless all are accepted. Keys come from the
/// project's counter and are never reused, even after a delete.
async fn create_issue(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    f.bodies
        .lock()
        .unwrap()
        .push(("POST issue".into(), body.clone()));
    if f.edition == Edition::Cloud && adf::has_empty_text(&body["fields"]["description"]) {
        return adf::invalid_input();
    }
    let empty = serde_json::Map::new();
    let fields = body["fields"].as_object().unwrap_or(&empty);
    let project = body["fields"]["project"]["key"].as_str().unwrap_or("");
    let mut errors = serde_json::Map::new();
    if !f.projects.lock().unwrap().iter().any(|(k, _)| k == project) {
        errors.insert("project".into(), json!("Specify a valid project ID or key"));
    }
    let kind = body["fields"]["issuetype"]["name"].as_str().unwrap_or("");
    let Some(kind) = ISSUE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(kind)) else {
        errors.insert("issuetype".into(), json!("Specify an issue type"));
        return field_errors(errors);
    };
    if body["fields"]["summary"]
        .as_str()
        .is_none_or(|s| s.trim().is_empty())
    {
        errors.insert(
            "summary".into(),
            json!("You must specify a summary of the issue."),
        );
    }
    if !errors.is_empty() {
        return field_errors(errors);
    }
    let mut issues = f.issues.lock().unwrap();
    let mut issue = FakeIssue {
        key: String::new(),
        project: project.to_string(),
        summary: String::new(),
        description: Value::Null,
        status: WORKFLOW[0],
        assignee: None,
        sprint: None,
        story_points: None,
        issue_type: kind.to_string(),
        parent: None,
        epic_name: None,
        priority: Some("Medium".into()),
        due: None,
        labels: Vec::new(),
        watchers: Vec::new(),
        links: Vec::new(),
        timetracking: serde_json::Map::new(),
        created: jira_now(),
        history: Vec::new(),
    };
    if let Err(e) = apply_fields(&f, &mut issue, fields, &issues) {
        return field_errors(e);
    }
    if f.edition == Edition::DataCenter && issue.issue_type == "Epic" && issue.epic_name.is_none() {
        return field_errors(
            [(EPIC_NAME.to_string(), json!("Epic Name is required."))]
                .into_iter()
                .collect(),
        );
    }
    if f.edition == Edition::DataCenter && issue.description.is_null() {
        f.dc_texts.lock().unwrap().push(String::new());
    }
    let n = {
        let mut counters = f.next_key.lock().unwrap();
        let c = counters.entry(project.to_string()).or_insert(1);
        let n = *c;
        *c += 1;
        n
    };
    issue.key = format!("{project}-{n}");
    let key = issue.key.clone();
    issues.push(issue);
    (StatusCode::CREATED, axum::Json(json!({ "id": format!("2{n}"), "key": key, "self": format!("https://jira.example.com/rest/api/{}/issue/{key}", f.api()) })))
        .into_response()
}

/// `PUT /rest/api/{2,3}/issue/{key}`: an edit, all fields checked first (see [`apply_fields`]).
async fn update_issue(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    f.bodies
        .lock()
        .unwrap()
        .push((format!("PUT issue/{key}"), body.clone()));
    if f.edition == Edition::Cloud && adf::has_empty_text(&body["fields"]["description"]) {
        return adf::invalid_input();
    }
    let mut issues = f.issues.lock().unwrap();
    let snapshot = issues.clone();
    let Some(issue) = issues.iter_mut().find(|i| i.key == key) else {
        return no_issue();
    };
    let empty = serde_json::Map::new();
    let fields = body["fields"].as_object().unwrap_or(&empty);
    for k in ["project", "issuetype"] {
        if fields.contains_key(k) {
            let mut e = serde_json::Map::new();
            e.insert(
                k.into(),
                json!(format!(
                    "Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                )),
            );
            return field_errors(e);
        }
    }
    match apply_fields(&f, issue, fields, &snapshot) {
        Ok(items) => {
            for item in items {
                issue.history.push(entry(&jira_now(), vec![item]));
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => field_errors(e),
    }
}

/// 404 for an issue that does not exist (or that the account cannot see), in Jira's words.
fn no_issue() -> Response {
    jira_error(
        StatusCode::NOT_FOUND,
        "Issue does not exist or you do not have permission to see it.",
    )
}

/// `DELETE /rest/api/{2,3}/issue/{key}`: 204; the key is not given out again.
async fn delete_issue(State(f): State<Shared>, Path(key): Path<String>) -> Response {
    let mut issues = f.issues.lock().unwrap();
    match issues.iter().position(|i| i.key == key) {
        Some(i) => {
            issues.remove(i);
            f.comments.lock().unwrap().remove(&key);
            f.worklogs.lock().unwrap().remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_issue(),
    }
}

/// `PUT /rest/api/{2,3}/issue/{key}/assignee`: `{"accountId": id|null}` on Cloud (spec: null
/// unassigns, "-1" is the default assignee); `{"name": username|null}` on Data Center. A body
/// that names the user the other edition's way is refused, never read as "unassign".
async fn set_assignee(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    f.bodies
        .lock()
        .unwrap()
        .push((format!("PUT issue/{key}/assignee"), body.clone()));
    let mut issues = f.issues.lock().unwrap();
    let Some(issue) = issues.iter_mut().find(|i| i.key == key) else {
        return no_issue();
    };
    let field = match f.edition {
        Edition::Cloud => "accountId",
        Edition::DataCenter => "name",
    };
    match body.get(field) {
        Some(Value::Null) => issue.assignee = None,
        Some(Value::String(s)) if s == "-1" => issue.assignee = None,
        Some(Value::String(s)) if f.known_user(s) => issue.assignee = Some(s.clone()),
        Some(Value::String(s)) => {
            let mut e = serde_json::Map::new();
            e.insert(
                "assignee".into(),
                json!(format!("User '{s}' does not exist.")),
            );
            return field_errors(e);
        }
        _ => {
            return jira_error(
                StatusCode::BAD_REQUEST,
                &format!("The user must be given by '{field}'."),
            );
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn get_transitions(
    State(f): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
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
    // `expand=transitions.fields` adds each transition's screen fields (see `screens`).
    let with_fields = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "transitions.fields"));
    let list: Vec<Value> = transitions_from(issue.status.0)
        .into_iter()
        .map(|(id, (name, cat))| {
            let mut t = json!({ "id": id, "name": if id == "41" { "Reopen".to_string() } else { format!("Move to {name}") }, "hasScreen": !screens::fields(&id).as_object().is_some_and(|m| m.is_empty()), "to": { "name": name, "statusCategory": { "key": cat } } });
            if with_fields {
                t["fields"] = screens::fields(&id);
            }
            t
        })
        .collect();
    axum::Json(json!({ "expand": "transitions", "transitions": list })).into_response()
}

async fn do_transition(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
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
        Some((id, to)) => {
            match screens::check(&id, &body) {
                Ok(Some(resolution)) => {
                    f.resolutions
                        .lock()
                        .unwrap()
                        .insert(key.clone(), resolution);
                }
                Ok(None) => {}
                Err(errors) => return field_errors(errors),
            }
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

fn exists(f: &Fake, key: &str) -> bool {
    f.issues.lock().unwrap().iter().any(|i| i.key == key)
}

/// `startAt` / `maxResults` of a query, `maxResults` defaulting to `default` and capped at `cap`.
fn paging(q: &HashMap<String, String>, default: usize, cap: usize) -> (usize, usize) {
    let start = q.get("startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max = q
        .get("maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .min(cap);
    (start, max)
}

/// `POST /rest/api/{2,3}/issue/{key}/comment`: 404 for an unknown issue; the body is ADF on
/// Cloud v3 and a wiki-markup string on Data Center v2.
async fn add_comment(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !exists(&f, &key) {
        return no_issue();
    }
    if f.edition == Edition::Cloud && adf::has_empty_text(&body["body"]) {
        return adf::invalid_input();
    }
    let ok = match f.edition {
        Edition::Cloud => body["body"]["type"] == "doc",
        Edition::DataCenter => body["body"].as_str().is_some_and(|b| !b.trim().is_empty()),
    };
    if !ok {
        let msg = match f.edition {
            Edition::Cloud => "Comment body must be an Atlassian Document",
            Edition::DataCenter => "Comment body can not be empty!",
        };
        return field_errors([("comment".to_string(), json!(msg))].into_iter().collect());
    }
    if let Some(t) = body["body"].as_str() {
        f.dc_texts.lock().unwrap().push(t.to_string());
    }
    let mut all = f.comments.lock().unwrap();
    let list = all.entry(key).or_default();
    let me = f.user_json(f.me());
    let now = jira_now();
    let c = json!({ "id": format!("{}", 10000 + list.len()), "author": me, "updateAuthor": me, "body": body["body"], "created": now, "updated": now });
    list.push(c.clone());
    (StatusCode::CREATED, axum::Json(c)).into_response()
}

/// `GET /rest/api/{2,3}/issue/{key}/comment`: paged (`startAt`, `maxResults` — the spec's
/// default 100 on Cloud, 50 on Data Center — `total`), `orderBy` `created` / `-created`.
async fn list_comments(
    State(f): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !exists(&f, &key) {
        return no_issue();
    }
    let default = match f.edition {
        Edition::Cloud => 100,
        Edition::DataCenter => 50,
    };
    let (start, max) = paging(&q, default, 5000);
    let mut list = f
        .comments
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    if q.get("orderBy").is_some_and(|o| o == "-created") {
        list.reverse();
    }
    let page: Vec<Value> = list.iter().skip(start).take(max).cloned().collect();
    axum::Json(
        json!({ "startAt": start, "maxResults": max, "total": list.len(), "comments": page }),
    )
    .into_response()
}

/// `POST /rest/api/{2,3}/issue/{key}/worklog`: at least a minute; `started` in Jira's
/// `yyyy-MM-dd'T'HH:mm:ss.SSSZ`; the comment ADF on Cloud, a string on Data Center.
async fn add_worklog(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !exists(&f, &key) {
        return no_issue();
    }
    let seconds = body["timeSpentSeconds"].as_i64().unwrap_or(0);
    let started = body["started"].as_str().unwrap_or("");
    let started_ok = chrono::DateTime::parse_from_str(started, "%Y-%m-%dT%H:%M:%S%.3f%z").is_ok();
    if seconds < 60 || !started_ok {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "errorMessages": ["Worklog must not be null."], "errors": {} })),
        )
            .into_response();
    }
    if f.edition == Edition::Cloud && adf::has_empty_text(&body["comment"]) {
        return adf::invalid_input();
    }
    let comment_ok = match f.edition {
        Edition::Cloud => body["comment"].is_null() || body["comment"]["type"] == "doc",
        Edition::DataCenter => body["comment"].is_null() || body["comment"].is_string(),
    };
    if !comment_ok {
        return field_errors(
            [(
                "comment".to_string(),
                json!("Operation value must be a string"),
            )]
            .into_iter()
            .collect(),
        );
    }
    let mut all = f.worklogs.lock().unwrap();
    let list = all.entry(key).or_default();
    let w = json!({ "id": format!("{}", 20000 + list.len()), "author": f.user_json(f.me()), "comment": body["comment"], "started": started, "timeSpentSeconds": seconds });
    list.push(w.clone());
    (StatusCode::CREATED, axum::Json(w)).into_response()
}

/// `GET /rest/api/{2,3}/issue/{key}/worklog`: paged (`startAt`, `maxResults` default 5000 in
/// the spec, `total`).
async fn list_worklogs(
    State(f): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !exists(&f, &key) {
        return no_issue();
    }
    let (start, max) = paging(&q, 5000, 5000);
    let list = f
        .worklogs
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    let page: Vec<Value> = list.iter().skip(start).take(max).cloned().collect();
    axum::Json(
        json!({ "startAt": start, "maxResults": max, "total": list.len(), "worklogs": page }),
    )
    .into_response()
}

/// The site's fields. Cloud: the spec's example list plus "Story point estimate"
/// (customfield_10016). Data Center (`GET /rest/api/2/field`, hand-written: no published
/// spec): the system fields pm-mcp uses and Jira Software's custom fields with their types.
async fn fields(State(f): State<Shared>) -> Response {
    if f.edition == Edition::DataCenter {
        let system = [
            "summary",
            "description",
            "status",
            "priority",
            "issuetype",
            "assignee",
            "reporter",
            "project",
            "duedate",
            "labels",
            "created",
            "updated",
        ];
        let mut all: Vec<Value> = system
            .iter()
            .map(|id| json!({ "id": id, "name": id, "custom": false, "orderable": true, "navigable": true, "searchable": true, "clauseNames": [id] }))
            .collect();
        let custom = [
            (
                "customfield_10100",
                "Epic Link",
                "com.pyxis.greenhopper.jira:gh-epic-link",
                "any",
            ),
            (
                "customfield_10102",
                "Epic Name",
                "com.pyxis.greenhopper.jira:gh-epic-label",
                "string",
            ),
            (
                "customfield_10104",
                "Sprint",
                "com.pyxis.greenhopper.jira:gh-sprint",
                "array",
            ),
            (
                "customfield_10106",
                "Story Points",
                "com.atlassian.jira.plugin.system.customfieldtypes:float",
                "number",
            ),
        ];
        for (id, name, kind, ty) in custom {
            let n: u64 = id.trim_start_matches("customfield_").parse().unwrap_or(0);
            all.push(json!({ "id": id, "name": name, "custom": true, "orderable": true, "navigable": true, "searchable": true, "clauseNames": [format!("cf[{n}]"), name], "schema": { "type": ty, "custom": kind, "customId": n } }));
        }
        return axum::Json(Value::Array(all)).into_response();
    }
    let mut all = example("/rest/api/3/field");
    if let Some(list) = all.as_array_mut() {
        // Sites often have both: the legacy "Story Points" number field and Jira Software's
        // "Story point estimate" (see `boards`); the name alone does not tell which to use.
        let (legacy, legacy_name) = boards::LEGACY_POINTS;
        list.push(json!({ "id": legacy, "key": legacy, "name": legacy_name, "custom": true, "schema": { "type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10026 } }));
        list.push(json!({ "id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": true, "schema": { "type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016 } }));
        // Jira Software's Sprint field (its changelog items name it by this id).
        list.push(json!({ "id": "customfield_10020", "key": "customfield_10020", "name": "Sprint", "custom": true, "schema": { "type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020 } }));
    }
    axum::Json(all).into_response()
}

/// `POST /rest/api/{2,3}/issue/{key}/watchers`: the body is the user as a JSON string — the
/// account id on Cloud, the username on Data Center; an unknown user is refused.
async fn add_watcher(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(who) = body.as_str() else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "The watcher must be given as a string.",
        );
    };
    let mut issues = f.issues.lock().unwrap();
    let Some(i) = issues.iter_mut().find(|i| i.key == key) else {
        return no_issue();
    };
    if !f.known_user(who) {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &format!("The user \"{who}\" does not exist."),
        );
    }
    if !i.watchers.iter().any(|w| w == who) {
        i.watchers.push(who.to_string());
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /rest/api/{2,3}/user/search`: a JSON array, paged by `startAt` / `maxResults` (default
/// 50, at most 1000). Cloud matches `query` against display name and e-mail. Data Center takes
/// `username` (required; matched against username, display name and e-mail; `.` matches
/// everyone — Atlassian KB "How to get all users using the Jira REST API").
async fn user_search(
    State(f): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (start, max) = paging(&q, 50, 1000);
    let found: Vec<Value> = match f.edition {
        Edition::Cloud => {
            let needle = q.get("query").map(|s| s.to_lowercase()).unwrap_or_default();
            CLOUD_USERS
                .iter()
                .filter(|(_, n, e)| {
                    needle.is_empty() || n.to_lowercase().contains(&needle) || e.contains(&needle)
                })
                .map(|(id, _, _)| f.user_json(id))
                .collect()
        }
        Edition::DataCenter => {
            let Some(needle) = q.get("username").map(|s| s.to_lowercase()) else {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    "The username query parameter was not provided",
                );
            };
            DC_USERS
                .iter()
                .filter(|(_, name, display, email)| {
                    !needle.is_empty()
                        && (needle == "."
                            || name.starts_with(&needle)
                            || display
                                .to_lowercase()
                                .split(' ')
                                .any(|w| w.starts_with(&needle))
                            || email.starts_with(&needle))
                })
                .map(|(_, name, _, _)| f.user_json(name))
                .collect()
        }
    };
    let page: Vec<Value> = found.into_iter().skip(start).take(max).collect();
    axum::Json(Value::Array(page)).into_response()
}

/// `GET /rest/api/{2,3}/user/assignable/search`: the users who can be assigned issues in a
/// project (`project`, its id or key, case sensitive), as a JSON array paged by `startAt` /
/// `maxResults`. Cloud requires `query` or `accountId` besides (the spec); Data Center takes an
/// optional `username`. In the fake, everyone can be assigned in EX and only the connection's own
/// account in P1..P7; another project answers 404 as Jira does.
async fn assignable_search(
    State(f): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(project) = q.get("project") else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "One of the following parameters must be provided: project, issueKey, issueId.",
        );
    };
    if f.edition == Edition::Cloud && !q.contains_key("query") && !q.contains_key("accountId") {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "The query parameter 'query' or 'accountId' is required.",
        );
    }
    if !f.projects.lock().unwrap().iter().any(|(k, _)| k == project) {
        return jira_error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{project}'."),
        );
    }
    let everyone = project == "EX";
    let (start, max) = paging(&q, 50, 1000);
    let found: Vec<Value> = match f.edition {
        Edition::Cloud => {
            let needle = q.get("query").map(|s| s.to_lowercase()).unwrap_or_default();
            CLOUD_USERS
                .iter()
                .take(if everyone { CLOUD_USERS.len() } else { 1 })
                .filter(|(_, n, e)| {
                    needle.is_empty() || n.to_lowercase().contains(&needle) || e.contains(&needle)
                })
                .map(|(id, _, _)| f.user_json(id))
                .collect()
        }
        Edition::DataCenter => {
            let needle = q
                .get("username")
                .map(|s| s.to_lowercase())
                .unwrap_or_default();
            DC_USERS
                .iter()
                .take(if everyone { DC_USERS.len() } else { 1 })
                .filter(|(_, name, display, email)| {
                    needle.is_empty()
                        || name.starts_with(&needle)
                        || display
                            .to_lowercase()
                            .split(' ')
                            .any(|w| w.starts_with(&needle))
                        || email.starts_with(&needle)
                })
                .map(|(_, name, _, _)| f.user_json(name))
                .collect()
        }
    };
    let page: Vec<Value> = found.into_iter().skip(start).take(max).collect();
    axum::Json(Value::Array(page)).into_response()
}

/// `GET /rest/api/{2,3}/user`: `accountId` on Cloud; `username` or `key` on Data Center.
async fn user_get(State(f): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    match f.edition {
        Edition::Cloud => match q.get("accountId").map(String::as_str) {
            Some(MIA) => axum::Json(f.myself.clone()).into_response(),
            Some(id) if f.known_user(id) => axum::Json(f.user_json(id)).into_response(),
            _ => jira_error(
                StatusCode::NOT_FOUND,
                "Specified user does not exist or you do not have required permissions",
            ),
        },
        Edition::DataCenter => {
            let by_name = q.get("username").cloned();
            let by_key = q
                .get("key")
                .and_then(|k| DC_USERS.iter().find(|u| u.0 == k).map(|u| u.1.to_string()));
            match by_name.clone().or(by_key) {
                Some(n) if f.known_user(&n) => axum::Json(f.user_json(&n)).into_response(),
                _ => jira_error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "The user named '{}' does not exist",
                        by_name
                            .or_else(|| q.get("key").cloned())
                            .unwrap_or_default()
                    ),
                ),
            }
        }
    }
}

async fn issue_link(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
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

async fn move_to_sprint(
    State(f): State<Shared>,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
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
    Path(epic): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    // The Agile epic operations do not work for team-managed (next-gen) projects: there an
    // issue's epic is its `parent` field, set by editing the issue (Atlassian ACJIRA-1634, "Move
    // issues to epic — edit the issue and set the parent field"; ankitpokhrel/jira-cli#186).
    let keys_of: Vec<String> = body["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_string))
        .chain((epic != "none").then(|| epic.clone()))
        .collect();
    let next_gen = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .filter(|i| keys_of.contains(&i.key))
        .any(|i| boards::team_managed(&f, &i.project));
    if next_gen {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "This operation is not supported for issues in next-gen projects. Edit the issue and set its parent instead.",
        );
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

/// `POST /rest/api/{2,3}/project`: the lead is `leadAccountId` on Cloud, `lead` (a username) on
/// Data Center; `projectTypeKey` is required; a key in use is refused.
async fn create_project(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let key = body["key"].as_str().unwrap_or("").to_string();
    let name = body["name"].as_str().unwrap_or("").to_string();
    let lead = match f.edition {
        Edition::Cloud => body["leadAccountId"].as_str(),
        Edition::DataCenter => body["lead"].as_str(),
    };
    if lead.is_none_or(|l| !f.known_user(l)) || body["projectTypeKey"].as_str().is_none() {
        return field_errors(
            [(
                "projectLead".to_string(),
                json!("You must specify a valid project lead."),
            )]
            .into_iter()
            .collect(),
        );
    }
    let board = match boards::check_template(&f, &body) {
        Ok(b) => b,
        Err(e) => {
            return field_errors(
                [("projectTemplateKey".to_string(), json!(e))]
                    .into_iter()
                    .collect(),
            );
        }
    };
    let mut projects = f.projects.lock().unwrap();
    if projects.iter().any(|(k, _)| *k == key) {
        return field_errors(
            [(
                "projectKey".to_string(),
                json!(format!("Project '{name}' uses this project key.")),
            )]
            .into_iter()
            .collect(),
        );
    }
    projects.push((key.clone(), name));
    if let Some(kind) = board {
        boards::add_board(&f, &key, kind);
    }
    (StatusCode::CREATED, axum::Json(json!({ "id": 10100 + projects.len(), "key": key, "self": format!("https://jira.example.com/rest/api/{}/project/{key}", f.api()) }))).into_response()
}

async fn update_project(
    State(f): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
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

async fn delete_project(State(f): State<Shared>, Path(key): Path<String>) -> Response {
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

async fn sprint_get(State(f): State<Shared>, Path(id): Path<u64>) -> Response {
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

async fn sprint_create(State(f): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    // A sprint is made on a board that has sprints (see `boards`).
    if !boards::takes_sprints(&f, &body["originBoardId"])
        || body["name"].as_str().is_none_or(str::is_empty)
    {
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
    let mut s = json!({ "id": id, "name": body["name"], "state": "future", "originBoardId": body["originBoardId"] });
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
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
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
            boards::complete(&f, id, s["originBoardId"].as_u64());
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

async fn sprint_delete(State(f): State<Shared>, Path(id): Path<u64>) -> Response {
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

/// `GET /rest/api/{2,3}/issue/{key}`: `fields` (comma-separated) limits the fields returned;
/// without it, all of them.
async fn issue(
    State(f): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let found = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == key)
        .cloned();
    match found {
        Some(i) => {
            let wanted = q.get("fields").and_then(|v| field_list(&json!(v)));
            let changelog = q
                .get("expand")
                .is_some_and(|e| e.split(',').any(|x| x.trim() == "changelog"));
            let v = with_changelog(issue_json(&f, &i), &i, changelog, f.edition);
            axum::Json(select_fields(v, wanted.as_deref())).into_response()
        }
        None => jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

async fn statuses() -> Response {
    let all: Vec<Value> = WORKFLOW
        .iter()
        .map(|(name, cat)| json!({ "id": status_id(name), "name": name, "statusCategory": { "key": cat } }))
        .collect();
    axum::Json(Value::Array(all)).into_response()
}

/// `/project/{key}/statuses`: the project's issue types, each with its workflow's statuses, in
/// the spec's shape (its example's entry as the template).
async fn project_statuses(State(f): State<Shared>, Path(key): Path<String>) -> Response {
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
async fn priorities() -> Response {
    axum::Json(example("/rest/api/3/priority")).into_response()
}

/// `/issue/{key}/changelog`: the whole changelog, paged (oldest first).
async fn changelog(
    State(f): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
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

/// Jira's credential check, made once for every request by the shared layer
/// ([`crate::fake::serve`]): on Data Center the CAPTCHA after failed sign-ins first, then the
/// header itself.
fn auth(fake: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    if fake.edition == Edition::DataCenter
        && let Some(r) = read::captcha(fake, headers)
    {
        return Err(r);
    }
    authorised(fake, headers)
}

/// An injected failure in Jira's error shape; a 429 as its rate limiting answers.
fn refusal(failure: &Failure) -> Response {
    let status =
        StatusCode::from_u16(failure.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let message = failure.message().unwrap_or("Rate limit exceeded.");
        return (status, axum::Json(json!({ "errorMessages": [message] }))).into_response();
    }
    jira_error(
        status,
        failure
            .message()
            .unwrap_or(status.canonical_reason().unwrap_or("Error")),
    )
}

fn authorised(fake: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    match crate::fake::authorization(headers) {
        Some(v) if v == fake.expected_auth => Ok(()),
        // Jira Cloud answers a bad token with 401 and this body.
        _ => Err(jira_error(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        )),
    }
}

fn project_json(fake: &Fake, key: &str, name: &str) -> Value {
    if fake.edition == Edition::DataCenter {
        // Jira Server REST v2 project bean: the lead as a user with key and name.
        return json!({ "self": format!("https://jira.example.com/rest/api/2/project/{key}"), "id": format!("1{:04}", key.len() * 7), "key": key, "name": name, "description": "", "lead": fake.user_json(fake.me()), "projectTypeKey": "software", "issueTypes": ISSUE_TYPES.iter().map(|t| json!({ "name": t, "subtask": *t == "Sub-task" })).collect::<Vec<_>>() });
    }
    let mut p = fake.project_template.clone();
    p["id"] = json!(format!("1{:04}", key.len() * 7));
    p["key"] = json!(key);
    p["name"] = json!(name);
    p
}

async fn myself(State(f): State<Shared>) -> Response {
    axum::Json(f.myself.clone()).into_response()
}

async fn server_info(State(f): State<Shared>) -> Response {
    let info = match f.edition {
        Edition::Cloud => {
            let mut info = f.server_info.clone();
            info["deploymentType"] = json!("Cloud");
            info
        }
        // Jira Server REST v2 `GET /serverInfo` (hand-written: no published spec).
        Edition::DataCenter => json!({
            "baseUrl": "https://jira.example.com", "version": "9.12.2", "versionNumbers": [9, 12, 2],
            "deploymentType": "DataCenter", "buildNumber": 9_120_002, "buildDate": "2023-11-20T00:00:00.000+0000",
            "serverTitle": "Example Jira", "scmInfo": "0", "serverTime": jira_now()
        }),
    };
    axum::Json(info).into_response()
}

async fn project_search(
    State(f): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
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

async fn project(State(f): State<Shared>, Path(key): Path<String>) -> Response {
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
async fn dc_projects(State(f): State<Shared>) -> Response {
    let all: Vec<Value> = f
        .projects
        .lock()
        .unwrap()
        .iter()
        .map(|(k, n)| project_json(&f, k, n))
        .collect();
    axum::Json(Value::Array(all)).into_response()
}

async fn dc_myself(State(f): State<Shared>) -> Response {
    axum::Json(f.user_json(f.me())).into_response()
}

/// How to start a fake Jira.
pub struct Options {
    /// The `Authorization` header it accepts, exactly (see [`basic`]; a PAT as `Bearer …`).
    pub auth: String,
    pub edition: Edition,
}

impl Options {
    /// Jira Cloud accepting exactly `auth`.
    pub fn cloud(auth: &str) -> Self {
        Options {
            auth: auth.to_string(),
            edition: Edition::Cloud,
        }
    }

    /// Jira Data Center (REST v2 only, plus the Agile API) accepting exactly `auth`.
    pub fn dc(auth: &str) -> Self {
        Options {
            auth: auth.to_string(),
            edition: Edition::DataCenter,
        }
    }
}

/// Starts a fake Jira; its URL is the site's base URL.
/// `None` (the test skipped, in one line) where the providers' published specs are not.
pub async fn spawn(opts: Options) -> Option<Running<Fake>> {
    let Options {
        auth: expected_auth,
        edition,
    } = opts;
    crate::specs_for("the tests with the fake Jira")?;
    let projects = (1..=7)
        .map(|i| (format!("P{i}"), format!("Project {i}")))
        .chain([("EX".into(), "Example".into())])
        .collect();
    let search = example("/rest/api/3/project/search");
    let fake = Arc::new(Fake {
        edition,
        project_template: search["values"][0].clone(),
        myself: example("/rest/api/3/myself"),
        server_info: example("/rest/api/3/serverInfo"),
        projects: Mutex::new(projects),
        queries: Mutex::default(),
        issue_template: example_of("/rest/api/3/search/jql", "post")["issues"][0].clone(),
        issues: Mutex::new(read::with_removed_item(fake_issues(edition))),
        next_key: Mutex::new([("EX".to_string(), 13)].into_iter().collect()),
        comments: Mutex::default(),
        worklogs: Mutex::default(),
        dc_texts: Mutex::default(),
        bodies: Mutex::default(),
        resolutions: Mutex::default(),
        boards: Mutex::new(boards::seed(edition)),
        moved_to_backlog: Mutex::default(),
        sprints: Mutex::new(vec![
            json!({ "id": 6, "name": "Sprint 6", "state": "closed", "startDate": sprint_at(-14, 9), "endDate": sprint_at(0, 9), "completeDate": sprint_at(0, 10), "originBoardId": 84, "goal": "Ship search" }),
            json!({ "id": 7, "name": "Sprint 7", "state": "active", "startDate": sprint_at(0, 9), "endDate": sprint_at(14, 9), "originBoardId": 84, "goal": "Fix checkout" }),
            json!({ "id": 8, "name": "Sprint 8", "state": "future", "originBoardId": 84 }),
        ]),
        flaky: AtomicUsize::new(0),
        expected_auth,
        read: read::ReadState::default(),
    });
    use axum::routing::{post, put};
    // The Agile API (`/rest/agile/1.0`) is the same on both editions.
    let agile = Router::new()
        .route(
            "/rest/agile/1.0/sprint/{id}/issue",
            get(boards::sprint_issues).post(move_to_sprint),
        )
        .route("/rest/agile/1.0/epic/{key}/issue", post(epic_issues))
        .route("/rest/agile/1.0/board", get(boards::list))
        .route("/rest/agile/1.0/board/{id}", get(boards::get))
        .route(
            "/rest/agile/1.0/board/{id}/configuration",
            get(boards::configuration),
        )
        .route("/rest/agile/1.0/board/{id}/sprint", get(boards::sprints))
        .route("/rest/agile/1.0/sprint", post(sprint_create))
        .route(
            "/rest/agile/1.0/sprint/{id}",
            get(sprint_get).post(sprint_update).delete(sprint_delete),
        );
    // The platform API, under the edition's version: the same operations, answered in the
    // edition's shapes (each handler branches on `Fake::edition`).
    let v = match edition {
        Edition::Cloud => "/rest/api/3",
        Edition::DataCenter => "/rest/api/2",
    };
    let mut platform = Router::new()
        .route(&format!("{v}/serverInfo"), get(server_info))
        .route(
            &format!("{v}/project/{{key}}"),
            get(project).put(update_project).delete(delete_project),
        )
        .route(&format!("{v}/issue"), post(create_issue))
        .route(
            &format!("{v}/issue/{{key}}"),
            get(issue).put(update_issue).delete(delete_issue),
        )
        .route(&format!("{v}/issue/{{key}}/watchers"), post(add_watcher))
        .route(&format!("{v}/issueLink"), post(issue_link))
        .route(&format!("{v}/user/search"), get(user_search))
        .route(
            &format!("{v}/user/assignable/search"),
            get(assignable_search),
        )
        .route(&format!("{v}/user"), get(user_get))
        .route(
            &format!("{v}/issue/{{key}}/transitions"),
            get(get_transitions).post(do_transition),
        )
        .route(&format!("{v}/issue/{{key}}/assignee"), put(set_assignee))
        .route(
            &format!("{v}/issue/{{key}}/comment"),
            get(list_comments).post(add_comment),
        )
        .route(
            &format!("{v}/issue/{{key}}/worklog"),
            get(list_worklogs).post(add_worklog),
        )
        .route(&format!("{v}/field"), get(fields))
        .route(&format!("{v}/status"), get(statuses))
        .route(
            &format!("{v}/project/{{key}}/statuses"),
            get(project_statuses),
        )
        .route(&format!("{v}/priority"), get(priorities));
    platform = match edition {
        Edition::Cloud => platform
            .route("/rest/api/3/myself", get(myself))
            // Cloud still serves REST v2 beside v3 (Atlassian's "Jira Cloud platform REST API v2"):
            // a Cloud site configured as Data Center gets this far, and its serverInfo says Cloud.
            .route("/rest/api/2/myself", get(myself))
            .route("/rest/api/2/serverInfo", get(server_info))
            .route("/rest/api/3/project/search", get(project_search))
            .route("/rest/api/3/project", post(create_project))
            .route("/rest/api/3/search/jql", post(search_jql))
            // Cloud only: Data Center embeds the whole changelog with `expand=changelog`.
            .route("/rest/api/3/issue/{key}/changelog", get(changelog))
            .route("/rest/api/3/changelog/bulkfetch", post(read::bulkfetch)),
        // Data Center lists every project at once (`GET /project`), searches with offsets
        // (`POST /search`) and has no `project/search` or `search/jql`.
        Edition::DataCenter => platform
            .route("/rest/api/2/myself", get(dc_myself))
            .route("/rest/api/2/project", get(dc_projects).post(create_project))
            .route("/rest/api/2/search", post(dc_search)),
    };
    let app = read::wrap(platform.merge(agile).with_state(fake.clone()), fake.clone());
    let guard = Guard {
        auth,
        refusal,
        checks: Checks::Routed,
    };
    Some(crate::fake::serve(app, fake, guard, "").await)
}

/// The Basic header Jira Cloud expects for an e-mail and API token.
pub fn basic(user: &str, token: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}
