//! End-to-end: the real `pm-mcp` binary, driven by rmcp's MCP client over Streamable HTTP and
//! stdio, on SQLite and (when `PM_MCP_TEST_DATABASE_URL` is set) PostgreSQL.
mod harness;

mod admin_api;
mod analytics;
mod apps;
mod auth;
mod backend;
mod cli;
mod clickup;
mod clients;
mod console;
mod console_browser;
mod hygiene;
mod jira;
mod limits;
mod matrix;
mod mcp;
mod metrics;
mod oauth;
mod openproject;
mod outage;
mod redmine;
mod reference;
mod reference_params;
mod scale_out;
mod secrets;
mod sizes;
mod slow_clients;
mod ssrf;
mod tenant;
mod upstream;
