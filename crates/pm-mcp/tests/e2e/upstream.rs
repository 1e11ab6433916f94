//! Tracker calls through the real binary: through a company's forward proxy (pm-testkit's
//! recording proxy, credentials from the environment), a proxy the SSRF policy does not allow
//! stopping the start, and the fault limits set by flag, environment and config file.
use rmcp::model::ProtocolVersion;
use serde_json::json;

use crate::harness::*;

const PROXY_PASSWORD: &str = "proxy-pass-e2e-0042";

#[tokio::test]
async fn tracker_calls_go_through_the_upstream_proxy() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-proxy-e2e-secret-0042";
    let Some(fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
        &pm_testkit::fake_jira::basic("mia@example.com", token),
    ))
    .await
    else {
        return;
    };
    let jira = fake.url.clone();
    // The tracker's name resolves only at the proxy (as on a network where only the proxy
    // resolves internet names; the operator allow-listed it by name): a request that went around
    // the proxy could not reach it.
    let addr: std::net::SocketAddr = jira.trim_start_matches("http://").parse().expect("addr");
    let target = format!("jira.proxied.test:{}", addr.port());
    let base_url = format!("http://{target}");
    let proxy = pm_testkit::proxy::RecordingProxy::start().await;
    proxy.route("jira.proxied.test", addr);
    proxy.require("svc-pm", PROXY_PASSWORD);
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let proxy_url = proxy.url();
    let mut flags = LOCAL_UPSTREAM.to_vec();
    flags.extend([
        "--allow-upstream",
        "jira.proxied.test",
        "--upstream-proxy",
        proxy_url.as_str(),
    ]);
    let server = env
        .serve_with_env(
            "127.0.0.1:0",
            &flags,
            &[],
            &[
                ("PM_MCP_UPSTREAM_PROXY_USER", "svc-pm"),
                ("PM_MCP_UPSTREAM_PROXY_PASSWORD", PROXY_PASSWORD),
            ],
        )
        .await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    let configured = ok(
        &ann,
        "configure_pm_provider",
        json!({
            "provider_type": "jira_cloud", "base_url": base_url, "username": "mia@example.com",
            "api_token": token, "name": "acme-jira"
        }),
    )
    .await;
    assert_eq!(configured["test"]["ok"], true, "{configured}");
    let project = ok(&ann, "get_project", json!({ "project_id": "acme-jira:EX" })).await;
    assert_eq!(project["project"]["name"], "Example");

    let asked = proxy.asked();
    assert!(asked.len() >= 2, "{asked:?}");
    for a in &asked {
        assert_eq!(a.target, target, "{a:?}");
        assert_eq!(a.user.as_deref(), Some("svc-pm"), "{a:?}");
    }
    let hits = fake.recorder.len();
    assert!(hits > 0, "the tracker was not reached");
    let logs = server.stop().await;
    assert!(logs.contains("through the upstream proxy"), "{logs}");
    assert!(
        !logs.contains(PROXY_PASSWORD),
        "the proxy's password is in the logs"
    );
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("svc-pm:{PROXY_PASSWORD}"));
    assert!(
        !logs.contains(&basic),
        "the proxy's credentials are in the logs"
    );
}

#[tokio::test]
async fn a_proxy_the_policy_does_not_allow_stops_the_start() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    let err = env.fails(&[&serve[..], &["--upstream-proxy", "http://10.1.2.3:3128"]].concat());
    assert!(
        err.contains("the upstream proxy 10.1.2.3 is at 10.1.2.3, a private address")
            && err.contains("--allow-upstream"),
        "{err}"
    );
    let err = env.fails(
        &[
            &serve[..],
            &[
                "--upstream-proxy",
                "http://svc:hunter2@proxy.acme.corp:3128",
            ],
        ]
        .concat(),
    );
    assert!(
        err.contains("PM_MCP_UPSTREAM_PROXY_USER") && !err.contains("hunter2"),
        "{err}"
    );
    // Allowed, it starts (nothing is asked of the proxy until a tracker is called).
    let server = env
        .serve(&[
            "--upstream-proxy",
            "http://10.1.2.3:3128",
            "--allow-upstream",
            "10.1.2.3/32",
        ])
        .await;
    server.stop().await;
}

#[tokio::test]
async fn the_fault_limits_are_settings() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-limits-e2e-secret-0042";
    let Some(fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
        &pm_testkit::fake_jira::basic("mia@example.com", token),
    ))
    .await
    else {
        return;
    };
    let jira = fake.url.clone();
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let down_hits = || fake.recorder.count("GET", "/rest/api/3/project/DOWN");
    // By flag: one attempt only for a read that fails with 503 (three by default).
    let mut flags = LOCAL_UPSTREAM.to_vec();
    flags.extend(["--upstream-attempts", "1"]);
    let server = env.serve(&flags).await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    ok(
        &ann,
        "configure_pm_provider",
        json!({
            "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com",
            "api_token": token, "name": "acme-jira"
        }),
    )
    .await;
    let r = call_with(
        &ann,
        "get_project",
        json!({ "project_id": "acme-jira:DOWN" }),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(down_hits(), 1, "attempts with --upstream-attempts 1");
    drop(ann);
    server.stop().await;

    // The environment wins over the file: two attempts.
    std::fs::write(
        env.dir.path().join("config.toml"),
        "upstream_attempts = 1\n",
    )
    .expect("config");
    let server = env
        .serve_with_env(
            "127.0.0.1:0",
            LOCAL_UPSTREAM,
            &[],
            &[("PM_MCP_UPSTREAM_ATTEMPTS", "2")],
        )
        .await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    let r = call_with(
        &ann,
        "get_project",
        json!({ "project_id": "acme-jira:DOWN" }),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(
        down_hits(),
        1 + 2,
        "attempts with PM_MCP_UPSTREAM_ATTEMPTS=2 over the file's 1"
    );
    drop(ann);
    server.stop().await;

    // A value out of range stops the start, naming the setting.
    let err = env.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--upstream-timeout",
        "0",
    ]);
    assert!(
        err.contains("--upstream-timeout") && err.contains("not 0"),
        "{err}"
    );
}
