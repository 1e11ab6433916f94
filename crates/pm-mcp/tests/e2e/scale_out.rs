//! Scale-out: three `pm-mcp serve` replicas on one PostgreSQL database behind nginx (Debian's
//! package, round-robin, keep-alive, no buffering). Every call through the balancer succeeds
//! whichever replica answers, and all three answer; a key revoked through one replica's database
//! (the CLI) is refused by each replica within the documented bound (measured and printed); a
//! connection added through the balancer works on each replica directly; the replicas' metrics
//! add up to exactly the calls made. PostgreSQL only; skipped without `PM_MCP_TEST_DATABASE_URL`,
//! and without nginx unless `PM_MCP_REQUIRE_NGINX=1` (set by CI).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use rmcp::ServiceExt;
use rmcp::model::ProtocolVersion;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::harness::*;
use crate::metrics::{metrics_url, post_call, scrape, value};

const REPLICAS: usize = 3;
/// The Host the balancer forwards (as it would forward the public name), allowed on each replica.
const PUBLIC_HOST: &str = "mcp.acme.test";
/// The documented bound on a revocation taking effect everywhere is 0.5 s (the epoch poll; a
/// PostgreSQL NOTIFY makes it near-immediate). Asserted with room for a loaded CI machine.
const REVOCATION_BOUND: Duration = Duration::from_secs(2);

fn nginx_binary() -> Option<PathBuf> {
    // Debian's places, then anywhere on the PATH (where .ci/run also looks).
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nginx"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file());
    if found.is_none() && std::env::var("PM_MCP_REQUIRE_NGINX").as_deref() == Ok("1") {
        panic!("PM_MCP_REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx-light)");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// nginx in the foreground (`daemon off`), killed when dropped.
struct Nginx {
    child: std::process::Child,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The balancer configuration docs/operations.md shows, with test paths and ports.
fn nginx_config(dir: &std::path::Path, port: u16, replicas: &[String]) -> String {
    let servers: String = replicas
        .iter()
        .map(|r| format!("    server {};\n", r.trim_start_matches("http://")))
        .collect();
    let d = dir.display();
    format!(
        r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  upstream pm_mcp {{
{servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://pm_mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host {PUBLIC_HOST};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
}}
"#
    )
}

async fn start_nginx(bin: &std::path::Path, replicas: &[String]) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("tmp")).expect("tmp");
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_config(dir.path(), port, replicas)).expect("conf");
    let child = std::process::Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn nginx");
    let nginx = Nginx {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let started = Instant::now();
    loop {
        if reqwest::get(format!("{}/healthz", nginx.url))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return nginx;
        }
        let log = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nginx did not come up: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instance(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("x-pm-mcp-instance")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn ok_result(v: &Value) -> bool {
    v["result"].is_object() && v["result"]["isError"] != true
}

#[tokio::test]
async fn three_replicas_behind_nginx() {
    let Some(env) = Env::new(Engine::Postgres).await else {
        pm_testkit::skip("the scale-out test", "PM_MCP_TEST_DATABASE_URL is not set");
        return;
    };
    let Some(nginx_bin) = nginx_binary() else {
        pm_testkit::skip("the scale-out test", "nginx is not installed");
        env.finish().await;
        return;
    };
    let token = "ATATT-scale-out-secret-0007";
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    env.ok(&["migrate"]);
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let doomed = env.create_key("ann@acme.org", "read");

    let mut replicas = Vec::new();
    for i in 0..REPLICAS {
        let name = format!("replica-{}", (b'a' + i as u8) as char);
        let mut flags = LOCAL_UPSTREAM.to_vec();
        flags.extend([
            "--allowed-host",
            PUBLIC_HOST,
            "--allowed-host",
            "127.0.0.1",
            "--metrics-listen",
            "127.0.0.1:0",
            "--no-migrate",
            "--instance-id",
        ]);
        flags.push(&name);
        replicas.push((name.clone(), env.serve(&flags).await));
    }
    let bases: Vec<String> = replicas.iter().map(|(_, s)| s.base.clone()).collect();
    let nginx = start_nginx(&nginx_bin, &bases).await;
    let lb_mcp = format!("{}/mcp", nginx.url);
    let http = reqwest::Client::new();

    // Each replica is ready on its own, and through the balancer.
    for (name, server) in &replicas {
        let res = http
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .expect("readyz");
        assert_eq!(res.status(), 200, "{name} /readyz");
        assert_eq!(instance(res.headers()), *name);
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["database"], "postgres");
    }
    let res = http
        .get(format!("{}/readyz", nginx.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(res.status(), 200);

    // 1. Calls through the balancer: every one succeeds, and all replicas answer.
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    let calls = 30;
    for i in 0..calls {
        let id = format!("scale-out-{i}");
        let (status, headers, v) = post_call(
            &http,
            &lb_mcp,
            &key,
            "get_current_user",
            json!({}),
            Some(&id),
        )
        .await;
        assert_eq!(status, 200, "call {i}: {v}");
        assert!(ok_result(&v), "call {i}: {v}");
        assert_eq!(
            v["result"]["structuredContent"]["user"]["email"], "ann@acme.org",
            "{v}"
        );
        assert_eq!(
            headers["x-request-id"],
            id.as_str(),
            "the request id passes the balancer"
        );
        *answered.entry(instance(&headers)).or_default() += 1;
    }
    eprintln!("scale-out: {calls} calls through nginx answered by {answered:?}");
    for (name, _) in &replicas {
        assert!(
            answered.get(name).is_some_and(|n| *n > 0),
            "{name} never answered: {answered:?}"
        );
    }
    assert_eq!(answered.values().sum::<usize>(), calls);

    // An MCP client session through the balancer (initialize on one replica, the rest anywhere).
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(lb_mcp.clone()).auth_header(key.clone()),
    );
    let client = client_config(ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .expect("client through nginx");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "configure_pm_provider"));
    for _ in 0..6 {
        let me = call_ok(&client, "get_current_user").await;
        assert_eq!(me["user"]["email"], "ann@acme.org");
    }

    // 2. A connection added through the balancer is usable on every replica. Each replica first
    // caches "no connections" for the user, so a stale cache would show.
    for (name, server) in &replicas {
        let (_, _, v) = post_call(
            &http,
            &server.mcp_url(),
            &key,
            "list_providers",
            json!({}),
            None,
        )
        .await;
        assert_eq!(
            v["result"]["structuredContent"]["connections"],
            json!([]),
            "{name}: {v}"
        );
    }
    let added = call_with(
        &client,
        "configure_pm_provider",
        json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com",
            "api_token": token, "name": "acme-jira"
        }),
    )
    .await;
    assert_ne!(added.is_error, Some(true), "{}", text(&added));
    let added_at = Instant::now();
    for (name, server) in &replicas {
        loop {
            let (status, headers, v) = post_call(
                &http,
                &server.mcp_url(),
                &key,
                "get_project",
                json!({"project_id": "acme-jira:EX"}),
                None,
            )
            .await;
            assert_eq!(instance(&headers), *name);
            if status == 200 && ok_result(&v) {
                assert_eq!(
                    v["result"]["structuredContent"]["project"]["name"], "Example",
                    "{v}"
                );
                eprintln!(
                    "scale-out: the new connection works on {name} {:?} after it was added",
                    added_at.elapsed()
                );
                break;
            }
            assert!(
                added_at.elapsed() < REVOCATION_BOUND,
                "{name} still cannot use the connection after {:?}: {v}",
                added_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // 3. Revocation. The doomed key works (and is cached) on every replica; then it is revoked
    // with the CLI on the shared database, while each replica is polled directly.
    for (name, server) in &replicas {
        for _ in 0..2 {
            let (status, _, v) = post_call(
                &http,
                &server.mcp_url(),
                &doomed,
                "get_current_user",
                json!({}),
                None,
            )
            .await;
            assert_eq!(status, 200, "{name}: {v}");
        }
    }
    let mut pollers = Vec::new();
    for (name, server) in &replicas {
        let (name, url, doomed, http) =
            (name.clone(), server.mcp_url(), doomed.clone(), http.clone());
        pollers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut passed = 0usize;
            loop {
                let (status, headers, v) =
                    post_call(&http, &url, &doomed, "get_current_user", json!({}), None).await;
                let at = SystemTime::now();
                assert_eq!(instance(&headers), name);
                match status {
                    200 => passed += 1,
                    401 => {
                        let reason = headers
                            .get("www-authenticate")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        assert!(reason.contains("revoked"), "{name}: {reason} {v}");
                        return (name, at, passed);
                    }
                    s => panic!("{name} answered {s}: {v}"),
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{name} never refused the revoked key"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cli_started = SystemTime::now();
    env.ok(&["key", "revoke", "--user", "ann@acme.org", &doomed[..13]]);
    let cli_done = SystemTime::now();
    // When the revocation was made: the revoked_at the CLI wrote (its clock, this machine's).
    let revoked_at: chrono::DateTime<chrono::Utc> = {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&env.db_url)
            .await
            .expect("pg");
        sqlx::query_scalar("SELECT revoked_at FROM user_mcp_api_keys WHERE revoked_at IS NOT NULL")
            .fetch_one(&mut c)
            .await
            .expect("revoked_at")
    };
    let revoked_at = SystemTime::from(revoked_at);
    let mut report = Vec::new();
    let mut polls_passed = 0;
    for p in pollers {
        let (name, at, passed) = p.await.expect("poller");
        polls_passed += passed;
        let since_revoked = at.duration_since(revoked_at).unwrap_or_default();
        let since_cli_done = at.duration_since(cli_done).unwrap_or_default();
        report.push(format!(
            "{name}: refused {:.1} ms after revoked_at ({:.1} ms after the CLI exited)",
            since_revoked.as_secs_f64() * 1e3,
            since_cli_done.as_secs_f64() * 1e3
        ));
        assert!(
            since_revoked < REVOCATION_BOUND,
            "{name} refused the revoked key only {since_revoked:?} after the revocation"
        );
    }
    eprintln!(
        "scale-out: revocation with `pm-mcp key revoke` ({:.0} ms to run) — {}",
        cli_done
            .duration_since(cli_started)
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        report.join("; ")
    );
    // Through the balancer too, whichever replica answers.
    for _ in 0..REPLICAS {
        let (status, _, _) =
            post_call(&http, &lb_mcp, &doomed, "get_current_user", json!({}), None).await;
        assert_eq!(status, 401);
    }

    // 4. The replicas' metrics add up to exactly the calls made: get_current_user ran 30 + 6
    // times with the good key, and 2 per replica plus the polls that passed with the doomed one;
    // each replica refused the revoked key once to its poller, and the balancer's 3 went somewhere.
    drop(client);
    let mut ok_calls = 0.0;
    let mut revoked = 0.0;
    for (name, server) in &replicas {
        let s = scrape(&metrics_url(server).await).await;
        assert_eq!(value(&s, "pm_mcp_build_info", &[("instance", name)]), 1.0);
        ok_calls += value(
            &s,
            "pm_mcp_tool_calls_total",
            &[("tool", "get_current_user"), ("outcome", "ok")],
        );
        revoked += value(&s, "pm_mcp_auth_failures_total", &[("reason", "revoked")]);
        let projects = value(
            &s,
            "pm_mcp_tool_calls_total",
            &[("tool", "get_project"), ("outcome", "ok")],
        );
        assert_eq!(projects, 1.0, "{name} served get_project once");
        assert!(
            value(
                &s,
                "pm_mcp_upstream_requests_total",
                &[("provider", "jira_cloud"), ("status", "200")]
            ) >= 1.0
        );
        assert!(value(&s, "pm_mcp_db_pool_max_connections", &[]) >= 1.0);
    }
    assert_eq!(ok_calls, (calls + 6 + 2 * REPLICAS + polls_passed) as f64);
    assert_eq!(
        revoked,
        (REPLICAS + REPLICAS) as f64,
        "one refusal per poller, three through nginx"
    );

    drop(nginx);
    for (_, server) in replicas {
        server.stop().await;
    }
    env.finish().await;
}
