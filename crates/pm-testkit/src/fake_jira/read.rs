//! The read side of the fake Jira where the real one is less convenient than a naive fake:
//! - **Data Center's CAPTCHA**: after failed Basic sign-ins, 403 with
//!   `X-Authentication-Denied-Reason` even for the right password (checked with the credentials,
//!   see `auth` in the fake).
//!
//! Faults on any route (429 with `Retry-After`, Cloud's gateway bodies `{"code":…,"message":…}`,
//! short plain-text bodies) are the shared layer's: [`crate::fake::Recorder::fail_next`].
//! - **Cloud's search index lags writes**: `search/jql` answers from an index a write does not
//!   reach at once, unless the issue's id is in `reconcileIssues`.
//! - **Cloud's embedded changelog is the newest 40**, newest first, with the whole `total`;
//!   `POST /changelog/bulkfetch` gives the rest.
//! - **The scoped-token gateway**: the same Cloud API under `/ex/jira/{cloudId}`, whose
//!   `serverInfo.baseUrl` is the site's own address, not the gateway's.
#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    Edition, FakeIssue, Shared, at, authorised, entry, jql_error, matches, sprint_item, unquote,
    validate_jql,
};

/// How long Cloud's search index takes to see a write, in the fake (the real lag is usually
/// seconds; Atlassian, "Search and reconcile": "Recent updates might not be immediately
/// visible in the returned search results").
const INDEX_LAG: Duration = Duration::from_secs(20);

/// Failed sign-ins before Jira Server / Data Center asks for a CAPTCHA (the default of
/// "Maximum Authentication Attempts Allowed", 3; Atlassian KB "REST API calls fail with
/// 403 … X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE").
const CAPTCHA_AFTER: u32 = 3;

/// The fake's read-side state (one field of [`super::Fake`]).
#[derive(Default)]
pub struct ReadState {
    /// Failed Basic sign-ins per user name (Data Center).
    failed_logins: Mutex<HashMap<String, u32>>,
    /// Cloud's search index when it lags the issues: the issues as they were before the first
    /// write it has not caught up with, and when that write came.
    index: Mutex<Option<(Vec<FakeIssue>, Instant)>>,
    /// Every `reconcileIssues` list received by `search/jql`, in order.
    pub reconciled: Mutex<Vec<Vec<i64>>>,
    /// Every bulk changelog request body received.
    pub bulk_requests: Mutex<Vec<Value>>,
}

impl super::Fake {
    /// Lets Cloud's search index catch up with every write.
    pub fn reindex(&self) {
        *self.read.index.lock().unwrap() = None;
    }

    /// The numeric issue id the fake gives an issue key (`EX-13` → 213).
    pub fn issue_id(key: &str) -> i64 {
        let number = key.rsplit('-').next().unwrap_or("0");
        format!("2{number}").parse().unwrap_or(0)
    }
}

/// Requests that change issues (so Cloud's search index falls behind): every write but the
/// read-only POSTs.
fn writes_issues(method: &Method, path: &str) -> bool {
    *method != Method::GET
        && !path.ends_with("/search/jql")
        && !path.ends_with("/search")
        && !path.ends_with("/changelog/bulkfetch")
        && !path.ends_with("/search/approximate-count")
}

async fn middleware(State(f): State<Shared>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if f.edition == Edition::Cloud && writes_issues(&method, &path) {
        let mut index = f.read.index.lock().unwrap();
        if index.is_none() {
            *index = Some((f.issues.lock().unwrap().clone(), Instant::now()));
        }
    }
    next.run(req).await
}

/// Data Center's answer to Basic sign-ins after too many failures: 403, with the reason only in
/// `X-Authentication-Denied-Reason` (`CAPTCHA_CHALLENGE; login-url=…`), the right password
/// included, until the user signs in through the browser (Atlassian KB, "Jira REST API returns
/// 403 with X-Authentication-Denied-Reason CAPTCHA_CHALLENGE"). A wrong password below the limit
/// is an ordinary 401, counted.
pub(super) fn captcha(f: &super::Fake, headers: &HeaderMap) -> Option<Response> {
    use base64::Engine as _;
    let auth = headers.get("authorization")?.to_str().ok()?;
    let encoded = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split(':').next().unwrap_or("").to_string();
    let mut failed = f.read.failed_logins.lock().unwrap();
    let n = failed.entry(user).or_default();
    if *n >= CAPTCHA_AFTER {
        let mut r = (
            StatusCode::FORBIDDEN,
            [("content-type", "text/html;charset=UTF-8")],
            "<html><body>Forbidden</body></html>",
        )
            .into_response();
        r.headers_mut().insert(
            "x-authentication-denied-reason",
            HeaderValue::from_static(
                "CAPTCHA_CHALLENGE; login-url=https://jira.example.com/login.jsp",
            ),
        );
        return Some(r);
    }
    if authorised(f, headers).is_err() {
        *n += 1;
    }
    None
}

/// The fake Cloud site's id (`cloudId`, as `/_edge/tenant_info` gives it), under which the
/// scoped-token gateway serves its API.
pub const CLOUD_ID: &str = "1324a887-45db-1bf4-1e99-ef0ff456d421";

/// The fake's routes, plus Cloud's lagging search index in front of every one, and (Cloud) the
/// same API behind the scoped-token gateway path `/ex/jira/{cloudId}` (Atlassian, "Scoped API
/// tokens": calls go to `https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/…`).
pub(super) fn wrap(app: Router, fake: Shared) -> Router {
    let app = match fake.edition {
        Edition::Cloud => Router::new()
            .nest(&format!("/ex/jira/{CLOUD_ID}"), app.clone())
            .merge(app),
        Edition::DataCenter => app,
    };
    app.layer(axum::middleware::from_fn_with_state(fake, middleware))
}

/// `search/jql`'s query over Cloud's index: the issues as the index last saw them, except those
/// named in `reconcileIssues`, which are read as they are now (spec, `reconcileIssues` of
/// `POST /rest/api/3/search/jql`: "Strong consistency issue ids to be reconciled with search
/// results. Accepts max 50 ids").
pub(super) fn cloud_hits(
    f: &super::Fake,
    jql: &str,
    body: &Value,
) -> Result<Vec<FakeIssue>, Response> {
    let reconcile: Vec<i64> = body["reconcileIssues"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    if reconcile.len() > 50 {
        return Err(jql_error("reconcileIssues accepts at most 50 issue ids."));
    }
    if !body["reconcileIssues"].is_null() {
        f.read.reconciled.lock().unwrap().push(reconcile.clone());
    }
    f.queries.lock().unwrap().push(jql.to_string());
    if let Err(e) = validate_jql(f, jql) {
        return Err(jql_error(&e));
    }
    let live = f.issues.lock().unwrap().clone();
    let seen = {
        let mut index = f.read.index.lock().unwrap();
        if index
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() >= INDEX_LAG)
        {
            *index = None;
        }
        index.as_ref().map(|(issues, _)| issues.clone())
    };
    let set: Vec<FakeIssue> = match seen {
        None => live,
        Some(stale) => {
            let wanted = |i: &FakeIssue| reconcile.contains(&super::Fake::issue_id(&i.key));
            let mut set: Vec<FakeIssue> = stale.into_iter().filter(|i| !wanted(i)).collect();
            set.extend(live.into_iter().filter(|i| wanted(i)));
            set.sort_by_key(|i| super::Fake::issue_id(&i.key));
            set
        }
    };
    let mut hits = Vec::new();
    for issue in set {
        match matches(f, &issue, jql) {
            Ok(true) => hits.push(issue),
            Ok(false) => {}
            Err(e) => return Err(jql_error(&e)),
        }
    }
    Ok(hits)
}

/// Cloud refuses a query without a restriction: empty, or only an ORDER BY (spec, `jql` of
/// `POST /rest/api/3/search/jql`: "Example of an unbounded query: `order by key desc`"; the
/// 400 reads "Unbounded JQL queries are not allowed here. Please add a search restriction to
/// your query.", as other clients report, e.g. raycast/extensions#21425).
pub(super) fn unbounded(jql: &str) -> bool {
    let t = jql.trim();
    t.is_empty() || t.to_ascii_lowercase().starts_with("order by")
}

/// How many changelog entries `search/jql` embeds per issue (JRACLOUD-67458: 40 on the
/// enhanced search, where the old `search` gave 100).
const EMBEDDED_CHANGELOG: usize = 40;

/// The changelog `search/jql` embeds with `expand=changelog`: the newest 40 entries, newest
/// first (spec, `expand` of `POST /rest/api/3/search/jql`: "`changelog` Returns a list of
/// recent updates to an issue, sorted by date, starting from the most recent"), and `total`
/// counting them all.
pub(super) fn cloud_changelog(mut v: Value, i: &FakeIssue, changelog: bool) -> Value {
    if changelog {
        let shown: Vec<Value> = i
            .history
            .iter()
            .rev()
            .take(EMBEDDED_CHANGELOG)
            .cloned()
            .collect();
        v["changelog"] = json!({ "startAt": 0, "maxResults": shown.len(), "total": i.history.len(), "histories": shown });
    }
    v
}

/// `POST /rest/api/3/changelog/bulkfetch` (spec, "Bulk fetch changelogs"): the changelogs of
/// up to 1000 issues (`issueIdsOrKeys`, ids or keys), only the items of up to 10 `fieldIds`
/// when given, oldest first by date and then issue id, paged by `maxResults` (default 1000,
/// at most 10000) and `nextPageToken`; grouped per issue (`issueChangeLogs[]` with `issueId`
/// and `changeHistories`).
pub(super) async fn bulkfetch(
    State(f): State<Shared>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    f.read.bulk_requests.lock().unwrap().push(body.clone());
    let wanted: Vec<String> = body["issueIdsOrKeys"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if wanted.is_empty() || wanted.len() > 1000 {
        return jql_error("issueIdsOrKeys must name between 1 and 1000 issues.");
    }
    let fields: Option<Vec<String>> = body["fieldIds"].as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    });
    if fields.as_ref().is_some_and(|f| f.len() > 10) {
        return jql_error("fieldIds can name at most 10 fields.");
    }
    let max = body["maxResults"].as_u64().unwrap_or(1000).clamp(1, 10_000) as usize;
    let start: usize = body["nextPageToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("cl-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let issues = f.issues.lock().unwrap().clone();
    // Every (issue id, entry) asked for, filtered by field, oldest first then by issue id.
    let mut all: Vec<(i64, String, Value)> = Vec::new();
    for i in &issues {
        let id = super::Fake::issue_id(&i.key);
        if !wanted.iter().any(|w| *w == i.key || *w == id.to_string()) {
            continue;
        }
        for h in &i.history {
            let mut h = h.clone();
            if let Some(fields) = &fields
                && let Some(items) = h["items"].as_array_mut()
            {
                items.retain(|it| {
                    it["fieldId"]
                        .as_str()
                        .or(it["field"].as_str())
                        .is_some_and(|x| fields.iter().any(|f| f == x))
                });
                if items.is_empty() {
                    continue;
                }
            }
            let at = h["created"].as_str().unwrap_or("").to_string();
            all.push((id, at, h));
        }
    }
    all.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let page: Vec<&(i64, String, Value)> = all.iter().skip(start).take(max).collect();
    let mut groups: Vec<(i64, Vec<Value>)> = Vec::new();
    for (id, _, h) in page {
        match groups.last_mut() {
            Some((last, list)) if last == id => list.push(h.clone()),
            _ => groups.push((*id, vec![h.clone()])),
        }
    }
    let logs: Vec<Value> = groups
        .into_iter()
        .map(|(id, h)| json!({ "issueId": id.to_string(), "changeHistories": h }))
        .collect();
    let end = start + max;
    let mut out = json!({ "issueChangeLogs": logs });
    if end < all.len() {
        out["nextPageToken"] = json!(format!("cl-{end}"));
    }
    axum::Json(out).into_response()
}

/// The JQL clauses the read side sends beyond `matches`' own: `project in ("A", "B")`,
/// `key in ("A-1", "A-2")` and
/// `(field is EMPTY OR field != "v")` for the sprint (JQL operators reference: `!=` never
/// matches an empty field, hence the `is EMPTY` alternative).
pub(super) fn clause(f: &super::Fake, issue: &FakeIssue, c: &str) -> Option<Result<bool, String>> {
    for (field, value) in [("project", &issue.project), ("key", &issue.key)] {
        let Some(list) = c
            .strip_prefix(&format!("{field} in ("))
            .and_then(|l| l.strip_suffix(')'))
        else {
            continue;
        };
        let keys: Vec<Option<String>> = list.split(", ").map(unquote).collect();
        if keys.iter().any(Option::is_none) {
            return Some(Err(format!("Error in the JQL Query: bad list in '{c}'")));
        }
        return Some(Ok(keys.into_iter().flatten().any(|k| k == *value)));
    }
    let inner = c.strip_prefix('(')?.strip_suffix(')')?;
    let (a, b) = inner.split_once(" OR ")?;
    let (a, b) = (a.trim(), b.trim());
    if a != "sprint is EMPTY" {
        return None;
    }
    let v = b.strip_prefix("sprint != ")?;
    let Some(s) = unquote(v).and_then(|s| s.parse::<u64>().ok()) else {
        return Some(Err(format!("Error in the JQL Query: bad sprint in '{c}'")));
    };
    let _ = f;
    Some(Ok(issue.sprint != Some(s)))
}

/// The seeded site with one item taken out of Sprint 7 mid-sprint: EX-7 (in progress) joined
/// the sprint before it started (day 0, 08:00) and went back to the backlog on day 2 — so
/// `sprint = 7` no longer finds it, though the sprint's burndown must count it (Jira records
/// the removal in the Sprint field's changelog: from "7" to "").
pub(super) fn with_removed_item(mut issues: Vec<FakeIssue>) -> Vec<FakeIssue> {
    if let Some(ex7) = issues.iter_mut().find(|i| i.key == "EX-7") {
        ex7.sprint = None;
        ex7.history
            .push(entry(&at(0, 8), vec![sprint_item(None, Some(7))]));
        ex7.history
            .push(entry(&at(2, 12), vec![sprint_item(Some(7), None)]));
        ex7.history
            .sort_by(|a, b| a["created"].as_str().cmp(&b["created"].as_str()));
    }
    issues
}
