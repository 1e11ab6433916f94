//! A valid key works: over HTTP on every protocol revision, and over stdio.
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;

use crate::harness::*;

#[tokio::test]
async fn a_valid_key_works_over_http_on_every_protocol_revision() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        let key = env.create_key("ann@acme.org", "read");
        let server = env.serve(&[]).await;
        for version in VERSIONS {
            let client = server.client(&key, version.clone()).await.expect("connect");
            let tools = client.list_all_tools().await.expect("tools/list");
            let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
            names.sort();
            // A read key sees only read-only tools: the write tools are not even listed.
            for write in ["configure_pm_provider", "remove_pm_provider"] {
                assert!(!names.iter().any(|n| n == write), "{version}: a read key lists {write}");
            }
            for read in ["get_current_user", "list_providers", "list_projects", "get_task", "list_my_tasks", "test_pm_provider"] {
                assert!(names.iter().any(|n| n == read), "{version}: {read} missing");
            }
            for tool in &tools {
                let a = tool.annotations.as_ref().expect("annotations");
                assert_eq!(a.read_only_hint, Some(true));
                assert!(tool.output_schema.is_some());
            }
            let me = call_ok(&client, "get_current_user").await;
            assert_eq!(me["user"]["email"], "ann@acme.org", "{version}");
            assert_eq!(me["key"]["scopes"], serde_json::json!(["read"]));
            assert_eq!(me["key"]["prefix"].as_str().map(|p| key.starts_with(p)), Some(true));
            assert_eq!(me["connections"], serde_json::json!([]));
            // The text mirror carries the same content for clients that ignore structuredContent.
            let result = call(&client, "get_current_user").await.expect("call");
            let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("text");
            assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("json text")["user"]["email"], "ann@acme.org");
            client.cancel().await.expect("close");
        }
        let logs = server.stop().await;
        assert!(logs.contains("pm-mcp stopped"), "{logs}");
        // Every call was audited (written in a batch, flushed on shutdown).
        let audited = env.count("SELECT COUNT(*) FROM audit_events WHERE tool = 'get_current_user' AND outcome = 'ok'").await;
        assert_eq!(audited, 2 * VERSIONS.len() as i64);
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn stdio_serves_the_keys_owner() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        let key = env.create_key("ann@acme.org", "read,write");
        env.add_connection("ann@acme.org", "acme-jira", "tok-stdio-111");
        let (transport, _stderr) = TokioChildProcess::builder(env.stdio_command(Some(&key)))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn stdio");
        let client = client_config(rmcp::model::ProtocolVersion::V_2025_11_25)
            .serve(transport)
            .await
            .expect("connect");
        let me = call_ok(&client, "get_current_user").await;
        assert_eq!(me["user"]["email"], "ann@acme.org");
        assert_eq!(me["key"]["scopes"], serde_json::json!(["read", "write"]));
        assert_eq!(me["default_connection"], "acme-jira");
        let providers = call_ok(&client, "list_providers").await;
        assert_eq!(providers["connections"][0]["name"], "acme-jira");
        assert_eq!(providers["connections"][0]["provider_type"], "jira_cloud");
        client.cancel().await.expect("close");
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn users_never_see_each_others_connections() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let ann_key = env.create_key("ann@acme.org", "read");
        let bob_key = env.create_key("bob@acme.org", "read");
        env.add_connection("ann@acme.org", "acme-jira", "tok-ann-1");
        env.add_connection("ann@acme.org", "ann-private", "tok-ann-2");
        env.add_connection("bob@acme.org", "acme-jira", "tok-bob-1");
        let server = env.serve(&[]).await;
        let ann = server
            .client(&ann_key, rmcp::model::ProtocolVersion::V_2025_06_18)
            .await
            .expect("ann");
        let bob = server
            .client(&bob_key, rmcp::model::ProtocolVersion::V_2026_07_28)
            .await
            .expect("bob");
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["connections"]
                .as_array()
                .expect("list")
                .iter()
                .map(|c| c["name"].as_str().expect("name").to_string())
                .collect()
        };
        assert_eq!(
            names(&call_ok(&ann, "list_providers").await),
            vec!["acme-jira", "ann-private"]
        );
        let bobs = call_ok(&bob, "list_providers").await;
        assert_eq!(names(&bobs), vec!["acme-jira"]);
        assert_eq!(
            call_ok(&bob, "get_current_user").await["connections"],
            serde_json::json!(["acme-jira (jira_cloud)"])
        );
        assert!(!bobs.to_string().contains("ann-private"));
        // CLI listings are per user too.
        let listed = env.ok(&["connection", "list", "--user", "bob@acme.org"]);
        assert!(
            listed.contains("acme-jira") && !listed.contains("ann-private"),
            "{listed}"
        );
        server.stop().await;
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn session_mode_and_json_logs_work_too() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    let server = env.serve(&["--sessions", "--log-format", "json"]).await;
    for version in [
        rmcp::model::ProtocolVersion::V_2025_03_26,
        rmcp::model::ProtocolVersion::V_2025_11_25,
    ] {
        let client = server.client(&key, version).await.expect("connect");
        assert_eq!(
            call_ok(&client, "get_current_user").await["user"]["email"],
            "ann@acme.org"
        );
        client.cancel().await.expect("close");
    }
    // A body over the limit is refused on its declared length, before it is read.
    assert_eq!(
        status_for_declared_length(&server.mcp_url(), &key, 5 * 1024 * 1024).await,
        413
    );
    let logs = server.stop().await;
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "{logs}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "{line}"
        );
    }
    env.finish().await;
}

#[tokio::test]
async fn the_default_toolsets_unless_someone_names_them() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let out = env.ok(&[
        "key",
        "create",
        "--user",
        "ann@acme.org",
        "--name",
        "charts",
        "--scopes",
        "read",
        "--toolsets",
        "analytics,tasks",
        "--json",
    ]);
    let charts_key: serde_json::Value = serde_json::from_str(&out).expect("json");
    let charts_key = charts_key["key"].as_str().expect("key").to_string();
    let server = env.serve_without(&[], &["PM_MCP_TOOLSETS"]).await;
    let list = |key: String, header: Option<&'static str>| {
        let url = server.mcp_url();
        async move {
            let mut req = reqwest::Client::new()
                .post(url)
                .bearer_auth(&key)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25");
            if let Some(h) = header {
                req = req.header("x-mcp-toolsets", h);
            }
            let body = req
                .json(
                    &serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}),
                )
                .send()
                .await
                .expect("post")
                .text()
                .await
                .expect("body");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            let names: Vec<String> = v["result"]["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .map(|t| t["name"].as_str().expect("name").to_string())
                .collect();
            (names, body.len())
        }
    };
    // Nobody named toolsets: users, connections, projects, tasks and comments, within
    // pm_server::tools::DEFAULT_BUDGET_BYTES.
    // The connection tools stay once Ann has a connection (issue 18: her assistant must be able
    // to add a second tracker and repair a broken one).
    let (before, _) = list(key.clone(), None).await;
    assert_eq!(before.len(), 30, "{before:?}");
    env.add_connection("ann@acme.org", "acme-jira", "token-1");
    let (names, bytes) = list(key.clone(), None).await;
    assert_eq!(
        names, before,
        "the default set does not depend on having a connection"
    );
    assert!(
        bytes <= pm_server::tools::DEFAULT_BUDGET_BYTES,
        "{bytes} bytes"
    );
    for shown in [
        "get_current_user",
        "list_projects",
        "get_task",
        "add_task_comment",
        "list_providers",
        "configure_pm_provider",
        "test_pm_provider",
    ] {
        assert!(names.iter().any(|n| n == shown), "{shown}: {names:?}");
    }
    for hidden in ["list_sprints", "burndown_chart", "log_work"] {
        assert!(!names.iter().any(|n| n == hidden), "{hidden}: {names:?}");
    }
    // A request asks for more, or for all.
    let (names, _) = list(key.clone(), Some("default,sprints")).await;
    assert_eq!(names.len(), 39, "{names:?}");
    let (names, bytes) = list(key.clone(), Some("all")).await;
    assert_eq!(names.len(), 57, "{names:?}");
    assert!(bytes <= pm_server::tools::ALL_BUDGET_BYTES, "{bytes} bytes");
    // A key made for some toolsets sees those (read scope: no writes).
    let (names, _) = list(charts_key.clone(), None).await;
    assert!(names.iter().any(|n| n == "burndown_chart"), "{names:?}");
    assert!(names.iter().any(|n| n == "get_task"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n == "list_projects" || n == "create_task"),
        "{names:?}"
    );
    // A tool outside the default set is refused, saying how to get it.
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let refused = call(&client, "list_sprints").await.expect("call");
    assert_eq!(refused.is_error, Some(true));
    let text = refused
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(
        text.contains("not in the default set") && text.contains("--toolsets all"),
        "{text}"
    );
    let _ = client.cancel().await;
    server.stop().await;
    // The server can offer everything.
    let server = env
        .serve_without(&["--toolsets", "all"], &["PM_MCP_TOOLSETS"])
        .await;
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    assert_eq!(client.list_all_tools().await.expect("list").len(), 57);
    let _ = client.cancel().await;
    server.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn read_only_mode_and_toolsets_narrow_what_is_listed_and_callable() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let server = env
        .serve(&["--read-only", "--toolsets", "users,connections,tasks"])
        .await;
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .expect("list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for hidden in [
        "configure_pm_provider",
        "create_task",
        "log_work",
        "list_projects",
        "add_task_comment",
    ] {
        assert!(
            !names.iter().any(|n| n == hidden),
            "{hidden} listed: {names:?}"
        );
    }
    assert!(names.iter().any(|n| n == "get_task") && names.iter().any(|n| n == "get_current_user"));
    let refused = call(&client, "remove_pm_provider").await.expect("call");
    assert_eq!(refused.is_error, Some(true));
    let text = refused
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(text.contains("read-only"), "{text}");
    let _ = client.cancel().await;

    // A request can narrow itself further with X-MCP-Toolsets.
    let res = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(&key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("x-mcp-toolsets", "users")
        .json(&serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}))
        .send()
        .await
        .expect("post");
    let body = res.text().await.expect("body");
    assert!(
        body.contains("get_current_user") && !body.contains("get_task"),
        "{body}"
    );
    server.stop().await;
    let err = env.fails(&[
        "serve",
        "--toolsets",
        "tasks,bogus",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("unknown toolset \"bogus\""), "{err}");
    env.finish().await;
}

/// `--listen` repeated: one server answers the same on every address (where an old server stood
/// on two ports, e.g. chat on one and provider sync on another).
#[tokio::test]
async fn one_server_answers_on_several_addresses() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let (a, b) = (free(), free());
    let second = format!("127.0.0.1:{b}");
    let server = env
        .serve_on(&format!("127.0.0.1:{a}"), &["--listen", &second], &[])
        .await;
    let said = format!("also listening on http://{second}/mcp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.logs().contains(&said) {
        assert!(std::time::Instant::now() < deadline, "{}", server.logs());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let http = reqwest::Client::new();
    let list = |port: u16, key: Option<String>| {
        let mut req = http
            .post(format!("http://127.0.0.1:{port}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    for port in [a, b] {
        let health = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status(), 200, "port {port}");
        let listed = list(port, Some(key.clone())).await.expect("tools/list");
        assert_eq!(listed.status(), 200, "port {port}");
        assert!(
            listed.text().await.unwrap_or_default().contains("get_task"),
            "port {port}"
        );
        let refused = list(port, None).await.expect("no key");
        assert_eq!(
            refused.status(),
            401,
            "port {port}: the same auth on every address"
        );
    }
    server.stop().await;
    env.finish().await;
}
