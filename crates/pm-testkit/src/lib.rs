//! pm-testkit: fakes of the trackers and identity providers pm-mcp talks to, and a fresh
//! database on each engine, for tests in every crate.
#![forbid(unsafe_code)]

pub mod db;
pub mod fake_clickup;
pub mod fake_jira;
pub mod fake_openproject;
pub mod hostile;
pub mod idp;
pub mod prism;
