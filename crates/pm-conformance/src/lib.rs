//! Fixtures for the official MCP conformance suite, for the conformance build of pm-mcp only
//! (`cargo build -p pm-mcp --features conformance`; see `scripts/conformance`). They are an
//! extension of pm-server's MCP handler ([`pm_server::McpExtension`]): they sit beside pm-mcp's
//! own tools in the same handler, so the suite exercises pm-mcp's real transports, dispatch and
//! result envelopes, while the release server's code holds none of them.
#![forbid(unsafe_code)]

use std::sync::Arc;

use futures::future::BoxFuture;
use pm_server::{McpExtension, Principal};
use pm_store::Store;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

mod fixtures;

/// The suite's fixtures, and whom a request without credentials acts as (the suite sends none).
pub struct Fixtures {
    anonymous: Option<Principal>,
}

/// The fixtures as the server's extension; requests without a key act as `anonymous` (`None`:
/// are refused, as in any build).
pub fn extension(anonymous: Option<Principal>) -> Arc<dyn McpExtension> {
    Arc::new(Fixtures { anonymous })
}

#[derive(Debug, thiserror::Error)]
#[error("conformance mode: {0}")]
pub struct SetupError(String);

/// The user the suite acts as, `conformance@localhost` (created on first use), with a fresh
/// write key, as an authenticated principal.
pub async fn suite_user(store: &Arc<dyn Store>) -> Result<Principal, SetupError> {
    let email =
        pm_core::Email::parse("conformance@localhost").map_err(|e| SetupError(e.to_string()))?;
    let user = match store
        .get_user_by_email(&email)
        .await
        .map_err(|e| SetupError(e.to_string()))?
    {
        Some(u) => u,
        None => store
            .add_user(pm_store::NewUser::new(email, "Conformance suite", false))
            .await
            .map_err(|e| SetupError(e.to_string()))?,
    };
    let key = pm_store::ApiKey::generate();
    let row = pm_store::NewApiKey::for_key(
        &key,
        user.id,
        "conformance",
        pm_core::Scopes::only(pm_core::Scope::Write),
        None,
    );
    store
        .add_api_key(row)
        .await
        .map_err(|e| SetupError(e.to_string()))?;
    pm_server::Authenticator::new(store.clone())
        .authenticate(key.expose())
        .await
        .map_err(|e| SetupError(e.to_string()))
}

impl McpExtension for Fixtures {
    #[allow(deprecated)] // logging: the 2025-11-25 suite still tests it
    fn capabilities(&self, _own: ServerCapabilities) -> ServerCapabilities {
        ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_logging()
            .enable_completions()
            .build()
    }

    fn anonymous(&self) -> Option<Principal> {
        self.anonymous.clone()
    }

    fn tools(&self) -> Vec<Tool> {
        fixtures::tools()
    }

    fn call_tool<'a>(
        &'a self,
        request: &'a CallToolRequestParams,
        context: &'a RequestContext<RoleServer>,
    ) -> Option<BoxFuture<'a, Result<CallToolResponse, ErrorData>>> {
        if !fixtures::is_fixture(&request.name) {
            return None;
        }
        Some(Box::pin(async move {
            fixtures::call(request, context).await.unwrap_or_else(|| {
                Err(ErrorData::invalid_params(
                    format!("unknown tool {:?}", request.name),
                    None,
                ))
            })
        }))
    }

    /// 2026-07-28 `subscriptions/listen` streams are acknowledged for whatever the advertised
    /// capabilities allow (the SDK intersects the filter with them).
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    fn list_resources(&self) -> Result<ListResourcesResult, ErrorData> {
        Ok(fixtures::list_resources())
    }

    fn list_resource_templates(&self) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(fixtures::list_resource_templates())
    }

    fn read_resource(&self, uri: &str) -> Result<ReadResourceResponse, ErrorData> {
        fixtures::read_resource(uri)
    }

    fn subscribe(&self, _uri: &str) -> Result<(), ErrorData> {
        Ok(())
    }

    fn unsubscribe(&self, _uri: &str) -> Result<(), ErrorData> {
        Ok(())
    }

    fn list_prompts(&self) -> Result<ListPromptsResult, ErrorData> {
        Ok(fixtures::list_prompts())
    }

    fn get_prompt(&self, request: &GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
        fixtures::get_prompt(request)
    }

    fn complete(&self) -> Result<CompleteResult, ErrorData> {
        Ok(fixtures::complete())
    }

    fn set_level(&self) -> Result<(), ErrorData> {
        Ok(())
    }
}
