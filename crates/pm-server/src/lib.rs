//! pm-server: everything between an MCP client and pm-mcp's tools — the Streamable HTTP and stdio
//! transports, API-key authentication, the tool catalogue, and the audit trail.
#![forbid(unsafe_code)]

pub mod admin_api;
pub mod audit;
pub mod auth;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod http;
pub mod limits;
pub mod manage;
pub mod mcp;
pub mod metrics;
pub mod oauth;
pub mod providers;
pub mod sse;
pub mod state;
pub mod stdio;
pub mod tools;

pub use auth::{AuthError, Authenticator, Principal};
pub use limits::{KeyLimiter, KeyLimits};
pub use mcp::PmServer;
pub use state::{AppState, HttpConfig};
