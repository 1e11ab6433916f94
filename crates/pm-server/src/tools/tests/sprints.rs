//! The sprints toolset: listing, planning, starting and closing sprints.
use pm_core::{ProviderError, ProviderKind, Sprint, SprintState};
use serde_json::json;

use super::harness::Harness;
use super::{page, sprint, task};

#[tokio::test]
async fn list_sprints_of_a_project_sends_states_board_and_page() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let mut s = sprint("42", "Sprint 7", SprintState::Active);
    s.notes = vec!["board 3 used".into()];
    jira.answer("list_board_sprints", Ok(page(vec![s], Some("s2"))));

    let out = h
        .call(
            "list_sprints",
            json!({
                "project_id": "acme-jira:PROJ", "state": "active,future", "board_id": "3",
                "cursor": "s1", "limit": 4
            }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("list_board_sprints"),
        json!({
            "project": "PROJ", "board": "3", "states": ["active", "future"],
            "cursor": "s1", "limit": 4
        })
    );
    assert_eq!(out["sprints"][0]["id"], "acme-jira:42");
    assert_eq!(
        out["notes"],
        json!(["board 3 used"]),
        "notes are said once, for the list"
    );
    assert_eq!(out["next_cursor"], "s2");
}

#[tokio::test]
async fn list_sprints_refuses_an_unknown_state_and_a_project_of_another_connection_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;

    let state = h
        .call(
            "list_sprints",
            json!({ "project_id": "PROJ", "state": "running" }),
        )
        .await
        .tool_error();
    assert!(
        state.contains("unknown sprint state \"running\""),
        "{state}"
    );
    let other = h
        .call(
            "list_sprints",
            json!({ "project_id": "team-op:3", "provider_id": "acme-jira" }),
        )
        .await
        .tool_error();
    assert!(
        other.contains("give ids of one connection") && other.contains("team-op"),
        "{other}"
    );
    assert!(jira.calls().is_empty() && op.calls().is_empty());
}

#[tokio::test]
async fn create_sprint_sends_dates_as_utc_midnight_and_refuses_an_end_before_the_start() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "create_board_sprint",
        Ok(sprint("43", "Sprint 8", SprintState::Future)),
    );

    let backwards = h
        .call(
            "create_sprint",
            json!({ "project_id": "PROJ", "name": "S", "start_date": "2026-12-14", "end_date": "2026-12-01" }),
        )
        .await
        .tool_error();
    assert_eq!(backwards, "end_date must come after start_date");
    assert!(jira.calls().is_empty());

    let out = h
        .call(
            "create_sprint",
            json!({
                "project_id": "acme-jira:PROJ", "name": "Sprint 8", "goal": "Ship",
                "start_date": "2026-12-01", "end_date": "2026-12-14T17:00:00+01:00"
            }),
        )
        .await
        .ok();
    assert_eq!(
        jira.only_call("create_board_sprint"),
        json!({
            "sprint": {
                "project": "PROJ", "name": "Sprint 8", "goal": "Ship",
                "start": "2026-12-01T00:00:00Z", "end": "2026-12-14T16:00:00Z"
            },
            "board": null
        })
    );
    assert_eq!(out["sprint"]["id"], "acme-jira:43");
}

#[tokio::test]
async fn update_sprint_to_closed_where_the_tracker_cannot_complete_writes_nothing() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "get_sprint",
        Ok(sprint("9", "Sprint 9", SprintState::Active)),
    );
    op.fail::<Sprint>(
        "complete_sprint",
        ProviderError::Unsupported {
            provider: "OpenProject",
            operation: "completing sprints",
        },
    );

    let e = h
        .call(
            "update_sprint",
            json!({ "sprint_id": "team-op:9", "status": "closed", "goal": "new goal" }),
        )
        .await
        .tool_error();

    assert!(
        e.starts_with("connection team-op: completing sprints is not supported"),
        "{e}"
    );
    assert!(
        op.calls_to("update_sprint").is_empty(),
        "the goal was not written: {:?}",
        op.calls()
    );
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_unsupported")
    );
}

#[tokio::test]
async fn update_sprint_refuses_reopening_a_closed_sprint_after_reading_it() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "get_sprint",
        Ok(sprint("41", "Sprint 6", SprintState::Closed)),
    );

    let e = h
        .call(
            "update_sprint",
            json!({ "sprint_id": "41", "status": "active" }),
        )
        .await
        .tool_error();

    assert!(e.contains("is closed and cannot be reopened"), "{e}");
    assert_eq!(jira.methods(), ["get_sprint"]);
}

#[tokio::test]
async fn get_sprint_tasks_asks_for_the_sprints_tasks_by_native_id() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "get_sprint",
        Ok(sprint("42", "Sprint 7", SprintState::Active)),
    );
    jira.answer(
        "search_tasks",
        Ok(page(vec![task("PROJ-1", "Fix login")], None)),
    );

    let out = h
        .call(
            "get_sprint_tasks",
            json!({ "sprint_id": "acme-jira:42", "status": "Done", "limit": 20 }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("search_tasks"),
        json!({ "sprint": "42", "statuses": ["Done"], "cursor": null, "limit": 20 })
    );
    assert_eq!(out["sprint"]["id"], "acme-jira:42");
    assert_eq!(out["tasks"][0]["id"], "acme-jira:PROJ-1");
}

#[tokio::test]
async fn sprints_are_not_in_the_default_toolsets_of_a_server_that_names_none() {
    let h = Harness::with(crate::state::HttpConfig {
        toolsets: Some(vec!["default".into()]),
        ..Default::default()
    })
    .await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let e = h
        .call("delete_sprint", json!({ "sprint_id": "acme-jira:42" }))
        .await
        .tool_error();

    assert!(e.contains("is in the sprints toolset"), "{e}");
    assert!(jira.calls().is_empty());
}

#[tokio::test]
async fn update_sprint_to_closed_writes_the_fields_then_completes_it() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.set_completes_sprints(true);
    jira.answer(
        "get_sprint",
        Ok(sprint("42", "Sprint 7", SprintState::Active)),
    );
    jira.answer(
        "update_sprint",
        Ok(sprint("42", "Sprint 7", SprintState::Active)),
    );
    jira.answer(
        "complete_sprint",
        Ok(sprint("42", "Sprint 7", SprintState::Closed)),
    );

    let out = h
        .call(
            "update_sprint",
            json!({ "sprint_id": "acme-jira:42", "status": "completed", "goal": "Done it" }),
        )
        .await
        .ok();

    assert_eq!(
        jira.methods(),
        ["get_sprint", "update_sprint", "complete_sprint"]
    );
    assert_eq!(
        jira.only_call("update_sprint"),
        json!({ "id": "42", "change": { "goal": "Done it" } })
    );
    assert_eq!(out["sprint"]["state"], "closed");
}
