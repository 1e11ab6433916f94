//! The MCP server handler: resolves the caller, shows each caller only the tools their key
//! allows, runs the tool, and audits the call. Tools live in `tools/`, one module per family.
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use pm_store::{AuditEvent, Outcome};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    ContentBlock, GetPromptRequestMethod, Implementation, ListPromptsRequestMethod,
    ListResourceTemplatesRequestMethod, ListResourcesRequestMethod, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestMethod, ServerCapabilities,
    ServerConfig, SetLevelRequestMethod, SubscribeRequestMethod, Tool, UnsubscribeRequestMethod,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::auth::Principal;
use crate::state::AppState;
use crate::tools;

const INSTRUCTIONS: &str = "pm-mcp works in the user's project-management tools (Jira, OpenProject, ClickUp, Redmine) \
with the user's own credentials. Start with get_current_user and list_providers to see who you are and which \
tracker connections exist.";

/// How long a 2026-07-28 client may keep a `tools/list` answer.
const LIST_TTL_MS: u64 = 60_000;

use crate::server::Identity;
pub use crate::server::PmServer;

impl PmServer {
    /// A server for one HTTP request (built only by `http::app`, which gave the metrics the
    /// tools' names when it started).
    pub fn for_http(state: Arc<AppState>) -> Self {
        Self {
            state,
            identity: Identity::Http,
            tool_router: tools::router(),
        }
    }

    /// A server for one session whose every request acts as the owner of `key` (stdio, SSE).
    pub fn for_key(state: Arc<AppState>, key: &str) -> Self {
        Self::for_key_acting(state, key, None)
    }

    /// A session for `key` acting for the user with e-mail `act_as` (legacy SSE with
    /// `X-PM-MCP-Act-As`); the permission is checked again on every request.
    pub fn for_key_acting(state: Arc<AppState>, key: &str, act_as: Option<&str>) -> Self {
        state.metrics.know_tools(tools::tool_names());
        Self {
            state,
            identity: Identity::Key {
                key: Arc::from(key),
                act_as: act_as.map(Arc::from),
            },
            tool_router: tools::router(),
        }
    }

    /// Every tool this server has, whoever asks (for docs and schema snapshots).
    pub fn all_tools() -> Vec<Tool> {
        tools::router().list_all()
    }

    pub(crate) async fn principal(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Principal, ErrorData> {
        match &self.identity {
            Identity::Http => context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>())
                .cloned()
                .ok_or_else(|| {
                    ErrorData::internal_error(
                        "request reached the MCP handler unauthenticated",
                        None,
                    )
                }),
            Identity::Key { key, act_as } => {
                let principal = self.state.auth.authenticate(key).await.map_err(|e| {
                    self.state.metrics.auth_failure(&e);
                    ErrorData::invalid_request(
                        e.to_string(),
                        Some(serde_json::json!({ "reason": e.reason() })),
                    )
                })?;
                match act_as {
                    None => Ok(principal),
                    Some(email) => self
                        .state
                        .auth
                        .act_as(principal, email)
                        .await
                        .map_err(|e| ErrorData::invalid_request(e.to_string(), None)),
                }
            }
        }
    }
}

impl PmServer {
    /// Queues the audit row of one tool call: who, with which key, which tool and connection, how
    /// it ended and how long it took — never its arguments.
    fn audit(
        &self,
        principal: &Principal,
        call: &CallInfo<'_>,
        outcome: Outcome,
        error_kind: Option<&str>,
        connection_id: Option<pm_core::ConnectionId>,
    ) {
        let tool = call.tool;
        let elapsed = call.started.elapsed();
        self.state.metrics.tool_call(tool, outcome, elapsed);
        // Inside the call's span: the line carries the request id (see `call_tool`).
        tracing::debug!(
            tool,
            user_id = %principal.user.id,
            actor_user_id = principal.actor.as_ref().map(|a| a.id.to_string()),
            key_id = principal.key_id().map(|k| k.to_string()),
            outcome = outcome.as_str(),
            error_kind,
            connection_id = connection_id.map(|c| c.to_string()),
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "tool call"
        );
        self.state.audit.record(AuditEvent {
            id: uuid::Uuid::new_v4(),
            at: Utc::now(),
            user_id: Some(principal.user.id),
            key_id: principal.key_id(),
            tool: tool.to_string(),
            connection_id,
            outcome,
            duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            error_kind: error_kind.map(str::to_string),
            request_id: call.request_id.map(str::to_string),
            actor_user_id: principal.actor.as_ref().map(|a| a.id),
        });
    }
}

/// What the audit row of a call needs to know about it besides how it ended.
struct CallInfo<'a> {
    tool: &'a str,
    started: Instant,
    /// The HTTP request's id (`X-Request-Id`, set by the HTTP layer); `None` over stdio and SSE.
    request_id: Option<&'a str>,
}

/// Whether `principal` may see and call `tool` on this server: the server's read-only mode and
/// toolsets, the key's scopes and toolsets, and the toolsets the request asked for
/// (`X-MCP-Toolsets`), all of which must allow it.
fn allowed(
    http: &crate::state::HttpConfig,
    principal: &Principal,
    tool: &Tool,
    requested: Option<&[String]>,
    defaults: &[tools::Toolset],
) -> Result<(), String> {
    let needed = tools::required_scope(tool);
    if http.read_only && needed != pm_core::Scope::Read {
        return Err(format!(
            "this pm-mcp server is read-only, and {} changes data",
            tool.name
        ));
    }
    if !principal.may(needed) {
        return Err(format!(
            "{} needs the {needed} scope; this key has {}. Create a key with --scopes {needed} to use it.",
            tool.name,
            principal.scopes()
        ));
    }
    let toolset = tools::toolset_of(&tool.name);
    let set = toolset.map_or("", tools::Toolset::as_str);
    let named = [
        ("this server", http.toolsets.as_deref()),
        ("this key", principal.toolsets()),
        ("this request", requested),
    ];
    if named.iter().all(|(_, sets)| sets.is_none()) {
        // Nobody chose: the default toolsets.
        if toolset.is_some_and(|t| defaults.contains(&t)) {
            return Ok(());
        }
        return Err(format!(
            "{} is in the {set} toolset, which is not in the default set ({}); ask for it with \
             the X-MCP-Toolsets header, a key made with --toolsets, or serve --toolsets all",
            tool.name,
            defaults
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    for (whose, sets) in named {
        if let Some(sets) = sets
            && !tools::includes(sets, toolset)
        {
            return Err(format!(
                "{} is in the {set} toolset, which {whose} does not include ({})",
                tool.name,
                sets.join(",")
            ));
        }
    }
    Ok(())
}

/// Whether the request's protocol revision carries caching hints (2026-07-28 on: `ttlMs` and
/// `cacheScope` on lists and resource reads).
fn caches(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// Toolsets a request narrows itself to with `X-MCP-Toolsets: tasks,projects` (HTTP only).
fn requested_toolsets(context: &RequestContext<RoleServer>) -> Option<Vec<String>> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let raw = parts.headers.get("x-mcp-toolsets")?.to_str().ok()?;
    let sets: Vec<String> = raw
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!sets.is_empty()).then_some(sets)
}

impl ServerHandler for PmServer {
    fn get_info(&self) -> ServerConfig {
        let mut own = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_completions()
            .build();
        // MCP Apps (`crate::apps`): the views' MIME type, as a client declares the extension.
        if let serde_json::Value::Object(ui) = crate::apps::capability() {
            own.extensions
                .get_or_insert_default()
                .insert(crate::apps::EXTENSION.to_string(), ui);
        }
        let capabilities = match &self.state.extension {
            Some(extension) => extension.capabilities(own),
            None => own,
        };
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("pm-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let principal = self.principal(&context).await?;
        let requested = requested_toolsets(&context);
        let defaults = tools::Toolset::DEFAULT;
        let mut tools: Vec<Tool> = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| {
                allowed(
                    &self.state.http,
                    &principal,
                    t,
                    requested.as_deref(),
                    defaults,
                )
                .is_ok()
            })
            .collect();
        if let Some(extension) = &self.state.extension {
            tools.splice(0..0, extension.tools());
        }
        let mut result = ListToolsResult::with_all_items(tools);
        // 2026-07-28 clients may cache the list; it depends on the caller's key, so privately.
        if caches(&context) {
            result = result
                .with_ttl_ms(LIST_TTL_MS)
                .with_cache_scope(CacheScope::Private);
        }
        Ok(result)
    }

    // Resources, prompts and completion are pm-mcp's own (`crate::resources`, `crate::prompts`,
    // `crate::completion`), unless an extension answers them (see `crate::extension`: the
    // conformance build's fixtures). Subscriptions and logging levels only an extension answers;
    // without one, they are "method not found".

    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        self.state
            .extension
            .as_ref()
            .and_then(|e| e.accepted_subscription_filter(requested))
    }

    async fn list_resources(
        &self,
        r: Option<PaginatedRequestParams>,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        if self.state.extension.is_none() {
            let cursor = r.as_ref().and_then(|r| r.cursor.as_deref());
            let mut result = self.list_pm_resources(cursor, &c).await?;
            // Each caller's own projects.
            if caches(&c) {
                result = result
                    .with_ttl_ms(LIST_TTL_MS)
                    .with_cache_scope(CacheScope::Private);
            }
            return Ok(result);
        }
        self.extension::<ListResourcesRequestMethod>(&c)
            .await?
            .list_resources()
    }

    async fn list_resource_templates(
        &self,
        _r: Option<PaginatedRequestParams>,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        if self.state.extension.is_none() {
            self.principal(&c).await?;
            let mut result = crate::resources::templates();
            // The same for every caller.
            if caches(&c) {
                result = result
                    .with_ttl_ms(LIST_TTL_MS)
                    .with_cache_scope(CacheScope::Public);
            }
            return Ok(result);
        }
        self.extension::<ListResourceTemplatesRequestMethod>(&c)
            .await?
            .list_resource_templates()
    }

    async fn read_resource(
        &self,
        r: rmcp::model::ReadResourceRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        // The MCP Apps' views are pm-mcp's own whatever else answers resources: its tools link
        // to them.
        if r.uri.starts_with("ui://") {
            // An MCP App's HTML: the same for every caller, but only callers read it.
            self.principal(&c).await?;
            let mut result = crate::apps::read(r.uri.as_str()).ok_or_else(|| {
                ErrorData::resource_not_found(
                    "no such view: pm-mcp's are ui://pm-mcp/sprint-board and ui://pm-mcp/burndown",
                    Some(serde_json::json!({ "uri": r.uri })),
                )
            })?;
            if caches(&c) {
                result = result
                    .with_ttl_ms(LIST_TTL_MS)
                    .with_cache_scope(CacheScope::Public);
            }
            return Ok(result.into());
        }
        if self.state.extension.is_none() {
            let mut result = self.read_pm_resource(r.uri.as_str(), &c).await?;
            // What the tracker holds now: not to be reused, and the caller's alone.
            if caches(&c) {
                result = result.with_ttl_ms(0).with_cache_scope(CacheScope::Private);
            }
            return Ok(result.into());
        }
        self.extension::<ReadResourceRequestMethod>(&c)
            .await?
            .read_resource(r.uri.as_str())
    }

    async fn subscribe(
        &self,
        r: rmcp::model::SubscribeRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.extension::<SubscribeRequestMethod>(&c)
            .await?
            .subscribe(&r.uri)
    }

    async fn unsubscribe(
        &self,
        r: rmcp::model::UnsubscribeRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.extension::<UnsubscribeRequestMethod>(&c)
            .await?
            .unsubscribe(&r.uri)
    }

    async fn list_prompts(
        &self,
        _r: Option<PaginatedRequestParams>,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        if self.state.extension.is_none() {
            self.principal(&c).await?;
            let mut result = crate::prompts::list();
            // The same for every caller.
            if caches(&c) {
                result = result
                    .with_ttl_ms(LIST_TTL_MS)
                    .with_cache_scope(CacheScope::Public);
            }
            return Ok(result);
        }
        self.extension::<ListPromptsRequestMethod>(&c)
            .await?
            .list_prompts()
    }

    async fn get_prompt(
        &self,
        r: rmcp::model::GetPromptRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        if self.state.extension.is_none() {
            return Ok(self.get_pm_prompt(&r, &c).await?.into());
        }
        self.extension::<GetPromptRequestMethod>(&c)
            .await?
            .get_prompt(&r)
    }

    async fn complete(
        &self,
        r: rmcp::model::CompleteRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        if self.state.extension.is_none() {
            return self.complete_pm(&r, &c).await;
        }
        self.extension::<CompleteRequestMethod>(&c)
            .await?
            .complete()
    }

    #[allow(deprecated)] // logging: the 2025-11-25 revision still has it
    async fn set_level(
        &self,
        _r: rmcp::model::SetLevelRequestParams,
        c: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.extension::<SetLevelRequestMethod>(&c)
            .await?
            .set_level()
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // rmcp runs the handler on a task of its own, outside the HTTP request's span: the span
        // rides in the request's extensions, and the call runs in it, so every line the call
        // logs carries the request id. (None over stdio and SSE: no per-request id there.)
        let span = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::http::RequestSpan>())
            .map(|s| s.0.clone());
        let defaults = tools::Toolset::DEFAULT;
        let run = self.run_tool(request, context, defaults);
        match span {
            Some(span) => tracing::Instrument::instrument(run, span).await.0,
            None => run.await.0,
        }
    }
}

impl PmServer {
    /// Runs one tool call for the request's caller: its scope, toolsets (`defaults` when nobody
    /// named any), arguments, the call and its audit row. Also gives the kind of error the call
    /// answered with (the audit row's), for callers that answer in other words (resources).
    pub(crate) async fn run_tool(
        &self,
        mut request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
        defaults: &[tools::Toolset],
    ) -> (Result<CallToolResponse, ErrorData>, Option<&'static str>) {
        let started = Instant::now();
        let request_id: Option<String> = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.headers.get("x-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let principal = match self.principal(&context).await {
            Ok(p) => p,
            Err(e) => return (Err(e), Some("auth")),
        };
        if let Some(run) = self
            .state
            .extension
            .as_ref()
            .and_then(|e| e.call_tool(&request, &context))
        {
            return (run.await, None);
        }
        let Some(tool) = self.tool_router.get(&request.name).cloned() else {
            if tools::reference::is_reference_meeting_tool(&request.name) {
                let e = ErrorData::invalid_params(
                    format!(
                        "unknown tool {:?}: the reference server's meeting tools (recordings, \
                         transcripts, action items) are not part of pm-mcp, which works only in \
                         trackers",
                        request.name
                    ),
                    None,
                );
                return (Err(e), Some("invalid_arguments"));
            }
            let e = ErrorData::invalid_params(format!("unknown tool {:?}", request.name), None);
            return (Err(e), Some("invalid_arguments"));
        };
        let requested = requested_toolsets(&context);
        let (result, outcome, error_kind, connection_id) = match allowed(
            &self.state.http,
            &principal,
            &tool,
            requested.as_deref(),
            defaults,
        ) {
            Err(why) => (
                Ok(CallToolResult::error(vec![ContentBlock::text(why)]).into()),
                Outcome::Denied,
                Some("scope"),
                None,
            ),
            Ok(()) => {
                // Arguments are checked only for tools the caller may use at all; a call
                // refused here is audited too (never with its arguments).
                // The reference server's names become ours first, then the arguments are checked.
                let checked = tools::reference::translate(&tool.name, &mut request.arguments)
                    .and_then(|()| {
                        tools::validate_arguments(&tool.name, request.arguments.as_ref())
                    });
                if let Err(e) = checked {
                    let call = CallInfo {
                        tool: &tool.name,
                        started,
                        request_id: request_id.as_deref(),
                    };
                    self.audit(
                        &principal,
                        &call,
                        Outcome::Error,
                        Some("invalid_arguments"),
                        None,
                    );
                    return (Err(e), Some("invalid_arguments"));
                }
                // The reference's ids (`<connection uuid>:…`) become ours, for the caller's
                // own connections only.
                if tools::reference::may_hold_reference_ids(&request.arguments)
                    && let Ok(connections) = self.state.connections_of(principal.user.id).await
                {
                    tools::reference::canonical_ids(&mut request.arguments, &connections);
                }
                context.extensions.insert(principal.clone());
                let (result, notes) = crate::audit::track_connection(
                    self.tool_router
                        .call(ToolCallContext::new(self, request, context)),
                )
                .await;
                // A tool's error names its kind (the service's); an error result that named
                // none is a plain tool error.
                let (outcome, kind) = match &result {
                    Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => (
                        Outcome::Error,
                        Some(notes.error_kind.unwrap_or("tool_error")),
                    ),
                    Ok(_) => (Outcome::Ok, None),
                    Err(_) => (Outcome::Error, Some("protocol_error")),
                };
                (result, outcome, kind, notes.connection)
            }
        };
        let call = CallInfo {
            tool: &tool.name,
            started,
            request_id: request_id.as_deref(),
        };
        self.audit(&principal, &call, outcome, error_kind, connection_id);
        (result, error_kind)
    }
}

impl PmServer {
    /// The server's extension, for a request of method `M` that only an extension answers,
    /// once the caller is authenticated; without one, "method not found".
    async fn extension<M: rmcp::model::ConstString>(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<&dyn crate::extension::McpExtension, ErrorData> {
        let Some(extension) = self.state.extension.as_deref() else {
            return Err(ErrorData::method_not_found::<M>());
        };
        self.principal(context).await?;
        Ok(extension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pm_core::Scope;

    #[test]
    fn read_tools_need_read_and_others_write() {
        for tool in PmServer::all_tools() {
            let needed = tools::required_scope(&tool);
            let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
            assert_eq!(needed == Scope::Read, read_only, "{}", tool.name);
        }
    }
}
