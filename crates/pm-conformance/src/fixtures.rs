//! The fixtures themselves: tools, resources, prompts and completion, with the names and contents
//! the suite asks for.
#![allow(deprecated)] // sampling, roots and logging are deprecated protocol features the suite still tests

use std::sync::LazyLock;

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::*;
use rmcp::service::RequestContext;
use serde_json::{Value, json};

/// A 1×1 PNG and a short WAV, as the suite's reference server uses.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";
const CACHE_TTL_MS: u64 = 60_000;

/// Seals `requestState` for the multi-round fixtures with a key of this process.
static STATE_CODEC: LazyLock<RequestStateCodec> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    rand_key(&mut key);
    RequestStateCodec::new(key.to_vec())
});

fn rand_key(out: &mut [u8]) {
    // Fresh per process; uuid v4 is random enough for a test fixture's HMAC key.
    for chunk in out.chunks_mut(16) {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

fn no_args() -> JsonObject {
    object(json!({ "type": "object", "properties": {} }))
}

fn tool(name: &'static str, description: &'static str, schema: JsonObject) -> Tool {
    Tool::new(name, description, schema)
}

/// Fixture tools, `test_simple_text` first (the suite calls the first listed tool).
pub fn tools() -> Vec<Tool> {
    let prompt_arg = |name: &str| {
        object(
            json!({ "type": "object", "properties": { name: { "type": "string" } }, "required": [name] }),
        )
    };
    vec![
        tool(
            "test_simple_text",
            "Returns a simple text content block.",
            no_args(),
        ),
        tool(
            "test_image_content",
            "Returns an image content block.",
            no_args(),
        ),
        tool(
            "test_audio_content",
            "Returns an audio content block.",
            no_args(),
        ),
        tool(
            "test_embedded_resource",
            "Returns an embedded resource.",
            no_args(),
        ),
        tool(
            "test_multiple_content_types",
            "Returns text, image and resource content.",
            no_args(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three log messages while running.",
            no_args(),
        ),
        tool(
            "test_tool_with_progress",
            "Reports progress three times while running.",
            no_args(),
        ),
        tool(
            "test_error_handling",
            "Always fails, as a tool result with isError.",
            no_args(),
        ),
        tool(
            "test_sampling",
            "Asks the client's model to complete a prompt.",
            prompt_arg("prompt"),
        ),
        tool(
            "test_elicitation",
            "Asks the user for information.",
            prompt_arg("message"),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicitation with default values (SEP-1034).",
            no_args(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Elicitation with enum schemas (SEP-1330).",
            no_args(),
        ),
        tool(
            "test_missing_capability",
            "Needs the client's sampling capability.",
            no_args(),
        ),
        tool(
            "test_streaming_elicitation",
            "Asks for input in the 2026 request/retry style.",
            no_args(),
        ),
        tool(
            "test_logging_tool",
            "Logs only when the request asks for a log level.",
            no_args(),
        ),
        tool(
            "test_trigger_tool_change",
            "Would announce a tool-list change.",
            no_args(),
        ),
        tool(
            "test_trigger_prompt_change",
            "Would announce a prompt-list change.",
            no_args(),
        ),
        tool(
            "test_input_required_result_elicitation",
            "Needs an elicitation answer (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_sampling",
            "Needs a sampling answer (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_list_roots",
            "Needs the client's roots (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_request_state",
            "Keeps sealed state between rounds (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_tampered_state",
            "Refuses altered state (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "Needs three answers at once (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_multi_round",
            "Needs answers over two rounds (SEP-2322).",
            no_args(),
        ),
        tool(
            "test_input_required_result_capabilities",
            "Asks only for what the client supports (SEP-2322).",
            no_args(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Declares a JSON Schema 2020-12 input schema.",
            json_schema_2020_12(),
        ),
    ]
}

/// An input schema using 2020-12 keywords, which the suite expects back verbatim.
fn json_schema_2020_12() -> JsonObject {
    object(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    }))
}

pub fn is_fixture(name: &str) -> bool {
    name.starts_with("test_") || name == "json_schema_2020_12_tool"
}

fn text(t: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(t)]).into())
}

fn text_resource(uri: &str, mime: &str, body: &str) -> ResourceContents {
    ResourceContents::TextResourceContents {
        uri: uri.into(),
        mime_type: Some(mime.into()),
        text: body.into(),
        meta: None,
    }
}

fn elicit(message: &str, properties: Value, required: Value) -> InputRequest {
    let schema = serde_json::from_value(
        json!({ "type": "object", "properties": properties, "required": required }),
    )
    .expect("the fixtures' elicitation schemas are valid");
    InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.into(),
            requested_schema: schema,
        },
    ))
}

fn sample(prompt: &str, max_tokens: u32) -> InputRequest {
    InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        max_tokens,
    )))
}

fn roots() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

fn input_required(
    requests: Vec<(&str, InputRequest)>,
    state: Option<Value>,
) -> Result<CallToolResponse, ErrorData> {
    let mut map = InputRequests::new();
    for (k, r) in requests {
        map.insert(k.into(), r);
    }
    let sealed = match state {
        Some(s) => Some(
            STATE_CODEC
                .seal_json(&s)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?,
        ),
        None => None,
    };
    Ok(InputRequiredResult::new(Some(map), sealed).into())
}

/// The answer under `key`, when it is an object (anything else counts as missing).
fn answer<'a>(responses: Option<&'a InputResponses>, key: &str) -> Option<&'a JsonObject> {
    responses
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
}

fn open_state(sealed: Option<&str>) -> Result<Option<Value>, ErrorData> {
    sealed
        .map(|s| {
            STATE_CODEC.open_json::<Value>(s).map_err(|_| {
                ErrorData::invalid_params("requestState failed its integrity check", None)
            })
        })
        .transpose()
}

async fn progress(context: &RequestContext<RoleServer>) {
    let token = context.meta.get_progress_token();
    for (done, message) in [(0.0, "started"), (50.0, "halfway"), (100.0, "done")] {
        if let Some(token) = &token {
            let _ = context
                .peer
                .notify_progress(
                    ProgressNotificationParam::new(token.clone(), done)
                        .with_total(100.0)
                        .with_message(message),
                )
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Runs a fixture tool; `None` when `request` names no fixture.
pub async fn call(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Option<Result<CallToolResponse, ErrorData>> {
    if !is_fixture(&request.name) {
        return None;
    }
    let args = request.arguments.clone().unwrap_or_default();
    let responses = request.input_responses.as_ref();
    let arg = |name: &str, default: &str| {
        args.get(name)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    Some(match request.name.as_ref() {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => Ok(CallToolResult::success(vec![ContentBlock::image(PNG, "image/png")]).into()),
        "test_audio_content" => Ok(CallToolResult::success(vec![ContentBlock::Audio(AudioContent::new(WAV, "audio/wav"))]).into()),
        "test_embedded_resource" => Ok(CallToolResult::success(vec![ContentBlock::resource(text_resource(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        ))])
        .into()),
        "test_multiple_content_types" => Ok(CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG, "image/png"),
            ContentBlock::resource(text_resource("test://mixed-content-resource", "application/json", r#"{"test":"data","value":123}"#)),
        ])
        .into()),
        "test_tool_with_logging" => {
            for message in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
                let _ = context
                    .peer
                    .notify_logging_message(LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message)).with_logger("pm-mcp"))
                    .await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            text("Tool with logging executed successfully")
        }
        "test_tool_with_progress" => {
            progress(context).await;
            text("Tool with progress executed successfully")
        }
        "test_error_handling" => {
            Ok(CallToolResult::error(vec![ContentBlock::text("This tool intentionally returns an error for testing")]).into())
        }
        "test_sampling" => {
            let asked = context
                .peer
                .create_message(CreateMessageRequestParams::new(vec![SamplingMessage::user_text(arg("prompt", "Hello"))], 100))
                .await;
            match asked {
                Ok(r) => {
                    let reply = r.message.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default();
                    text(format!("LLM response: {reply}"))
                }
                Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!("sampling failed: {e}"))]).into()),
            }
        }
        "test_elicitation" => {
            elicit_now(
                context,
                &arg("message", "Please provide your information"),
                json!({
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                }),
                json!(["username", "email"]),
            )
            .await
        }
        "test_elicitation_sep1034_defaults" => {
            elicit_now(
                context,
                "Please review and update the form fields with defaults",
                json!({
                    "name": { "type": "string", "description": "User name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "User age", "default": 30 },
                    "score": { "type": "number", "description": "User score", "default": 95.5 },
                    "status": { "type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active" },
                    "verified": { "type": "boolean", "description": "Verification status", "default": true }
                }),
                json!([]),
            )
            .await
        }
        "test_elicitation_sep1330_enums" => {
            let titled = |a: &str, b: &str, c: &str| {
                json!([{ "const": "value1", "title": a }, { "const": "value2", "title": b }, { "const": "value3", "title": c }])
            };
            elicit_now(
                context,
                "Please select options from the enum fields",
                json!({
                    "untitledSingle": { "type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": { "type": "string", "description": "Select one option with titles", "oneOf": titled("First Option", "Second Option", "Third Option") },
                    "legacyEnum": { "type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                    "untitledMulti": { "type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3, "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                    "titledMulti": { "type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3, "items": { "anyOf": titled("First Choice", "Second Choice", "Third Choice") } }
                }),
                json!([]),
            )
            .await
        }
        "test_missing_capability" => {
            if context.meta.client_capabilities().unwrap_or_default().sampling.is_none() {
                Err(ErrorData::missing_required_client_capability(ClientCapabilities::builder().enable_sampling().build()))
            } else {
                text("The client declared sampling")
            }
        }
        "test_streaming_elicitation" => input_required(
            vec![("value", elicit("Provide a value", json!({ "value": { "type": "string" } }), json!(["value"])))],
            None,
        ),
        "test_logging_tool" => {
            if let Some(level) = context.meta.log_level() {
                let _ = context
                    .peer
                    .notify_logging_message(LoggingMessageNotificationParam::new(level, json!("a log level was requested")).with_logger("pm-mcp"))
                    .await;
            }
            text("Logging tool completed")
        }
        "test_trigger_tool_change" | "test_trigger_prompt_change" => text("pm-mcp's lists do not change while it runs"),
        "json_schema_2020_12_tool" => text("Schema accepted"),
        "test_input_required_result_elicitation" => match answer(responses, "user_name") {
            Some(a) => text(format!("Hello, {}!", a.get("content").and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("friend"))),
            None => input_required(vec![("user_name", elicit("What is your name?", json!({ "name": { "type": "string" } }), json!(["name"])))], None),
        },
        "test_input_required_result_sampling" => match answer(responses, "capital_question") {
            Some(_) => text("The client's model answered the question"),
            None => input_required(vec![("capital_question", sample("What is the capital of France?", 100))], None),
        },
        "test_input_required_result_list_roots" => match answer(responses, "client_roots") {
            Some(a) => text(format!("The client has {} root(s)", a.get("roots").and_then(Value::as_array).map_or(0, Vec::len))),
            None => input_required(vec![("client_roots", roots())], None),
        },
        "test_input_required_result_request_state" | "test_input_required_result_tampered_state" => {
            match open_state(request.request_state.as_deref()) {
                Err(e) => Err(e),
                Ok(Some(_)) if answer(responses, "confirm").is_some() => text("Confirmed: state-ok"),
                Ok(_) => input_required(
                    vec![("confirm", elicit("Please confirm", json!({ "ok": { "type": "boolean" } }), json!(["ok"])))],
                    Some(json!({ "stage": "confirm" })),
                ),
            }
        }
        "test_input_required_result_multiple_inputs" => {
            let complete = ["user_name", "greeting", "client_roots"].iter().all(|k| answer(responses, k).is_some());
            match open_state(request.request_state.as_deref()) {
                Err(e) => Err(e),
                Ok(Some(_)) if complete => text("Received all three answers"),
                Ok(_) => input_required(
                    vec![
                        ("user_name", elicit("What is your name?", json!({ "name": { "type": "string" } }), json!(["name"]))),
                        ("greeting", sample("Generate a greeting", 50)),
                        ("client_roots", roots()),
                    ],
                    Some(json!({ "stage": "all" })),
                ),
            }
        }
        "test_input_required_result_multi_round" => {
            let state = match open_state(request.request_state.as_deref()) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let stage = state.as_ref().and_then(|s| s.get("stage")).and_then(Value::as_str).unwrap_or("");
            match (stage, answer(responses, "step1"), answer(responses, "step2")) {
                ("step2", _, Some(_)) => text("Both rounds complete"),
                ("step1", Some(a), _) => {
                    let name = a.get("content").and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("friend").to_string();
                    input_required(
                        vec![("step2", elicit("Step 2: What is your favorite color?", json!({ "color": { "type": "string" } }), json!(["color"])))],
                        Some(json!({ "stage": "step2", "name": name })),
                    )
                }
                _ => input_required(
                    vec![("step1", elicit("Step 1: What is your name?", json!({ "name": { "type": "string" } }), json!(["name"])))],
                    Some(json!({ "stage": "step1" })),
                ),
            }
        }
        "test_input_required_result_capabilities" => {
            if responses.is_some_and(|r| !r.is_empty()) {
                return Some(text("Answered with the client's capabilities"));
            }
            let caps = context.meta.client_capabilities().unwrap_or_default();
            let mut asks = Vec::new();
            if caps.elicitation.is_some() {
                asks.push(("user_name", elicit("What is your name?", json!({ "name": { "type": "string" } }), json!(["name"]))));
            }
            if caps.sampling.is_some() {
                asks.push(("greeting", sample("Generate a greeting", 50)));
            }
            if caps.roots.is_some() {
                asks.push(("client_roots", roots()));
            }
            if asks.is_empty() { text("The client declared no input capability") } else { input_required(asks, None) }
        }
        other => Err(ErrorData::invalid_params(format!("unknown tool {other:?}"), None)),
    })
}

async fn elicit_now(
    context: &RequestContext<RoleServer>,
    message: &str,
    properties: Value,
    required: Value,
) -> Result<CallToolResponse, ErrorData> {
    let schema: ElicitationSchema = serde_json::from_value(
        json!({ "type": "object", "properties": properties, "required": required }),
    )
    .map_err(|e| ErrorData::internal_error(format!("fixture schema: {e}"), None))?;
    let asked = context
        .peer
        .create_elicitation(ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.into(),
            requested_schema: schema,
        })
        .await;
    match asked {
        Ok(r) => text(format!(
            "Elicitation completed: action={}, content={}",
            serde_json::to_value(&r.action)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            serde_json::to_string(&r.content).unwrap_or_default()
        )),
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "elicitation failed: {e}"
        ))])
        .into()),
    }
}

pub fn list_resources() -> ListResourcesResult {
    ListResourcesResult::with_all_items(vec![
        Resource::new("test://static-text", "Static text").with_mime_type("text/plain"),
        Resource::new("test://static-binary", "Static binary").with_mime_type("image/png"),
        Resource::new("test://watched-resource", "Watched resource").with_mime_type("text/plain"),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn list_resource_templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new("test://template/{id}/data", "Templated data")
            .with_mime_type("application/json"),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn read_resource(uri: &str) -> Result<ReadResourceResponse, ErrorData> {
    let contents = match uri {
        "test://static-text" => text_resource(
            uri,
            "text/plain",
            "This is the content of the static text resource.",
        ),
        "test://static-binary" => ResourceContents::BlobResourceContents {
            uri: uri.into(),
            mime_type: Some("image/png".into()),
            blob: PNG.into(),
            meta: None,
        },
        "test://watched-resource" => text_resource(uri, "text/plain", "Watched resource content"),
        _ => match uri
            .strip_prefix("test://template/")
            .and_then(|r| r.strip_suffix("/data"))
        {
            Some(id) if !id.is_empty() && !id.contains('/') => text_resource(
                uri,
                "application/json",
                &json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                    .to_string(),
            ),
            _ => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {uri}"),
                    Some(json!({ "uri": uri })),
                ));
            }
        },
    };
    Ok(ReadResourceResult::new(vec![contents])
        .with_ttl_ms(CACHE_TTL_MS)
        .with_cache_scope(CacheScope::Public)
        .into())
}

pub fn list_prompts() -> ListPromptsResult {
    let arg = |name: &str, description: &str| {
        PromptArgument::new(name)
            .with_description(description)
            .with_required(true)
    };
    ListPromptsResult::with_all_items(vec![
        Prompt::new(
            "test_simple_prompt",
            Some("A prompt without arguments"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with two arguments"),
            Some(vec![
                arg("arg1", "First argument"),
                arg("arg2", "Second argument"),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt with an embedded resource"),
            Some(vec![arg("resourceUri", "URI of the resource to embed")]),
        ),
        Prompt::new(
            "test_prompt_with_image",
            Some("A prompt with an image"),
            None,
        ),
        Prompt::new(
            "test_input_required_result_prompt",
            Some("A prompt that needs input first (SEP-2322)"),
            None,
        ),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn get_prompt(request: &GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
    let args = request.arguments.clone().unwrap_or_default();
    let arg = |name: &str| {
        args.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let messages = match request.name.as_str() {
        "test_simple_prompt" => vec![PromptMessage::new_text(
            Role::User,
            "This is a simple prompt for testing.",
        )],
        "test_prompt_with_arguments" => vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                arg("arg1"),
                arg("arg2")
            ),
        )],
        "test_prompt_with_embedded_resource" => vec![
            PromptMessage::new(
                Role::User,
                ContentBlock::resource(text_resource(
                    &arg("resourceUri"),
                    "text/plain",
                    "Embedded resource content for testing.",
                )),
            ),
            PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
        ],
        "test_prompt_with_image" => vec![
            PromptMessage::new(Role::User, ContentBlock::image(PNG, "image/png")),
            PromptMessage::new_text(Role::User, "Please analyze the image above."),
        ],
        "test_input_required_result_prompt" => {
            match answer(request.input_responses.as_ref(), "user_context") {
                Some(a) => {
                    let context = a
                        .get("content")
                        .and_then(|c| c.get("context"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    vec![PromptMessage::new_text(
                        Role::User,
                        format!("Use this context: {context}"),
                    )]
                }
                None => {
                    let mut map = InputRequests::new();
                    map.insert(
                        "user_context".into(),
                        elicit(
                            "What context should the prompt use?",
                            json!({ "context": { "type": "string" } }),
                            json!(["context"]),
                        ),
                    );
                    return Ok(InputRequiredResult::from_input_requests(map).into());
                }
            }
        }
        other => {
            return Err(ErrorData::invalid_params(
                format!("unknown prompt {other:?}"),
                None,
            ));
        }
    };
    Ok(GetPromptResult::new(messages).into())
}

pub fn complete() -> CompleteResult {
    CompleteResult::new(CompletionInfo::default())
}
