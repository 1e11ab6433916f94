//! Contract test: every kind of request the Jira Cloud client makes is sent once to Stoplight Prism
//! serving Atlassian's published OpenAPI documents (platform v3 and Agile 1.0, from
//! ../shared/specs), and Prism must find no violation in any of them. Prism answers with the
//! specs' examples and keeps no state, so operations may fail afterwards on an example's content;
//! what is checked is that the requests themselves have the documented shape.
//! Needs `PM_MCP_PRISM` (the prism binary; `scripts/test` sets it); skipped without it.
#![allow(clippy::unwrap_used)] // test code

use std::time::Duration;

use chrono::{TimeZone, Utc};
use pm_core::{
    AuthKind, BaseUrl, NewSprint, NewTask, PageRequest, ProviderKind, SprintChange, SprintState,
    TaskChange, TaskQuery,
};
use pm_providers::HttpSettings;
use pm_testkit::prism;

#[tokio::test]
async fn every_jira_cloud_request_matches_the_published_specs() {
    let Ok(bin) = std::env::var("PM_MCP_PRISM") else {
        eprintln!("PM_MCP_PRISM not set: contract test skipped (scripts/test runs it)");
        return;
    };
    let specs = pm_testkit::fake_jira::spec_dir();
    let platform = prism::start(&bin, &specs.join("jira-platform-v3.json")).await;
    let agile = prism::start(&bin, &specs.join("jira-software-agile-1.0.json")).await;
    let (addr, log) = prism::proxy(vec![
        // Atlassian's Agile document lists only OAuth 2.0, though Jira Cloud takes API tokens
        // (Basic) there too; present a bearer so Prism checks everything but that scheme.
        prism::Route {
            prefix: "/rest/agile/".into(),
            base: agile.base.clone(),
            authorization: Some("Bearer contract-test".into()),
        },
        prism::Route {
            prefix: "/".into(),
            base: platform.base.clone(),
            authorization: None,
        },
    ])
    .await;

    let settings = HttpSettings {
        timeout: Duration::from_secs(20),
        max_attempts: 1,
        max_concurrency_per_connection: 4,
    };
    let client = pm_providers::http::shared_client(&settings).unwrap();
    let url = BaseUrl::parse(&addr, true).unwrap();
    let jira = pm_providers::build(
        client,
        ProviderKind::JiraCloud,
        &url,
        AuthKind::Basic,
        Some("mia@example.com".into()),
        "tok",
        settings,
        None,
    )
    .unwrap();

    let page = PageRequest::new(None, Some(5));
    let when = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut failures: Vec<String> = Vec::new();
    macro_rules! run {
        ($name:literal, $e:expr) => {
            if let Err(e) = $e.await {
                failures.push(format!("{}: {e}", $name));
            }
        };
    }
    run!("whoami", jira.whoami());
    run!("site", jira.site());
    run!("list_projects", jira.list_projects(&page));
    run!("search_projects", jira.search_projects("ex", &page));
    run!("get_project", jira.get_project("EX"));
    run!(
        "create_project",
        jira.create_project("Example Two", Some("EXT"), Some("a project"))
    );
    run!(
        "update_project",
        jira.update_project("EX", Some("Example"), None)
    );
    run!("delete_project", jira.delete_project("EXT"));
    run!(
        "search_tasks",
        jira.search_tasks(
            &TaskQuery {
                project: Some("EX".into()),
                statuses: vec!["To Do".into()],
                ..Default::default()
            },
            &page
        )
    );
    run!("get_task", jira.get_task("EX-1"));
    let new = NewTask {
        project: "EX".into(),
        title: "Checkout fails".into(),
        description: Some("**Steps**\n\n- pay".into()),
        due_date: Some(when.date_naive()),
        labels: vec!["web".into()],
        ..Default::default()
    };
    run!("create_task", jira.create_task(&new));
    let change = TaskChange {
        title: Some("New title".into()),
        description: Some("More *detail*".into()),
        assignee: Some(Some("5b10a2844c20165700ede21g".into())),
        estimated_hours: Some(2.0),
        ..Default::default()
    };
    run!("update_task", jira.update_task("EX-1", &change));
    run!(
        "transition_task",
        jira.transition_task("EX-1", "In Progress")
    );
    run!(
        "assign_task",
        jira.assign_task("EX-1", Some("5b10a2844c20165700ede21g"))
    );
    run!("add_comment", jira.add_comment("EX-1", "Looks **good**"));
    run!("list_comments", jira.list_comments("EX-1", &page));
    run!(
        "log_work",
        jira.log_work("EX-1", 5400, when, Some("debugging"))
    );
    run!("list_worklogs", jira.list_worklogs("EX-1", &page));
    run!(
        "add_watcher",
        jira.add_watcher("EX-1", "5b10a2844c20165700ede21g")
    );
    run!("link_tasks", jira.link_tasks("EX-1", "EX-2", "Blocks"));
    run!("delete_task", jira.delete_task("EX-2"));
    run!("list_users", jira.list_users("mia", &page));
    run!("get_user", jira.get_user("5b10a2844c20165700ede21g"));
    run!("list_epics", jira.list_epics("EX", &page));
    run!("set_epic", jira.set_epic("EX-1", Some("EX-7")));
    run!("unset_epic", jira.set_epic("EX-1", None));
    run!(
        "list_sprints",
        jira.list_sprints("EX", &[SprintState::Active], &page)
    );
    run!("get_sprint", jira.get_sprint("37"));
    run!(
        "create_sprint",
        jira.create_sprint(&NewSprint {
            project: "EX".into(),
            name: "Sprint 9".into(),
            start: Some(when),
            end: Some(when + chrono::Duration::days(14)),
            goal: Some("ship".into())
        })
    );
    run!(
        "update_sprint",
        jira.update_sprint(
            "37",
            &SprintChange {
                name: Some("Sprint 9b".into()),
                ..Default::default()
            }
        )
    );
    run!("complete_sprint", jira.complete_sprint("37"));
    run!("delete_sprint", jira.delete_sprint("37"));

    let seen = log.lock().unwrap().clone();
    prism::judge(&seen, &failures, &|_, _| false, 25);
}

/// The ClickUp client against Prism serving ClickUp's published API v2 document: every kind of
/// request is sent once and none may be rejected. The connection's workspace is the one team of the
/// document's `GET /v2/team` example.
#[tokio::test]
async fn every_clickup_request_matches_the_published_spec() {
    let Ok(bin) = std::env::var("PM_MCP_PRISM") else {
        eprintln!("PM_MCP_PRISM not set: contract test skipped (scripts/test runs it)");
        return;
    };
    let specs = pm_testkit::fake_jira::spec_dir();
    let mock = prism::start(&bin, &specs.join("clickup-v2.json")).await;
    let (addr, log) = prism::proxy(vec![prism::Route {
        prefix: "/".into(),
        base: mock.base.clone(),
        authorization: None,
    }])
    .await;

    let settings = HttpSettings {
        timeout: Duration::from_secs(20),
        max_attempts: 1,
        max_concurrency_per_connection: 4,
    };
    let client = pm_providers::http::shared_client(&settings).unwrap();
    // The mock serves the document's paths, which start with /v2.
    let url = BaseUrl::parse(&format!("{addr}/v2"), true).unwrap();
    let cu = pm_providers::build(
        client,
        ProviderKind::ClickUp,
        &url,
        AuthKind::ApiKey,
        None,
        "pk_contract_token",
        settings,
        None,
    )
    .unwrap();

    let page = PageRequest::new(None, Some(5));
    let when = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut failures: Vec<String> = Vec::new();
    macro_rules! run {
        ($name:literal, $e:expr) => {
            if let Err(e) = $e.await {
                failures.push(format!("{}: {e}", $name));
            }
        };
    }
    run!("whoami", cu.whoami());
    run!("site", cu.site());
    run!("list_projects", cu.list_projects(&page));
    run!("search_projects", cu.search_projects("space", &page));
    run!("get_project", cu.get_project("790"));
    run!("create_project", cu.create_project("Mobile", None, None));
    run!(
        "update_project",
        cu.update_project("790", Some("Product"), None)
    );
    run!("delete_project", cu.delete_project("791"));
    run!(
        "search_tasks (project, status)",
        cu.search_tasks(
            &TaskQuery {
                project: Some("790".into()),
                statuses: vec!["to do".into()],
                ..Default::default()
            },
            &page
        )
    );
    run!(
        "search_tasks (mine)",
        cu.search_tasks(
            &TaskQuery {
                assignee: Some(pm_core::Assignee::Me),
                ..Default::default()
            },
            &page
        )
    );
    run!(
        "search_tasks (sprint)",
        cu.search_tasks(
            &TaskQuery {
                sprint: Some("124".into()),
                statuses: vec!["complete".into()],
                ..Default::default()
            },
            &page
        )
    );
    run!("get_task", cu.get_task("9hx"));
    let new = NewTask {
        project: "790".into(),
        title: "Checkout fails".into(),
        description: Some("**Steps**\n\n- pay".into()),
        priority: Some("high".into()),
        assignee: Some("183".into()),
        due_date: Some(when.date_naive()),
        labels: vec!["web".into()],
        task_type: Some("Bug".into()),
        parent: Some("9hv".into()),
    };
    run!("create_task", cu.create_task(&new));
    let change = TaskChange {
        title: Some("New title".into()),
        description: Some("More *detail*".into()),
        priority: Some("low".into()),
        assignee: Some(Some("183".into())),
        due_date: Some(when.date_naive()),
        estimated_hours: Some(2.0),
        story_points: Some(3.0),
        labels: Some(vec!["api".into()]),
        sprint: Some("124".into()),
    };
    run!("update_task", cu.update_task("9hx", &change));
    run!("transition_task", cu.transition_task("9hx", "complete"));
    run!("assign_task", cu.assign_task("9hx", Some("183")));
    run!("add_comment", cu.add_comment("9hx", "Looks **good**"));
    run!("list_comments", cu.list_comments("9hx", &page));
    run!(
        "log_work",
        cu.log_work("9hx", 5400, when, Some("debugging"))
    );
    run!("list_worklogs", cu.list_worklogs("9hx", &page));
    run!("add_watcher", cu.add_watcher("9hx", "183"));
    run!(
        "link_tasks (relates)",
        cu.link_tasks("9hx", "9hz", "relates")
    );
    run!("link_tasks (blocks)", cu.link_tasks("9hx", "9hz", "blocks"));
    run!("delete_task", cu.delete_task("9hz"));
    run!("list_users", cu.list_users("john", &page));
    run!("get_user", cu.get_user("123"));
    run!("list_epics", cu.list_epics("790", &page));
    run!("set_epic", cu.set_epic("9hx", Some("9hv")));
    run!(
        "list_sprints",
        cu.list_sprints("790", &[SprintState::Active], &page)
    );
    run!("get_sprint", cu.get_sprint("124"));
    run!(
        "create_sprint",
        cu.create_sprint(&NewSprint {
            project: "790".into(),
            name: "Sprint 9".into(),
            end: Some(when + chrono::Duration::days(14)),
            goal: Some("ship".into()),
            ..Default::default()
        })
    );
    run!(
        "update_sprint",
        cu.update_sprint(
            "124",
            &SprintChange {
                name: Some("Sprint 9b".into()),
                end: Some(when),
                ..Default::default()
            }
        )
    );
    run!("delete_sprint", cu.delete_sprint("124"));

    let seen = log.lock().unwrap().clone();
    // One known exception: the document marks every setting of a space required on update,
    // though ClickUp takes a partial one; a rename sends back the settings the space reports,
    // and where ClickUp reports no colour or admin setting (as its own example space) pm-mcp
    // invents none.
    let unreported_setting = |s: &prism::Seen, problem: &str| {
        s.method == "PUT"
            && s.path.starts_with("/v2/space/")
            && (problem == "Request body must have required property 'color'"
                || problem == "Request body must have required property 'admin_can_manage'")
    };
    prism::judge(&seen, &failures, &unreported_setting, 25);
}
