#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code
//! The Jira client against a fake Jira that answers as the real one does: bodies taken from the
//! official OpenAPI document's examples (read from ../shared/specs at run time), real offset
//! paging, Jira's error bodies, 401/404/429/5xx and slow answers. Data Center by hand-written
//! answers (no published spec exists).
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
use pm_core::{AuthKind, BaseUrl, PageRequest, Provider, ProviderError, ProviderKind};
use pm_providers::HttpSettings;
use serde_json::{Value, json};

fn spec_dir() -> PathBuf {
    std::env::var_os("PM_MCP_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs"))
}

/// The `example` of an operation's 200 answer in the Jira Cloud platform spec.
fn example(path: &str) -> Value {
    let file = spec_dir().join("jira-platform-v3.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec JSON");
    spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"].clone()
}

struct Fake {
    project_template: Value,
    myself: Value,
    server_info: Value,
    projects: Vec<(String, String)>,
    hits: Mutex<HashMap<String, usize>>,
    flaky: AtomicUsize,
    expected_auth: String,
}

type Shared = Arc<Fake>;

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

async fn spawn(expected_auth: &str) -> (String, Shared) {
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

fn basic(user: &str, token: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(800),
        max_attempts: 2,
        max_concurrency_per_connection: 4,
    }
}

fn cloud(base: &str, token: &str) -> Arc<dyn Provider> {
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(base, true).unwrap();
    pm_providers::build(
        client,
        ProviderKind::JiraCloud,
        &url,
        AuthKind::Basic,
        Some("mia@example.com".into()),
        token,
        settings(),
    )
    .unwrap()
}

#[tokio::test]
async fn identity_and_site_come_from_jira() {
    let (base, _) = spawn(&basic("mia@example.com", "tok-1")).await;
    let jira = cloud(&base, "tok-1");
    let me = jira.whoami().await.unwrap();
    assert_eq!(me.id, "5b10a2844c20165700ede21g");
    assert_eq!(me.name, "Mia Krystof");
    assert_eq!(me.email.as_deref(), Some("mia@example.com"));
    let site = jira.site().await.unwrap();
    assert_eq!(site.product, "Jira Cloud");
    assert_eq!(site.version.as_deref(), Some("1001.0.0-SNAPSHOT"));
}

#[tokio::test]
async fn a_rejected_token_is_an_auth_error_with_jiras_reason_and_no_secret() {
    let (base, _) = spawn(&basic("mia@example.com", "right")).await;
    let err = cloud(&base, "wrong-token-xyz").whoami().await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    let text = err.to_string();
    assert!(text.contains("Client must be authenticated"), "{text}");
    assert!(!text.contains("wrong-token-xyz"));
}

#[tokio::test]
async fn projects_are_read_page_by_page() {
    let (base, fake) = spawn(&basic("mia@example.com", "t")).await;
    let jira = cloud(&base, "t");
    let mut cursor = None;
    let mut keys = Vec::new();
    loop {
        let page = jira
            .list_projects(&PageRequest::new(cursor, Some(3)))
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        keys.extend(page.items.iter().map(|p| p.id.clone()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(keys.len(), 8);
    assert_eq!(keys[0], "P1");
    assert_eq!(
        fake.hits.lock().unwrap()["project/search"],
        3,
        "one request per page"
    );
    let found = jira
        .search_projects("exam", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(
        found
            .items
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Example"]
    );
    assert!(found.next.is_none());
    let bad = jira
        .list_projects(&PageRequest::new(Some("garbage".into()), None))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), "bad_input");
}

#[tokio::test]
async fn project_lookups_map_jira_errors() {
    let (base, fake) = spawn(&basic("mia@example.com", "t")).await;
    let jira = cloud(&base, "t");
    let p = jira.get_project("EX").await.unwrap();
    assert_eq!((p.id.as_str(), p.name.as_str()), ("EX", "Example"));
    assert_eq!(p.url.as_deref(), Some(format!("{base}/browse/EX").as_str()));
    let missing = jira.get_project("NOPE").await.unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    assert_eq!(
        jira.get_project("SECRET").await.unwrap_err().kind(),
        "forbidden"
    );
    assert_eq!(
        jira.get_project("../myself").await.unwrap_err().kind(),
        "bad_input"
    );

    // 429 with Retry-After is retried (a GET is safe), and the second answer is used.
    assert_eq!(jira.get_project("FLAKY").await.unwrap().name, "Flaky");
    assert_eq!(fake.hits.lock().unwrap()["project/FLAKY"], 2);
    // 5xx is retried up to the limit, then reported with Jira's reason.
    let down = jira.get_project("DOWN").await.unwrap_err();
    assert!(
        matches!(down, ProviderError::Upstream { status: 503, .. }),
        "{down:?}"
    );
    assert!(down.to_string().contains("maintenance"));
    assert_eq!(fake.hits.lock().unwrap()["project/DOWN"], 2);
    // A slow answer times out.
    let started = std::time::Instant::now();
    assert_eq!(
        jira.get_project("SLOW").await.unwrap_err().kind(),
        "timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn data_center_uses_v2_bearer_tokens_and_pages_locally() {
    let (base, fake) = spawn("Bearer pat-123").await;
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(&base, true).unwrap();
    let dc = pm_providers::build(
        client,
        ProviderKind::JiraDataCenter,
        &url,
        AuthKind::Bearer,
        None,
        "pat-123",
        settings(),
    )
    .unwrap();
    assert_eq!(dc.whoami().await.unwrap().id, "JIRAUSER10100");
    let first = dc
        .list_projects(&PageRequest::new(None, Some(5)))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 5);
    let second = dc
        .list_projects(&PageRequest::new(first.next.clone(), Some(5)))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.next.is_none());
    assert_eq!(fake.hits.lock().unwrap()["dc/project"], 2);
    assert_eq!(
        dc.search_projects("p3", &PageRequest::new(None, None))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
