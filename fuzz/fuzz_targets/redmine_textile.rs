//! Markdown ↔ Textile (Redmine's default text format), and the Markdown formats passed
//! through: any text converts without a panic, CRLF never survives a read, and plain words come
//! back as sent either way.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::{plain_words, text};
use pm_providers::redmine::{Markup as _, TextFormat};
use pm_providers::redmine::text::{markdown_to_textile, textile_to_markdown};

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let textile = markdown_to_textile(&s);
    let _ = textile_to_markdown(&textile);
    let _ = textile_to_markdown(&s);
    for format in [
        TextFormat::Textile,
        TextFormat::Markdown,
        TextFormat::CommonMark,
    ] {
        let stored = format.write_markdown(&s);
        let read = format.read_markdown(&stored);
        if format != TextFormat::Textile {
            assert_eq!(
                read,
                s.replace("\r\n", "\n"),
                "{format} passes Markdown through"
            );
        }
        let _ = format
            .as_str()
            .parse::<TextFormat>()
            .map(|f| assert_eq!(f, format));
    }
    let words = plain_words(data);
    if !words.is_empty() {
        assert_eq!(
            textile_to_markdown(&markdown_to_textile(&words)),
            words,
            "Markdown → Textile → Markdown"
        );
        assert_eq!(
            markdown_to_textile(&textile_to_markdown(&words)),
            words,
            "Textile → Markdown → Textile"
        );
    }
});
