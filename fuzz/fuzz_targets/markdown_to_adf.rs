//! Markdown → ADF (Jira Cloud's rich text), as every description and comment is sent: the
//! document is one Jira takes (schema shape, no empty text node, no empty container), it reads
//! back as Markdown that converts to a valid document again, and plain words come back as sent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::{adf_problem, plain_words, text};
use pm_providers::fuzzing::adf_to_markdown;
use pm_providers::jira::markdown::to_adf;

fuzz_target!(|data: &[u8]| {
    let md = text(data);
    let doc = to_adf(&md);
    if let Some(problem) = adf_problem(&doc) {
        panic!("to_adf({md:?}) wrote {problem}: {doc}");
    }
    let back = adf_to_markdown(&doc);
    let again = to_adf(&back);
    if let Some(problem) = adf_problem(&again) {
        panic!("to_adf of the read-back {back:?} wrote {problem}: {again}");
    }
    let words = plain_words(data);
    if !words.is_empty() {
        assert_eq!(adf_to_markdown(&to_adf(&words)), words, "plain words");
    }
});
