//! What Jira Cloud checks in an Atlassian Document before it stores one.
//!
//! A `text` node must hold at least one character (Atlassian's ADF reference, node `text`: "text
//! … must not be empty"); Jira Cloud refuses a document with an empty one with 400 and
//! `{"errorMessages": ["INVALID_INPUT"], "errors": {}}`, whatever field carried it (reported by
//! other clients: prowler-cloud/prowler#11474, whyisdifficult/jiratui#246,
//! jenkinsci/JiraTestResultReporter-plugin#287).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Whether `doc` holds a text node Jira refuses (empty), anywhere in its tree.
pub fn has_empty_text(doc: &Value) -> bool {
    match doc {
        Value::Object(node) => {
            let empty_text = node.get("type").and_then(Value::as_str) == Some("text")
                && node
                    .get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
            empty_text || node.get("content").is_some_and(has_empty_text)
        }
        Value::Array(list) => list.iter().any(has_empty_text),
        _ => false,
    }
}

/// Jira Cloud's answer to a document it cannot take.
pub fn invalid_input() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "errorMessages": ["INVALID_INPUT"], "errors": {} })),
    )
        .into_response()
}
