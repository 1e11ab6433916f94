//! Atlassian Document Format (Jira Cloud's rich text) to Markdown, for descriptions and comments.
//! Unknown node types keep their text, so nothing a user wrote is dropped.
use serde_json::Value;

/// Markdown for an ADF document, or for a plain string (Data Center, older payloads).
pub fn to_markdown(doc: &Value) -> String {
    match doc {
        // Only Data Center (REST v2) answers rich text as a string: wiki markup.
        Value::String(s) => super::markdown::from_wiki(s),
        Value::Null => String::new(),
        _ => {
            let mut out = String::new();
            blocks(doc.get("content"), &mut out, 0);
            out.trim_end().to_string()
        }
    }
}

fn children(node: Option<&Value>) -> &[Value] {
    node.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn blocks(content: Option<&Value>, out: &mut String, depth: usize) {
    for node in children(content) {
        block(node, out, depth);
    }
}

fn block(node: &Value, out: &mut String, depth: usize) {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    let attrs = node.get("attrs");
    match kind {
        "paragraph" => {
            out.push_str(&inline(node.get("content")));
            out.push_str("\n\n");
        }
        "heading" => {
            let level = attrs
                .and_then(|a| a.get("level"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6) as usize;
            out.push_str(&"#".repeat(level));
            out.push(' ');
            out.push_str(&inline(node.get("content")));
            out.push_str("\n\n");
        }
        "bulletList" | "orderedList" => {
            for (i, item) in children(node.get("content")).iter().enumerate() {
                let marker = if kind == "bulletList" {
                    "-".to_string()
                } else {
                    format!("{}.", i + 1)
                };
                let mut inner = String::new();
                blocks(item.get("content"), &mut inner, depth + 1);
                let indent = "  ".repeat(depth);
                for (j, line) in inner
                    .trim_end()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .enumerate()
                {
                    if j == 0 {
                        out.push_str(&format!("{indent}{marker} {}\n", line.trim_start()));
                    } else {
                        out.push_str(&format!("{indent}  {line}\n"));
                    }
                }
            }
            if depth == 0 {
                out.push('\n');
            }
        }
        "codeBlock" => {
            let lang = attrs
                .and_then(|a| a.get("language"))
                .and_then(Value::as_str)
                .unwrap_or("");
            out.push_str(&format!("```{lang}\n"));
            for t in children(node.get("content")) {
                out.push_str(t.get("text").and_then(Value::as_str).unwrap_or(""));
            }
            out.push_str("\n```\n\n");
        }
        "blockquote" => {
            let mut inner = String::new();
            blocks(node.get("content"), &mut inner, depth);
            for line in inner.trim_end().lines() {
                out.push_str(&format!("> {line}\n"));
            }
            out.push('\n');
        }
        "rule" => out.push_str("---\n\n"),
        _ => {
            // panels, tables, media…: keep whatever text they hold.
            if node.get("content").is_some() {
                let text = inline(node.get("content"));
                if text.trim().is_empty() {
                    blocks(node.get("content"), out, depth);
                } else {
                    out.push_str(&text);
                    out.push_str("\n\n");
                }
            }
        }
    }
}

fn inline(content: Option<&Value>) -> String {
    let mut out = String::new();
    for node in children(content) {
        let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
        let attrs = node.get("attrs");
        match kind {
            "text" => {
                let mut text = node
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                for mark in children(node.get("marks")) {
                    text = match mark.get("type").and_then(Value::as_str).unwrap_or("") {
                        "strong" => format!("**{text}**"),
                        "em" => format!("*{text}*"),
                        "code" => format!("`{text}`"),
                        "strike" => format!("~~{text}~~"),
                        "link" => {
                            let href = mark
                                .get("attrs")
                                .and_then(|a| a.get("href"))
                                .and_then(Value::as_str)
                                .unwrap_or("");
                            format!("[{text}]({href})")
                        }
                        _ => text,
                    };
                }
                out.push_str(&text);
            }
            "hardBreak" => out.push('\n'),
            "mention" => out.push_str(
                attrs
                    .and_then(|a| a.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("@someone"),
            ),
            "emoji" => out.push_str(
                attrs
                    .and_then(|a| a.get("text").or(a.get("shortName")))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            "inlineCard" => out.push_str(
                attrs
                    .and_then(|a| a.get("url"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            _ => out.push_str(&inline(node.get("content"))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_become_markdown() {
        let doc = json!({ "type": "doc", "version": 1, "content": [
            { "type": "heading", "attrs": { "level": 2 }, "content": [{ "type": "text", "text": "Steps" }] },
            { "type": "paragraph", "content": [
                { "type": "text", "text": "Order " },
                { "type": "text", "text": "fails", "marks": [{ "type": "strong" }] },
                { "type": "text", "text": " on " },
                { "type": "text", "text": "checkout", "marks": [{ "type": "link", "attrs": { "href": "https://shop.example/checkout" } }] },
                { "type": "hardBreak" },
                { "type": "mention", "attrs": { "id": "5b10", "text": "@Mia" } }
            ]},
            { "type": "bulletList", "content": [
                { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "one" }] }] },
                { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "two", "marks": [{ "type": "code" }] }] }] }
            ]},
            { "type": "orderedList", "content": [
                { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "first" }] }] }
            ]},
            { "type": "codeBlock", "attrs": { "language": "rust" }, "content": [{ "type": "text", "text": "panic!()" }] },
            { "type": "blockquote", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "quoted" }] }] },
            { "type": "panel", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "kept" }] }] }
        ]});
        assert_eq!(
            to_markdown(&doc),
            "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\n@Mia\n\n- one\n- `two`\n\n1. first\n\n```rust\npanic!()\n```\n\n> quoted\n\nkept"
        );
    }

    #[test]
    fn strings_and_nulls_pass_through() {
        assert_eq!(
            to_markdown(&json!("Main order flow broken")),
            "Main order flow broken"
        );
        assert_eq!(to_markdown(&Value::Null), "");
        assert_eq!(to_markdown(&json!({ "type": "doc", "content": [] })), "");
    }
}
