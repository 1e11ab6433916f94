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
        .map(|v| {
            format!(
                "{} at {}",
                v["message"].as_str().unwrap_or(""),
                v["location"]
            )
        })
        .collect();
    p.log.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_string),
        status: status.as_u16(),
        violations,
    });
    let bytes = res.bytes().await.unwrap();
    (
        axum::http::StatusCode::from_u16(status.as_u16()).unwrap(),
        [("content-type", "application/json")],
        bytes,
    )
        .into_response()
}
