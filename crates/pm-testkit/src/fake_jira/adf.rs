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

/// Whether `doc` holds a node Jira refuses, anywhere in its tree: an empty text node, or a
/// block a `blockquote` or `listItem` may not hold (ADF reference, nodes `blockquote` and
/// `listItem`: paragraphs, lists, code blocks and media only — no heading, rule, table or quote).
pub fn has_empty_text(doc: &Value) -> bool {
    match doc {
        Value::Object(node) => {
            let kind = node.get("type").and_then(Value::as_str);
            let empty_text = kind == Some("text")
                && node
                    .get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
            let bad_quote = matches!(kind, Some("blockquote" | "listItem"))
                && node
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        !matches!(
                            c.get("type").and_then(Value::as_str),
                            Some(
                                "paragraph"
                                    | "bulletList"
                                    | "orderedList"
                                    | "codeBlock"
                                    | "mediaSingle"
                                    | "mediaGroup"
                            )
                        )
                    });
            empty_text || bad_quote || node.get("content").is_some_and(has_empty_text)
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
