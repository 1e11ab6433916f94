//! The admin REST API under `/admin/v1`: users, their API keys and tracker connections, and the
//! audit trail, for administrators (admin-scoped keys of admin users); and the same for one's own
//! account under `/admin/v1/me` for any key. Every operation is declared once in `operations()`:
//! the router and the OpenAPI document (`/admin/v1/openapi.json`) are both built from that list.
//! Errors are JSON `{"error": "<stable code>", "message": "…"}`; secrets go in and never come
//! out, except a new API key, once, in the answer that created it.
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use chrono::Utc;
use pm_core::Scope;
use pm_store::{AuditEvent, Outcome, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Principal;
use crate::manage::ManageError;
use crate::service::connections::ConnectionError;
use crate::state::AppState;

pub(crate) mod handlers;
pub mod openapi;

pub use openapi::{document, operations};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key needed (the OpenAPI document).
    Public,
    /// Any valid key, acting on its own user (writes need the write scope).
    Own,
    /// An administrator's admin-scoped key.
    Admin,
}

/// The admin routes that need a key (the caller wraps them in API-key authentication).
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    operations()
        .into_iter()
        .filter(|op| op.access != Access::Public)
        .fold(Router::new(), |router, op| {
            let route = guarded(op.handler, op.id, op.access, op.method, state.clone());
            router.route(op.path, route)
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take this method; see /admin/v1/openapi.json",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.http.max_body_bytes,
        ))
}

/// The routes that need no key (behind the Host/Origin guard like the rest).
pub fn public_router() -> Router<Arc<AppState>> {
    operations()
        .into_iter()
        .filter(|op| op.access == Access::Public)
        .fold(Router::new(), |router, op| {
            router.route(op.path, op.handler)
        })
}

/// One operation's handler wrapped with its access check and, for changes, its audit row.
fn guarded(
    handler: MethodRouter<Arc<AppState>>,
    id: &'static str,
    access: Access,
    method: &'static str,
    state: Arc<AppState>,
) -> MethodRouter<Arc<AppState>> {
    handler.route_layer(middleware::from_fn(move |req: Request, next: Next| {
        let state = state.clone();
        async move {
            let principal = req.extensions().get::<Principal>().cloned();
            // The user an administrator's change is made for (`/admin/v1/users/{id}/…`).
            let for_user = req
                .uri()
                .path()
                .strip_prefix("/admin/v1/users/")
                .and_then(|rest| rest.split('/').next())
                .and_then(|id| id.parse::<pm_core::UserId>().ok());
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let started = Instant::now();
            let (res, connection) = match (&principal, access) {
                (Some(p), Access::Admin) if !is_admin(p) => (
                    ApiError::forbidden(
                        "this operation needs an administrator's key with the admin scope",
                    )
                    .into_response(),
                    None,
                ),
                _ => {
                    let (res, notes) = crate::audit::track_connection(next.run(req)).await;
                    (res, notes.connection)
                }
            };
            if method != "get"
                && let Some(p) = principal
            {
                let status = res.status();
                let outcome = if status.is_success() {
                    Outcome::Ok
                } else if status == StatusCode::FORBIDDEN {
                    Outcome::Denied
                } else {
                    Outcome::Error
                };
                // A change for another user names them, with the administrator as the actor.
                let (user_id, actor_user_id) = match for_user {
                    Some(target) if target != p.user.id && status != StatusCode::FORBIDDEN => {
                        (target, Some(p.user.id))
                    }
                    _ => (p.user.id, p.actor.as_ref().map(|a| a.id)),
                };
                state.audit.record(AuditEvent {
                    id: uuid::Uuid::new_v4(),
                    at: Utc::now(),
                    user_id: Some(user_id),
                    key_id: p.key_id(),
                    tool: format!("admin.{id}"),
                    connection_id: connection,
                    outcome,
                    duration_ms: started.elapsed().as_millis() as i64,
                    error_kind: res.extensions().get::<ErrorCode>().map(|c| c.0.to_string()),
                    request_id,
                    actor_user_id,
                });
            }
            res
        }
    }))
}

/// Whether the key may use the admin operations: the admin scope, held by an administrator.
pub fn is_admin(p: &Principal) -> bool {
    p.scopes().holds(Scope::Admin) && p.user.is_admin
}

/// The stable code of an error answer, for its audit row.
#[derive(Debug, Clone, Copy)]
struct ErrorCode(&'static str);

/// An error answer: a status, a stable code and a message that never holds a secret.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: `unauthorized`, `forbidden`, `not_found`,
    /// `malformed_request`, `invalid_request`, `connection_test_failed`, `conflict`,
    /// `payload_too_large`, `database_unavailable`, `internal_error`…
    pub error: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// Why a key was refused (401 only): missing, malformed, unknown, revoked, expired,
    /// user_disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Well-formed JSON that does not describe an acceptable request (422).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
            reason: None,
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.extensions_mut().insert(ErrorCode(self.code));
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "admin API: the database is unreachable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "pm-mcp's database cannot be reached; try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "admin API: store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "pm-mcp's database could not answer; see the server log",
                )
            }
        }
    }
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid(m) => ApiError::invalid(m),
            ManageError::Conflict(m) => ApiError::conflict(m),
            ManageError::NotFound(what) => ApiError::not_found(what),
            ManageError::Store(e) => e.into(),
        }
    }
}

impl From<ConnectionError> for ApiError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Invalid(m) => ApiError::invalid(m),
            ConnectionError::Conflict(m) => ApiError::conflict(m),
            ConnectionError::TestFailed(m) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "connection_test_failed",
                m,
            ),
            ConnectionError::Credentials(m) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", m)
            }
            ConnectionError::Store(e) => e.into(),
        }
    }
}

/// A JSON request body. A body that is not JSON answers 400 `malformed_request`; JSON of the
/// wrong shape 422 `invalid_request` (the message never quotes the values sent, which may be
/// secrets); one over the size limit 413.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(body_rejection(&rejection)),
        }
    }
}

fn body_rejection(rejection: &JsonRejection) -> ApiError {
    let text = unquote(&rejection.body_text());
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::invalid(text),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", text),
    }
}

/// A deserializer's message with every quoted value replaced by `…`: a value sent in the wrong
/// field may be a secret, and it is not repeated back.
fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            // A quote or backslash inside the value is escaped (`\"`): skipped with it.
            '\\' if quoted => {
                chars.next();
            }
            '"' if quoted => {
                quoted = false;
                out.push_str("\"…\"");
            }
            '"' => quoted = true,
            _ if quoted => {}
            c => out.push(c),
        }
    }
    if quoted {
        out.push('…');
    }
    // serde names a value that is none of an enum's variants in backticks (`unknown variant
    // `x`, expected one of …`): that value is left out too. Field names stay: they help.
    const VARIANT: &str = "unknown variant `";
    let mut text = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find(VARIANT) {
        text.push_str(&rest[..at + VARIANT.len()]);
        text.push('…');
        rest = &rest[at + VARIANT.len()..];
        let end = ["`, expected", "`, there are no variants"]
            .iter()
            .filter_map(|m| rest.find(m))
            .min()
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_messages_do_not_repeat_values() {
        let m = unquote(r#"invalid type: string "hunter2-secret", expected a boolean at line 1"#);
        assert!(!m.contains("hunter2"), "{m}");
        assert!(m.contains("expected a boolean"), "{m}");
        assert_eq!(unquote(r#"x "open"#), "x …");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/admin_bodies.rs): a quote inside a value (`\"`)
    /// ended its hiding, and the rest of the value came back.
    #[test]
    fn escaped_quotes_do_not_end_a_hidden_value() {
        let m = unquote(
            r#"invalid type: string "a\", s3cr3tT0ken12345\\", expected a boolean at line 1"#,
        );
        assert_eq!(
            m,
            r#"invalid type: string "…", expected a boolean at line 1"#
        );
    }

    /// Found by fuzzing (fuzz/fuzz_targets/admin_bodies.rs): a value sent where a scope goes
    /// came back in backticks (`unknown variant `…``).
    #[test]
    fn unknown_variants_are_not_repeated() {
        let m = unquote(
            "scopes[0]: unknown variant `tok3nV4lue123456`, expected one of `read`, `write` at line 1 column 30",
        );
        assert_eq!(
            m,
            "scopes[0]: unknown variant `…`, expected one of `read`, `write` at line 1 column 30"
        );
        assert_eq!(
            unquote("unknown variant `a`b`, there are no variants"),
            "unknown variant `…`, there are no variants"
        );
        assert_eq!(unquote("unknown variant `cut"), "unknown variant `…");
        assert_eq!(
            unquote("unknown field `api_tokn`, expected `name`"),
            "unknown field `api_tokn`, expected `name`",
            "field names stay"
        );
    }

    #[test]
    fn store_errors_map_to_stable_codes() {
        let e: ApiError = StoreError::Unavailable("pool timed out".into()).into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
        );
        assert!(!e.message.contains("pool"));
        let e: ApiError = StoreError::NotFound("user").into();
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, "not_found"));
        let e: ApiError = StoreError::Conflict("taken".into()).into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = ManageError::Invalid("bad scope".into()).into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
        );
    }
}
