//! The legacy HTTP+SSE transport (protocol revision 2024-11-05), for clients that predate
//! Streamable HTTP: `GET /sse` opens an event stream whose first event (`endpoint`) names where to
//! post; the client POSTs each JSON-RPC message to `/messages?sessionId=…` (answered `202`) and
//! reads the replies from the stream. Same Host/Origin checks, key authentication, body limit and
//! tools as `/mcp`. A session belongs to the key that opened it and lives in this process only, so
//! SSE clients need sticky load balancing when there are several replicas.
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::json;

use crate::answers::json_error;
use crate::auth::{Principal, key_from_headers};
use crate::server::PmServer;
use crate::sse_sessions::{Refused, Session};
use crate::state::AppState;

const QUEUE: usize = 64;

/// Removes its session when the event stream is dropped (the client went away, or the server ended).
struct Guard {
    id: String,
    state: Arc<AppState>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.state.sse.remove(&self.id);
        tracing::debug!(session = %self.id, "SSE session closed");
    }
}

/// `GET /sse`: starts a session for the authenticated key and streams its messages.
pub async fn open(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    // The key was verified by the auth layer; the session re-checks it on every request.
    let Ok(raw_key) = key_from_headers(&headers) else {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorized", "no API key");
    };
    // The auth layer checked X-PM-MCP-Act-As (when sent); the session acts for that user, and
    // checks the permission again on every request.
    let act_as = headers
        .get(crate::auth::ACT_AS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .filter(|_| principal.actor.is_some());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (in_tx, in_rx) = mpsc::channel::<ClientJsonRpcMessage>(QUEUE);
    let (out_tx, out_rx) = mpsc::channel(QUEUE);
    if let Err(why) = state.sse.insert(
        &id,
        Session {
            key: principal.holder(),
            user: principal.user.id,
            inbound: in_tx,
        },
    ) {
        return json_error(StatusCode::TOO_MANY_REQUESTS, "too_many_sessions", why);
    }
    let server = PmServer::for_key_acting(state.clone(), &raw_key, act_as);
    let session = id.clone();
    tokio::spawn(async move {
        match server.serve((out_tx, in_rx)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => {
                tracing::debug!(%session, error = %e, "SSE session ended before initialisation")
            }
        }
    });
    tracing::debug!(session = %id, user_id = %principal.user.id, "SSE session opened");
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/messages?sessionId={id}"));
    let guard = Guard { id, state };
    let messages = out_rx.map(move |msg: rmcp::model::ServerJsonRpcMessage| {
        let _alive = &guard;
        let data = serde_json::to_string(&msg).unwrap_or_default();
        Ok::<_, Infallible>(Event::default().event("message").data(data))
    });
    let stream =
        futures::stream::once(async move { Ok::<_, Infallible>(endpoint) }).chain(messages);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `POST /messages?sessionId=…`: hands one JSON-RPC message to the session.
pub async fn post(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(id) = query.get("sessionId").or_else(|| query.get("session_id")) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "session_missing",
            "add ?sessionId=… from the endpoint event",
        );
    };
    // Another key's session answers exactly like one that does not exist.
    let mut inbound = match state.sse.inbound(id, principal.holder(), principal.user.id) {
        Ok(inbound) => inbound,
        Err(Refused::Unknown) => {
            return json_error(
                StatusCode::NOT_FOUND,
                "unknown_session",
                "no such SSE session; open a new one with GET /sse",
            );
        }
        Err(Refused::OtherUser) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this SSE session acts for another user: send the same X-PM-MCP-Act-As header as on GET /sse",
            );
        }
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice::<serde_json::Value>(&body) {
        Err(e) => return crate::answers::parse_error(&e),
        Ok(value) => match serde_json::from_value(value) {
            Ok(m) => m,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "jsonrpc": "2.0", "id": null,
                        "error": { "code": -32600, "message": format!("Invalid Request: {e}") }
                    })),
                )
                    .into_response();
            }
        },
    };
    match tokio::time::timeout(Duration::from_secs(10), inbound.send(message)).await {
        Ok(Ok(())) => StatusCode::ACCEPTED.into_response(),
        Ok(Err(_)) => json_error(
            StatusCode::NOT_FOUND,
            "unknown_session",
            "the SSE session has ended; open a new one",
        ),
        Err(_) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the session is not keeping up; retry shortly",
        ),
    }
}
