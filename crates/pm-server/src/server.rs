//! The MCP server value each transport serves: the shared state, who the caller is, and the tool
//! router. Defined here, below both the tools (which are its methods) and the MCP handler (`mcp`,
//! which builds it and answers the protocol), so neither has to import the other to name it.
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::state::AppState;

/// How the caller's identity reaches the handler.
#[derive(Clone)]
pub(crate) enum Identity {
    /// Authenticated by the HTTP layer; the `Principal` rides in the request's extensions.
    Http,
    /// A session bound to this key (stdio, legacy SSE); the key is re-checked on every request, so
    /// revoking it or disabling the user ends the session's access at once. With `act_as`, every
    /// request acts for that user (re-checked each time too).
    Key {
        key: Arc<str>,
        act_as: Option<Arc<str>>,
    },
}

#[derive(Clone)]
pub struct PmServer {
    pub(crate) state: Arc<AppState>,
    pub(crate) identity: Identity,
    pub(crate) tool_router: Arc<ToolRouter<PmServer>>,
}

impl PmServer {
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }
}
