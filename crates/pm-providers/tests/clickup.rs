#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code
//! The ClickUp client against pm-testkit's fake ClickUp (bodies from the official spec's
//! examples, `page`/`last_page` paging, `{"err","ECODE"}` errors, 401/404/429, state for writes).
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use pm_core::{
    Assignee, AuthKind, BaseUrl, NewSprint, NewTask, PageRequest, Provider, ProviderError,
    ProviderKind, SprintChange, SprintState, StatusCategory, Task, TaskChange, TaskQuery,
};
use pm_providers::HttpSettings;
use pm_testkit::fake::{Failure, Running};
use pm_testkit::fake_clickup::{
    BACKLOG, EMPTY_SPACE, Fake, JANE, ME, OTHER_TEAM, Options, SPACE, SPRINT_NEXT, SPRINT_NOW,
    TEAM, spawn,
};

const TOKEN: &str = "pk_4242_SECRETSECRETSECRET";

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(5),
        max_attempts: 2,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    }
}

fn client(base: &str, token: &str, workspace: Option<&str>) -> Arc<dyn Provider> {
    let http = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(base, true).unwrap();
    pm_providers::connect(
        http,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::ClickUp,
            (url).clone(),
            AuthKind::ApiKey,
            None,
            pm_core::Secret::new(token),
            pm_core::ConnectionOptions {
                workspace_id: workspace.map(|w| w.parse().expect("workspace id")),
                ..Default::default()
            },
        )
        .expect("spec"),
        settings(),
    )
    .unwrap()
}

/// `None` (skipped in one line) without the providers' published specs.
async fn setup() -> Option<(Arc<dyn Provider>, Running<Fake>)> {
    let fake = spawn(Options::token(TOKEN)).await?;
    Some((client(&fake.url, TOKEN, None), fake))
}

/// The next request whose line (`METHOD /api/v2/…`) starts with `line` is refused with
/// `status` and ClickUp's error body with these words.
fn refuse_next(fake: &Running<Fake>, line: &str, status: u16, err: &str, code: &str) {
    let (method, path) = line.split_once(' ').expect("METHOD /path");
    fake.recorder.fail_next(
        Failure::status(status)
            .said(err, Some(code))
            .on(Some(method), path),
    );
}

fn page(limit: u32) -> PageRequest {
    PageRequest::new(None, Some(limit))
}

/// Every task of a query, following cursors.
async fn all_tasks(p: &dyn Provider, q: &TaskQuery, limit: u32) -> Vec<Task> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let pg = p
            .search_tasks(q, &PageRequest::new(cursor, Some(limit)))
            .await
            .unwrap();
        assert!(pg.items.len() <= limit as usize);
        out.extend(pg.items);
        match pg.next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn no_secret(e: &ProviderError) {
    let text = e.to_string();
    assert!(!text.contains(TOKEN) && !text.contains("SECRET"), "{text}");
}

#[tokio::test]
async fn identity_site_and_the_one_workspace_come_from_clickup() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let me = cu.whoami().await.unwrap();
    assert_eq!((me.id.as_str(), me.name.as_str()), ("123", "John Doe"));
    assert_eq!(me.email.as_deref(), Some("user@company.com"));
    let site = cu.site().await.unwrap();
    assert_eq!(site.workspace_id.as_deref(), Some(TEAM));
    assert!(site.product.contains("Acme"), "{}", site.product);
    assert!(site.base_url.ends_with("/api"), "{}", site.base_url);
    let log = fake.recorder.lines();
    assert_eq!(log, vec!["GET /api/v2/user", "GET /api/v2/team"]);
    // The identity and the workspace are read once per client.
    cu.whoami().await.unwrap();
    cu.site().await.unwrap();
    assert_eq!(fake.recorder.len(), 2);
}

#[tokio::test]
async fn a_bad_token_and_another_workspace_are_refused_plainly() {
    let Some(Running { url: base, .. }) = spawn(Options::token(TOKEN)).await else {
        return;
    };
    let err = client(&base, "pk_wrong_SECRET", None)
        .whoami()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert!(
        err.to_string().contains("Token invalid (OAUTH_025)"),
        "{err}"
    );
    no_secret(&err);

    let other = client(&base, TOKEN, Some(OTHER_TEAM));
    let err = other.list_projects(&page(10)).await.unwrap_err();
    assert_eq!(err.kind(), "forbidden");
    let text = err.to_string();
    assert!(
        text.contains("does not belong to workspace 9002") && text.contains("Acme (9001)"),
        "{text}"
    );
    no_secret(&err);
    let site = other.site().await.unwrap_err();
    assert_eq!(site.kind(), "forbidden");

    let given = client(&base, TOKEN, Some(TEAM));
    assert_eq!(given.list_projects(&page(10)).await.unwrap().items.len(), 2);

    // A workspace that is not a number is refused before any client is built.
    let bad = "acme"
        .parse::<pm_core::WorkspaceId>()
        .expect_err("not a workspace id");
    assert!(bad.0.contains("not a ClickUp workspace id"), "{bad}");
}

#[tokio::test]
async fn spaces_are_projects() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let first = cu.list_projects(&page(1)).await.unwrap();
    assert_eq!(first.items[0].id, SPACE);
    assert_eq!(first.items[0].name, "Product");
    assert_eq!(
        first.items[0].url.as_deref(),
        Some("https://app.clickup.com/9001/v/s/790")
    );
    let second = cu
        .list_projects(&PageRequest::new(first.next, Some(1)))
        .await
        .unwrap();
    assert_eq!(second.items[0].name, "Marketing");
    assert!(second.next.is_none());
    let found = cu.search_projects("prod", &page(10)).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(cu.get_project(SPACE).await.unwrap().name, "Product");
    let missing = cu.get_project("999").await.unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    assert!(
        missing.to_string().contains("ClickUp space (project) 999"),
        "{missing}"
    );
    assert_eq!(
        cu.get_project("../team").await.unwrap_err().kind(),
        "bad_input"
    );

    let made = cu.create_project("Mobile", None, None).await.unwrap();
    assert_eq!(made.name, "Mobile");
    let keyed = cu.create_project("X", Some("X"), None).await.unwrap_err();
    assert!(keyed.to_string().contains("no key"), "{keyed}");
    let clash = cu.create_project("mobile", None, None).await.unwrap_err();
    assert!(
        clash.to_string().contains("already exists (PROJ_006)"),
        "{clash}"
    );
    let renamed = cu
        .update_project(&made.id, Some("Mobile App"), None)
        .await
        .unwrap();
    assert_eq!(renamed.name, "Mobile App");
    cu.delete_project(&made.id).await.unwrap();
    assert_eq!(fake.spaces.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn tasks_page_across_clickup_pages_without_loss() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    fake.page_size.store(5, Ordering::SeqCst);
    let q = TaskQuery {
        project: Some(SPACE.into()),
        ..Default::default()
    };
    let before = fake.recorder.len();
    let all = all_tasks(cu.as_ref(), &q, 3).await;
    let ids: BTreeSet<&str> = all.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(all.len(), 12, "closed tasks included");
    assert_eq!(ids.len(), 12, "no task twice");
    assert!(
        all.iter()
            .any(|t| t.status.category == StatusCategory::Done)
    );
    let pages: Vec<String> = fake
        .recorder
        .lines_since(before)
        .into_iter()
        .filter(|r| r.starts_with("GET /api/v2/team/9001/task"))
        .collect();
    assert!(
        pages
            .iter()
            .all(|r| r.contains("include_closed=true") && r.contains("space_ids%5B%5D=790"))
    );
    for n in 0..3 {
        assert!(
            pages.iter().any(|r| r.contains(&format!("page={n}"))),
            "{pages:?}"
        );
    }
    let t = &all[0];
    assert_eq!(t.project_id.as_deref(), Some(SPACE));
    assert_eq!(t.story_points, Some(2.0));
    assert_eq!(t.description.as_deref(), Some("Details of **task 1**"));
    let bad = cu
        .search_tasks(&q, &PageRequest::new(Some("o:3".into()), None))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), "bad_input");
}

#[tokio::test]
async fn tasks_by_status_assignee_sprint_and_text() {
    let Some((cu, _fake)) = setup().await else {
        return;
    };
    let q = |f: fn(&mut TaskQuery)| {
        let mut q = TaskQuery {
            project: Some(SPACE.into()),
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let open = all_tasks(
        cu.as_ref(),
        &q(|q| q.statuses = vec!["In Progress".into(), "review".into()]),
        50,
    )
    .await;
    assert_eq!(open.len(), 6);
    assert!(
        open.iter()
            .all(|t| t.status.category == StatusCategory::InProgress)
    );
    let unknown = cu
        .search_tasks(&q(|q| q.statuses = vec!["Doing".into()]), &page(10))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), "bad_input");
    assert!(
        unknown
            .to_string()
            .contains("has no status \"Doing\"; it has: to do, in progress, review, complete"),
        "{unknown}"
    );
    let mine = all_tasks(cu.as_ref(), &q(|q| q.assignee = Some(Assignee::Me)), 50).await;
    assert_eq!(mine.len(), 6);
    assert!(
        mine.iter()
            .all(|t| t.assignee.as_ref().is_some_and(|a| a.id == ME.to_string()))
    );
    let nobody = all_tasks(cu.as_ref(), &q(|q| q.assignee = Some(Assignee::Nobody)), 50).await;
    assert_eq!(nobody.len(), 6);
    assert!(nobody.iter().all(|t| t.assignee.is_none()));
    let text = all_tasks(cu.as_ref(), &q(|q| q.text = Some("TASK 11".into())), 50).await;
    assert_eq!(text.len(), 1);
    let sprint = TaskQuery {
        sprint: Some(SPRINT_NOW.into()),
        ..Default::default()
    };
    assert_eq!(all_tasks(cu.as_ref(), &sprint, 4).await.len(), 6);
    let in_sprint_unknown = cu
        .search_tasks(
            &TaskQuery {
                statuses: vec!["Shipped".into()],
                ..sprint.clone()
            },
            &page(10),
        )
        .await
        .unwrap_err();
    assert!(
        in_sprint_unknown
            .to_string()
            .contains("list \"Sprint 7\" (202) has no status \"Shipped\""),
        "{in_sprint_unknown}"
    );
    let no_sprint = cu
        .search_tasks(
            &TaskQuery {
                sprint: Some("777".into()),
                ..Default::default()
            },
            &page(10),
        )
        .await
        .unwrap_err();
    assert_eq!(no_sprint.kind(), "not_found");
    assert!(
        no_sprint.to_string().contains("ClickUp list 777"),
        "{no_sprint}"
    );
}

#[tokio::test]
async fn tasks_are_created_changed_moved_and_deleted() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let created = cu
        .create_task(&NewTask {
            project: SPACE.into(),
            title: "Checkout fails".into(),
            description: Some("## Steps\n\n1. pay".into()),
            priority: Some("High".into()),
            due_date: NaiveDate::from_ymd_opt(2026, 12, 24),
            labels: vec!["web".into()],
            assignee: Some(JANE.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.status.name, "to do");
    assert_eq!(created.priority.as_deref(), Some("high"));
    assert_eq!(created.due_date, NaiveDate::from_ymd_opt(2026, 12, 24));
    assert_eq!(created.labels, vec!["web"]);
    assert_eq!(
        created.assignee.as_ref().map(|a| a.name.as_str()),
        Some("Jane Doe")
    );
    assert_eq!(created.description.as_deref(), Some("## Steps\n\n1. pay"));
    assert_eq!(created.task_type.as_deref(), Some("Task"));
    let home = fake.tasks.lock().unwrap().last().unwrap().list.clone();
    assert_eq!(home, BACKLOG, "a space's task goes to its folderless list");

    let nowhere = cu
        .create_task(&NewTask {
            project: EMPTY_SPACE.into(),
            title: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(nowhere.to_string().contains("has no list"), "{nowhere}");
    let bad_priority = cu
        .create_task(&NewTask {
            project: SPACE.into(),
            title: "x".into(),
            priority: Some("Blocker".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        bad_priority.to_string().contains("urgent (1)"),
        "{bad_priority}"
    );
    let bad_type = cu
        .create_task(&NewTask {
            project: SPACE.into(),
            title: "x".into(),
            task_type: Some("Story".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        bad_type.to_string().contains("it has: Task, Bug, Epic"),
        "{bad_type}"
    );

    let changed = cu
        .update_task(
            &created.id,
            &TaskChange {
                title: Some("Checkout fails on Safari".into()),
                story_points: Some(5.0),
                labels: Some(vec!["safari".into()]),
                assignee: Some(Some(ME.to_string())),
                sprint: Some(SPRINT_NOW.into()),
                estimated_hours: Some(1.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.title, "Checkout fails on Safari");
    // ClickUp has no remaining work: refused, and the title given with it is not written.
    let remaining = cu
        .update_task(
            &created.id,
            &TaskChange {
                title: Some("never saved".into()),
                remaining_hours: Some(2.0),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(remaining, pm_core::ProviderError::Unsupported { .. }),
        "{remaining}"
    );
    assert_eq!(
        cu.get_task(&created.id).await.unwrap().title,
        "Checkout fails on Safari"
    );
    assert_eq!(
        changed.story_points,
        Some(5.0),
        "written to the list's Story Points field"
    );
    assert_eq!(changed.labels, vec!["safari"]);
    assert_eq!(
        changed.assignee.as_ref().map(|a| a.id.as_str()),
        Some("123")
    );
    let t = fake.tasks.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        (t.assignees.clone(), t.story_field, t.time_estimate),
        (vec![ME], Some(5.0), Some(5_400_000))
    );
    assert!(t.also_in.contains(&SPRINT_NOW.to_string()));

    let moved = cu
        .transition_task(&created.id, "In Progress")
        .await
        .unwrap();
    assert_eq!(moved.status.category, StatusCategory::InProgress);
    let nope = cu.transition_task(&created.id, "Doing").await.unwrap_err();
    assert!(
        nope.to_string().contains("list \"Backlog\" (124) has no status \"Doing\"; it has: to do, in progress, review, complete"),
        "{nope}"
    );
    let done = cu.transition_task(&created.id, "COMPLETE").await.unwrap();
    assert_eq!(done.status.category, StatusCategory::Done);

    cu.assign_task(&created.id, None).await.unwrap();
    assert!(cu.get_task(&created.id).await.unwrap().assignee.is_none());
    cu.add_watcher(&created.id, &JANE.to_string())
        .await
        .unwrap();
    assert!(
        fake.tasks
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .watchers
            .contains(&JANE)
    );

    cu.link_tasks(&created.id, "86b02", "relates")
        .await
        .unwrap();
    cu.link_tasks(&created.id, "86b03", "Blocks").await.unwrap();
    cu.link_tasks(&created.id, "86b04", "blocked by")
        .await
        .unwrap();
    let tasks = fake.tasks.lock().unwrap().clone();
    let me = tasks.iter().find(|t| t.id == created.id).unwrap();
    assert_eq!(me.links, vec!["86b02"]);
    assert_eq!(me.depends_on, vec!["86b04"]);
    let blocked = tasks.iter().find(|t| t.id == "86b03").unwrap();
    assert_eq!(blocked.depends_on, vec![created.id.clone()]);
    let bad_link = cu
        .link_tasks(&created.id, "86b02", "Befriends")
        .await
        .unwrap_err();
    assert!(bad_link.to_string().contains("Befriends"), "{bad_link}");

    cu.delete_task(&created.id).await.unwrap();
    let gone = cu.get_task(&created.id).await.unwrap_err();
    assert_eq!(gone.kind(), "not_found");
    assert!(gone.to_string().contains(&created.id), "{gone}");
    assert_eq!(
        cu.get_task("9hx/../x").await.unwrap_err().kind(),
        "bad_input"
    );
}

#[tokio::test]
async fn comments_page_backwards_and_time_is_logged() {
    let Some((cu, _fake)) = setup().await else {
        return;
    };
    for i in 0..30 {
        cu.add_comment("86b01", &format!("note {i}")).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let pg = cu
            .list_comments("86b01", &PageRequest::new(cursor, Some(10)))
            .await
            .unwrap();
        seen.extend(pg.items.into_iter().map(|c| c.body));
        match pg.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    assert_eq!(seen[0], "note 29", "newest first");
    assert_eq!(seen[29], "note 0");
    let c = cu.add_comment("86b01", "Looks **good**").await.unwrap();
    assert_eq!(c.body, "Looks **good**");
    assert_eq!(c.author.unwrap().name, "John Doe");
    assert_eq!(
        cu.add_comment("86b01", "  ").await.unwrap_err().kind(),
        "bad_input"
    );
    assert_eq!(
        cu.add_comment("zzz", "x").await.unwrap_err().kind(),
        "not_found"
    );

    let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    let w = cu
        .log_work("86b01", 5400, when, Some("debugging"))
        .await
        .unwrap();
    assert_eq!((w.seconds, w.comment.as_deref()), (5400, Some("debugging")));
    assert!(!w.id.is_empty());
    assert_eq!(w.started_at, Some(when));
    let logs = cu.list_worklogs("86b01", &page(10)).await.unwrap();
    assert_eq!(logs.items.len(), 1);
    assert_eq!(logs.items[0].id, w.id);
    assert_eq!(logs.items[0].seconds, 5400);
    assert_eq!(logs.items[0].author.as_ref().unwrap().id, "123");
    let missing = cu.log_work("86zz", 60, when, None).await.unwrap_err();
    assert_eq!(missing.kind(), "not_found");
}

#[tokio::test]
async fn sprints_are_the_lists_of_the_sprint_folder() {
    let Some((cu, _fake)) = setup().await else {
        return;
    };
    let all = cu.list_sprints(SPACE, &[], &page(10)).await.unwrap();
    let states: Vec<(String, SprintState)> = all
        .items
        .iter()
        .map(|s| (s.name.clone(), s.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("Sprint 6".into(), SprintState::Closed),
            ("Sprint 7".into(), SprintState::Active),
            ("Sprint 8".into(), SprintState::Future)
        ]
    );
    let active = cu
        .list_sprints(SPACE, &[SprintState::Active], &page(10))
        .await
        .unwrap();
    assert_eq!(active.items[0].id, SPRINT_NOW);
    assert_eq!(active.items[0].goal.as_deref(), Some("Fix checkout"));
    let none = cu
        .list_sprints(EMPTY_SPACE, &[], &page(10))
        .await
        .unwrap_err();
    assert!(none.to_string().contains("no sprint folder"), "{none}");
    assert_eq!(
        cu.get_sprint(SPRINT_NEXT).await.unwrap().state,
        SprintState::Future
    );

    let when = Utc::now() + chrono::Duration::days(30);
    let dated = cu
        .create_sprint(&NewSprint {
            project: SPACE.into(),
            name: "Sprint 9".into(),
            start: Some(when),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(dated.to_string().contains("start date"), "{dated}");
    let made = cu
        .create_sprint(&NewSprint {
            project: SPACE.into(),
            name: "Sprint 9".into(),
            end: Some(when),
            goal: Some("Payments".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (made.state, made.goal.as_deref()),
        (SprintState::Future, Some("Payments"))
    );
    let renamed = cu
        .update_sprint(
            &made.id,
            &SprintChange {
                name: Some("Sprint 9 (payments)".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Sprint 9 (payments)");
    assert_eq!(
        renamed.end_date.map(|d| d.timestamp()),
        Some(when.timestamp())
    );
    for e in [
        cu.start_sprint(&made.id, &SprintChange::default())
            .await
            .unwrap_err(),
        cu.complete_sprint(&made.id).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), "unsupported");
        assert!(e.to_string().contains("ClickUp"), "{e}");
    }
    cu.delete_sprint(&made.id).await.unwrap();
    assert_eq!(
        cu.get_sprint(&made.id).await.unwrap_err().kind(),
        "not_found"
    );
}

#[tokio::test]
async fn people_and_epics() {
    let Some((cu, _fake)) = setup().await else {
        return;
    };
    let jane = cu.list_users("jane", &page(10)).await.unwrap();
    assert_eq!(jane.items.len(), 1);
    assert_eq!(jane.items[0].id, JANE.to_string());
    assert_eq!(cu.list_users("", &page(10)).await.unwrap().items.len(), 2);
    assert_eq!(
        cu.get_user("813").await.unwrap().email.as_deref(),
        Some("jane@example.com")
    );
    assert_eq!(cu.get_user("555").await.unwrap_err().kind(), "not_found");

    assert!(
        cu.list_epics(SPACE, &page(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let epic = cu
        .create_task(&NewTask {
            project: SPACE.into(),
            title: "Payments revamp".into(),
            task_type: Some("Epic".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(epic.task_type.as_deref(), Some("Epic"));
    let epics = cu.list_epics(SPACE, &page(10)).await.unwrap();
    assert_eq!(epics.items.len(), 1);
    assert_eq!(epics.items[0].id, epic.id);
    cu.set_epic("86b01", Some(&epic.id)).await.unwrap();
    assert_eq!(
        cu.get_task("86b01").await.unwrap().parent_id,
        Some(epic.id.clone())
    );
    assert_eq!(
        cu.set_epic("86b01", None).await.unwrap_err().kind(),
        "unsupported"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_from_x_ratelimit_reset() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    cu.whoami().await.unwrap();
    cu.site().await.unwrap();
    // One 429 (with X-RateLimit-Reset a second ahead) on a read: waited out and retried.
    fake.recorder.fail_next(Failure::status(429));
    let before = fake.recorder.len();
    let started = std::time::Instant::now();
    assert_eq!(cu.get_project(SPACE).await.unwrap().name, "Product");
    assert_eq!(fake.recorder.len() - before, 2);
    assert!(started.elapsed() <= Duration::from_secs(3));
    // More than the client retries: a clear rate-limit error with the wait.
    fake.recorder.fail_next(Failure::status(429).times(5));
    let err = cu.get_project(SPACE).await.unwrap_err();
    match &err {
        ProviderError::RateLimited { retry_after, .. } => {
            assert!(
                retry_after.is_some_and(|d| d <= Duration::from_secs(2)),
                "{retry_after:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Writes are never retried.
    fake.recorder.fail_next(Failure::status(429));
    let before = fake.recorder.len();
    let w = cu.add_comment("86b01", "x").await.unwrap_err();
    assert_eq!(w.kind(), "rate_limited");
    assert_eq!(fake.recorder.len() - before, 1);
    fake.recorder.stop_failing();
}

#[tokio::test]
async fn every_request_carries_the_token_and_no_error_shows_it() {
    let Some((cu, _fake)) = setup().await else {
        return;
    };
    let errors = vec![
        cu.get_task("nope1").await.unwrap_err(),
        cu.get_project("4242").await.unwrap_err(),
        cu.transition_task("86b01", "Nope").await.unwrap_err(),
        cu.get_sprint("4242").await.unwrap_err(),
        cu.list_worklogs("nope2", &page(5)).await.unwrap_err(),
    ];
    for e in &errors {
        no_secret(e);
    }
}

/// Upstream requests per tool call, as the tools call the provider (printed for the report):
/// list_tasks → search_tasks(project); get_sprint_tasks → get_sprint + search_tasks(sprint);
/// list_my_tasks → search_tasks(assignee me). The client is cached per connection, so the
/// identity and workspace lookups are paid once; both the first and a later call are measured.
#[tokio::test]
async fn upstream_requests_per_tool_call() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let project = TaskQuery {
        project: Some(SPACE.into()),
        ..Default::default()
    };
    let sprint = TaskQuery {
        sprint: Some(SPRINT_NOW.into()),
        ..Default::default()
    };
    let mine = TaskQuery {
        assignee: Some(Assignee::Me),
        ..Default::default()
    };
    let mut report = Vec::new();
    for round in ["first call", "later call"] {
        let n = fake.recorder.len();
        cu.search_tasks(&project, &page(50)).await.unwrap();
        let list_tasks = fake.recorder.lines_since(n);
        let n = fake.recorder.len();
        cu.get_sprint(SPRINT_NOW).await.unwrap();
        cu.search_tasks(&sprint, &page(50)).await.unwrap();
        let sprint_tasks = fake.recorder.lines_since(n);
        let n = fake.recorder.len();
        cu.search_tasks(&mine, &page(50)).await.unwrap();
        let my_tasks = fake.recorder.lines_since(n);
        for (tool, reqs) in [
            ("list_tasks", &list_tasks),
            ("get_sprint_tasks", &sprint_tasks),
            ("list_my_tasks", &my_tasks),
        ] {
            eprintln!("{round}: {tool}: {} request(s): {reqs:?}", reqs.len());
            report.push((round, tool, reqs.len()));
        }
    }
    assert_eq!(
        report,
        vec![
            ("first call", "list_tasks", 2),
            ("first call", "get_sprint_tasks", 2),
            ("first call", "list_my_tasks", 2),
            ("later call", "list_tasks", 1),
            ("later call", "get_sprint_tasks", 2),
            ("later call", "list_my_tasks", 1),
        ]
    );
    // With a status filter, the list's or space's statuses are read to check the names.
    let n = fake.recorder.len();
    cu.search_tasks(
        &TaskQuery {
            statuses: vec!["to do".into()],
            ..project
        },
        &page(50),
    )
    .await
    .unwrap();
    assert_eq!(fake.recorder.len() - n, 2);
}

#[tokio::test]
async fn a_spaces_vocabulary_is_its_statuses_the_fixed_priorities_and_the_task_types() {
    let Some((p, _)) = setup().await else {
        return;
    };
    let v = p.project_vocabulary(SPACE, None).await.unwrap();
    let statuses: Vec<(&str, StatusCategory)> = v
        .statuses
        .iter()
        .map(|s| (s.name.as_str(), s.category))
        .collect();
    assert_eq!(
        statuses,
        [
            ("to do", StatusCategory::Todo),
            ("in progress", StatusCategory::InProgress),
            ("review", StatusCategory::InProgress),
            ("complete", StatusCategory::Done)
        ]
    );
    assert_eq!(v.priorities, ["urgent", "high", "normal", "low"]);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("urgent, high, normal, low are fixed")),
        "{:?}",
        v.notes
    );
    // ClickUp's own Task first (the default), then the workspace's custom task types.
    assert_eq!(v.task_types[0].name, "Task");
    assert!(v.task_types[0].is_default && !v.task_types[0].is_epic);
    let epic: Vec<&str> = v
        .task_types
        .iter()
        .filter(|t| t.is_epic)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(epic, ["Epic"]);
    assert!(
        v.task_types
            .iter()
            .any(|t| t.name == "Bug" && !t.is_default)
    );
    assert!(v.transitions.is_none());

    // No workflow: a task can take any other status of its list (86b01 is "in progress").
    let v = p.project_vocabulary(SPACE, Some("86b01")).await.unwrap();
    let moves: Vec<(String, Option<String>)> = v
        .transitions
        .unwrap()
        .into_iter()
        .map(|t| (t.to_status, t.name))
        .collect();
    assert_eq!(
        moves,
        [
            ("to do".to_string(), None),
            ("review".to_string(), None),
            ("complete".to_string(), None)
        ]
    );
    assert!(
        v.notes.iter().any(|n| n.contains("no workflow")),
        "{:?}",
        v.notes
    );

    match p.project_vocabulary("999999", None).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("999999"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.project_vocabulary("not-a-space", None).await,
        Err(ProviderError::BadInput(_))
    ));
}

/// ClickUp's team task list filtered by a space that does not exist is empty, not an error: an
/// empty answer looks the space up (once per connection) and a missing one is a not-found naming
/// it; a space with tasks costs no extra request, and an empty space is an empty list.
#[tokio::test]
async fn an_unknown_space_is_not_found_rather_than_empty() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let in_space = |space: &str, assignee: Option<Assignee>| TaskQuery {
        project: Some(space.into()),
        assignee,
        ..TaskQuery::default()
    };
    for q in [
        in_space("999", None),
        in_space("999", Some(Assignee::Nobody)),
    ] {
        match cu.search_tasks(&q, &page(10)).await {
            Err(ProviderError::NotFound { what }) => {
                assert_eq!(what, "ClickUp space (project) 999")
            }
            other => panic!("{other:?}"),
        }
    }
    let since = Utc::now() - chrono::Duration::days(30);
    match cu.project_history("999", since, 100).await {
        Err(ProviderError::NotFound { what }) => assert_eq!(what, "ClickUp space (project) 999"),
        other => panic!("{other:?}"),
    }
    // An empty space is empty, and it is looked up once.
    for _ in 0..2 {
        let empty = cu
            .search_tasks(&in_space(EMPTY_SPACE, None), &page(10))
            .await
            .unwrap();
        assert!(empty.items.is_empty());
    }
    assert!(
        cu.project_history(EMPTY_SPACE, since, 100)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let looked = |fake: &Running<Fake>| {
        fake.recorder
            .lines()
            .iter()
            .filter(|r| r.starts_with("GET /api/v2/space/"))
            .count()
    };
    // 999 on each of its three calls (a missing space is not remembered), the empty space once.
    assert_eq!(looked(&fake), 4);
    // A space with tasks is listed without looking it up.
    let found = cu
        .search_tasks(&in_space(SPACE, None), &page(10))
        .await
        .unwrap();
    assert!(!found.items.is_empty());
    assert!(
        !cu.project_history(SPACE, since, 100)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(looked(&fake), 4);
}

/// The ClickUp time of `day` at 04:00 in `tz`, as ClickUp keeps a date without a time.
fn four_am(day: NaiveDate, tz: &str) -> i64 {
    let zone: chrono_tz::Tz = tz.parse().unwrap();
    day.and_hms_opt(4, 0, 0)
        .unwrap()
        .and_local_timezone(zone)
        .unwrap()
        .timestamp_millis()
}

/// Issue 21, point 10: ClickUp snaps a date-only value to 04:00 in the user's time zone on the
/// calendar day the sent instant falls on there. Midnight UTC is the day before west of UTC,
/// and 04:00 of the day east of UTC reads back as the day before in UTC; dates are written and
/// read in the zone `GET /v2/user` reports.
#[tokio::test]
async fn date_only_dates_round_trip_in_the_users_time_zone() {
    for tz in ["America/Los_Angeles", "Pacific/Auckland", "Asia/Tokyo"] {
        let Some((cu, fake)) = setup().await else {
            return;
        };
        *fake.timezone.lock().unwrap() = tz.to_string();
        let due = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let created = cu
            .create_task(&NewTask {
                project: SPACE.into(),
                title: "Ship".into(),
                due_date: Some(due),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(created.due_date, Some(due), "{tz}: as created");
        let stored = fake.tasks.lock().unwrap().last().unwrap().due_date;
        assert_eq!(stored, Some(four_am(due, tz)), "{tz}: as ClickUp keeps it");
        assert_eq!(
            cu.get_task(&created.id).await.unwrap().due_date,
            Some(due),
            "{tz}: read back"
        );
        let later = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
        let changed = cu
            .update_task(
                &created.id,
                &TaskChange {
                    due_date: Some(later),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(changed.due_date, Some(later), "{tz}: updated");
        let q = TaskQuery {
            project: Some(SPACE.into()),
            text: Some("Ship".into()),
            ..Default::default()
        };
        let listed = all_tasks(cu.as_ref(), &q, 10).await;
        assert_eq!(listed[0].due_date, Some(later), "{tz}: listed");
    }
}

/// Issue 21, point 11: a custom task id (`DEV-1`) is a task only with
/// `custom_task_ids=true&team_id=…`; it is resolved once to the task's own id, which every later
/// call (comments, tags, links, time, lists) uses.
#[tokio::test]
async fn custom_task_ids_are_resolved_once_to_the_task_id() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let before = fake.recorder.len();
    let t = cu.get_task("DEV-1").await.unwrap();
    assert_eq!((t.id.as_str(), t.key.as_deref()), ("86b01", Some("DEV-1")));
    let first = fake.recorder.lines_since(before);
    // The workspace is read (for its id), then the task by its custom id.
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(
        first[1].starts_with("GET /api/v2/task/DEV-1?")
            && first[1].contains("custom_task_ids=true")
            && first[1].contains(&format!("team_id={TEAM}")),
        "{first:?}"
    );
    cu.add_comment("DEV-1", "seen").await.unwrap();
    assert_eq!(
        cu.list_comments("DEV-1", &page(5))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let when = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    cu.log_work("DEV-1", 600, when, None).await.unwrap();
    cu.update_task(
        "DEV-1",
        &TaskChange {
            labels: Some(vec!["api".into()]),
            sprint: Some(SPRINT_NEXT.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    cu.link_tasks("DEV-1", "DEV-2", "blocks").await.unwrap();
    cu.add_watcher("DEV-1", &JANE.to_string()).await.unwrap();
    let moved = cu.transition_task("DEV-3", "review").await.unwrap();
    assert_eq!(moved.id, "86b03");
    let t1 = fake.tasks.lock().unwrap()[0].clone();
    assert_eq!(t1.tags, vec!["api"]);
    assert!(t1.also_in.contains(&SPRINT_NEXT.to_string()));
    assert!(
        fake.tasks.lock().unwrap()[1]
            .depends_on
            .contains(&"86b01".to_string())
    );
    assert_eq!(fake.time.lock().unwrap()["86b01"].len(), 1);
    let log = fake.recorder.lines_since(before);
    let lookups = log
        .iter()
        .filter(|r| r.contains("/task/DEV-1") && r.contains("custom_task_ids=true"))
        .count();
    assert_eq!(lookups, 1, "DEV-1 resolved once: {log:?}");
    assert!(
        log.iter()
            .filter(|r| !r.contains("custom_task_ids=true"))
            .all(|r| !r.contains("DEV-")),
        "{log:?}"
    );
    // An id that is no task's custom id is not found, in words.
    let missing = cu.get_task("DEV-999").await.unwrap_err();
    assert_eq!(missing.kind(), "not_found", "{missing}");
    assert!(missing.to_string().contains("DEV-999"), "{missing}");
}

/// Issue 21, point 12: "The parent task ID you include ... must be in the same List specified in
/// the path parameter" (Create Task): a subtask goes to its parent's list.
#[tokio::test]
async fn a_subtask_is_created_in_its_parents_list() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    fake.tasks
        .lock()
        .unwrap()
        .push(pm_testkit::fake_clickup::FakeTask::new(
            "86p1",
            "Parent in a sprint list",
            SPRINT_NEXT,
            "to do",
            pm_testkit::fake_clickup::now_ms(),
        ));
    for parent in ["86p1", "DEV-2"] {
        let sub = cu
            .create_task(&NewTask {
                project: SPACE.into(),
                title: format!("Part of {parent}"),
                parent: Some(parent.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let stored = fake.tasks.lock().unwrap().last().unwrap().clone();
        let want = if parent == "86p1" {
            ("86p1", SPRINT_NEXT)
        } else {
            ("86b02", BACKLOG)
        };
        assert_eq!(
            (stored.parent.as_deref(), stored.list.as_str()),
            (Some(want.0), want.1)
        );
        assert_eq!(sub.parent_id.as_deref(), Some(want.0));
    }
}

/// Issue 21, point 13: worklogs come from the workspace's time entries (with their
/// descriptions), every member's and older than the search's 30-day default; an account that
/// may not list others' entries falls back to the legacy intervals (own comments kept).
#[tokio::test]
async fn worklogs_are_time_entries_with_their_comments() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let old = Utc::now() - chrono::Duration::days(40);
    let mine = cu
        .log_work("86b01", 3600, old, Some("old work"))
        .await
        .unwrap();
    let jane_at = (Utc::now() - chrono::Duration::days(2)).timestamp_millis();
    fake.time.lock().unwrap().get_mut("86b01").unwrap().push((
        "4999".into(),
        JANE,
        jane_at,
        1_800_000,
        "pairing".into(),
    ));
    let before = fake.recorder.len();
    let logs = cu.list_worklogs("86b01", &page(10)).await.unwrap().items;
    let got: Vec<(String, Option<String>, i64)> = logs
        .iter()
        .map(|w| {
            (
                w.author.as_ref().unwrap().id.clone(),
                w.comment.clone(),
                w.seconds,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ME.to_string(), Some("old work".into()), 3600),
            (JANE.to_string(), Some("pairing".into()), 1800)
        ]
    );
    assert_eq!(logs[0].id, mine.id);
    let sent = fake.recorder.lines_since(before);
    assert!(
        sent.iter().any(
            |r| r.starts_with(&format!("GET /api/v2/team/{TEAM}/time_entries?"))
                && r.contains("task_id=86b01")
                && r.contains("start_date=")
                && r.contains(&format!("assignee={ME}%2C{JANE}"))
        ),
        "{sent:?}"
    );

    // A member who may not see others' entries: every interval, own comments kept.
    fake.admin.store(false, Ordering::SeqCst);
    let logs = cu.list_worklogs("86b01", &page(10)).await.unwrap().items;
    let got: Vec<(String, Option<String>)> = logs
        .iter()
        .map(|w| (w.author.as_ref().unwrap().id.clone(), w.comment.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (ME.to_string(), Some("old work".into())),
            (JANE.to_string(), None)
        ]
    );
}

/// Issue 21, point 14: the bulk time-in-status endpoint takes 2–100 ids (one task is asked on
/// its own endpoint); a refusal (400/401/403) means current statuses only; `since` is when a
/// status was last entered, so the earliest entry is a change unless it is the creation.
#[tokio::test]
async fn time_in_status_for_one_task_and_a_clickapp_that_is_off() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let now = pm_testkit::fake_clickup::now_ms();
    let day = pm_testkit::fake_clickup::DAY;
    fake.lists
        .lock()
        .unwrap()
        .push(pm_testkit::fake_clickup::FakeList {
            id: "210".into(),
            name: "Sprint 9".into(),
            space: SPACE.into(),
            folder: Some(pm_testkit::fake_clickup::SPRINT_FOLDER.into()),
            content: String::new(),
            start_date: Some(now - 10 * day),
            due_date: Some(now + 4 * day),
            statuses: None,
        });
    fake.tasks
        .lock()
        .unwrap()
        .push(pm_testkit::fake_clickup::FakeTask::new(
            "86s1",
            "Reopened once",
            "210",
            "complete",
            now - 9 * day,
        ));
    // Created in "to do" (9 days ago), in progress (8), review (6), reopened (5), complete (1):
    // "to do" keeps only its latest entry.
    fake.status_history.lock().unwrap().insert(
        "86s1".into(),
        vec![
            ("to do".into(), now - 5 * day),
            ("in progress".into(), now - 8 * day),
            ("review".into(), now - 6 * day),
            ("complete".into(), now - day),
        ],
    );
    let before = fake.recorder.len();
    let h = cu.sprint_history("210", 100).await.unwrap();
    assert!(
        h.source.history.contains("Time in Status ("),
        "{}",
        h.source.history
    );
    let sent = fake.recorder.lines_since(before);
    assert!(
        sent.iter()
            .any(|r| r == "GET /api/v2/task/86s1/time_in_status"),
        "{sent:?}"
    );
    let moves: Vec<(Option<String>, String, i64)> = h.items[0]
        .status_changes
        .iter()
        .map(|c| {
            (
                c.from.as_ref().map(|s| s.name.clone()),
                c.to.name.clone(),
                (now - c.at.timestamp_millis()) / day,
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            (None, "in progress".into(), 8),
            (Some("in progress".into()), "review".into(), 6),
            (Some("review".into()), "to do".into(), 5),
            (Some("to do".into()), "complete".into(), 1),
        ]
    );

    // Several tasks: the bulk endpoint, up to 100 ids a request.
    let before = fake.recorder.len();
    let h = cu.sprint_history(SPRINT_NOW, 100).await.unwrap();
    assert_eq!(h.items.len(), 6);
    assert!(
        fake.recorder
            .lines_since(before)
            .iter()
            .any(|r| r.starts_with("GET /api/v2/task/bulk_time_in_status/task_ids?task_ids=")),
    );

    // The ClickApp off: current statuses only, and said so in ClickUp's words.
    fake.time_in_status_on.store(false, Ordering::SeqCst);
    for sprint in ["210", SPRINT_NOW] {
        let h = cu.sprint_history(sprint, 100).await.unwrap();
        assert!(
            h.source.history.contains("current statuses only"),
            "{}",
            h.source.history
        );
        assert!(h.items.iter().all(|i| i.status_changes.is_empty()));
    }
}

/// Issue 21, point 15: `comment_text` is plain text; Markdown goes in ClickUp's rich `comment`
/// form (bold, italic, code, links, lists, code blocks) and is read back as Markdown.
#[tokio::test]
async fn comments_are_written_in_the_rich_form_and_read_back_as_markdown() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let md = "Looks **good**, *mostly*: see [the docs](https://example.com/d) and `cargo test`\n\n- one\n- two\n\n1. first\n2. second\n\n```\nlet x = 1;\n```";
    let c = cu.add_comment("86b02", md).await.unwrap();
    assert_eq!(c.body, md);
    let stored = fake.comments.lock().unwrap()["86b02"][0]["comment"].clone();
    let parts = stored.as_array().unwrap();
    let has = |text: &str, attr: serde_json::Value| {
        parts
            .iter()
            .any(|p| p["text"] == text && p["attributes"] == attr)
    };
    assert!(has("good", serde_json::json!({ "bold": true })), "{stored}");
    assert!(
        has("mostly", serde_json::json!({ "italic": true })),
        "{stored}"
    );
    assert!(
        has("cargo test", serde_json::json!({ "code": true })),
        "{stored}"
    );
    assert!(
        has(
            "the docs",
            serde_json::json!({ "link": "https://example.com/d" })
        ),
        "{stored}"
    );
    assert!(
        has("\n", serde_json::json!({ "list": { "list": "bullet" } })),
        "{stored}"
    );
    assert!(
        has("\n", serde_json::json!({ "list": { "list": "ordered" } })),
        "{stored}"
    );
    assert!(
        has(
            "\n",
            serde_json::json!({ "code-block": { "code-block": "plain" } })
        ),
        "{stored}"
    );
    assert!(!stored.to_string().contains("**"), "{stored}");
    let read = cu.list_comments("86b02", &page(5)).await.unwrap().items;
    assert_eq!(read[0].body, md);
}

/// Issue 21, point 15: a list may override its space's statuses; a task's statuses are its
/// list's (a status only an overriding list has is still a status of the space's tasks).
#[tokio::test]
async fn a_list_with_its_own_statuses() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let own = vec![
        ("open".to_string(), "open".to_string()),
        ("in qa".to_string(), "custom".to_string()),
        ("shipped".to_string(), "closed".to_string()),
    ];
    fake.lists
        .lock()
        .unwrap()
        .push(pm_testkit::fake_clickup::FakeList {
            id: "126".into(),
            name: "QA".into(),
            space: SPACE.into(),
            folder: None,
            content: String::new(),
            start_date: None,
            due_date: None,
            statuses: Some(own),
        });
    fake.tasks
        .lock()
        .unwrap()
        .push(pm_testkit::fake_clickup::FakeTask::new(
            "86q1",
            "Check the release",
            "126",
            "in qa",
            pm_testkit::fake_clickup::now_ms(),
        ));
    let q = TaskQuery {
        project: Some(SPACE.into()),
        statuses: vec!["In QA".into()],
        ..Default::default()
    };
    let found = all_tasks(cu.as_ref(), &q, 10).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status.category, StatusCategory::InProgress);
    let v = cu.project_vocabulary(SPACE, Some("86q1")).await.unwrap();
    let to: Vec<String> = v
        .transitions
        .unwrap()
        .into_iter()
        .map(|t| t.to_status)
        .collect();
    assert_eq!(to, ["open", "shipped"]);
    let nope = cu.transition_task("86q1", "review").await.unwrap_err();
    assert!(
        nope.to_string().contains("it has: open, in qa, shipped"),
        "{nope}"
    );
    let done = cu.transition_task("86q1", "shipped").await.unwrap();
    assert_eq!(done.status.category, StatusCategory::Done);
}

/// Issue 21, point 15: a task joins a sprint list as a second list, which needs the Tasks in
/// Multiple Lists ClickApp: refused in words, before anything else of the change is written.
#[tokio::test]
async fn sprint_membership_needs_tasks_in_multiple_lists() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    fake.multiple_lists_on.store(false, Ordering::SeqCst);
    let err = cu
        .update_task(
            "86b08",
            &TaskChange {
                title: Some("never saved".into()),
                sprint: Some(SPRINT_NEXT.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Tasks in Multiple Lists ClickApp") && text.contains("nothing was changed"),
        "{text}"
    );
    assert_eq!(cu.get_task("86b08").await.unwrap().title, "Example task 8");
}

/// Issue 21, point 15: an OAuth access token goes as `Bearer <token>`; a personal token
/// (`pk_…`) as it is.
#[tokio::test]
async fn an_oauth_token_is_sent_as_bearer() {
    let oauth = "4242_0f6a3c9e1b7d_SECRET";
    let Some(Running { url: base, .. }) = spawn(Options::token(oauth)).await else {
        return;
    };
    let me = client(&base, oauth, None).whoami().await.unwrap();
    assert_eq!(me.id, ME.to_string());
    let given = client(&base, &format!("Bearer {oauth}"), None);
    assert_eq!(given.whoami().await.unwrap().id, ME.to_string());
}

/// Whether the fake has task `task` in list `list` besides its home list.
fn in_list(fake: &Fake, task: &str, list: &str) -> bool {
    fake.tasks
        .lock()
        .unwrap()
        .iter()
        .any(|t| t.id == task && t.also_in.iter().any(|l| l == list))
}

/// Review of issue 21: the sprint join comes first, so whatever can be checked beforehand is
/// checked before it (a refused change must not leave the task in the sprint), and a refusal
/// after it says the task has joined.
#[tokio::test]
async fn a_sprint_join_is_not_left_behind_by_a_refused_change() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let change = |c: TaskChange| TaskChange {
        sprint: Some(SPRINT_NEXT.into()),
        ..c
    };
    let join = format!("POST /api/v2/list/{SPRINT_NEXT}/task/86b08");
    for bad in [
        TaskChange {
            title: Some("   ".into()),
            ..Default::default()
        },
        TaskChange {
            assignee: Some(Some("4242".into())),
            ..Default::default()
        },
        TaskChange {
            estimated_hours: Some(-2.0),
            ..Default::default()
        },
    ] {
        let before = fake.recorder.len();
        let err = cu.update_task("86b08", &change(bad)).await.unwrap_err();
        assert!(matches!(err, ProviderError::BadInput(_)), "{err}");
        let sent = fake.recorder.lines_since(before);
        assert!(!sent.iter().any(|r| r.starts_with(&join)), "{sent:?}");
        assert!(!in_list(&fake, "86b08", SPRINT_NEXT));
    }

    // A refusal nothing could foresee, after the join: said so, never "nothing was changed".
    refuse_next(
        &fake,
        "PUT /api/v2/task/86b08",
        403,
        "You do not have permission to edit this task",
        "ACCESS_099",
    );
    let err = cu
        .update_task(
            "86b08",
            &change(TaskChange {
                title: Some("Renamed".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(in_list(&fake, "86b08", SPRINT_NEXT));
    assert!(
        text.contains("You do not have permission to edit this task")
            && text.contains(&format!("already joined sprint list {SPRINT_NEXT}"))
            && !text.contains("nothing was changed"),
        "{text}"
    );
}

/// Review of issue 21: a refused sprint join is explained by what ClickUp said: the ClickApp only
/// when ClickUp names it (covered above), a permission as a permission, and an unclear refusal
/// with the ClickApp as one possible cause.
#[tokio::test]
async fn a_refused_sprint_join_is_explained_by_what_clickup_said() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let join = format!("POST /api/v2/list/{SPRINT_NEXT}/task/");
    let try_join = || async {
        cu.update_task(
            "86b08",
            &TaskChange {
                sprint: Some(SPRINT_NEXT.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string()
    };
    refuse_next(
        &fake,
        &join,
        403,
        "You do not have permission to add tasks to this List",
        "ACCESS_083",
    );
    let text = try_join().await;
    assert!(
        text.contains("You do not have permission to add tasks to this List")
            && !text.contains("ClickApp")
            && text.contains("nothing was changed"),
        "{text}"
    );
    refuse_next(&fake, &join, 400, "Oops, something went wrong", "ITEM_000");
    let text = try_join().await;
    assert!(
        text.contains("Oops, something went wrong")
            && text.contains("one possible cause")
            && text.contains("Tasks in Multiple Lists ClickApp"),
        "{text}"
    );
    assert!(!in_list(&fake, "86b08", SPRINT_NEXT));
}

/// Review of issue 21: a Time in Status refusal in words pm-mcp does not know (ClickUp does not
/// publish them) still falls back to current statuses, and ClickUp's own words are reported.
#[tokio::test]
async fn time_in_status_refused_in_other_words_falls_back_and_says_why() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    fake.time_in_status_on.store(false, Ordering::SeqCst);
    *fake.time_in_status_refusal.lock().unwrap() = (
        403,
        "Your plan does not include this feature".into(),
        "FEAT_021".into(),
    );
    let h = cu.sprint_history(SPRINT_NOW, 100).await.unwrap();
    assert_eq!(h.items.len(), 6);
    assert!(
        h.source.history.contains("current statuses only")
            && h.source
                .history
                .contains("Your plan does not include this feature"),
        "{}",
        h.source.history
    );
    assert!(h.items.iter().all(|i| i.status_changes.is_empty()));

    // A failure that is not a refusal (ClickUp down) is an error, not "off".
    fake.time_in_status_on.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        refuse_next(
            &fake,
            "GET /api/v2/task/bulk_time_in_status/",
            503,
            "Service unavailable",
            "APP_500",
        );
    }
    assert!(cu.sprint_history(SPRINT_NOW, 100).await.is_err());
}

/// Review of issue 21: only the documented owner/admin refusal (401/403) makes worklogs fall back
/// to the legacy intervals; any other refusal is an error.
#[tokio::test]
async fn a_refused_time_entry_search_falls_back_only_for_the_admin_refusal() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    cu.log_work("86b01", 3600, Utc::now(), Some("work"))
        .await
        .unwrap();
    refuse_next(
        &fake,
        &format!("GET /api/v2/team/{TEAM}/time_entries"),
        400,
        "Start date must be before end date",
        "TIMEENTRY_041",
    );
    let before = fake.recorder.len();
    let err = cu.list_worklogs("86b01", &page(10)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Start date must be before end date"),
        "{err}"
    );
    let sent = fake.recorder.lines_since(before);
    assert!(
        !sent
            .iter()
            .any(|r| r.starts_with("GET /api/v2/task/86b01/time")),
        "{sent:?}"
    );
}

/// Review of issue 21: every member is asked for, 50 ids a request, so a large workspace's URL
/// stays within the limits (Cloudflare's 16 KB, as the fake enforces) and no entry is lost.
#[tokio::test]
async fn worklogs_of_a_large_workspace_are_all_found() {
    let Some((cu, fake)) = setup().await else {
        return;
    };
    let extra: Vec<u64> = (0..2000).map(|i| 10_000_000 + i).collect();
    *fake.more_members.lock().unwrap() = extra.clone();
    let at = (Utc::now() - chrono::Duration::days(1)).timestamp_millis();
    let mut want = BTreeSet::new();
    for (n, who) in [extra[0], extra[60], extra[1999], JANE]
        .into_iter()
        .enumerate()
    {
        fake.time
            .lock()
            .unwrap()
            .entry("86b01".into())
            .or_default()
            .push((
                format!("77{n}"),
                who,
                at + n as i64,
                60_000,
                format!("by {who}"),
            ));
        want.insert(who.to_string());
    }
    let before = fake.recorder.len();
    let logs = cu.list_worklogs("86b01", &page(50)).await.unwrap().items;
    let got: BTreeSet<String> = logs
        .iter()
        .map(|w| w.author.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(got, want);
    let searches = fake
        .recorder
        .lines_since(before)
        .iter()
        .filter(|r| r.starts_with(&format!("GET /api/v2/team/{TEAM}/time_entries?")))
        .count();
    assert_eq!(searches, 2002usize.div_ceil(50));
}
