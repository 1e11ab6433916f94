//! Contract checking with Stoplight Prism: a provider's published OpenAPI document served as a
//! validating mock, and a recording proxy in front of it that keeps, for every request a client
//! sent, Prism's verdict on the request (its `sl-violations` header). Prism keeps no state and
//! answers with the document's examples, so what a contract test checks is the requests' shape.
#![allow(clippy::unwrap_used)] // test fixture code

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

/// A running `prism mock`, stopped when dropped.
pub struct Prism {
    child: Child,
    pub base: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `bin mock` on `spec` and waits (up to 90 s) until it listens.
pub async fn start(bin: &str, spec: &Path) -> Prism {
    let port = free_port();
    let child = Command::new(bin)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prism");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "prism did not start for {}",
            spec.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Prism { child, base }
}

/// One request as Prism judged it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Error-severity violations located in the request.
    pub violations: Vec<String>,
    /// The start of Prism's answer when it refused the request (400, 415 or 422).
    pub refusal: Option<String>,
}

/// Where requests go: the first route whose prefix starts the path; `authorization` replaces
/// the client's header when set (for a document that lists another scheme than the real API).
#[derive(Clone)]
pub struct Route {
    pub prefix: String,
    pub base: String,
    pub authorization: Option<String>,
}

#[derive(Clone)]
struct Proxy {
    routes: Vec<Route>,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<Seen>>>,
}

/// Starts the recording proxy; returns its base URL and the log.
pub async fn proxy(routes: Vec<Route>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let state = Proxy {
        routes,
        client: reqwest::Client::new(),
        log: log.clone(),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 10 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let path_q = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_default();
    let Some(route) = p.routes.iter().find(|r| path.starts_with(&r.prefix)) else {
        return (axum::http::StatusCode::BAD_GATEWAY, "no route").into_response();
    };
    let mut out = p
        .client
        .request(parts.method.clone(), format!("{}{path_q}", route.base))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if name == "authorization" && route.authorization.is_some() {
            continue;
        }
        if let Some(v) = parts.headers.get(name) {
            out = out.header(name, v.clone());
        }
    }
    if let Some(a) = &route.authorization {
        out = out.header("authorization", a);
    }
    let res = out.send().await.unwrap();
    let status = res.status();
    let violations: Vec<String> = res
        .headers()
        .get("sl-violations")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<Vec<serde_json::Value>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        // Only the request's own violations count; the documents' examples have their own flaws.
        .filter(|v| v["severity"] == "Error" && v["location"][0] == "request")
        .map(|v| v["message"].as_str().unwrap_or("").to_string())
        .collect();
    let bytes = res.bytes().await.unwrap();
    let refusal = matches!(status.as_u16(), 400 | 415 | 422)
        .then(|| String::from_utf8_lossy(&bytes).chars().take(600).collect());
    p.log.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_string),
        status: status.as_u16(),
        violations,
        refusal,
    });
    (
        axum::http::StatusCode::from_u16(status.as_u16()).unwrap(),
        [("content-type", "application/json")],
        bytes,
    )
        .into_response()
}

/// What is wrong with one request: its violations, the validation messages of a refusal (or the
/// refusal itself), and a 404 (Prism's answer for a path the document does not have).
pub fn problems(s: &Seen) -> Vec<String> {
    let mut out = s.violations.clone();
    if let Some(body) = &s.refusal {
        let messages: Vec<String> = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|b| b["validation"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v["message"].as_str().map(str::to_string))
            .collect();
        // A refusal is explained by the request's violations, or by its own messages; one
        // explained by neither is a problem of its own.
        if messages.is_empty() && s.violations.is_empty() {
            out.push(format!("refused with {}: {body}", s.status));
        }
        out.extend(messages);
    }
    if s.status == 404 {
        out.push("404: the document has no such path".into());
    }
    out.sort();
    out.dedup();
    out
}

/// Prints every request with Prism's verdict, then fails unless every problem is one the test
/// names as `tolerated` (a flaw of the document itself) and at least `min_distinct` kinds of
/// request (method and path) reached Prism. `failures` are operations that ended in an error
/// after their requests (on the examples' data), printed for information.
pub fn judge(
    seen: &[Seen],
    failures: &[String],
    tolerated: &dyn Fn(&Seen, &str) -> bool,
    min_distinct: usize,
) {
    let mut rejected = Vec::new();
    for s in seen {
        let left: Vec<String> = problems(s)
            .into_iter()
            .filter(|p| !tolerated(s, p))
            .collect();
        eprintln!(
            "{} {:<6} {}{}{}",
            s.status,
            s.method,
            s.path,
            s.query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default(),
            if left.is_empty() {
                String::new()
            } else {
                format!("  REJECTED: {left:?}")
            }
        );
        if !left.is_empty() {
            rejected.push(format!("{} {} ({}): {left:?}", s.method, s.path, s.status));
        }
    }
    let distinct: std::collections::BTreeSet<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    eprintln!(
        "contract: {} requests ({} distinct) sent to Prism, {} rejected",
        seen.len(),
        distinct.len(),
        rejected.len()
    );
    for f in failures {
        eprintln!(
            "(operation ended with an error after its requests, on Prism's example data: {f})"
        );
    }
    assert!(
        rejected.is_empty(),
        "Prism rejected requests: {rejected:#?}"
    );
    assert!(
        distinct.len() >= min_distinct,
        "too few kinds of request reached Prism: {distinct:?}"
    );
}
