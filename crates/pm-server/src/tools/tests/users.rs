//! The users toolset: who the caller is, and the tracker's people.
use pm_core::{ProviderError, ProviderKind, User};
use serde_json::json;

use super::harness::Harness;
use super::{page, user};

#[tokio::test]
async fn list_users_sends_the_query_and_page_and_qualifies_the_ids() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "list_users",
        Ok(page(vec![user("5b10", "Bob")], Some("n-2"))),
    );

    let out = h
        .call(
            "list_users",
            json!({ "query": "bo", "cursor": "n-1", "limit": 3 }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("list_users"),
        json!({ "query": "bo", "cursor": "n-1", "limit": 3 })
    );
    assert_eq!(out["users"][0]["id"], "acme-jira:5b10");
    assert_eq!(out["next_cursor"], "n-2");
}

#[tokio::test]
async fn list_users_of_a_project_asks_for_its_members_on_the_project_connection() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "list_project_members",
        Ok(page(vec![user("9", "Eve")], None)),
    );

    let out = h
        .call("list_users", json!({ "project_id": "team-op:3" }))
        .await
        .ok();

    assert_eq!(
        op.only_call("list_project_members"),
        json!({ "project": "3", "query": "", "cursor": null, "limit": 50 })
    );
    assert_eq!(out["users"][0]["id"], "team-op:9");
    assert!(jira.calls().is_empty(), "not the default connection");

    let differ = h
        .call(
            "list_users",
            json!({ "project_id": "team-op:3", "provider_id": "acme-jira" }),
        )
        .await
        .tool_error();
    assert!(
        differ.contains("give ids of one connection") && differ.contains("team-op"),
        "{differ}"
    );
    assert_eq!(op.calls().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn get_user_sends_the_native_id_and_a_tracker_refusal_is_audited_by_kind() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.fail::<User>(
        "get_user",
        ProviderError::Forbidden {
            provider: "Jira",
            message: "Browse users permission".into(),
        },
    );

    let e = h
        .call("get_user", json!({ "user_id": "acme-jira:5b10" }))
        .await
        .tool_error();

    assert_eq!(jira.only_call("get_user"), json!({ "id": "5b10" }));
    assert!(
        e.starts_with("connection acme-jira: Jira does not allow this"),
        "{e}"
    );
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_forbidden")
    );
}

#[tokio::test]
async fn get_current_user_shows_the_tracker_account_or_why_not_without_failing() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer("whoami", Ok(user("5b10", "Ann")));
    op.fail::<User>(
        "whoami",
        ProviderError::Auth {
            provider: "OpenProject",
            message: "invalid API key".into(),
        },
    );

    let me = h.call("get_current_user", json!({})).await.ok();
    assert_eq!(me["user"]["email"], "ann@acme.org");
    assert_eq!(me["default_connection"], "acme-jira");
    assert_eq!(me["provider_account"]["connection"], "acme-jira");
    assert_eq!(me["provider_account"]["account"]["name"], "Ann");

    let broken = h
        .call("get_current_user", json!({ "provider_id": "team-op" }))
        .await
        .ok();
    assert!(broken["provider_account"]["account"].is_null(), "{broken}");
    let why = broken["provider_account"]["error"].as_str().expect("error");
    assert!(
        why.starts_with("connection team-op: OpenProject refused the credentials"),
        "{why}"
    );
}

#[tokio::test]
async fn get_current_user_does_not_call_an_inactive_connection() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let (_, old) = h
        .add_connection("old-op", ProviderKind::OpenProject, false)
        .await;

    let me = h
        .call("get_current_user", json!({ "provider_id": "old-op" }))
        .await
        .ok();

    assert_eq!(
        me["provider_account"]["error"],
        "the connection is inactive and is not used"
    );
    assert!(old.calls().is_empty(), "{:?}", old.calls());
}
