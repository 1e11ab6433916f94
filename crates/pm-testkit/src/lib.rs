//! pm-testkit: fakes of the trackers and identity providers pm-mcp talks to, and a fresh
//! database on each engine, for tests in every crate.
#![forbid(unsafe_code)]

pub mod db;
pub mod fake;
pub mod fake_clickup;
pub mod fake_jira;
pub mod fake_openproject;
pub mod hostile;
pub mod idp;
pub mod prism;
pub mod proxy;

/// What is said when the providers' published OpenAPI documents are not found.
pub const SPECS_MISSING: &str = "the providers' published OpenAPI documents are not here (set PM_MCP_SPECS_DIR to their folder, or fetch them with scripts/fetch-specs)";

/// Where the providers' published OpenAPI documents are: `PM_MCP_SPECS_DIR`, else the first
/// `shared/specs` beside the checkout or above it (the layout of the project's CI:
/// `<checkout>/../shared/specs`), else the folder `scripts/fetch-specs` fills (`target/specs`).
/// `None` when none holds them (a clone on its own).
pub fn specs_dir() -> Option<std::path::PathBuf> {
    const PROBE: &str = "jira-platform-v3.json";
    if let Some(dir) = std::env::var_os("PM_MCP_SPECS_DIR") {
        let dir = std::path::PathBuf::from(dir);
        return dir.join(PROBE).is_file().then_some(dir);
    }
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let checkout = crate_dir.ancestors().nth(2)?;
    std::iter::once(checkout.join("target/specs"))
        .chain(crate_dir.ancestors().map(|a| a.join("shared/specs")))
        .find(|d| d.join(PROBE).is_file())
}

/// [`specs_dir`], or `None` after saying in one line that `what` is skipped (a failure under CI).
pub fn specs_for(what: &str) -> Option<std::path::PathBuf> {
    // `what` names the kind of test (one line per kind and process, however many tests skip).
    let dir = specs_dir();
    if dir.is_none() {
        skip(what, SPECS_MISSING);
    }
    dir
}

/// Says why a test (or half of one) does not run here — and fails instead under CI (`CI` set, as
/// `.ci/run` runs) or when `PM_MCP_REQUIRE_ALL=1`: CI runs everything, or it is red.
pub fn skip(what: &str, why: &str) {
    let required = under_ci() || std::env::var("PM_MCP_REQUIRE_ALL").as_deref() == Ok("1");
    assert!(
        !required,
        "{what} cannot run: {why}; under CI every test must run"
    );
    // Said once per test process and reason, straight to stderr: the test harness shows what a
    // passing test prints only with --nocapture, and a skip must be seen.
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let line = format!("{why}: {what} skipped");
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.contains(&line) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{line}");
        said.push(line);
    }
}

/// Whether this is a CI run: `CI` set to anything but empty, `false` or `0` (as `scripts/test`
/// reads it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}
