//! The JSON answers the HTTP routes share: an error in words, and a JSON-RPC parse error.
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
