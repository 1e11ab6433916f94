#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code
//! The Jira client's reads where the real Jira is less convenient than a naive fake: 429 on any
//! request (searches are POSTs), Cloud's error bodies and Data Center's CAPTCHA, 404s that mean
//! "or not visible", Cloud's search index lagging writes (`reconcileIssues`), unbounded queries,
//! and links under a scoped token's gateway URL.
use std::sync::Arc;
use std::time::Duration;

use pm_core::{AuthKind, BaseUrl, NewTask, PageRequest, Provider, ProviderKind, TaskQuery};
use pm_providers::HttpSettings;
use pm_testkit::fake::{Failure, Running};
use pm_testkit::fake_jira::{Options, basic, spawn};

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(2_500),
        max_attempts: 3,
        max_concurrency_per_connection: 4,
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    }
}

fn connect(
    kind: ProviderKind,
    base: &str,
    auth: AuthKind,
    user: Option<&str>,
    token: &str,
) -> Arc<dyn Provider> {
    let spec = pm_core::ConnectionSpec::stored(
        kind,
        BaseUrl::parse(base, true).unwrap(),
        auth,
        user.map(str::to_string),
        pm_core::Secret::new(token),
        pm_core::ConnectionOptions::default(),
    )
    .expect("spec");
    pm_providers::connect(
        pm_providers::http::shared_client(&settings()).unwrap(),
        &spec,
        settings(),
    )
    .unwrap()
}

fn cloud(base: &str) -> Arc<dyn Provider> {
    connect(
        ProviderKind::JiraCloud,
        base,
        AuthKind::Basic,
        Some("mia@example.com"),
        "t",
    )
}

fn in_project(p: &str) -> TaskQuery {
    TaskQuery {
        project: Some(p.into()),
        ..Default::default()
    }
}

/// Jira Cloud rate-limits any request, searches included; a search only reads, so it is
/// retried after the `Retry-After` asked — a write is not.
#[tokio::test]
async fn searches_are_retried_after_a_429_and_writes_are_not() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base);
    fake.recorder.fail_next(
        Failure::status(429)
            .retry_after(0)
            .on(Some("POST"), "/search/jql")
            .times(2),
    );
    let page = jira
        .search_tasks(&in_project("EX"), &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 12);
    fake.recorder.fail_next(
        Failure::status(429)
            .retry_after(0)
            .on(Some("POST"), "/rest/api/3/issue"),
    );
    let before = fake.issues.lock().unwrap().len();
    let err = jira
        .create_task(&NewTask {
            project: "EX".into(),
            title: "Once".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "rate_limited", "{err}");
    assert_eq!(fake.issues.lock().unwrap().len(), before);

    // Data Center's search too.
    let Some(fake) = spawn(Options::dc("Bearer pat")).await else {
        return;
    };
    let base = fake.url.clone();
    let dc = connect(
        ProviderKind::JiraDataCenter,
        &base,
        AuthKind::Bearer,
        None,
        "pat",
    );
    fake.recorder.fail_next(
        Failure::status(429)
            .retry_after(0)
            .on(Some("POST"), "/rest/api/2/search")
            .times(2),
    );
    let page = dc
        .search_tasks(&in_project("EX"), &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 12);
}

/// Cloud's edge answers `{"code":…,"message":…}` and proxies answer short plain text: both are
/// the error's words.
#[tokio::test]
async fn cloud_messages_and_plain_text_bodies_are_read() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base);
    fake.recorder.fail_next(
        Failure::status(401)
            .json(
                serde_json::json!({ "code": 401, "message": "Unauthorized; scope does not match" }),
            )
            .on(None, "/rest/api/3/project/EX"),
    );
    let err = jira.get_project("EX").await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert!(err.to_string().contains("scope does not match"), "{err}");
    fake.recorder.fail_next(
        Failure::status(503)
            .text("Site temporarily unavailable\n")
            .on(None, "/rest/api/3/project/EX")
            .times(10),
    );
    let err = jira.get_project("EX").await.unwrap_err();
    assert!(
        err.to_string().contains("Site temporarily unavailable"),
        "{err}"
    );
}

/// After failed sign-ins Data Center answers 403 and says why only in a header; the right
/// password then still fails until the user signs in through the browser.
#[tokio::test]
async fn data_centers_captcha_says_to_sign_in_through_the_browser() {
    let Some(Running { url: base, .. }) = spawn(Options::dc(&basic("mia", "right"))).await else {
        return;
    };
    let wrong = connect(
        ProviderKind::JiraDataCenter,
        &base,
        AuthKind::Basic,
        Some("mia"),
        "wrong",
    );
    for _ in 0..3 {
        assert_eq!(wrong.whoami().await.unwrap_err().kind(), "auth");
    }
    let right = connect(
        ProviderKind::JiraDataCenter,
        &base,
        AuthKind::Basic,
        Some("mia"),
        "right",
    );
    let err = right.whoami().await.unwrap_err();
    assert_eq!(err.kind(), "forbidden", "{err}");
    assert!(
        err.to_string().contains("sign in through the browser once"),
        "{err}"
    );
}

/// Jira answers 404 alike for what does not exist and what the account may not see.
#[tokio::test]
async fn a_404_on_a_read_says_it_may_be_hidden() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let jira = cloud(&base);
    let err = jira.get_task("EX-999").await.unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert_eq!(
        err.to_string(),
        "Jira issue EX-999 visible to this account was not found"
    );
    let err = jira
        .list_comments("EX-999", &PageRequest::new(None, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Jira issue EX-999 visible to this account was not found"
    );
    let err = jira.get_sprint("999").await.unwrap_err();
    assert!(err.to_string().contains("visible to this account"), "{err}");
}

/// Cloud's search index lags writes: a search right after a create or an edit misses it unless
/// the issue is reconciled (`reconcileIssues`).
#[tokio::test]
async fn a_search_right_after_a_write_sees_it() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base);
    let created = jira
        .create_task(&NewTask {
            project: "EX".into(),
            title: "Fresh".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let found = jira
        .search_tasks(&in_project("EX"), &PageRequest::new(None, None))
        .await
        .unwrap();
    assert!(
        found.items.iter().any(|t| t.id == created.id),
        "{:?}",
        found.items.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    let id = pm_testkit::fake_jira::Fake::issue_id(&created.id);
    assert!(
        fake.read
            .reconciled
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .contains(&id),
        "{:?}",
        fake.read.reconciled.lock().unwrap()
    );
    // An edit of an issue the index already holds: the search sees the new status.
    jira.transition_task("EX-1", "To Do").await.unwrap();
    let todo = jira
        .search_tasks(
            &TaskQuery {
                project: Some("EX".into()),
                statuses: vec!["To Do".into()],
                ..Default::default()
            },
            &PageRequest::new(None, None),
        )
        .await
        .unwrap();
    assert!(todo.items.iter().any(|t| t.id == "EX-1"));
    // Analytics right after the writes see them too: EX-1 is To Do in the sprint's history.
    let h = jira.sprint_history("7", 100).await.unwrap();
    let ex1 = h.items.iter().find(|i| i.id == "EX-1").unwrap();
    assert_eq!(ex1.status.name, "To Do");
}

/// Cloud refuses a query without a restriction exactly as it says it does; pm-mcp never sends
/// one and asks for a filter in words.
#[tokio::test]
async fn unbounded_queries_are_refused_as_cloud_refuses_them() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let res = reqwest::Client::new()
        .post(format!("{base}/rest/api/3/search/jql"))
        .header("authorization", basic("mia@example.com", "t"))
        .json(&serde_json::json!({ "jql": "ORDER BY updated DESC", "maxResults": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["errorMessages"][0],
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    );
    let err = cloud(&base)
        .search_tasks(&TaskQuery::default(), &PageRequest::new(None, None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "bad_input");
    assert!(err.to_string().contains("name a project"), "{err}");
}

/// With a scoped token the connection's URL is Atlassian's gateway
/// (`api.atlassian.com/ex/jira/{cloudId}`); links point at the site's own base URL from
/// `serverInfo`, never at the gateway.
#[tokio::test]
async fn links_use_the_sites_own_base_url() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let gateway = format!("{base}/ex/jira/{}", pm_testkit::fake_jira::CLOUD_ID);
    let jira = cloud(&gateway);
    let t = jira.get_task("EX-1").await.unwrap();
    assert_eq!(
        t.url.as_deref(),
        Some("https://your-domain.atlassian.net/browse/EX-1")
    );
    let p = jira.get_project("EX").await.unwrap();
    assert_eq!(
        p.url.as_deref(),
        Some("https://your-domain.atlassian.net/browse/EX")
    );
    let found = jira
        .search_tasks(&in_project("EX"), &PageRequest::new(None, Some(1)))
        .await
        .unwrap();
    assert!(
        found.items[0]
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://your-domain.atlassian.net/browse/"),
        "{:?}",
        found.items[0].url
    );
}

/// Both editions' searches answer only the fields asked for (Cloud's `search/jql` defaults to
/// `id` only; Data Center's `search` to every navigable field), as the client relies on.
#[tokio::test]
async fn searches_answer_the_fields_asked_for() {
    let http = reqwest::Client::new();
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let search = |body: serde_json::Value, path: &str, auth: String| {
        let req = http
            .post(format!("{base}{path}"))
            .header("authorization", auth)
            .json(&body);
        async move {
            let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            v
        }
    };
    let auth = basic("mia@example.com", "t");
    let some = search(
        serde_json::json!({ "jql": "project = \"EX\"", "maxResults": 1, "fields": ["summary"] }),
        "/rest/api/3/search/jql",
        auth.clone(),
    )
    .await;
    let fields = some["issues"][0]["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["summary"]);
    let bare = search(
        serde_json::json!({ "jql": "project = \"EX\"", "maxResults": 1 }),
        "/rest/api/3/search/jql",
        auth,
    )
    .await;
    assert!(bare["issues"][0].get("fields").is_none(), "{bare}");
    assert_eq!(bare["issues"][0]["id"], "21");

    let Some(Running { url: base, .. }) = spawn(Options::dc("Bearer pat")).await else {
        return;
    };
    let dc = |body: serde_json::Value| {
        let req = http
            .post(format!("{base}/rest/api/2/search"))
            .header("authorization", "Bearer pat")
            .json(&body);
        async move {
            let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            v
        }
    };
    let some = dc(serde_json::json!({ "jql": "project = \"EX\"", "maxResults": 1, "fields": ["summary", "status"] })).await;
    let mut keys: Vec<&String> = some["issues"][0]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, ["status", "summary"]);
    let all = dc(serde_json::json!({ "jql": "project = \"EX\"", "maxResults": 1 })).await;
    assert!(
        all["issues"][0]["fields"]["assignee"].is_object()
            || all["issues"][0]["fields"]["assignee"].is_null()
    );
    assert!(
        all["issues"][0]["fields"].as_object().unwrap().len() > 5,
        "{all}"
    );
}

/// A server that ignores `startAt` and never says the last page (a proxy, a broken plugin) does
/// not keep the changelog read going forever: a page of entries seen already ends it.
#[tokio::test]
async fn a_changelog_that_never_ends_is_read_once() {
    use axum::routing::{get, post};
    use serde_json::json;
    let pages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = pages.clone();
    let app = axum::Router::new()
        .route("/rest/api/3/status", get(|| async { axum::Json(json!([])) }))
        .route("/rest/api/3/field", get(|| async { axum::Json(json!([])) }))
        .route(
            "/rest/api/3/search/jql",
            post(|| async {
                axum::Json(json!({ "isLast": true, "issues": [{
                    "id": "10001", "key": "EX-1",
                    "fields": { "summary": "Loop", "project": { "key": "EX" },
                                "status": { "id": "1", "name": "To Do", "statusCategory": { "key": "new" } } },
                    "changelog": { "startAt": 0, "maxResults": 1, "total": 5, "histories": [
                        { "id": "900", "created": "2026-12-01T10:00:00.000+0000", "items": [] } ] }
                }] }))
            }),
        )
        .route(
            "/rest/api/3/issue/{key}/changelog",
            get(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    axum::Json(json!({ "startAt": 0, "maxResults": 1, "isLast": false, "values": [
                        { "id": "900", "created": "2026-12-01T10:00:00.000+0000", "items": [] } ] }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let jira = cloud(&base);
    let read = tokio::time::timeout(
        Duration::from_secs(20),
        jira.project_history("EX", chrono::Utc::now() - chrono::Duration::days(30), 10),
    )
    .await
    .expect("the read ends");
    let history = read.unwrap();
    assert_eq!(history.items.len(), 1);
    // Two searches (open and done items) each find EX-1 and read its changelog: a page, then
    // the same page again, which ends it.
    assert!(
        pages.load(std::sync::atomic::Ordering::SeqCst) <= 4,
        "{} pages",
        pages.load(std::sync::atomic::Ordering::SeqCst)
    );
}
