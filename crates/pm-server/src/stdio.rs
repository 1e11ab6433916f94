//! MCP over stdio, for clients that start pm-mcp themselves. The identity is the key in
//! `PM_MCP_API_KEY`, checked before serving and again on every request.
use std::sync::Arc;

use rmcp::ServiceExt;

use crate::auth::AuthError;
use crate::server::PmServer;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("the MCP session failed: {0}")]
    Session(String),
}

/// Serves one MCP session on stdin/stdout until the client closes it.
pub async fn serve_stdio(state: Arc<AppState>, key: &str) -> Result<(), StdioError> {
    let principal = state.auth.authenticate(key).await?;
    tracing::info!(user_id = %principal.user.id, key_id = principal.key_id().map(|k| k.to_string()), "stdio session starting");
    let server = PmServer::for_key(state, key);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| StdioError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| StdioError::Session(e.to_string()))?;
    Ok(())
}
