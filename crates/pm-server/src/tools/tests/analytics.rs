//! The analytics toolset: charts and reports computed from the tracker's history.
use chrono::{Duration, Utc};
use pm_core::history::{History, HistorySource, ItemHistory};
use pm_core::{ProviderError, ProviderKind, Sprint, SprintState, Status, StatusCategory};
use serde_json::json;

use super::harness::Harness;
use super::{page, sprint, user};

fn started(id: &str, name: &str) -> Sprint {
    Sprint {
        start_date: Some(Utc::now() - Duration::days(5)),
        end_date: Some(Utc::now() + Duration::days(9)),
        ..sprint(id, name, SprintState::Active)
    }
}

fn item(id: &str, done: bool) -> ItemHistory {
    ItemHistory {
        id: id.into(),
        title: format!("Item {id}"),
        task_type: Some("Story".into()),
        priority: None,
        assignee: Some(user("5b10", "Bob")),
        created_at: Some(Utc::now() - Duration::days(10)),
        due_date: None,
        status: Status {
            name: if done { "Done" } else { "To Do" }.into(),
            category: if done {
                StatusCategory::Done
            } else {
                StatusCategory::Todo
            },
        },
        points: Some(3.0),
        estimate_seconds: None,
        blocked: false,
        status_changes: vec![],
        sprint_moves: vec![],
        points_changes: vec![],
        estimate_changes: vec![],
    }
}

fn history(items: Vec<ItemHistory>) -> History {
    History {
        items,
        source: HistorySource::default(),
    }
}

#[tokio::test]
async fn burndown_of_a_sprint_by_id_reads_it_and_its_history_by_native_id() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("get_sprint", Ok(started("42", "Sprint 7")));
    jira.answer("sprint_history", Ok(history(vec![item("PROJ-1", false)])));

    let out = h
        .call(
            "burndown_chart",
            json!({ "sprint_id": "acme-jira:42", "chart": false }),
        )
        .await
        .ok();

    assert_eq!(jira.only_call("get_sprint"), json!({ "id": "42" }));
    assert_eq!(
        jira.only_call("sprint_history"),
        json!({ "sprint": "42", "max_items": 2000 })
    );
    assert_eq!(out["sprint_id"], "acme-jira:42");
    assert_eq!(
        out["metric"], "story_points",
        "the items have points: {out}"
    );
}

#[tokio::test]
async fn the_current_sprint_of_a_project_is_its_active_one() {
    let h = Harness::new().await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer(
        "list_sprints",
        Ok(page(vec![started("9", "Sprint 9")], None)),
    );
    op.answer(
        "sprint_history",
        Ok(history(vec![item("11", true), item("12", false)])),
    );

    let out = h
        .call(
            "sprint_report",
            json!({ "sprint_id": "current", "project_id": "team-op:3" }),
        )
        .await
        .ok();

    assert_eq!(
        op.only_call("list_sprints"),
        json!({ "project": "3", "states": ["active"], "cursor": null, "limit": 100 })
    );
    assert_eq!(
        op.only_call("sprint_history"),
        json!({ "sprint": "9", "max_items": 2000 })
    );
    assert!(
        op.calls_to("get_sprint").is_empty(),
        "the list gave the sprint"
    );
    assert_eq!(out["sprint_id"], "team-op:9");
    assert_eq!(out["completed"][0]["id"], "team-op:11", "{out}");
}

#[tokio::test]
async fn a_sprint_and_a_project_of_two_connections_are_refused_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;

    let e = h
        .call(
            "sprint_report",
            json!({ "sprint_id": "acme-jira:42", "project_id": "team-op:3" }),
        )
        .await
        .tool_error();

    assert!(
        e.contains("sprint_id is on connection acme-jira, but project_id on connection team-op"),
        "{e}"
    );
    assert!(jira.calls().is_empty() && op.calls().is_empty());
}

#[tokio::test]
async fn velocity_reads_the_last_closed_sprints_and_refuses_a_bad_count_unsent() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let closed = |id: &str, days_ago: i64| Sprint {
        start_date: Some(Utc::now() - Duration::days(days_ago + 14)),
        end_date: Some(Utc::now() - Duration::days(days_ago)),
        completed_at: Some(Utc::now() - Duration::days(days_ago)),
        ..sprint(id, &format!("Sprint {id}"), SprintState::Closed)
    };
    jira.answer(
        "list_sprints",
        Ok(page(
            vec![closed("1", 40), closed("3", 10), closed("2", 25)],
            None,
        )),
    );
    jira.answer("sprint_history", Ok(history(vec![item("PROJ-1", true)])));

    let refused = h
        .call(
            "velocity_chart",
            json!({ "project_id": "PROJ", "sprints": 21 }),
        )
        .await
        .tool_error();
    assert_eq!(refused, "sprints must be between 1 and 20");
    assert!(jira.calls().is_empty());

    h.call(
        "velocity_chart",
        json!({ "project_id": "acme-jira:PROJ", "sprints": 2, "chart": false }),
    )
    .await
    .ok();
    assert_eq!(
        jira.only_call("list_sprints"),
        json!({ "project": "PROJ", "states": ["closed"], "cursor": null, "limit": 100 })
    );
    let read: Vec<_> = jira
        .calls_to("sprint_history")
        .into_iter()
        .map(|a| a["sprint"].clone())
        .collect();
    assert_eq!(
        read,
        [json!("2"), json!("3")],
        "the two most recent, oldest first"
    );
}

#[tokio::test]
async fn a_history_the_tracker_cannot_give_names_the_connection_and_the_kind() {
    let h = Harness::new().await;
    let redmine = h.connect("acme-redmine", ProviderKind::Redmine).await;
    redmine.answer("get_sprint", Ok(started("5", "v1.2")));
    redmine.fail::<History>(
        "sprint_history",
        ProviderError::Upstream {
            provider: "Redmine",
            status: 502,
            message: "bad gateway".into(),
        },
    );

    let e = h
        .call("burndown_chart", json!({ "sprint_id": "acme-redmine:5" }))
        .await
        .tool_error();

    assert!(
        e.starts_with("connection acme-redmine: Redmine failed (HTTP 502)"),
        "{e}"
    );
    assert_eq!(
        h.last_audit().await.error_kind.as_deref(),
        Some("tracker_upstream")
    );
}

#[tokio::test]
async fn a_window_out_of_range_is_refused_before_any_call() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;

    let e = h
        .call(
            "cfd_chart",
            json!({ "project_id": "acme-jira:PROJ", "days": 400 }),
        )
        .await
        .tool_error();

    assert_eq!(e, "days must be between 1 and 365");
    assert!(jira.calls().is_empty());
}
