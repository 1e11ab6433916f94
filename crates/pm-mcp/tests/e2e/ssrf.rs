//! The SSRF guard through the real binary: with plain http allowed but no --allow-upstream, a
//! tracker URL on this machine or the metadata address is refused before any request (the fake
//! tracker sees nothing) and the refusal says what an operator can do; a bad allow-list entry
//! stops the server at start.
use rmcp::model::ProtocolVersion;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn loopback_and_metadata_trackers_are_refused_without_the_allow_list() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-ssrf-e2e-secret-0042";
    let Some(fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
        &pm_testkit::fake_jira::basic("mia@example.com", token),
    ))
    .await
    else {
        return;
    };
    let jira = fake.url.clone();
    let port = url::Url::parse(&jira).expect("url").port().expect("port");
    env.add_user("ann@acme.org");
    let ann_key = env.create_key("ann@acme.org", "read,write");
    let server = env.serve(&["--allow-http-providers"]).await;
    let ann = server
        .client(&ann_key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    for base_url in [
        jira.clone(),
        format!("http://2130706433:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        format!("http://localhost:{port}"),
        "http://169.254.169.254".to_string(),
        "http://[fd00:ec2::254]".to_string(),
    ] {
        let r = call_with(
            &ann,
            "configure_pm_provider",
            json!({
                "provider_type": "jira_cloud", "base_url": base_url,
                "username": "mia@example.com", "api_token": token, "name": "acme-jira"
            }),
        )
        .await;
        let t = text(&r);
        assert_eq!(r.is_error, Some(true), "{base_url}: {t}");
        assert!(t.contains("--allow-upstream"), "{base_url}: {t}");
        assert!(!t.contains(token), "{t}");
    }
    let hits = fake.recorder.len();
    assert_eq!(hits, 0, "the fake tracker was called");
    assert_eq!(
        call_ok(&ann, "list_providers").await["connections"],
        json!([])
    );
    server.stop().await;
}

#[tokio::test]
async fn a_bad_allow_list_entry_stops_the_server() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let err = env.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow-upstream",
        "10.0.0.0/33",
    ]);
    assert!(
        err.contains("--allow-upstream") && err.contains("10.0.0.0/33"),
        "{err}"
    );
}
