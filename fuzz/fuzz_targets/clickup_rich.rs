//! Markdown ↔ ClickUp's rich comment segments: every segment is `{text, attributes}` with
//! non-empty text, any JSON segment list reads without a panic, and plain words come back as
//! sent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::{plain_words, text};
use pm_providers::fuzzing::{clickup_to_markdown, clickup_to_segments};

fuzz_target!(|data: &[u8]| {
    let md = text(data);
    let segments = clickup_to_segments(&md);
    for s in &segments {
        let t = s.get("text").and_then(|t| t.as_str());
        assert!(
            t.is_some_and(|t| !t.is_empty()),
            "segment without text: {s} from {md:?}"
        );
        assert!(
            s.get("attributes").is_some_and(|a| a.is_object()),
            "segment without attributes: {s}"
        );
    }
    let _ = clickup_to_markdown(&segments);
    if let Ok(serde_json::Value::Array(list)) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = clickup_to_markdown(&list);
    }
    let words = plain_words(data);
    if !words.is_empty() {
        assert_eq!(
            clickup_to_markdown(&clickup_to_segments(&words)),
            words,
            "plain words"
        );
    }
});
