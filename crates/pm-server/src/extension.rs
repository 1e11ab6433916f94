//! What a build may add to the MCP server beside pm-mcp's own tools: more tools, resources,
//! prompts, completion and logging, and whom a request without credentials acts as. The release
//! server installs none (`AppState::extension` is `None`, and every answer is pm-mcp's own); the
//! conformance build (crate `pm-conformance`) installs the official suite's fixtures, so the suite
//! exercises pm-mcp's real transports, dispatch and result envelopes.
//!
//! Every request an extension answers is authenticated first, like a tool call.
use futures::future::BoxFuture;
use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestMethod, CompleteResult,
    GetPromptRequestMethod, GetPromptRequestParams, GetPromptResponse, ListPromptsRequestMethod,
    ListPromptsResult, ListResourceTemplatesRequestMethod, ListResourceTemplatesResult,
    ListResourcesRequestMethod, ListResourcesResult, ReadResourceRequestMethod,
    ReadResourceResponse, ServerCapabilities, SetLevelRequestMethod, SubscribeRequestMethod,
    SubscriptionFilter, Tool, UnsubscribeRequestMethod,
};
use rmcp::service::RequestContext;

use crate::auth::Principal;

/// An addition to the MCP server (see the module's comment). Each method's default is what the
/// server answers without it.
pub trait McpExtension: Send + Sync + 'static {
    /// The server's capabilities with the extension's added (`own`: pm-mcp's: tools only).
    fn capabilities(&self, own: ServerCapabilities) -> ServerCapabilities {
        own
    }

    /// Whom an HTTP request without an API key or token acts as; `None` refuses it (401).
    fn anonymous(&self) -> Option<Principal> {
        None
    }

    /// Tools listed before pm-mcp's own, to every caller.
    fn tools(&self) -> Vec<Tool> {
        Vec::new()
    }

    /// Runs `request` when it names one of the extension's tools; `None` leaves it to pm-mcp.
    fn call_tool<'a>(
        &'a self,
        _request: &'a CallToolRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Option<BoxFuture<'a, Result<CallToolResponse, ErrorData>>> {
        None
    }

    /// 2026-07-28 `subscriptions/listen`: the part of `requested` acknowledged (`None`: none).
    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        None
    }

    fn list_resources(&self) -> Result<ListResourcesResult, ErrorData> {
        Err(ErrorData::method_not_found::<ListResourcesRequestMethod>())
    }

    fn list_resource_templates(&self) -> Result<ListResourceTemplatesResult, ErrorData> {
        Err(ErrorData::method_not_found::<
            ListResourceTemplatesRequestMethod,
        >())
    }

    fn read_resource(&self, _uri: &str) -> Result<ReadResourceResponse, ErrorData> {
        Err(ErrorData::method_not_found::<ReadResourceRequestMethod>())
    }

    fn subscribe(&self, _uri: &str) -> Result<(), ErrorData> {
        Err(ErrorData::method_not_found::<SubscribeRequestMethod>())
    }

    fn unsubscribe(&self, _uri: &str) -> Result<(), ErrorData> {
        Err(ErrorData::method_not_found::<UnsubscribeRequestMethod>())
    }

    fn list_prompts(&self) -> Result<ListPromptsResult, ErrorData> {
        Err(ErrorData::method_not_found::<ListPromptsRequestMethod>())
    }

    fn get_prompt(
        &self,
        _request: &GetPromptRequestParams,
    ) -> Result<GetPromptResponse, ErrorData> {
        Err(ErrorData::method_not_found::<GetPromptRequestMethod>())
    }

    fn complete(&self) -> Result<CompleteResult, ErrorData> {
        Err(ErrorData::method_not_found::<CompleteRequestMethod>())
    }

    fn set_level(&self) -> Result<(), ErrorData> {
        Err(ErrorData::method_not_found::<SetLevelRequestMethod>())
    }
}
