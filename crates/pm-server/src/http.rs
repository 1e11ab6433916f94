//! The HTTP front: Streamable HTTP MCP at `/mcp` behind Host/Origin checks and API-key
//! authentication, the admin REST API at `/admin/v1` (see `admin_api`) behind the same guards,
//! plus `/healthz` (the process) and `/readyz` (the database).
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio::net::TcpListener;
pub use tokio_util::sync::CancellationToken;

use crate::allow_list::{host_allowed, origin_allowed};
use crate::answers::{json_error, parse_error};
use crate::auth::{AuthError, Principal, key_from_headers};
use crate::limits::Refusal;
use crate::server::PmServer;
use crate::state::AppState;

/// The whole HTTP application.
pub fn app(state: Arc<AppState>, shutdown: CancellationToken) -> Router {
    let list_cache = Arc::new(crate::tools_list::ToolsListCache::new(
        state.http.max_body_bytes,
        shutdown.clone(),
    ));
    app_with(state, shutdown, Some(list_cache))
}

/// The HTTP application; without `list_cache` every `tools/list` goes to rmcp (the tests compare
/// the two).
pub(crate) fn app_with(
    state: Arc<AppState>,
    shutdown: CancellationToken,
    list_cache: Option<Arc<crate::tools_list::ToolsListCache>>,
) -> Router {
    let direct = list_cache.as_ref().map(|_| {
        Arc::new(crate::tools_call::DirectCalls::new(
            state.clone(),
            shutdown.clone(),
        ))
    });
    app_with_direct(state, shutdown, list_cache, direct)
}

/// As [`app_with`], with stateless `tools/call` answered by `direct` where given (the tests
/// read what it answered).
pub(crate) fn app_with_direct(
    state: Arc<AppState>,
    shutdown: CancellationToken,
    list_cache: Option<Arc<crate::tools_list::ToolsListCache>>,
    direct: Option<Arc<crate::tools_call::DirectCalls>>,
) -> Router {
    // Every tool's counters exist from the start (a scrape before the first call shows them).
    state.metrics.know_tools(crate::tools::tool_names());
    let mcp = {
        let state = state.clone();
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(state.http.sessions)
            // Stateless answers as one JSON body (rmcp falls back to an SSE stream when a tool
            // sends a notification before its result): one write, no stream framing.
            .with_json_response(!state.http.sessions)
            // Host and Origin are checked by `guard_host_origin` for every MCP route alike.
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_max_request_body_bytes(state.http.max_body_bytes)
            .with_cancellation_token(shutdown.clone());
        let factory_state = state.clone();
        StreamableHttpService::new(
            move || Ok(PmServer::for_http(factory_state.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        )
    };
    // The same handler, stateless, for the REST helpers that run one tool (`/tools/call`).
    let runner = {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_max_request_body_bytes(state.http.max_body_bytes)
            .with_cancellation_token(shutdown.child_token());
        let factory_state = state.clone();
        crate::rest::ToolRunner(StreamableHttpService::new(
            move || Ok(PmServer::for_http(factory_state.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        ))
    };
    // The reference's agent backend and web app: provider sync (the `sync` permission) and the
    // REST helpers, with the same key checks and limits, answering errors with `detail`.
    let backend = Router::new()
        .route(
            "/providers/sync",
            post(crate::sync::sync).delete(crate::sync::delete),
        )
        .route("/providers/sync/bulk", post(crate::sync::bulk))
        .route("/providers/sync/status", get(crate::sync::status))
        .route(
            "/providers/sync/test/{mcp_provider_id}",
            post(crate::sync::test),
        )
        .route("/tools/call", post(crate::rest::call_tool))
        .route("/users", get(crate::rest::users))
        .layer(axum::Extension(runner))
        .layer(DefaultBodyLimit::max(state.http.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), limit_per_key))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_host_origin,
        ))
        .layer(middleware::from_fn(crate::rest::with_detail));
    // Stateless `tools/list` from the bytes rmcp made once per shape (not with the conformance
    // fixtures, whose extension adds tools of its own).
    // Stateless `tools/call` without a service per request (`tools_call`), with them.
    let list_cache = list_cache.filter(|_| !state.http.sessions && state.extension.is_none());
    let mcp_route = if let (Some(cache), Some(direct)) = (list_cache, direct) {
        // `tools/call`'s the outer one: the hotter path reads the body and probes it only once.
        Router::new()
            .route_service("/mcp", mcp)
            .layer(middleware::from_fn_with_state(
                cache,
                crate::tools_list::serve,
            ))
            .layer(middleware::from_fn_with_state(
                direct,
                crate::tools_call::serve,
            ))
    } else {
        Router::new().route_service("/mcp", mcp)
    };
    let protected = mcp_route
        // Runs after `authenticate`: a stateful session answers only the principal that opened it.
        .layer(middleware::from_fn_with_state(
            SessionOwners::new(state.http.sessions),
            bind_session,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_tool_scope,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_json_body,
        ))
        .route("/sse", get(crate::sse::open))
        .route(
            "/messages",
            post(crate::sse::post)
                .layer(DefaultBodyLimit::max(state.http.max_body_bytes))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    require_tool_scope,
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    guard_json_body,
                )),
        )
        .merge(crate::admin_api::router(state.clone()))
        // Runs after `authenticate` (layers wrap outwards): limits are per authenticated key.
        .layer(middleware::from_fn_with_state(state.clone(), limit_per_key))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_host_origin,
        ));
    // The admin API's document needs no key (it holds nothing secret), but the same Host/Origin
    // guard as every other admin route.
    let docs = crate::admin_api::public_router().layer(middleware::from_fn_with_state(
        state.clone(),
        guard_host_origin,
    ));
    Router::new()
        .route("/healthz", get(healthz))
        // The reference's name for it (its web app calls /health); answers with or without a key.
        .route("/health", get(healthz))
        .route("/readyz", get(readyz))
        // Public metadata for OAuth clients (RFC 9728): no key, no Host/Origin guard (a browser
        // client on any origin may read it; it holds nothing secret).
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata).options(metadata_preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(resource_metadata).options(metadata_preflight),
        )
        .merge(protected)
        .merge(backend)
        .merge(crate::console::router(state.clone()))
        .merge(docs)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), request_id))
        .with_state(state)
}

/// Who opened each stateful MCP session (`--sessions`): the session id as rmcp gave it, and the
/// principal (the user and the key, or the user for an OAuth sign-in, whose tokens are renewed).
/// Bounded: past [`SESSION_OWNERS_KEPT`] the oldest sessions are forgotten, and a forgotten
/// session answers as an unknown one (its client opens a new one).
#[derive(Clone)]
pub struct SessionOwners {
    /// Off without `--sessions`: stateless answers have no session to bind.
    enabled: bool,
    book: Arc<std::sync::Mutex<SessionBook>>,
}

impl SessionOwners {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            book: Arc::default(),
        }
    }
}

#[derive(Default)]
struct SessionBook {
    owner: std::collections::HashMap<String, String>,
    order: std::collections::VecDeque<String>,
}

/// Stateful sessions whose owners are kept (see [`SessionOwners`]).
const SESSION_OWNERS_KEPT: usize = 100_000;

const SESSION_HEADER: &str = "mcp-session-id";

fn principal_tag(p: &Principal) -> String {
    match p.key() {
        Some(k) => format!("{}:key:{}", p.user.id, k.id),
        None => format!("{}:oauth", p.user.id),
    }
}

/// Binds each stateful MCP session to the principal that opened it: any other caller naming the
/// session is answered exactly as for an unknown session (its id is swapped for one that names
/// no session before rmcp sees it), so a leaked `Mcp-Session-Id` is worth nothing to another user
/// or key. Sessions this server did not see opened are unknown too.
async fn bind_session(
    State(owners): State<SessionOwners>,
    mut req: Request,
    next: Next,
) -> Response {
    if !owners.enabled {
        return next.run(req).await;
    }
    let who = req.extensions().get::<Principal>().map(principal_tag);
    let asked = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_delete = req.method() == axum::http::Method::DELETE;
    if let Some(id) = &asked {
        let owned = owners
            .book
            .lock()
            .ok()
            .and_then(|b| b.owner.get(id).cloned());
        if owned.is_none() || owned != who {
            let nobody = format!("unknown-{}", uuid::Uuid::new_v4().simple());
            if let Ok(v) = HeaderValue::from_str(&nobody) {
                req.headers_mut().insert(SESSION_HEADER, v);
            }
            return next.run(req).await;
        }
    }
    let res = next.run(req).await;
    if let Ok(mut book) = owners.book.lock() {
        match (&asked, res.headers().get(SESSION_HEADER)) {
            // A session opened (initialize): its owner is the caller.
            (None, Some(id)) => {
                if let (Some(id), Some(who)) = (id.to_str().ok(), who) {
                    book.owner.insert(id.to_string(), who);
                    book.order.push_back(id.to_string());
                    while book.order.len() > SESSION_OWNERS_KEPT {
                        if let Some(old) = book.order.pop_front() {
                            book.owner.remove(&old);
                        }
                    }
                }
            }
            (Some(id), _) if is_delete && res.status().is_success() => {
                book.owner.remove(id);
                book.order.retain(|s| s != id);
            }
            _ => {}
        }
    }
    res
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then drains in-flight requests,
/// within the configured bounds on slow clients and open connections (`crate::listen`).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = state.http.connections;
    let app = app(state, shutdown.clone());
    crate::listen::serve(listener, app, limits, shutdown).await
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "instance": &*state.instance,
    }))
    .into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(json!({ "status": "ready", "database": state.store.engine() }))
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    json!({ "status": "unavailable", "error": "the database cannot be reached" }),
                ),
            )
                .into_response()
        }
    }
}

async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; MCP is served at /mcp",
    )
}

/// A refusal sent before the request body was read: the connection is closed after it, so say so,
/// or a client reusing the connection finds it gone mid-request.
fn closing(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// The log span of the HTTP request being handled (carrying its request id).
#[derive(Clone)]
pub struct RequestSpan(pub tracing::Span);

/// The response header naming the process that answered (one replica among many).
pub const INSTANCE_HEADER: &str = "x-pm-mcp-instance";

/// A request id for every request (kept from `X-Request-Id` when the caller sent a sane one),
/// echoed in the response and carried by the request's log span, so every line logged while the
/// request is handled names it. Also counts the request for `/metrics` and names this instance
/// in `X-PM-MCP-Instance`.
async fn request_id(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    // One span per request, with the request id only: at the default level it is recorded (so
    // every line logged under it names the request), and each field costs formatting it up front
    // (~1 µs for this span with the JSON format; method and path go on the `request` line).
    // It also rides in the request's extensions, for the MCP handler rmcp runs on a task of its
    // own (see `PmServer::call_tool`).
    let span = tracing::info_span!("http", request_id = %id);
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let mut res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let elapsed = started.elapsed();
    state
        .metrics
        .http_request(&path, res.status().as_u16(), elapsed);
    span.in_scope(|| {
        tracing::debug!(
            %method,
            %path,
            status = res.status().as_u16(),
            elapsed_us = elapsed.as_micros() as u64,
            "request"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&state.instance) {
        res.headers_mut().insert(INSTANCE_HEADER, v);
    }
    res
}

/// Refuses requests whose `Host` or `Origin` is not allowed (DNS rebinding, cross-site pages).
async fn guard_host_origin(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match crate::allow_list::requested_host(req.headers(), req.uri()) {
        Some(h) if host_allowed(&state.http.allowed_hosts, &h) => {}
        Some(h) => {
            tracing::warn!(host = %h, "refused a request for a Host not allowed");
            return closing(json_error(
                StatusCode::FORBIDDEN,
                "host_not_allowed",
                "this Host is not allowed; an operator can add it with --allowed-host",
            ));
        }
        None => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "host_missing",
                "the request has no Host header",
            );
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(&state.http.allowed_origins, origin) {
            tracing::warn!(%origin, "refused a request from an Origin not allowed");
            return closing(json_error(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this Origin is not allowed; an operator can add it with --allowed-origin",
            ));
        }
    }
    next.run(req).await
}

/// For POSTs to `/mcp` and `/messages`: refuses a body over the size limit (413, on the declared
/// length when there is one), and answers a JSON body that does not parse with a JSON-RPC parse
/// error instead of passing it on.
async fn guard_json_body(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if req.method() != http::Method::POST {
        return next.run(req).await;
    }
    let limit = state.http.max_body_bytes;
    let too_large = || {
        closing(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("the request body is larger than {limit} bytes"),
        ))
    };
    // Refused on the declared length alone, before a byte of the body is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let is_json = crate::answers::is_json(req.headers());
    if !is_json {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return parse_error(&e);
    }
    // Skipping a value has no depth limit, but parsing the message does (serde_json's 128):
    // refuse deeper JSON here as the parse error it is, not later as something vaguer.
    if nesting_exceeds(&bytes, MAX_JSON_DEPTH) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "jsonrpc": "2.0", "id": null,
                "error": { "code": -32700, "message": format!("Parse error: JSON nested deeper than {MAX_JSON_DEPTH} levels") }
            })),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The deepest JSON a request may hold (serde_json's own recursion limit).
pub const MAX_JSON_DEPTH: usize = 128;

/// Whether valid JSON `bytes` nest arrays and objects deeper than `limit` (one pass, no
/// allocation; brackets inside strings do not count).
pub fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Authenticates the API key or OAuth access token and attaches the `Principal` for the handlers.
async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = key_from_headers(req.headers());
    // An API key that fails is told so plainly; only other callers are pointed at OAuth.
    let api_key = presented
        .as_ref()
        .is_ok_and(|raw| raw.starts_with(pm_store::apikey::KEY_PREFIX));
    let result = match presented {
        Ok(raw) => state.auth.authenticate(&raw).await,
        // Only an extension (the conformance build's) names someone here; a release has none.
        Err(AuthError::Missing) if state.extension.is_some() => state
            .extension
            .as_ref()
            .and_then(|e| e.anonymous())
            .ok_or(AuthError::Missing),
        Err(e) => Err(e),
    };
    match result {
        Ok(principal) => {
            tracing::debug!(user_id = %principal.user.id, key_id = principal.key_id().map(|k| k.to_string()), oauth = principal.token().is_some(), "authenticated");
            let act_as = req
                .headers()
                .get(crate::auth::ACT_AS_HEADER)
                .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
            let path = req.uri().path().to_string();
            let principal = match acting(&state, principal, act_as, &path).await {
                Ok(p) => p,
                Err(res) => return closing(res),
            };
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => {
            state.metrics.auth_failure(&e);
            let oauth = if api_key {
                None
            } else {
                state.auth.oauth().map(|v| v.settings())
            };
            closing(unauthorized(&e, oauth))
        }
    }
}

/// The paths a key may act for another user on (`X-PM-MCP-Act-As`): the tool transports and the
/// REST helpers that run tools. Administration and provider sync always act as the key's owner.
const ACT_AS_PATHS: [&str; 5] = ["/mcp", "/sse", "/messages", "/tools/call", "/users"];

/// The caller, or the user they act for when the request names one (`X-PM-MCP-Act-As`), or the
/// refusal (403, and nothing runs).
async fn acting(
    state: &AppState,
    principal: Principal,
    act_as: Option<String>,
    path: &str,
) -> Result<Principal, Response> {
    let Some(value) = act_as else {
        return Ok(principal);
    };
    let email = value.trim();
    if email.is_empty() {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "X-PM-MCP-Act-As must name a user by e-mail address",
        ));
    }
    if !ACT_AS_PATHS.contains(&path) {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "X-PM-MCP-Act-As is accepted on /mcp, /sse, /messages, /tools/call and /users only",
        ));
    }
    let actor = principal.user.id;
    match state.auth.act_as(principal, email).await {
        Ok(p) => {
            tracing::debug!(user_id = %p.user.id, actor_user_id = %actor, "acting for a user");
            Ok(p)
        }
        Err(crate::auth::ActAsError::Unavailable) => Err(database_unavailable(
            &crate::auth::ActAsError::Unavailable.to_string(),
        )),
        Err(e) => {
            tracing::info!(actor_user_id = %actor, reason = ?e, "act-as refused");
            Err(json_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                &e.to_string(),
            ))
        }
    }
}

/// The scope each tool needs, by name.
fn tool_scopes() -> &'static std::collections::HashMap<String, pm_core::Scope> {
    static SCOPES: std::sync::OnceLock<std::collections::HashMap<String, pm_core::Scope>> =
        std::sync::OnceLock::new();
    SCOPES.get_or_init(|| {
        PmServer::all_tools()
            .iter()
            .map(|t| (t.name.to_string(), crate::tools::required_scope(t)))
            .collect()
    })
}

/// For callers signed in with OAuth: a tool call their token's scopes do not allow is answered
/// 403 `insufficient_scope` with the scopes to ask for, so the client can ask the user for more
/// (step-up authorization). API-key callers get the tool error instead, as before.
async fn require_tool_scope(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(oauth) = state.auth.oauth() else {
        return next.run(req).await;
    };
    let Some(principal) = req.extensions().get::<Principal>() else {
        return next.run(req).await;
    };
    if req.method() != http::Method::POST || principal.token().is_none() {
        return next.run(req).await;
    }
    let scopes = principal.scopes();
    let (parts, body) = req.into_parts();
    // The body was read and size-checked by `guard_json_body`; this takes it back in one piece.
    let Ok(bytes) = axum::body::to_bytes(body, state.http.max_body_bytes).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        );
    };
    let needed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| strongest_tool_scope(&v));
    if let Some((tool, needed)) = needed
        && !scopes.grants(needed)
    {
        return insufficient_scope(
            oauth.settings(),
            needed,
            &format!(
                "{tool} needs the {needed} scope; sign in again granting {}",
                oauth.settings().scope_names.to_ask(needed)
            ),
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The strongest scope the tool calls in a JSON-RPC message (or batch) need, with the tool.
fn strongest_tool_scope(message: &serde_json::Value) -> Option<(String, pm_core::Scope)> {
    let calls: Vec<&serde_json::Value> = match message {
        serde_json::Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    calls
        .into_iter()
        .filter(|m| m.get("method").and_then(|v| v.as_str()) == Some("tools/call"))
        .filter_map(|m| m.get("params")?.get("name")?.as_str())
        .filter_map(|name| Some((name.to_string(), *tool_scopes().get(name)?)))
        .max_by_key(|(_, scope)| *scope)
}

/// 403 `insufficient_scope` (RFC 6750 §3.1) with the scopes to ask for and where the metadata is.
fn insufficient_scope(
    oauth: &crate::oauth::OAuthSettings,
    needed: pm_core::Scope,
    message: &str,
) -> Response {
    let challenge = format!(
        r#"Bearer error="insufficient_scope", scope="{}", resource_metadata="{}", error_description="{}""#,
        oauth.scope_names.to_ask(needed),
        oauth.metadata_url(),
        header_safe(message)
    );
    let mut res = (
        StatusCode::FORBIDDEN,
        axum::Json(json!({
            "error": "insufficient_scope",
            "message": message,
            "scope": oauth.scope_names.to_ask(needed),
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// `GET /.well-known/oauth-protected-resource[/path]`: the Protected Resource Metadata (RFC
/// 9728), at the root and at the path of every resource pm-mcp serves (`/mcp`, the legacy `/sse`
/// and the configured resource's own path).
async fn resource_metadata(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(oauth) = state.auth.oauth().map(|v| v.settings()) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "oauth_not_configured",
            "this pm-mcp server does not accept OAuth sign-in; authenticate with an API key",
        );
    };
    let suffix = req
        .uri()
        .path()
        .trim_start_matches("/.well-known/oauth-protected-resource")
        .trim_end_matches('/');
    let own = url::Url::parse(&oauth.resource)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    if !matches!(suffix, "" | "/mcp" | "/sse") && suffix != own {
        return not_found().await;
    }
    with_headers(
        axum::Json(oauth.metadata()).into_response(),
        &[
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
    )
}

/// CORS preflight for the metadata (browser-based clients send `MCP-Protocol-Version`).
async fn metadata_preflight() -> Response {
    with_headers(
        StatusCode::NO_CONTENT.into_response(),
        &[
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "*"),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
}

fn with_headers(mut res: Response, headers: &[(header::HeaderName, &'static str)]) -> Response {
    for (name, value) in headers {
        res.headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    res
}

/// Seconds a client is told to wait (`Retry-After`) when the database cannot be reached: about
/// what the pool waits for a connection before giving up.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 5;

/// The key's rate limit and in-flight cap: over either, 429 with `Retry-After` at once (nothing
/// is queued). The in-flight place is held until the answer starts.
async fn limit_per_key(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(key) = req.extensions().get::<Principal>().map(Principal::holder) else {
        return next.run(req).await;
    };
    match state.limiter.admit(key) {
        Ok(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        Err(refusal) => {
            let secs = refusal.retry_after_secs();
            let limits = state.limiter.limits();
            let message = match refusal {
                Refusal::Rate { .. } => format!(
                    "this API key made more than {} requests per second (burst {}); retry after {secs} s",
                    limits.rate_per_sec, limits.burst
                ),
                Refusal::InFlight { max } => format!(
                    "this API key already has {max} requests in flight; wait for one to finish"
                ),
            };
            tracing::debug!(key_id = %key, ?refusal, "refused over the key's limit");
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({
                    "error": "rate_limited",
                    "message": message,
                    "retry_after": secs,
                })),
            )
                .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            closing(res)
        }
    }
}

/// 503 with `Retry-After` and a JSON body: pm-mcp's own database cannot be reached.
pub fn database_unavailable(message: &str) -> Response {
    let mut res = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        message,
    );
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(DATABASE_RETRY_AFTER_SECS),
    );
    res
}

/// 401 with a `WWW-Authenticate` challenge and a JSON body naming what is wrong (503 when the
/// key could not be checked because the database or identity provider is down: the key may well
/// be good). With `oauth`, the challenge also says where the Protected Resource Metadata is and
/// which scopes to ask for (RFC 9728 §5.1), so an OAuth client can sign the user in.
pub fn unauthorized(e: &AuthError, oauth: Option<&crate::oauth::OAuthSettings>) -> Response {
    use crate::oauth::TokenError;
    match e {
        AuthError::Unavailable => return database_unavailable(&e.to_string()),
        AuthError::Token(TokenError::IssuerUnavailable) => {
            let mut res = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "issuer_unavailable",
                &e.to_string(),
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(DATABASE_RETRY_AFTER_SECS),
            );
            return res;
        }
        AuthError::Token(TokenError::NoScope(_)) if let Some(oauth) = oauth => {
            return insufficient_scope(oauth, pm_core::Scope::Read, &e.to_string());
        }
        // A valid token for someone pm-mcp does not serve: signing in again cannot help.
        AuthError::Token(TokenError::NoUser(_)) => {
            return json_error(StatusCode::FORBIDDEN, "unknown_user", &e.to_string());
        }
        _ => {}
    }
    let message = e.to_string();
    let mut challenge = match e {
        AuthError::Missing => r#"Bearer realm="pm-mcp""#.to_string(),
        _ => format!(
            r#"Bearer realm="pm-mcp", error="invalid_token", error_description="{}""#,
            header_safe(&message)
        ),
    };
    if let Some(oauth) = oauth {
        challenge.push_str(&format!(
            r#", resource_metadata="{}", scope="{}""#,
            oauth.metadata_url(),
            oauth.scope_names.to_ask(pm_core::Scope::Write)
        ));
    }
    let mut res = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": "unauthorized", "reason": e.reason(), "message": message })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// `text` as a quoted-string value fit for a header: ASCII only, no quotes or backslashes.
fn header_safe(text: &str) -> String {
    text.replace('…', "...")
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => ' ',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert!(!nesting_exceeds(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(nesting_exceeds(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!nesting_exceeds(br#"{"a":"[[[[{{{{\"[["}"#, 1));
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(nesting_exceeds(deep.as_bytes(), MAX_JSON_DEPTH));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(!nesting_exceeds(ok.as_bytes(), MAX_JSON_DEPTH));
    }

    #[test]
    fn challenges_name_the_problem() {
        let res = unauthorized(&AuthError::Revoked, None);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"pm-mcp\", error=\"invalid_token\""),
            "{challenge}"
        );
        let res = unauthorized(&AuthError::Unknown, None);
        assert!(
            res.headers()[header::WWW_AUTHENTICATE].to_str().is_ok(),
            "the challenge is plain ASCII"
        );
        let res = unauthorized(&AuthError::Missing, None);
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"pm-mcp\""
        );
        let res = unauthorized(&AuthError::Unavailable, None);
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        assert!(res.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
