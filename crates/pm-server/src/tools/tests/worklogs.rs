//! The worklogs toolset: logging time and reading it back.
use chrono::{TimeZone, Utc};
use pm_core::{ProviderError, ProviderKind, Task, Worklog};
use serde_json::json;

use super::harness::Harness;
use super::{page, task, user};

fn entry(id: &str, author: &str, day: u32, seconds: i64) -> Worklog {
    Worklog {
        id: id.into(),
        author: Some(user(author, author)),
        started_at: Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).single(),
        seconds,
        comment: None,
    }
}

#[tokio::test]
async fn log_work_sends_seconds_and_the_day_at_nine_utc() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("log_work", Ok(entry("w-1", "ann", 30, 5400)));

    h.call(
        "log_work",
        json!({ "task_id": "acme-jira:PROJ-1", "hours": 1.5, "date": "2026-11-30", "comment": "review" }),
    )
    .await
    .ok();

    assert_eq!(
        jira.only_call("log_work"),
        json!({ "task": "PROJ-1", "seconds": 5400, "started": "2026-11-30T09:00:00Z", "comment": "review" })
    );
}

#[tokio::test]
async fn log_work_refuses_impossible_hours_and_dates_before_any_call() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let hours = h
        .call("log_work", json!({ "task_id": "PROJ-1", "hours": 25 }))
        .await
        .tool_error();
    assert!(
        hours.starts_with("hours must be more than 0 and at most 24"),
        "{hours}"
    );
    let day = h
        .call(
            "log_work",
            json!({ "task_id": "PROJ-1", "hours": 1, "date": "30.11.2026" }),
        )
        .await
        .tool_error();
    assert!(day.contains("is not a date"), "{day}");
    assert!(jira.calls().is_empty(), "{:?}", jira.calls());
}

#[tokio::test]
async fn list_worklogs_of_a_task_passes_the_page_and_adds_up_the_hours() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "list_worklogs",
        Ok(page(
            vec![entry("1", "ann", 2, 3600), entry("2", "bob", 3, 1800)],
            Some("more"),
        )),
    );

    let out = h
        .call(
            "list_worklogs",
            json!({ "task_id": "team-op:42", "cursor": "c1", "limit": 2 }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("list_worklogs"),
        json!({ "task": "42", "cursor": "c1", "limit": 2 })
    );
    assert_eq!(out["total_hours"], 1.5);
    assert_eq!(out["worklogs"][0]["task_id"], "team-op:42");
    assert_eq!(out["next_cursor"], "more");
}

#[tokio::test]
async fn list_worklogs_refuses_ids_of_two_connections_and_reversed_dates_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;

    let mixed = h
        .call(
            "list_worklogs",
            json!({ "task_id": "acme-jira:PROJ-1", "user_id": "team-op:9" }),
        )
        .await
        .tool_error();
    assert!(
        mixed.contains("give ids of one connection") && mixed.contains("team-op"),
        "{mixed}"
    );
    let reversed = h
        .call(
            "list_worklogs",
            json!({ "task_id": "PROJ-1", "start_date": "2026-12-02", "end_date": "2026-12-01" }),
        )
        .await
        .tool_error();
    assert!(reversed.contains("is after end_date"), "{reversed}");
    assert!(jira.calls().is_empty() && op.calls().is_empty());
}

#[tokio::test]
async fn list_worklogs_of_a_project_reads_each_task_and_keeps_the_users_entries() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "search_tasks",
        Ok(page(vec![task("PROJ-1", "a"), task("PROJ-2", "b")], None)),
    );
    jira.on("list_worklogs", |args| {
        Ok(page(
            match args["task"].as_str() {
                Some("PROJ-1") => vec![entry("1", "ann", 2, 3600), entry("2", "bob", 3, 7200)],
                _ => vec![entry("3", "ann", 4, 1800)],
            },
            None,
        ))
    });

    let out = h
        .call(
            "list_worklogs",
            json!({ "project_id": "acme-jira:PROJ", "user_id": "acme-jira:ann" }),
        )
        .await
        .ok();

    assert_eq!(
        jira.calls_to("search_tasks")[0],
        json!({ "project": "PROJ", "cursor": null, "limit": 100 })
    );
    assert_eq!(jira.calls_to("list_worklogs").len(), 2);
    assert_eq!(out["total_hours"], 1.5, "only ann's entries: {out}");
    // Newest first, each with its task.
    assert_eq!(out["worklogs"][0]["task_id"], "acme-jira:PROJ-2");
    assert_eq!(out["worklogs"][1]["task_id"], "acme-jira:PROJ-1");
}

#[tokio::test]
async fn a_failing_project_scan_names_the_connection_and_the_kind() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.fail::<pm_core::Page<Task>>(
        "search_tasks",
        ProviderError::RateLimited {
            provider: "Jira",
            retry_after: None,
        },
    );

    let e = h
        .call("list_worklogs", json!({ "project_id": "PROJ" }))
        .await
        .tool_error();

    assert!(
        e.starts_with("connection acme-jira: Jira is rate-limiting"),
        "{e}"
    );
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_rate_limited")
    );
}
