//! The OpenProject client against a fake that answers as OpenProject does (pm-testkit's
//! fake_openproject: HAL+JSON, page-number paging, the open-only default filter, the form endpoint
//! with a workflow, lockVersion conflicts, version-specific time entries, a sub-path).
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use pm_core::{
    Assignee, AuthKind, BaseUrl, NewSprint, NewTask, PageRequest, Provider, ProviderError,
    ProviderKind, SprintChange, SprintState, StatusCategory, TaskChange, TaskQuery,
};
use pm_providers::HttpSettings;
use pm_testkit::fake::{Failure, Running};
use pm_testkit::fake_openproject as fake;
use serde_json::Value;

const KEY: &str = "op-e2e-secret-4bd1c0ffee";

async fn connect(prefix: &str, version: &str) -> (Arc<dyn Provider>, Running<fake::Fake>) {
    let state = fake::spawn(fake::Options::new(KEY, prefix, version)).await;
    let url = state.url.clone();
    (client(&url, KEY), state)
}

fn client(url: &str, key: &str) -> Arc<dyn Provider> {
    let settings = HttpSettings {
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &pm_core::ConnectionSpec::stored(
            ProviderKind::OpenProject,
            BaseUrl::parse(url, true).unwrap(),
            AuthKind::ApiKey,
            None,
            pm_core::Secret::new(key),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings,
    )
    .unwrap()
}

fn page(limit: u32) -> PageRequest {
    PageRequest::new(None, Some(limit))
}

fn all() -> TaskQuery {
    TaskQuery {
        project: Some("demo-project".into()),
        ..Default::default()
    }
}

/// Work packages of the demo project as the fake holds them, filtered.
fn expected(state: &Running<fake::Fake>, keep: impl Fn(&Value) -> bool) -> usize {
    state
        .work_packages()
        .iter()
        .filter(|w| {
            w["_links"]["project"]["href"]
                .as_str()
                .is_some_and(|h| h.ends_with("/projects/1"))
        })
        .filter(|w| keep(w))
        .count()
}

fn hits(state: &Running<fake::Fake>) -> usize {
    state.recorder.len()
}

#[tokio::test]
async fn reads_projects_tasks_and_people_under_a_sub_path() {
    let state = fake::spawn(fake::Options::new(KEY, "/openproject", "13.4.1")).await;
    let url = state.url.clone();
    // The address of the API itself, as people paste it, names the same site.
    let op = client(&format!("{url}/api/v3/"), KEY);
    let me = op.whoami().await.unwrap();
    assert_eq!((me.id.as_str(), me.name.as_str()), ("5", "Mia Krystof"));
    let site = op.site().await.unwrap();
    assert_eq!(site.product, "OpenProject");
    assert_eq!(site.version.as_deref(), Some("13.4.1"));

    // 25 projects, 10 a page: the row offsets become page numbers 1, 2, 3.
    let p1 = op.list_projects(&page(10)).await.unwrap();
    let p2 = op
        .list_projects(&PageRequest::new(p1.next.clone(), Some(10)))
        .await
        .unwrap();
    let p3 = op
        .list_projects(&PageRequest::new(p2.next.clone(), Some(10)))
        .await
        .unwrap();
    assert_eq!(
        (p1.items.len(), p2.items.len(), p3.items.len()),
        (10, 10, 5)
    );
    assert_eq!(p3.next, None);
    let ids: std::collections::HashSet<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.items.iter().map(|x| x.id.clone()))
        .collect();
    assert_eq!(ids.len(), 25, "pages overlap or skip");
    assert!(
        state
            .recorder
            .lines()
            .iter()
            .any(|h| h.contains("/openproject/api/v3/projects?") && h.contains("offset=3")),
        "{:?}",
        state.recorder.lines()
    );
    let demo = op.get_project("demo-project").await.unwrap();
    assert_eq!(
        (demo.id.as_str(), demo.key.as_deref()),
        ("1", Some("demo-project"))
    );
    let found = op.search_projects("scrum", &page(10)).await.unwrap();
    assert_eq!(found.items[0].key.as_deref(), Some("scrum-project"));
    let missing = op.get_project("no-such-project").await.unwrap_err();
    assert!(
        matches!(missing, ProviderError::NotFound { .. }),
        "{missing}"
    );

    // Closed work packages are listed (the status filter `*`), paged by page number.
    let total = expected(&state, |_| true);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = op
            .search_tasks(&all(), &PageRequest::new(cursor, Some(25)))
            .await
            .unwrap();
        seen.extend(p.items);
        cursor = p.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), total);
    let done = seen
        .iter()
        .filter(|t| t.status.category == StatusCategory::Done)
        .count();
    assert_eq!(done, 16, "closed and rejected work packages are done");
    let mine = op
        .search_tasks(
            &TaskQuery {
                assignee: Some(Assignee::Me),
                ..all()
            },
            &page(100),
        )
        .await
        .unwrap();
    assert_eq!(
        mine.items.len(),
        expected(&state, |w| w["_links"]["assignee"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with("/users/5")))
    );
    assert!(
        mine.items
            .iter()
            .all(|t| t.assignee.as_ref().unwrap().id == "5")
    );
    let free = op
        .search_tasks(
            &TaskQuery {
                assignee: Some(Assignee::Nobody),
                ..all()
            },
            &page(100),
        )
        .await
        .unwrap();
    assert_eq!(
        free.items.len(),
        expected(&state, |w| w["_links"]["assignee"]["href"].is_null())
    );
    let sprint = op
        .search_tasks(
            &TaskQuery {
                sprint: Some("2".into()),
                ..Default::default()
            },
            &page(100),
        )
        .await
        .unwrap();
    assert_eq!(sprint.items.len(), 15);
    let closed = op
        .search_tasks(
            &TaskQuery {
                statuses: vec!["closed".into()],
                ..all()
            },
            &page(100),
        )
        .await
        .unwrap();
    assert!(!closed.items.is_empty());
    assert!(closed.items.iter().all(|t| t.status.name == "Closed"));
    let unknown = op
        .search_tasks(
            &TaskQuery {
                statuses: vec!["Shipped".into()],
                ..all()
            },
            &page(10),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("no status \"Shipped\"") && unknown.contains("In progress"),
        "{unknown}"
    );
    // Hostile search text is one filter value, not more filters.
    let evil = op
        .search_tasks(
            &TaskQuery {
                text: Some(r#"x"}},{"status":{"operator":"*","values":[]}}]"#.into()),
                ..all()
            },
            &page(10),
        )
        .await
        .unwrap();
    assert!(evil.items.is_empty());

    // One task: Markdown description, story points from the Backlogs field or a custom field.
    let t = op.get_task("2").await.unwrap();
    assert_eq!(t.key.as_deref(), Some("#2"));
    assert_eq!(t.parent_id.as_deref(), Some("1"));
    assert_eq!(t.project_id.as_deref(), Some("1"));
    assert!(t.url.unwrap().ends_with("/openproject/work_packages/2"));
    let custom = op.get_task("62").await.unwrap();
    assert_eq!(custom.story_points, Some(2.0));
    let gone = op.get_task("9999").await.unwrap_err();
    assert_eq!(
        gone.to_string(),
        "OpenProject work package #9999 was not found"
    );
    assert_eq!(
        op.get_task("1/../../users").await.unwrap_err().kind(),
        "bad_input"
    );

    // People: principals (no admin needed), one user, a locked one is inactive.
    let users = op.list_users("mia", &page(10)).await.unwrap();
    assert_eq!(users.items[0].name, "Mia Krystof");
    let u = op.get_user("6").await.unwrap();
    assert_eq!(u.name, "Jonas Weber");

    // Epics: the Epic type, closed ones included.
    let epics = op.list_epics("demo-project", &page(50)).await.unwrap();
    let ids: Vec<&str> = epics.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1", "11", "21"]);
}

#[tokio::test]
async fn changes_go_through_the_form_and_lock_version() {
    let (op, state) = connect("", "16.2.0").await;
    // A new task with the documented defaults, then read back from the fake.
    let created = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: "Checkout fails on Safari".into(),
            description: Some("## Steps\n\n1. pay".into()),
            task_type: Some("bug".into()),
            priority: Some("High".into()),
            assignee: Some("6".into()),
            due_date: NaiveDate::from_ymd_opt(2026, 12, 24),
            parent: Some("11".into()),
            labels: vec![],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.task_type.as_deref(), Some("Bug"));
    assert_eq!(created.status.name, "New");
    assert_eq!(created.priority.as_deref(), Some("High"));
    let id: u64 = created.id.parse().unwrap();
    let stored = state.work_package(id).unwrap();
    assert_eq!(stored["description"]["raw"], "## Steps\n\n1. pay");
    assert_eq!(
        stored["_links"]["parent"]["href"],
        "/api/v3/work_packages/11"
    );
    let bad_type = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: "x".into(),
            task_type: Some("Saga".into()),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        bad_type.contains("no work package type \"Saga\"") && bad_type.contains("Epic"),
        "{bad_type}"
    );
    let blank = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(blank, ProviderError::Invalid { .. }), "{blank}");
    assert!(
        blank.to_string().contains("Subject can't be blank"),
        "{blank}"
    );
    let labels = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: "x".into(),
            labels: vec!["web".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(labels.kind(), "unsupported");

    // The workflow: New → In progress is allowed, New → Closed is not (and says what is).
    let moved = op
        .transition_task(&created.id, "In progress")
        .await
        .unwrap();
    assert_eq!(moved.status.category, StatusCategory::InProgress);
    let again = op.transition_task(&created.id, "New").await.unwrap();
    assert_eq!(again.status.name, "New");
    let refused = op
        .transition_task(&created.id, "Closed")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("is \"New\"")
            && refused.contains("can move to: ")
            && refused.contains("In progress"),
        "{refused}"
    );
    assert!(!refused.contains("Closed,"), "{refused}");

    // Someone else edits in between once: retried from a fresh read. Every time: reported.
    let before = state.work_package(id).unwrap()["lockVersion"]
        .as_u64()
        .unwrap();
    state.set_conflicts(1);
    let t = op
        .update_task(
            &created.id,
            &TaskChange {
                title: Some("Checkout fails on Safari 18".into()),
                estimated_hours: Some(2.5),
                remaining_hours: Some(1.25),
                story_points: Some(3.0),
                sprint: Some("2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.title, "Checkout fails on Safari 18");
    assert_eq!(t.story_points, Some(3.0));
    let stored = state.work_package(id).unwrap();
    assert_eq!(stored["estimatedTime"], "PT2H30M");
    assert_eq!(stored["remainingTime"], "PT1H15M");
    assert_eq!(stored["_links"]["version"]["href"], "/api/v3/versions/2");
    assert!(stored["lockVersion"].as_u64().unwrap() >= before + 2);
    state.set_conflicts(10);
    let stuck = op
        .update_task(
            &created.id,
            &TaskChange {
                title: Some("never saved".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stuck.kind(), "conflict");
    assert!(
        stuck.to_string().contains("changed by someone else"),
        "{stuck}"
    );
    state.set_conflicts(0);
    assert_ne!(state.work_package(id).unwrap()["subject"], "never saved");

    // Custom-field story points (scrum-project) are written to the custom field.
    let sp = op
        .update_task(
            "63",
            &TaskChange {
                story_points: Some(5.0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sp.story_points, Some(5.0));
    assert_eq!(state.work_package(63).unwrap()["customField7"], 5);

    // Assign, unassign, epic link, watchers, relations.
    op.assign_task(&created.id, Some("4")).await.unwrap();
    assert_eq!(
        state.work_package(id).unwrap()["_links"]["assignee"]["href"],
        "/api/v3/users/4"
    );
    op.assign_task(&created.id, None).await.unwrap();
    assert!(state.work_package(id).unwrap()["_links"]["assignee"]["href"].is_null());
    op.set_epic(&created.id, Some("21")).await.unwrap();
    assert_eq!(
        op.get_task(&created.id).await.unwrap().parent_id.as_deref(),
        Some("21")
    );
    op.set_epic(&created.id, None).await.unwrap();
    assert_eq!(op.get_task(&created.id).await.unwrap().parent_id, None);
    op.add_watcher(&created.id, "6").await.unwrap();
    assert!(state.watchers(id).iter().any(|u| u["id"] == 6));
    op.link_tasks(&created.id, "3", "blocked by").await.unwrap();
    assert!(state.relations().iter().any(|r| r["type"] == "blocked"));
    let e = op.link_tasks(&created.id, "3", "clones").await.unwrap_err();
    assert_eq!(e.kind(), "bad_input", "{e}");
    assert!(e.to_string().contains("clones"), "{e}");

    // Comments are activities; worklogs are time entries with ISO-8601 durations (16: entity).
    let c = op
        .add_comment(&created.id, "Reproduced on **Safari 18**")
        .await
        .unwrap();
    assert_eq!(c.body, "Reproduced on **Safari 18**");
    let comments = op.list_comments(&created.id, &page(10)).await.unwrap();
    assert_eq!(
        comments.items.last().unwrap().body,
        "Reproduced on **Safari 18**"
    );
    assert_eq!(
        op.add_comment(&created.id, "  ").await.unwrap_err().kind(),
        "bad_input"
    );
    let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    let w = op
        .log_work(&created.id, 5400, when, Some("debugging"))
        .await
        .unwrap();
    assert_eq!(w.seconds, 5400);
    let logs = op.list_worklogs(&created.id, &page(10)).await.unwrap();
    assert_eq!(logs.items.len(), 1);
    assert_eq!(logs.items[0].seconds, 5400);
    let entry = state.time_entries().into_iter().last().unwrap();
    assert_eq!(entry["hours"], "PT1H30M");
    assert_eq!(entry["spentOn"], "2026-11-27");

    op.delete_task(&created.id).await.unwrap();
    assert!(state.work_package(id).is_none());
    assert_eq!(
        op.get_task(&created.id).await.unwrap_err().kind(),
        "not_found"
    );
}

#[tokio::test]
async fn time_entries_follow_the_sites_version() {
    for version in ["13.4.1", "16.2.0"] {
        let (op, state) = connect("", version).await;
        let before = op.list_worklogs("2", &page(10)).await.unwrap().items.len();
        assert_eq!(before, 2, "{version}");
        let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        op.log_work("2", 1800, when, None).await.unwrap();
        let after = op.list_worklogs("2", &page(10)).await.unwrap();
        assert_eq!(after.items.len(), 3, "{version}");
        assert!(after.items.iter().any(|w| w.seconds == 1800));
        let posted = state
            .recorder
            .lines()
            .iter()
            .filter(|h| h.starts_with("POST") && h.contains("time_entries"))
            .count();
        assert_eq!(posted, 1, "{version}");
    }
}

/// Issue 21 point 16: a site without a default time-entry activity refuses a time entry without
/// one (422); the client takes the form's default activity, else its first, and retries once.
#[tokio::test]
async fn a_site_without_a_default_activity_logs_time_with_the_forms_first_activity() {
    for version in ["13.4.1", "16.2.0"] {
        let (op, state) = connect("", version).await;
        state.set_default_activity(false);
        let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        let w = op
            .log_work("2", 2700, when, Some("pairing"))
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(w.seconds, 2700, "{version}");
        // The form lists Management first; no activity is the default here.
        assert_eq!(
            w.comment.as_deref(),
            Some("Management: pairing"),
            "{version}"
        );
        let saved = state.time_entries();
        let last = saved.last().unwrap();
        assert!(
            last["_links"]["activity"]["href"]
                .as_str()
                .is_some_and(|h| h.ends_with("/time_entries/activity/1")),
            "{version}: {last}"
        );
        let hits = state.recorder.lines();
        let posts: Vec<&String> = hits.iter().filter(|h| h.starts_with("POST")).collect();
        assert_eq!(
            posts
                .iter()
                .filter(|h| h.ends_with("/api/v3/time_entries"))
                .count(),
            2,
            "{version}: one refused, one retried: {posts:?}"
        );
        assert_eq!(
            posts
                .iter()
                .filter(|h| h.ends_with("/time_entries/form"))
                .count(),
            1,
            "{version}: {posts:?}"
        );
    }
    // With a default activity the first POST is taken as it is: no form.
    let (op, state) = connect("", "15.5.0").await;
    let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    let w = op.log_work("2", 600, when, None).await.unwrap();
    assert_eq!(w.comment.as_deref(), Some("Development"));
    assert!(
        !state
            .recorder
            .lines()
            .iter()
            .any(|h| h.contains("time_entries/form"))
    );
}

#[tokio::test]
async fn versions_are_sprints() {
    let (op, state) = connect("", "15.5.0").await;
    let all = op
        .list_sprints("demo-project", &[], &page(50))
        .await
        .unwrap();
    let states: Vec<(String, SprintState)> = all
        .items
        .iter()
        .map(|s| (s.name.clone(), s.state))
        .collect();
    assert!(
        states.contains(&("Sprint 1".into(), SprintState::Closed)),
        "{states:?}"
    );
    assert!(
        states.contains(&("Sprint 2".into(), SprintState::Active)),
        "{states:?}"
    );
    assert!(
        states.contains(&("Sprint 3".into(), SprintState::Future)),
        "{states:?}"
    );
    let active = op
        .list_sprints("demo-project", &[SprintState::Active], &page(50))
        .await
        .unwrap();
    assert_eq!(active.items.len(), 1);

    let start = Utc::now() + chrono::Duration::days(30);
    let s = op
        .create_sprint(&NewSprint {
            project: "demo-project".into(),
            name: "Sprint 9".into(),
            start: Some(start),
            end: Some(start + chrono::Duration::days(14)),
            goal: Some("Ship search".into()),
        })
        .await
        .unwrap();
    assert_eq!(s.state, SprintState::Future);
    assert_eq!(s.goal.as_deref(), Some("Ship search"));
    let renamed = op
        .update_sprint(
            &s.id,
            &SprintChange {
                name: Some("Sprint 9b".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Sprint 9b");
    let started = op
        .start_sprint(&s.id, &SprintChange::default())
        .await
        .unwrap();
    assert_eq!(started.state, SprintState::Active);
    let again = op
        .start_sprint(&s.id, &SprintChange::default())
        .await
        .unwrap_err();
    assert!(
        matches!(again.kind(), "bad_input" | "conflict" | "invalid"),
        "starting an active sprint again: {again}"
    );
    let done = op.complete_sprint(&s.id).await.unwrap();
    assert_eq!(done.state, SprintState::Closed);
    assert!(
        state
            .versions()
            .iter()
            .any(|v| v["name"] == "Sprint 9b" && v["status"] == "closed")
    );
    op.delete_sprint(&s.id).await.unwrap();
    assert_eq!(op.get_sprint(&s.id).await.unwrap_err().kind(), "not_found");
}

#[tokio::test]
async fn errors_in_plain_words_and_never_the_key() {
    let state = fake::spawn(fake::Options::new(KEY, "", "13.4.1")).await;
    let url = state.url.clone();
    let wrong = client(&url, "not-the-key-5a5a5a");
    let e = wrong.whoami().await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    assert!(!e.to_string().contains("not-the-key"), "{e}");
    let op = client(&url, KEY);
    // 429 and 503 are retried (GET only) honouring Retry-After.
    state.recorder.fail_next(Failure::status(503));
    assert!(op.get_task("1").await.is_ok());
    state.recorder.fail_next(Failure::status(429).times(5));
    let limited = op.get_task("1").await.unwrap_err();
    assert_eq!(limited.kind(), "rate_limited");
    state.recorder.stop_failing();
    state.recorder.fail_next(Failure::status(403));
    let forbidden = op.get_task("1").await.unwrap_err();
    assert_eq!(forbidden.kind(), "forbidden");
    // Without administrator rights the site hides its version; reading still works.
    state.set_admin(false);
    assert_eq!(op.site().await.unwrap().version, None);
    assert!(op.list_users("", &page(5)).await.unwrap().items.len() >= 3);
    for h in state.recorder.lines().iter() {
        assert!(!h.contains(KEY), "{h}");
    }
}

/// Upstream requests per tool call, measured on a warm client (statuses and schemas known).
#[tokio::test]
async fn upstream_requests_per_call() {
    let (op, state) = connect("", "16.2.0").await;
    // Warm up: the statuses and the story-point schemas of every project are learnt once.
    op.search_tasks(&TaskQuery::default(), &page(100))
        .await
        .unwrap();
    let count = |label: &str, before: usize, state: &Running<fake::Fake>| {
        let n = hits(state) - before;
        eprintln!("upstream requests for {label}: {n}");
        n
    };
    let b = hits(&state);
    op.search_tasks(&all(), &page(50)).await.unwrap();
    let list = count("list_tasks (project, 50)", b, &state);
    let b = hits(&state);
    op.get_sprint("2").await.unwrap();
    op.search_tasks(
        &TaskQuery {
            sprint: Some("2".into()),
            ..Default::default()
        },
        &page(50),
    )
    .await
    .unwrap();
    let sprint = count("get_sprint_tasks", b, &state);
    let b = hits(&state);
    op.search_tasks(
        &TaskQuery {
            assignee: Some(Assignee::Me),
            ..Default::default()
        },
        &page(50),
    )
    .await
    .unwrap();
    let mine = count("list_my_tasks", b, &state);
    assert_eq!((list, sprint, mine), (1, 2, 1));
}

#[tokio::test]
async fn a_projects_vocabulary_comes_from_its_types_the_sites_statuses_and_the_form() {
    let (op, _) = connect("/openproject", "16.2.0").await;
    let v = op.project_vocabulary("demo-project", None).await.unwrap();
    let statuses: Vec<(&str, StatusCategory)> = v
        .statuses
        .iter()
        .map(|s| (s.name.as_str(), s.category))
        .collect();
    assert_eq!(
        statuses,
        [
            ("New", StatusCategory::Todo),
            ("In progress", StatusCategory::InProgress),
            ("Closed", StatusCategory::Done),
            ("On hold", StatusCategory::Todo),
            ("Rejected", StatusCategory::Done)
        ]
    );
    assert_eq!(v.priorities, ["Low", "Normal", "High", "Immediate"]);
    assert!(
        v.notes.iter().any(|n| n == "default priority: Normal"),
        "{:?}",
        v.notes
    );
    let types: Vec<(&str, bool, bool)> = v
        .task_types
        .iter()
        .map(|t| (t.name.as_str(), t.is_epic, t.is_default))
        .collect();
    assert_eq!(
        types,
        [
            ("Task", false, true),
            ("Milestone", false, false),
            ("Phase", false, false),
            ("Feature", false, false),
            ("Epic", true, false),
            ("User story", false, false),
            ("Bug", false, false)
        ]
    );
    assert!(v.transitions.is_none());

    // A new work package is New: the workflow lets it go to In progress, On hold or Rejected.
    let created = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: "Vocabulary".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let v = op
        .project_vocabulary("demo-project", Some(&created.id))
        .await
        .unwrap();
    let moves: Vec<(String, Option<String>)> = v
        .transitions
        .unwrap()
        .into_iter()
        .map(|t| (t.to_status, t.name))
        .collect();
    assert_eq!(
        moves,
        [
            ("In progress".to_string(), None),
            ("On hold".to_string(), None),
            ("Rejected".to_string(), None)
        ]
    );

    match op.project_vocabulary("no-such-project", None).await {
        Err(ProviderError::NotFound { what }) => {
            assert!(what.contains("no-such-project"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    match op.project_vocabulary("demo-project", Some("999999")).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("#999999"), "{what}"),
        other => panic!("{other:?}"),
    }
}

/// OpenProject lists nothing for a version or a work package that does not exist, and refuses a
/// relation to one with "Related work package is invalid.": each is a not-found naming the id,
/// and a list that has items costs no extra request.
#[tokio::test]
async fn unknown_versions_work_packages_and_related_ones_are_not_found() {
    let (op, state) = connect("", "16.2.0").await;
    let in_sprint = |s: &str| TaskQuery {
        sprint: Some(s.into()),
        ..Default::default()
    };
    match op.search_tasks(&in_sprint("999"), &page(10)).await {
        Err(ProviderError::NotFound { what }) => assert_eq!(what, "OpenProject version 999"),
        other => panic!("{other:?}"),
    }
    match op.list_worklogs("999", &page(10)).await {
        Err(ProviderError::NotFound { what }) => {
            assert_eq!(what, "OpenProject work package #999")
        }
        other => panic!("{other:?}"),
    }
    let writes = |state: &Running<fake::Fake>| {
        state
            .recorder
            .lines()
            .iter()
            .filter(|h| h.starts_with("POST"))
            .count()
    };
    match op.link_tasks("2", "999", "relates").await {
        Err(ProviderError::NotFound { what }) => {
            assert_eq!(what, "OpenProject work package #999")
        }
        other => panic!("{other:?}"),
    }
    match op.link_tasks("999", "2", "relates").await {
        Err(ProviderError::NotFound { what }) => {
            assert_eq!(what, "OpenProject work package #999")
        }
        other => panic!("{other:?}"),
    }
    // Refusals about something else are OpenProject's words, as before.
    let same = op.link_tasks("2", "2", "relates").await.unwrap_err();
    assert_eq!(same.kind(), "invalid", "{same}");
    assert_eq!(writes(&state), 3);
    // Lists with items are answered without a look-up.
    let b = hits(&state);
    assert!(
        !op.search_tasks(&in_sprint("2"), &page(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        !op.list_worklogs("2", &page(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let looked: Vec<String> = state
        .recorder
        .lines_since(b)
        .iter()
        .filter(|h| {
            h.contains("/versions/")
                || h.contains("/work_packages/2 ")
                || h.ends_with("/work_packages/2")
        })
        .cloned()
        .collect();
    assert!(looked.is_empty(), "{looked:?}");
}

/// A project's status is OpenProject's project status link; an unknown one is refused before
/// anything is written.
#[tokio::test]
async fn a_project_status_is_set_through_its_link() {
    let (op, state) = connect("", "16.2.0").await;
    assert!(op.project_statuses().contains(&"at_risk"));
    op.update_project_status("demo-project", "at_risk")
        .await
        .unwrap();
    let status = |state: &Running<fake::Fake>| {
        state
            .projects()
            .iter()
            .find(|p| p["identifier"] == "demo-project")
            .map(|p| p["_links"]["status"]["href"].clone())
            .unwrap()
    };
    assert_eq!(status(&state), "/api/v3/project_statuses/at_risk");
    let bad = op
        .update_project_status("demo-project", "sideways")
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), "bad_input");
    assert_eq!(status(&state), "/api/v3/project_statuses/at_risk");
}

/// Issue 21 point 18: a German account reads activities in German ("Status geändert von Neu zu
/// In Bearbeitung", "Version wurde auf Sprint 2 gesetzt", "Story-Punkte geändert von 3 zu 5"),
/// aggregated (one user's changes within minutes are one journal); the history finds the status,
/// version and story-points changes all the same.
#[tokio::test]
async fn history_is_read_from_german_activities() {
    let (op, state) = connect("/openproject", "15.5.0").await;
    state.set_german(true);
    // #37: New, 3 story points, in no version; #26: in Sprint 3.
    op.update_task(
        "37",
        &TaskChange {
            sprint: Some("2".into()),
            story_points: Some(5.0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    op.transition_task("37", "In Bearbeitung").await.unwrap();
    op.transition_task("37", "Geschlossen").await.unwrap();
    op.update_task(
        "26",
        &TaskChange {
            sprint: Some("2".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Three changes by one user within minutes: one journal, from before the first to after the last.
    let acts = state.activities(37);
    let last = acts.last().unwrap();
    let raw: Vec<&str> = last["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["raw"].as_str().unwrap())
        .collect();
    assert!(
        raw.contains(&"Status geändert von Neu zu Geschlossen"),
        "{raw:?}"
    );
    assert!(
        raw.contains(&"Version wurde auf Sprint 2 gesetzt"),
        "{raw:?}"
    );
    assert!(raw.contains(&"Story-Punkte geändert von 3 zu 5"), "{raw:?}");

    let h = op.sprint_history("2", 100).await.unwrap();
    let item = |id: &str| h.items.iter().find(|i| i.id == id).unwrap();
    let w = item("37");
    assert_eq!(w.status.name, "Geschlossen");
    assert_eq!(w.status.category, StatusCategory::Done);
    let moves: Vec<(Option<&str>, &str)> = w
        .status_changes
        .iter()
        .map(|c| (c.from.as_ref().map(|s| s.name.as_str()), c.to.name.as_str()))
        .collect();
    assert_eq!(moves, vec![(Some("Neu"), "Geschlossen")]);
    assert_eq!(w.status_changes[0].to.category, StatusCategory::Done);
    assert_eq!(w.sprint_moves.len(), 1, "{:?}", w.sprint_moves);
    assert!(w.sprint_moves[0].added && w.sprint_moves[0].sprint_id == "2");
    let points: Vec<(Option<f64>, Option<f64>)> =
        w.points_changes.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(points, vec![(Some(3.0), Some(5.0))]);
    // Moved in from Sprint 3: "Version geändert von Sprint 3 zu Sprint 2".
    let moved = item("26");
    assert_eq!(moved.sprint_moves.len(), 1, "{:?}", moved.sprint_moves);
    assert!(moved.sprint_moves[0].added);
    assert!(
        !h.source.history.contains("not read"),
        "{}",
        h.source.history
    );
}

/// Issue 21 point 17: a project's versions list shares other projects' versions too; only its own
/// are its sprints. A locked version is running (closed to new work packages only); an open one
/// without dates is a backlog, not a sprint. Milestones carry `date`, not `startDate`/`dueDate`.
#[tokio::test]
async fn versions_as_sprints_are_the_projects_own_and_milestones_have_one_date() {
    let (op, state) = connect("", "15.5.0").await;
    let names = |p: &pm_core::Page<pm_core::Sprint>| -> Vec<(String, SprintState)> {
        let mut v: Vec<(String, SprintState)> =
            p.items.iter().map(|s| (s.name.clone(), s.state)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    // "Company release" of project-03 is shared with every project: not demo's sprint.
    let demo = op
        .list_sprints("demo-project", &[], &page(50))
        .await
        .unwrap();
    assert_eq!(
        names(&demo),
        vec![
            ("Sprint 1".into(), SprintState::Closed),
            ("Sprint 2".into(), SprintState::Active),
            ("Sprint 3".into(), SprintState::Future),
        ]
    );
    let own = op.list_sprints("project-03", &[], &page(50)).await.unwrap();
    assert_eq!(
        names(&own),
        vec![
            ("Company release".into(), SprintState::Active),
            ("Hotfix 1.1".into(), SprintState::Active),
        ],
        "the locked version runs; the backlog without dates is no sprint"
    );
    let active = op
        .list_sprints("project-03", &[SprintState::Active], &page(50))
        .await
        .unwrap();
    assert_eq!(active.items.len(), 2);
    assert_eq!(op.get_sprint("6").await.unwrap().state, SprintState::Active);
    assert_ne!(op.get_sprint("7").await.unwrap().state, SprintState::Active);

    // #40 is a milestone: one date, read and written as `date`.
    let date = state.work_package(40).unwrap()["date"]
        .as_str()
        .unwrap()
        .to_string();
    let m = op.get_task("40").await.unwrap();
    assert_eq!(
        m.due_date.map(|d| d.to_string()).as_deref(),
        Some(date.as_str())
    );
    let new_date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let moved = op
        .update_task(
            "40",
            &TaskChange {
                due_date: Some(new_date),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.due_date, Some(new_date));
    assert_eq!(state.work_package(40).unwrap()["date"], "2027-03-01");
    let created = op
        .create_task(&NewTask {
            project: "demo-project".into(),
            title: "Go live".into(),
            task_type: Some("Milestone".into()),
            due_date: Some(new_date),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.due_date, Some(new_date));
    let w = state.work_package(created.id.parse().unwrap()).unwrap();
    assert_eq!(w["date"], "2027-03-01", "{w}");
}

fn client_with(url: &str, config: Value) -> Arc<dyn Provider> {
    try_client_with(url, config).unwrap()
}

fn try_client_with(url: &str, config: Value) -> Result<Arc<dyn Provider>, pm_core::ProviderError> {
    let settings = HttpSettings {
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        max_concurrency_per_connection: 4,
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    let options: pm_core::ConnectionOptions = serde_json::from_value(config.clone())
        .map_err(|e| pm_core::ProviderError::BadInput(e.to_string()))?;
    let spec = pm_core::ConnectionSpec::stored(
        ProviderKind::OpenProject,
        BaseUrl::parse(url, true).unwrap(),
        AuthKind::ApiKey,
        None,
        pm_core::Secret::new(KEY),
        options,
    )
    .map_err(|e| pm_core::ProviderError::BadInput(e.0))?;
    pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &spec,
        settings,
    )
}

/// Issue 21 point 19: OpenProject mails every watcher, the author and the assignee of each
/// change unless the request says `notify=false`. A single change tells them as OpenProject
/// would; a bulk change does not; the connection option `notify` (true or false) decides for both.
#[tokio::test]
async fn watchers_are_mailed_as_the_connection_says_and_not_for_bulk_changes() {
    let state = fake::spawn(fake::Options::new(KEY, "/openproject", "15.5.0")).await;
    let url = state.url.clone();
    let title = |t: &str| TaskChange {
        title: Some(t.into()),
        ..Default::default()
    };
    let told = |wp: u64| -> usize { state.mails().iter().filter(|m| m.0 == wp).count() };
    let op = client(&url, KEY);
    op.add_comment("1", "Looks good").await.unwrap();
    assert!(told(1) > 0, "a single change tells the watchers");
    let before = state.mails().len();
    let bulk = op.for_bulk().unwrap_or_else(|| op.clone());
    bulk.update_task("1", &title("Quietly renamed"))
        .await
        .unwrap();
    bulk.transition_task("1", "In progress").await.unwrap();
    assert_eq!(
        state.mails().len(),
        before,
        "a bulk change mails nobody: {:?}",
        state.mails()
    );
    assert_eq!(state.work_package(1).unwrap()["subject"], "Quietly renamed");

    let quiet = client_with(&url, serde_json::json!({ "notify": "false" }));
    quiet.update_task("2", &title("Renamed")).await.unwrap();
    quiet.add_comment("2", "Noted").await.unwrap();
    assert_eq!(told(2), 0, "notify false: nobody is told");

    let loud = client_with(&url, serde_json::json!({ "notify": "true" }));
    let loud_bulk = loud.for_bulk().unwrap_or_else(|| loud.clone());
    loud_bulk.update_task("3", &title("Renamed")).await.unwrap();
    assert!(told(3) > 0, "notify true: bulk changes tell them too");

    let wrong = try_client_with(&url, serde_json::json!({ "notify": "sometimes" }));
    let e = wrong
        .err()
        .expect("notify must be true or false")
        .to_string();
    assert!(e.contains("notify") && e.contains("true"), "{e}");
}

/// Issue 21 point 19: an activity's author link has no title (the spec's own examples); comment
/// authors are named from the users they link to (read once each), and one that cannot be read is
/// named in words.
#[tokio::test]
async fn comment_authors_are_named_though_their_links_have_no_title() {
    let (op, state) = connect("/openproject", "16.2.0").await;
    let comments = op.list_comments("2", &page(10)).await.unwrap();
    let authors: Vec<(String, String)> = comments
        .items
        .iter()
        .map(|c| {
            let a = c.author.clone().unwrap();
            (a.id, a.name)
        })
        .collect();
    assert_eq!(
        authors,
        vec![
            ("5".to_string(), "Mia Krystof".to_string()),
            ("6".to_string(), "Jonas Weber".to_string())
        ]
    );
    let added = op.add_comment("2", "Me again").await.unwrap();
    assert_eq!(added.author.unwrap().name, "Mia Krystof");
    // Each user is read once.
    let b = hits(&state);
    op.list_comments("2", &page(10)).await.unwrap();
    assert_eq!(hits(&state) - b, 1, "{:?}", &state.recorder.lines_since(b));
}
