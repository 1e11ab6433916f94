//! The reference server's REST helpers for its web app, behind an API key (the reference answered
//! them without one, across every user's connections): `POST /tools/call` runs one tool exactly as
//! MCP `tools/call` does (scopes, toolsets, the reference's argument names, validation, audit) and
//! answers `[{"type": "text", "text": "<json>"}]`; `GET /users?projectId=…` answers `list_users`
//! for that project's connection. Errors are `{"detail": "…"}`.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::server::PmServer;
use crate::state::AppState;

/// The stateless MCP service the helpers run tools through (the same handler as `/mcp`).
#[derive(Clone)]
pub struct ToolRunner(pub StreamableHttpService<PmServer, LocalSessionManager>);

fn detail(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "detail": message, "error": code, "message": message })),
    )
        .into_response()
}

/// What running one tool came to: its content, or a refusal.
enum Ran {
    Result(Value),
    Refused(Response),
}

/// Runs `name` with `arguments` as MCP `tools/call` on the stateless service, for the request
/// whose parts (the authenticated caller, the request id and span, `X-MCP-Toolsets`) are `parts`.
async fn run(
    runner: &ToolRunner,
    mut parts: http::request::Parts,
    name: &str,
    arguments: Value,
) -> Ran {
    let message = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": name, "arguments": arguments },
    });
    parts.method = http::Method::POST;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let request = Request::from_parts(parts, Body::from(message.to_string()));
    let response = match runner.0.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let is_sse = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let Ok(bytes) =
        axum::body::to_bytes(axum::body::Body::new(response.into_body()), 64 << 20).await
    else {
        return Ran::Refused(detail(
            StatusCode::BAD_GATEWAY,
            "internal_error",
            "the tool's answer could not be read",
        ));
    };
    let answer: Option<Value> = if is_sse {
        // A tool that sent a notification first answers as an event stream: the last message
        // with an id is the answer.
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|m| m.get("id").is_some())
    } else {
        serde_json::from_slice(&bytes).ok()
    };
    let Some(answer) = answer else {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let status = if status.is_success() {
            StatusCode::BAD_GATEWAY
        } else {
            status
        };
        return Ran::Refused(detail(status, "internal_error", text.trim()));
    };
    if let Some(error) = answer.get("error") {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the tool call failed");
        let (status, code) = match code {
            -32602 if message.starts_with("unknown tool") => {
                (StatusCode::NOT_FOUND, "unknown_tool")
            }
            -32602 => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_arguments"),
            -32600 => (StatusCode::FORBIDDEN, "forbidden"),
            _ => (StatusCode::BAD_REQUEST, "tool_error"),
        };
        return Ran::Refused(detail(status, code, message));
    }
    let result = answer.get("result").cloned().unwrap_or(Value::Null);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        let text = texts(&result).join("\n");
        return Ran::Refused(detail(StatusCode::BAD_REQUEST, "tool_error", &text));
    }
    Ran::Result(result)
}

/// The text items of a tool result's content.
fn texts(result: &Value) -> Vec<String> {
    result
        .get("content")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("text").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /tools/call` with `{"name": …, "arguments": {…}}`.
pub async fn call_tool(
    State(state): State<Arc<AppState>>,
    axum::Extension(runner): axum::Extension<ToolRunner>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.http.max_body_bytes).await else {
        return detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        );
    };
    let Ok(call) = serde_json::from_slice::<Value>(&bytes) else {
        return detail(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "the body must be JSON: {\"name\": \"list_projects\", \"arguments\": {}}",
        );
    };
    let Some(name) = call.get("name").and_then(Value::as_str).map(str::to_string) else {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "name (the tool to call) is required",
        );
    };
    let arguments = match call.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(a @ Value::Object(_)) => a.clone(),
        Some(_) => {
            return detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "arguments must be an object",
            );
        }
    };
    match run(&runner, parts, &name, arguments).await {
        Ran::Refused(res) => res,
        Ran::Result(result) => {
            let content: Vec<Value> = texts(&result)
                .into_iter()
                .map(|text| json!({ "type": "text", "text": text }))
                .collect();
            axum::Json(content).into_response()
        }
    }
}

/// Whether `list_users` takes a `project_id` (the reference's "members of that project").
fn list_users_takes_project() -> bool {
    static TAKES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TAKES.get_or_init(|| {
        PmServer::all_tools()
            .iter()
            .find(|t| t.name == "list_users")
            .and_then(|t| t.input_schema.get("properties").cloned())
            .and_then(|p| p.as_object().map(|o| o.contains_key("project_id")))
            .unwrap_or(false)
    })
}

/// `GET /users?projectId=…`: the tracker users of that project (`list_users`), as the tool answers.
pub async fn users(
    axum::Extension(runner): axum::Extension<ToolRunner>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    req: Request,
) -> Response {
    let project = query
        .get("projectId")
        .or_else(|| query.get("project_id"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut arguments = serde_json::Map::new();
    if let Some(provider) = query.get("provider_id").filter(|s| !s.trim().is_empty()) {
        arguments.insert("provider_id".into(), provider.trim().into());
    }
    if let Some(project) = project {
        if list_users_takes_project() {
            arguments.insert("project_id".into(), project.into());
        } else if let Some((connection, _)) = project.split_once(':') {
            // The project's connection: its users are the ones who can be assigned there.
            arguments.insert("provider_id".into(), connection.into());
        }
    }
    let (parts, _) = req.into_parts();
    match run(&runner, parts, "list_users", Value::Object(arguments)).await {
        Ran::Refused(res) => res,
        Ran::Result(result) => {
            let value = result.get("structuredContent").cloned().unwrap_or_else(|| {
                texts(&result)
                    .first()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or(Value::Null)
            });
            axum::Json(value).into_response()
        }
    }
}

/// For the backend's and web app's routes: every error answer also carries `detail` (what the
/// reference's FastAPI clients read), beside pm-mcp's `error` and `message`.
pub async fn with_detail(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status().is_success() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (parts.status, "").into_response();
    };
    let mut value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => map,
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    if !value.contains_key("detail") {
        let text = value
            .get("message")
            .or_else(|| value.get("error"))
            .cloned()
            .unwrap_or(Value::Null);
        value.insert("detail".into(), text);
    }
    let body = Value::Object(value).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
