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
pub fn spec_dir() -> PathBuf {
    std::env::var_os("PM_MCP_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs"))
}

/// The `example` of an operation's 200 answer in the Jira Cloud platform spec.
/// The `example` of an operation's 200 answer in the Jira Cloud platform spec.
pub fn example(path: &str) -> Value {
    let file = spec_dir().join("jira-platform-v3.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec JSON");
    spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"].clone()
}

pub struct Fake {
    project_template: Value,
    myself: Value,
    server_info: Value,
    projects: Vec<(String, String)>,
    pub hits: Mutex<HashMap<String, usize>>,
    flaky: AtomicUsize,
    expected_auth: String,
}

pub type Shared = Arc<Fake>;

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
    let matching: Vec<&(String, String)> = f
        .projects
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
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(project_json(&f, "SLOW", "Slow")).into_response()
        }
        "SECRET" => jira_error(
            StatusCode::FORBIDDEN,
            "You do not have permission to view this project.",
        ),
        k => match f.projects.iter().find(|(key, _)| key == k) {
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
    let all: Vec<Value> = f.projects.iter().map(|(k, n)| json!({ "id": format!("2{}", k.len()), "key": k, "name": n, "description": "" })).collect();
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
        projects,
        hits: Mutex::default(),
        flaky: AtomicUsize::new(0),
        expected_auth: expected_auth.to_string(),
    });
    let app = Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/3/project/search", get(project_search))
        .route("/rest/api/3/project/{key}", get(project))
        .route("/rest/api/2/myself", get(dc_myself))
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
