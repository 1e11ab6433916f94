//! The client matrix: real MCP clients from other ecosystems — the TypeScript SDK v1 and v2, the
//! Python SDK, MCP Inspector's CLI — connect to the real binary with the configs `pm-mcp key create`
//! prints, list tools and call `get_current_user` and `list_providers`, over Streamable HTTP,
//! legacy SSE and stdio. The clients are installed by `tests/clients/setup.sh` (the test command
//! runs it and sets `PM_MCP_CLIENTS_DIR`); without that variable this test is skipped.
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

struct Case {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// Protocol revision the client must end up speaking, when it reports one.
    version: Option<&'static str>,
}

async fn run(case: &Case, dir: &Path) -> Result<Value, String> {
    let out = tokio::process::Command::new(&case.program)
        .args(&case.args)
        .current_dir(dir)
        .env("MCP_INSPECTOR_SECRET_STORE", "memory")
        .output()
        .await
        .map_err(|e| format!("cannot start {}: {e}", case.program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or(format!("no JSON in {stdout}"))?;
    serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))
}

#[tokio::test]
async fn real_clients_from_other_ecosystems_work() {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(PathBuf::from) else {
        pm_testkit::skip(
            "the client matrix (scripts/test runs it)",
            "PM_MCP_CLIENTS_DIR is not set",
        );
        return;
    };
    let dir = std::fs::canonicalize(&dir).expect("clients dir");
    let node = dir.join("node_modules/node/bin/node");
    let python = dir.join("venv/bin/python");
    let inspector = dir
        .join("node_modules/.bin/mcp-inspector")
        .display()
        .to_string();

    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    // A fake Jira behind the connection: each client also reads a resource through it.
    let token = "ATATT-client-matrix-0026";
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    let added = env
        .command()
        .args([
            "connection",
            "add",
            "--user",
            "ann@acme.org",
            "--name",
            "acme-jira",
        ])
        .args([
            "--provider",
            "jira_cloud",
            "--base-url",
            &jira,
            "--allow-http",
        ])
        .args(["--username", "mia@example.com", "--token-env", "E2E_TOKEN"])
        .env("E2E_TOKEN", token)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("connection add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let server = env.serve(LOCAL_UPSTREAM).await;
    let created = env.ok(&[
        "key",
        "create",
        "--user",
        "ann@acme.org",
        "--name",
        "matrix",
        "--public-url",
        &server.mcp_url(),
        "--json",
    ]);
    let created: Value = serde_json::from_str(&created).expect("key create --json");
    let key = created["key"].as_str().expect("key").to_string();
    let cursor = created["configs"]["cursor"].clone();
    let cursor_path = env.dir.path().join("cursor.json");
    std::fs::write(&cursor_path, cursor.to_string()).expect("write config");

    // The stdio config as printed: this binary by its absolute path, with the data folder and
    // config file `key create` was given.
    let mut stdio = created["configs"]["stdio"].clone();
    let entry = &mut stdio["mcpServers"]["pm-mcp"];
    assert_eq!(entry["command"], crate::cli::canonical_bin());
    assert_eq!(
        entry["env"]["PM_MCP_DATA_DIR"],
        Value::from(crate::cli::canonical_path(env.dir.path()))
    );
    // Every tool, as the harness's HTTP servers offer (the default set is tested in mcp.rs).
    entry["env"]["PM_MCP_TOOLSETS"] = Value::from("all");
    // The fake Jira is plain HTTP on loopback, as for the HTTP server.
    entry["env"]["PM_MCP_ALLOW_HTTP_PROVIDERS"] = Value::from("true");
    entry["env"]["PM_MCP_ALLOW_UPSTREAM"] = Value::from("127.0.0.1/32");
    let stdio_env: Vec<String> = entry["env"]
        .as_object()
        .expect("env")
        .iter()
        .flat_map(|(k, v)| {
            [
                "-e".to_string(),
                format!("{k}={}", v.as_str().unwrap_or_default()),
            ]
        })
        .collect();
    let stdio_path = env.dir.path().join("stdio.json");
    std::fs::write(&stdio_path, stdio.to_string()).expect("write config");

    let cfg = cursor_path.display().to_string();
    let header = format!(
        "Authorization: {}",
        cursor["mcpServers"]["pm-mcp"]["headers"]["Authorization"]
            .as_str()
            .expect("header")
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let inspect = |url: &str, transport: &str, method: &[&str]| {
        let mut a = s(&[
            &inspector,
            "--cli",
            url,
            "--transport",
            transport,
            "--header",
            &header,
            "--stored-auth-only",
        ]);
        a.extend(s(method));
        a.extend(s(&["--format", "json", "-q"]));
        a
    };
    let sse_url = format!("{}/sse", server.base);
    let mut inspector_stdio = s(&[&inspector, "--cli"]);
    inspector_stdio.extend(stdio_env.clone());
    inspector_stdio.extend(s(&[
        "--method",
        "tools/call",
        "--tool-name",
        "get_current_user",
        "--format",
        "json",
        "-q",
        "--",
        &crate::cli::canonical_bin(),
        "stdio",
    ]));
    let call_me = ["--method", "tools/call", "--tool-name", "get_current_user"];
    let cases = vec![
        Case {
            name: "TypeScript SDK v1, Streamable HTTP",
            program: node.clone(),
            args: s(&["ts-v1.mjs", &cfg, "http"]),
            version: Some("2025-11-25"),
        },
        Case {
            name: "TypeScript SDK v1, legacy SSE",
            program: node.clone(),
            args: s(&["ts-v1.mjs", &cfg, "sse"]),
            version: None,
        },
        Case {
            name: "TypeScript SDK v1, stdio",
            program: node.clone(),
            args: s(&["ts-v1.mjs", &stdio_path.display().to_string(), "stdio"]),
            version: None,
        },
        Case {
            name: "TypeScript SDK v2, legacy negotiation",
            program: node.clone(),
            args: s(&["ts-v2.mjs", &cfg, "legacy"]),
            version: Some("2025-11-25"),
        },
        Case {
            name: "TypeScript SDK v2, auto negotiation",
            program: node.clone(),
            args: s(&["ts-v2.mjs", &cfg, "auto"]),
            version: Some("2026-07-28"),
        },
        Case {
            name: "Python mcp, legacy negotiation",
            program: python.clone(),
            args: s(&["py_client.py", &cfg, "legacy"]),
            version: Some("2025-11-25"),
        },
        Case {
            name: "Python mcp, auto negotiation",
            program: python.clone(),
            args: s(&["py_client.py", &cfg, "auto"]),
            version: Some("2026-07-28"),
        },
        Case {
            name: "Python mcp, legacy SSE",
            program: python.clone(),
            args: s(&["py_client.py", &cfg, "sse"]),
            version: None,
        },
        Case {
            // --strict lints every tool's input and output schema for portability, and reports
            // each finding (warnings too) in the JSON envelope's `schemaFindings`.
            name: "Inspector CLI, HTTP tools/list --strict",
            program: node.clone(),
            args: inspect(
                &server.mcp_url(),
                "http",
                &["--method", "tools/list", "--strict"],
            ),
            version: None,
        },
        Case {
            name: "Inspector CLI, HTTP get_current_user",
            program: node.clone(),
            args: inspect(&server.mcp_url(), "http", &call_me),
            version: None,
        },
        Case {
            name: "Inspector CLI, HTTP list_providers",
            program: node.clone(),
            args: inspect(
                &server.mcp_url(),
                "http",
                &["--method", "tools/call", "--tool-name", "list_providers"],
            ),
            version: None,
        },
        Case {
            name: "Inspector CLI, SSE get_current_user",
            program: node.clone(),
            args: inspect(&sse_url, "sse", &call_me),
            version: None,
        },
        Case {
            name: "Inspector CLI, stdio get_current_user",
            program: node.clone(),
            args: inspector_stdio,
            version: None,
        },
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let started = std::time::Instant::now();
        let outcome = run(case, &dir).await.and_then(|v| check(case, &v));
        let ms = started.elapsed().as_millis();
        match outcome {
            Ok(summary) => eprintln!("PASS  {:<40} {ms:>5} ms  {summary}", case.name),
            Err(e) => {
                eprintln!("FAIL  {:<40} {ms:>5} ms  {e}", case.name);
                failures.push(case.name);
            }
        }
    }
    eprintln!(
        "client matrix: {} of {} passed",
        cases.len() - failures.len(),
        cases.len()
    );

    // A refused key is reported as a failure by a real client too.
    env.ok(&["key", "revoke", "--user", "ann@acme.org", &key[..13]]);
    // The CLI is another process: the server learns of it within the documented 0.5 s (its
    // auth-epoch poll; SQLite has no push). Poll until the server refuses the key (401), within
    // a bound with room for a loaded machine, then the real client must fail for that reason.
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = http
            .post(server.mcp_url())
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked key was still accepted after 10 s (last status {status})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let refused = Case {
        name: "revoked key",
        program: node.clone(),
        args: s(&["ts-v1.mjs", &cfg, "http"]),
        version: None,
    };
    let why = run(&refused, &dir)
        .await
        .expect_err("a revoked key still worked through the TypeScript SDK");
    assert!(
        why.contains("401") || why.to_lowercase().contains("unauthorized"),
        "the client failed, but not for the revoked key: {why}"
    );
    server.stop().await;
    assert!(failures.is_empty(), "clients failed: {failures:?}");
}

/// What every client must have seen: both tools, Ann's identity, her connection.
fn check(case: &Case, v: &Value) -> Result<String, String> {
    // Inspector prints the raw result; the scripts print a summary line.
    if let Some(result) = v.get("result") {
        if let Some(tools) = result.get("tools") {
            let names: Vec<&str> = tools
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str())
                .collect();
            // Every toolset is offered, so every tool's schemas were linted.
            if names.len() != pm_server::tools::tool_names().count() {
                return Err(format!("tools/list is not every tool: {names:?}"));
            }
            if let Some(findings) = v.get("schemaFindings") {
                let count: usize = findings
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| f["findings"].as_array().map_or(0, Vec::len))
                    .sum();
                return Err(format!(
                    "Inspector --strict: {count} schema findings: {findings}"
                ));
            }
            return if names.contains(&"get_current_user") && names.contains(&"list_providers") {
                Ok(format!("{} tools, no --strict finding", names.len()))
            } else {
                Err(format!("tools/list: {names:?}"))
            };
        }
        let sc = &result["structuredContent"];
        if result["isError"] == Value::Bool(true) {
            return Err(format!("tool error: {result}"));
        }
        if sc["user"]["email"] == "ann@acme.org" {
            return Ok("get_current_user: ann@acme.org".into());
        }
        if sc["connections"][0]["name"] == "acme-jira" {
            return Ok("list_providers: acme-jira".into());
        }
        return Err(format!("unexpected result: {result}"));
    }
    if v["email"] != "ann@acme.org" {
        return Err(format!("wrong identity: {v}"));
    }
    if v["connections"] != serde_json::json!(["acme-jira"]) {
        return Err(format!("wrong connections: {v}"));
    }
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !tools.contains(&"get_current_user") || !tools.contains(&"configure_pm_provider") {
        return Err(format!("tools missing: {v}"));
    }
    // Prompts and resources, through the same SDK (in 2026-07-28 mode with the caching hints its
    // schema asks for).
    let prompts: Vec<&str> = v["prompts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for p in [
        "standup",
        "sprint_planning",
        "sprint_review",
        "triage",
        "release_notes",
    ] {
        if !prompts.contains(&p) {
            return Err(format!("prompts/list lacks {p}: {v}"));
        }
    }
    if v["links"] != serde_json::json!(["pm://acme-jira/sprints/7"]) || v["templates"] != 3 {
        return Err(format!("sprint_review's link or the templates: {v}"));
    }
    if v["read_mimes"] != serde_json::json!(["text/markdown", "application/json"])
        || !v["read_heading"]
            .as_str()
            .is_some_and(|h| h.starts_with("# Sprint: "))
    {
        return Err(format!("the sprint resource: {v}"));
    }
    let negotiated = v["protocolVersion"].as_str().unwrap_or("?").to_string();
    // 2026-07-28's caching hints, where the script reports them: the templates are everyone's,
    // a read is the caller's and not to be reused.
    if let Some(hints) = v.get("hints") {
        let want = match negotiated.as_str() {
            "2026-07-28" => {
                serde_json::json!({ "templates": [60000, "public"], "read": [0, "private"] })
            }
            _ => serde_json::json!({ "templates": [null, null], "read": [null, null] }),
        };
        if *hints != want {
            return Err(format!("caching hints under {negotiated}: {hints}"));
        }
    }
    if let Some(want) = case.version
        && negotiated != want
    {
        return Err(format!("negotiated {negotiated}, expected {want}"));
    }
    Ok(format!(
        "{} protocol {negotiated}",
        v["client"].as_str().unwrap_or("")
    ))
}

/// The official Python SDK checks each structured result against the outputSchema the tool
/// advertised, and refuses one that does not conform. Analytics results from the fake Jira
/// (closed Sprint 6, active Sprint 7) — velocity's `trend`, the health's `velocity_trend` once a
/// sprint is closed, the nullable numbers — and the everyday tools' results must all pass.
#[tokio::test]
async fn python_sdk_accepts_every_structured_result() {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(PathBuf::from) else {
        pm_testkit::skip(
            "the Python SDK check (scripts/test runs it)",
            "PM_MCP_CLIENTS_DIR is not set",
        );
        return;
    };
    let dir = std::fs::canonicalize(&dir).expect("clients dir");
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-python-sdk-e2e-0018";
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    env.add_user("ann@acme.org");
    let server = env.serve(LOCAL_UPSTREAM).await;
    let created = env.ok(&[
        "key",
        "create",
        "--user",
        "ann@acme.org",
        "--name",
        "python",
        "--scopes",
        "read,write",
        "--public-url",
        &server.mcp_url(),
        "--json",
    ]);
    let created: Value = serde_json::from_str(&created).expect("key create --json");
    let key = created["key"].as_str().expect("key");
    let ann = server
        .client(key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    ok(
        &ann,
        "configure_pm_provider",
        serde_json::json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com",
            "api_token": token, "name": "acme-jira"
        }),
    )
    .await;
    let _ = ann.cancel().await;
    let cfg = env.dir.path().join("python.json");
    std::fs::write(&cfg, created["configs"]["cursor"].to_string()).expect("write config");

    let calls: &[(&str, &str)] = &[
        (
            "velocity_chart",
            r#"{"project_id":"acme-jira:EX","chart":false}"#,
        ),
        ("project_health", r#"{"project_id":"acme-jira:EX"}"#),
        (
            "burndown_chart",
            r#"{"sprint_id":"acme-jira:7","chart":false}"#,
        ),
        ("sprint_report", r#"{"sprint_id":"acme-jira:6"}"#),
        ("sprint_report", r#"{"sprint_id":"acme-jira:7"}"#),
        (
            "cycle_time_chart",
            r#"{"project_id":"acme-jira:EX","days":60,"chart":false}"#,
        ),
        (
            "cfd_chart",
            r#"{"project_id":"acme-jira:EX","days":30,"chart":false}"#,
        ),
        (
            "issue_trend_chart",
            r#"{"project_id":"acme-jira:EX","chart":false}"#,
        ),
        (
            "work_distribution_chart",
            r#"{"sprint_id":"acme-jira:7","by":"status","chart":false}"#,
        ),
        (
            "capacity_chart",
            r#"{"project_id":"acme-jira:EX","weeks":2,"chart":false}"#,
        ),
        ("get_current_user", "{}"),
        ("list_providers", "{}"),
        ("list_projects", "{}"),
        ("list_sprints", r#"{"project_id":"acme-jira:EX"}"#),
        ("get_sprint_tasks", r#"{"sprint_id":"acme-jira:7"}"#),
        ("list_tasks", r#"{"project_id":"acme-jira:EX"}"#),
        ("get_task", r#"{"task_id":"acme-jira:EX-2"}"#),
    ];
    let mut args = vec![
        "py_client.py".to_string(),
        cfg.display().to_string(),
        "call".into(),
    ];
    for (tool, a) in calls {
        args.extend([tool.to_string(), a.to_string()]);
    }
    let case = Case {
        name: "Python mcp, structured results",
        program: dir.join("venv/bin/python"),
        args,
        version: None,
    };
    let out = run(&case, &dir).await;
    server.stop().await;
    let out = out.unwrap_or_else(|e| panic!("the Python SDK refused a result: {e}"));
    let results = &out["results"];
    // The cases of the bug: a string trend, and a health judged with a closed sprint behind it.
    let trend = &results["velocity_chart"]["trend"];
    assert!(trend.is_string(), "velocity trend: {trend}");
    let health_trend = &results["project_health"]["velocity_trend"];
    assert!(
        health_trend.is_string(),
        "health velocity_trend: {health_trend}"
    );
    for (tool, _) in calls {
        assert!(results[*tool].is_object(), "{tool}: {out}");
    }
    env.finish().await;
}
