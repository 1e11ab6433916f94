//! The tasks toolset: listing, reading and changing tasks.
use pm_core::{Page, ProviderError, ProviderKind, Scope, Task};
use pm_store::Outcome;
use serde_json::json;

use super::harness::Harness;
use super::{page, task, user};

#[tokio::test]
async fn list_tasks_sends_native_ids_statuses_and_page_and_qualifies_the_answer() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let mut t = task("PROJ-1", "Fix login");
    t.assignee = Some(user("u-7", "Bob"));
    t.parent_id = Some("PROJ-0".into());
    jira.answer("search_tasks", Ok(page(vec![t], Some("c-2"))));

    let out = h
        .call(
            "list_tasks",
            json!({
                "project_id": "acme-jira:PROJ",
                "sprint_id": "acme-jira:42",
                "assignee_id": "u-7",
                "status": "To Do, In Progress",
                "cursor": "c-1",
                "limit": 7
            }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("search_tasks"),
        json!({
            "project": "PROJ", "sprint": "42", "assignee": { "user": "u-7" },
            "statuses": ["To Do", "In Progress"], "cursor": "c-1", "limit": 7
        })
    );
    let first = &out["tasks"][0];
    assert_eq!(first["id"], "acme-jira:PROJ-1");
    assert_eq!(first["project_id"], "acme-jira:10000");
    assert_eq!(first["parent_id"], "acme-jira:PROJ-0");
    assert_eq!(first["assignee"]["id"], "acme-jira:u-7");
    assert_eq!(out["next_cursor"], "c-2");
}

#[tokio::test]
async fn ids_of_two_connections_in_one_list_are_refused_before_any_call() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;

    let mixed = h
        .call(
            "list_tasks",
            json!({ "project_id": "acme-jira:PROJ", "sprint_id": "team-op:5" }),
        )
        .await
        .tool_error();
    assert!(
        mixed.contains("give ids of one connection") && mixed.contains("team-op"),
        "{mixed}"
    );
    let differ = h
        .call(
            "search_tasks",
            json!({ "query": "login", "project_id": "acme-jira:PROJ", "provider_id": "team-op" }),
        )
        .await
        .tool_error();
    assert!(
        differ.contains("give ids of one connection") && differ.contains("acme-jira"),
        "{differ}"
    );

    assert!(jira.calls().is_empty(), "{:?}", jira.calls());
    assert!(op.calls().is_empty(), "{:?}", op.calls());
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("invalid_input")
    );
}

#[tokio::test]
async fn list_my_and_unassigned_tasks_ask_for_me_and_nobody_on_the_named_connection() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer("search_tasks", Ok(page(Vec::<Task>::new(), None)));

    h.call("list_my_tasks", json!({ "provider_id": "team-op" }))
        .await
        .ok();
    h.call(
        "list_unassigned_tasks",
        json!({ "project_id": "team-op:3", "status": "New" }),
    )
    .await
    .ok();

    let sent = op.calls_to("search_tasks");
    assert_eq!(
        sent[0],
        json!({ "assignee": "me", "cursor": null, "limit": 50 })
    );
    assert_eq!(
        sent[1],
        json!({ "project": "3", "assignee": "nobody", "statuses": ["New"], "cursor": null, "limit": 50 })
    );
    assert!(
        jira.calls().is_empty(),
        "the default connection was not asked"
    );
}

#[tokio::test]
async fn get_task_of_a_connection_the_caller_lacks_is_refused_without_a_call() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let refused = h
        .call("get_task", json!({ "task_id": "other-jira:PROJ-1" }))
        .await
        .tool_error();

    assert!(
        refused.contains("no connection \"other-jira\""),
        "{refused}"
    );
    assert!(jira.calls().is_empty());
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("connection")
    );
}

#[tokio::test]
async fn a_missing_task_names_the_connection_and_is_audited_as_tracker_not_found() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.fail::<Task>(
        "get_task",
        ProviderError::NotFound {
            what: "Jira issue PROJ-9".into(),
        },
    );

    let e = h
        .call("get_task", json!({ "task_id": "acme-jira:PROJ-9" }))
        .await
        .tool_error();

    assert!(
        e.starts_with("connection acme-jira: Jira issue PROJ-9 was not found"),
        "{e}"
    );
    assert_eq!(jira.only_call("get_task"), json!({ "id": "PROJ-9" }));
    let row = h.last_audit().await;
    assert_eq!(row.tool, "get_task");
    assert_eq!(row.outcome, Outcome::Error);
    assert_eq!(row.error_kind.as_deref(), Some("tracker_not_found"));
}

#[tokio::test]
async fn update_task_sends_only_the_fields_given_then_moves_the_status() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("check_transition", Ok(()));
    jira.answer("update_task", Ok(task("PROJ-1", "Renamed")));
    jira.answer("transition_task", Ok(task("PROJ-1", "Renamed")));

    let out = h
        .call(
            "update_task",
            json!({
                "task_id": "acme-jira:PROJ-1",
                "title": "Renamed",
                "assignee_id": "",
                "due_date": "2026-12-01",
                "sprint_id": "acme-jira:42",
                "status": "Done"
            }),
        )
        .await
        .ok();

    assert_eq!(
        jira.methods(),
        ["check_transition", "update_task", "transition_task"],
        "the move is checked before the fields are written"
    );
    assert_eq!(
        jira.only_call("update_task"),
        json!({
            "id": "PROJ-1",
            "change": { "title": "Renamed", "assignee": null, "due_date": "2026-12-01", "sprint": "42" }
        })
    );
    assert_eq!(
        jira.only_call("transition_task"),
        json!({ "id": "PROJ-1", "status": "Done" })
    );
    assert_eq!(out["task"]["id"], "acme-jira:PROJ-1");
}

#[tokio::test]
async fn update_task_refuses_a_bad_date_and_an_empty_change_before_any_call() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let bad = h
        .call(
            "update_task",
            json!({ "task_id": "acme-jira:PROJ-1", "due_date": "01/12/2026" }),
        )
        .await
        .tool_error();
    assert!(bad.contains("is not a date"), "{bad}");
    let nothing = h
        .call("update_task", json!({ "task_id": "acme-jira:PROJ-1" }))
        .await
        .tool_error();
    assert!(nothing.starts_with("nothing to change"), "{nothing}");
    assert!(jira.calls().is_empty(), "{:?}", jira.calls());
}

#[tokio::test]
async fn a_read_only_key_cannot_write_and_nothing_reaches_the_tracker() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("get_task", Ok(task("PROJ-1", "Fix login")));
    let reader = h.session_with(Scope::Read).await;

    let refused = reader
        .call("delete_task", json!({ "task_id": "acme-jira:PROJ-1" }))
        .await
        .tool_error();
    assert!(refused.contains("needs the write scope"), "{refused}");
    assert!(jira.calls().is_empty());
    let row = h.last_audit().await;
    assert_eq!(
        (row.outcome, row.error_kind.as_deref()),
        (Outcome::Denied, Some("scope"))
    );
    // The same key reads.
    reader
        .call("get_task", json!({ "task_id": "acme-jira:PROJ-1" }))
        .await
        .ok();
    assert_eq!(jira.methods(), ["get_task"]);
}

#[tokio::test]
async fn bulk_update_reports_each_task_and_an_inactive_connection_is_never_called() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let (_, old) = h
        .add_connection("old-jira", ProviderKind::JiraCloud, false)
        .await;
    jira.on("transition_task", |args| match args["id"].as_str() {
        Some("PROJ-2") => Err(ProviderError::Invalid {
            provider: "Jira",
            message: "no transition to Done".into(),
        }),
        _ => Ok(task("PROJ-1", "Fix login")),
    });

    let out = h
        .call(
            "bulk_update_tasks",
            json!({
                "task_ids": ["acme-jira:PROJ-1", "acme-jira:PROJ-2", "old-jira:X-1"],
                "status": "Done"
            }),
        )
        .await
        .ok();

    assert_eq!(out["updated"], json!(["acme-jira:PROJ-1"]));
    let failed = out["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 2, "{out}");
    assert_eq!(failed[0]["task_id"], "acme-jira:PROJ-2");
    let why = failed[0]["error"].as_str().expect("error");
    assert!(
        why.starts_with("connection acme-jira: Jira refused the request: no transition"),
        "{why}"
    );
    let inactive = failed[1]["error"].as_str().expect("error");
    assert!(inactive.contains("old-jira is inactive"), "{inactive}");
    assert!(old.calls().is_empty(), "{:?}", old.calls());
}

#[tokio::test]
async fn link_related_tasks_refuses_another_connection_and_swaps_depends_on() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer("link_tasks", Ok(()));

    let refused = h
        .call(
            "link_related_tasks",
            json!({ "task_id": "acme-jira:PROJ-1", "related_task_id": "team-op:7" }),
        )
        .await
        .tool_error();
    assert!(
        refused.contains("related_task_id is on connection team-op"),
        "{refused}"
    );
    assert!(jira.calls().is_empty());

    h.call(
        "link_related_tasks",
        json!({ "task_id": "acme-jira:PROJ-1", "related_task_id": "PROJ-2", "link_type": "depends_on" }),
    )
    .await
    .ok();
    assert_eq!(
        jira.only_call("link_tasks"),
        json!({ "from": "PROJ-2", "to": "PROJ-1", "link_type": "Blocks" })
    );
}

#[tokio::test]
async fn arguments_the_schema_refuses_are_a_protocol_error_and_audited_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let e = h
        .call("get_task", json!({ "taskid": "acme-jira:PROJ-1" }))
        .await
        .protocol_error();

    assert!(e.starts_with("invalid arguments for get_task"), "{e}");
    assert!(jira.calls().is_empty());
    let row = h.last_audit().await;
    assert_eq!(row.tool, "get_task");
    assert_eq!(row.error_kind.as_deref(), Some("invalid_arguments"));
}

#[tokio::test]
async fn a_read_only_key_is_offered_only_the_tools_that_read() {
    let h = Harness::new().await;
    let reader = h.session_with(Scope::Read).await;

    let names = reader.tool_names().await;

    assert!(names.iter().any(|n| n == "get_task"), "{names:?}");
    for write in [
        "create_task",
        "update_task",
        "delete_task",
        "bulk_update_tasks",
    ] {
        assert!(
            !names.iter().any(|n| n == write),
            "{write} offered: {names:?}"
        );
    }
}

#[tokio::test]
async fn create_task_sets_sprint_and_points_afterwards_and_deletes_the_task_if_that_fails() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer("create_task", Ok(task("88", "New page")));
    op.fail::<Task>(
        "update_task",
        ProviderError::Invalid {
            provider: "OpenProject",
            message: "Version is not valid".into(),
        },
    );
    op.answer("delete_task", Ok(()));

    let e = h
        .call(
            "create_task",
            json!({
                "project_id": "team-op:3", "title": "New page", "sprint_id": "team-op:5",
                "story_points": 3, "due_date": "2026-12-24"
            }),
        )
        .await
        .tool_error();

    assert_eq!(
        op.only_call("create_task"),
        json!({ "project": "3", "title": "New page", "due_date": "2026-12-24" })
    );
    assert_eq!(
        op.only_call("update_task"),
        json!({ "id": "88", "change": { "sprint": "5", "story_points": 3.0 } })
    );
    assert_eq!(op.only_call("delete_task"), json!({ "id": "88" }));
    assert!(
        e.starts_with("connection team-op: nothing was created"),
        "{e}"
    );
}

#[tokio::test]
async fn create_task_puts_sprint_and_points_in_the_create_where_the_tracker_takes_them() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.set_creates_in_sprint(true);
    jira.answer("create_task", Ok(task("PROJ-9", "New")));
    h.connect("team-op", ProviderKind::OpenProject).await;

    let refused = h
        .call(
            "create_task",
            json!({ "project_id": "acme-jira:PROJ", "title": "New", "parent_id": "team-op:1" }),
        )
        .await
        .tool_error();
    assert!(refused.contains("is on connection team-op"), "{refused}");
    assert!(jira.calls().is_empty());

    let out = h
        .call(
            "create_task",
            json!({
                "project_id": "acme-jira:PROJ", "title": "New", "sprint_id": "42",
                "story_points": 5, "assignee_id": "acme-jira:5b10"
            }),
        )
        .await
        .ok();

    assert_eq!(jira.methods(), ["create_task"], "no edit afterwards");
    assert_eq!(
        jira.only_call("create_task"),
        json!({
            "project": "PROJ", "title": "New", "assignee": "5b10",
            "sprint": "42", "story_points": 5.0
        })
    );
    assert_eq!(out["task"]["id"], "acme-jira:PROJ-9");
    assert_eq!(
        out["notes"][0],
        "task_type was not given: the tracker's default type \"Task\" was used"
    );
}

#[tokio::test]
async fn a_person_or_sprint_of_another_connection_is_refused_before_any_write() {
    // `team-op:9` names someone on OpenProject; sent to Jira as a bare `9` it could name someone
    // else there. Every tool that takes such an id refuses it, and nothing is written.
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    let cases = [
        (
            "assign_task",
            json!({ "task_id": "acme-jira:PROJ-1", "assignee_id": "team-op:9" }),
            "assignee_id",
        ),
        (
            "update_task",
            json!({ "task_id": "acme-jira:PROJ-1", "assignee_id": "team-op:9" }),
            "assignee_id",
        ),
        (
            "update_task",
            json!({ "task_id": "acme-jira:PROJ-1", "sprint_id": "team-op:5" }),
            "sprint_id",
        ),
        (
            "add_task_watcher",
            json!({ "task_id": "acme-jira:PROJ-1", "user_id": "team-op:9" }),
            "user_id",
        ),
    ];
    for (tool, args, what) in cases {
        let refused = h.call(tool, args).await.tool_error();
        assert!(
            refused.starts_with(&format!("{what} is on connection team-op"))
                && refused.contains("works on connection acme-jira"),
            "{tool}: {refused}"
        );
    }
    // A bulk change reports the task it could not change, and changes none.
    let bulk = h
        .call(
            "bulk_update_tasks",
            json!({ "task_ids": ["acme-jira:PROJ-1"], "assignee_id": "team-op:9" }),
        )
        .await
        .ok();
    assert_eq!(bulk["updated"], json!([]));
    assert!(
        bulk["failed"][0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("assignee_id is on connection team-op")),
        "{bulk}"
    );
    assert!(jira.calls().is_empty(), "{:?}", jira.calls());
    assert!(op.calls().is_empty(), "{:?}", op.calls());
    // The same ids on the task's own connection, or bare, go through as native ids.
    jira.answer("assign_task", Ok(()));
    jira.answer("get_task", Ok(task("PROJ-1", "Fix login")));
    h.call(
        "assign_task",
        json!({ "task_id": "acme-jira:PROJ-1", "assignee_id": "acme-jira:u-7" }),
    )
    .await
    .ok();
    assert_eq!(
        jira.calls_to("assign_task"),
        vec![json!({ "id": "PROJ-1", "assignee": "u-7" })]
    );
}

#[tokio::test]
async fn list_my_tasks_with_no_connection_named_reads_every_active_one_under_one_cursor() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    let click = h.connect("b-click", ProviderKind::ClickUp).await;
    let (_, off) = h
        .add_connection("a-off", ProviderKind::Redmine, false)
        .await;
    // Jira answers in two pages; ClickUp in one; OpenProject fails.
    jira.on("search_tasks", |args| {
        Ok(match args["cursor"].as_str() {
            None => page(vec![task("P-1", "one"), task("P-2", "two")], Some("j2")),
            Some("j2") => page(vec![task("P-3", "three")], None),
            Some(other) => panic!("unexpected cursor {other}"),
        })
    });
    click.answer(
        "search_tasks",
        Ok(page(
            vec![
                task("c1", "c one"),
                task("c2", "c two"),
                task("c3", "c three"),
            ],
            None,
        )),
    );
    op.fail::<Page<Task>>(
        "search_tasks",
        ProviderError::Timeout {
            provider: "OpenProject",
        },
    );
    let ids = |out: &serde_json::Value| -> Vec<String> {
        out["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_string())
            .collect()
    };

    // Page 1: the default connection first, across its own pages, up to the limit.
    let first = h
        .call("list_my_tasks", json!({ "limit": 3, "status": "Open" }))
        .await
        .ok();
    assert_eq!(
        ids(&first),
        ["acme-jira:P-1", "acme-jira:P-2", "acme-jira:P-3"]
    );
    assert!(first.get("failed").is_none(), "{first}");
    let sent = jira.calls_to("search_tasks");
    assert_eq!(
        sent,
        [
            json!({ "assignee": "me", "statuses": ["Open"], "cursor": null, "limit": 3 }),
            json!({ "assignee": "me", "statuses": ["Open"], "cursor": "j2", "limit": 1 }),
        ]
    );
    let cursor = first["next_cursor"].as_str().expect("more").to_string();
    assert!(cursor.starts_with("all."), "{cursor}");

    // Page 2: the others by name; the inactive one is never asked.
    let second = h
        .call("list_my_tasks", json!({ "limit": 3, "cursor": cursor }))
        .await
        .ok();
    assert_eq!(ids(&second), ["b-click:c1", "b-click:c2", "b-click:c3"]);
    let cursor = second["next_cursor"].as_str().expect("more").to_string();

    // Page 3: the tracker that fails is named, and the listing ends.
    let third = h
        .call(
            "list_my_tasks",
            json!({ "limit": 3, "cursor": cursor.clone() }),
        )
        .await
        .ok();
    assert_eq!(ids(&third), Vec::<String>::new());
    assert_eq!(third["failed"][0]["connection"], "team-op");
    assert!(
        third["failed"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("OpenProject")),
        "{third}"
    );
    assert!(third["next_cursor"].is_null(), "{third}");
    assert!(off.calls().is_empty(), "an inactive connection is not read");

    // The listing's cursor belongs to it alone.
    let refused = h
        .call(
            "list_my_tasks",
            json!({ "provider_id": "acme-jira", "cursor": cursor.clone() }),
        )
        .await
        .tool_error();
    assert!(refused.contains("without provider_id"), "{refused}");
    let refused = h
        .call("list_unassigned_tasks", json!({ "cursor": cursor }))
        .await
        .tool_error();
    assert!(refused.contains("list_my_tasks"), "{refused}");
    let refused = h
        .call("list_my_tasks", json!({ "cursor": "all.bm90LWpzb24" }))
        .await
        .tool_error();
    assert!(refused.contains("next_cursor"), "{refused}");
}

#[tokio::test]
async fn list_my_tasks_fails_only_when_no_tracker_answers_and_keeps_one_connections_cursor() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "search_tasks",
        Ok(page(vec![task("P-1", "one")], Some("c-2"))),
    );
    // One connection: its tracker's own cursor, as before.
    let one = h.call("list_my_tasks", json!({})).await.ok();
    assert_eq!(one["next_cursor"], "c-2");
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    jira.fail::<Page<Task>>("search_tasks", ProviderError::Timeout { provider: "Jira" });
    op.fail::<Page<Task>>(
        "search_tasks",
        ProviderError::Timeout {
            provider: "OpenProject",
        },
    );
    let failed = h.call("list_my_tasks", json!({})).await.tool_error();
    assert!(
        failed.starts_with("no tracker answered: connection acme-jira: Jira did not answer")
            && failed.contains("; connection team-op: OpenProject"),
        "{failed}"
    );
    // The trackers' outage, not the caller's input.
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_timeout")
    );
}

#[tokio::test]
async fn list_my_tasks_reads_the_one_active_connection_when_the_default_is_inactive() {
    let h = Harness::new().await;
    let (_, off) = h
        .add_connection("acme-jira", ProviderKind::JiraCloud, false)
        .await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "search_tasks",
        Ok(page(vec![task("7", "seven")], Some("op-2"))),
    );
    let out = h.call("list_my_tasks", json!({})).await.ok();
    assert_eq!(out["tasks"][0]["id"], "team-op:7");
    assert_eq!(out["next_cursor"], "op-2", "the tracker's own cursor");
    assert!(off.calls().is_empty());
}

#[tokio::test]
async fn a_crafted_cursor_reaches_only_the_callers_own_connections() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer("search_tasks", Ok(page(vec![task("P-1", "one")], None)));
    // Another user's connection name (or one nobody has) in the cursor: named as failed, and
    // never read; the caller's own one after it still answers.
    let raw = json!({ "at": "their-jira", "rest": ["acme-jira"] }).to_string();
    let cursor = format!(
        "all.{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
    );
    let out = h
        .call("list_my_tasks", json!({ "cursor": cursor }))
        .await
        .ok();
    assert_eq!(out["failed"][0]["connection"], "their-jira");
    assert!(
        out["failed"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("you have no connection")),
        "{out}"
    );
    assert_eq!(out["tasks"][0]["id"], "acme-jira:P-1");
}
