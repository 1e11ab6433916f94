//! Contract tests: every kind of request each client makes (Jira Cloud, ClickUp, OpenProject) is
//! sent to Stoplight Prism serving the provider's published OpenAPI documents (from
//! ../shared/specs), and Prism must find no violation in any of them — save the documents' own
//! flaws each test names. Prism answers with the specs' examples and keeps no state, so operations
//! may fail afterwards on an example's content; what is checked is that the requests themselves
//! have the documented shape. Each operation must also send exactly the requests (method and
//! path, in order) its `run!` lists, as derived from the provider's code.
//! Needs `PM_MCP_PRISM` (the prism binary; `scripts/test` sets it); skipped without it.
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pm_core::{
    Assignee, AuthKind, BaseUrl, NewSprint, NewTask, PageRequest, Provider, ProviderKind,
    SprintChange, SprintState, TaskChange, TaskQuery,
};
use pm_providers::HttpSettings;
use pm_testkit::prism;

/// A client for the recording proxy at `base`: one attempt per request (a mock's refusal is not
/// retried), a 20 s timeout.
fn client(
    kind: ProviderKind,
    base: &str,
    auth: AuthKind,
    username: Option<&str>,
    token: &str,
) -> Arc<dyn Provider> {
    let settings = HttpSettings {
        timeout: Duration::from_secs(20),
        max_attempts: 1,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &pm_core::ConnectionSpec::stored(
            kind,
            BaseUrl::parse(base, true).unwrap(),
            auth,
            username.map(str::to_string),
            pm_core::Secret::new(token),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings,
    )
    .unwrap()
}

/// Runs one operation; one that ends in an error after its requests (on the examples' data) is
/// noted in `failures` for the report, not failed: the requests are what is judged. What the
/// operation sent is checked twice: against its kind (`sent_as_its_kind`), and request by request
/// against `$want`, the `"METHOD /path"` of every request it should send, in order
/// (`sent_as_expected`). Reads of set-up data a provider fetches once and caches (a field or
/// status list) appear in the list of the first operation that fetches them. A misfit is
/// recorded in `failures` with a `CONTRACT:` mark, and `judged` fails the test on any.
macro_rules! run {
    ($failures:ident, $log:ident, $name:literal, [$($want:literal),* $(,)?], $e:expr) => {
        let before = $log.lock().unwrap().len();
        let result = $e.await;
        let sent: Vec<(String, String)> = $log.lock().unwrap()[before..]
            .iter()
            .map(|s| (s.method.clone(), s.path.clone()))
            .collect();
        eprintln!(
            "{}: {}",
            $name,
            sent.iter()
                .map(|(m, p)| format!("{m} {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let refused_early = result
            .as_ref()
            .err()
            .map(|e| matches!(e.kind(), "unsupported" | "bad_input"));
        if let Err(why) = sent_as_its_kind($name, &sent, refused_early) {
            $failures.push(format!("CONTRACT: {}: {why}", $name));
        }
        let want: &[&str] = &[$($want),*];
        if let Err(why) = sent_as_expected(want, &sent) {
            $failures.push(format!("CONTRACT: {}: {why}", $name));
        }
        if let Err(e) = result {
            $failures.push(format!("{}: {e}", $name));
        }
    };
}

/// Whether a request is the one `pattern` (`"METHOD /path"`) describes: the same method and the
/// same path, where a `{}` segment stands for any one segment (an id the test cannot know, as one
/// taken from an answer of the mock).
fn matches_pattern(pattern: &str, method: &str, path: &str) -> bool {
    let Some((want_method, want_path)) = pattern.split_once(' ') else {
        panic!("a request pattern is \"METHOD /path\": {pattern:?}");
    };
    let want: Vec<&str> = want_path.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    want_method == method
        && want.len() == got.len()
        && want
            .iter()
            .zip(&got)
            .all(|(w, g)| *w == *g || (*w == "{}" && !g.is_empty()))
}

/// Whether an operation sent exactly the requests `want` lists, in that order: every pattern
/// matched by the request at its place, and no request beyond them.
fn sent_as_expected(want: &[&str], sent: &[(String, String)]) -> Result<(), String> {
    let shown = |sent: &[(String, String)]| -> Vec<String> {
        sent.iter().map(|(m, p)| format!("{m} {p}")).collect()
    };
    for (i, pattern) in want.iter().enumerate() {
        match sent.get(i) {
            Some((m, p)) if matches_pattern(pattern, m, p) => {}
            Some((m, p)) => {
                return Err(format!(
                    "request {} should be {pattern}, was {m} {p}; sent {:?}",
                    i + 1,
                    shown(sent)
                ));
            }
            None => {
                return Err(format!(
                    "did not send {pattern} (request {}); sent {:?}",
                    i + 1,
                    shown(sent)
                ));
            }
        }
    }
    if sent.len() > want.len() {
        return Err(format!(
            "sent more than expected: {:?} after {want:?}",
            shown(&sent[want.len()..])
        ));
    }
    Ok(())
}

/// Whether the requests an operation sent fit what its name says: every operation reaches the
/// tracker (unless the provider refused it as unsupported or bad input before sending); reads
/// send no write (POST only to a search endpoint); creates, updates and other writes send at
/// least one write; deletes send a DELETE.
fn sent_as_its_kind(
    name: &str,
    sent: &[(String, String)],
    refused_early: Option<bool>,
) -> Result<(), String> {
    if sent.is_empty() {
        return match refused_early {
            Some(true) => Ok(()),
            _ => Err("sent no request to the tracker".into()),
        };
    }
    let writes: Vec<&(String, String)> = sent.iter().filter(|(m, _)| m != "GET").collect();
    let read = [
        "get_",
        "list_",
        "search_",
        "whoami",
        "site",
        "sprint_history",
        "project_history",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    if read {
        let searchish = |path: &str| {
            ["search", "jql", "bulkfetch", "/query"]
                .iter()
                .any(|w| path.contains(w))
        };
        if let Some((m, path)) = writes
            .iter()
            .find(|(m, path)| m != "POST" || !searchish(path))
        {
            return Err(format!("a read sent {m} {path}"));
        }
        return Ok(());
    }
    if name.starts_with("delete_") {
        return match sent.iter().any(|(m, _)| m == "DELETE") {
            true => Ok(()),
            false => Err(format!("a delete sent no DELETE: {sent:?}")),
        };
    }
    if writes.is_empty() && refused_early != Some(true) {
        return Err(format!("a write sent only reads: {sent:?}"));
    }
    Ok(())
}

/// Fails on any operation whose requests did not fit its kind.
fn judged(failures: &[String]) {
    let wrong: Vec<&String> = failures
        .iter()
        .filter(|f| f.starts_with("CONTRACT:"))
        .collect();
    assert!(
        wrong.is_empty(),
        "operations whose requests do not fit them: {wrong:#?}"
    );
}

#[tokio::test]
async fn every_jira_cloud_request_matches_the_published_specs() {
    let Ok(bin) = std::env::var("PM_MCP_PRISM") else {
        pm_testkit::skip(
            "the contract test (scripts/test runs it)",
            "PM_MCP_PRISM is not set",
        );
        return;
    };
    let Some(specs) = pm_testkit::specs_for("the contract tests") else {
        return;
    };
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

    let jira = client(
        ProviderKind::JiraCloud,
        &addr,
        AuthKind::Basic,
        Some("mia@example.com"),
        "tok",
    );

    let page = PageRequest::new(None, Some(5));
    let when = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut failures: Vec<String> = Vec::new();
    run!(
        failures,
        log,
        "whoami",
        ["GET /rest/api/3/myself"],
        jira.whoami()
    );
    run!(
        failures,
        log,
        "site",
        ["GET /rest/api/3/serverInfo"],
        jira.site()
    );
    run!(
        failures,
        log,
        "list_projects",
        ["GET /rest/api/3/project/search"],
        jira.list_projects(&page)
    );
    run!(
        failures,
        log,
        "search_projects",
        ["GET /rest/api/3/project/search"],
        jira.search_projects("ex", &page)
    );
    run!(
        failures,
        log,
        "get_project",
        ["GET /rest/api/3/project/EX"],
        jira.get_project("EX")
    );
    // The lead of a new project is the caller; the created project is read back.
    run!(
        failures,
        log,
        "create_project",
        [
            "GET /rest/api/3/myself",
            "POST /rest/api/3/project",
            "GET /rest/api/3/project/{}"
        ],
        jira.create_project("Example Two", Some("EXT"), Some("a project"))
    );
    run!(
        failures,
        log,
        "update_project",
        ["PUT /rest/api/3/project/EX", "GET /rest/api/3/project/EX"],
        jira.update_project("EX", Some("Example"), None)
    );
    run!(
        failures,
        log,
        "delete_project",
        ["DELETE /rest/api/3/project/EXT"],
        jira.delete_project("EXT")
    );
    // Set-up: the field list (the story points and sprint fields), fetched once and cached.
    run!(
        failures,
        log,
        "search_tasks",
        ["GET /rest/api/3/field", "POST /rest/api/3/search/jql"],
        jira.search_tasks(
            &TaskQuery {
                project: Some("EX".into()),
                statuses: vec!["To Do".into()],
                ..Default::default()
            },
            &page
        )
    );
    run!(
        failures,
        log,
        "get_task",
        ["GET /rest/api/3/issue/EX-1"],
        jira.get_task("EX-1")
    );
    let new = NewTask {
        project: "EX".into(),
        title: "Checkout fails".into(),
        description: Some("**Steps**\n\n- pay".into()),
        due_date: Some(when.date_naive()),
        labels: vec!["web".into()],
        ..Default::default()
    };
    // `{}`: the key of the example's created issue, read back.
    run!(
        failures,
        log,
        "create_task",
        ["POST /rest/api/3/issue", "GET /rest/api/3/issue/{}"],
        jira.create_task(&new)
    );
    let change = TaskChange {
        title: Some("New title".into()),
        description: Some("More *detail*".into()),
        assignee: Some(Some("5b10a2844c20165700ede21g".into())),
        estimated_hours: Some(2.0),
        ..Default::default()
    };
    run!(
        failures,
        log,
        "update_task",
        ["PUT /rest/api/3/issue/EX-1", "GET /rest/api/3/issue/EX-1"],
        jira.update_task("EX-1", &change)
    );
    run!(
        failures,
        log,
        "transition_task",
        [
            "GET /rest/api/3/issue/EX-1",
            "GET /rest/api/3/issue/EX-1/transitions",
            "POST /rest/api/3/issue/EX-1/transitions",
            "GET /rest/api/3/issue/EX-1"
        ],
        jira.transition_task("EX-1", "In Progress")
    );
    run!(
        failures,
        log,
        "assign_task",
        ["PUT /rest/api/3/issue/EX-1/assignee"],
        jira.assign_task("EX-1", Some("5b10a2844c20165700ede21g"))
    );
    run!(
        failures,
        log,
        "add_comment",
        ["POST /rest/api/3/issue/EX-1/comment"],
        jira.add_comment("EX-1", "Looks **good**")
    );
    run!(
        failures,
        log,
        "list_comments",
        ["GET /rest/api/3/issue/EX-1/comment"],
        jira.list_comments("EX-1", &page)
    );
    run!(
        failures,
        log,
        "log_work",
        ["POST /rest/api/3/issue/EX-1/worklog"],
        jira.log_work("EX-1", 5400, when, Some("debugging"))
    );
    run!(
        failures,
        log,
        "list_worklogs",
        ["GET /rest/api/3/issue/EX-1/worklog"],
        jira.list_worklogs("EX-1", &page)
    );
    run!(
        failures,
        log,
        "add_watcher",
        ["POST /rest/api/3/issue/EX-1/watchers"],
        jira.add_watcher("EX-1", "5b10a2844c20165700ede21g")
    );
    run!(
        failures,
        log,
        "link_tasks",
        ["POST /rest/api/3/issueLink"],
        jira.link_tasks("EX-1", "EX-2", "Blocks")
    );
    run!(
        failures,
        log,
        "delete_task",
        ["DELETE /rest/api/3/issue/EX-2"],
        jira.delete_task("EX-2")
    );
    run!(
        failures,
        log,
        "list_users",
        ["GET /rest/api/3/user/search"],
        jira.list_users("mia", &page)
    );
    run!(
        failures,
        log,
        "get_user",
        ["GET /rest/api/3/user"],
        jira.get_user("5b10a2844c20165700ede21g")
    );
    run!(
        failures,
        log,
        "list_epics",
        ["POST /rest/api/3/search/jql"],
        jira.list_epics("EX", &page)
    );
    run!(
        failures,
        log,
        "set_epic",
        ["PUT /rest/api/3/issue/EX-1"],
        jira.set_epic("EX-1", Some("EX-7"))
    );
    run!(
        failures,
        log,
        "unset_epic",
        ["PUT /rest/api/3/issue/EX-1"],
        jira.set_epic("EX-1", None)
    );
    // `{}`: the board of the example's answer.
    run!(
        failures,
        log,
        "list_sprints",
        [
            "GET /rest/agile/1.0/board",
            "GET /rest/agile/1.0/board/{}/sprint"
        ],
        jira.list_sprints("EX", &[SprintState::Active], &page)
    );
    // A board the caller names is read first (it must exist and have sprints).
    run!(
        failures,
        log,
        "list_board_sprints",
        [
            "GET /rest/agile/1.0/board/84",
            "GET /rest/agile/1.0/board/84/sprint"
        ],
        jira.list_board_sprints("EX", Some("84"), &[], &page)
    );
    // Story points go to the field the project's board estimates with (its configuration).
    run!(
        failures,
        log,
        "update_task_points",
        [
            "GET /rest/agile/1.0/board",
            "GET /rest/agile/1.0/board/{}/configuration",
            "PUT /rest/api/3/issue/EX-1",
            "GET /rest/api/3/issue/EX-1"
        ],
        jira.update_task(
            "EX-1",
            &TaskChange {
                story_points: Some(3.0),
                ..Default::default()
            }
        )
    );
    run!(
        failures,
        log,
        "get_sprint",
        ["GET /rest/agile/1.0/sprint/37"],
        jira.get_sprint("37")
    );
    run!(
        failures,
        log,
        "create_sprint",
        ["GET /rest/agile/1.0/board", "POST /rest/agile/1.0/sprint"],
        jira.create_sprint(&NewSprint {
            project: "EX".into(),
            name: "Sprint 9".into(),
            start: Some(when),
            end: Some(when + chrono::Duration::days(14)),
            goal: Some("ship".into())
        })
    );
    run!(
        failures,
        log,
        "update_sprint",
        ["POST /rest/agile/1.0/sprint/37"],
        jira.update_sprint(
            "37",
            &SprintChange {
                name: Some("Sprint 9b".into()),
                ..Default::default()
            }
        )
    );
    // The example sprint is not active: refused after reading it, before the POST that closes it.
    run!(
        failures,
        log,
        "complete_sprint",
        ["GET /rest/agile/1.0/sprint/37"],
        jira.complete_sprint("37")
    );
    run!(
        failures,
        log,
        "delete_sprint",
        ["DELETE /rest/agile/1.0/sprint/37"],
        jira.delete_sprint("37")
    );
    // The sprint's issues with their changelogs (`expand=changelog`; the site's statuses are
    // read once first), then the sprint's start and the issues of its projects changed since
    // then that are not in it now (those it lost mid-sprint).
    run!(
        failures,
        log,
        "sprint_history",
        [
            "GET /rest/api/3/status",
            "POST /rest/api/3/search/jql",
            "GET /rest/agile/1.0/sprint/37",
            "POST /rest/api/3/search/jql"
        ],
        jira.sprint_history("37", 50)
    );
    // The rest of long changelogs in one bulk request (the example's issue embeds none, so the
    // client is asked directly). The example answers a `nextPageToken` whatever is asked: the
    // second page repeats it, and the client stops there.
    let direct = pm_providers::jira::Jira::new(
        pm_providers::http::shared_client(&HttpSettings {
            policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
            ..HttpSettings::default()
        })
        .unwrap(),
        &pm_core::ConnectionSpec::new(
            ProviderKind::JiraCloud,
            BaseUrl::parse(&addr, true).unwrap(),
            pm_core::SignIn::Basic {
                username: "mia@example.com".into(),
                token: pm_core::Secret::new("tok"),
            },
            pm_core::ConnectionOptions::default(),
        )
        .unwrap(),
        HttpSettings {
            max_attempts: 1,
            policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
            ..HttpSettings::default()
        },
    )
    .unwrap();
    run!(
        failures,
        log,
        "sprint_history_bulk_changelogs",
        [
            "GET /rest/api/3/field",
            "POST /rest/api/3/changelog/bulkfetch",
            "POST /rest/api/3/changelog/bulkfetch"
        ],
        direct.bulk_changelogs(&["10002".to_string()])
    );

    judged(&failures);
    let seen = log.lock().unwrap().clone();
    prism::judge(&seen, &failures, &|_, _| false, 25);
}

/// The ClickUp client against Prism serving ClickUp's published API v2 document: every kind of
/// request is sent once and none may be rejected. The connection's workspace is the one team of the
/// document's `GET /v2/team` example.
#[tokio::test]
async fn every_clickup_request_matches_the_published_spec() {
    let Ok(bin) = std::env::var("PM_MCP_PRISM") else {
        pm_testkit::skip(
            "the contract test (scripts/test runs it)",
            "PM_MCP_PRISM is not set",
        );
        return;
    };
    let Some(specs) = pm_testkit::specs_for("the contract tests") else {
        return;
    };
    let mock = prism::start(&bin, &specs.join("clickup-v2.json")).await;
    let (addr, log) = prism::proxy(vec![prism::Route {
        prefix: "/".into(),
        base: mock.base.clone(),
        authorization: None,
    }])
    .await;

    // The mock serves the document's paths, which start with /v2.
    let cu = client(
        ProviderKind::ClickUp,
        &format!("{addr}/v2"),
        AuthKind::ApiKey,
        None,
        "pk_contract_token",
    );

    let page = PageRequest::new(None, Some(5));
    let when = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut failures: Vec<String> = Vec::new();
    // `{}` below stands for ids from the example's answers: the workspace (team), lists, tags.
    run!(failures, log, "whoami", ["GET /v2/user"], cu.whoami());
    run!(failures, log, "site", ["GET /v2/team"], cu.site());
    run!(
        failures,
        log,
        "list_projects",
        ["GET /v2/team/{}/space"],
        cu.list_projects(&page)
    );
    run!(
        failures,
        log,
        "search_projects",
        ["GET /v2/team/{}/space"],
        cu.search_projects("space", &page)
    );
    run!(
        failures,
        log,
        "get_project",
        ["GET /v2/space/790"],
        cu.get_project("790")
    );
    run!(
        failures,
        log,
        "create_project",
        ["POST /v2/team/{}/space"],
        cu.create_project("Mobile", None, None)
    );
    run!(
        failures,
        log,
        "update_project",
        ["GET /v2/space/790", "PUT /v2/space/790"],
        cu.update_project("790", Some("Product"), None)
    );
    run!(
        failures,
        log,
        "delete_project",
        ["DELETE /v2/space/791"],
        cu.delete_project("791")
    );
    run!(
        failures,
        log,
        "search_tasks (project, status)",
        ["GET /v2/space/790", "GET /v2/team/{}/task"],
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
        failures,
        log,
        "search_tasks (mine)",
        ["GET /v2/team/{}/task"],
        cu.search_tasks(
            &TaskQuery {
                assignee: Some(pm_core::Assignee::Me),
                ..Default::default()
            },
            &page
        )
    );
    run!(
        failures,
        log,
        "search_tasks (sprint)",
        ["GET /v2/list/124", "GET /v2/list/124/task"],
        cu.search_tasks(
            &TaskQuery {
                sprint: Some("124".into()),
                statuses: vec!["complete".into()],
                ..Default::default()
            },
            &page
        )
    );
    run!(
        failures,
        log,
        "get_task",
        ["GET /v2/task/9hx"],
        cu.get_task("9hx")
    );
    // A custom task id: asked for with `custom_task_ids=true&team_id=…`, then remembered.
    run!(
        failures,
        log,
        "get_task (custom id)",
        ["GET /v2/task/DEV-42"],
        cu.get_task("DEV-42")
    );
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
        ..Default::default()
    };
    // A subtask goes to its parent's list: the parent is read (the document's example task is
    // in space 7002367); set-up: the workspace's task types, fetched once and cached.
    run!(
        failures,
        log,
        "create_task",
        [
            "GET /v2/task/9hv",
            "GET /v2/team/{}/custom_item",
            "POST /v2/list/{}/task"
        ],
        cu.create_task(&NewTask {
            project: "7002367".into(),
            ..new.clone()
        })
    );
    // Without a parent: in the space's first folderless list.
    run!(
        failures,
        log,
        "create_task (no parent)",
        ["GET /v2/space/790/list", "POST /v2/list/{}/task"],
        cu.create_task(&NewTask {
            parent: None,
            task_type: None,
            ..new.clone()
        })
    );
    let change = TaskChange {
        title: Some("New title".into()),
        description: Some("More *detail*".into()),
        priority: Some("low".into()),
        // The spec's example workspace's member: with a sprint, membership is checked (GET
        // /v2/team) before the join.
        assignee: Some(Some("123".into())),
        due_date: Some(when.date_naive()),
        estimated_hours: Some(2.0),
        remaining_hours: None,
        story_points: Some(3.0),
        labels: Some(vec!["api".into()]),
        sprint: Some("124".into()),
    };
    run!(
        failures,
        log,
        "update_task",
        [
            "GET /v2/task/9hx",
            "GET /v2/team",
            "GET /v2/list/{}/field",
            "POST /v2/list/124/task/9hx",
            "PUT /v2/task/9hx",
            "POST /v2/task/9hx/tag/api",
            "DELETE /v2/task/9hx/tag/{}",
            "GET /v2/task/9hx"
        ],
        cu.update_task("9hx", &change)
    );
    run!(
        failures,
        log,
        "transition_task",
        ["GET /v2/task/9hx", "GET /v2/list/{}", "PUT /v2/task/9hx"],
        cu.transition_task("9hx", "complete")
    );
    run!(
        failures,
        log,
        "assign_task",
        ["GET /v2/task/9hx", "PUT /v2/task/9hx"],
        cu.assign_task("9hx", Some("183"))
    );
    run!(
        failures,
        log,
        "add_comment",
        ["POST /v2/task/9hx/comment"],
        cu.add_comment("9hx", "Looks **good**")
    );
    run!(
        failures,
        log,
        "list_comments",
        ["GET /v2/task/9hx/comment"],
        cu.list_comments("9hx", &page)
    );
    run!(
        failures,
        log,
        "log_work",
        ["POST /v2/team/{}/time_entries"],
        cu.log_work("9hx", 5400, when, Some("debugging"))
    );
    // The workspace's time entries of the task, every member's, from long before ClickUp's
    // 30-day default.
    run!(
        failures,
        log,
        "list_worklogs",
        ["GET /v2/team", "GET /v2/team/{}/time_entries"],
        cu.list_worklogs("9hx", &page)
    );
    run!(
        failures,
        log,
        "add_watcher",
        ["PUT /v2/task/9hx"],
        cu.add_watcher("9hx", "183")
    );
    run!(
        failures,
        log,
        "link_tasks (relates)",
        ["POST /v2/task/9hx/link/9hz"],
        cu.link_tasks("9hx", "9hz", "relates")
    );
    run!(
        failures,
        log,
        "link_tasks (blocks)",
        ["POST /v2/task/9hz/dependency"],
        cu.link_tasks("9hx", "9hz", "blocks")
    );
    run!(
        failures,
        log,
        "delete_task",
        ["DELETE /v2/task/9hz"],
        cu.delete_task("9hz")
    );
    run!(
        failures,
        log,
        "list_users",
        ["GET /v2/team"],
        cu.list_users("john", &page)
    );
    run!(
        failures,
        log,
        "get_user",
        ["GET /v2/team"],
        cu.get_user("123")
    );
    // The cached task types have no "Epic": refused before sending.
    run!(failures, log, "list_epics", [], cu.list_epics("790", &page));
    run!(
        failures,
        log,
        "set_epic",
        ["PUT /v2/task/9hx"],
        cu.set_epic("9hx", Some("9hv"))
    );
    // The example space has no sprint folder: refused after looking for one.
    // (The task types were read by create_task.)
    run!(
        failures,
        log,
        "list_sprints",
        ["GET /v2/space/790/folder"],
        cu.list_sprints("790", &[SprintState::Active], &page)
    );
    run!(
        failures,
        log,
        "get_sprint",
        ["GET /v2/list/124"],
        cu.get_sprint("124")
    );
    // As list_sprints: no sprint folder in the example space.
    run!(
        failures,
        log,
        "create_sprint",
        ["GET /v2/space/790/folder"],
        cu.create_sprint(&NewSprint {
            project: "790".into(),
            name: "Sprint 9".into(),
            end: Some(when + chrono::Duration::days(14)),
            goal: Some("ship".into()),
            ..Default::default()
        })
    );
    run!(
        failures,
        log,
        "update_sprint",
        ["GET /v2/list/124", "PUT /v2/list/124"],
        cu.update_sprint(
            "124",
            &SprintChange {
                name: Some("Sprint 9b".into()),
                end: Some(when),
                ..Default::default()
            }
        )
    );
    run!(
        failures,
        log,
        "delete_sprint",
        ["DELETE /v2/list/124"],
        cu.delete_sprint("124")
    );
    run!(
        failures,
        log,
        "sprint_history",
        ["GET /v2/list/124/task", "GET /v2/task/{}/time_in_status"],
        cu.sprint_history("124", 1)
    );
    run!(
        failures,
        log,
        "project_history",
        [
            "GET /v2/team/{}/task",
            "GET /v2/team/{}/task",
            "GET /v2/task/{}/time_in_status"
        ],
        cu.project_history("790", when - chrono::Duration::days(30), 100)
    );

    judged(&failures);
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
    // And one more: the document describes only the plain-text comment (`comment_text`
    // required), while ClickUp's comment formatting page (developer.clickup.com/docs/
    // comment-formatting) documents the rich `comment` array that takes its place; pm-mcp
    // sends Markdown in the rich form.
    let rich_comment = |s: &prism::Seen, problem: &str| {
        s.method == "POST"
            && s.path.starts_with("/v2/task/")
            && s.path.ends_with("/comment")
            && problem == "Request body must have required property 'comment_text'"
    };
    let documented_elsewhere =
        |s: &prism::Seen, problem: &str| unreported_setting(s, problem) || rich_comment(s, problem);
    prism::judge(&seen, &failures, &documented_elsewhere, 25);
}

/// The one place where the document asks for what no client can send: `POST /api/v3/time_entries`
/// is described with the read model (`TimeEntryModel`), whose `_links` require `self` (the entry
/// does not exist yet) and `activity` (the activities are offered only by the time-entry form,
/// whose documented request has no body). OpenProject itself applies the default activity. And
/// the document's own example of `GET /api/v3/time_entries/schema` still shows the `workPackage`
/// link of versions before `entity`, so a client that reads the site's schema (as pm-mcp does, to
/// serve every version) sends `workPackage` to the mock, where the body schema wants `entity`.
/// The time-entry form (`Time_entry_create_form`) is documented without a request body, though
/// a form validates the time entry it is given (as every OpenProject form, and as its 400
/// "InvalidRequestBody" answer says): the body it gets is refused as unexpected.
fn spec_flaw(method: &str, path: &str, violation: &str) -> bool {
    (method == "POST"
        && path == "/api/v3/time_entries"
        && ["'self'", "'activity'", "'entity'"].iter().any(|field| {
            violation == format!("Request body property _links must have required property {field}")
        }))
        || (method == "POST"
            && path == "/api/v3/time_entries/form"
            && violation == "No supported content types, but request included a non-empty body")
}

#[tokio::test]
async fn every_openproject_request_matches_the_published_spec() {
    let Ok(bin) = std::env::var("PM_MCP_PRISM") else {
        pm_testkit::skip(
            "the contract test (scripts/test runs it)",
            "PM_MCP_PRISM is not set",
        );
        return;
    };
    let Some(specs) = pm_testkit::specs_for("the contract tests") else {
        return;
    };
    let spec = specs.join("openproject-v3.json");
    let mock = prism::start(&bin, &spec).await;
    let (base, log) = prism::proxy(vec![prism::Route {
        prefix: "/".into(),
        base: mock.base.clone(),
        authorization: None,
    }])
    .await;

    let op = client(
        ProviderKind::OpenProject,
        &base,
        AuthKind::ApiKey,
        None,
        "0123456789abcdef",
    );

    let page = PageRequest::new(None, Some(5));
    let when = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut failures: Vec<String> = Vec::new();
    run!(
        failures,
        log,
        "whoami",
        ["GET /api/v3/users/me"],
        op.whoami()
    );
    run!(failures, log, "site", ["GET /api/v3"], op.site());
    run!(
        failures,
        log,
        "list_projects",
        ["GET /api/v3/projects"],
        op.list_projects(&page)
    );
    run!(
        failures,
        log,
        "search_projects",
        ["GET /api/v3/projects"],
        op.search_projects("demo", &page)
    );
    run!(
        failures,
        log,
        "get_project",
        ["GET /api/v3/projects/1"],
        op.get_project("1")
    );
    run!(
        failures,
        log,
        "create_project",
        ["POST /api/v3/projects"],
        op.create_project("Website Relaunch", None, Some("a *project*"))
    );
    run!(
        failures,
        log,
        "update_project",
        ["PATCH /api/v3/projects/1"],
        op.update_project("1", Some("Demo"), Some("new text"))
    );
    run!(
        failures,
        log,
        "delete_project",
        ["DELETE /api/v3/projects/2"],
        op.delete_project("2")
    );
    // Set-up: the status list, fetched once and cached.
    run!(
        failures,
        log,
        "search_tasks",
        [
            "GET /api/v3/projects/1/work_packages",
            "GET /api/v3/statuses"
        ],
        op.search_tasks(
            &TaskQuery {
                project: Some("1".into()),
                sprint: Some("3".into()),
                assignee: Some(Assignee::Me),
                statuses: vec![],
                text: Some("login \"quoted\" ]}".into()),
            },
            &page
        )
    );
    run!(
        failures,
        log,
        "search_tasks_unassigned",
        ["GET /api/v3/work_packages"],
        op.search_tasks(
            &TaskQuery {
                assignee: Some(Assignee::Nobody),
                ..Default::default()
            },
            &PageRequest::new(Some("o:5".into()), Some(5))
        )
    );
    // Set-up: the schemas that say which custom field holds story points (fetched once for the
    // schemas not seen yet).
    run!(
        failures,
        log,
        "get_task",
        [
            "GET /api/v3/work_packages/1",
            "GET /api/v3/work_packages/schemas"
        ],
        op.get_task("1")
    );
    // `{}`: the id of the example's project.
    run!(
        failures,
        log,
        "create_task",
        [
            "GET /api/v3/projects/1",
            "GET /api/v3/projects/{}/types",
            "GET /api/v3/priorities",
            "POST /api/v3/projects/{}/work_packages"
        ],
        op.create_task(&NewTask {
            project: "1".into(),
            title: "Checkout fails".into(),
            description: Some("**Steps**\n\n- pay".into()),
            assignee: Some("1".into()),
            parent: Some("2".into()),
            due_date: Some(when.date_naive()),
            ..Default::default()
        })
    );
    run!(
        failures,
        log,
        "update_task",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        op.update_task(
            "1",
            &TaskChange {
                title: Some("New title".into()),
                description: Some("More *detail*".into()),
                assignee: Some(Some("1".into())),
                due_date: Some(when.date_naive()),
                estimated_hours: Some(2.5),
                sprint: Some("1".into()),
                ..Default::default()
            }
        )
    );
    run!(
        failures,
        log,
        "transition_task",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        op.transition_task("1", "New")
    );
    // A bulk change asks OpenProject not to mail anyone (`notify=false`).
    let bulk = op
        .for_bulk()
        .expect("OpenProject has a quiet client for bulk changes");
    run!(
        failures,
        log,
        "bulk_update_task",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        bulk.update_task(
            "1",
            &TaskChange {
                title: Some("Quiet".into()),
                ..Default::default()
            }
        )
    );
    if !log
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.method == "PATCH" && s.query.as_deref() == Some("notify=false"))
    {
        failures.push("CONTRACT: bulk_update_task: the PATCH did not say notify=false".into());
    }
    run!(
        failures,
        log,
        "assign_task",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        op.assign_task("1", None)
    );
    run!(
        failures,
        log,
        "add_comment",
        ["POST /api/v3/work_packages/1/activities"],
        op.add_comment("1", "Looks **good**")
    );
    // The example's activities link their author without a title: the user is read (once).
    run!(
        failures,
        log,
        "list_comments",
        [
            "GET /api/v3/work_packages/1/activities",
            "GET /api/v3/users/1"
        ],
        op.list_comments("1", &page)
    );
    // Set-up: which link of a time entry names the work package (from the site's schema) and the caller's id, each fetched once and cached.
    // Prism refuses the entry without an activity (422, see `spec_flaw`), as a site without a
    // default activity does: the time-entry form is asked for the activities (the document gives
    // the form's answer no body, so the retry with the chosen one cannot follow here; the fake
    // shows it).
    run!(
        failures,
        log,
        "log_work",
        [
            "GET /api/v3/time_entries/schema",
            "GET /api/v3/work_packages/1",
            "GET /api/v3/users/me",
            "POST /api/v3/time_entries",
            "POST /api/v3/time_entries/form"
        ],
        op.log_work("1", 5400, when, Some("debugging"))
    );
    run!(
        failures,
        log,
        "list_worklogs",
        ["GET /api/v3/time_entries"],
        op.list_worklogs("1", &page)
    );
    run!(
        failures,
        log,
        "add_watcher",
        ["POST /api/v3/work_packages/1/watchers"],
        op.add_watcher("1", "1")
    );
    run!(
        failures,
        log,
        "link_tasks",
        ["POST /api/v3/work_packages/1/relations"],
        op.link_tasks("1", "2", "Blocks")
    );
    run!(
        failures,
        log,
        "delete_task",
        ["DELETE /api/v3/work_packages/2"],
        op.delete_task("2")
    );
    run!(
        failures,
        log,
        "list_users",
        ["GET /api/v3/principals"],
        op.list_users("mia", &page)
    );
    run!(
        failures,
        log,
        "get_user",
        ["GET /api/v3/users/1"],
        op.get_user("1")
    );
    // The example types have no "Epic": refused after reading them.
    run!(
        failures,
        log,
        "list_epics",
        ["GET /api/v3/projects/1/types"],
        op.list_epics("1", &page)
    );
    run!(
        failures,
        log,
        "set_epic",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        op.set_epic("1", Some("2"))
    );
    run!(
        failures,
        log,
        "unset_epic",
        [
            "GET /api/v3/work_packages/1",
            "POST /api/v3/work_packages/1/form",
            "PATCH /api/v3/work_packages/1"
        ],
        op.set_epic("1", None)
    );
    run!(
        failures,
        log,
        "list_sprints",
        ["GET /api/v3/projects/1/versions"],
        op.list_sprints("1", &[SprintState::Active], &page)
    );
    run!(
        failures,
        log,
        "get_sprint",
        ["GET /api/v3/versions/1"],
        op.get_sprint("1")
    );
    run!(
        failures,
        log,
        "create_sprint",
        ["GET /api/v3/projects/1", "POST /api/v3/versions"],
        op.create_sprint(&NewSprint {
            project: "1".into(),
            name: "Sprint 9".into(),
            start: Some(when),
            end: Some(when + chrono::Duration::days(14)),
            goal: Some("ship".into())
        })
    );
    run!(
        failures,
        log,
        "update_sprint",
        ["PATCH /api/v3/versions/1"],
        op.update_sprint(
            "1",
            &SprintChange {
                name: Some("Sprint 9b".into()),
                end: Some(when),
                ..Default::default()
            }
        )
    );
    run!(
        failures,
        log,
        "complete_sprint",
        ["PATCH /api/v3/versions/1"],
        op.complete_sprint("1")
    );
    run!(
        failures,
        log,
        "delete_sprint",
        ["DELETE /api/v3/versions/1"],
        op.delete_sprint("1")
    );

    judged(&failures);
    let seen = log.lock().unwrap().clone();
    prism::judge(
        &seen,
        &failures,
        &|s, p| spec_flaw(&s.method, &s.path, p),
        28,
    );
}

#[test]
fn an_operation_is_judged_by_what_it_sent() {
    let r = |m: &str, p: &str| (m.to_string(), p.to_string());
    assert!(
        sent_as_its_kind("get_task", &[], None).is_err(),
        "nothing sent"
    );
    assert!(
        sent_as_its_kind("get_task", &[], Some(false)).is_err(),
        "failed without sending"
    );
    assert!(
        sent_as_its_kind("start_sprint", &[], Some(true)).is_ok(),
        "refused as unsupported"
    );
    assert!(sent_as_its_kind("get_task", &[r("PUT", "/rest/api/3/issue/X")], None).is_err());
    assert!(sent_as_its_kind("search_tasks", &[r("POST", "/rest/api/3/search/jql")], None).is_ok());
    assert!(sent_as_its_kind("delete_task", &[r("GET", "/rest/api/3/issue/X")], None).is_err());
    assert!(sent_as_its_kind("delete_task", &[r("DELETE", "/rest/api/3/issue/X")], None).is_ok());
    assert!(sent_as_its_kind("create_task", &[r("GET", "/rest/api/3/field")], None).is_err());
    assert!(
        sent_as_its_kind(
            "create_task",
            &[
                r("GET", "/rest/api/3/field"),
                r("POST", "/rest/api/3/issue")
            ],
            None
        )
        .is_ok()
    );
}

#[test]
fn an_operation_sends_the_requests_it_lists_in_order() {
    let r = |m: &str, p: &str| (m.to_string(), p.to_string());
    let sent = [
        r("GET", "/rest/api/3/field"),
        r("POST", "/rest/api/3/issue"),
        r("GET", "/rest/api/3/issue/ED-24"),
    ];
    let want = [
        "GET /rest/api/3/field",
        "POST /rest/api/3/issue",
        "GET /rest/api/3/issue/{}",
    ];
    assert!(sent_as_expected(&want, &sent).is_ok());
    assert!(sent_as_expected(&[], &[]).is_ok(), "refused before sending");
    // Another method, path or order; a missing request; an unexpected one.
    assert!(sent_as_expected(&["PUT /rest/api/3/issue"], &sent[1..2]).is_err());
    assert!(sent_as_expected(&["POST /rest/api/3/issues"], &sent[1..2]).is_err());
    assert!(sent_as_expected(&[want[1], want[0], want[2]], &sent).is_err());
    assert!(sent_as_expected(&want, &sent[..2]).is_err());
    assert!(sent_as_expected(&want[1..], &sent).is_err());
    assert!(sent_as_expected(&want[..2], &sent).is_err());
    assert!(sent_as_expected(&[], &sent[..1]).is_err());
    // `{}` is one whole, non-empty segment.
    assert!(matches_pattern(
        "GET /v2/list/{}/task",
        "GET",
        "/v2/list/124/task"
    ));
    assert!(!matches_pattern(
        "GET /v2/list/{}/task",
        "GET",
        "/v2/list/1/2/task"
    ));
    assert!(!matches_pattern("GET /v2/list/{}", "GET", "/v2/list/"));
    assert!(!matches_pattern(
        "GET /v2/list/{}",
        "GET",
        "/v2/list/124/task"
    ));
    assert!(!matches_pattern("GET /v2/list/1{}", "GET", "/v2/list/124"));
}
