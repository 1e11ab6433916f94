#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code
//! The Jira client against pm-testkit's fake Jira (bodies from the official spec's examples,
//! real paging, Jira's error bodies and failure modes).
use std::sync::Arc;
use std::time::Duration;

use pm_core::{AuthKind, BaseUrl, PageRequest, Provider, ProviderError, ProviderKind};
use pm_providers::HttpSettings;
use pm_testkit::fake::Running;
use pm_testkit::fake_jira::{Options, basic, spawn};

fn settings() -> HttpSettings {
    HttpSettings {
        // Generous for a loaded CI machine (the fake parses Atlassian's large spec examples); the
        // slow project sleeps a minute, so a timeout is still proven by its kind.
        timeout: Duration::from_millis(2_500),
        max_attempts: 2,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    }
}

fn cloud(base: &str, token: &str) -> Arc<dyn Provider> {
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(base, true).unwrap();
    let spec = pm_core::ConnectionSpec::stored(
        ProviderKind::JiraCloud,
        url,
        AuthKind::Basic,
        Some("mia@example.com".into()),
        pm_core::Secret::new(token),
        pm_core::ConnectionOptions::default(),
    )
    .expect("spec");
    pm_providers::connect(client, &spec, settings()).unwrap()
}

#[tokio::test]
async fn identity_and_site_come_from_jira() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "tok-1"))).await
    else {
        return;
    };
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
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "right"))).await
    else {
        return;
    };
    let err = cloud(&base, "wrong-token-xyz").whoami().await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    let text = err.to_string();
    assert!(text.contains("Client must be authenticated"), "{text}");
    assert!(!text.contains("wrong-token-xyz"));
}

#[tokio::test]
async fn projects_are_read_page_by_page() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
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
        fake.recorder.count("GET", "/rest/api/3/project/search"),
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
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let p = jira.get_project("EX").await.unwrap();
    assert_eq!((p.id.as_str(), p.name.as_str()), ("EX", "Example"));
    // Links use the site's own base URL (serverInfo's `baseUrl`), not the connection's.
    assert_eq!(
        p.url.as_deref(),
        Some("https://your-domain.atlassian.net/browse/EX")
    );
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
    assert_eq!(fake.recorder.count("GET", "/rest/api/3/project/FLAKY"), 2);
    // 5xx is retried up to the limit, then reported with Jira's reason.
    let down = jira.get_project("DOWN").await.unwrap_err();
    assert!(
        matches!(down, ProviderError::Upstream { status: 503, .. }),
        "{down:?}"
    );
    assert!(down.to_string().contains("maintenance"));
    assert_eq!(fake.recorder.count("GET", "/rest/api/3/project/DOWN"), 2);
    // A slow answer (a minute) times out: the kind says so, no wall clock is read.
    assert_eq!(
        jira.get_project("SLOW").await.unwrap_err().kind(),
        "timeout"
    );
}

#[tokio::test]
async fn data_center_uses_v2_bearer_tokens_and_pages_locally() {
    let Some(fake) = spawn(Options::dc("Bearer pat-123")).await else {
        return;
    };
    let base = fake.url.clone();
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(&base, true).unwrap();
    let dc = pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            (url).clone(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new("pat-123"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap();
    // The fake's DC user has key JIRAUSER10100 ≠ name mia: a DC user's id is the username.
    assert_eq!(dc.whoami().await.unwrap().id, "mia");
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
    assert_eq!(fake.recorder.count("GET", "/rest/api/2/project"), 2);
    assert_eq!(
        dc.search_projects("p3", &PageRequest::new(None, None))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn all_tasks(jira: &dyn Provider, q: &pm_core::TaskQuery, limit: u32) -> Vec<pm_core::Task> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = jira
            .search_tasks(q, &PageRequest::new(cursor, Some(limit)))
            .await
            .unwrap();
        out.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

#[tokio::test]
async fn tasks_are_searched_with_escaped_jql_across_token_pages() {
    use pm_core::{Assignee, StatusCategory, TaskQuery};
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let everything = all_tasks(
        jira.as_ref(),
        &TaskQuery {
            project: Some("EX".into()),
            ..Default::default()
        },
        5,
    )
    .await;
    assert_eq!(everything.len(), 12);
    assert_eq!(
        fake.recorder.count("POST", "/rest/api/3/search/jql"),
        3,
        "12 tasks, 5 a page: three requests"
    );
    let first = &everything[0];
    assert_eq!(
        first.description.as_deref(),
        Some("Details of EX-1"),
        "ADF became Markdown"
    );

    let mine = all_tasks(
        jira.as_ref(),
        &TaskQuery {
            assignee: Some(Assignee::Me),
            ..Default::default()
        },
        50,
    )
    .await;
    assert_eq!(mine.len(), 6);
    assert!(mine.iter().all(|t| t.assignee.as_ref().map(|a| a.id.as_str()) == Some("5b10a2844c20165700ede21g")));
    let nobody = all_tasks(
        jira.as_ref(),
        &TaskQuery {
            assignee: Some(Assignee::Nobody),
            ..Default::default()
        },
        50,
    )
    .await;
    assert_eq!(nobody.len(), 6);
    let done = all_tasks(
        jira.as_ref(),
        &TaskQuery {
            statuses: vec!["done".into()],
            ..Default::default()
        },
        50,
    )
    .await;
    assert!(
        !done.is_empty()
            && done
                .iter()
                .all(|t| t.status.category == StatusCategory::Done)
    );
    let sprint = all_tasks(
        jira.as_ref(),
        &TaskQuery {
            sprint: Some("7".into()),
            ..Default::default()
        },
        50,
    )
    .await;
    assert_eq!(sprint.len(), 6);
    // Cloud refuses an unbounded query; pm-mcp asks for a restriction instead of sending one.
    let unbounded = jira
        .search_tasks(&TaskQuery::default(), &PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unbounded.kind(), "bad_input");
    assert!(
        unbounded.to_string().contains("name a project"),
        "{unbounded}"
    );
    assert_eq!(
        jira.search_tasks(
            &TaskQuery {
                sprint: Some("7 OR 1=1".into()),
                ..Default::default()
            },
            &PageRequest::default()
        )
        .await
        .unwrap_err()
        .kind(),
        "bad_input"
    );

    // A hostile value stays one string: Jira looks for a project of that whole name, finds
    // none and refuses the query (400), which reads as a not-found naming the whole value.
    let err = jira
        .search_tasks(&hostile_query(), &PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert!(
        err.to_string()
            .contains(r#"Jira project EX" OR project != "X was not found"#),
        "{err}"
    );
    let sent = fake.queries.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        sent,
        r#"project = "EX\" OR project != \"X" AND text ~ "a\\\"b\nc" ORDER BY updated DESC"#
    );
}

fn hostile_query() -> pm_core::TaskQuery {
    pm_core::TaskQuery {
        project: Some(r#"EX" OR project != "X"#.into()),
        text: Some("a\\\"b\nc".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_task_is_read_by_key() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let t = jira.get_task("EX-3").await.unwrap();
    assert_eq!(
        (t.id.as_str(), t.title.as_str(), t.status.name.as_str()),
        ("EX-3", "Example task 3", "To Do")
    );
    assert_eq!(t.project_id.as_deref(), Some("EX"));
    assert_eq!(
        fake.recorder.count("GET", "/rest/api/3/issue/EX-3"),
        1,
        "one request per get_task"
    );
    let missing = jira.get_task("EX-99").await.unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    assert!(missing.to_string().contains("EX-99"));
    assert_eq!(
        jira.get_task("EX-1/../../myself").await.unwrap_err().kind(),
        "bad_input"
    );
}

#[tokio::test]
async fn data_center_searches_with_offsets_and_plain_text() {
    let Some(fake) = spawn(Options::dc("Bearer pat-9")).await else {
        return;
    };
    let base = fake.url.clone();
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(&base, true).unwrap();
    let dc = pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            (url).clone(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new("pat-9"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap();
    let all = all_tasks(
        dc.as_ref(),
        &pm_core::TaskQuery {
            project: Some("EX".into()),
            ..Default::default()
        },
        5,
    )
    .await;
    assert_eq!(all.len(), 12);
    assert_eq!(all[0].description.as_deref(), Some("Details of EX-1"));
    assert_eq!(fake.recorder.count("POST", "/rest/api/2/search"), 3);
}

#[tokio::test]
async fn data_center_writes_wiki_markup() {
    let Some(fake) = spawn(Options::dc("Bearer pat-w")).await else {
        return;
    };
    let base = fake.url.clone();
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(&base, true).unwrap();
    let dc = pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            (url).clone(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new("pat-w"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap();
    let task = pm_core::NewTask {
        project: "EX".into(),
        title: "Printer on fire".into(),
        description: Some("## What\n\n**Smoke** from `tray 2`".into()),
        assignee: Some("mia".into()),
        ..Default::default()
    };
    let created = dc.create_task(&task).await.unwrap();
    assert_eq!(created.title, "Printer on fire");
    let comment = dc
        .add_comment(&created.id, "See [the manual](https://example.org/manual)")
        .await
        .unwrap();
    assert_eq!(
        comment.author.map(|a| a.name).as_deref(),
        Some("Mia Krystof")
    );
    let texts = fake.dc_texts.lock().unwrap().clone();
    assert_eq!(
        texts,
        vec![
            "h2. What\n\n*Smoke* from {{tray 2}}".to_string(),
            "See [the manual|https://example.org/manual]".to_string()
        ]
    );
}

#[tokio::test]
async fn story_points_are_written_to_the_discovered_field() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let jira = cloud(&base, "t");
    let t = jira.get_task("EX-3").await.unwrap();
    assert_eq!(t.story_points, Some(4.0), "read from the discovered field");
    let changed = jira
        .update_task(
            "EX-3",
            &pm_core::TaskChange {
                story_points: Some(8.0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.story_points, Some(8.0));
}

/// remaining_hours is Jira's remaining estimate, beside the original one, on both editions.
#[tokio::test]
async fn remaining_hours_set_the_remaining_estimate() {
    for dc in [false, true] {
        let Some(fake) = (if dc {
            spawn(Options::dc("Bearer pat-dc")).await
        } else {
            spawn(Options::cloud(&basic("mia@example.com", "t"))).await
        }) else {
            return;
        };
        let base = fake.url.clone();
        let jira = if dc {
            data_center(&base, "pat-dc")
        } else {
            cloud(&base, "t")
        };
        jira.update_task(
            "EX-3",
            &pm_core::TaskChange {
                estimated_hours: Some(4.0),
                remaining_hours: Some(2.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        jira.update_task(
            "EX-3",
            &pm_core::TaskChange {
                remaining_hours: Some(1.0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let tt = fake
            .issues
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.key == "EX-3")
            .map(|i| i.timetracking.clone())
            .unwrap();
        assert_eq!(tt["remainingEstimateSeconds"], 3600, "dc={dc}");
        assert_eq!(tt["originalEstimateSeconds"], 4 * 3600, "dc={dc}: kept");
        let bad = jira
            .update_task(
                "EX-3",
                &pm_core::TaskChange {
                    remaining_hours: Some(-1.0),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("remaining_hours"), "{bad}");
    }
}

fn data_center(base: &str, pat: &str) -> Arc<dyn Provider> {
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(base, true).unwrap();
    pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            (url).clone(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new(pat),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap()
}

/// Data Center through its own v2 routes: usernames in writes, wiki markup read back as the
/// Markdown it came from, story points in the create, paged comments and users.
#[tokio::test]
async fn data_center_writes_with_usernames_and_reads_wiki_back_as_markdown() {
    let Some(fake) = spawn(Options::dc("Bearer pat-dc")).await else {
        return;
    };
    let base = fake.url.clone();
    let dc = data_center(&base, "pat-dc");
    let site = dc.site().await.unwrap();
    assert_eq!(site.product, "Jira Data Center");

    let created = dc
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Pointed".into(),
            description: Some("Fails on **Safari**".into()),
            priority: Some("High".into()),
            due_date: chrono::NaiveDate::from_ymd_opt(2030, 1, 2),
            labels: vec!["web".into()],
            story_points: Some(3.0),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, "EX-13");
    assert_eq!(created.story_points, Some(3.0), "set in the create itself");
    assert_eq!(created.description.as_deref(), Some("Fails on **Safari**"));
    assert_eq!(created.priority.as_deref(), Some("High"));
    assert_eq!(created.labels, vec!["web".to_string()]);
    let creates = fake.recorder.count("POST", "/rest/api/2/issue");
    assert_eq!(creates, 1);
    assert!(
        !fake.recorder.hits().iter().any(|h| h.method == "PUT"
            && h.path
                .strip_prefix("/rest/api/2/issue/")
                .is_some_and(|key| !key.contains('/'))),
        "one write"
    );

    dc.assign_task(&created.id, Some("mia")).await.unwrap();
    let body = fake.bodies.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        body.1,
        serde_json::json!({ "name": "mia" }),
        "the username, not the key"
    );
    let t = dc.get_task(&created.id).await.unwrap();
    assert_eq!(t.assignee.map(|a| a.id).as_deref(), Some("mia"));
    // The user key is not what DC takes: Jira answers "User 'JIRAUSER10100' does not exist."
    let by_key = dc
        .assign_task(&created.id, Some("JIRAUSER10100"))
        .await
        .unwrap_err();
    assert_eq!(by_key.to_string(), "Jira user JIRAUSER10100 was not found");
    assert_eq!(dc.get_user("mia").await.unwrap().name, "Mia Krystof");
    assert_eq!(
        dc.get_user("JIRAUSER10100").await.unwrap_err().kind(),
        "not_found"
    );
    let users = dc
        .list_users("", &PageRequest::new(None, Some(1)))
        .await
        .unwrap();
    assert_eq!(users.items.len(), 1);
    assert!(users.next.is_some(), "user search is paged");

    for n in 0..3 {
        dc.add_comment(&created.id, &format!("Note **{n}**"))
            .await
            .unwrap();
    }
    let first = dc
        .list_comments(&created.id, &PageRequest::new(None, Some(2)))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].body, "Note **0**");
    let rest = dc
        .list_comments(&created.id, &PageRequest::new(first.next, Some(2)))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
    assert_eq!(
        dc.list_comments("EX-9404", &PageRequest::default())
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );

    // Epics: created with the Epic Name DC requires; a child's epic is its Epic Link.
    let epic = dc
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Checkout".into(),
            task_type: Some("Epic".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let sent = fake.bodies.lock().unwrap().last().cloned().unwrap().1;
    assert_eq!(sent["fields"]["customfield_10102"], "Checkout", "Epic Name");
    dc.set_epic(&created.id, Some(&epic.id)).await.unwrap();
    let child = dc.get_task(&created.id).await.unwrap();
    assert_eq!(child.parent_id.as_deref(), Some(epic.id.as_str()));
    let linked = dc
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Child".into(),
            parent: Some(epic.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        linked.parent_id.as_deref(),
        Some(epic.id.as_str()),
        "through Epic Link, not parent"
    );

    // A deleted issue's key is never given out again.
    dc.delete_task(&created.id).await.unwrap();
    let next = dc
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "After the delete".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next.id, "EX-16");

    // An unknown project is a not-found naming it, from the search's 400.
    let err = dc
        .search_tasks(
            &pm_core::TaskQuery {
                project: Some("NOPE".into()),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert_eq!(err.to_string(), "Jira project NOPE was not found");
}

/// Cloud refuses what it refuses, and pm-mcp says so before writing.
#[tokio::test]
async fn cloud_create_honours_every_field_and_refuses_before_writing() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let t = jira
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Dated".into(),
            priority: Some("Low".into()),
            due_date: chrono::NaiveDate::from_ymd_opt(2030, 1, 2),
            labels: vec!["api".into()],
            story_points: Some(5.0),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            t.priority.as_deref(),
            t.due_date.map(|d| d.to_string()),
            t.story_points
        ),
        (Some("Low"), Some("2030-01-02".to_string()), Some(5.0))
    );
    assert_eq!(t.labels, vec!["api".to_string()]);
    // A closed sprint is refused before anything is created.
    let before = fake.issues.lock().unwrap().len();
    let err = jira
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Late".into(),
            sprint: Some("6".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "bad_input");
    assert!(err.to_string().contains("nothing was created"), "{err}");
    assert_eq!(fake.issues.lock().unwrap().len(), before);
    let err = jira
        .create_task(&pm_core::NewTask {
            project: "NOPE".into(),
            title: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert_eq!(err.to_string(), "Jira project NOPE was not found");
}

#[tokio::test]
async fn project_members_are_the_assignable_users_on_cloud_and_data_center() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "m"))).await
    else {
        return;
    };
    let jira = cloud(&base, "m");
    let ids =
        |p: &pm_core::Page<pm_core::User>| p.items.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
    let all = jira
        .list_project_members("EX", "", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2, "{:?}", ids(&all));
    let one = jira
        .list_project_members("P1", "", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1, "only the connection's account in P1");
    let ravi = jira
        .list_project_members("EX", "ravi", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(ravi.items.len(), 1);
    assert_eq!(ravi.items[0].name, "Ravi Sharma");
    let paged = jira
        .list_project_members("EX", "", &PageRequest::new(None, Some(1)))
        .await
        .unwrap();
    assert_eq!(paged.items.len(), 1);
    let rest = jira
        .list_project_members("EX", "", &PageRequest::new(paged.next, Some(1)))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_ne!(rest.items[0].id, paged.items[0].id);
    let missing = jira
        .list_project_members("NOPE", "", &PageRequest::new(None, None))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    assert!(missing.to_string().contains("NOPE"), "{missing}");

    let Some(Running { url: base, .. }) = spawn(Options::dc("Bearer pat-m")).await else {
        return;
    };
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(&base, true).unwrap();
    let dc = pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            (url).clone(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new("pat-m"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap();
    let all = dc
        .list_project_members("EX", "", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(ids(&all), ["mia", "ravi"]);
    let ravi = dc
        .list_project_members("EX", "rav", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(ids(&ravi), ["ravi"]);
    let one = dc
        .list_project_members("P2", "", &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(ids(&one), ["mia"]);
}

/// A transition's screen may require fields (`expand=transitions.fields`): the resolution of a
/// move to done is filled (Done where the screen allows it), and any other required field is
/// refused in words, naming it and its allowed values, before anything moves. Both editions.
#[tokio::test]
async fn transitions_fill_the_resolution_and_refuse_other_required_fields() {
    for dc in [false, true] {
        let Some(fake) = (if dc {
            spawn(Options::dc("Bearer pat-t")).await
        } else {
            spawn(Options::cloud(&basic("mia@example.com", "t"))).await
        }) else {
            return;
        };
        let base = fake.url.clone();
        let jira = if dc {
            data_center(&base, "pat-t")
        } else {
            cloud(&base, "t")
        };
        // EX-1 is In Progress; its move to Done has the resolve screen.
        let done = jira.transition_task("EX-1", "Done").await.unwrap();
        assert_eq!(done.status.name, "Done", "dc={dc}");
        assert_eq!(
            fake.resolutions
                .lock()
                .unwrap()
                .get("EX-1")
                .map(String::as_str),
            Some("Done"),
            "dc={dc}"
        );
        // Reopening asks for a reason pm-mcp cannot choose: refused before the POST.
        let err = jira.transition_task("EX-1", "To Do").await.unwrap_err();
        assert_eq!(err.kind(), "bad_input", "dc={dc}: {err}");
        let text = err.to_string();
        for part in [
            "Reopen reason",
            "Regression, Incomplete",
            "nothing was changed",
        ] {
            assert!(text.contains(part), "dc={dc}: {text}");
        }
        assert_eq!(
            fake.recorder
                .hits()
                .iter()
                .filter(|h| h.method == "POST" && h.path.ends_with("/transitions"))
                .count(),
            1,
            "dc={dc}"
        );
        let still = fake
            .issues
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.key == "EX-1")
            .map(|i| i.status.0)
            .unwrap();
        assert_eq!(still, "Done", "dc={dc}");
    }
}

/// Jira Cloud refuses an ADF document with an empty text node (400 `INVALID_INPUT`); Markdown
/// with an empty code block or a link without text is still written, as real ADF nodes, and a
/// table, quote, rule and nested list come back as the Markdown they were.
#[tokio::test]
async fn cloud_rich_text_is_valid_adf_and_reads_back_as_written() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let md = "Logs:\n\n```\n```\n\nSee [](https://status.example.com)\n\n> quoted\n\n---\n\n- a\n  - b\n\n| k | v |\n| --- | --- |\n| x | 1 |";
    let t = jira
        .create_task(&pm_core::NewTask {
            project: "EX".into(),
            title: "Rich".into(),
            description: Some(md.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        t.description.as_deref(),
        Some(
            "Logs:\n\n```\n```\n\nSee [https://status.example.com](https://status.example.com)\n\n> quoted\n\n---\n\n- a\n  - b\n\n| k | v |\n| --- | --- |\n| x | 1 |"
        )
    );
    let sent = fake.bodies.lock().unwrap().last().cloned().unwrap().1;
    let kinds: Vec<&str> = sent["fields"]["description"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "paragraph",
            "codeBlock",
            "paragraph",
            "blockquote",
            "rule",
            "bulletList",
            "table"
        ]
    );
    // A quote holds only what ADF lets it (paragraphs, lists, code): a heading in it is bold
    // text, a quote in it is part of it.
    let quoted = jira
        .add_comment(&t.id, "> # Title\n> > inner\n> - item")
        .await
        .unwrap();
    assert_eq!(quoted.body, "> **Title**\n>\n> inner\n>\n> - item");
    let nested = jira
        .add_comment(&t.id, "- step\n  > why\n  ## Note")
        .await
        .unwrap();
    assert_eq!(nested.body, "- step\n  why\n  **Note**");
    let c = jira
        .add_comment(&t.id, "[](https://example.org)")
        .await
        .unwrap();
    assert_eq!(c.body, "[https://example.org](https://example.org)");
}

/// A Data Center description in wiki markup reads as Markdown, and written back as read it is
/// the same wiki text (nothing a round trip through pm-mcp may change).
#[tokio::test]
async fn data_center_wiki_descriptions_read_as_markdown_and_write_back_unchanged() {
    let Some(fake) = spawn(Options::dc("Bearer pat-r")).await else {
        return;
    };
    let base = fake.url.clone();
    let dc = data_center(&base, "pat-r");
    let t = dc.get_task("EX-5").await.unwrap();
    let md = t.description.unwrap();
    assert_eq!(
        md,
        "### Context\nSeen on **Safari** and *Firefox*, ~~only on v2~~; see [the log](https://logs.example.com/5).\n\n- open `/cart`\n  - pay\n- retry\n\n1. one\n2. two\n\n| Browser | Fails |\n| --- | --- |\n| Safari | yes |\n\n{color:red}urgent{color} and \\{braces\\}"
    );
    dc.update_task(
        "EX-5",
        &pm_core::TaskChange {
            description: Some(md),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let stored = fake
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == "EX-5")
        .map(|i| i.description.clone())
        .unwrap();
    assert_eq!(
        stored,
        serde_json::json!(pm_testkit::fake_jira::DC_WIKI_DESCRIPTION)
    );
}

/// A project's sprints are on the board located in it, not on the first board that shows the
/// project (Portfolio, 12, located in P2, lists EX too); the choice is said, and board_id picks
/// another. A team-managed project's `simple` board has sprints when its Sprints feature is on.
#[tokio::test]
async fn sprints_are_on_the_projects_own_board_and_any_board_can_be_named() {
    use pm_core::SprintState;
    for dc in [false, true] {
        let Some(Running { url: base, .. }) = (if dc {
            spawn(Options::dc("Bearer pat-b")).await
        } else {
            spawn(Options::cloud(&basic("mia@example.com", "t"))).await
        }) else {
            return;
        };
        let jira = if dc {
            data_center(&base, "pat-b")
        } else {
            cloud(&base, "t")
        };
        let page = PageRequest::new(None, None);
        let ex = jira
            .list_board_sprints("EX", None, &[], &page)
            .await
            .unwrap();
        let ids: Vec<&str> = ex.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["6", "7", "8"], "dc={dc}");
        let notes = ex.items[0].notes.join(" ");
        assert!(
            notes.contains("board 84 (EX board)") && notes.contains("board 12 (Portfolio)"),
            "dc={dc}: {notes}"
        );
        // The caller names a board: the cross-project one has no sprints yet; a Kanban board
        // has none at all.
        let portfolio = jira
            .list_board_sprints("EX", Some("12"), &[], &page)
            .await
            .unwrap();
        assert!(portfolio.items.is_empty(), "dc={dc}");
        let kanban = jira
            .list_board_sprints("EX", Some("92"), &[SprintState::Active], &page)
            .await
            .unwrap_err();
        assert!(kanban.to_string().contains("Kanban"), "dc={dc}: {kanban}");
        let planned = jira
            .create_board_sprint(
                &pm_core::NewSprint {
                    project: "EX".into(),
                    name: "Portfolio 1".into(),
                    ..Default::default()
                },
                Some("12"),
            )
            .await
            .unwrap();
        assert_eq!(planned.board_id.as_deref(), Some("12"), "dc={dc}");
        // Team-managed: the simple board, with sprints (P3) or with the feature off (P4).
        let tm = jira
            .create_sprint(&pm_core::NewSprint {
                project: "P3".into(),
                name: "TM 1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(tm.board_id.as_deref(), Some("95"), "dc={dc}");
        let off = jira.list_sprints("P4", &[], &page).await.unwrap_err();
        assert_eq!(off.kind(), "bad_input", "dc={dc}");
        // Cloud: a team-managed project without its Sprints feature; Data Center (which has no
        // team-managed projects): a project with only a Kanban board.
        let why = if dc {
            "no Scrum board"
        } else {
            "Sprints feature"
        };
        assert!(off.to_string().contains(why), "dc={dc}: {off}");
        let none = jira.list_sprints("P1", &[], &page).await.unwrap_err();
        assert!(
            none.to_string().contains("no Scrum board"),
            "dc={dc}: {none}"
        );
    }
}

/// The story points of a project are its board's estimation field: the site has both "Story
/// Points" and "Story point estimate", and P5's board estimates with the first while EX's uses
/// the second; each is written where its project's screens take it and read back.
#[tokio::test]
async fn story_points_go_to_the_field_the_projects_board_estimates_with() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    let t = jira
        .create_task(&pm_core::NewTask {
            project: "P5".into(),
            title: "Pointed".into(),
            story_points: Some(5.0),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(t.story_points, Some(5.0));
    let sent = fake.bodies.lock().unwrap().last().cloned().unwrap().1;
    assert_eq!(sent["fields"]["customfield_10026"], 5.0, "{sent}");
    let changed = jira
        .update_task(
            &t.id,
            &pm_core::TaskChange {
                story_points: Some(8.0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.story_points, Some(8.0));
    assert_eq!(
        fake.recorder
            .hits()
            .iter()
            .filter(|h| h.method == "GET"
                && h.path.starts_with("/rest/agile/1.0/board/")
                && h.path.ends_with("/configuration"))
            .count(),
        1,
        "read once"
    );
    // A fresh client reads P5's points without knowing the board yet.
    let fresh = cloud(&base, "t");
    assert_eq!(fresh.get_task(&t.id).await.unwrap().story_points, Some(8.0));
    assert_eq!(
        fresh.get_task("EX-3").await.unwrap().story_points,
        Some(4.0)
    );
    // Analytics read the field P5's board estimates with, not the site's "Story point estimate".
    // (The client that wrote it: Cloud's search index lags writes it does not reconcile.)
    let history = jira
        .project_history("P5", chrono::Utc::now() - chrono::Duration::days(1), 50)
        .await
        .unwrap();
    let item = history.items.iter().find(|i| i.id == t.id).unwrap();
    assert_eq!(item.points, Some(8.0));
    assert_eq!(item.points_changes.last().and_then(|c| c.to), Some(8.0));
    assert_eq!(
        history.source.points_field.as_deref(),
        Some("customfield_10026")
    );
}

/// A project is created from Jira's Scrum template, so it has a board and sprints at once; a
/// completed sprint's unfinished tasks go back to the backlog, and the result says so.
#[tokio::test]
async fn new_projects_get_a_board_and_completed_sprints_say_what_went_back() {
    for dc in [false, true] {
        let Some(fake) = (if dc {
            spawn(Options::dc("Bearer pat-p")).await
        } else {
            spawn(Options::cloud(&basic("mia@example.com", "t"))).await
        }) else {
            return;
        };
        let base = fake.url.clone();
        let jira = if dc {
            data_center(&base, "pat-p")
        } else {
            cloud(&base, "t")
        };
        let p = jira
            .create_project("Mobile", Some("MOB"), None)
            .await
            .unwrap();
        assert_eq!(p.id, "MOB");
        let s = jira
            .create_sprint(&pm_core::NewSprint {
                project: "MOB".into(),
                name: "MOB 1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(s.name, "MOB 1", "dc={dc}");

        let done = jira.complete_sprint("7").await.unwrap();
        assert_eq!(fake.moved_to_backlog.lock().unwrap()[&7], 4, "dc={dc}");
        let notes = done.notes.join(" ");
        assert!(
            notes.contains("4 unfinished task(s) went back to the backlog")
                && notes.contains("EX-1, EX-3, EX-4, EX-6"),
            "dc={dc}: {notes}"
        );
    }
}

/// Cloud: an issue's epic is its `parent` (the Agile epic endpoint refuses team-managed
/// projects); set and cleared on a team-managed project (P3) and a company-managed one (EX).
/// Data Center keeps the Agile endpoint (Epic Link).
#[tokio::test]
async fn cloud_epics_are_the_parent_field_in_every_project() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base, "t");
    for project in ["P3", "EX"] {
        let new = |title: &str, kind: Option<&str>| pm_core::NewTask {
            project: project.into(),
            title: title.into(),
            task_type: kind.map(str::to_string),
            ..Default::default()
        };
        let epic = jira
            .create_task(&new("Payments", Some("Epic")))
            .await
            .unwrap();
        let task = jira.create_task(&new("Refunds", None)).await.unwrap();
        jira.set_epic(&task.id, Some(&epic.id)).await.unwrap();
        let read = jira.get_task(&task.id).await.unwrap();
        assert_eq!(
            read.parent_id.as_deref(),
            Some(epic.id.as_str()),
            "{project}"
        );
        let sent = fake.bodies.lock().unwrap().last().cloned().unwrap();
        assert_eq!(sent.0, format!("PUT issue/{}", task.id), "{project}");
        assert_eq!(
            sent.1["fields"]["parent"]["key"],
            epic.id.as_str(),
            "{project}"
        );
        jira.set_epic(&task.id, None).await.unwrap();
        assert_eq!(
            jira.get_task(&task.id).await.unwrap().parent_id,
            None,
            "{project}"
        );
    }
}

/// Data Center names a user by the username everywhere (watchers, JQL, project lead); the
/// fake's users have keys (`JIRAUSER10100`) that differ, which Jira refuses where a username
/// belongs ("User 'JIRAUSER…' does not exist").
#[tokio::test]
async fn data_center_users_are_usernames_in_watchers_searches_and_leads() {
    let Some(fake) = spawn(Options::dc("Bearer pat-u")).await else {
        return;
    };
    let base = fake.url.clone();
    let dc = data_center(&base, "pat-u");
    let ravi = dc
        .list_users("ravi", &PageRequest::new(None, None))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(ravi.id, "ravi");
    dc.add_watcher("EX-1", &ravi.id).await.unwrap();
    let watchers = fake
        .issues
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.key == "EX-1")
        .map(|i| i.watchers.clone())
        .unwrap();
    assert_eq!(watchers, ["ravi"]);
    let by_key = dc.add_watcher("EX-1", "JIRAUSER10200").await.unwrap_err();
    assert_eq!(by_key.kind(), "not_found", "{by_key}");
    let mine = all_tasks(
        dc.as_ref(),
        &pm_core::TaskQuery {
            assignee: Some(pm_core::Assignee::User("mia".into())),
            ..Default::default()
        },
        50,
    )
    .await;
    assert_eq!(mine.len(), 6);
    assert!(
        mine.iter()
            .all(|t| t.assignee.as_ref().is_some_and(|a| a.id == "mia"))
    );
    let err = dc
        .search_tasks(
            &pm_core::TaskQuery {
                assignee: Some(pm_core::Assignee::User("JIRAUSER10100".into())),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Jira user JIRAUSER10100 was not found");
    // The lead of a new project is the caller's username (Jira refuses a key there too).
    let p = dc
        .create_project("Lead Check", Some("LEAD"), None)
        .await
        .unwrap();
    assert_eq!(p.lead.map(|u| u.id).as_deref(), Some("mia"));
}

/// Cloud: a task goes only under an epic (Jira refuses another parent: "Given parent issue does
/// not belong to appropriate hierarchy"), said in words.
#[tokio::test]
async fn cloud_refuses_a_parent_that_is_not_an_epic() {
    let Some(Running { url: base, .. }) =
        spawn(Options::cloud(&basic("mia@example.com", "t"))).await
    else {
        return;
    };
    let jira = cloud(&base, "t");
    let err = jira.set_epic("EX-1", Some("EX-2")).await.unwrap_err();
    assert_eq!(err.kind(), "bad_input", "{err}");
    assert!(err.to_string().contains("EX-2 is not an epic"), "{err}");
    assert_eq!(jira.get_task("EX-1").await.unwrap().parent_id, None);
}

/// A board is Jira's: another tracker refuses `board_id` in words, before any request.
#[tokio::test]
async fn other_trackers_refuse_a_board_before_any_request() {
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    // Nothing listens there: a request would fail as a network error, not as unsupported.
    let url = BaseUrl::parse("http://127.0.0.1:9", true).unwrap();
    for kind in [ProviderKind::Redmine, ProviderKind::OpenProject] {
        let p = pm_providers::connect(
            client.clone(),
            &pm_core::ConnectionSpec::stored(
                kind,
                (url).clone(),
                kind.default_auth_kind(),
                None,
                pm_core::Secret::new("key"),
                pm_core::ConnectionOptions::default(),
            )
            .expect("spec"),
            settings(),
        )
        .unwrap();
        let listed = p
            .list_board_sprints("demo", Some("84"), &[], &PageRequest::new(None, None))
            .await
            .unwrap_err();
        assert_eq!(listed.kind(), "unsupported", "{kind}: {listed}");
        assert!(
            listed
                .to_string()
                .starts_with("choosing a board (board_id) is not supported by"),
            "{listed}"
        );
        let created = p
            .create_board_sprint(
                &pm_core::NewSprint {
                    project: "demo".into(),
                    name: "S".into(),
                    ..Default::default()
                },
                Some("84"),
            )
            .await
            .unwrap_err();
        assert_eq!(created.kind(), "unsupported", "{kind}: {created}");
    }
}

/// Jira Software treats a board's last column as "Done", whatever its statuses' categories: on a
/// board whose last column also holds In Progress, a completed sprint's In Progress issues stay
/// done, and only the others are said to have gone back to the backlog.
#[tokio::test]
async fn completed_sprints_count_what_is_not_in_the_boards_last_column() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    fake.boards
        .lock()
        .unwrap()
        .iter_mut()
        .filter(|b| b.id == 84)
        .for_each(|b| b.done = vec!["3", "10001"]);
    let to_do = fake
        .issues
        .lock()
        .unwrap()
        .iter()
        .filter(|i| i.sprint == Some(7) && i.status.0 == "To Do")
        .count();
    let done = cloud(&base, "t").complete_sprint("7").await.unwrap();
    let moved = fake.moved_to_backlog.lock().unwrap()[&7];
    assert_eq!(moved, to_do);
    assert!(moved < 4, "In Progress is in the Done column: {moved}");
    let notes = done.notes.join(" ");
    assert!(
        notes.contains(&format!(
            "{moved} unfinished task(s) went back to the backlog"
        )),
        "{notes}"
    );
}
