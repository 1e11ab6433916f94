//! Secrets at rest and in logs: after keys and connections are created and used, neither the raw
//! database (SQLite files, or a pg_dump) nor any log line holds a key or a provider token.
use crate::harness::*;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_key_or_credential_is_stored_or_logged_in_plaintext() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let keys = [
            env.create_key("ann@acme.org", "read,write"),
            env.create_key("bob@acme.org", "read"),
        ];
        let tokens = [
            "ATATT3xFfGF0-ann-secret-token-4b1d",
            "bob-redmine-key-9f8e7d6c5b4a39281706",
        ];
        env.add_connection("ann@acme.org", "acme-jira", tokens[0]);
        let out = env
            .command()
            .args([
                "connection",
                "add",
                "--user",
                "bob@acme.org",
                "--name",
                "rm",
                "--provider",
                "redmine",
            ])
            .args(["--base-url", "https://redmine.acme.org", "--token-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(format!("{}\n", tokens[1]).as_bytes())?;
                child.wait_with_output()
            })
            .expect("connection add");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli_output = [out.stdout, out.stderr].concat();

        let server = env.serve(&[]).await;
        for key in &keys {
            let client = server
                .client(key, rmcp::model::ProtocolVersion::V_2025_11_25)
                .await
                .expect("connect");
            call_ok(&client, "get_current_user").await;
            let providers = call_ok(&client, "list_providers").await;
            for t in tokens {
                assert!(
                    !providers.to_string().contains(t),
                    "list_providers showed a token"
                );
            }
            let _ = client.cancel().await;
        }
        // Failed attempts with near-miss keys must not be logged either.
        let http = reqwest::Client::new();
        for key in &keys {
            let near_miss = format!("{}x", &key[..key.len() - 1]);
            let _ = http
                .post(server.mcp_url())
                .bearer_auth(&near_miss)
                .body("{}")
                .send()
                .await;
        }
        let logs = server.stop().await;
        assert!(
            logs.contains("authenticated"),
            "debug logs were captured: {logs}"
        );
        let listing = env.ok(&["connection", "list", "--user", "ann@acme.org", "--json"]);

        let raw = env.raw_database();
        for secret in keys.iter().map(String::as_str).chain(tokens) {
            let body = &secret[secret.len() - 24..];
            assert!(
                !contains(&raw, body),
                "the database holds a secret in plaintext ({:?})",
                env.engine
            );
            assert!(!logs.contains(body), "a log line holds a secret: {logs}");
            assert!(!listing.contains(body), "connection list shows a secret");
        }
        for t in tokens {
            assert!(!contains(&cli_output, t), "the CLI echoed a token");
        }
        env.finish().await;
    })
    .await;
}

/// A whole session with recognisable secrets — the MCP key, a Jira API token, the master key —
/// including failures (a wrong token refused upstream, a stored token Jira answers 401 to, bad
/// arguments carrying the token, near-miss keys): no log line (debug level), stdout line, tool
/// answer, error, audit row or database byte holds any of them. The same session checks the
/// audit trail: one row per call with who, key, tool, connection, outcome and duration, listed
/// and filtered by `pm-mcp audit`.
#[tokio::test]
async fn a_whole_session_leaves_no_secret_anywhere_and_is_audited() {
    on_each_engine(|env| async move {
        let mut env = env;
        let master = pm_store::MasterKeys::generate_text();
        env.master_key = Some(master.clone());
        let token = format!("SECRET-TOKEN-{}", uuid::Uuid::new_v4().simple());
        let wrong = format!("SECRET-TOKEN-WRONG-{}", uuid::Uuid::new_v4().simple());
        let basic = pm_testkit::fake_jira::basic("mia@example.com", &token);
        let Some(pm_testkit::fake::Running { url: jira, .. }) =
            pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&basic)).await
        else {
            return;
        };
        env.add_user("ann@acme.org");
        let key = env.create_key("ann@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server
            .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
            .await
            .expect("ann");
        let mut answers = String::new();
        let mut record = |r: &rmcp::model::CallToolResult| {
            answers.push_str(&serde_json::to_string(r).expect("json"));
            answers.push('\n');
        };
        let configure = |name: &str, api_token: &str, save: bool| {
            serde_json::json!({
                "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com",
                "api_token": api_token, "name": name, "save_if_test_fails": save
            })
        };
        // Refused upstream: nothing stored.
        let r = call_with(
            &ann,
            "configure_pm_provider",
            configure("acme-jira", &wrong, false),
        )
        .await;
        assert_eq!(r.is_error, Some(true));
        record(&r);
        let r = call_with(
            &ann,
            "configure_pm_provider",
            configure("acme-jira", &token, false),
        )
        .await;
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        record(&r);
        // Stored although Jira refused it; every later use answers 401.
        let r = call_with(
            &ann,
            "configure_pm_provider",
            configure("stale", &wrong, true),
        )
        .await;
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        record(&r);
        for (tool, args) in [
            (
                "get_task",
                serde_json::json!({ "task_id": "acme-jira:EX-1" }),
            ),
            (
                "get_task",
                serde_json::json!({ "task_id": "acme-jira:EX-404" }),
            ),
            ("get_task", serde_json::json!({ "task_id": "stale:EX-1" })),
            ("get_task", serde_json::json!({ "task_id": "nowhere:EX-1" })),
            (
                "log_work",
                serde_json::json!({ "task_id": "acme-jira:EX-1", "hours": 1, "date": "someday" }),
            ),
            (
                "test_pm_provider",
                serde_json::json!({ "provider_id": "stale" }),
            ),
            (
                "list_projects",
                serde_json::json!({ "provider_id": "stale" }),
            ),
            (
                "get_current_user",
                serde_json::json!({ "provider_id": "stale" }),
            ),
            ("list_providers", serde_json::json!({})),
            (
                "add_task_comment",
                serde_json::json!({ "task_id": "stale:EX-1", "comment": "seen" }),
            ),
        ] {
            let r = call_with(&ann, tool, args).await;
            record(&r);
        }
        let stale = call_with(
            &ann,
            "get_task",
            serde_json::json!({ "task_id": "stale:EX-1" }),
        )
        .await;
        assert_eq!(stale.is_error, Some(true));
        assert!(
            text(&stale).contains("refused the credentials"),
            "{}",
            text(&stale)
        );
        // Arguments the schema refuses, carrying the token: the error does not echo it.
        let params = rmcp::model::CallToolRequestParams::new("get_task").with_arguments(
            serde_json::json!({ "task_id": "EX-1", "api_token": token })
                .as_object()
                .cloned()
                .expect("object"),
        );
        let refused = ann.call_tool(params).await.expect_err("schema violation");
        answers.push_str(&refused.to_string());
        let params = rmcp::model::CallToolRequestParams::new("log_work").with_arguments(
            serde_json::json!({ "task_id": "EX-1", "hours": token })
                .as_object()
                .cloned()
                .expect("object"),
        );
        answers.push_str(
            &ann.call_tool(params)
                .await
                .expect_err("schema violation")
                .to_string(),
        );
        // Near-miss and unknown keys.
        let http = reqwest::Client::new();
        for k in [
            format!("{}x", &key[..key.len() - 1]),
            pm_store::ApiKey::generate().expose().to_string(),
        ] {
            let res = http
                .post(server.mcp_url())
                .bearer_auth(&k)
                .body("{}")
                .send()
                .await
                .expect("post");
            answers.push_str(&res.text().await.unwrap_or_default());
        }
        let me = call_ok(&ann, "get_current_user").await;
        let key_id = me["key"]["id"].as_str().expect("key id").to_string();
        let conn_id = crate::tenant::connection_id(&env, "ann@acme.org", "acme-jira");
        let _ = ann.cancel().await;
        let stdout = server.stdout();
        let logs = server.stop().await;
        assert!(logs.contains("authenticated"), "debug logs were captured");

        let trail = env.ok(&["audit", "--json", "--limit", "1000"]);
        let trail_text = env.ok(&["audit"]);
        let raw = env.raw_database();
        let secrets = [
            ("the MCP key", key.clone()),
            ("the MCP key's secret part", key[13..].to_string()),
            ("the Jira token", token.clone()),
            ("the wrong Jira token", wrong.clone()),
            (
                "the Basic header",
                basic.trim_start_matches("Basic ").to_string(),
            ),
            ("the master key", master.clone()),
        ];
        for (what, secret) in &secrets {
            for (place, hay) in [
                ("a log line", logs.as_str()),
                ("stdout", stdout.as_str()),
                ("a tool answer or error", answers.as_str()),
                ("the audit trail", trail.as_str()),
                ("the audit listing", trail_text.as_str()),
            ] {
                assert!(
                    !hay.contains(secret.as_str()),
                    "{place} holds {what}: {hay}"
                );
            }
            assert!(
                !contains(&raw, secret),
                "the database ({:?}) holds {what}",
                env.engine
            );
        }

        // The audit trail: every call, newest first, with who, key, tool, connection, outcome.
        let rows: Vec<serde_json::Value> = serde_json::from_str(&trail).expect("json");
        assert!(rows.len() >= 15, "{}", rows.len());
        let times: Vec<chrono::DateTime<chrono::FixedOffset>> = rows
            .iter()
            .map(|r| {
                chrono::DateTime::parse_from_rfc3339(r["at"].as_str().expect("at")).expect("time")
            })
            .collect();
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(times, sorted, "newest first");
        for r in &rows {
            assert_eq!(r["user"], "ann@acme.org");
            assert_eq!(r["key_id"], key_id.as_str());
            assert_eq!(r["key_prefix"], &key[..13]);
            assert!(r["duration_ms"].as_i64().is_some_and(|d| d >= 0));
        }
        let got_task = rows
            .iter()
            .find(|r| r["tool"] == "get_task" && r["outcome"] == "ok")
            .expect("a get_task that worked");
        assert_eq!(got_task["connection_id"], conn_id.as_str());
        assert_eq!(got_task["connection"], "acme-jira");
        assert!(rows.iter().any(|r| r["tool"] == "get_task"
            && r["outcome"] == "error"
            && r["error_kind"] == "tracker_auth"
            && r["connection"] == "stale"));
        // Each failure is audited with its kind: the tracker's, the caller's connection, its input.
        assert!(
            rows.iter()
                .any(|r| r["tool"] == "get_task" && r["error_kind"] == "tracker_not_found"),
            "{rows:?}"
        );
        assert!(
            rows.iter()
                .any(|r| r["tool"] == "get_task" && r["error_kind"] == "connection"),
            "{rows:?}"
        );
        assert!(
            rows.iter()
                .any(|r| r["tool"] == "log_work" && r["error_kind"] == "invalid_input"),
            "{rows:?}"
        );
        assert!(
            rows.iter()
                .any(|r| r["tool"] == "log_work" && r["error_kind"] == "invalid_arguments")
        );
        assert!(
            rows.iter()
                .any(|r| r["tool"] == "list_providers" && r["connection_id"].is_null())
        );
        let only = |args: &[&str]| -> Vec<serde_json::Value> {
            let mut all = vec!["audit", "--json"];
            all.extend_from_slice(args);
            serde_json::from_str(&env.ok(&all)).expect("json")
        };
        let ok_tasks = only(&["--tool", "get_task", "--outcome", "ok"]);
        assert!(
            !ok_tasks.is_empty()
                && ok_tasks
                    .iter()
                    .all(|r| r["tool"] == "get_task" && r["outcome"] == "ok")
        );
        let errors = only(&["--user", "ann@acme.org", "--outcome", "error"]);
        assert!(
            errors.len() >= 5 && errors.iter().all(|r| r["outcome"] == "error"),
            "{errors:?}"
        );
        assert_eq!(only(&["--limit", "2"]).len(), 2);
        assert_eq!(only(&["--since", "1h"]).len(), rows.len());
        assert!(only(&["--since", "2999-01-01"]).is_empty());
        assert!(
            trail_text.contains("get_task")
                && trail_text.contains("acme-jira")
                && trail_text.contains("error (tracker_auth)"),
            "{trail_text}"
        );
        assert!(
            env.fails(&["audit", "--user", "nobody@acme.org"])
                .contains("no user")
        );
        assert!(env.fails(&["audit", "--since", "soon"]).contains("--since"));
        env.finish().await;
    })
    .await;
}

/// `pm-mcp secrets rotate`: refuses without the keys it needs; interrupted halfway (`--limit`),
/// leaves every credential openable by the configured keys and a server still working with both;
/// resumed, finishes the rest; then the old key can go and the server works with the new one alone.
#[tokio::test]
async fn master_key_rotation_is_resumable_and_the_old_key_removable() {
    on_each_engine(|env| async move {
        let mut env = env;
        let old = pm_store::MasterKeys::generate_text();
        let new = pm_store::MasterKeys::generate_text();
        let old_id = pm_store::MasterKeys::parse(&old, None).expect("old").current_id().to_string();
        let new_id = pm_store::MasterKeys::parse(&new, None).expect("new").current_id().to_string();
        env.master_key = Some(old.clone());
        let token = "ATATT-rotation-secret-5511";
        let Some(pm_testkit::fake::Running { url: jira, .. }) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&pm_testkit::fake_jira::basic("mia@example.com", token))).await else {
        return;
    };
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let key = env.create_key("ann@acme.org", "read,write");
        for (who, name) in [("ann@acme.org", "a1"), ("ann@acme.org", "a2"), ("bob@acme.org", "b1"), ("bob@acme.org", "b2")] {
            env.add_connection(who, name, &format!("tok-{name}-secret"));
        }
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server.client(&key, rmcp::model::ProtocolVersion::V_2025_11_25).await.expect("ann");
        ok(&ann, "configure_pm_provider", serde_json::json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "live"
        }))
        .await;
        let _ = ann.cancel().await;
        server.stop().await;
        assert_eq!(sealed_by(&env, &old_id).await, 5);

        let rotate = |env: &Env, old_keys: Option<&str>, args: &[&str]| {
            let mut cmd = env.command();
            if let Some(o) = old_keys {
                cmd.env("PM_MCP_OLD_MASTER_KEYS", o);
            }
            cmd.env("PM_MCP_LOG", "warn").args(["secrets", "rotate"]).args(args);
            cmd.stdin(std::process::Stdio::null()).output().expect("run")
        };
        // No primary key at all: refused (never a new key file made up on the spot).
        env.master_key = None;
        let out = rotate(&env, None, &[]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("PM_MCP_MASTER_KEY"), "{err}");
        assert!(!env.dir.path().join("master.key").exists());
        // The new key without the old one: refused, nothing changed.
        env.master_key = Some(new.clone());
        let out = rotate(&env, None, &[]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&old_id) && err.contains("PM_MCP_OLD_MASTER_KEYS"), "{err}");
        assert_eq!(sealed_by(&env, &old_id).await, 5);

        // Interrupted after 3 of 5 (batches of 2).
        let out = rotate(&env, Some(&old), &["--batch-size", "2", "--limit", "3"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("Re-sealed 3 connection(s)") && said.contains("2 still sealed with older keys"), "{said}");
        assert_eq!((sealed_by(&env, &old_id).await, sealed_by(&env, &new_id).await), (2, 3));
        // A server with only the new key refuses to start on half-rotated data, and says why.
        let refused = env.fails(&["serve", "--listen", "127.0.0.1:0"]);
        assert!(refused.contains(&old_id), "{refused}");

        // Resumed: the rest.
        let out = rotate(&env, Some(&old), &["--batch-size", "2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("Re-sealed 2 connection(s)") && said.contains("no longer needed"), "{said}");
        assert_eq!((sealed_by(&env, &old_id).await, sealed_by(&env, &new_id).await), (0, 5));

        // The old key is gone from the configuration: the server starts and the live connection
        // still reaches Jira with the re-sealed token.
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server.client(&key, rmcp::model::ProtocolVersion::V_2025_11_25).await.expect("ann");
        assert_eq!(ok(&ann, "get_task", serde_json::json!({ "task_id": "live:EX-1" })).await["task"]["id"], "live:EX-1");
        let tested = ok(&ann, "test_pm_provider", serde_json::json!({ "provider_id": "live" })).await;
        assert_eq!(tested["test"]["ok"], true);
        let _ = ann.cancel().await;
        let logs = server.stop().await;
        for secret in [old.as_str(), new.as_str(), token] {
            assert!(!logs.contains(secret));
            assert!(!contains(&env.raw_database(), secret));
        }
        env.finish().await;
    })
    .await;
}

async fn sealed_by(env: &Env, key_id: &str) -> i64 {
    env.count(&format!(
        "SELECT COUNT(*) FROM pm_provider_connections WHERE key_id = '{key_id}'"
    ))
    .await
}
