//! The epics toolset: epics are tasks of the epic type.
use pm_core::{ProviderKind, Task};
use serde_json::json;

use super::harness::Harness;
use super::{page, task};

fn epic(id: &str, title: &str) -> Task {
    Task {
        task_type: Some("Epic".into()),
        ..task(id, title)
    }
}

#[tokio::test]
async fn list_epics_sends_the_native_project_and_page_and_qualifies_the_epics() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "list_epics",
        Ok(page(vec![epic("PROJ-5", "Checkout")], Some("e2"))),
    );

    let out = h
        .call(
            "list_epics",
            json!({ "project_id": "acme-jira:PROJ", "cursor": "e1", "limit": 5 }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("list_epics"),
        json!({ "project": "PROJ", "cursor": "e1", "limit": 5 })
    );
    assert_eq!(out["epics"][0]["id"], "acme-jira:PROJ-5");
    assert_eq!(out["next_cursor"], "e2");
}

#[tokio::test]
async fn create_epic_creates_a_task_of_the_epic_type() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer("create_task", Ok(epic("77", "Checkout")));

    let out = h
        .call(
            "create_epic",
            json!({ "project_id": "team-op:3", "title": "Checkout", "description": "All of it" }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("create_task"),
        json!({ "project": "3", "title": "Checkout", "description": "All of it", "task_type": "Epic" })
    );
    assert_eq!(out["epic"]["id"], "team-op:77");
}

#[tokio::test]
async fn an_ordinary_task_given_as_the_epic_is_never_deleted_or_changed() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("get_task", Ok(task("PROJ-1", "Fix login")));

    let e = h
        .call("delete_epic", json!({ "epic_id": "acme-jira:PROJ-1" }))
        .await
        .tool_error();
    assert!(
        e.starts_with("acme-jira:PROJ-1 is a Task, not an epic"),
        "{e}"
    );
    h.call(
        "update_epic",
        json!({ "epic_id": "acme-jira:PROJ-1", "title": "Renamed" }),
    )
    .await
    .tool_error();

    assert_eq!(
        jira.methods(),
        ["get_task", "get_task"],
        "read, never written"
    );
}

#[tokio::test]
async fn update_epic_writes_the_fields_then_moves_the_status() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("get_task", Ok(epic("PROJ-5", "Checkout")));
    jira.answer("update_task", Ok(epic("PROJ-5", "Checkout v2")));
    jira.answer("transition_task", Ok(epic("PROJ-5", "Checkout v2")));

    h.call(
        "update_epic",
        json!({ "epic_id": "PROJ-5", "title": "Checkout v2", "status": "In Progress" }),
    )
    .await
    .ok();

    assert_eq!(
        jira.methods(),
        ["get_task", "update_task", "transition_task"]
    );
    assert_eq!(
        jira.only_call("update_task"),
        json!({ "id": "PROJ-5", "change": { "title": "Checkout v2" } })
    );
    assert_eq!(
        jira.only_call("transition_task"),
        json!({ "id": "PROJ-5", "status": "In Progress" })
    );
}

#[tokio::test]
async fn link_task_to_epic_refuses_an_epic_of_another_connection_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer("set_epic", Ok(()));
    jira.answer("get_task", Ok(task("PROJ-1", "Fix login")));

    let e = h
        .call(
            "link_task_to_epic",
            json!({ "task_id": "acme-jira:PROJ-1", "epic_id": "team-op:77" }),
        )
        .await
        .tool_error();
    assert!(e.contains("epic_id is on connection team-op"), "{e}");
    assert!(jira.calls().is_empty());

    let out = h
        .call(
            "link_task_to_epic",
            json!({ "task_id": "acme-jira:PROJ-1", "epic_id": "acme-jira:PROJ-5" }),
        )
        .await
        .ok();
    assert_eq!(
        jira.only_call("set_epic"),
        json!({ "task": "PROJ-1", "epic": "PROJ-5" })
    );
    assert_eq!(out["task"]["id"], "acme-jira:PROJ-1");
}

#[tokio::test]
async fn epics_on_redmine_are_refused_before_anything_is_sent() {
    let h = Harness::new().await;
    let redmine = h.connect("acme-redmine", ProviderKind::Redmine).await;

    let e = h
        .call(
            "create_epic",
            json!({ "project_id": "acme-redmine:web", "title": "X" }),
        )
        .await
        .tool_error();

    assert!(
        e.starts_with("connection acme-redmine: epics (Redmine has no epic type"),
        "{e}"
    );
    assert!(redmine.calls().is_empty());
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_unsupported")
    );
}

#[tokio::test]
async fn unlink_task_from_epic_sends_no_epic() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("set_epic", Ok(()));
    jira.answer("get_task", Ok(task("PROJ-1", "Fix login")));

    h.call("unlink_task_from_epic", json!({ "task_id": "PROJ-1" }))
        .await
        .ok();

    assert_eq!(
        jira.only_call("set_epic"),
        json!({ "task": "PROJ-1", "epic": null })
    );
}
