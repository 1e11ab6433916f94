//! ADF → Markdown, as every Jira Cloud description and comment is read: any JSON a tracker
//! (or a user through it) can store reads without a panic, and the Markdown converts back to a
//! valid ADF document.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::adf_problem;
use pm_providers::fuzzing::adf_to_markdown;
use pm_providers::jira::markdown::to_adf;

fuzz_target!(|data: &[u8]| {
    // serde_json's recursion limit applies here as it does to a tracker's answer.
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let md = adf_to_markdown(&doc);
    assert_eq!(md.trim_end(), md, "the Markdown ends without blank lines");
    let again = to_adf(&md);
    if let Some(problem) = adf_problem(&again) {
        panic!("to_adf of the read-back {md:?} wrote {problem}: {again}");
    }
});
