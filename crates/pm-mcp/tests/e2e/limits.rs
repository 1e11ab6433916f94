//! Per-key limits on the wire: one key over its rate gets 429 with Retry-After while another key
//! is unaffected; one key over its in-flight cap gets 429 at once, not a queue.
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;

async fn post(
    http: &reqwest::Client,
    server: &Server,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    http.post(server.mcp_url())
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(body)
        .send()
        .await
        .expect("post")
}

fn tools_list() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}})
}

#[tokio::test]
async fn one_key_over_its_rate_gets_429_and_another_key_does_not() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    env.add_user("bob@acme.org");
    let ann = env.create_key("ann@acme.org", "read");
    let bob = env.create_key("bob@acme.org", "read");
    let server = env.serve(&["--rate-limit", "2", "--rate-burst", "5"]).await;
    let http = reqwest::Client::new();

    // The burst passes, then the bucket is empty: 429, Retry-After in whole seconds, a JSON body.
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..30 {
        let res = post(&http, &server, &ann, &tools_list()).await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            refused = Some(res);
            break;
        }
    }
    let res = refused.unwrap_or_else(|| panic!("never refused: {statuses:?}"));
    assert!(
        statuses.len() >= 5,
        "refused inside the burst: {statuses:?}"
    );
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=5).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = res.json().await.expect("JSON body");
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("requests per second")),
        "{body}"
    );

    // Another key is unaffected.
    for _ in 0..5 {
        assert_eq!(
            post(&http, &server, &bob, &tools_list()).await.status(),
            200
        );
    }
    // After Retry-After the refused key works again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        post(&http, &server, &ann, &tools_list()).await.status(),
        200
    );
    let logs = server.stop().await;
    assert!(!logs.contains(&ann[8..]), "a key in the logs");
}

#[tokio::test]
async fn one_key_over_its_in_flight_cap_gets_429_at_once() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let slow_key = env.create_key("ann@acme.org", "read,write");
    let other_key = env.create_key("ann@acme.org", "read");
    // A "tracker" that accepts connections and never answers: a call to it stays in flight.
    let tracker = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let tracker_url = format!("http://{}", tracker.local_addr().expect("addr"));
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::channel::<tokio::net::TcpStream>(4);
    tokio::spawn(async move {
        while let Ok((s, _)) = tracker.accept().await {
            let _ = accepted_tx.send(s).await;
        }
    });
    let server = env
        .serve(
            &[
                LOCAL_UPSTREAM,
                &["--rate-limit", "0", "--max-in-flight-per-key", "1"],
            ]
            .concat(),
        )
        .await;
    let http = reqwest::Client::new();
    let slow = {
        let (http, url, key) = (http.clone(), server.mcp_url(), slow_key.clone());
        let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"configure_pm_provider","arguments":{
            "provider_type":"redmine","base_url":tracker_url,"api_token":"t0ken-for-a-silent-tracker","name":"silent"}}});
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(key)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .json(&body)
                .send()
                .await
        })
    };
    // The call is in flight once the server is talking to the silent tracker.
    let _held = tokio::time::timeout(Duration::from_secs(30), accepted.recv())
        .await
        .expect("the call reached the tracker")
        .expect("a connection");

    let started = Instant::now();
    let res = post(&http, &server, &slow_key, &tools_list()).await;
    assert_eq!(res.status(), 429, "a second request of the same key");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the refusal was queued: {:?}",
        started.elapsed()
    );
    assert_eq!(res.headers()["retry-after"], "1");
    let body: Value = res.json().await.expect("JSON body");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("in flight")),
        "{body}"
    );
    assert_eq!(
        post(&http, &server, &other_key, &tools_list())
            .await
            .status(),
        200,
        "another key is unaffected"
    );
    // The client gives up on the slow call: its place is given back.
    slow.abort();
    let _ = slow.await;
    let given_back = Instant::now();
    loop {
        let status = post(&http, &server, &slow_key, &tools_list())
            .await
            .status();
        if status == 200 {
            break;
        }
        assert!(
            given_back.elapsed() < Duration::from_secs(10),
            "the key is still refused after its call ended: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server);
}
