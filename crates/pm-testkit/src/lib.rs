//! pm-testkit: fakes of the trackers pm-mcp talks to, for tests in every crate.
#![forbid(unsafe_code)]

pub mod fake_clickup;
pub mod fake_jira;
pub mod fake_openproject;
pub mod hostile;
pub mod prism;
