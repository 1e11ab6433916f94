//! The MCP handler around the toolsets: what it answers without an extension (a release), and
//! how an extension (the conformance build's fixtures) joins it.
use futures::future::BoxFuture;
use pm_core::ProviderKind;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListPromptsResult,
    Prompt, ServerCapabilities, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::json;

use super::harness::Harness;
use crate::extension::McpExtension;
use crate::state::HttpConfig;

/// An extension with one tool and one prompt.
struct Echo;

impl McpExtension for Echo {
    fn capabilities(&self, own: ServerCapabilities) -> ServerCapabilities {
        let mut caps = own;
        caps.prompts = ServerCapabilities::builder()
            .enable_prompts()
            .build()
            .prompts;
        caps
    }

    fn tools(&self) -> Vec<Tool> {
        let schema = json!({ "type": "object", "properties": {} });
        let serde_json::Value::Object(schema) = schema else {
            unreachable!("an object literal");
        };
        vec![Tool::new("echo_fixture", "Says hello.", schema)]
    }

    fn call_tool<'a>(
        &'a self,
        request: &'a CallToolRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Option<BoxFuture<'a, Result<CallToolResponse, ErrorData>>> {
        (request.name == "echo_fixture").then(|| {
            Box::pin(async {
                Ok(CallToolResult::success(vec![ContentBlock::text("hello")]).into())
            }) as BoxFuture<'a, _>
        })
    }

    fn list_prompts(&self) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "echo_prompt",
            Some("A prompt"),
            None,
        )]))
    }
}

#[tokio::test]
async fn without_an_extension_tools_resources_prompts_and_completion_are_served() {
    let h = Harness::new().await;
    let client = h.session().client();

    let caps = client
        .peer_info()
        .map(|i| i.capabilities.clone())
        .expect("server info");
    assert!(
        caps.tools.is_some() && caps.completions.is_some(),
        "{caps:?}"
    );
    let resources = caps.resources.clone().expect("resources");
    assert_eq!((resources.subscribe, resources.list_changed), (None, None));
    assert!(caps.prompts.is_some() && caps.logging.is_none(), "{caps:?}");
    assert_eq!(
        client
            .list_prompts(None)
            .await
            .expect("prompts")
            .prompts
            .len(),
        5
    );
    // No connection yet: only the MCP Apps' views to list, and no error.
    let listed = client.list_resources(None).await.expect("resources");
    let uris: Vec<&str> = listed.resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["ui://pm-mcp/sprint-board", "ui://pm-mcp/burndown"]);
    // The views read as the extension's HTML, for any caller; another ui:// URI is not found.
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "ui://pm-mcp/burndown",
        ))
        .await
        .expect("read a view");
    let v = serde_json::to_value(&read).expect("json");
    assert_eq!(v["contents"][0]["mimeType"], "text/html;profile=mcp-app");
    assert!(
        v["contents"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("<!DOCTYPE html>"))
    );
    match client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "ui://pm-mcp/gantt",
        ))
        .await
    {
        Err(rmcp::service::ServiceError::McpError(e)) => {
            assert_eq!(e.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND, "{e:?}");
        }
        other => panic!("an unknown view was answered: {other:?}"),
    }
    // The server declares the extension with the views' MIME type.
    assert_eq!(
        caps.extensions
            .as_ref()
            .and_then(|e| e.get("io.modelcontextprotocol/ui"))
            .map(|u| serde_json::Value::Object(u.clone())),
        Some(serde_json::json!({ "mimeTypes": ["text/html;profile=mcp-app"] }))
    );
    // Subscriptions are an extension's only.
    let subscribe = rmcp::model::SubscribeRequestParams::new("pm://acme-jira/tasks/PROJ-1");
    #[allow(deprecated)] // the 2025-11-25 request: still one a client may send
    let refused = client.subscribe(subscribe).await;
    match refused {
        Err(rmcp::service::ServiceError::McpError(e)) => {
            assert_eq!(e.code, rmcp::model::ErrorCode::METHOD_NOT_FOUND, "{e:?}");
        }
        other => panic!("subscribe: {other:?}"),
    }
    let unknown = h.call("echo_fixture", json!({})).await.protocol_error();
    assert!(unknown.contains("unknown tool"), "{unknown}");
}

#[tokio::test]
async fn an_extensions_tools_come_first_and_its_requests_are_answered() {
    let h = Harness::extended(HttpConfig::default(), Some(std::sync::Arc::new(Echo))).await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let client = h.session().client();

    let names = h.session().tool_names().await;
    assert_eq!(names.first().map(String::as_str), Some("echo_fixture"));
    assert!(names.iter().any(|n| n == "get_task"), "pm-mcp's own stay");
    assert_eq!(h.call("echo_fixture", json!({})).await.ok(), json!("hello"));
    let prompts = client.list_prompts(None).await.expect("prompts");
    assert_eq!(prompts.prompts[0].name, "echo_prompt");
    // What the extension does not answer is still "method not found".
    assert!(client.list_resources(None).await.is_err());
    assert!(jira.calls().is_empty());
}
