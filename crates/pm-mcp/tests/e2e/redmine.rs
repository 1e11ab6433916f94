//! A working day against a real Redmine 5.0 (Debian's package, started by the test command via
//! `scripts/redmine.sh`): configure it, create a project, a version (sprint), an epic-like
//! parent and tasks; assign, move through statuses, comment, watch, relate, log time; list with
//! filters and page past 100 items; delete. Every write is read back from Redmine itself.
//! Also what Redmine lacks: labels and story points refused before anything is written, the
//! default tracker said when no type is given, sprint start dates kept (a plain Redmine has no
//! "Start date" version field, so in the version's description), Markdown stored as Textile,
//! search through descriptions and comments, and errors that name what to do.
//! Needs `PM_MCP_REDMINE_URL` (and `PM_MCP_REDMINE_KEY`); skipped without it unless
//! `PM_MCP_REQUIRE_REDMINE=1`, which CI sets.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

/// Redmine's own view, straight from its REST API.
struct Direct {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Direct {
    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}/{path}", self.url))
            .header("x-redmine-api-key", &self.key)
            .send()
            .await
            .expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// How many issues the project holds (every status).
    async fn issue_count(&self, project: &str) -> u64 {
        self.get(&format!(
            "issues.json?project_id={project}&status_id=*&limit=1"
        ))
        .await
        .1["total_count"]
            .as_u64()
            .expect("total_count")
    }

    async fn delete(&self, path: &str) {
        let res = self
            .http
            .delete(format!("{}/{path}", self.url))
            .header("x-redmine-api-key", &self.key)
            .send()
            .await
            .expect("delete");
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/{path}", self.url))
            .header("x-redmine-api-key", &self.key)
            .json(&body)
            .send()
            .await
            .expect("post");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn a_working_day_against_a_real_redmine() {
    let Ok(url) = std::env::var("PM_MCP_REDMINE_URL") else {
        assert!(
            std::env::var("PM_MCP_REQUIRE_REDMINE").is_err(),
            "PM_MCP_REQUIRE_REDMINE is set but PM_MCP_REDMINE_URL is not"
        );
        eprintln!(
            "PM_MCP_REDMINE_URL not set: the real-Redmine suite is skipped (scripts/test starts Redmine and runs it)"
        );
        return;
    };
    let _turn = real_redmine_turn().await;
    let started = std::time::Instant::now();
    let key = std::env::var("PM_MCP_REDMINE_KEY")
        .unwrap_or_else(|_| "0123456789abcdef0123456789abcdef01234567".into());
    let direct = Direct {
        http: reqwest::Client::new(),
        url: url.clone(),
        key: key.clone(),
    };
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let ann_key = env.create_key("ann@acme.org", "read,write");
    // The Redmine the test command starts listens on this machine: exempt its host from the SSRF
    // guard, as an operator would for an on-prem tracker.
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .expect("PM_MCP_REDMINE_URL has a host");
    let server = env
        .serve(&["--allow-http-providers", "--allow-upstream", &host])
        .await;
    let ann = server
        .client(&ann_key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");

    let configured = ok(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "redmine", "base_url": url, "api_key": key, "name": "rm" }),
    )
    .await;
    assert_eq!(configured["test"]["ok"], true, "{configured}");
    assert_eq!(configured["test"]["account"]["name"], "Redmine Admin");
    assert!(!configured.to_string().contains(&key));
    // A base URL that is not Redmine's, and a text format Redmine does not have, are explained.
    let not_redmine = call_with(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "redmine", "base_url": format!("{url}/not-redmine"), "api_key": key, "name": "rm-wrong" }),
    )
    .await;
    assert!(
        text(&not_redmine).contains("check the base URL")
            && !text(&not_redmine).contains("Not Found was not found"),
        "{}",
        text(&not_redmine)
    );
    let wiki = call_with(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "redmine", "base_url": url, "api_key": key, "name": "rm-wiki", "text_format": "wiki" }),
    )
    .await;
    assert!(
        text(&wiki).contains("textile, markdown or common_mark"),
        "{}",
        text(&wiki)
    );

    // A project of today's own, and the admin as a member so tasks can be assigned.
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let project = ok(&ann, "create_project", json!({ "name": format!("Working day {tag}"), "key": format!("wd-{tag}"), "description": "pm-mcp e2e" })).await;
    let project_id = project["project"]["id"].as_str().expect("id").to_string();
    assert_eq!(project_id, format!("rm:wd-{tag}"));
    let (status, p) = direct.get(&format!("projects/wd-{tag}.json")).await;
    assert_eq!(
        (status, p["project"]["name"].as_str()),
        (200, Some(format!("Working day {tag}").as_str()))
    );
    let roles = direct.get("roles.json").await.1;
    let role = roles["roles"][0]["id"].as_u64().expect("a role");
    direct
        .post(
            &format!("projects/wd-{tag}/memberships.json"),
            json!({ "membership": { "user_id": 1, "role_ids": [role] } }),
        )
        .await;

    // A version as the sprint; an epic-like parent; tasks under it in the sprint.
    // The sprint starts tomorrow: it is planned, and its start is kept in Redmine (no "Start
    // date" version field on a plain Redmine: a last line of the version's description).
    let (sprint_start, sprint_end, due, worked) = (day(1), day(14), day(5), day(-3));
    let sprint = ok(&ann, "create_sprint", json!({ "project_id": project_id, "name": "Sprint 1", "start_date": sprint_start, "end_date": sprint_end, "goal": "Payments" })).await;
    let sprint_id = sprint["sprint"]["id"].as_str().expect("id").to_string();
    assert_eq!(sprint["sprint"]["state"], "future", "{sprint}");
    assert_eq!(sprint["sprint"]["goal"], "Payments", "{sprint}");
    assert!(
        sprint["sprint"]["start_date"]
            .as_str()
            .is_some_and(|s| s.starts_with(&sprint_start)),
        "{sprint}"
    );
    let version_path = format!("versions/{}.json", sprint_id.trim_start_matches("rm:"));
    let version = direct.get(&version_path).await.1;
    assert_eq!(
        (
            version["version"]["name"].as_str(),
            version["version"]["due_date"].as_str(),
            version["version"]["description"].as_str()
        ),
        (
            Some("Sprint 1"),
            Some(sprint_end.as_str()),
            Some(format!("Payments [pm-mcp] start: {sprint_start}").as_str())
        )
    );
    let planned = ok(
        &ann,
        "list_sprints",
        json!({ "project_id": project_id, "state": "future" }),
    )
    .await;
    assert_eq!(planned["sprints"][0]["id"], sprint_id.as_str(), "{planned}");
    let parent = ok(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "Checkout revamp", "task_type": "Feature" }),
    )
    .await;
    let parent_id = parent["task"]["id"].as_str().expect("id").to_string();
    let task = ok(&ann, "create_task", json!({
        "project_id": project_id, "title": "Card form validation",
        "description": "## Rules\n\nValidate **card numbers** with the *Luhn* check:\n\n- length\n- checksum\n\n```\nluhn(n)\n```\n\n| brand | digits |\n|---|---|\n| Visa | 16 |",
        "priority": "High", "assignee_id": "rm:1", "sprint_id": sprint_id, "parent_id": parent_id, "due_date": due, "task_type": "Bug"
    }))
    .await;
    let task_id = task["task"]["id"].as_str().expect("id").to_string();
    let native = task_id.trim_start_matches("rm:").to_string();
    let issue = direct.get(&format!("issues/{native}.json")).await.1["issue"].clone();
    assert_eq!(issue["priority"]["name"], "High");
    assert_eq!(issue["assigned_to"]["id"], 1);
    assert_eq!(
        issue["fixed_version"]["id"].to_string(),
        sprint_id.trim_start_matches("rm:")
    );
    assert_eq!(
        issue["parent"]["id"].to_string(),
        parent_id.trim_start_matches("rm:")
    );
    assert_eq!(issue["tracker"]["name"], "Bug");
    // Markdown is stored as Textile (Redmine's default text format) and read back as Markdown.
    assert_eq!(
        issue["description"]
            .as_str()
            .map(|d| d.replace("\r\n", "\n"))
            .as_deref(),
        Some(
            "h2. Rules\n\nValidate *card numbers* with the _Luhn_ check:\n\n* length\n* checksum\n\n<pre>luhn(n)</pre>\n\n|_. brand|_. digits|\n| Visa | 16 |"
        )
    );
    assert_eq!(
        task["task"]["description"],
        "## Rules\n\nValidate **card numbers** with the *Luhn* check:\n\n- length\n- checksum\n\n```\nluhn(n)\n```\n\n| brand | digits |\n|---|---|\n| Visa | 16 |"
    );

    // What Redmine cannot hold is refused before anything is written.
    let count = direct.issue_count(&format!("wd-{tag}")).await;
    let labels = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "Labelled", "labels": ["web"] }),
    )
    .await;
    assert!(
        text(&labels).contains("labels") && text(&labels).contains("not supported by Redmine"),
        "{}",
        text(&labels)
    );
    let points = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "Pointed", "story_points": 3, "sprint_id": sprint_id }),
    )
    .await;
    assert!(
        text(&points).contains("story points")
            && text(&points).contains("not supported by Redmine"),
        "{}",
        text(&points)
    );
    for (tool, args) in [
        (
            "update_task",
            json!({ "task_id": task_id, "labels": ["web"], "title": "Renamed" }),
        ),
        (
            "bulk_update_tasks",
            json!({ "task_ids": [task_id], "labels": ["web"], "status": "Closed" }),
        ),
    ] {
        let refused = call_with(&ann, tool, args).await;
        assert!(
            text(&refused).contains("labels")
                && text(&refused).contains("not supported by Redmine"),
            "{tool}: {}",
            text(&refused)
        );
    }
    assert_eq!(direct.issue_count(&format!("wd-{tag}")).await, count);
    let unchanged = direct.get(&format!("issues/{native}.json")).await.1["issue"].clone();
    assert_eq!(
        (
            unchanged["subject"].as_str(),
            unchanged["status"]["name"].as_str()
        ),
        (Some("Card form validation"), Some("New"))
    );

    // Errors a model can act on.
    let missing = call_with(
        &ann,
        "create_task",
        json!({ "project_id": format!("rm:nope-{tag}"), "title": "x" }),
    )
    .await;
    assert!(
        text(&missing).contains(&format!("nope-{tag}"))
            && text(&missing).contains("list_projects")
            && !text(&missing).contains("cannot be blank"),
        "{}",
        text(&missing)
    );
    let missing = call_with(
        &ann,
        "list_sprints",
        json!({ "project_id": format!("rm:nope-{tag}") }),
    )
    .await;
    assert!(
        text(&missing).contains("list_projects") && !text(&missing).contains("Not Found was"),
        "{}",
        text(&missing)
    );
    let outsider = direct
        .post(
            "users.json",
            json!({ "user": { "login": format!("outsider-{tag}"), "firstname": "Out", "lastname": "Sider",
                "mail": format!("outsider-{tag}@example.org"), "password": format!("pw-{tag}-{tag}") } }),
        )
        .await["user"]["id"]
        .as_u64()
        .expect("user id");
    let stranger = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "x", "assignee_id": format!("rm:{outsider}") }),
    )
    .await;
    direct.delete(&format!("users/{outsider}.json")).await;
    assert!(
        text(&stranger).contains("member of the project") && text(&stranger).contains("list_users"),
        "{}",
        text(&stranger)
    );
    let named = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "x", "assignee_id": "ann" }),
    )
    .await;
    assert!(text(&named).contains("list_users"), "{}", text(&named));
    assert_eq!(direct.issue_count(&format!("wd-{tag}")).await, count);
    let bad = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "x", "priority": "Whenever" }),
    )
    .await;
    assert!(
        text(&bad).contains("no priority \"Whenever\"") && text(&bad).contains("Normal"),
        "{}",
        text(&bad)
    );
    let blank = call_with(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": " " }),
    )
    .await;
    assert!(
        text(&blank).contains("Subject cannot be blank"),
        "Redmine's 422 in plain words: {}",
        text(&blank)
    );

    // Move it through statuses, comment, watch, relate, log time — each read back from Redmine.
    let moved = ok(
        &ann,
        "update_task_status",
        json!({ "task_id": task_id, "status": "In Progress" }),
    )
    .await;
    assert_eq!(moved["task"]["status"]["category"], "in_progress");
    assert_eq!(
        direct.get(&format!("issues/{native}.json")).await.1["issue"]["status"]["name"],
        "In Progress"
    );
    let nowhere = call_with(
        &ann,
        "update_task_status",
        json!({ "task_id": task_id, "status": "Teleported" }),
    )
    .await;
    assert!(text(&nowhere).contains("can move to"), "{}", text(&nowhere));
    ok(
        &ann,
        "add_task_comment",
        json!({ "task_id": task_id, "comment": "Reproduced with a **Visa** test card" }),
    )
    .await;
    let journals = direct
        .get(&format!("issues/{native}.json?include=journals"))
        .await
        .1;
    assert!(
        journals["issue"]["journals"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|j| j["notes"] == "Reproduced with a *Visa* test card"),
        "the comment is stored as Textile: {journals}"
    );
    let comments = ok(&ann, "get_task_comments", json!({ "task_id": task_id })).await;
    assert_eq!(
        comments["comments"][0]["body"],
        "Reproduced with a **Visa** test card"
    );
    // Search finds words of descriptions and of comments, not only titles.
    for word in ["Luhn", "Visa"] {
        let found = ok(
            &ann,
            "search_tasks",
            json!({ "project_id": project_id, "query": word }),
        )
        .await;
        let ids: Vec<&str> = found["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert_eq!(ids, [task_id.as_str()], "{word}: {found}");
    }
    let none = ok(
        &ann,
        "search_tasks",
        json!({ "project_id": project_id, "query": "okapi" }),
    )
    .await;
    assert_eq!(none["tasks"].as_array().map(Vec::len), Some(0), "{none}");
    ok(&ann, "add_task_watcher", json!({ "task_id": task_id })).await;
    let watchers = direct
        .get(&format!("issues/{native}.json?include=watchers"))
        .await
        .1;
    assert_eq!(watchers["issue"]["watchers"][0]["id"], 1);
    let other = ok(
        &ann,
        "create_task",
        json!({ "project_id": project_id, "title": "Receipt e-mails" }),
    )
    .await;
    let other_id = other["task"]["id"].as_str().expect("id").to_string();
    // No task_type: Redmine has no "Task" tracker here, so the project's first tracker (the one
    // Redmine itself defaults to) is used, and the answer says which.
    let trackers = direct
        .get(&format!("projects/wd-{tag}.json?include=trackers"))
        .await
        .1;
    let first = trackers["project"]["trackers"][0]["name"].clone();
    assert_eq!(other["task"]["task_type"], first, "{other}");
    assert_eq!(
        direct
            .get(&format!(
                "issues/{}.json",
                other_id.trim_start_matches("rm:")
            ))
            .await
            .1["issue"]["tracker"]["name"],
        first
    );
    ok(
        &ann,
        "link_related_tasks",
        json!({ "task_id": task_id, "related_task_id": other_id, "link_type": "blocks" }),
    )
    .await;
    let relations = direct
        .get(&format!("issues/{native}/relations.json"))
        .await
        .1;
    assert_eq!(relations["relations"][0]["relation_type"], "blocks");
    let logged = ok(
        &ann,
        "log_work",
        json!({ "task_id": task_id, "hours": 1.5, "date": worked, "comment": "form rules" }),
    )
    .await;
    assert_eq!(logged["worklog"]["seconds"], 5400);
    let entries = direct
        .get(&format!("time_entries.json?issue_id={native}"))
        .await
        .1;
    assert_eq!(entries["time_entries"][0]["hours"], 1.5);
    assert_eq!(entries["time_entries"][0]["spent_on"], worked.as_str());
    assert_eq!(issue["due_date"], due.as_str());

    // Lists with filters; the sprint; what Redmine cannot do is said plainly.
    let mine = ok(&ann, "list_my_tasks", json!({ "project_id": project_id })).await;
    assert_eq!(mine["tasks"].as_array().map(Vec::len), Some(1));
    let wip = ok(
        &ann,
        "list_tasks",
        json!({ "project_id": project_id, "status": "In Progress" }),
    )
    .await;
    assert_eq!(wip["tasks"][0]["id"], task_id.as_str());
    let in_sprint = ok(&ann, "get_sprint_tasks", json!({ "sprint_id": sprint_id })).await;
    assert_eq!(in_sprint["tasks"].as_array().map(Vec::len), Some(1));
    // Analytics from Redmine's journals: the version's history, with its status change.
    let report = ok(
        &ann,
        "sprint_report",
        json!({ "sprint_id": sprint_id, "metric": "task_count" }),
    )
    .await;
    let in_report: Vec<&str> = ["planned", "added_after_start"]
        .iter()
        .flat_map(|k| report[*k].as_array().into_iter().flatten())
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(in_report, [task_id.as_str()], "{report}");
    // The sprint starts tomorrow, so the task added today is part of its commitment.
    assert_eq!(report["planned"][0]["id"], task_id.as_str(), "{report}");
    let burn = call_with(&ann, "burndown_chart", json!({ "sprint_id": sprint_id })).await;
    assert_ne!(burn.is_error, Some(true), "{}", text(&burn));
    assert!(
        burn.content.iter().any(|c| c.as_image().is_some()),
        "no chart"
    );
    let cfd = ok(
        &ann,
        "cfd_chart",
        json!({ "project_id": project_id, "days": 7, "chart": false }),
    )
    .await;
    let today = cfd["days"]
        .as_array()
        .and_then(|d| d.last())
        .cloned()
        .unwrap_or_default();
    assert!(
        today["in_progress"].as_u64().is_some_and(|n| n >= 1),
        "{cfd}"
    );
    // Starting the planned sprint records today as its start; moving the start is kept too.
    let begun = ok(&ann, "start_sprint", json!({ "sprint_id": sprint_id })).await;
    assert_eq!(begun["sprint"]["state"], "active", "{begun}");
    let today = day(0);
    assert_eq!(
        direct.get(&version_path).await.1["version"]["description"],
        format!("Payments [pm-mcp] start: {today}")
    );
    let moved = ok(
        &ann,
        "update_sprint",
        json!({ "sprint_id": sprint_id, "start_date": day(-2) }),
    )
    .await;
    assert!(
        moved["sprint"]["start_date"]
            .as_str()
            .is_some_and(|s| s.starts_with(&day(-2))),
        "{moved}"
    );
    assert_eq!(
        direct.get(&version_path).await.1["version"]["description"],
        format!("Payments [pm-mcp] start: {}", day(-2))
    );
    let epics = call_with(&ann, "list_epics", json!({ "project_id": project_id })).await;
    assert!(
        text(&epics).contains("not supported by Redmine"),
        "{}",
        text(&epics)
    );
    let points = call_with(
        &ann,
        "update_task",
        json!({ "task_id": task_id, "story_points": 3 }),
    )
    .await;
    assert!(
        text(&points).contains("not supported by Redmine"),
        "{}",
        text(&points)
    );

    // Paging past 100: 105 more issues made directly, then read back two pages through pm-mcp.
    for i in 0..105 {
        direct.post("issues.json", json!({ "issue": { "project_id": format!("wd-{tag}"), "subject": format!("Backlog item {i}") } })).await;
    }
    let first = ok(
        &ann,
        "list_tasks",
        json!({ "project_id": project_id, "limit": 100 }),
    )
    .await;
    assert_eq!(first["tasks"].as_array().map(Vec::len), Some(100));
    let second = ok(
        &ann,
        "list_tasks",
        json!({ "project_id": project_id, "limit": 100, "cursor": first["next_cursor"] }),
    )
    .await;
    assert_eq!(
        second["tasks"].as_array().map(Vec::len),
        Some(8),
        "105 + the three made above"
    );
    assert_eq!(second["next_cursor"], Value::Null);

    let closed = ok(&ann, "complete_sprint", json!({ "sprint_id": sprint_id })).await;
    assert_eq!(closed["sprint"]["state"], "closed");
    assert_eq!(
        direct
            .get(&format!(
                "versions/{}.json",
                sprint_id.trim_start_matches("rm:")
            ))
            .await
            .1["version"]["status"],
        "closed"
    );
    ok(&ann, "delete_task", json!({ "task_id": other_id })).await;
    assert_eq!(
        direct
            .get(&format!(
                "issues/{}.json",
                other_id.trim_start_matches("rm:")
            ))
            .await
            .0,
        404
    );
    let gone = call_with(&ann, "get_task", json!({ "task_id": other_id })).await;
    assert!(text(&gone).contains("not found"), "{}", text(&gone));
    ok(&ann, "delete_project", json!({ "project_id": project_id })).await;
    assert_eq!(direct.get(&format!("projects/wd-{tag}.json")).await.0, 404);

    let _ = ann.cancel().await;
    server.stop().await;
    env.finish().await;
    eprintln!(
        "real-Redmine working day: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
