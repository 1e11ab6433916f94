//! `/metrics` on its own listener: a known sequence of requests moves the counters by exactly
//! what it should, the text parses as the Prometheus exposition format, the MCP listener does not
//! serve it; and JSON logs carry the request id on the lines a tool call writes.
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

/// One sample: metric name, labels, value.
pub type Sample = (String, Vec<(String, String)>, f64);

/// Parses the text exposition format (0.0.4) strictly enough to catch a broken rendering: every
/// line is a `# HELP`, a `# TYPE` of a known kind, or a sample of a metric typed before it, with
/// a numeric value and well-formed labels.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut typed: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(!typed.iter().any(|(n, _)| n == name), "{name} typed twice");
            typed.push((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (k, after) = rest.split_once("=\"").expect("label=\"value\"");
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "label name {k:?}"
                    );
                    // The value ends at the first quote not escaped.
                    let mut end = None;
                    let mut escaped = false;
                    for (i, c) in after.char_indices() {
                        match c {
                            '\\' if !escaped => escaped = true,
                            '"' if !escaped => {
                                end = Some(i);
                                break;
                            }
                            _ => escaped = false,
                        }
                    }
                    let end = end.expect("closing quote");
                    labels.push((k.to_string(), after[..end].to_string()));
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_string(), labels)
            }
            None => (series.to_string(), Vec::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?}"
        );
        let family = typed.iter().find(|(n, kind)| {
            *n == name
                || (kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(n.as_str())))
        });
        assert!(family.is_some(), "{name} has no # TYPE before it");
        samples.push((name, labels, value));
    }
    samples
}

/// The value of the one sample of `name` whose labels include `labels`; 0 when there is none
/// (counters with a label set never seen are not rendered).
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().copied().unwrap_or(0.0)
}

/// Where the server serves `/metrics`, from its log line.
pub async fn metrics_url(server: &Server) -> String {
    let started = std::time::Instant::now();
    loop {
        if let Some(url) = server.logs().lines().find_map(|l| {
            let rest = l.split("metrics at ").nth(1)?;
            Some(rest.split(['"', ' ']).next()?.to_string())
        }) {
            return url;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no metrics address logged: {}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Scrapes `url` and parses the answer.
pub async fn scrape(url: &str) -> Vec<Sample> {
    let res = reqwest::get(url).await.expect("scrape");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    parse_exposition(&res.text().await.expect("body"))
}

/// A raw stateless `tools/call` to `mcp_url`: (HTTP status, the response's headers, JSON-RPC body).
pub async fn post_call(
    http: &reqwest::Client,
    mcp_url: &str,
    key: &str,
    tool: &str,
    args: Value,
    request_id: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":tool,"arguments":args}});
    let mut req = http
        .post(mcp_url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.expect("post");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let payload = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|d| !d.is_empty())
        .unwrap_or(text.trim())
        .to_string();
    let v = serde_json::from_str(&payload).unwrap_or(Value::String(text));
    (status, headers, v)
}

#[tokio::test]
async fn metrics_count_exactly_what_happened() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let reader = env.create_key("ann@acme.org", "read");
    let revoked = env.create_key("ann@acme.org", "read");
    env.ok(&["key", "revoke", "--user", "ann@acme.org", &revoked[..13]]);
    let server = env
        .serve(&[
            "--metrics-listen",
            "127.0.0.1:0",
            "--instance-id",
            "metrics-e2e",
        ])
        .await;
    let url = metrics_url(&server).await;
    let mcp = server.mcp_url();
    let http = reqwest::Client::new();

    // Not on the MCP listener.
    let res = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);

    let before = scrape(&url).await;
    assert_eq!(
        value(&before, "pm_mcp_build_info", &[("instance", "metrics-e2e")]),
        1.0
    );
    assert_eq!(
        value(
            &before,
            "pm_mcp_tool_calls_total",
            &[("tool", "get_current_user"), ("outcome", "ok")]
        ),
        0.0
    );

    // 3 get_current_user, 2 list_providers, 1 write tool with a read key (denied), 1 tool error,
    // 1 request without a key, 1 with a revoked key.
    for _ in 0..3 {
        let (status, headers, v) =
            post_call(&http, &mcp, &key, "get_current_user", json!({}), None).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(headers["x-pm-mcp-instance"], "metrics-e2e");
    }
    for _ in 0..2 {
        let (status, _, v) = post_call(&http, &mcp, &key, "list_providers", json!({}), None).await;
        assert_eq!(status, 200, "{v}");
    }
    let (_, _, v) = post_call(
        &http,
        &mcp,
        &reader,
        "remove_pm_provider",
        json!({"provider_id": "nope"}),
        None,
    )
    .await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let (_, _, v) = post_call(
        &http,
        &mcp,
        &key,
        "remove_pm_provider",
        json!({"provider_id": "nope"}),
        None,
    )
    .await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let res = http
        .post(&mcp)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    let (status, _, _) =
        post_call(&http, &mcp, &revoked, "get_current_user", json!({}), None).await;
    assert_eq!(status, 401);

    let after = scrape(&url).await;
    let calls = |s: &[Sample], tool, outcome| {
        value(
            s,
            "pm_mcp_tool_calls_total",
            &[("tool", tool), ("outcome", outcome)],
        )
    };
    assert_eq!(calls(&after, "get_current_user", "ok"), 3.0);
    assert_eq!(calls(&after, "list_providers", "ok"), 2.0);
    assert_eq!(calls(&after, "remove_pm_provider", "denied"), 1.0);
    assert_eq!(calls(&after, "remove_pm_provider", "error"), 1.0);
    assert_eq!(calls(&after, "remove_pm_provider", "ok"), 0.0);
    let hist = "pm_mcp_tool_call_duration_seconds_count";
    assert_eq!(value(&after, hist, &[("tool", "get_current_user")]), 3.0);
    assert_eq!(
        value(
            &after,
            "pm_mcp_tool_call_duration_seconds_bucket",
            &[("tool", "get_current_user"), ("le", "+Inf")]
        ),
        3.0
    );
    let failures =
        |s: &[Sample], reason| value(s, "pm_mcp_auth_failures_total", &[("reason", reason)]);
    assert_eq!(
        failures(&after, "missing") - failures(&before, "missing"),
        1.0
    );
    assert_eq!(
        failures(&after, "revoked") - failures(&before, "revoked"),
        1.0
    );
    let requests = |s: &[Sample], status| {
        value(
            s,
            "pm_mcp_http_requests_total",
            &[("route", "/mcp"), ("status", status)],
        )
    };
    assert_eq!(requests(&after, "200") - requests(&before, "200"), 7.0);
    assert_eq!(requests(&after, "401") - requests(&before, "401"), 2.0);
    let other = value(
        &after,
        "pm_mcp_http_requests_total",
        &[("route", "other"), ("status", "404")],
    );
    assert_eq!(other, 1.0, "the refused GET /metrics on the MCP listener");
    assert!(value(&after, "pm_mcp_db_pool_max_connections", &[]) >= 1.0);
    let open = value(&after, "pm_mcp_db_pool_connections", &[("state", "idle")])
        + value(&after, "pm_mcp_db_pool_connections", &[("state", "in_use")]);
    assert!(open >= 1.0 && open <= value(&after, "pm_mcp_db_pool_max_connections", &[]));
    server.stop().await;
    env.finish().await;
}

/// Upstream requests are counted by provider and status, with a fake Jira behind a connection.
#[tokio::test]
async fn upstream_requests_are_counted_by_provider_and_status() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-metrics-e2e-0001";
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let mut flags = LOCAL_UPSTREAM.to_vec();
    flags.extend(["--metrics-listen", "127.0.0.1:0"]);
    let server = env.serve(&flags).await;
    let url = metrics_url(&server).await;
    let http = reqwest::Client::new();
    let mcp = server.mcp_url();
    let (_, _, v) = post_call(&http, &mcp, &key, "configure_pm_provider", json!({
        "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": "wrong", "name": "bad"
    }), None).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let before = scrape(&url).await;
    let unauthorized = value(
        &before,
        "pm_mcp_upstream_requests_total",
        &[("provider", "jira_cloud"), ("status", "401")],
    );
    assert!(unauthorized >= 1.0, "the refused token was counted");
    let (_, _, v) = post_call(&http, &mcp, &key, "configure_pm_provider", json!({
        "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "acme-jira"
    }), None).await;
    assert_ne!(v["result"]["isError"], true, "{v}");
    let ok = |s: &[Sample]| {
        value(
            s,
            "pm_mcp_upstream_requests_total",
            &[("provider", "jira_cloud"), ("status", "200")],
        )
    };
    // One get_project is one upstream GET, once the connection knows the site's own base URL
    // for links (its first read asks `serverInfo`, once).
    let (_, _, v) = post_call(
        &http,
        &mcp,
        &key,
        "get_project",
        json!({"project_id": "acme-jira:EX"}),
        None,
    )
    .await;
    assert_ne!(v["result"]["isError"], true, "{v}");
    let mid = scrape(&url).await;
    let (_, _, v) = post_call(
        &http,
        &mcp,
        &key,
        "get_project",
        json!({"project_id": "acme-jira:EX"}),
        None,
    )
    .await;
    assert_ne!(v["result"]["isError"], true, "{v}");
    let after = scrape(&url).await;
    assert!(ok(&mid) >= 1.0);
    assert_eq!(ok(&after) - ok(&mid), 1.0);
    server.stop().await;
    env.finish().await;
}

/// With `--log-format json`, the lines a tool call writes carry its request id (the caller's
/// `X-Request-Id`, or one pm-mcp made, echoed in the response), and so do their audit rows.
#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    let server = env.serve(&["--log-format", "json"]).await;
    let http = reqwest::Client::new();
    let mcp = server.mcp_url();
    let (status, headers, _) = post_call(
        &http,
        &mcp,
        &key,
        "get_current_user",
        json!({}),
        Some("e2e-req-0042"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "e2e-req-0042");
    let (_, headers, _) = post_call(&http, &mcp, &key, "list_providers", json!({}), None).await;
    let made = headers["x-request-id"].to_str().expect("id").to_string();
    assert!(!made.is_empty());
    let logs = server.stop().await;
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let carries = |v: &Value, id: &str| {
        v["span"]["request_id"] == id
            || v["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["request_id"] == id))
    };
    for (tool, id) in [
        ("get_current_user", "e2e-req-0042"),
        ("list_providers", made.as_str()),
    ] {
        let call = lines
            .iter()
            .find(|v| v["message"] == "tool call" && v["tool"] == tool)
            .unwrap_or_else(|| panic!("no tool call line for {tool}: {logs}"));
        assert!(carries(call, id), "{call}");
        assert_eq!(call["outcome"], "ok", "{call}");
        let request = lines
            .iter()
            .find(|v| v["message"] == "request" && carries(v, id))
            .unwrap_or_else(|| panic!("no request line for {id}: {logs}"));
        assert_eq!(request["status"], 200, "{request}");
        assert_eq!(request["path"], "/mcp", "{request}");
    }
    // The audit rows hold the request id too (flushed when the server stopped).
    let audit: Value = serde_json::from_str(&env.ok(&["audit", "--json"])).expect("audit --json");
    let rows = audit.as_array().expect("rows");
    let row = |tool: &str| {
        rows.iter()
            .find(|r| r["tool"] == tool)
            .unwrap_or_else(|| panic!("no audit row for {tool}: {audit}"))
    };
    assert_eq!(row("get_current_user")["request_id"], "e2e-req-0042");
    assert_eq!(row("list_providers")["request_id"], made.as_str());
    env.finish().await;
}
