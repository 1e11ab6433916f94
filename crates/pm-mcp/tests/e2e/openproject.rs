//! A working session against a (fake) OpenProject 13 under a sub-path, through the real binary
//! and rmcp's client: connect it, page projects, list tasks (closed ones included), create a task,
//! move it through the workflow (and be told what it allows), comment, log time, plan and run a
//! version as a sprint, epics as the Epic type — and another user never reaches it.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn an_openproject_session_through_the_real_binary() {
    on_each_engine(|env| async move {
        let Some(App { env, server, fake, token: key, client: ann, .. }) = App::start(env, Tracker::OpenProject).await else {
            return;
        };
        let url = fake.url.clone();

        let bad = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "openproject", "base_url": url, "api_key": "wrong-key", "name": "acme-op"
        }))
        .await;
        assert_eq!(bad.is_error, Some(true));
        assert!(text(&bad).contains("nothing was stored"), "{}", text(&bad));
        assert!(!text(&bad).contains("wrong-key"), "{}", text(&bad));

        let conf = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "openproject", "base_url": url, "api_key": key, "name": "acme-op"
        }))
        .await;
        assert_eq!(conf["test"]["ok"], true);
        assert_eq!(conf["test"]["account"]["name"], "Mia Krystof");
        assert_eq!(conf["test"]["site"]["version"], "13.4.1");
        assert_eq!(conf["test"]["more_projects"], false);
        assert!(!conf.to_string().contains(key));

        let first = ok(&ann, "list_projects", json!({ "limit": 20 })).await;
        assert_eq!(first["projects"].as_array().map(Vec::len), Some(20));
        assert_eq!(first["projects"][0]["id"], "acme-op:1");
        let rest = ok(&ann, "list_projects", json!({ "limit": 20, "cursor": first["next_cursor"] })).await;
        assert_eq!(rest["projects"].as_array().map(Vec::len), Some(5));
        let demo = ok(&ann, "get_project", json!({ "project_id": "acme-op:demo-project" })).await;
        assert_eq!(demo["project"]["key"], "demo-project");

        // Tasks: every status unless asked, mine (the tracker account), a version's, by text.
        let all = ok(&ann, "list_tasks", json!({ "project_id": "acme-op:demo-project", "limit": 100 })).await;
        let tasks = all["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 60);
        assert!(tasks.iter().any(|t| t["status"]["category"] == "done"));
        let mine = ok(&ann, "list_my_tasks", json!({ "limit": 100 })).await;
        assert!(mine["tasks"].as_array().is_some_and(|t| !t.is_empty() && t.iter().all(|x| x["assignee"]["id"] == "acme-op:5")));
        let sprint = ok(&ann, "get_sprint_tasks", json!({ "sprint_id": "acme-op:2" })).await;
        assert_eq!(sprint["sprint"]["name"], "Sprint 2");
        assert_eq!(sprint["sprint"]["state"], "active");
        assert_eq!(sprint["tasks"].as_array().map(Vec::len), Some(15));
        let closed = ok(&ann, "list_tasks", json!({ "project_id": "acme-op:1", "status": "Closed, Rejected" })).await;
        assert!(closed["tasks"].as_array().is_some_and(|t| t.len() == 16 && t.iter().all(|x| x["status"]["category"] == "done")));
        let unknown = call_with(&ann, "list_tasks", json!({ "project_id": "acme-op:1", "status": "Shipped" })).await;
        assert!(text(&unknown).contains("no status \"Shipped\"") && text(&unknown).contains("On hold"), "{}", text(&unknown));

        // A day's work on one task.
        let created = ok(&ann, "create_task", json!({
            "project_id": "acme-op:demo-project", "title": "Checkout fails on Safari", "task_type": "Bug",
            "description": "## Steps\n\n1. pay", "due_date": day(17), "priority": "High"
        }))
        .await;
        let id = created["task"]["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("acme-op:"));
        assert_eq!(created["task"]["status"]["name"], "New");
        assert_eq!(created["task"]["task_type"], "Bug");
        let moved = ok(&ann, "update_task_status", json!({ "task_id": id, "status": "in progress" })).await;
        assert_eq!(moved["task"]["status"]["category"], "in_progress");
        let refused = call_with(&ann, "update_task_status", json!({ "task_id": id, "status": "Rejected" })).await;
        assert_eq!(refused.is_error, Some(true));
        assert!(text(&refused).contains("can move to:") && text(&refused).contains("Closed"), "{}", text(&refused));
        fake.openproject().set_conflicts(1);
        let edited = ok(&ann, "update_task", json!({ "task_id": id, "title": "Checkout fails on Safari 18", "story_points": 3, "sprint_id": "acme-op:2" })).await;
        assert_eq!(edited["task"]["title"], "Checkout fails on Safari 18");
        assert_eq!(edited["task"]["story_points"], 3.0);
        let native: u64 = id.trim_start_matches("acme-op:").parse().expect("number");
        assert_eq!(fake.openproject().work_package(native).expect("stored")["_links"]["version"]["href"], "/openproject/api/v3/versions/2");
        let labels = call_with(&ann, "update_task", json!({ "task_id": id, "labels": ["web"] })).await;
        assert!(text(&labels).contains("labels") && text(&labels).contains("not supported"), "{}", text(&labels));
        ok(&ann, "add_task_comment", json!({ "task_id": id, "comment": "Reproduced on **Safari 18**" })).await;
        let comments = ok(&ann, "get_task_comments", json!({ "task_id": id })).await;
        assert_eq!(comments["comments"][0]["body"], "Reproduced on **Safari 18**");
        assert_eq!(fake.openproject().comments(native).len(), 1);
        let logged = ok(&ann, "log_work", json!({ "task_id": id, "hours": 1.5, "date": day(-3), "comment": "debugging" })).await;
        assert_eq!(logged["worklog"]["seconds"], 5400);
        let logs = ok(&ann, "list_worklogs", json!({ "task_id": id })).await;
        assert_eq!(logs["total_hours"], 1.5);
        assert!(fake.openproject().time_entries().iter().any(|t| t["hours"] == "PT1H30M"));
        ok(&ann, "assign_task", json!({ "task_id": id, "assignee_id": "acme-op:6" })).await;
        ok(&ann, "add_task_watcher", json!({ "task_id": id })).await;
        assert!(fake.openproject().watchers(native).iter().any(|u| u["id"] == 5));
        ok(&ann, "link_related_tasks", json!({ "task_id": id, "related_task_id": "acme-op:3", "link_type": "Blocks" })).await;

        // OpenProject mails watchers, author and assignee of each change: a single change does,
        // a bulk change does not (the connection's notify option unset); notify=false stops both.
        let before = fake.openproject().mails().len();
        ok(&ann, "bulk_update_tasks", json!({ "task_ids": ["acme-op:1", "acme-op:2"], "priority": "High", "status": "In progress" })).await;
        assert_eq!(fake.openproject().mails().len(), before, "{:?}", fake.openproject().mails());
        assert_eq!(fake.openproject().work_package(1).expect("wp")["_links"]["priority"]["title"], "High");
        ok(&ann, "update_task", json!({ "task_id": "acme-op:1", "priority": "Low" })).await;
        assert!(fake.openproject().mails().len() > before);
        let refused = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "redmine", "base_url": url, "api_key": key, "name": "rm", "notify": false
        }))
        .await;
        assert!(text(&refused).contains("notify is an OpenProject option"), "{}", text(&refused));
        let quiet = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "openproject", "base_url": url, "api_key": key, "name": "quiet-op", "notify": false
        }))
        .await;
        assert_eq!(quiet["test"]["ok"], true);
        let before = fake.openproject().mails().len();
        ok(&ann, "update_task", json!({ "task_id": "quiet-op:1", "priority": "Normal" })).await;
        assert_eq!(fake.openproject().mails().len(), before, "notify false: nobody is told");

        // Epics are the Epic type; the parent is the epic link.
        let epics = ok(&ann, "list_epics", json!({ "project_id": "acme-op:demo-project" })).await;
        assert_eq!(epics["epics"].as_array().map(Vec::len), Some(3));
        let epic = ok(&ann, "create_epic", json!({ "project_id": "acme-op:demo-project", "title": "Payments revamp" })).await;
        let epic_id = epic["epic"]["id"].as_str().expect("id").to_string();
        assert_eq!(epic["epic"]["task_type"], "Epic");
        let under = ok(&ann, "link_task_to_epic", json!({ "task_id": id, "epic_id": epic_id })).await;
        assert_eq!(under["task"]["parent_id"], epic_id.as_str());
        let out = ok(&ann, "unlink_task_from_epic", json!({ "task_id": id })).await;
        assert_eq!(out["task"]["parent_id"], Value::Null);

        // Versions as sprints: plan one, start it, complete it.
        let planned = ok(&ann, "create_sprint", json!({ "project_id": "acme-op:demo-project", "name": "Sprint 9", "start_date": "2099-01-04", "end_date": "2099-01-18", "goal": "Payments" })).await;
        let sprint_id = planned["sprint"]["id"].as_str().expect("id").to_string();
        assert_eq!(planned["sprint"]["state"], "future");
        let started = ok(&ann, "start_sprint", json!({ "sprint_id": sprint_id })).await;
        assert_eq!(started["sprint"]["state"], "active");
        let done = ok(&ann, "complete_sprint", json!({ "sprint_id": sprint_id })).await;
        assert_eq!(done["sprint"]["state"], "closed");
        let sprints = ok(&ann, "list_sprints", json!({ "project_id": "acme-op:demo-project", "state": "closed" })).await;
        assert!(sprints["sprints"].as_array().is_some_and(|s| s.iter().any(|x| x["id"] == sprint_id.as_str())));

        // Analytics from OpenProject's activities: the task joined Sprint 2 after it started and
        // moved to In progress; the version's other work packages were planned.
        let report = ok(&ann, "sprint_report", json!({ "sprint_id": "acme-op:2", "metric": "task_count" })).await;
        let added: Vec<&str> = report["added_after_start"].as_array().expect("added").iter().filter_map(|i| i["id"].as_str()).collect();
        assert!(added.contains(&id.as_str()), "{report}");
        let burn = call_with(&ann, "burndown_chart", json!({ "sprint_id": "acme-op:2" })).await;
        assert_ne!(burn.is_error, Some(true), "{}", text(&burn));
        assert!(burn.content.iter().any(|c| c.as_image().is_some()), "no chart");
        let cycle = ok(&ann, "cycle_time_chart", json!({ "project_id": "acme-op:demo-project", "chart": false })).await;
        assert!(cycle["assumptions"].as_array().is_some_and(|a| !a.is_empty()), "{cycle}");

        let people = ok(&ann, "list_users", json!({ "query": "jonas" })).await;
        assert_eq!(people["users"][0]["id"], "acme-op:6");
        ok(&ann, "delete_task", json!({ "task_id": id })).await;
        assert!(fake.openproject().work_package(native).is_none());

        // Bob never reaches Ann's connection.
        env.add_user("bob@acme.org");
        let bob_key = env.create_key("bob@acme.org", "read,write");
        let bob = server.client(&bob_key, ProtocolVersion::V_2026_07_28).await.expect("bob");
        for (tool, args) in [
            ("list_tasks", json!({ "provider_id": "acme-op" })),
            ("get_task", json!({ "task_id": "acme-op:1" })),
        ] {
            let r = call_with(&bob, tool, args).await;
            assert_eq!(r.is_error, Some(true), "{tool}");
            assert!(text(&r).contains(r#"you have no connection "acme-op""#), "{tool}: {}", text(&r));
        }
        let _ = ann.cancel().await;
        let _ = bob.cancel().await;
        let logs = server.stop().await;
        assert!(!logs.contains(key), "a log line holds the OpenProject key");
        for h in fake.recorder.lines() {
            assert!(!h.contains(key), "{h}");
        }
        let raw = env.raw_database();
        assert!(!raw.windows(key.len()).any(|w| w == key.as_bytes()), "the database holds the OpenProject key");
        env.finish().await;
    })
    .await;
}
