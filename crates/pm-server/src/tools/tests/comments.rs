//! The comments toolset: commenting on a task and reading its comments.
use pm_core::{Comment, Page, ProviderError, ProviderKind, Scope};
use serde_json::json;

use super::harness::Harness;
use super::page;

fn comment(id: &str, body: &str) -> Comment {
    Comment {
        id: id.into(),
        author: None,
        body: body.into(),
        created_at: None,
        updated_at: None,
    }
}

#[tokio::test]
async fn add_task_comment_sends_the_markdown_to_the_native_task() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("add_comment", Ok(comment("c-1", "**Done**, see PR")));

    let out = h
        .call(
            "add_task_comment",
            json!({ "task_id": "acme-jira:PROJ-1", "comment": "**Done**, see PR" }),
        )
        .await
        .ok();

    assert_eq!(
        jira.only_call("add_comment"),
        json!({ "task": "PROJ-1", "body": "**Done**, see PR" })
    );
    assert_eq!(out["comment"]["body"], "**Done**, see PR");
}

#[tokio::test]
async fn get_task_comments_passes_cursor_and_limit_and_returns_the_next_cursor() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "list_comments",
        Ok(page(
            vec![comment("1", "first"), comment("2", "second")],
            Some("p3"),
        )),
    );

    let out = h
        .call(
            "get_task_comments",
            json!({ "task_id": "team-op:42", "cursor": "p2", "limit": 2 }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("list_comments"),
        json!({ "task": "42", "cursor": "p2", "limit": 2 })
    );
    assert_eq!(out["comments"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["next_cursor"], "p3");
}

#[tokio::test]
async fn a_comment_on_a_task_of_another_users_connection_is_refused_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let e = h
        .call(
            "add_task_comment",
            json!({ "task_id": "bobs-jira:PROJ-1", "comment": "hi" }),
        )
        .await
        .tool_error();

    assert!(e.contains("no connection \"bobs-jira\""), "{e}");
    assert!(jira.calls().is_empty());
}

#[tokio::test]
async fn a_tracker_timeout_names_the_connection_and_what_to_do() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.fail::<Page<Comment>>("list_comments", ProviderError::Timeout { provider: "Jira" });

    let e = h
        .call("get_task_comments", json!({ "task_id": "PROJ-1" }))
        .await
        .tool_error();

    assert!(
        e.starts_with("connection acme-jira: Jira did not answer in time"),
        "{e}"
    );
    assert!(e.contains("test_pm_provider"), "{e}");
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_timeout")
    );
}

#[tokio::test]
async fn a_read_only_key_reads_comments_but_cannot_add_one() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("list_comments", Ok(page(Vec::<Comment>::new(), None)));
    let reader = h.session_with(Scope::Read).await;

    reader
        .call("get_task_comments", json!({ "task_id": "PROJ-1" }))
        .await
        .ok();
    let refused = reader
        .call(
            "add_task_comment",
            json!({ "task_id": "PROJ-1", "comment": "hi" }),
        )
        .await
        .tool_error();

    assert!(refused.contains("needs the write scope"), "{refused}");
    assert_eq!(jira.methods(), ["list_comments"]);
}
