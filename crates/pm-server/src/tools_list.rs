//! `tools/list` over stateless Streamable HTTP, answered from bytes rmcp made once per shape.
//!
//! The list a caller sees depends only on the shape of their request: the key's scopes and
//! toolsets, the request's `X-MCP-Toolsets`, its protocol version and the headers rmcp checks,
//! with the server's own settings fixed for the life of the process. The first `tools/list` of a
//! shape goes through rmcp as every request does; its answer is kept, cut around the request's
//! id, and every later request of the same shape gets those bytes with its own id put back. What
//! a client receives is byte for byte what rmcp would have sent (a test compares them), without
//! building, filtering and serialising the 56 tools' schemas again for every call.
//!
//! Anything out of the ordinary goes to rmcp untouched: another method, a batch, parameters
//! (a cursor, `_meta`), an id that is not an integer or a string, an unknown member, a session
//! header or any other `Mcp-*` header, and every answer that is not a plain success.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use pm_core::Scopes;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;

/// How many shapes are kept; past it the cache starts again (a server sees a handful).
const SHAPES_KEPT: usize = 256;
/// The largest answer kept (the whole list is about 45 KB).
const ANSWER_KEPT_BYTES: usize = 1 << 20;
/// How every rmcp answer to a request begins, before the id.
const PREFIX: &[u8] = br#"{"jsonrpc":"2.0","id":"#;
/// What follows the id in a success.
const RESULT: &[u8] = br#","result":"#;
/// The most header bytes a shape may hold; a request with more goes to rmcp every time.
const SHAPE_HEADER_BYTES: usize = 1024;

/// The kept answers, one per shape.
pub struct ToolsListCache {
    shapes: Mutex<HashMap<Shape, Arc<Kept>>>,
    /// The server's request body limit (`guard_json_body` has applied it already).
    max_body: usize,
    /// The server's shutdown: once it fires rmcp may answer differently (it cancels requests),
    /// so every request goes to rmcp.
    shutdown: CancellationToken,
}

/// Everything a `tools/list` answer can depend on besides the server's fixed settings.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Shape {
    scopes: Scopes,
    key_toolsets: Option<Vec<String>>,
    /// Whether the request carried `"params": {}` (rather than none).
    params: bool,
    /// The raw values of the headers rmcp and the tools read (rmcp parses Host too).
    host: Vec<u8>,
    accept: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    protocol_version: Option<Vec<u8>>,
    toolsets: Option<Vec<u8>>,
}

/// rmcp's answer with the id cut out: its headers, and the bytes after the id.
struct Kept {
    headers: HeaderMap,
    after_id: Bytes,
}

/// A request this path takes: exactly these members, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListRequest {
    jsonrpc: String,
    id: serde_json::Value,
    method: String,
    /// Only an object reads as a map (serde would fill a struct from an array too).
    #[serde(default)]
    params: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ToolsListCache {
    pub fn new(max_body: usize, shutdown: CancellationToken) -> Self {
        Self {
            shapes: Mutex::default(),
            max_body,
            shutdown,
        }
    }

    fn get(&self, shape: &Shape) -> Option<Arc<Kept>> {
        self.shapes.lock().ok()?.get(shape).cloned()
    }

    fn keep(&self, shape: Shape, kept: Kept) {
        if let Ok(mut shapes) = self.shapes.lock() {
            if shapes.len() >= SHAPES_KEPT {
                shapes.clear();
            }
            shapes.insert(shape, Arc::new(kept));
        }
    }

    /// How many shapes are kept (for tests).
    pub fn len(&self) -> usize {
        self.shapes.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The id as rmcp writes it back (an integer or a string; anything else is left to rmcp).
fn id_bytes(id: &serde_json::Value) -> Option<Vec<u8>> {
    match id {
        serde_json::Value::Number(n) if n.is_i64() => serde_json::to_vec(&n.as_i64()?).ok(),
        serde_json::Value::String(s) => serde_json::to_vec(s).ok(),
        _ => None,
    }
}

/// A header's raw value; `Err` when it is repeated (rmcp's to judge).
pub(crate) fn raw(headers: &HeaderMap, name: HeaderName) -> Result<Option<Vec<u8>>, ()> {
    let mut values = headers.get_all(&name).iter();
    let first = values.next().map(|v| v.as_bytes().to_vec());
    match values.next() {
        None => Ok(first),
        Some(_) => Err(()),
    }
}

/// Only the method, read without building anything else (every `/mcp` request passes here).
#[derive(Deserialize)]
struct MethodOnly<'a> {
    #[serde(borrow)]
    method: Option<&'a str>,
}

/// Whether a request is a plain one of `method` as far as the stateless fast paths (this one and
/// `tools_call`) care before reading it whole: a JSON object (serde would fill a struct from an
/// array as well, which rmcp refuses) naming `method`, without any `Mcp-*` header but the
/// protocol version (a session, or headers rmcp checks against the body).
pub(crate) fn is_plain(headers: &HeaderMap, body: &[u8], method: &str) -> bool {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    let Ok(probe) = serde_json::from_slice::<MethodOnly>(body) else {
        return false;
    };
    probe.method == Some(method)
        && !headers.keys().any(|name| {
            let name = name.as_str();
            name.starts_with("mcp-") && name != "mcp-protocol-version"
        })
}

/// The shape of a request this path may answer, and its id; `None` sends it to rmcp.
fn shape_of(parts: &axum::http::request::Parts, body: &[u8]) -> Option<(Shape, Vec<u8>)> {
    let headers = &parts.headers;
    if !is_plain(headers, body, "tools/list") {
        return None;
    }
    let principal = parts.extensions.get::<Principal>()?;
    let request: ListRequest = serde_json::from_slice(body).ok()?;
    if request.jsonrpc != "2.0"
        || request.method != "tools/list"
        || request.params.as_ref().is_some_and(|p| !p.is_empty())
    {
        return None;
    }
    let id = id_bytes(&request.id)?;
    let shape = Shape {
        scopes: principal.scopes(),
        key_toolsets: principal.toolsets().map(<[String]>::to_vec),
        params: request.params.is_some(),
        // No Host (HTTP/2 names the authority elsewhere): rmcp's to judge every time.
        host: raw(headers, header::HOST).ok()??,
        accept: raw(headers, header::ACCEPT).ok()?,
        content_type: raw(headers, header::CONTENT_TYPE).ok()?,
        protocol_version: raw(headers, HeaderName::from_static("mcp-protocol-version")).ok()?,
        toolsets: raw(headers, HeaderName::from_static("x-mcp-toolsets")).ok()?,
    };
    let header_bytes = shape.host.len()
        + [
            &shape.accept,
            &shape.content_type,
            &shape.protocol_version,
            &shape.toolsets,
        ]
        .into_iter()
        .map(|v| v.as_ref().map_or(0, Vec::len))
        .sum::<usize>();
    (header_bytes <= SHAPE_HEADER_BYTES).then_some((shape, id))
}

/// Answers `tools/list` from the kept bytes of its shape, or lets rmcp answer and keeps that.
/// Mounted on `/mcp` only in stateless mode, after authentication.
pub async fn serve(State(cache): State<Arc<ToolsListCache>>, req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::POST || cache.shutdown.is_cancelled() {
        return next.run(req).await;
    }
    // Only a JSON body, which `guard_json_body` has read and size-checked already.
    if !crate::answers::is_json(req.headers()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, cache.max_body).await else {
        return crate::answers::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        );
    };
    let Some((shape, id)) = shape_of(&parts, &bytes) else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    if let Some(kept) = cache.get(&shape) {
        let mut answer = Vec::with_capacity(PREFIX.len() + id.len() + kept.after_id.len());
        answer.extend_from_slice(PREFIX);
        answer.extend_from_slice(&id);
        answer.extend_from_slice(&kept.after_id);
        let mut res = Response::new(Body::from(answer));
        *res.headers_mut() = kept.headers.clone();
        return res;
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let plain_json = res.headers().get(header::CONTENT_TYPE)
        == Some(&HeaderValue::from_static("application/json"));
    // Only a whole answer of known length (rmcp's JSON answers are), never a stream.
    let small = http_body::Body::size_hint(res.body())
        .exact()
        .is_some_and(|n| n <= ANSWER_KEPT_BYTES as u64);
    if res.status() != StatusCode::OK || !plain_json || !small {
        return res;
    }
    let (res_parts, res_body) = res.into_parts();
    let Ok(answer) = axum::body::to_bytes(res_body, ANSWER_KEPT_BYTES).await else {
        return crate::answers::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be read",
        );
    };
    let head_len = PREFIX.len() + id.len();
    if answer.starts_with(PREFIX)
        && answer.get(PREFIX.len()..head_len) == Some(&id[..])
        && answer[head_len..].starts_with(RESULT)
    {
        let mut headers = res_parts.headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        cache.keep(
            shape,
            Kept {
                headers,
                after_id: answer.slice(head_len..),
            },
        );
    }
    Response::from_parts(res_parts, Body::from(answer))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::Request;
    use pm_core::Scope;
    use pm_store::{ApiKey, NewApiKey};
    use serde_json::{Value, json};
    use tower::ServiceExt as _;

    use super::*;
    use crate::http::{CancellationToken, app_with};
    use crate::state::HttpConfig;
    use crate::tools::toolset_tests::harness::Harness;

    /// One POST to `/mcp` of `app`: its status, headers (without the request id) and body.
    pub(crate) async fn send(
        app: &Router,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut req = Request::post("/mcp").header(header::HOST, "localhost");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).expect("request"))
            .await
            .expect("answer");
        let (mut parts, body) = res.into_parts();
        // Each request has its own id; the rest must be equal.
        parts.headers.remove("x-request-id");
        let bytes = axum::body::to_bytes(body, 1 << 22).await.expect("body");
        (parts.status, parts.headers, bytes)
    }

    /// A new key of the harness's user.
    pub(crate) async fn key(h: &Harness, scopes: Scope, toolsets: Option<Vec<String>>) -> String {
        let key = ApiKey::generate();
        let mut row = NewApiKey::for_key(&key, h.user.id, "k", pm_core::Scopes::only(scopes), None);
        row.toolsets = toolsets;
        h.state.store.add_api_key(row).await.expect("key");
        key.expose().to_string()
    }

    /// Every shape's answer, from rmcp (the first of its shape) and from the kept bytes (the
    /// second), is byte for byte what rmcp alone answers, headers included.
    #[tokio::test]
    async fn kept_answers_are_rmcps_own_bytes() {
        let h = Harness::with(HttpConfig {
            toolsets: None,
            ..HttpConfig::default()
        })
        .await;
        let cache = Arc::new(ToolsListCache::new(1 << 20, CancellationToken::new()));
        let cached = app_with(
            h.state.clone(),
            CancellationToken::new(),
            Some(cache.clone()),
        );
        let plain = app_with(h.state.clone(), CancellationToken::new(), None);
        let keys = [
            key(&h, Scope::Read, None).await,
            key(
                &h,
                Scope::Write,
                Some(vec!["tasks".into(), "sprints".into()]),
            )
            .await,
            key(&h, Scope::Admin, None).await,
        ];
        let ids = [json!(7), json!("a\"b\\é\u{1}"), json!(-3), json!(i64::MAX)];
        let mut lists = std::collections::HashSet::new();
        let mut answered = 0;
        for key in &keys {
            for version in [
                None,
                Some("2025-06-18"),
                Some("2025-11-25"),
                Some("2026-07-28"),
            ] {
                for toolsets in [None, Some("users, tasks")] {
                    for params in [None, Some(json!({}))] {
                        for id in &ids {
                            let auth = format!("Bearer {key}");
                            let mut headers = vec![
                                ("authorization", auth.as_str()),
                                ("content-type", "application/json"),
                                ("accept", "application/json, text/event-stream"),
                            ];
                            if let Some(v) = version {
                                headers.push(("mcp-protocol-version", v));
                            }
                            if let Some(t) = toolsets {
                                headers.push(("x-mcp-toolsets", t));
                            }
                            let mut body =
                                json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"});
                            if let Some(p) = &params {
                                body["params"] = p.clone();
                            }
                            let body = body.to_string();
                            let want = send(&plain, &headers, &body).await;
                            for _ in 0..2 {
                                let got = send(&cached, &headers, &body).await;
                                assert_eq!(got.0, want.0, "{headers:?} {body}");
                                assert_eq!(got.1, want.1, "{headers:?} {body}");
                                assert_eq!(got.2, want.2, "{headers:?} {body}");
                            }
                            let answer: Value = serde_json::from_slice(&want.2).expect("json");
                            assert_eq!(answer["id"], *id);
                            if let Some(tools) = answer["result"]["tools"].as_array() {
                                answered += 1;
                                lists.insert(tools.len());
                            }
                        }
                    }
                }
            }
        }
        // The shapes gave different lists (the keys' scopes and toolsets, the header), and most
        // requests were answered with one.
        assert!(lists.len() >= 3, "{lists:?}");
        assert!(answered >= 3 * 3 * 2 * 2 * ids.len(), "{answered}");
        // And those were kept: one entry per shape that rmcp answered with a list.
        assert!(cache.len() >= 3 * 3 * 2 * 2, "{}", cache.len());
    }

    /// A scripted inner service in place of rmcp: counts the requests that reach it.
    fn counting(hits: Arc<AtomicUsize>, shutdown: CancellationToken) -> Router {
        let inner = Router::new().route(
            "/mcp",
            axum::routing::post(move |body: Bytes| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let id = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .map(|v| v["id"].clone())
                        .unwrap_or(Value::Null);
                    let text = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"tools":[]}}}}"#);
                    ([(header::CONTENT_TYPE, "application/json")], text)
                }
            }),
        );
        let principal = Principal {
            user: pm_store::User {
                id: pm_core::UserId::new(),
                email: pm_core::Email::parse("ann@acme.org").expect("email"),
                name: "Ann".into(),
                is_admin: false,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
                disabled_at: None,
            },
            credential: crate::auth::Credential::Token(crate::auth::TokenGrant {
                issuer: "https://idp.test".into(),
                subject: "ann".into(),
                client_id: None,
                scopes: pm_core::Scopes::only(Scope::Read),
                expires_at: chrono::Utc::now(),
            }),
            actor: None,
        };
        inner
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(ToolsListCache::new(1 << 20, shutdown)),
                serve,
            ))
            .layer(axum::Extension(principal))
    }

    #[tokio::test]
    async fn a_kept_answer_is_served_without_the_handler_and_anything_else_reaches_it() {
        let hits = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let app = counting(hits.clone(), shutdown.clone());
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        let list = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
        let (_, _, first) = send(&app, &headers, &list("1")).await;
        assert_eq!(
            &first[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#
        );
        let (status, res_headers, second) = send(&app, &headers, &list("\"x\"")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(res_headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            &second[..],
            br#"{"jsonrpc":"2.0","id":"x","result":{"tools":[]}}"#
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "the second came from the kept bytes"
        );
        // Each of these goes to the handler.
        let others = [
            list("1.5"),
            list("null"),
            list("[1]"),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{}}}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","extra":1}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#.into(),
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#.into(),
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#.into(),
            // serde fills a struct from an array too; rmcp refuses both.
            r#"["2.0",7,"tools/list"]"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#.into(),
        ];
        for (n, body) in others.iter().enumerate() {
            send(&app, &headers, body).await;
            assert_eq!(hits.load(Ordering::SeqCst), 2 + n, "{body}");
        }
        let with_session = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-session-id", "s"),
        ];
        send(&app, &with_session, &list("1")).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2 + others.len());
        // Header values past the shape's budget are not kept: rmcp answers each time.
        let long = format!(
            "application/json, text/event-stream, {}",
            "x/y, ".repeat(300)
        );
        let long_accept = [
            ("content-type", "application/json"),
            ("accept", long.as_str()),
        ];
        send(&app, &long_accept, &list("1")).await;
        send(&app, &long_accept, &list("1")).await;
        assert_eq!(hits.load(Ordering::SeqCst), 4 + others.len());
        // Once the server is shutting down, rmcp answers (it may cancel instead).
        shutdown.cancel();
        send(&app, &headers, &list("1")).await;
        assert_eq!(hits.load(Ordering::SeqCst), 5 + others.len());
    }
}
