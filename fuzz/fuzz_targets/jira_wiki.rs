//! Markdown ↔ Jira wiki markup (Jira Data Center's rich text): both directions take any text
//! without a panic, and plain words come back as sent either way.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::{plain_words, text};
use pm_providers::jira::markdown::to_wiki;
use pm_providers::jira::wiki::from_wiki;

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let wiki = to_wiki(&s);
    let _ = from_wiki(&wiki);
    let _ = from_wiki(&s);
    let words = plain_words(data);
    if !words.is_empty() {
        assert_eq!(
            from_wiki(&to_wiki(&words)),
            words,
            "plain words, Markdown → wiki → Markdown"
        );
        assert_eq!(
            to_wiki(&from_wiki(&words)),
            words,
            "plain words, wiki → Markdown → wiki"
        );
    }
});
