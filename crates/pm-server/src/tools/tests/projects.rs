//! The projects toolset: listing, reading and changing projects.
use pm_core::{Project, ProviderError, ProviderKind, Scope, Vocabulary};
use serde_json::json;

use super::harness::Harness;
use super::{page, project};

#[tokio::test]
async fn list_projects_on_a_named_connection_passes_the_page_and_qualifies_ids() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "list_projects",
        Ok(page(vec![project("3", "Website")], Some("p2"))),
    );

    let out = h
        .call(
            "list_projects",
            json!({ "provider_id": "team-op", "cursor": "p1", "limit": 10 }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("list_projects"),
        json!({ "cursor": "p1", "limit": 10 })
    );
    assert!(
        jira.calls().is_empty(),
        "the default connection was not asked"
    );
    assert_eq!(out["projects"][0]["id"], "team-op:3");
    assert_eq!(out["next_cursor"], "p2");
}

#[tokio::test]
async fn get_project_vocabulary_refuses_a_task_of_another_connection_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer("project_vocabulary", Ok(Vocabulary::default()));

    let e = h
        .call(
            "get_project_vocabulary",
            json!({ "project_id": "acme-jira:PROJ", "task_id": "team-op:7" }),
        )
        .await
        .tool_error();
    assert!(e.contains("task_id is on connection team-op"), "{e}");
    assert!(jira.calls().is_empty());

    let out = h
        .call(
            "get_project_vocabulary",
            json!({ "project_id": "acme-jira:PROJ", "task_id": "acme-jira:PROJ-7" }),
        )
        .await
        .ok();
    assert_eq!(
        jira.only_call("project_vocabulary"),
        json!({ "project": "PROJ", "task": "PROJ-7" })
    );
    assert_eq!(out["project_id"], "acme-jira:PROJ");
}

#[tokio::test]
async fn update_project_checks_the_status_against_the_tracker_before_writing() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.set_project_statuses(&["on_track", "at_risk", "off_track"]);
    op.answer("update_project_status", Ok(project("3", "Website")));
    op.answer("update_project", Ok(project("3", "Web site")));

    let unknown = h
        .call(
            "update_project",
            json!({ "project_id": "team-op:3", "status": "green", "name": "Web site" }),
        )
        .await
        .tool_error();
    assert!(
        unknown.contains("use one of on_track, at_risk, off_track"),
        "{unknown}"
    );
    let none_here = h
        .call(
            "update_project",
            json!({ "project_id": "acme-jira:PROJ", "status": "on_track" }),
        )
        .await
        .tool_error();
    assert!(
        none_here.starts_with("connection acme-jira: a project status is not supported"),
        "{none_here}"
    );
    assert!(
        op.calls().is_empty() && jira.calls().is_empty(),
        "nothing written"
    );

    let out = h
        .call(
            "update_project",
            json!({ "project_id": "team-op:3", "status": "At_Risk", "name": "Web site" }),
        )
        .await
        .ok();
    assert_eq!(op.methods(), ["update_project_status", "update_project"]);
    assert_eq!(
        op.only_call("update_project_status"),
        json!({ "id": "3", "status": "at_risk" })
    );
    assert_eq!(out["project"]["id"], "team-op:3");
}

#[tokio::test]
async fn create_project_sends_name_key_and_description_to_the_named_connection() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer("create_project", Ok(project("12", "Intranet")));

    let out = h
        .call(
            "create_project",
            json!({ "name": "Intranet", "key": "intra", "description": "Docs", "provider_id": "team-op" }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("create_project"),
        json!({ "name": "Intranet", "key": "intra", "description": "Docs" })
    );
    assert_eq!(out["project"]["id"], "team-op:12");
}

#[tokio::test]
async fn delete_project_needs_write_and_a_tracker_refusal_is_audited_by_kind() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.fail::<()>(
        "delete_project",
        ProviderError::Forbidden {
            provider: "Jira",
            message: "Administer Jira".into(),
        },
    );
    let reader = h.session_with(Scope::Read).await;

    let denied = reader
        .call("delete_project", json!({ "project_id": "acme-jira:PROJ" }))
        .await
        .tool_error();
    assert!(denied.contains("needs the write scope"), "{denied}");
    assert!(jira.calls().is_empty());

    let e = h
        .call("delete_project", json!({ "project_id": "acme-jira:PROJ" }))
        .await
        .tool_error();
    assert_eq!(jira.only_call("delete_project"), json!({ "id": "PROJ" }));
    assert!(
        e.starts_with("connection acme-jira: Jira does not allow"),
        "{e}"
    );
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_forbidden")
    );
}

#[tokio::test]
async fn get_project_on_an_inactive_connection_is_refused_unsent() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let (_, old) = h
        .add_connection("old-op", ProviderKind::OpenProject, false)
        .await;
    old.answer("get_project", Ok::<Project, _>(project("3", "Website")));

    let e = h
        .call("get_project", json!({ "project_id": "old-op:3" }))
        .await
        .tool_error();

    assert!(e.starts_with("connection old-op is inactive"), "{e}");
    assert!(old.calls().is_empty());
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("connection")
    );
}
