//! The JSON answers the HTTP routes share: an error in words, and a JSON-RPC parse error; and
//! the one test of whether a request's body is JSON.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer: `{"error": code, "message": words}` with `status`.
pub fn json_error(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "message": message })),
    )
        .into_response()
}

/// A JSON-RPC parse error (-32700), answered as the protocol wants: HTTP 400 with a JSON-RPC body.
pub fn parse_error(e: &serde_json::Error) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "jsonrpc": "2.0", "id": null,
            "error": { "code": -32700, "message": format!("Parse error: {e}") }
        })),
    )
        .into_response()
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}
