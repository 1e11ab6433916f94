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
pub mod proxy;

/// Says why a test (or half of one) does not run here — and fails instead under CI (`CI` set, as
/// `.ci/run` runs) or when `PM_MCP_REQUIRE_ALL=1`: CI runs everything, or it is red.
pub fn skip(what: &str, why: &str) {
    let required = under_ci() || std::env::var("PM_MCP_REQUIRE_ALL").as_deref() == Ok("1");
    assert!(
        !required,
        "{what} cannot run: {why}; under CI every test must run"
    );
    eprintln!("{why}: {what} skipped");
}

/// Whether this is a CI run: `CI` set to anything but empty, `false` or `0` (as `scripts/test`
/// reads it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}
