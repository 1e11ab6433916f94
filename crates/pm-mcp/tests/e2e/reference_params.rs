//! The reference server's parameters that carry behaviour of their own, through the real binary:
//! sprints named `current`, `#N` or by name (burndown_chart, sprint_report, cfd_chart,
//! cycle_time_chart, work_distribution_chart), burndown_chart without a sprint, list_sprints
//! across every project of a connection, update_sprint's status, the wider ranges of
//! velocity_chart and capacity_chart, and configure_pm_provider's plain `jira` and display names.
//! On the fake Jira Cloud (Sprint 6 closed, 7 active, 8 future, all on project EX's board); the
//! per-tracker differences are in openproject.rs, clickup.rs and redmine.rs.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

/// Calls `tool`, fails the test unless it is refused, returns the refusal's text.
pub async fn refused(client: &Client, tool: &'static str, args: Value) -> String {
    let r = call_with(client, tool, args.clone()).await;
    assert_eq!(
        r.is_error,
        Some(true),
        "{tool} {args} was not refused: {r:?}"
    );
    text(&r)
}

#[tokio::test]
async fn reference_sprint_parameters_on_jira() {
    on_each_engine(|env| async move {
        let token = "ATATT-reference-e2e-0020";
        let creds = pm_testkit::fake_jira::basic("mia@example.com", token);
        let Some(fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&creds)).await else {
        return;
    };
    let jira = fake.url.clone();
        let Some(pm_testkit::fake::Running { url: other_jira, .. }) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&creds)).await else {
        return;
    };
        env.add_user("ann@acme.org");
        let key = env.create_key("ann@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server.client(&key, ProtocolVersion::V_2025_11_25).await.expect("ann");

        // configure_pm_provider: plain "jira" at a host that is not Atlassian's is Data Center;
        // the fake is a Cloud site, so the test says so and nothing is stored.
        let e = refused(&ann, "configure_pm_provider", json!({
            "provider_type": "jira", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "My JIRA"
        }))
        .await;
        assert!(e.contains("Jira Data Center") && e.contains("jira_cloud"), "{e}");
        // A display name becomes a handle, and the answer says so.
        let c = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "My JIRA"
        }))
        .await;
        assert_eq!(c["connection"]["name"], "my-jira", "{c}");
        assert!(c["notes"].to_string().contains("derived from the name"), "{c}");
        // The same name again: the same tracker takes the new credentials once they pass the test
        // (as the reference server updated it), in place; wrong ones change nothing; another
        // tracker is never overwritten.
        let again = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "my jira!"
        }))
        .await;
        assert_eq!(again["connection"]["id"], c["connection"]["id"], "updated in place: {again}");
        assert!(again["notes"].to_string().contains("now uses the new credentials"), "{again}");
        let e = refused(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": "wrong", "name": "My JIRA"
        }))
        .await;
        assert!(e.contains("nothing was changed"), "{e}");
        let still = ok(&ann, "get_project", json!({ "project_id": "my-jira:EX" })).await;
        assert_eq!(still["project"]["id"], "my-jira:EX", "the stored credentials still work: {still}");
        let e = refused(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": other_jira, "username": "mia@example.com", "api_token": token, "name": "My JIRA"
        }))
        .await;
        assert!(e.contains("another tracker") && e.contains("not overwritten"), "{e}");
        let providers = ok(&ann, "list_providers", json!({})).await;
        assert_eq!(providers["connections"].as_array().map(Vec::len), Some(1), "{providers}");

        // Ids given together must be on one connection: one rule, one wording, refused before
        // anything is written.
        ok(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": other_jira, "username": "mia@example.com", "api_token": token, "name": "other-jira"
        }))
        .await;
        for (tool, args, what) in [
            ("link_task_to_epic", json!({ "task_id": "my-jira:EX-1", "epic_id": "other-jira:EX-2" }), "epic_id"),
            ("link_related_tasks", json!({ "task_id": "my-jira:EX-1", "related_task_id": "other-jira:EX-2" }), "related_task_id"),
            ("create_task", json!({ "project_id": "my-jira:EX", "title": "t", "assignee_id": "other-jira:abc" }), "\"other-jira:abc\""),
        ] {
            let e = refused(&ann, tool, args).await;
            assert!(
                e.contains(&format!("{what} is on connection other-jira, but this call works on connection my-jira; give ids of one connection")),
                "{tool}: {e}"
            );
        }
        ok(&ann, "remove_pm_provider", json!({ "provider_id": "other-jira" })).await;

        // burndown_chart: the project's current sprint when none is named, or named as people do.
        for args in [
            json!({ "project_id": "my-jira:EX" }),
            json!({ "project_id": "EX", "sprint_id": "current" }),
            json!({ "project_id": "my-jira:EX", "sprint_id": "sprint 7" }),
            json!({ "project_id": "my-jira:EX", "sprint_id": "#7" }),
            json!({ "project_id": "my-jira:EX", "sprint_id": "7" }),
            json!({ "sprint_id": "my-jira:7" }),
        ] {
            let mut with_chart = args.clone();
            with_chart["chart"] = json!(false);
            let b = ok(&ann, "burndown_chart", with_chart).await;
            assert_eq!(b["sprint_id"], "my-jira:7", "{args}: {b}");
            assert_eq!(b["sprint_name"], "Sprint 7", "{args}");
        }
        let e = refused(&ann, "burndown_chart", json!({})).await;
        assert!(e.contains("sprint_id") && e.contains("project_id"), "{e}");
        let e = refused(&ann, "burndown_chart", json!({ "sprint_id": "current" })).await;
        assert!(e.contains("needs project_id"), "{e}");
        let e = refused(&ann, "burndown_chart", json!({ "sprint_id": "Sprint 9", "project_id": "EX" })).await;
        assert!(e.contains("no sprint named") && e.contains("list_sprints"), "{e}");
        let e = refused(&ann, "burndown_chart", json!({ "sprint_id": "jira2:7", "project_id": "my-jira:EX" })).await;
        assert!(e.contains("jira2") && e.contains("my-jira"), "{e}");

        // sprint_report: current, #N and names too.
        let r = ok(&ann, "sprint_report", json!({ "sprint_id": "Sprint 6", "project_id": "EX" })).await;
        assert_eq!(r["sprint_id"], "my-jira:6", "{r}");
        let r = ok(&ann, "sprint_report", json!({ "sprint_id": "current", "project_id": "my-jira:EX" })).await;
        assert_eq!(r["sprint_id"], "my-jira:7", "{r}");

        // cfd_chart and cycle_time_chart: only the sprint's items, over its days.
        let searches = fake.queries.lock().unwrap().len();
        let cfd = ok(&ann, "cfd_chart", json!({ "project_id": "my-jira:EX", "sprint_id": "current", "chart": false })).await;
        let start = pm_testkit::fake_jira::sprint7_start().date_naive().to_string();
        assert_eq!(cfd["from"], json!(start), "{cfd}");
        assert_eq!(cfd["to"], json!(day(0)), "{cfd}");
        assert!(cfd["assumptions"].to_string().contains("items of sprint my-jira:7"), "{cfd}");
        let queries = fake.queries.lock().unwrap().clone();
        assert!(queries[searches..].iter().any(|q| q.starts_with("sprint = \"7\"")), "{queries:?}");
        let with_days = ok(&ann, "cfd_chart", json!({ "project_id": "EX", "sprint_id": "7", "days": 7, "chart": false })).await;
        assert_eq!(with_days["from"], json!(day(-6)), "{with_days}");
        let ct = ok(&ann, "cycle_time_chart", json!({ "project_id": "EX", "sprint_id": "Sprint 7", "chart": false })).await;
        assert!(ct["assumptions"].to_string().contains("items of sprint my-jira:7"), "{ct}");
        let e = refused(&ann, "cycle_time_chart", json!({ "project_id": "EX", "sprint_id": "99" })).await;
        assert!(e.contains("not one of project my-jira:EX"), "{e}");

        // work_distribution_chart: the reference's project_id with a sprint.
        let d = ok(&ann, "work_distribution_chart", json!({ "project_id": "my-jira:EX", "sprint_id": "7", "chart": false })).await;
        assert_eq!(d["total_count"], 6, "{d}");

        // Ranges: velocity up to 20 sprints, capacity up to 52 weeks.
        ok(&ann, "velocity_chart", json!({ "project_id": "EX", "sprints": 20, "chart": false })).await;
        assert!(refused(&ann, "velocity_chart", json!({ "project_id": "EX", "sprints": 21 })).await.contains("between 1 and 20"));
        let cap = ok(&ann, "capacity_chart", json!({ "project_id": "EX", "weeks": 52, "chart": false })).await;
        assert_eq!(cap["weeks"].as_array().map(Vec::len), Some(52), "{cap}");
        assert!(refused(&ann, "capacity_chart", json!({ "project_id": "EX", "weeks": 53 })).await.contains("between 1 and 52"));

        // list_sprints without a project: every project's, paged across them.
        let all = ok(&ann, "list_sprints", json!({})).await;
        let ids: Vec<&str> = all["sprints"].as_array().expect("sprints").iter().filter_map(|s| s["id"].as_str()).collect();
        assert_eq!(ids, ["my-jira:6", "my-jira:7", "my-jira:8"], "{all}");
        assert!(all["sprints"].as_array().expect("sprints").iter().all(|s| s["project_id"] == "my-jira:EX"), "{all}");
        assert_eq!(all["next_cursor"], Value::Null, "{all}");
        let first = ok(&ann, "list_sprints", json!({ "provider_id": "my-jira", "limit": 2 })).await;
        assert_eq!(first["sprints"].as_array().map(Vec::len), Some(2), "{first}");
        let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
        let second = ok(&ann, "list_sprints", json!({ "provider_id": "my-jira", "limit": 2, "cursor": cursor })).await;
        assert_eq!(second["sprints"][0]["id"], "my-jira:8", "{second}");
        assert_eq!(second["next_cursor"], Value::Null, "{second}");
        let active = ok(&ann, "list_sprints", json!({ "state": "active" })).await;
        assert_eq!(active["sprints"].as_array().map(Vec::len), Some(1), "{active}");
        let e = refused(&ann, "list_sprints", json!({ "provider_id": "nope" })).await;
        assert!(e.contains("no connection"), "{e}");

        // update_sprint status: start a future sprint with its dates, refuse going back (nothing
        // written), complete it with a new goal, refuse reopening.
        let e = refused(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "closed", "name": "Never" })).await;
        assert!(e.contains("has not started") && e.contains("nothing was changed"), "{e}");
        let s = ok(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "active", "start_date": day(0), "end_date": day(14), "goal": "Ship it" })).await;
        assert_eq!(s["sprint"]["state"], "active", "{s}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": "my-jira:8" })).await;
        assert_eq!((got["sprint"]["state"].as_str(), got["sprint"]["goal"].as_str()), (Some("active"), Some("Ship it")), "{got}");
        // Two sprints active: current is the one started last.
        let b = ok(&ann, "burndown_chart", json!({ "project_id": "EX", "chart": false })).await;
        assert_eq!(b["sprint_id"], "my-jira:8", "{b}");
        let e = refused(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "planned", "name": "Renamed" })).await;
        assert!(e.contains("cannot go back"), "{e}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": "my-jira:8" })).await;
        assert_eq!(got["sprint"]["name"], "Sprint 8", "nothing written: {got}");
        let same = ok(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "active" })).await;
        assert_eq!(same["sprint"]["state"], "active", "{same}");
        let s = ok(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "completed", "goal": "Shipped" })).await;
        assert_eq!(s["sprint"]["state"], "closed", "{s}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": "my-jira:8" })).await;
        assert_eq!((got["sprint"]["state"].as_str(), got["sprint"]["goal"].as_str()), (Some("closed"), Some("Shipped")), "{got}");
        let e = refused(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "active" })).await;
        assert!(e.contains("cannot be reopened"), "{e}");
        let e = refused(&ann, "update_sprint", json!({ "sprint_id": "my-jira:8", "status": "done" })).await;
        assert!(e.contains("unknown sprint status"), "{e}");

        server.stop().await;
        env.finish().await;
    })
    .await;
}

/// OpenProject: versions are sprints (Sprint 1 closed, 2 running, 3 planned in demo-project);
/// starting one sets its start date to today, and across projects the 25 projects take two calls.
#[tokio::test]
async fn reference_sprint_parameters_on_openproject() {
    on_each_engine(|env| async move {
        let key = "op-reference-apikey-0020";
        let url = pm_testkit::fake_openproject::spawn(pm_testkit::fake_openproject::Options::new(
            key, "", "16.0.0",
        ))
        .await
        .url;
        env.add_user("ann@acme.org");
        let ann_key = env.create_key("ann@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server
            .client(&ann_key, ProtocolVersion::V_2025_11_25)
            .await
            .expect("ann");
        let c = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "openproject_v16", "base_url": url, "api_key": key, "name": "Acme OP"
        }))
        .await;
        assert_eq!(
            (
                c["connection"]["name"].as_str(),
                c["connection"]["provider_type"].as_str()
            ),
            (Some("acme-op"), Some("openproject")),
            "{c}"
        );

        let b = ok(
            &ann,
            "burndown_chart",
            json!({ "project_id": "acme-op:demo-project", "chart": false }),
        )
        .await;
        assert_eq!(b["sprint_id"], "acme-op:2", "{b}");
        let r = ok(
            &ann,
            "sprint_report",
            json!({ "sprint_id": "SPRINT 1", "project_id": "demo-project" }),
        )
        .await;
        assert_eq!(r["sprint_id"], "acme-op:1", "{r}");
        let cfd = ok(
            &ann,
            "cfd_chart",
            json!({ "project_id": "demo-project", "sprint_id": "current", "chart": false }),
        )
        .await;
        assert_eq!(
            (cfd["from"].as_str(), cfd["to"].as_str()),
            (Some(day(-7).as_str()), Some(day(0).as_str())),
            "{cfd}"
        );
        let e = refused(
            &ann,
            "cfd_chart",
            json!({ "project_id": "demo-project", "sprint_id": "4" }),
        )
        .await;
        assert!(e.contains("not one of project"), "{e}");

        // Across projects: 20 projects a call, and the answer says it stopped there.
        let first = ok(&ann, "list_sprints", json!({})).await;
        let ids: Vec<&str> = first["sprints"]
            .as_array()
            .expect("sprints")
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        // Demo's three, the scrum project's one and project 03's two (its version shared with
        // every project is listed once, under project 03; its backlog without dates is none).
        assert_eq!(ids.len(), 6, "{first}");
        assert!(
            first["notes"]
                .to_string()
                .contains("looked into 20 projects"),
            "{first}"
        );
        let cursor = first["next_cursor"]
            .as_str()
            .expect("more projects to look into")
            .to_string();
        let rest = ok(&ann, "list_sprints", json!({ "cursor": cursor })).await;
        assert_eq!(rest["sprints"].as_array().map(Vec::len), Some(0), "{rest}");
        assert_eq!(rest["next_cursor"], Value::Null, "{rest}");

        // update_sprint status: start the planned version, then close it; no way back.
        let s = ok(
            &ann,
            "update_sprint",
            json!({ "sprint_id": "acme-op:3", "status": "active" }),
        )
        .await;
        assert_eq!(s["sprint"]["state"], "active", "{s}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": "acme-op:3" })).await;
        assert_eq!(got["sprint"]["state"], "active", "{got}");
        assert!(
            got["sprint"]["start_date"]
                .as_str()
                .is_some_and(|d| d.starts_with(&day(0))),
            "{got}"
        );
        let s = ok(
            &ann,
            "update_sprint",
            json!({ "sprint_id": "acme-op:3", "status": "closed", "name": "Sprint 3 (done)" }),
        )
        .await;
        assert_eq!(s["sprint"]["state"], "closed", "{s}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": "acme-op:3" })).await;
        assert_eq!(
            (
                got["sprint"]["state"].as_str(),
                got["sprint"]["name"].as_str()
            ),
            (Some("closed"), Some("Sprint 3 (done)")),
            "{got}"
        );
        let e = refused(
            &ann,
            "update_sprint",
            json!({ "sprint_id": "acme-op:3", "status": "active" }),
        )
        .await;
        assert!(e.contains("cannot be reopened"), "{e}");

        server.stop().await;
        env.finish().await;
    })
    .await;
}

/// ClickUp: sprint lists start and close on their dates by themselves, so a status change is
/// refused before anything is written; `current` is the list whose dates hold today.
#[tokio::test]
async fn reference_sprint_parameters_on_clickup() {
    on_each_engine(|env| async move {
        use pm_testkit::fake_clickup as cu;
        let token = "pk_81818_REFERENCEPARAMS0020";
        let Some(fake) = cu::spawn(cu::Options::token(token)).await else {
            return;
        };
        let base = fake.url.clone();
        env.add_user("ann@acme.org");
        let key = env.create_key("ann@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server.client(&key, ProtocolVersion::V_2025_11_25).await.expect("ann");
        ok(&ann, "configure_pm_provider", json!({
            "provider_type": "clickup", "base_url": base, "api_token": token, "name": "acme-cu"
        }))
        .await;
        let space = format!("acme-cu:{}", cu::SPACE);

        let b = ok(&ann, "burndown_chart", json!({ "project_id": space, "chart": false })).await;
        assert_eq!(b["sprint_id"], format!("acme-cu:{}", cu::SPRINT_NOW), "{b}");
        let r = ok(&ann, "sprint_report", json!({ "sprint_id": "sprint 6", "project_id": space })).await;
        assert_eq!(r["sprint_id"], format!("acme-cu:{}", cu::SPRINT_DONE), "{r}");

        let all = ok(&ann, "list_sprints", json!({ "provider_id": "acme-cu" })).await;
        assert_eq!(all["sprints"].as_array().map(Vec::len), Some(3), "{all}");
        assert!(all["sprints"].as_array().expect("sprints").iter().all(|s| s["project_id"] == json!(space)), "{all}");

        let e = refused(&ann, "update_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NEXT), "status": "active" })).await;
        assert!(e.contains("not supported") || e.contains("ClickUp"), "{e}");
        let e = refused(&ann, "update_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW), "status": "closed", "goal": "Changed" })).await;
        assert!(e.contains("ClickUp"), "{e}");
        let got = ok(&ann, "get_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW) })).await;
        assert_eq!((got["sprint"]["state"].as_str(), got["sprint"]["goal"].as_str()), (Some("active"), Some("Fix checkout")), "nothing written: {got}");
        // The same state is no transition: the other fields are written as update_sprint does.
        let s = ok(&ann, "update_sprint", json!({ "sprint_id": format!("acme-cu:{}", cu::SPRINT_NOW), "status": "active", "goal": "Fix checkout fast" })).await;
        assert_eq!(s["sprint"]["goal"], "Fix checkout fast", "{s}");

        server.stop().await;
        env.finish().await;
    })
    .await;
}

/// Redmine (real, when PM_MCP_REDMINE_URL is set): versions are sprints; one that starts later
/// is future, starting it records today as its start, and closing sets its status.
#[tokio::test]
async fn reference_sprint_parameters_on_a_real_redmine() {
    let Ok(url) = std::env::var("PM_MCP_REDMINE_URL") else {
        assert!(
            std::env::var("PM_MCP_REQUIRE_REDMINE").is_err(),
            "PM_MCP_REQUIRE_REDMINE is set but PM_MCP_REDMINE_URL is not"
        );
        eprintln!("PM_MCP_REDMINE_URL not set: the real-Redmine part is skipped");
        return;
    };
    let _turn = real_redmine_turn().await;
    let key = std::env::var("PM_MCP_REDMINE_KEY")
        .unwrap_or_else(|_| "0123456789abcdef0123456789abcdef01234567".into());
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let ann_key = env.create_key("ann@acme.org", "read,write");
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
    let c = ok(&ann, "configure_pm_provider", json!({ "provider_type": "redmine", "base_url": url, "api_key": key, "name": "Team Redmine" })).await;
    assert_eq!(c["connection"]["name"], "team-redmine", "{c}");

    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let project = ok(
        &ann,
        "create_project",
        json!({ "name": format!("Reference {tag}"), "key": format!("ref-{tag}") }),
    )
    .await;
    let project_id = project["project"]["id"].as_str().expect("id").to_string();
    let running = ok(&ann, "create_sprint", json!({ "project_id": project_id, "name": "Running", "start_date": day(-7), "end_date": day(7) })).await;
    let running = running["sprint"]["id"].as_str().expect("id").to_string();
    let next = ok(&ann, "create_sprint", json!({ "project_id": project_id, "name": "Next one", "start_date": day(3), "end_date": day(17) })).await;
    assert_eq!(next["sprint"]["state"], "future", "{next}");
    let next = next["sprint"]["id"].as_str().expect("id").to_string();

    let b = ok(
        &ann,
        "burndown_chart",
        json!({ "project_id": project_id, "chart": false }),
    )
    .await;
    assert_eq!(b["sprint_id"], json!(running), "{b}");
    let r = ok(
        &ann,
        "sprint_report",
        json!({ "sprint_id": "NEXT ONE", "project_id": project_id }),
    )
    .await;
    assert_eq!(r["sprint_id"], json!(next), "{r}");
    let cfd = ok(
        &ann,
        "cfd_chart",
        json!({ "project_id": project_id, "sprint_id": "current", "chart": false }),
    )
    .await;
    assert_eq!(
        (cfd["from"].as_str(), cfd["to"].as_str()),
        (Some(day(-7).as_str()), Some(day(0).as_str())),
        "{cfd}"
    );

    // list_sprints across projects finds both, with their project.
    let mut found = Vec::new();
    let mut cursor = Value::Null;
    for _ in 0..50 {
        let page = ok(
            &ann,
            "list_sprints",
            json!({ "provider_id": "team-redmine", "limit": 100, "cursor": cursor }),
        )
        .await;
        found.extend(page["sprints"].as_array().cloned().unwrap_or_default());
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let ours: Vec<&Value> = found
        .iter()
        .filter(|s| s["project_id"] == json!(project_id))
        .collect();
    assert_eq!(ours.len(), 2, "{found:?}");

    // update_sprint status, read back from Redmine through get_sprint.
    let e = refused(
        &ann,
        "update_sprint",
        json!({ "sprint_id": next, "status": "closed" }),
    )
    .await;
    assert!(e.contains("has not started"), "{e}");
    let s = ok(
        &ann,
        "update_sprint",
        json!({ "sprint_id": next, "status": "active", "goal": "Go" }),
    )
    .await;
    assert_eq!(s["sprint"]["state"], "active", "{s}");
    let got = ok(&ann, "get_sprint", json!({ "sprint_id": next })).await;
    assert_eq!(
        (
            got["sprint"]["state"].as_str(),
            got["sprint"]["goal"].as_str()
        ),
        (Some("active"), Some("Go")),
        "{got}"
    );
    assert!(
        got["sprint"]["start_date"]
            .as_str()
            .is_some_and(|d| d.starts_with(&day(0))),
        "{got}"
    );
    let b = ok(
        &ann,
        "burndown_chart",
        json!({ "project_id": project_id, "chart": false }),
    )
    .await;
    assert_eq!(
        b["sprint_id"],
        json!(next),
        "the one started last is current: {b}"
    );
    let e = refused(
        &ann,
        "update_sprint",
        json!({ "sprint_id": next, "status": "future" }),
    )
    .await;
    assert!(e.contains("cannot go back"), "{e}");
    let s = ok(
        &ann,
        "update_sprint",
        json!({ "sprint_id": next, "status": "closed", "name": "Next one (done)" }),
    )
    .await;
    assert_eq!(s["sprint"]["state"], "closed", "{s}");
    let got = ok(&ann, "get_sprint", json!({ "sprint_id": next })).await;
    assert_eq!(
        (
            got["sprint"]["state"].as_str(),
            got["sprint"]["name"].as_str()
        ),
        (Some("closed"), Some("Next one (done)")),
        "{got}"
    );
    let e = refused(
        &ann,
        "update_sprint",
        json!({ "sprint_id": next, "status": "active" }),
    )
    .await;
    assert!(e.contains("cannot be reopened"), "{e}");

    ok(&ann, "delete_project", json!({ "project_id": project_id })).await;
    server.stop().await;
    env.finish().await;
}

/// Plain `jira` at a host that is not Atlassian's is Jira Data Center (a PAT, no username), and
/// the answer says which edition was taken; the current sprint works there too.
#[tokio::test]
async fn plain_jira_at_an_own_host_is_data_center() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let pat = "NDc4MTQ5-reference-pat";
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
    let c = ok(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "jira", "base_url": dc, "api_token": pat }),
    )
    .await;
    assert_eq!(c["connection"]["provider_type"], "jira_data_center", "{c}");
    assert_eq!(c["connection"]["name"], "jira-dc", "{c}");
    assert!(c["notes"].to_string().contains("Jira Data Center"), "{c}");
    let b = ok(
        &ann,
        "burndown_chart",
        json!({ "project_id": "EX", "chart": false }),
    )
    .await;
    assert_eq!(b["sprint_id"], "jira-dc:7", "{b}");
    server.stop().await;
    env.finish().await;
}
