//! The Redmine client against a small fake that answers as Redmine 5.0 does (shapes taken from a
//! real Redmine 5.0: trackers in project order, 422 `{"errors": [...]}`, 204 on PUT, 403 on
//! /custom_fields.json for a non-admin, 404 with an empty body). Every request is recorded, so
//! the tests can say that a refused call wrote nothing.
#![allow(clippy::unwrap_used)] // test code

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Duration as Days, NaiveDate, Utc};
use pm_core::{
    AuthKind, BaseUrl, NewSprint, NewTask, PageRequest, Provider, ProviderError, ProviderKind,
    SprintChange, SprintState, TaskChange, TaskQuery,
};
use pm_providers::HttpSettings;
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    /// (method, path, query, body) of every request.
    requests: Vec<(String, String, String, Value)>,
    /// The issue created last (the POST body), served back as #7.
    issue: Option<Value>,
    /// Version 3's description and due date as last written.
    version: Option<Value>,
    /// Answer the next issue POST with this 422.
    refuse_next: Option<&'static str>,
    /// The site has a "Start date" version custom field (id 9).
    start_field: bool,
}

type Shared = Arc<Mutex<Fake>>;

fn tracker(id: u64) -> Value {
    let name = match id {
        1 => "Bug",
        2 => "Feature",
        3 => "Support",
        _ => "Task",
    };
    json!({ "id": id, "name": name })
}

fn issue_json(body: &Value) -> Value {
    let b = &body["issue"];
    let mut i = json!({
        "id": 7, "project": { "id": 1, "name": "Demo" },
        "tracker": tracker(b["tracker_id"].as_u64().unwrap_or(1)),
        "status": { "id": 1, "name": "New", "is_closed": false },
        "priority": { "id": 2, "name": "Normal" },
        "subject": b["subject"], "description": b["description"],
        "created_on": "2026-12-07T09:00:00Z", "updated_on": "2026-12-07T09:00:00Z"
    });
    if let Some(v) = b["fixed_version_id"].as_u64() {
        i["fixed_version"] = json!({ "id": v, "name": "Sprint" });
    }
    if let Some(p) = b["parent_issue_id"].as_u64() {
        i["parent"] = json!({ "id": p });
    }
    i
}

async fn handle(State(st): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut f = st.lock().unwrap();
    f.requests.push((
        method.to_string(),
        path.clone(),
        query.clone(),
        body.clone(),
    ));
    let ok = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    match (method.as_str(), path.as_str()) {
        ("GET", "/users/current.json") => ok(json!({ "user": { "id": 1, "login": "admin" } })),
        // Redmine 5.0's memberships: users and groups, each with its roles, paged by
        // offset/limit with total_count (REST API wiki, Rest_Memberships).
        ("GET", "/projects/demo/memberships.json") => {
            let all = [
                json!({ "id": 1, "project": { "id": 1, "name": "Demo" },
                        "user": { "id": 5, "name": "Dave Lopper" },
                        "roles": [{ "id": 3, "name": "Manager" }] }),
                json!({ "id": 2, "project": { "id": 1, "name": "Demo" },
                        "group": { "id": 24, "name": "Contributors" },
                        "roles": [{ "id": 4, "name": "Developer" }] }),
                json!({ "id": 3, "project": { "id": 1, "name": "Demo" },
                        "user": { "id": 6, "name": "Jane Doe" },
                        "roles": [{ "id": 4, "name": "Developer", "inherited": true }] }),
            ];
            let arg = |k: &str| {
                query.split('&').find_map(|kv| {
                    kv.strip_prefix(k)
                        .and_then(|r| r.strip_prefix('='))
                        .and_then(|v| v.parse::<usize>().ok())
                })
            };
            let offset = arg("offset").unwrap_or(0);
            let limit = arg("limit").unwrap_or(25);
            let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
            ok(json!({ "memberships": page, "total_count": all.len(),
                       "offset": offset, "limit": limit }))
        }
        ("GET", "/projects/demo.json") => ok(json!({ "project": {
            "id": 1, "name": "Demo", "identifier": "demo",
            "trackers": [tracker(1), tracker(2), tracker(3)] } })),
        ("GET", "/projects/tasks.json") => ok(json!({ "project": {
            "id": 2, "name": "Tasks", "identifier": "tasks",
            "trackers": [tracker(1), tracker(4)] } })),
        ("GET", "/trackers.json") => {
            let all = [
                "assigned_to_id",
                "fixed_version_id",
                "parent_issue_id",
                "due_date",
                "description",
            ];
            let mut list: Vec<Value> = (1..=4)
                .map(|id| {
                    let mut t = tracker(id);
                    t["enabled_standard_fields"] = json!(all);
                    t
                })
                .collect();
            // Bug has no target version (sprint) field.
            list[0]["enabled_standard_fields"] = json!([
                "assigned_to_id",
                "parent_issue_id",
                "due_date",
                "description"
            ]);
            ok(json!({ "trackers": list }))
        }
        // Redmine 5.0's default statuses and priorities, as a real one lists them.
        ("GET", "/issue_statuses.json") => ok(json!({ "issue_statuses": [
            { "id": 1, "name": "New", "is_closed": false },
            { "id": 2, "name": "In Progress", "is_closed": false },
            { "id": 3, "name": "Resolved", "is_closed": false },
            { "id": 4, "name": "Feedback", "is_closed": false },
            { "id": 5, "name": "Closed", "is_closed": true },
            { "id": 6, "name": "Rejected", "is_closed": true } ] })),
        ("GET", "/enumerations/issue_priorities.json") => ok(json!({ "issue_priorities": [
            { "id": 1, "name": "Low", "is_default": false, "active": true },
            { "id": 2, "name": "Normal", "is_default": true, "active": true },
            { "id": 3, "name": "High", "is_default": false, "active": true },
            { "id": 9, "name": "Someday", "is_default": false, "active": false } ] })),
        // An issue In Progress whose workflow allows Resolved and Closed; Redmine 5.0 lists the
        // current status among the allowed ones.
        ("GET", "/issues/8.json") if query.contains("allowed_statuses") => ok(json!({ "issue": {
            "id": 8, "project": { "id": 2, "name": "Tasks" }, "tracker": tracker(4),
            "status": { "id": 2, "name": "In Progress", "is_closed": false },
            "priority": { "id": 2, "name": "Normal" }, "subject": "Vocabulary",
            "allowed_statuses": [
                { "id": 2, "name": "In Progress", "is_closed": false },
                { "id": 3, "name": "Resolved", "is_closed": false },
                { "id": 5, "name": "Closed", "is_closed": true } ] } })),
        ("POST", "/issues.json") => {
            if let Some(msg) = f.refuse_next.take() {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({ "errors": [msg] })),
                )
                    .into_response();
            }
            f.issue = Some(body.clone());
            (
                StatusCode::CREATED,
                axum::Json(json!({ "issue": issue_json(&body) })),
            )
                .into_response()
        }
        ("GET", "/issues/7.json") => match &f.issue {
            Some(b) => ok(json!({ "issue": issue_json(b) })),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("PUT", p) if p.starts_with("/issues/") || p.starts_with("/versions/") => {
            if p == "/versions/3.json" {
                let cur = f.version.clone().unwrap_or(json!({}));
                let mut v = cur.as_object().cloned().unwrap_or_default();
                for (k, val) in body["version"].as_object().cloned().unwrap_or_default() {
                    v.insert(k, val);
                }
                f.version = Some(Value::Object(v));
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", "/custom_fields.json") => StatusCode::FORBIDDEN.into_response(),
        ("GET", "/projects/demo/versions.json") if f.start_field => ok(json!({ "versions": [
            { "id": 2, "name": "Old", "status": "closed",
              "custom_fields": [{ "id": 9, "name": "Start date", "value": "" }] } ] })),
        ("GET", "/projects/demo/versions.json") => ok(json!({ "versions": [] })),
        ("POST", "/projects/demo/versions.json") => {
            f.version = Some(body["version"].clone());
            (
                StatusCode::CREATED,
                axum::Json(json!({ "version": { "id": 3, "name": body["version"]["name"], "status": "open" } })),
            )
                .into_response()
        }
        ("GET", "/versions/3.json") => {
            let v = f.version.clone().unwrap_or(json!({}));
            let mut version = json!({
                "id": 3, "name": v["name"], "status": "open",
                "description": v["description"], "due_date": v["due_date"],
                "created_on": "2026-12-07T09:00:00Z" });
            if f.start_field {
                let value = v["custom_fields"][0]["value"].clone();
                version["custom_fields"] =
                    json!([{ "id": 9, "name": "Start date", "value": value }]);
            }
            ok(json!({ "version": version }))
        }
        ("GET", "/projects/demo/search.json") => ok(json!({
            "results": [ { "id": 7, "type": "issue", "title": "Bug #7: x" } ],
            "total_count": 1, "offset": 0, "limit": 100 })),
        // As Redmine 5.0 answers: an empty list for an issue that does not exist.
        ("GET", "/time_entries.json") => ok(json!({
            "time_entries": [], "total_count": 0, "offset": 0, "limit": 25 })),
        // A related issue that does not exist is "blank" to Redmine 5.0 (422).
        ("POST", "/issues/7/relations.json") if body["relation"]["issue_to_id"] == 99 => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "errors": ["Related issue cannot be blank"] })),
        )
            .into_response(),
        ("POST", "/issues/7/relations.json") => (
            StatusCode::CREATED,
            axum::Json(json!({ "relation": { "id": 1, "issue_id": 7,
                "issue_to_id": body["relation"]["issue_to_id"], "relation_type": "relates" } })),
        )
            .into_response(),
        ("GET", "/issues.json") => {
            let issues: Vec<Value> = f.issue.iter().map(issue_json).collect();
            ok(json!({ "issues": issues, "total_count": issues.len(), "offset": 0, "limit": 25 }))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn spawn(config: Value) -> (Arc<dyn Provider>, Shared) {
    let state: Shared = Arc::default();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let settings = HttpSettings {
        timeout: Duration::from_secs(10),
        max_attempts: 1,
        max_concurrency_per_connection: 4,
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    let spec = pm_core::ConnectionSpec::stored(
        ProviderKind::Redmine,
        BaseUrl::parse(&url, true).unwrap(),
        AuthKind::ApiKey,
        None,
        pm_core::Secret::new("0123456789abcdef"),
        serde_json::from_value(config.clone()).expect("options"),
    )
    .expect("spec");
    let provider = pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &spec,
        settings,
    )
    .unwrap();
    (provider, state)
}

fn writes(state: &Shared) -> Vec<(String, String)> {
    state
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.0 != "GET")
        .map(|r| (r.0.clone(), r.1.clone()))
        .collect()
}

fn posted(state: &Shared) -> Value {
    state.lock().unwrap().issue.clone().unwrap()
}

fn task(project: &str) -> NewTask {
    NewTask {
        project: project.into(),
        title: "Card form validation".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn without_a_type_the_projects_default_tracker_is_used_and_said() {
    let (rm, state) = spawn(json!({})).await;
    assert!(rm.creates_in_sprint());
    // No "Task" tracker: the project's first one, as Redmine itself would pick.
    let created = rm.create_task(&task("demo")).await.unwrap();
    assert_eq!(posted(&state)["issue"]["tracker_id"], 1);
    assert_eq!(created.task_type.as_deref(), Some("Bug"));
    // A project with a "Task" tracker gets it.
    let created = rm.create_task(&task("tasks")).await.unwrap();
    assert_eq!(posted(&state)["issue"]["tracker_id"], 4);
    assert_eq!(created.task_type.as_deref(), Some("Task"));
    // A type the project lacks is refused with the ones it has, before writing.
    let before = writes(&state).len();
    let err = rm
        .create_task(&NewTask {
            task_type: Some("Epic".into()),
            ..task("demo")
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Bug, Feature, Support"), "{err}");
    assert_eq!(writes(&state).len(), before);
}

#[tokio::test]
async fn what_redmine_lacks_is_refused_before_anything_is_written() {
    let (rm, state) = spawn(json!({})).await;
    let labels = rm
        .create_task(&NewTask {
            labels: vec!["web".into()],
            ..task("demo")
        })
        .await
        .unwrap_err();
    assert!(matches!(labels, ProviderError::Unsupported { .. }));
    assert!(
        labels.to_string().contains("labels") && labels.to_string().contains("Redmine"),
        "{labels}"
    );
    let points = rm
        .create_task(&NewTask {
            story_points: Some(3.0),
            sprint: Some("3".into()),
            ..task("demo")
        })
        .await
        .unwrap_err();
    assert!(points.to_string().contains("story points"), "{points}");
    for change in [
        TaskChange {
            labels: Some(vec!["web".into()]),
            title: Some("x".into()),
            ..Default::default()
        },
        TaskChange {
            story_points: Some(2.0),
            title: Some("x".into()),
            ..Default::default()
        },
        TaskChange {
            remaining_hours: Some(2.0),
            title: Some("x".into()),
            ..Default::default()
        },
    ] {
        let e = rm.update_task("7", &change).await.unwrap_err();
        assert!(matches!(e, ProviderError::Unsupported { .. }), "{e}");
    }
    assert_eq!(writes(&state), Vec::<(String, String)>::new());
    // An unknown project is named, with the tool that lists projects; nothing written.
    let nope = rm.create_task(&task("nope")).await.unwrap_err().to_string();
    assert_eq!(
        nope,
        "Redmine project \"nope\" (list_projects lists the projects) was not found"
    );
    assert_eq!(writes(&state), Vec::<(String, String)>::new());
}

#[tokio::test]
async fn sprint_parent_and_description_go_into_the_one_create() {
    let (rm, state) = spawn(json!({})).await;
    let created = rm
        .create_task(&NewTask {
            description: Some("## Steps\n\n- pay with **Visa**\n\n```\nmake test\n```".into()),
            sprint: Some("3".into()),
            parent: Some("5".into()),
            ..task("demo")
        })
        .await
        .unwrap();
    assert_eq!(writes(&state), [("POST".into(), "/issues.json".into())]);
    let body = posted(&state);
    assert_eq!(body["issue"]["fixed_version_id"], 3);
    assert_eq!(body["issue"]["parent_issue_id"], 5);
    assert_eq!(
        body["issue"]["description"],
        "h2. Steps\n\n* pay with *Visa*\n\n<pre>make test</pre>"
    );
    // Read back as Markdown.
    assert_eq!(
        created.description.as_deref(),
        Some("## Steps\n\n- pay with **Visa**\n\n```\nmake test\n```")
    );
    // Redmine's 422 for a non-member assignee says what to do.
    state.lock().unwrap().refuse_next = Some("Assignee is invalid");
    let e = rm
        .create_task(&NewTask {
            assignee: Some("5".into()),
            ..task("demo")
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("member of the project") && e.contains("list_users"),
        "{e}"
    );
    let e = rm
        .create_task(&NewTask {
            assignee: Some("ann".into()),
            ..task("demo")
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("list_users"), "{e}");
}

#[tokio::test]
async fn fields_a_tracker_turns_off_are_refused_not_dropped() {
    let (rm, state) = spawn(json!({})).await;
    // Bug (the project's first tracker) has no sprint field: without a type, the first
    // tracker that has it is used, as Redmine does for a parent.
    let created = rm
        .create_task(&NewTask {
            sprint: Some("3".into()),
            ..task("demo")
        })
        .await
        .unwrap();
    assert_eq!(created.task_type.as_deref(), Some("Feature"));
    assert_eq!(posted(&state)["issue"]["fixed_version_id"], 3);
    // Asked for as a Bug: refused before writing, naming the types that can.
    let before = writes(&state).len();
    let e = rm
        .create_task(&NewTask {
            sprint: Some("3".into()),
            task_type: Some("bug".into()),
            ..task("demo")
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sprint") && e.contains("Feature, Support"),
        "{e}"
    );
    assert_eq!(writes(&state).len(), before);
}

#[tokio::test]
async fn a_markdown_site_gets_markdown_as_it_is() {
    let (rm, state) = spawn(json!({ "text_format": "common_mark" })).await;
    let md = "## Steps\n\n- pay with **Visa**";
    let created = rm
        .create_task(&NewTask {
            description: Some(md.into()),
            ..task("demo")
        })
        .await
        .unwrap();
    assert_eq!(posted(&state)["issue"]["description"], md);
    assert_eq!(created.description.as_deref(), Some(md));
}

#[tokio::test]
async fn sprint_start_dates_are_kept_and_future_sprints_are_planned() {
    let (rm, state) = spawn(json!({})).await;
    let today = Utc::now().date_naive();
    let start = today + Days::days(3);
    let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    let sprint = rm
        .create_sprint(&NewSprint {
            project: "demo".into(),
            name: "Sprint 1".into(),
            start: at(start),
            end: at(today + Days::days(17)),
            goal: Some("Payments".into()),
        })
        .await
        .unwrap();
    // No "Start date" field (403 on the list, none on the project's versions): the trailer.
    let stored = state.lock().unwrap().version.clone().unwrap();
    assert_eq!(
        stored["description"],
        format!("Payments [pm-mcp] start: {}", start.format("%Y-%m-%d"))
    );
    assert_eq!(sprint.state, SprintState::Future);
    assert_eq!(sprint.start_date, at(start));
    assert_eq!(sprint.goal.as_deref(), Some("Payments"));
    // Moving the start keeps the goal; a past start makes it active.
    let moved = rm
        .update_sprint(
            "3",
            &SprintChange {
                start: at(today - Days::days(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.state, moved.start_date, moved.goal.as_deref()),
        (
            SprintState::Active,
            at(today - Days::days(1)),
            Some("Payments")
        )
    );
    // A goal too long for the 255 characters of a description is refused before writing.
    let before = writes(&state).len();
    let e = rm
        .update_sprint(
            "3",
            &SprintChange {
                goal: Some("x".repeat(250)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("255"), "{e}");
    assert_eq!(writes(&state).len(), before);
}

#[tokio::test]
async fn a_start_date_field_is_used_where_the_site_has_one() {
    let (rm, state) = spawn(json!({})).await;
    state.lock().unwrap().start_field = true;
    let start = Utc::now().date_naive() + Days::days(3);
    let sprint = rm
        .create_sprint(&NewSprint {
            project: "demo".into(),
            name: "Sprint 2".into(),
            start: start.and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
            goal: Some("Payments".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let stored = state.lock().unwrap().version.clone().unwrap();
    assert_eq!(stored["description"], "Payments", "no trailer: {stored}");
    assert_eq!(
        stored["custom_fields"],
        json!([{ "id": 9, "value": start.format("%Y-%m-%d").to_string() }])
    );
    assert_eq!(
        (sprint.state, sprint.start_date.map(|d| d.date_naive())),
        (SprintState::Future, Some(start))
    );
}

#[tokio::test]
async fn text_search_goes_through_redmines_search() {
    let (rm, state) = spawn(json!({})).await;
    rm.create_task(&task("demo")).await.unwrap();
    let found = rm
        .search_tasks(
            &TaskQuery {
                project: Some("demo".into()),
                text: Some("okapis".into()),
                ..Default::default()
            },
            &PageRequest::new(None, Some(10)),
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let requests = state.lock().unwrap().requests.clone();
    let search = requests
        .iter()
        .find(|r| r.1 == "/projects/demo/search.json")
        .unwrap();
    assert!(
        search.2.contains("q=okapis") && search.2.contains("issues=1"),
        "{}",
        search.2
    );
    let list = requests.iter().rfind(|r| r.1 == "/issues.json").unwrap();
    assert!(
        list.2.contains("issue_id=7") && list.2.contains("project_id=demo"),
        "{}",
        list.2
    );
    assert!(!list.2.contains("subject="), "{}", list.2);
}

#[tokio::test]
async fn a_projects_vocabulary_is_its_trackers_the_sites_statuses_and_priorities() {
    let (p, _) = spawn(json!({})).await;
    let v = p.project_vocabulary("tasks", None).await.unwrap();
    let statuses: Vec<(&str, pm_core::StatusCategory)> = v
        .statuses
        .iter()
        .map(|s| (s.name.as_str(), s.category))
        .collect();
    use pm_core::StatusCategory::{Done, InProgress, Todo};
    assert_eq!(
        statuses,
        [
            ("New", Todo),
            ("In Progress", InProgress),
            ("Resolved", InProgress),
            ("Feedback", InProgress),
            ("Closed", Done),
            ("Rejected", Done)
        ]
    );
    // Active priorities only, in Redmine's order; the default said in a note.
    assert_eq!(v.priorities, ["Low", "Normal", "High"]);
    assert!(
        v.notes.iter().any(|n| n == "default priority: Normal"),
        "{:?}",
        v.notes
    );
    assert!(
        v.notes.iter().any(|n| n.contains("no epic type")),
        "{:?}",
        v.notes
    );
    // The project's trackers; "Task" is the default where the project has it.
    let types: Vec<(&str, bool, bool)> = v
        .task_types
        .iter()
        .map(|t| (t.name.as_str(), t.is_epic, t.is_default))
        .collect();
    assert_eq!(types, [("Bug", false, false), ("Task", false, true)]);
    // Without a Task tracker, the first one is the default (as create_task picks it).
    let v = p.project_vocabulary("demo", None).await.unwrap();
    assert!(v.task_types[0].name == "Bug" && v.task_types[0].is_default);

    let v = p.project_vocabulary("tasks", Some("8")).await.unwrap();
    let moves: Vec<(String, Option<String>)> = v
        .transitions
        .unwrap()
        .into_iter()
        .map(|t| (t.to_status, t.name))
        .collect();
    assert_eq!(
        moves,
        [("Resolved".to_string(), None), ("Closed".to_string(), None)]
    );

    match p.project_vocabulary("nope", None).await {
        Err(ProviderError::NotFound { what }) => {
            assert!(
                what.contains("nope") && what.contains("list_projects"),
                "{what}"
            )
        }
        other => panic!("{other:?}"),
    }
    match p.project_vocabulary("tasks", Some("99")).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("#99"), "{what}"),
        other => panic!("{other:?}"),
    }
}

/// The same against a real Redmine (`PM_MCP_REDMINE_URL`, `PM_MCP_REDMINE_KEY`, an
/// administrator's key): a project of its own, deleted after.
#[tokio::test]
async fn a_real_redmines_vocabulary() {
    let Ok(url) = std::env::var("PM_MCP_REDMINE_URL") else {
        pm_testkit::skip(
            "the real-Redmine vocabulary test (scripts/test starts Redmine)",
            "PM_MCP_REDMINE_URL is not set",
        );
        return;
    };
    let key = std::env::var("PM_MCP_REDMINE_KEY").expect("PM_MCP_REDMINE_KEY");
    // The Redmine the test command starts listens on this machine: exempt its host from the
    // SSRF guard, as an operator would for an on-prem tracker.
    let host = url::Url::parse(&url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let settings = HttpSettings {
        timeout: Duration::from_secs(20),
        max_attempts: 1,
        max_concurrency_per_connection: 4,
        policy: pm_providers::UpstreamPolicy::new(true, &[host]).unwrap(),
        ..HttpSettings::default()
    };
    let p = pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &pm_core::ConnectionSpec::stored(
            ProviderKind::Redmine,
            BaseUrl::parse(&url, true).unwrap(),
            AuthKind::ApiKey,
            None,
            pm_core::Secret::new(&key),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings,
    )
    .unwrap();
    let ident = format!(
        "vocab-{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let project = p
        .create_project("Vocabulary", Some(&ident), None)
        .await
        .unwrap();
    let outcome = async {
        let created = p.create_task(&task(&project.id)).await?;
        let v = p.project_vocabulary(&project.id, Some(&created.id)).await?;
        Ok::<_, ProviderError>((created, v))
    }
    .await;
    p.delete_project(&project.id).await.unwrap();
    let (created, v) = outcome.unwrap();
    let names: Vec<&str> = v.statuses.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"New") && names.contains(&"Closed"),
        "{names:?}"
    );
    assert!(
        v.statuses
            .iter()
            .any(|s| s.name == "Closed" && s.category == pm_core::StatusCategory::Done)
    );
    assert!(
        v.priorities.iter().any(|p| p == "Normal"),
        "{:?}",
        v.priorities
    );
    assert!(!v.task_types.is_empty());
    assert_eq!(v.task_types.iter().filter(|t| t.is_default).count(), 1);
    assert_eq!(
        created.task_type.as_deref(),
        v.task_types
            .iter()
            .find(|t| t.is_default)
            .map(|t| t.name.as_str()),
        "create_task without a type uses the type the vocabulary calls the default"
    );
    let moves = v.transitions.unwrap();
    assert!(!moves.is_empty());
    assert!(moves.iter().all(|m| m.to_status != created.status.name));
}

/// Redmine answers an empty list for a version or an issue that does not exist, and "Related issue
/// cannot be blank" for a related issue that does not exist: each is a not-found naming the id,
/// and a list that has items costs no extra request.
#[tokio::test]
async fn unknown_versions_issues_and_related_issues_are_not_found() {
    let (rm, state) = spawn(json!({})).await;
    let page = PageRequest::new(None, None);
    let in_sprint = |s: &str| TaskQuery {
        sprint: Some(s.into()),
        ..TaskQuery::default()
    };
    match rm.search_tasks(&in_sprint("99"), &page).await {
        Err(ProviderError::NotFound { what }) => {
            assert!(what.contains("Redmine version (sprint) 99"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    match rm.list_worklogs("99", &page).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("issue #99"), "{what}"),
        other => panic!("{other:?}"),
    }
    rm.create_task(&task("demo")).await.unwrap();
    match rm.link_tasks("7", "99", "relates").await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("issue #99"), "{what}"),
        other => panic!("{other:?}"),
    }
    rm.link_tasks("7", "8", "relates").await.unwrap();
    // An issue without worklogs is an empty list, not an error.
    assert!(rm.list_worklogs("7", &page).await.unwrap().items.is_empty());
    // A sprint with tasks is listed without looking the version up.
    let before = state.lock().unwrap().requests.len();
    assert_eq!(
        rm.search_tasks(&in_sprint("3"), &page)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let after = state.lock().unwrap().requests.clone();
    assert!(
        after[before..]
            .iter()
            .all(|r| !r.1.starts_with("/versions/")),
        "{:?}",
        &after[before..]
    );
}

#[tokio::test]
async fn project_members_are_its_users_groups_left_out() {
    let (rm, state) = spawn(json!({})).await;
    let all = rm
        .list_project_members("demo", "", &PageRequest::new(None, None))
        .await
        .unwrap();
    let names: Vec<_> = all
        .items
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    assert_eq!(names, [("5", "Dave Lopper"), ("6", "Jane Doe")]);
    assert!(all.next.is_none());
    let jane = rm
        .list_project_members("demo", "jane", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(jane.items.len(), 1);
    assert_eq!(jane.items[0].id, "6");
    // Paged as Redmine pages: a group on the first page leaves it short, not the cursor wrong.
    let first = rm
        .list_project_members("demo", "", &PageRequest::new(None, Some(2)))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    let rest = rm
        .list_project_members("demo", "", &PageRequest::new(first.next, Some(2)))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id, "6");
    assert!(rest.next.is_none());
    let missing = rm
        .list_project_members("nope", "", &PageRequest::new(None, None))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    let f = state.lock().unwrap();
    assert!(
        f.requests
            .iter()
            .any(|r| r.1 == "/projects/demo/memberships.json" && r.2.contains("offset=2")),
        "{:?}",
        f.requests
    );
}
