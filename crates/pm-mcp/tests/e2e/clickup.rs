//! A working session against a (fake) ClickUp through the real binary and rmcp's client: connect
//! it (the one workspace found from the token and stored), list spaces as projects, list tasks,
//! create one, move it (an unknown status names the list's statuses), comment, log work, read the
//! sprint folder's sprints and a sprint's tasks; count the upstream requests each tool call costs.
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn a_clickup_session_through_the_real_binary() {
    on_each_engine(|env| async move {
        use pm_testkit::fake_clickup as cu;
        let Some(App { env, server, fake, token, client: ann, .. }) = App::start(env, Tracker::ClickUp).await else {
            return;
        };
        let base = fake.url.clone();

        let bad = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "clickup", "base_url": base, "api_token": "pk_wrong", "name": "acme-cu"
        }))
        .await;
        assert_eq!(bad.is_error, Some(true));
        assert!(text(&bad).contains("Token invalid (OAUTH_025)"), "{}", text(&bad));
        let elsewhere = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "clickup", "base_url": base, "api_token": token, "workspace_id": cu::OTHER_TEAM, "name": "acme-cu"
        }))
        .await;
        assert_eq!(elsewhere.is_error, Some(true));
        assert!(text(&elsewhere).contains("does not belong to workspace 9002; it sees: Acme (9001)"), "{}", text(&elsewhere));

        let configured = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "clickup", "base_url": base, "api_token": token, "name": "acme-cu"
        }))
        .await;
        assert_eq!(configured["test"]["ok"], true);
        assert_eq!(configured["test"]["site"]["workspace_id"], cu::TEAM);
        assert_eq!(configured["test"]["account"]["name"], "John Doe");
        assert_eq!(configured["test"]["projects_seen"], 2);
        assert!(!configured.to_string().contains(token));
        assert_eq!(
            env.count("SELECT COUNT(*) FROM pm_provider_connections WHERE CAST(config AS TEXT) LIKE '%\"workspace_id\":%\"9001\"%'").await,
            1,
            "the workspace found is stored with the connection"
        );

        let projects = ok(&ann, "list_projects", json!({})).await;
        assert_eq!(projects["projects"][0]["id"], "acme-cu:790");
        assert_eq!(projects["projects"][0]["name"], "Product");

        // Upstream requests per tool call, through the real binary (the client is cached per
        // connection, so identity and workspace were already read by configure/list_projects).
        let mut counts = Vec::new();
        let n = fake.recorder.len();
        let tasks = ok(&ann, "list_tasks", json!({ "project_id": "acme-cu:790", "limit": 5 })).await;
        counts.push(("list_tasks", fake.recorder.lines_since(n)));
        assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(5));
        assert!(tasks["next_cursor"].is_string());
        let n = fake.recorder.len();
        let sprint = ok(&ann, "get_sprint_tasks", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW) })).await;
        counts.push(("get_sprint_tasks", fake.recorder.lines_since(n)));
        assert_eq!(sprint["sprint"]["state"], "active");
        assert_eq!(sprint["sprint"]["goal"], "Fix checkout");
        assert_eq!(sprint["tasks"].as_array().map(Vec::len), Some(6));
        let n = fake.recorder.len();
        let mine = ok(&ann, "list_my_tasks", json!({})).await;
        counts.push(("list_my_tasks", fake.recorder.lines_since(n)));
        assert_eq!(mine["tasks"].as_array().map(Vec::len), Some(6));
        assert_eq!(mine["tasks"][0]["assignee"]["id"], "acme-cu:123");
        for (tool, reqs) in &counts {
            eprintln!("through the binary: {tool}: {} upstream request(s): {reqs:?}", reqs.len());
        }
        let per_tool: Vec<(&str, usize)> = counts.iter().map(|(t, r)| (*t, r.len())).collect();
        assert_eq!(per_tool, vec![("list_tasks", 1), ("get_sprint_tasks", 2), ("list_my_tasks", 2)]);

        let created = ok(&ann, "create_task", json!({
            "project_id": "acme-cu:790", "title": "Checkout fails on Safari",
            "description": "## Steps\n\n1. open **checkout**", "priority": "high",
            "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW), "story_points": 3
        }))
        .await;
        let id = created["task"]["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("acme-cu:86c"), "{id}");
        assert_eq!(created["task"]["status"]["name"], "to do");
        assert_eq!(created["task"]["story_points"], 3.0);
        assert_eq!(created["task"]["priority"], "high");
        let unknown = call_with(&ann, "update_task_status", json!({ "task_id": id, "status": "Doing" })).await;
        assert_eq!(unknown.is_error, Some(true));
        assert!(text(&unknown).contains("it has: to do, in progress, review, complete"), "{}", text(&unknown));
        let moved = ok(&ann, "update_task_status", json!({ "task_id": id, "status": "in progress" })).await;
        assert_eq!(moved["task"]["status"]["category"], "in_progress");
        let commented = ok(&ann, "add_task_comment", json!({ "task_id": id, "comment": "Reproduced on **Safari 18**" })).await;
        assert_eq!(commented["comment"]["body"], "Reproduced on **Safari 18**");
        let comments = ok(&ann, "get_task_comments", json!({ "task_id": id })).await;
        assert_eq!(comments["comments"][0]["author"]["name"], "John Doe");
        let logged = ok(&ann, "log_work", json!({ "task_id": id, "hours": 1.5, "date": day(-3), "comment": "debugging" })).await;
        assert_eq!(logged["worklog"]["seconds"], 5400);
        let logs = ok(&ann, "list_worklogs", json!({ "task_id": id })).await;
        assert_eq!(logs["total_hours"], 1.5);

        // Analytics from the Time in Status ClickApp: the sprint list's seven tasks, the move
        // just made, and a chart.
        let sprint_ref = format!("acme-cu:{}", cu::SPRINT_NOW);
        let report = ok(&ann, "sprint_report", json!({ "sprint_id": sprint_ref, "metric": "task_count" })).await;
        let count = |k: &str| report[k].as_array().map_or(0, Vec::len);
        assert_eq!(count("planned") + count("added_after_start"), 7, "{report}");
        let burn = call_with(&ann, "burndown_chart", json!({ "sprint_id": sprint_ref })).await;
        assert_ne!(burn.is_error, Some(true), "{}", text(&burn));
        assert!(burn.content.iter().any(|c| c.as_image().is_some()), "no chart");
        let cfd = ok(&ann, "cfd_chart", json!({ "project_id": "acme-cu:790", "days": 14, "chart": false })).await;
        let today = cfd["days"].as_array().and_then(|d| d.last()).cloned().unwrap_or_default();
        assert!(today["in_progress"].as_u64().is_some_and(|n| n >= 1), "{cfd}");
        assert!(fake.recorder.lines_since(0).iter().any(|r| r.contains("bulk_time_in_status")));

        let sprints = ok(&ann, "list_sprints", json!({ "project_id": "acme-cu:790" })).await;
        let states: Vec<&str> = sprints["sprints"].as_array().expect("sprints").iter().filter_map(|s| s["state"].as_str()).collect();
        assert_eq!(states, vec!["closed", "active", "future"]);
        let in_sprint = ok(&ann, "list_tasks_in_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW) })).await;
        assert_eq!(in_sprint["tasks"].as_array().map(Vec::len), Some(7), "the six planned and the one created into it");
        let start = call_with(&ann, "start_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NEXT) })).await;
        assert_eq!(start.is_error, Some(true));
        assert!(text(&start).contains("not supported by ClickUp"), "{}", text(&start));
        let no_folder = call_with(&ann, "list_sprints", json!({ "project_id": "acme-cu:791" })).await;
        assert!(text(&no_folder).contains("no sprint folder"), "{}", text(&no_folder));
        let gone = call_with(&ann, "get_task", json!({ "task_id": "acme-cu:86zzz" })).await;
        assert!(text(&gone).contains("ClickUp task 86zzz was not found"), "{}", text(&gone));

        let _ = ann.cancel().await;
        let logs = server.stop().await;
        assert!(!logs.contains(token), "a log line holds the ClickUp token");
        let raw = env.raw_database();
        assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()), "the database holds the ClickUp token");
        env.finish().await;
    })
    .await;
}
