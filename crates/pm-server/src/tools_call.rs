//! `tools/call` over stateless Streamable HTTP without a service per request.
//!
//! For each stateless request rmcp starts a whole service: a peer with its channels, a serve
//! loop on a task of its own, a one-shot transport, and a second task to wait for it; then it
//! hands the request to the handler and writes the handler's answer as one JSON body. Here the
//! request goes to the same handler (`Service::handle_request` of [`PmServer`], rmcp's own
//! dispatch of `tools/call`) with a context like the one rmcp builds, on a peer made once per
//! protocol version, and the answer is written as rmcp writes it: the same message type,
//! serialised the same way, with the headers rmcp gave the first request of the same shape.
//! A test holds the two paths to the same bytes.
//!
//! Only the plain case comes here; anything else goes to rmcp untouched: another method, a
//! batch, `_meta` in the request, an `Mcp-*` header other than the protocol version, a protocol
//! version other than 2025-06-18 and 2025-11-25 (or none), a request whose shape rmcp has not yet
//! answered with a plain JSON success, and every request that arrives once the server shuts
//! down.
//!
//! As in rmcp, the handler runs on a task of its own: a client that goes away cancels the call's
//! token but never cuts the call short, so a write the tracker made is always audited. One
//! difference, on purpose: a call under way when the server starts shutting down is answered
//! with its real result (rmcp answers 500 "empty response" at once), within the drain's bounds.
//!
//! The peer is shared by the calls of one version. pm-mcp's handlers send nothing through it; if
//! one ever did, its send fails at once (the peer's transport refuses every message) rather than
//! being lost or waiting for an answer that cannot come.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::SinkExt as _;
use rmcp::model::{
    ClientCapabilities, ClientJsonRpcMessage, ClientRequest, GetExtensions as _, GetMeta as _,
    Implementation, InitializeRequestParams, JsonRpcMessage, ProtocolVersion, RequestMetaObject,
    ServerJsonRpcMessage,
};
use rmcp::service::{Peer, RequestContext, RunningService, serve_directly};
use rmcp::{RoleServer, Service as _};
use tokio_util::sync::CancellationToken;

use crate::server::PmServer;
use crate::state::AppState;

/// The protocol versions answered here (later ones carry per-request metadata rmcp reads).
const VERSIONS: [&str; 2] = ["2025-06-18", "2025-11-25"];
/// How many header shapes are kept; past it the map starts again.
const SHAPES_KEPT: usize = 256;
/// The most header bytes a shape may hold.
const SHAPE_HEADER_BYTES: usize = 1024;

/// The headers rmcp judges a stateless request by, besides its body.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Shape {
    host: Vec<u8>,
    accept: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    protocol_version: Vec<u8>,
}

/// A peer for one protocol version, and the service that keeps it open.
struct VersionPeer {
    peer: Peer<RoleServer>,
    _service: RunningService<RoleServer, PmServer>,
}

pub struct DirectCalls {
    state: Arc<AppState>,
    /// rmcp's answer headers for each shape it answered with a plain JSON success.
    shapes: Mutex<HashMap<Shape, HeaderMap>>,
    peers: Mutex<HashMap<&'static str, Arc<VersionPeer>>>,
    max_body: usize,
    shutdown: CancellationToken,
    /// Calls answered here (for tests).
    answered: std::sync::atomic::AtomicU64,
}

impl DirectCalls {
    pub fn new(state: Arc<AppState>, shutdown: CancellationToken) -> Self {
        Self {
            max_body: state.http.max_body_bytes,
            state,
            shapes: Mutex::default(),
            peers: Mutex::default(),
            shutdown,
            answered: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many calls were answered here.
    pub fn answered(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn headers_for(&self, shape: &Shape) -> Option<HeaderMap> {
        self.shapes.lock().ok()?.get(shape).cloned()
    }

    fn keep(&self, shape: Shape, headers: HeaderMap) {
        if let Ok(mut shapes) = self.shapes.lock() {
            if shapes.len() >= SHAPES_KEPT {
                shapes.clear();
            }
            shapes.insert(shape, headers);
        }
    }

    /// The peer rmcp would give a stateless request of `version`: it knows the client only by
    /// the version (as rmcp's own stateless peer does). Made once; its service waits for
    /// nothing and is ended with the server.
    fn peer(&self, version: &'static str) -> Option<Peer<RoleServer>> {
        let mut peers = self.peers.lock().ok()?;
        if let Some(p) = peers.get(version) {
            return Some(p.peer.clone());
        }
        let protocol_version: ProtocolVersion =
            serde_json::from_value(serde_json::Value::String(version.to_string())).ok()?;
        let mut info =
            InitializeRequestParams::new(ClientCapabilities::default(), Implementation::default());
        info.protocol_version = protocol_version;
        // Refuses whatever a handler would send to the client (see the module's comment).
        let refuses = futures::sink::drain::<ServerJsonRpcMessage>()
            .sink_map_err(|never| -> std::io::Error { match never {} })
            .with(|_| {
                futures::future::ready(Err::<ServerJsonRpcMessage, _>(std::io::Error::other(
                    "this stateless call cannot send to its client",
                )))
            });
        let transport = (refuses, futures::stream::pending::<ClientJsonRpcMessage>());
        let service = serve_directly(
            PmServer::for_http(self.state.clone()),
            transport,
            Some(info),
        );
        let peer = service.peer().clone();
        peers.insert(
            version,
            Arc::new(VersionPeer {
                peer: peer.clone(),
                _service: service,
            }),
        );
        Some(peer)
    }
}

/// The shape of a request this path may answer and its protocol version; `None` sends it to
/// rmcp.
fn shape_of(headers: &HeaderMap, body: &[u8]) -> Option<(Shape, &'static str)> {
    if !crate::tools_list::is_plain(headers, body, "tools/call") {
        return None;
    }
    let version =
        crate::tools_list::raw(headers, HeaderName::from_static("mcp-protocol-version")).ok()??;
    let version = VERSIONS.into_iter().find(|v| v.as_bytes() == version)?;
    let shape = Shape {
        host: crate::tools_list::raw(headers, header::HOST).ok()??,
        accept: crate::tools_list::raw(headers, header::ACCEPT).ok()?,
        content_type: crate::tools_list::raw(headers, header::CONTENT_TYPE).ok()?,
        protocol_version: version.as_bytes().to_vec(),
    };
    let bytes = shape.host.len()
        + shape.accept.as_ref().map_or(0, Vec::len)
        + shape.content_type.as_ref().map_or(0, Vec::len);
    (bytes <= SHAPE_HEADER_BYTES).then_some((shape, version))
}

/// Answers a plain stateless `tools/call` without a service of its own (see the module), or
/// lets rmcp answer and keeps the headers of its answer for the shape. Mounted on `/mcp` only
/// in stateless mode, after authentication.
pub async fn serve(State(calls): State<Arc<DirectCalls>>, req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::POST || calls.shutdown.is_cancelled() {
        return next.run(req).await;
    }
    if !crate::answers::is_json(req.headers()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, calls.max_body).await else {
        return crate::answers::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        );
    };
    let Some((shape, version)) = shape_of(&parts.headers, &bytes) else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    let kept = calls.headers_for(&shape);
    let direct = match kept {
        Some(headers) => match serde_json::from_slice::<ClientJsonRpcMessage>(&bytes) {
            // No `_meta` anywhere (rmcp moves the params' into the request's): a progress token
            // asks for notifications, which rmcp would stream.
            Ok(JsonRpcMessage::Request(request))
                if matches!(request.request, ClientRequest::CallToolRequest(ref r)
                    if r.params.meta.is_none())
                    && request.request.get_meta().0.0.is_empty() =>
            {
                Some((headers, request))
            }
            _ => None,
        },
        None => None,
    };
    let Some((headers, request)) = direct else {
        return through_rmcp(&calls, shape, parts, bytes, next).await;
    };
    let Some(peer) = calls.peer(version) else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    let id = request.id;
    let mut call = request.request;
    // The context rmcp's serve loop builds: the request's own metadata and extensions (the HTTP
    // request's parts among them), a token cancelled if the client goes away first.
    let mut meta = RequestMetaObject::new();
    std::mem::swap(&mut meta, call.get_meta_mut());
    let mut extensions = std::mem::take(call.extensions_mut());
    extensions.insert(parts);
    let mut context = RequestContext::new(id.clone(), peer);
    context.meta = meta;
    context.extensions = extensions;
    let cancel = CancellationToken::new();
    context.ct = cancel.child_token();
    let on_disconnect = cancel.drop_guard();
    let server = PmServer::for_http(calls.state.clone());
    // On a task of its own, as rmcp runs it: dropping this request cancels the token only.
    let handler = tokio::spawn(tracing::Instrument::in_current_span(async move {
        server.handle_request(call, context).await
    }));
    let answered = handler.await;
    on_disconnect.disarm();
    let message: ServerJsonRpcMessage = match answered {
        Ok(Ok(result)) => JsonRpcMessage::response(result, id),
        Ok(Err(error)) => {
            // rmcp's own line for a JSON-RPC error answer.
            tracing::warn!(%id, ?error, "response error");
            JsonRpcMessage::error(error, Some(id))
        }
        Err(e) => {
            tracing::error!(error = %e, "a tool call's task ended without an answer");
            return crate::answers::json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the call ended without an answer",
            );
        }
    };
    let Ok(body) = serde_json::to_vec(&message) else {
        return crate::answers::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be written",
        );
    };
    calls
        .answered
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut res = Response::new(Body::from(body));
    *res.headers_mut() = headers;
    res
}

/// rmcp answers; a plain JSON success teaches this path the shape's headers.
async fn through_rmcp(
    calls: &DirectCalls,
    shape: Shape,
    parts: axum::http::request::Parts,
    bytes: Bytes,
    next: Next,
) -> Response {
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let plain_json = res.headers().get(header::CONTENT_TYPE)
        == Some(&HeaderValue::from_static("application/json"));
    if res.status() == StatusCode::OK && plain_json {
        let mut headers = res.headers().clone();
        headers.remove(header::CONTENT_LENGTH);
        calls.keep(shape, headers);
    }
    res
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use pm_core::{ProviderError, ProviderKind, Scope};
    use serde_json::{Value, json};

    use super::*;
    use crate::http::{app_with, app_with_direct};
    use crate::state::HttpConfig;
    use crate::tools::toolset_tests::harness::Harness;
    use crate::tools_list::tests::send;

    async fn key(h: &Harness, scopes: Scope) -> String {
        crate::tools_list::tests::key(h, scopes, None).await
    }

    /// The app with both stateless fast paths, and this one's state (to count its answers).
    fn fast_app(h: &Harness) -> (Router, Arc<DirectCalls>) {
        let direct = Arc::new(DirectCalls::new(h.state.clone(), CancellationToken::new()));
        let cache = crate::tools_list::ToolsListCache::new(1 << 20, CancellationToken::new());
        let app = app_with_direct(
            h.state.clone(),
            CancellationToken::new(),
            Some(Arc::new(cache)),
            Some(direct.clone()),
        );
        (app, direct)
    }

    /// A plain call's headers for `auth` at `version`.
    fn call_headers<'a>(auth: &'a str, version: &'a str) -> [(&'a str, &'a str); 4] {
        [
            ("authorization", auth),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", version),
        ]
    }

    /// Every call answered here is byte for byte what rmcp alone answers, headers included:
    /// results, tool errors, refusals of the argument check and of the key's scope, unknown
    /// tools, odd ids, both protocol versions; and the ones this path does not take still reach
    /// rmcp.
    #[tokio::test]
    async fn direct_answers_are_rmcps_own_bytes() {
        let h = Harness::with(HttpConfig {
            toolsets: None,
            ..HttpConfig::default()
        })
        .await;
        let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
        jira.answer(
            "get_task",
            Ok(crate::tools::toolset_tests::task(
                "PROJ-1",
                "Fix \"it\" <now> é",
            )),
        );
        jira.fail::<pm_core::Task>(
            "transition_task",
            ProviderError::BadInput("PROJ-1 is in \"To Do\" and cannot move to \"Done\"".into()),
        );
        let (fast, direct) = fast_app(&h);
        let plain = app_with(h.state.clone(), CancellationToken::new(), None);
        let keys = [key(&h, Scope::Write).await, key(&h, Scope::Read).await];
        let calls = [
            json!({ "name": "get_task", "arguments": { "task_id": "acme-jira:PROJ-1" } }),
            json!({ "name": "get_task", "arguments": { "task_id": "nowhere:PROJ-1" } }),
            json!({ "name": "get_task", "arguments": { "task_id": 7 } }),
            json!({ "name": "get_task", "arguments": { "task_id": "acme-jira:PROJ-1", "extra": true } }),
            json!({ "name": "get_task" }),
            json!({ "name": "update_task_status", "arguments": { "task_id": "acme-jira:PROJ-1", "status": "Done" } }),
            json!({ "name": "list_providers", "arguments": {} }),
            json!({ "name": "no_such_tool", "arguments": {} }),
        ];
        let ids = [json!(7), json!("a\"b\\é\u{1}"), json!(-3), json!(i64::MAX)];
        let mut answered = 0;
        for key in &keys {
            for version in VERSIONS {
                for params in &calls {
                    for id in &ids {
                        let auth = format!("Bearer {key}");
                        let headers = call_headers(&auth, version);
                        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string();
                        let want = send(&plain, &headers, &body).await;
                        for _ in 0..2 {
                            let got = send(&fast, &headers, &body).await;
                            assert_eq!(got.0, want.0, "{version} {body}");
                            assert_eq!(got.1, want.1, "{version} {body}");
                            assert_eq!(
                                String::from_utf8_lossy(&got.2),
                                String::from_utf8_lossy(&want.2),
                                "{version} {body}"
                            );
                        }
                        let answer: Value = serde_json::from_slice(&want.2).expect("json");
                        assert_eq!(answer["id"], *id);
                        answered += 1;
                    }
                }
            }
        }
        assert_eq!(answered, 2 * 2 * calls.len() * ids.len());
        // All but the first call of each shape (one per version; the key is not part of it) were
        // answered directly.
        assert_eq!(direct.answered(), 2 * answered as u64 - 2);

        // What this path leaves to rmcp: another version, `_meta`, an Mcp-* header; the answers
        // are rmcp's own (the count does not move).
        let before = direct.answered();
        let auth = format!("Bearer {}", keys[0]);
        let base = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        let plain_call =
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": calls[0]})
                .to_string();
        let with_meta = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "list_providers", "arguments": {}, "_meta": { "progressToken": 5 } }}).to_string();
        for (extra, body) in [
            (vec![("mcp-protocol-version", "2025-03-26")], &plain_call),
            (vec![], &plain_call),
            (vec![("mcp-protocol-version", "2025-11-25")], &with_meta),
            (
                vec![
                    ("mcp-protocol-version", "2025-11-25"),
                    ("mcp-method", "tools/call"),
                ],
                &plain_call,
            ),
        ] {
            let headers: Vec<(&str, &str)> = base.iter().copied().chain(extra).collect();
            let want = send(&plain, &headers, body).await;
            let got = send(&fast, &headers, body).await;
            assert_eq!(got, want, "{headers:?} {body}");
        }
        assert_eq!(direct.answered(), before);
    }

    /// A client that goes away in the middle of a call does not cut it short: the change the
    /// tracker made is audited, as when rmcp runs the call.
    #[tokio::test]
    async fn a_client_that_goes_away_does_not_cut_a_call_short() {
        let h = Harness::new().await;
        let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
        jira.answer(
            "transition_task",
            Ok(crate::tools::toolset_tests::task("PROJ-1", "Fix it")),
        );
        let (fast, direct) = fast_app(&h);
        let key = key(&h, Scope::Write).await;
        let auth = format!("Bearer {key}");
        let headers = call_headers(&auth, "2025-11-25");
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "update_task_status", "arguments": { "task_id": "acme-jira:PROJ-1", "status": "Done" } }})
        .to_string();
        // The first of its shape goes through rmcp; the second is this path's.
        assert_eq!(send(&fast, &headers, &body).await.0, StatusCode::OK);
        let audited = h.audit().await.len();
        jira.answer_transitions_after(400);
        let gone = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            send(&fast, &headers, &body),
        )
        .await;
        assert!(gone.is_err(), "the client gave up before the answer");
        assert_eq!(direct.answered(), 0, "nothing was answered yet");
        let mut rows = 0;
        for _ in 0..50 {
            rows = h.audit().await.len();
            if rows > audited {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(rows, audited + 1, "the call ran to its end and was audited");
        assert_eq!(jira.calls_to("transition_task").len(), 2);
    }
}
