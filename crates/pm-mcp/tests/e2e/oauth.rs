//! OAuth sign-in end to end: a real OpenID provider (the certified `oidc-provider` from npm, run
//! by `tests/clients/oauth-idp.mjs`), the real binary configured to trust it, and a real MCP client
//! (the TypeScript SDK's own OAuth support, `tests/clients/oauth-client.mjs`) that discovers the
//! Protected Resource Metadata from the 401, registers itself with the provider, signs the user in
//! with authorization code + PKCE, calls tools with the token, and steps up when a write is
//! answered 403 `insufficient_scope`. Then tokens the provider really issued are bent: tampered,
//! expired, for another audience, from another issuer; each is refused. Skipped without
//! `PM_MCP_CLIENTS_DIR` (set by `scripts/test`), like the client matrix.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::harness::*;

/// The provider: started, and stopped when dropped.
struct Idp {
    child: tokio::process::Child,
    issuer: String,
    other_issuer: String,
}

impl Idp {
    async fn start(dir: &Path, resource: &str) -> Idp {
        let mut child = tokio::process::Command::new(dir.join("node_modules/node/bin/node"))
            .arg(dir.join("oauth-idp.mjs"))
            .args(["--resource", resource, "--shared-key"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start oauth-idp.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the identity provider did not start within 60 s")
            .expect("read")
            .expect("the identity provider exited before it was ready");
        let ready: Value = serde_json::from_str(&line).expect("ready line");
        Idp {
            child,
            issuer: ready["issuer"].as_str().expect("issuer").into(),
            other_issuer: ready["other_issuer"].as_str().expect("other").into(),
        }
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Runs `oauth-client.mjs` with `args`; its one JSON line.
async fn oauth_client(dir: &Path, args: &[&str]) -> Value {
    let out = tokio::process::Command::new(dir.join("node_modules/node/bin/node"))
        .arg(dir.join("oauth-client.mjs"))
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .expect("run oauth-client.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oauth-client.mjs {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    serde_json::from_str(line).expect("JSON")
}

/// A token the provider issues to `login` for `resource` through the whole code flow.
async fn token(
    dir: &Path,
    issuer: &str,
    resource: &str,
    login: &str,
    scope: &str,
    client: &str,
) -> String {
    let got = oauth_client(
        dir,
        &[
            "token",
            "--issuer",
            issuer,
            "--resource",
            resource,
            "--login",
            login,
            "--scope",
            scope,
            "--client-name",
            client,
        ],
    )
    .await;
    got["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// POSTs one JSON-RPC message to `/mcp` with `bearer`; status, challenge and JSON body.
async fn post(url: &str, bearer: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = res.text().await.expect("body");
    let json = serde_json::from_str(&text)
        .or_else(|_| {
            serde_json::from_str(
                text.lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or("null"),
            )
        })
        .unwrap_or(Value::Null);
    (status, challenge, json)
}

/// A free port, held until the returned listener is dropped (so that the identity provider,
/// started meanwhile on a port of the system's choosing, cannot be given the same one).
fn reserve_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn list_tools() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
}

#[tokio::test]
async fn sign_in_with_a_real_openid_provider_and_call_tools() {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(PathBuf::from) else {
        pm_testkit::skip(
            "the OAuth end-to-end test (scripts/test runs it)",
            "PM_MCP_CLIENTS_DIR is not set",
        );
        return;
    };
    let dir = std::fs::canonicalize(&dir).expect("clients dir");
    on_each_engine(|env| {
        let dir = dir.clone();
        async move {
            let (reserved, port) = reserve_port();
            let base = format!("http://127.0.0.1:{port}");
            let resource = format!("{base}/mcp");
            let idp = Idp::start(&dir, &resource).await;
            let jira_token = "ATATT-oauth-e2e-0042";
            let Some(pm_testkit::fake::Running { url: jira, .. }) =
                pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
                    &pm_testkit::fake_jira::basic("mia@example.com", jira_token),
                ))
                .await
            else {
                return;
            };
            // A user with an API key beside the OAuth users.
            env.add_user("kim@acme.org");
            let kim_key = env.create_key("kim@acme.org", "read");
            let mut args = vec![
                "--oauth-issuer",
                &idp.issuer,
                "--oauth-resource",
                &resource,
                "--oauth-create-users",
                "--oauth-admin-claim",
                "groups=pm-admins",
                "--oauth-leeway",
                "1",
            ];
            args.extend_from_slice(LOCAL_UPSTREAM);
            let listen = format!("127.0.0.1:{port}");
            drop(reserved);
            let server = env.serve_on(&listen, &args, &[]).await;
            assert_eq!(server.mcp_url(), resource);

            // 1. The metadata names the provider and the scopes, at both places.
            for path in [
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
            ] {
                let doc: Value = reqwest::get(format!("{base}{path}"))
                    .await
                    .expect("get")
                    .json()
                    .await
                    .expect("json");
                assert_eq!(doc["resource"], json!(resource), "{path}");
                assert_eq!(doc["authorization_servers"], json!([idp.issuer]));
                assert_eq!(
                    doc["scopes_supported"],
                    json!(["pm:read", "pm:write", "pm:admin"])
                );
            }
            // 2. No credential: 401 pointing at it.
            let (status, challenge, _) = post(&resource, None, list_tools()).await;
            assert_eq!(status, 401);
            assert!(
                challenge.contains(&format!(
                    r#"resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
                )) && challenge.contains(r#"scope="pm:read pm:write""#),
                "{challenge}"
            );

            // 3. A real MCP client signs alice in: discovery, registration, code + PKCE, token,
            // tools; she grants read only, so the write is answered 403 and the client steps up.
            let run = oauth_client(
                &dir,
                &[
                    "mcp", "--server", &resource, "--login", "alice", "--scope", "pm:read",
                ],
            )
            .await;
            assert!(run["tools"].as_u64().unwrap_or(0) >= 20, "{run}");
            let me = &run["current_user"];
            assert_eq!(me["user"]["email"], "alice@acme.test", "{run}");
            assert_eq!(me["user"]["is_admin"], true, "alice is in pm-admins: {run}");
            assert_eq!(me["oauth"]["issuer"], json!(idp.issuer));
            assert_eq!(me["oauth"]["scopes"], json!(["read"]));
            assert!(me.get("key").is_none(), "{me}");
            let challenges = run["challenges"].as_array().expect("challenges");
            assert!(
                challenges.iter().any(|c| c["status"] == 403
                    && c["www_authenticate"]
                        .as_str()
                        .unwrap_or("")
                        .contains(r#"error="insufficient_scope", scope="pm:read pm:write""#)),
                "{run}"
            );
            assert_eq!(
                run["authorizations"], 2,
                "signed in, then stepped up: {run}"
            );
            assert_eq!(run["write"]["ok"], true, "{run}");
            let answer = run["write"]["result"].to_string();
            assert!(
                answer.contains("does-not-exist"),
                "the write reached the tool: {answer}"
            );
            assert_eq!(run["token_claims"]["aud"], json!(resource));
            assert_eq!(
                env.count(
                    "SELECT COUNT(*) FROM users WHERE email = 'alice@acme.test' AND is_admin"
                )
                .await,
                1
            );

            // 4. Bob, with read and write, through the rmcp client: he connects his tracker and
            // reads from it with his own credentials; the token never goes upstream (the fake
            // Jira accepts only his Basic credentials).
            let bob = token(
                &dir,
                &idp.issuer,
                &resource,
                "bob",
                "pm:read pm:write",
                "e2e",
            )
            .await;
            let client = server
                .client(&bob, ProtocolVersion::V_2025_11_25)
                .await
                .expect("bob connects");
            let added = call_with(
                &client,
                "configure_pm_provider",
                json!({
                    "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com",
                    "api_token": jira_token, "name": "bob-jira"
                }),
            )
            .await;
            assert_ne!(added.is_error, Some(true), "{}", text(&added));
            let me = call_ok(&client, "get_current_user").await;
            assert_eq!(me["user"]["email"], "bob@acme.test");
            assert_eq!(me["user"]["is_admin"], false);
            assert_eq!(me["provider_account"]["account"]["name"], "Mia Krystof");
            let project = ok(
                &client,
                "get_project",
                json!({ "project_id": "bob-jira:EX" }),
            )
            .await;
            assert_eq!(project["project"]["name"], "Example");
            drop(client);
            // Kim's API key still works, and nobody else sees Bob's connection.
            let kim = server
                .client(&kim_key, ProtocolVersion::V_2025_11_25)
                .await
                .expect("kim");
            assert_eq!(
                call_ok(&kim, "list_providers").await["connections"],
                json!([])
            );
            drop(kim);
            let (status, challenge, _) = post(
                &resource,
                Some("pmcp_notAKeyThatExists000000000000000000000000"),
                list_tools(),
            )
            .await;
            assert_eq!(status, 401);
            assert!(
                !challenge.contains("resource_metadata"),
                "API keys are not sent to sign in: {challenge}"
            );

            // 5. Tokens bent every way are refused.
            let (status, _, _) = post(&resource, Some(&bob), list_tools()).await;
            assert_eq!(status, 200);
            let parts: Vec<&str> = bob.split('.').collect();
            let mut claims: Value =
                serde_json::from_slice(&B64.decode(parts[1]).expect("b64")).expect("claims");
            claims["email"] = json!("alice@acme.test");
            let tampered = format!(
                "{}.{}.{}",
                parts[0],
                B64.encode(claims.to_string()),
                parts[2]
            );
            let (status, challenge, body) = post(&resource, Some(&tampered), list_tools()).await;
            assert_eq!(
                (status, body["reason"].as_str()),
                (401, Some("invalid_token")),
                "{body}"
            );
            assert!(challenge.contains("signature"), "{challenge}");

            let other_audience = token(
                &dir,
                &idp.issuer,
                "http://other.test/api",
                "bob",
                "pm:read pm:write",
                "e2e",
            )
            .await;
            let (status, _, body) = post(&resource, Some(&other_audience), list_tools()).await;
            assert_eq!(status, 401);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("another audience"),
                "{body}"
            );

            // Signed with the very same key (--shared-key), for pm-mcp, by an issuer it does not trust.
            let other_issuer = token(
                &dir,
                &idp.other_issuer,
                &resource,
                "bob",
                "pm:read pm:write",
                "e2e",
            )
            .await;
            let (status, _, body) = post(&resource, Some(&other_issuer), list_tools()).await;
            assert_eq!(status, 401);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("does not trust"),
                "{body}"
            );

            // The provider issues 3-second tokens to clients named short-lived; with 1 s of leeway
            // the token is refused 5 s later.
            let short = token(
                &dir,
                &idp.issuer,
                &resource,
                "bob",
                "pm:read",
                "short-lived",
            )
            .await;
            let (status, _, _) = post(&resource, Some(&short), list_tools()).await;
            assert_eq!(status, 200);
            // Polled until the server refuses it (no fixed sleep), within a generous bound.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            let (status, challenge, body) = loop {
                let answer = post(&resource, Some(&short), list_tools()).await;
                if answer.0 != 200 || std::time::Instant::now() > deadline {
                    break answer;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            assert_eq!(
                (status, body["reason"].as_str()),
                (401, Some("token_expired")),
                "{body}"
            );
            assert!(challenge.contains("resource_metadata"), "{challenge}");

            // Every sign-in left an audit trail naming the user, never a token.
            let logs = server.stop().await;
            for t in [&bob, &tampered, &short] {
                assert!(!logs.contains(t.as_str()), "a token was logged");
            }
            let audit = env.ok(&["audit", "--limit", "200", "--json"]);
            assert!(!audit.contains(&bob));
            assert!(audit.contains("get_project"));
            drop(idp);
        }
    })
    .await;
}
