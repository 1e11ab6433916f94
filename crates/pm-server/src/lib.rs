//! pm-server: everything between an MCP client and pm-mcp's tools — the Streamable HTTP and stdio
//! transports, API-key authentication, the tool catalogue, and the audit trail.
#![forbid(unsafe_code)]

pub mod admin_api;
pub mod allow_list;
pub mod answers;
pub mod apps;
pub mod audit;
pub mod auth;
pub mod client_configs;
pub mod completion;
pub mod console;
pub mod extension;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod limits;
pub mod listen;
pub mod manage;
pub mod mcp;
pub mod metrics;
pub mod metrics_endpoint;
pub mod oauth;
pub mod prompts;
pub mod resources;
pub mod rest;
pub mod server;
pub mod service;
pub mod sse;
pub mod sse_sessions;
pub mod state;
pub mod stdio;
pub mod sync;
#[cfg(test)]
mod tool_docs;
pub mod tools;
pub mod tools_call;
pub mod tools_list;
pub mod toolsets;

pub use auth::{AuthError, Authenticator, Principal};
pub use extension::McpExtension;
pub use limits::{KeyLimiter, KeyLimits};
pub use mcp::PmServer;
pub use pm_providers::{BreakerSettings, UpstreamProxy};
pub use state::{AppState, HttpConfig, UpstreamConfig};

/// Compares `actual` with the pinned snapshot `name` (in `snapshots/`). `UPDATE_SNAPSHOTS=1`,
/// outside CI only, rewrites the file and then fails, so a rewrite is never taken for a pass:
/// review the diff and run again without it.
#[cfg(test)]
pub(crate) fn assert_pinned(name: &str, actual: &str, what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(name);
    assert_pinned_at(&path, &format!("snapshots/{name}"), actual, what);
}

/// [`assert_pinned`] for a file anywhere (`shown` names it in messages), such as the generated
/// `docs/tools.md`.
#[cfg(test)]
pub(crate) fn assert_pinned_at(path: &std::path::Path, shown: &str, actual: &str, what: &str) {
    match std::env::var("UPDATE_SNAPSHOTS").as_deref() {
        Err(_) => {}
        Ok("1") if !pm_testkit::under_ci() => {
            std::fs::write(path, actual).expect("write snapshot");
            panic!("{what}: {shown} rewritten; review the diff, then run without UPDATE_SNAPSHOTS");
        }
        Ok(other) => panic!(
            "UPDATE_SNAPSHOTS={other:?}: snapshots are rewritten only with UPDATE_SNAPSHOTS=1 outside CI"
        ),
    }
    let pinned = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{shown} is missing (UPDATE_SNAPSHOTS=1 writes it)"));
    assert_eq!(
        actual, pinned,
        "{what} changed; rerun with UPDATE_SNAPSHOTS=1 if intended"
    );
}
