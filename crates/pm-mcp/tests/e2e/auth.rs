//! Refusals: missing, malformed, unknown, revoked, expired keys and keys of disabled users get a
//! 401 that says what is wrong; revocation and disabling bite mid-session; Host and Origin checks.
use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::model::ProtocolVersion;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::harness::*;

fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "raw", "version": "1" } }
    })
}

async fn post(server: &Server, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&initialize_body());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("post")
}

/// Asserts a 401 naming `reason`, with a Bearer challenge, and no echo of the presented key.
async fn assert_refused(server: &Server, headers: &[(&str, &str)], reason: &str) {
    let res = post(server, headers).await;
    assert_eq!(res.status(), 401, "{headers:?}");
    let challenge = res
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("no challenge for {headers:?}"))
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"pm-mcp\""),
        "{challenge}"
    );
    let body: Value = res.json().await.expect("json body");
    assert_eq!(body["reason"], reason, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    for (_, v) in headers {
        let key = v.trim_start_matches("Bearer ");
        if key.len() > 8 {
            assert!(
                !body.to_string().contains(key),
                "the key was echoed: {body}"
            );
            assert!(!challenge.contains(key), "the key was echoed: {challenge}");
        }
    }
}

#[tokio::test]
async fn bad_keys_are_refused_with_a_reason() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("dave@acme.org");
        let good = env.create_key("ann@acme.org", "read");
        let revoked = env.create_key("ann@acme.org", "read");
        let prefix = &revoked[..13];
        env.ok(&["key", "revoke", "--user", "ann@acme.org", prefix]);
        let expiring = env.ok(&[
            "key",
            "create",
            "--user",
            "ann@acme.org",
            "--name",
            "expiring",
            "--expires",
            "1h",
            "--json",
        ]);
        let expiring: Value = serde_json::from_str(&expiring).expect("json");
        let expiring = expiring["key"].as_str().expect("key").to_string();
        env.sql(
            "UPDATE user_mcp_api_keys SET expires_at = $1 WHERE name = 'expiring'",
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await;
        let daves = env.create_key("dave@acme.org", "read");
        env.ok(&["user", "disable", "--email", "dave@acme.org"]);
        let unknown = pm_store::ApiKey::generate();
        let mut typo = good.clone();
        typo.replace_range(10..11, if &good[10..11] == "a" { "b" } else { "a" });

        let server = env.serve(&[]).await;
        assert_refused(&server, &[], "missing").await;
        assert_refused(
            &server,
            &[("authorization", "Bearer not-a-key")],
            "malformed",
        )
        .await;
        assert_refused(
            &server,
            &[("authorization", &format!("Bearer {typo}"))],
            "malformed",
        )
        .await;
        assert_refused(
            &server,
            &[("authorization", &format!("Basic {good}"))],
            "malformed",
        )
        .await;
        assert_refused(&server, &[("x-api-key", unknown.expose())], "unknown").await;
        assert_refused(
            &server,
            &[("authorization", &format!("Bearer {revoked}"))],
            "revoked",
        )
        .await;
        assert_refused(&server, &[("x-mcp-api-key", &expiring)], "expired").await;
        assert_refused(
            &server,
            &[("authorization", &format!("Bearer {daves}"))],
            "user_disabled",
        )
        .await;
        assert_refused(
            &server,
            &[
                ("authorization", &format!("Bearer {good}")),
                ("x-api-key", unknown.expose()),
            ],
            "malformed",
        )
        .await;

        // The same key works from each of the three headers.
        for header in ["authorization", "x-mcp-api-key", "x-api-key"] {
            let value = if header == "authorization" {
                format!("Bearer {good}")
            } else {
                good.clone()
            };
            assert_eq!(
                post(&server, &[(header, &value)]).await.status(),
                200,
                "{header}"
            );
        }
        // rmcp's client is refused too, and can tell why.
        let err = server
            .client(&revoked, ProtocolVersion::V_2025_11_25)
            .await
            .expect_err("refused");
        assert!(
            err.contains("401") || err.to_lowercase().contains("auth"),
            "{err}"
        );
        // Enabling the user again restores their key.
        env.ok(&["user", "enable", "--email", "dave@acme.org"]);
        // Within the bound on auth changes taking effect (the epoch is polled every 500 ms).
        let started = std::time::Instant::now();
        while post(&server, &[("x-api-key", &daves)]).await.status() != 200 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "not restored after 2 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        server.stop().await;
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn revoking_a_key_or_disabling_a_user_ends_access_mid_session() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let ann_key = env.create_key("ann@acme.org", "read");
        let bob_key = env.create_key("bob@acme.org", "read");
        let server = env.serve(&[]).await;
        // Ann on the oldest revision (sessions or not), Bob on the newest (stateless).
        let ann = server
            .client(&ann_key, ProtocolVersion::V_2025_03_26)
            .await
            .expect("ann");
        call_ok(&ann, "get_current_user").await;
        env.ok(&["key", "revoke", "--user", "ann@acme.org", &ann_key[..13]]);
        let after = refused_within(&ann, "get_current_user").await;
        assert!(after.contains("401") || after.contains("Auth"), "{after}");
        let _ = ann.cancel().await;

        let bob = server
            .client(&bob_key, ProtocolVersion::V_2026_07_28)
            .await
            .expect("bob");
        call_ok(&bob, "list_providers").await;
        env.ok(&["user", "disable", "--email", "bob@acme.org"]);
        let after = refused_within(&bob, "list_providers").await;
        assert!(after.contains("401") || after.contains("Auth"), "{after}");
        let _ = bob.cancel().await;
        server.stop().await;

        // Over stdio the key is re-checked on every request as well.
        let key = env.create_key("ann@acme.org", "read");
        let (transport, _) = TokioChildProcess::builder(env.stdio_command(Some(&key)))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let client = client_config(ProtocolVersion::V_2025_11_25)
            .serve(transport)
            .await
            .expect("connect");
        call_ok(&client, "get_current_user").await;
        env.ok(&["key", "revoke", "--user", "ann@acme.org", &key[..13]]);
        let err = refused_within(&client, "get_current_user").await;
        assert!(err.contains("revoked"), "{err}");
        let _ = client.cancel().await;
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn stdio_refuses_to_start_without_a_good_key() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let revoked = env.create_key("ann@acme.org", "read");
    env.ok(&["key", "revoke", "--user", "ann@acme.org", &revoked[..13]]);
    for (key, expect) in [
        (None, "PM_MCP_API_KEY is not set"),
        (Some("pmcp_short"), "malformed"),
        (Some(revoked.as_str()), "revoked"),
    ] {
        let out = env
            .stdio_command(key)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing but MCP may go to stdout");
    }
    env.finish().await;
}

#[tokio::test]
async fn hosts_and_origins_are_checked_and_health_is_open() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    let server = env
        .serve(&["--allowed-origin", "https://app.acme.org"])
        .await;
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let ready = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.expect("json")["database"],
        "sqlite"
    );

    let bearer = format!("Bearer {key}");
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let evil_host = format!("evil.example:{port}");
    let res = post(&server, &[("authorization", &bearer), ("host", &evil_host)]).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.expect("json")["error"],
        "host_not_allowed"
    );
    let res = post(
        &server,
        &[
            ("authorization", &bearer),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.expect("json")["error"],
        "origin_not_allowed"
    );
    let res = post(
        &server,
        &[
            ("authorization", &bearer),
            ("origin", "https://app.acme.org"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let localhost = format!("localhost:{port}");
    assert_eq!(
        post(&server, &[("authorization", &bearer), ("host", &localhost)])
            .await
            .status(),
        200
    );
    // After an IPv6 address's `]` only a port may follow (an attack run found these let in).
    let v6 = format!("[::1]:{port}");
    assert_eq!(
        post(&server, &[("authorization", &bearer), ("host", &v6)])
            .await
            .status(),
        200
    );
    for evil in [
        "[::1].evil.com".to_string(),
        format!("[::1]:{port}.evil.com"),
        "[::1]evil".to_string(),
        "[::1]@evil.com".to_string(),
    ] {
        let res = post(&server, &[("authorization", &bearer), ("host", &evil)]).await;
        assert_eq!(res.status(), 403, "{evil}");
    }
    let res = http
        .get(format!("{}/nope", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    assert!(res.headers().contains_key("x-request-id"));
    server.stop().await;
    env.finish().await;
}
