//! The MCP Apps in a real browser: `tests/clients/apps.mjs` drives Debian's Chromium (Playwright)
//! in a host page built on ext-apps' own host bridge (`AppBridge`) over the official TypeScript SDK
//! v2 client, against the real binary. The board is fed by `get_sprint_tasks` and its drags go to
//! a fake Jira and to the real Redmine, which are then read back here; a move the workflow refuses
//! and a key that may only read are shown as messages and change nothing; the charts draw and
//! answer the pointer. Each view's size is reported. Skipped without `PM_MCP_CLIENTS_DIR` or
//! Chromium (CI has both).
use std::path::PathBuf;

use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

/// The clients' folder, its Node and Chromium; `None` (skipped in one line) without them.
fn browser_setup(what: &str) -> Option<(PathBuf, PathBuf)> {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(PathBuf::from) else {
        pm_testkit::skip(what, "PM_MCP_CLIENTS_DIR is not set");
        return None;
    };
    let Some(chromium) = chromium() else {
        pm_testkit::skip(
            what,
            "Chromium is not installed (apt-get install chromium, or set PM_MCP_CHROMIUM)",
        );
        return None;
    };
    Some((std::fs::canonicalize(dir).expect("clients dir"), chromium))
}

/// Runs `apps.mjs` with `config` (plus the browser and a screenshots folder) and returns what it
/// saw; panics with its report when it failed.
async fn run_apps(dir: &std::path::Path, chromium: &std::path::Path, mut config: Value) -> Value {
    let work = tempfile::tempdir().expect("tempdir");
    config["chromium"] = json!(chromium);
    config["screenshots"] =
        json!(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/apps-screens"));
    let file = work.path().join("apps.json");
    std::fs::write(&file, config.to_string()).expect("config");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(240),
        tokio::process::Command::new(dir.join("node_modules/node/bin/node"))
            .arg(dir.join("apps.mjs"))
            .arg(&file)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("apps.mjs finished within 4 minutes")
    .expect("run apps.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report from apps.mjs\n{stdout}\n{stderr}"));
    assert!(
        out.status.success() && seen["ok"] == true,
        "apps.mjs failed: {seen:#}\n{stderr}"
    );
    eprintln!("apps.mjs saw: {seen}");
    seen
}

fn status_of(fake: &pm_testkit::fake_jira::Fake, key: &str) -> &'static str {
    fake.issues
        .lock()
        .expect("issues")
        .iter()
        .find(|i| i.key == key)
        .map(|i| i.status.0)
        .expect("issue")
}

const MARKUP: &str =
    r#"Fix <img src=x onerror="window.__xss=1"><script>window.__xss=1</script> & "quotes""#;

#[tokio::test]
async fn the_board_and_charts_work_in_a_host_on_ext_apps_bridge() {
    let Some((dir, chromium)) = browser_setup("the MCP Apps browser test") else {
        return;
    };
    let Some(app) = spawn_app(Tracker::Jira).await else {
        return;
    };
    let read_key = app.env.create_key(app.user, "read");
    // A title with markup: the board must show it as text, never run it.
    ok(
        &app.client,
        "update_task",
        json!({ "task_id": "acme-jira:EX-2", "title": MARKUP }),
    )
    .await;
    let config = json!({
        "mcp": app.server.mcp_url(),
        "key": app.key,
        "readKey": read_key,
        "board": {
            "sprint": "acme-jira:7",
            "drag": { "task": "acme-jira:EX-3", "to": "In Progress" },
            "menu": { "task": "acme-jira:EX-1", "to": "Done" },
            "refused": { "task": "acme-jira:EX-6", "to": "Done" },
            "readOnly": { "task": "acme-jira:EX-4", "to": "Done" },
            "markup": { "task": "acme-jira:EX-2", "title": MARKUP },
        },
        "charts": { "sprint": "acme-jira:7" },
    });
    let seen = run_apps(&dir, &chromium, config).await;
    let fake = app.fake.jira();

    // Linked as the spec says, in both forms, and the server declares the extension.
    let linked = &seen["linked"];
    assert_eq!(
        linked["get_sprint_tasks"]["ui"],
        json!({ "resourceUri": "ui://pm-mcp/sprint-board", "visibility": ["model", "app"] })
    );
    assert_eq!(
        linked["get_sprint_tasks"]["ui/resourceUri"],
        "ui://pm-mcp/sprint-board"
    );
    for tool in ["burndown_chart", "velocity_chart", "cfd_chart"] {
        assert_eq!(
            linked[tool]["ui"]["resourceUri"], "ui://pm-mcp/burndown",
            "{tool}"
        );
    }
    assert_eq!(linked.as_object().map(|o| o.len()), Some(4), "{linked}");
    assert_eq!(
        seen["serverUi"],
        json!({ "mimeTypes": ["text/html;profile=mcp-app"] })
    );

    // The board as the tracker holds the sprint: six tasks in their categories.
    let board = &seen["board"];
    assert_eq!(board["cards"], 6, "{board}");
    assert_eq!(
        board["columns"]["todo"],
        json!(["acme-jira:EX-3", "acme-jira:EX-6"])
    );
    assert_eq!(
        board["columns"]["in_progress"],
        json!(["acme-jira:EX-1", "acme-jira:EX-4"])
    );
    assert_eq!(
        board["columns"]["done"],
        json!(["acme-jira:EX-2", "acme-jira:EX-5"])
    );
    assert_eq!(board["lanes"], json!(["To Do", "In Progress", "Done"]));
    // Key, story points, title, assignee and flags on a card.
    let first = board["firstCard"].as_str().expect("card text");
    for part in ["EX-3", "4 pt", "Example task 3", "Mia", "Medium", "Task"] {
        assert!(first.contains(part), "{part:?} not on the card: {first}");
    }

    // The drag and the menu changed the tracker; the refused moves did not.
    assert_eq!(board["dragged"], "EX-3 is now In Progress.");
    assert_eq!(
        board["draggedTo"],
        json!({ "category": "in_progress", "status": "In Progress" })
    );
    assert_eq!(board["menu"], "EX-1 is now Done.");
    assert_eq!(board["focusAfterMenu"], "acme-jira:EX-1 select");
    assert_eq!(status_of(fake, "EX-3"), "In Progress");
    assert_eq!(status_of(fake, "EX-1"), "Done");
    let refused = board["refused"].as_str().expect("refusal");
    assert!(
        refused.starts_with("EX-6 was not moved to Done: ") && refused.contains("In Progress"),
        "the workflow's refusal, in words, with where it can go: {refused}"
    );
    assert_eq!(status_of(fake, "EX-6"), "To Do");
    let read_only = board["readOnly"].as_str().expect("refusal");
    assert!(
        read_only.starts_with("EX-4 was not moved to Done: ") && read_only.contains("write"),
        "the key's refusal, in words: {read_only}"
    );
    assert_eq!(status_of(fake, "EX-4"), "In Progress");

    // The host's theme, followed; the view told the host its size; it was torn down cleanly.
    assert_eq!(board["dark"], "rgb(16, 16, 20)");
    assert_eq!(board["light"], "rgb(250, 250, 250)");
    assert!(
        board["sizes"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["height"].as_u64() > Some(100))),
        "{board}"
    );
    assert_eq!(board["teardown"], json!({}));

    // The charts: burndown with its ideal line and scope changes (EX-6 added on day 2, EX-4
    // re-estimated on day 3), values on hover and by keyboard; velocity of the closed sprint;
    // cumulative flow in three bands.
    let charts = &seen["charts"];
    assert_eq!(charts["burndown"]["ideal"], 1, "{charts}");
    assert!(
        charts["burndown"]["changes"].as_u64() >= Some(2),
        "{charts}"
    );
    let hover = charts["burndown"]["hover"].as_str().expect("hover");
    assert!(
        hover.contains("remaining") && hover.contains("ideal") && hover.contains("scope"),
        "{hover}"
    );
    assert_ne!(charts["burndown"]["key"], charts["burndown"]["hover"]);
    assert!(charts["velocity"]["bars"].as_u64() >= Some(1), "{charts}");
    assert_eq!(charts["velocity"]["error"], 0, "{charts}");
    assert_eq!(charts["cfd"]["bands"], 3, "{charts}");
    assert!(
        charts["sizes"]["velocity"]["height"].as_u64()
            < charts["sizes"]["burndown"]["height"].as_u64(),
        "the shorter view was not reported shorter: {charts}"
    );
    assert_eq!(charts["cfd"]["error"], 0, "{charts}");

    // Every call the views made went through the host as a tools/call, none refused by it.
    let calls: Vec<&str> = seen["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for tool in [
        "get_project_vocabulary",
        "update_task_status",
        "velocity_chart",
        "cfd_chart",
    ] {
        assert!(calls.contains(&tool), "{tool} not called: {calls:?}");
    }
    assert!(!seen["calls"].to_string().contains("refusedByHost"));

    // The views' sizes, and the policy they declare (no domain at all).
    for (uri, view) in seen["views"].as_object().expect("views") {
        let (bytes, gzip) = (
            view["bytes"].as_u64().expect("bytes"),
            view["gzip"].as_u64().expect("gzip"),
        );
        eprintln!("MCP App {uri}: {bytes} bytes, {gzip} gzipped");
        assert!(bytes < 48 * 1024, "{uri} grew to {bytes} bytes");
        assert_eq!(
            view["ui"]["csp"],
            json!({ "connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": [] })
        );
        assert!(
            view["csp"]
                .as_str()
                .is_some_and(|c| c.contains("connect-src 'none'")),
            "{view}"
        );
    }

    // The moves ran under the user's keys and were audited like any call: two changes with the
    // read/write key, the workflow's refusal, and the read key's.
    let App { env, server, .. } = app;
    server.stop().await;
    let audited = |outcome: &'static str| {
        let env = &env;
        async move {
            env.count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE tool = 'update_task_status' AND outcome = '{outcome}'"
            ))
            .await
        }
    };
    assert_eq!(audited("ok").await, 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM audit_events WHERE tool = 'update_task_status' AND outcome <> 'ok'")
            .await,
        2
    );
    env.finish().await;
}

#[tokio::test]
async fn the_board_moves_a_task_in_the_real_redmine() {
    let Ok(url) = std::env::var("PM_MCP_REDMINE_URL") else {
        assert!(
            std::env::var("PM_MCP_REQUIRE_REDMINE").is_err(),
            "PM_MCP_REQUIRE_REDMINE is set but PM_MCP_REDMINE_URL is not"
        );
        pm_testkit::skip(
            "the sprint board on the real Redmine",
            "PM_MCP_REDMINE_URL is not set",
        );
        return;
    };
    let Some((dir, chromium)) = browser_setup("the sprint board on the real Redmine") else {
        return;
    };
    let _turn = real_redmine_turn().await;
    let redmine_key = std::env::var("PM_MCP_REDMINE_KEY")
        .unwrap_or_else(|_| "0123456789abcdef0123456789abcdef01234567".into());
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .expect("PM_MCP_REDMINE_URL has a host");
    let server = env
        .serve(&["--allow-http-providers", "--allow-upstream", &host])
        .await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let configured = ok(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "redmine", "base_url": url, "api_key": redmine_key, "name": "rm" }),
    )
    .await;
    assert_eq!(configured["test"]["ok"], true, "{configured}");

    // A project, a version as the sprint, and two new tasks in it.
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let project = ok(
        &ann,
        "create_project",
        json!({ "name": format!("Board {tag}"), "key": format!("board-{tag}") }),
    )
    .await;
    let project_id = project["project"]["id"].as_str().expect("id").to_string();
    let sprint = ok(
        &ann,
        "create_sprint",
        json!({ "project_id": project_id, "name": "Board sprint", "start_date": day(-2), "end_date": day(12) }),
    )
    .await;
    let sprint_id = sprint["sprint"]["id"].as_str().expect("id").to_string();
    let mut tasks = Vec::new();
    for title in ["Wire the checkout", "Write the release note"] {
        let t = ok(
            &ann,
            "create_task",
            json!({ "project_id": project_id, "title": title, "sprint_id": sprint_id }),
        )
        .await;
        tasks.push(t["task"]["id"].as_str().expect("id").to_string());
    }
    let config = json!({
        "mcp": server.mcp_url(),
        "key": key,
        "readKey": null,
        "board": {
            "sprint": sprint_id,
            "drag": { "task": tasks[0], "to": "In Progress" },
            "menu": { "task": tasks[1], "to": "Closed" },
            "refused": null,
            "readOnly": null,
            "markup": null,
        },
        "charts": null,
    });
    let seen = run_apps(&dir, &chromium, config).await;
    let board = &seen["board"];
    assert_eq!(board["cards"], 2, "{board}");
    // Redmine's own statuses, each a lane in its category.
    let lanes = board["lanes"].to_string();
    for status in ["New", "In Progress", "Resolved", "Closed"] {
        assert!(lanes.contains(status), "{status} has no lane: {lanes}");
    }

    // Redmine itself now holds what the board showed.
    let http = reqwest::Client::new();
    let status = |id: &str| {
        let n = id.trim_start_matches("rm:").to_string();
        let (http, url, key) = (&http, &url, &redmine_key);
        async move {
            let v: Value = http
                .get(format!("{url}/issues/{n}.json"))
                .header("x-redmine-api-key", key)
                .send()
                .await
                .expect("get issue")
                .json()
                .await
                .expect("issue json");
            v["issue"]["status"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let number = tasks[0].trim_start_matches("rm:");
    assert_eq!(board["dragged"], format!("#{number} is now In Progress."));
    assert_eq!(status(&tasks[0]).await, "In Progress");
    assert_eq!(status(&tasks[1]).await, "Closed");
    assert_eq!(board["draggedTo"]["category"], "in_progress");
    assert_eq!(board["menuTo"]["category"], "done");

    // Leave the Redmine as it was.
    let deleted = http
        .delete(format!("{url}/projects/board-{tag}.json"))
        .header("x-redmine-api-key", &redmine_key)
        .send()
        .await
        .expect("delete project");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    server.stop().await;
    env.finish().await;
}
