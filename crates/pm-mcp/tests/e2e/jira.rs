//! A working session against a (fake) Jira through the real binary and rmcp's client: connect it
//! with configure_pm_provider, see the tracker identity, page through projects, read one, test the
//! connection, remove it — and another user never reaches it.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn a_jira_session_through_the_real_binary() {
    on_each_engine(|env| async move {
        let Some(App { env, server, fake, token, client: ann, .. }) = App::start(env, Tracker::Jira).await else {
            return;
        };
        let jira = fake.url.clone();

        // A wrong token: refused with Jira's reason, and nothing stored.
        let bad = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": "wrong", "name": "acme-jira"
        }))
        .await;
        assert_eq!(bad.is_error, Some(true));
        assert!(text(&bad).contains("nothing was stored") && text(&bad).contains("Client must be authenticated"), "{}", text(&bad));
        assert_eq!(call_ok(&ann, "list_providers").await["connections"], json!([]));

        let ok = call_with(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "acme-jira"
        }))
        .await;
        assert_ne!(ok.is_error, Some(true), "{}", text(&ok));
        let ok = ok.structured_content.expect("structured");
        assert_eq!(ok["connection"]["name"], "acme-jira");
        assert_eq!(ok["connection"]["is_default"], true);
        assert_eq!(ok["test"]["ok"], true);
        assert_eq!(ok["test"]["account"]["name"], "Mia Krystof");
        assert_eq!(ok["test"]["projects_seen"], 8);
        assert!(!ok.to_string().contains(token));

        let me = call_ok(&ann, "get_current_user").await;
        assert_eq!(me["provider_account"]["connection"], "acme-jira");
        assert_eq!(me["provider_account"]["account"]["id"], "5b10a2844c20165700ede21g");

        // Projects, a page at a time; ids come back qualified and work as input.
        let first = call_with(&ann, "list_projects", json!({ "limit": 5 })).await.structured_content.expect("page");
        assert_eq!(first["projects"].as_array().map(Vec::len), Some(5));
        assert_eq!(first["projects"][0]["id"], "acme-jira:P1");
        let second = call_with(&ann, "list_projects", json!({ "limit": 5, "cursor": first["next_cursor"] })).await;
        let second = second.structured_content.expect("page");
        assert_eq!(second["projects"].as_array().map(Vec::len), Some(3));
        assert_eq!(second["next_cursor"], Value::Null);
        let one = call_with(&ann, "get_project", json!({ "project_id": "acme-jira:EX" })).await.structured_content.expect("project");
        assert_eq!(one["project"]["name"], "Example");
        let bare = call_with(&ann, "get_project", json!({ "project_id": "P2" })).await.structured_content.expect("project");
        assert_eq!(bare["project"]["id"], "acme-jira:P2");
        let missing = call_with(&ann, "get_project", json!({ "project_id": "acme-jira:NOPE" })).await;
        assert_eq!(missing.is_error, Some(true));
        assert!(text(&missing).contains("NOPE"), "{}", text(&missing));
        let found = call_with(&ann, "search_projects", json!({ "query": "exam" })).await.structured_content.expect("search");
        assert_eq!(found["projects"][0]["id"], "acme-jira:EX");
        // Tasks: the caller's own (the tracker account, not the pm-mcp user), by project with
        // paging, unassigned, in a sprint, by text, and one by id as returned.
        let mine = call_with(&ann, "list_my_tasks", json!({})).await.structured_content.expect("mine");
        assert_eq!(mine["tasks"].as_array().map(Vec::len), Some(6));
        assert_eq!(mine["tasks"][0]["assignee"]["id"], "acme-jira:5b10a2844c20165700ede21g");
        let page1 = call_with(&ann, "list_tasks", json!({ "project_id": "acme-jira:EX", "limit": 10 })).await.structured_content.expect("p1");
        assert_eq!(page1["tasks"].as_array().map(Vec::len), Some(10));
        assert_eq!(page1["tasks"][0]["project_id"], "acme-jira:EX");
        let page2 = call_with(&ann, "list_tasks", json!({ "project_id": "acme-jira:EX", "limit": 10, "cursor": page1["next_cursor"] })).await;
        assert_eq!(page2.structured_content.expect("p2")["tasks"].as_array().map(Vec::len), Some(2));
        let open = call_with(&ann, "list_tasks", json!({ "project_id": "EX", "status": "To Do, In Progress" })).await.structured_content.expect("open");
        let open = open["tasks"].as_array().cloned().unwrap_or_default();
        assert_eq!(open.len(), 8, "EX-1..12 less the four done");
        assert!(open.iter().all(|x| x["status"]["category"] != "done"), "{open:?}");
        let free = call_with(&ann, "list_unassigned_tasks", json!({ "project_id": "acme-jira:EX" })).await.structured_content.expect("free");
        assert_eq!(free["tasks"].as_array().map(Vec::len), Some(6));
        let sprint = call_with(&ann, "list_tasks_in_sprint", json!({ "sprint_id": "acme-jira:7" })).await.structured_content.expect("sprint");
        assert_eq!(sprint["tasks"].as_array().map(Vec::len), Some(6));
        let found = call_with(&ann, "search_tasks", json!({ "query": "task 11" })).await.structured_content.expect("search");
        assert_eq!(found["tasks"][0]["id"], "acme-jira:EX-11");
        let task_id = mine["tasks"][0]["id"].as_str().expect("id").to_string();
        let task = call_with(&ann, "get_task", json!({ "task_id": task_id })).await.structured_content.expect("task");
        assert_eq!(task["task"]["id"], task_id.as_str());
        assert!(task["task"]["description"].as_str().is_some_and(|d| d.starts_with("Details of")));
        let mixed = call_with(&ann, "list_tasks", json!({ "project_id": "acme-jira:EX", "sprint_id": "other:7" })).await;
        assert_eq!(mixed.is_error, Some(true));
        let gone = call_with(&ann, "get_task", json!({ "task_id": "acme-jira:EX-404" })).await;
        assert!(text(&gone).contains("EX-404"), "{}", text(&gone));
        // The working part of the day: create a task, move it, comment, log work, read it back.
        let created = call_with(&ann, "create_task", json!({
            "project_id": "acme-jira:EX", "title": "Checkout fails on Safari",
            "description": "## Steps\n\n1. open **checkout**\n2. pay", "due_date": day(17),
            "sprint_id": "acme-jira:7", "story_points": 2
        }))
        .await;
        assert_ne!(created.is_error, Some(true), "{}", text(&created));
        let created = created.structured_content.expect("created");
        let new_id = created["task"]["id"].as_str().expect("id").to_string();
        assert_eq!(new_id, "acme-jira:EX-13");
        assert_eq!(created["task"]["status"]["name"], "To Do");
        assert_eq!(created["task"]["story_points"], 2.0);
        let moved = call_with(&ann, "update_task_status", json!({ "task_id": new_id, "status": "in progress" })).await;
        assert_eq!(moved.structured_content.expect("moved")["task"]["status"]["category"], "in_progress");
        let stuck = call_with(&ann, "update_task_status", json!({ "task_id": new_id, "status": "Closed" })).await;
        assert_eq!(stuck.is_error, Some(true));
        assert!(text(&stuck).contains("can move to: Done, To Do"), "{}", text(&stuck));
        let bad_date = call_with(&ann, "create_task", json!({ "project_id": "EX", "title": "x", "due_date": "24/12/2026" })).await;
        assert!(text(&bad_date).contains("YYYY-MM-DD"), "{}", text(&bad_date));
        let bad_project = call_with(&ann, "create_task", json!({ "project_id": "NOPE", "title": "x" })).await;
        // Jira's 400 `{"errors":{"project":"Specify a valid project ID or key"}}` is said as a
        // not-found naming the project and where to look.
        assert!(text(&bad_project).contains("Jira project NOPE was not found") && text(&bad_project).contains("list_projects"), "{}", text(&bad_project));
        let commented = call_with(&ann, "add_task_comment", json!({ "task_id": new_id, "comment": "Reproduced on **Safari 18**" })).await;
        assert_eq!(commented.structured_content.expect("comment")["comment"]["body"], "Reproduced on **Safari 18**");
        let comments = call_with(&ann, "get_task_comments", json!({ "task_id": new_id })).await.structured_content.expect("comments");
        assert_eq!(comments["comments"][0]["author"]["name"], "Mia Krystof");
        let logged = call_with(&ann, "log_work", json!({ "task_id": new_id, "hours": 1.5, "date": day(-3), "comment": "debugging" })).await;
        assert_eq!(logged.structured_content.expect("log")["worklog"]["seconds"], 5400);
        let logs = call_with(&ann, "list_worklogs", json!({ "task_id": new_id })).await.structured_content.expect("logs");
        assert_eq!(logs["total_hours"], 1.5);
        assert!(text(&call_with(&ann, "log_work", json!({ "task_id": new_id, "hours": -2 })).await).contains("more than 0"));
        // The reference's list_worklogs filters: a project's time by user and day, inclusive.
        let mia = "acme-jira:5b10a2844c20165700ede21g";
        let theirs = call_with(&ann, "list_worklogs", json!({ "project_id": "acme-jira:EX", "user_id": mia, "start_date": day(-3), "end_date": day(-3) })).await;
        assert_ne!(theirs.is_error, Some(true), "{}", text(&theirs));
        let theirs = theirs.structured_content.expect("project logs");
        assert_eq!(theirs["total_hours"], 1.5, "{theirs}");
        assert_eq!(theirs["worklogs"][0]["task_id"], new_id.as_str());
        assert_eq!(theirs["worklogs"][0]["seconds"], 5400);
        let later = call_with(&ann, "list_worklogs", json!({ "project_id": "EX", "start_date": day(-2) })).await.structured_content.expect("later");
        assert_eq!(later["worklogs"].as_array().map(Vec::len), Some(0), "{later}");
        let someone_else = call_with(&ann, "list_worklogs", json!({ "task_id": new_id, "user_id": "acme-jira:ravi-id" })).await.structured_content.expect("none");
        assert_eq!(someone_else["total_hours"], 0.0);
        let user_only = call_with(&ann, "list_worklogs", json!({ "user_id": mia })).await;
        assert!(user_only.is_error == Some(true) && text(&user_only).contains("project_id"), "{}", text(&user_only));
        let backwards = call_with(&ann, "list_worklogs", json!({ "project_id": "EX", "start_date": day(1), "end_date": day(-1) })).await;
        assert!(text(&backwards).contains("after end_date"), "{}", text(&backwards));
        let elsewhere = call_with(&ann, "list_worklogs", json!({ "task_id": new_id, "project_id": "P1" })).await;
        assert!(text(&elsewhere).contains("not in project P1"), "{}", text(&elsewhere));
        // list_users with the reference's project_id: who can be assigned the project's tasks.
        let members = call_with(&ann, "list_users", json!({ "project_id": "acme-jira:EX" })).await.structured_content.expect("members");
        assert_eq!(members["users"].as_array().map(Vec::len), Some(2), "{members}");
        let few = call_with(&ann, "list_users", json!({ "project_id": "P1" })).await.structured_content.expect("few");
        assert_eq!(few["users"][0]["id"], mia, "{few}");
        assert_eq!(few["users"].as_array().map(Vec::len), Some(1));
        // Assign to Mia, then unassign: each read back from the tracker itself.
        let assignee_of = |key: &str| fake.jira().issues.lock().unwrap().iter().find(|i| i.key == key).and_then(|i| i.assignee.clone());
        let assigned = call_with(&ann, "assign_task", json!({ "task_id": new_id, "assignee_id": "acme-jira:5b10a2844c20165700ede21g" })).await.structured_content.expect("assign");
        assert_eq!(assigned["task"]["assignee"]["id"], "acme-jira:5b10a2844c20165700ede21g");
        assert_eq!(assignee_of("EX-13").as_deref(), Some("5b10a2844c20165700ede21g"));
        let unassigned = call_with(&ann, "assign_task", json!({ "task_id": new_id })).await.structured_content.expect("assign");
        assert_eq!(unassigned["task"]["assignee"], Value::Null);
        assert_eq!(assignee_of("EX-13"), None);
        let back = call_with(&ann, "get_task", json!({ "task_id": new_id })).await.structured_content.expect("back");
        assert_eq!(back["task"]["title"], "Checkout fails on Safari");
        assert_eq!(back["task"]["status"]["name"], "In Progress");
        // Sprints: the board's sprints, the active one with its tasks, and planning the next.
        let sprints = call_with(&ann, "list_sprints", json!({ "project_id": "acme-jira:EX" })).await.structured_content.expect("sprints");
        assert_eq!(sprints["sprints"].as_array().map(Vec::len), Some(3));
        let active = call_with(&ann, "list_sprints", json!({ "project_id": "EX", "state": "active" })).await.structured_content.expect("active");
        assert_eq!(active["sprints"][0]["id"], "acme-jira:7");
        assert_eq!(active["sprints"][0]["state"], "active");
        let with_tasks = call_with(&ann, "get_sprint_tasks", json!({ "sprint_id": "acme-jira:7" })).await.structured_content.expect("sprint tasks");
        assert_eq!(with_tasks["sprint"]["goal"], "Fix checkout");
        assert_eq!(with_tasks["tasks"].as_array().map(Vec::len), Some(7), "the six planned tasks and the one created into it");
        let no_board = call_with(&ann, "list_sprints", json!({ "project_id": "P1" })).await;
        assert!(text(&no_board).contains("no Scrum board"), "{}", text(&no_board));
        // EX is also shown by a cross-project board: the notes say which board was used, and
        // board_id names another (a Kanban board has no sprints).
        let notes = sprints["notes"].to_string();
        assert!(notes.contains("board 84 (EX board)") && notes.contains("board 12 (Portfolio)"), "{sprints}");
        let portfolio = call_with(&ann, "list_sprints", json!({ "project_id": "EX", "board_id": "12" })).await.structured_content.expect("portfolio");
        assert_eq!(portfolio["sprints"].as_array().map(Vec::len), Some(0), "{portfolio}");
        let kanban = call_with(&ann, "list_sprints", json!({ "project_id": "EX", "board_id": "92" })).await;
        assert!(text(&kanban).contains("Kanban"), "{}", text(&kanban));
        let planned = call_with(&ann, "create_sprint", json!({ "project_id": "acme-jira:EX", "name": "Sprint 9", "goal": "Payments" })).await;
        let planned = planned.structured_content.expect("planned");
        let next_id = planned["sprint"]["id"].as_str().expect("id").to_string();
        assert_eq!(planned["sprint"]["state"], "future");
        let undated = call_with(&ann, "start_sprint", json!({ "sprint_id": next_id })).await;
        assert!(text(&undated).contains("start_date and end_date"), "{}", text(&undated));
        let backwards = call_with(&ann, "create_sprint", json!({ "project_id": "EX", "name": "x", "start_date": day(10), "end_date": day(1) })).await;
        assert!(text(&backwards).contains("after start_date"), "{}", text(&backwards));
        let renamed = call_with(&ann, "update_sprint", json!({ "sprint_id": next_id, "name": "Sprint 9 (payments)" })).await;
        assert_eq!(renamed.structured_content.expect("renamed")["sprint"]["name"], "Sprint 9 (payments)");
        let closed = call_with(&ann, "complete_sprint", json!({ "sprint_id": "acme-jira:7" })).await.structured_content.expect("closed");
        assert_eq!(closed["sprint"]["state"], "closed");
        assert!(closed["sprint"]["notes"].to_string().contains("went back to the backlog"), "{closed}");
        let again = call_with(&ann, "complete_sprint", json!({ "sprint_id": "acme-jira:7" })).await;
        assert!(text(&again).contains("not active"), "{}", text(&again));
        let started = call_with(&ann, "start_sprint", json!({ "sprint_id": next_id, "start_date": day(-2), "end_date": day(12) })).await;
        assert_eq!(started.structured_content.expect("started")["sprint"]["state"], "active");
        let spare = call_with(&ann, "create_sprint", json!({ "project_id": "EX", "name": "Spare" })).await.structured_content.expect("spare");
        let deleted = call_with(&ann, "delete_sprint", json!({ "sprint_id": spare["sprint"]["id"] })).await.structured_content.expect("deleted");
        assert_eq!(deleted["deleted"], spare["sprint"]["id"]);
        let spare_gone = call_with(&ann, "get_sprint", json!({ "sprint_id": spare["sprint"]["id"] })).await;
        assert!(text(&spare_gone).contains("not found"), "the sprint is gone from the tracker: {}", text(&spare_gone));
        // Editing, in one task and in bulk; people; watching and linking; epics.
        let edited = call_with(&ann, "update_task", json!({
            "task_id": new_id, "title": "Checkout fails on Safari 18", "status": "Done", "story_points": 3, "sprint_id": next_id
        }))
        .await;
        assert_ne!(edited.is_error, Some(true), "{}", text(&edited));
        let edited = edited.structured_content.expect("edited");
        assert_eq!(edited["task"]["title"], "Checkout fails on Safari 18");
        assert_eq!(edited["task"]["status"]["name"], "Done");
        assert_eq!(edited["task"]["story_points"], 3.0);
        let nothing = call_with(&ann, "update_task", json!({ "task_id": new_id })).await;
        assert!(text(&nothing).contains("nothing to change"), "{}", text(&nothing));
        // A move whose screen asks for what pm-mcp cannot choose (Reopen's reason) is refused
        // before the other fields of the same call are written.
        let reopened = call_with(&ann, "update_task", json!({ "task_id": new_id, "title": "Reopened", "status": "To Do" })).await;
        assert_eq!(reopened.is_error, Some(true), "{}", text(&reopened));
        assert!(text(&reopened).contains("Reopen reason"), "{}", text(&reopened));
        let title_of = |key: &str| fake.jira().issues.lock().unwrap().iter().find(|i| i.key == key).map(|i| i.summary.clone());
        assert_eq!(title_of("EX-13").as_deref(), Some("Checkout fails on Safari 18"), "nothing was written");
        // Bulk-unassign two tasks the seed assigned to Mia (odd keys), read back from the tracker.
        assert!(assignee_of("EX-1").is_some() && assignee_of("EX-3").is_some());
        let bulk = call_with(&ann, "bulk_update_tasks", json!({ "task_ids": ["acme-jira:EX-1", "EX-3", "acme-jira:EX-404"], "assignee_id": "" }))
            .await
            .structured_content
            .expect("bulk");
        assert_eq!(bulk["updated"], json!(["acme-jira:EX-1", "acme-jira:EX-3"]));
        assert_eq!(bulk["failed"][0]["task_id"], "acme-jira:EX-404");
        assert_eq!((assignee_of("EX-1"), assignee_of("EX-3")), (None, None));
        let people = call_with(&ann, "list_users", json!({ "query": "ravi" })).await.structured_content.expect("users");
        assert_eq!(people["users"][0]["name"], "Ravi Sharma");
        let ravi = people["users"][0]["id"].as_str().expect("id").to_string();
        assert!(ravi.starts_with("acme-jira:"));
        let me_user = call_with(&ann, "get_user", json!({ "user_id": "acme-jira:5b10a2844c20165700ede21g" })).await.structured_content.expect("user");
        assert_eq!(me_user["user"]["email"], "mia@example.com");
        let watched = call_with(&ann, "add_task_watcher", json!({ "task_id": new_id })).await;
        assert!(text(&watched).contains("5b10a2844c20165700ede21g now watches"), "{}", text(&watched));
        let issue = |key: &str| fake.jira().issues.lock().unwrap().iter().find(|i| i.key == key).map(|i| (i.watchers.clone(), i.links.clone()));
        assert_eq!(issue("EX-13").map(|(w, _)| w), Some(vec!["5b10a2844c20165700ede21g".to_string()]), "the tracker holds the watcher");
        let linked = call_with(&ann, "link_related_tasks", json!({ "task_id": new_id, "related_task_id": "acme-jira:EX-2", "link_type": "Blocks" })).await;
        assert_ne!(linked.is_error, Some(true), "{}", text(&linked));
        let links = issue("EX-13").map(|(_, l)| l).unwrap_or_default();
        assert!(links.iter().any(|(ty, other)| ty == "Blocks" && other == "EX-2"), "the tracker holds the link: {links:?}");
        let bad_link = call_with(&ann, "link_related_tasks", json!({ "task_id": new_id, "related_task_id": "EX-2", "link_type": "Befriends" })).await;
        assert!(text(&bad_link).contains("Befriends"), "{}", text(&bad_link));
        let epic = call_with(&ann, "create_epic", json!({ "project_id": "acme-jira:EX", "title": "Payments revamp" })).await.structured_content.expect("epic");
        let epic_id = epic["epic"]["id"].as_str().expect("id").to_string();
        assert_eq!(epic["epic"]["task_type"], "Epic");
        let epics = call_with(&ann, "list_epics", json!({ "project_id": "EX" })).await.structured_content.expect("epics");
        assert_eq!(epics["epics"][0]["id"], epic_id.as_str());
        let under = call_with(&ann, "link_task_to_epic", json!({ "task_id": new_id, "epic_id": epic_id })).await.structured_content.expect("under");
        assert_eq!(under["task"]["parent_id"], epic_id.as_str());
        let out = call_with(&ann, "unlink_task_from_epic", json!({ "task_id": new_id })).await.structured_content.expect("out");
        assert_eq!(out["task"]["parent_id"], Value::Null);
        let not_epic = call_with(&ann, "link_task_to_epic", json!({ "task_id": new_id, "epic_id": "acme-jira:EX-2" })).await;
        assert!(text(&not_epic).contains("not an epic"), "{}", text(&not_epic));
        let progressed = call_with(&ann, "update_epic", json!({ "epic_id": epic_id, "status": "In Progress" })).await.structured_content.expect("epic");
        assert_eq!(progressed["epic"]["status"]["name"], "In Progress");
        let read = crate::harness::ok(&ann, "get_epic", json!({ "epic_id": epic_id })).await;
        assert_eq!((read["epic"]["title"].as_str(), read["epic"]["status"]["name"].as_str()), (Some("Payments revamp"), Some("In Progress")));
        // The epic tools refuse an ordinary task: nothing read as an epic, changed or deleted.
        for (tool, args) in [
            ("get_epic", json!({ "epic_id": "acme-jira:EX-2" })),
            ("update_epic", json!({ "epic_id": "acme-jira:EX-2", "title": "Renamed" })),
            ("delete_epic", json!({ "epic_id": "acme-jira:EX-2" })),
        ] {
            let refused = call_with(&ann, tool, args).await;
            assert_eq!(refused.is_error, Some(true), "{tool}");
            assert!(text(&refused).contains("acme-jira:EX-2 is a Task, not an epic"), "{tool}: {}", text(&refused));
        }
        let kept = crate::harness::ok(&ann, "get_task", json!({ "task_id": "acme-jira:EX-2" })).await;
        assert_eq!(kept["task"]["title"], "Example task 2", "EX-2 kept its title");
        let dropped_epic = crate::harness::ok(&ann, "delete_epic", json!({ "epic_id": epic_id })).await;
        assert_eq!(dropped_epic["ok"], true);
        assert!(fake.jira().issues.lock().unwrap().iter().all(|i| format!("acme-jira:{}", i.key) != epic_id), "the epic is gone from the tracker");
        assert!(fake.jira().issues.lock().unwrap().iter().any(|i| i.key == "EX-2"), "EX-2 is still in the tracker");
        let gone = call_with(&ann, "delete_task", json!({ "task_id": "acme-jira:EX-12" })).await;
        assert_ne!(gone.is_error, Some(true), "{}", text(&gone));
        assert_eq!(call_with(&ann, "get_task", json!({ "task_id": "acme-jira:EX-12" })).await.is_error, Some(true));
        // Projects: create (key from the name), rename, delete.
        let made = call_with(&ann, "create_project", json!({ "name": "Mobile Banking App", "description": "iOS and Android" })).await;
        assert_ne!(made.is_error, Some(true), "{}", text(&made));
        assert_eq!(made.structured_content.expect("made")["project"]["id"], "acme-jira:MBA");
        let clash = call_with(&ann, "create_project", json!({ "name": "Mobile Banking App" })).await;
        assert!(text(&clash).contains("uses this project key"), "{}", text(&clash));
        let renamed = call_with(&ann, "update_project", json!({ "project_id": "acme-jira:MBA", "name": "Mobile Bank" })).await;
        assert_eq!(renamed.structured_content.expect("renamed")["project"]["name"], "Mobile Bank");
        let dropped = call_with(&ann, "delete_project", json!({ "project_id": "acme-jira:MBA" })).await.structured_content.expect("dropped");
        assert_eq!(dropped["deleted"], "acme-jira:MBA");
        let project_gone = call_with(&ann, "get_project", json!({ "project_id": "acme-jira:MBA" })).await;
        assert!(text(&project_gone).contains("not found"), "the project is gone from the tracker: {}", text(&project_gone));
        let tested = call_with(&ann, "test_pm_provider", json!({})).await.structured_content.expect("test");
        assert_eq!(tested["test"]["ok"], true);

        // Bob cannot reach Ann's connection by name; it answers like one that does not exist.
        env.add_user("bob@acme.org");
        let bob_key = env.create_key("bob@acme.org", "read,write");
        let bob = server.client(&bob_key, ProtocolVersion::V_2026_07_28).await.expect("bob");
        for (tool, args) in [
            ("list_projects", json!({ "provider_id": "acme-jira" })),
            ("get_project", json!({ "project_id": "acme-jira:EX" })),
            ("test_pm_provider", json!({ "provider_id": "acme-jira" })),
            ("remove_pm_provider", json!({ "provider_id": "acme-jira" })),
        ] {
            let r = call_with(&bob, tool, args).await;
            assert_eq!(r.is_error, Some(true), "{tool}");
            assert!(text(&r).contains(r#"you have no connection "acme-jira""#), "{tool}: {}", text(&r));
        }
        let none = call_with(&bob, "list_projects", json!({})).await;
        assert!(text(&none).contains("configure_pm_provider"), "{}", text(&none));

        // The client was built once and reused: one identity call per configure, test,
        // get_current_user, add_task_watcher (for "me") and create_project (the lead, twice);
        // the site's fields were read once.
        let hits = fake.recorder.lines();
        assert_eq!(fake.recorder.count("GET", "/rest/api/3/myself"), 7, "{hits:?}");
        assert_eq!(fake.recorder.count("GET", "/rest/api/3/field"), 1, "{hits:?}");

        let removed = call_with(&ann, "remove_pm_provider", json!({ "provider_id": "acme-jira" })).await.structured_content.expect("removed");
        assert_eq!(removed["removed"], "acme-jira");
        assert_eq!(call_ok(&ann, "list_providers").await["connections"], json!([]));
        let _ = ann.cancel().await;
        let _ = bob.cancel().await;
        let logs = server.stop().await;
        assert!(!logs.contains(token), "a log line holds the Jira token");
        let raw = env.raw_database();
        assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()), "the database holds the Jira token");
        env.finish().await;
    })
    .await;
}

/// The edition check, end to end: each Jira edition configured as the other is refused before
/// anything is stored, saying which provider_type to use.
#[tokio::test]
async fn each_jira_edition_configured_as_the_other_is_refused_with_the_right_type() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-edition-check-0001";
    let Some(pm_testkit::fake::Running { url: cloud, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    let pat = "NDc4MTQ5-edition-pat";
    let Some(pm_testkit::fake::Running { url: dc, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::dc(&format!("Bearer {pat}")))
            .await
    else {
        return;
    };
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let server = env.serve(LOCAL_UPSTREAM).await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");

    // A Cloud site as Data Center (Basic with e-mail and token, which Cloud takes on v2 too).
    let as_dc = call_with(&ann, "configure_pm_provider", json!({
        "provider_type": "jira_data_center", "base_url": cloud, "username": "mia@example.com", "api_token": token, "name": "wrong-dc"
    }))
    .await;
    assert_eq!(as_dc.is_error, Some(true), "{}", text(&as_dc));
    assert!(
        text(&as_dc).contains("Jira Cloud site")
            && text(&as_dc).contains("provider_type jira_cloud"),
        "{}",
        text(&as_dc)
    );
    assert!(
        text(&as_dc).contains("nothing was stored"),
        "{}",
        text(&as_dc)
    );
    // A Data Center site as Cloud: no REST v3 there.
    let as_cloud = call_with(&ann, "configure_pm_provider", json!({
        "provider_type": "jira_cloud", "base_url": dc, "username": "mia@example.com", "api_token": pat, "name": "wrong-cloud"
    }))
    .await;
    assert_eq!(as_cloud.is_error, Some(true), "{}", text(&as_cloud));
    assert!(
        text(&as_cloud).contains("provider_type jira_data_center"),
        "{}",
        text(&as_cloud)
    );
    assert_eq!(
        call_ok(&ann, "list_providers").await["connections"],
        json!([]),
        "nothing stored"
    );
    // Each as itself works.
    let right = ok(&ann, "configure_pm_provider", json!({ "provider_type": "jira_data_center", "base_url": dc, "api_token": pat, "name": "acme-dc" })).await;
    assert_eq!(right["test"]["site"]["product"], "Jira Data Center");
    assert!(!right.to_string().contains(pat));

    let _ = ann.cancel().await;
    server.stop().await;
    env.finish().await;
}
