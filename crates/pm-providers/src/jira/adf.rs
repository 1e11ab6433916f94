//! Atlassian Document Format (Jira Cloud's rich text) to Markdown, for descriptions and comments.
//! Lists (nested), quotes, rules and tables become their Markdown forms; cards keep their
//! address, media their name, dates their day, status lozenges their text; unknown node types
//! keep their text, so nothing a user wrote is dropped.
use serde_json::Value;

/// Markdown for an ADF document, or for a plain string (Data Center, older payloads).
pub fn to_markdown(doc: &Value) -> String {
    match doc {
        // Only Data Center (REST v2) answers rich text as a string: wiki markup.
        Value::String(s) => super::wiki::from_wiki(s),
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
        "bulletList" | "orderedList" | "taskList" => {
            let start = attrs
                .and_then(|a| a.get("order"))
                .and_then(Value::as_u64)
                .unwrap_or(1);
            for (i, item) in children(node.get("content")).iter().enumerate() {
                let marker = match kind {
                    "orderedList" => format!("{}.", start + i as u64),
                    "taskList" => {
                        let done = item.get("attrs").and_then(|a| a.get("state"))
                            == Some(&Value::from("DONE"));
                        if done { "- [x]" } else { "- [ ]" }.to_string()
                    }
                    _ => "-".to_string(),
                };
                let mut inner = String::new();
                if kind == "taskList" {
                    inner.push_str(&inline(item.get("content")));
                } else {
                    blocks(item.get("content"), &mut inner, depth + 1);
                }
                // Nested lines go under the item's text, indented by the marker's width.
                let pad = " ".repeat(if kind == "taskList" {
                    2
                } else {
                    marker.len() + 1
                });
                let mut lines = inner.trim_end().lines().filter(|l| !l.trim().is_empty());
                out.push_str(&format!(
                    "{marker} {}\n",
                    lines.next().unwrap_or("").trim_start()
                ));
                for line in lines {
                    out.push_str(&format!("{pad}{line}\n"));
                }
            }
            out.push('\n');
        }
        "table" => table(node, out),
        "inlineCard" | "blockCard" | "embedCard" => {
            out.push_str(&card(attrs));
            out.push_str("\n\n");
        }
        "mediaSingle" | "mediaGroup" => {
            let names: Vec<String> = children(node.get("content"))
                .iter()
                .map(|m| media(m.get("attrs")))
                .collect();
            out.push_str(&names.join(" "));
            out.push_str("\n\n");
        }
        "expand" | "nestedExpand" => {
            if let Some(title) = attrs
                .and_then(|a| a.get("title"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                out.push_str(&format!("**{title}**\n\n"));
            }
            blocks(node.get("content"), out, depth);
        }
        "codeBlock" => {
            let lang = attrs
                .and_then(|a| a.get("language"))
                .and_then(Value::as_str)
                .unwrap_or("");
            out.push_str(&format!("```{lang}\n"));
            let code: String = children(node.get("content"))
                .iter()
                .filter_map(|t| t.get("text").and_then(Value::as_str))
                .collect();
            if !code.is_empty() {
                out.push_str(&code);
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        "blockquote" => {
            let mut inner = String::new();
            blocks(node.get("content"), &mut inner, depth);
            for line in inner.trim_end().lines() {
                match line.is_empty() {
                    true => out.push_str(">\n"),
                    false => out.push_str(&format!("> {line}\n")),
                }
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
            "inlineCard" => out.push_str(&card(attrs)),
            "media" | "mediaInline" => out.push_str(&media(attrs)),
            // A date node holds its day as milliseconds since 1970 (a string).
            "date" => {
                let day = attrs
                    .and_then(|a| a.get("timestamp"))
                    .and_then(|t| {
                        t.as_str()
                            .and_then(|s| s.parse::<i64>().ok())
                            .or(t.as_i64())
                    })
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|d| d.format("%Y-%m-%d").to_string());
                out.push_str(&day.unwrap_or_default());
            }
            "status" => out.push_str(
                attrs
                    .and_then(|a| a.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            _ => out.push_str(&inline(node.get("content"))),
        }
    }
    out
}

/// A card's address (a smart link: `url`, or `data.url` for a JSON-LD card).
fn card(attrs: Option<&Value>) -> String {
    attrs
        .and_then(|a| {
            a.get("url")
                .or_else(|| a.get("data").and_then(|d| d.get("url")))
        })
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A media node as its name (`alt`, else what it is).
fn media(attrs: Option<&Value>) -> String {
    let name = attrs
        .and_then(|a| a.get("alt").or_else(|| a.get("url")))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("attachment");
    format!("[attachment: {name}]")
}

/// A table as a Markdown table: the header row first (an empty one when the table has none),
/// each cell's paragraphs on one line, `|` escaped.
fn table(node: &Value, out: &mut String) {
    let rows: Vec<(bool, Vec<String>)> = children(node.get("content"))
        .iter()
        .map(|row| {
            let cells = children(row.get("content"));
            let header = cells
                .iter()
                .all(|c| c.get("type").and_then(Value::as_str) == Some("tableHeader"));
            let texts = cells
                .iter()
                .map(|c| {
                    children(c.get("content"))
                        .iter()
                        .map(|p| inline(p.get("content")))
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace('\n', " ")
                        .replace('|', "\\|")
                })
                .collect();
            (header, texts)
        })
        .collect();
    let Some(width) = rows.iter().map(|(_, c)| c.len()).max() else {
        return;
    };
    let line = |cells: &[String]| {
        let mut cells = cells.to_vec();
        cells.resize(width, String::new());
        format!("| {} |\n", cells.join(" | "))
    };
    let mut rest = rows.as_slice();
    match rows.first() {
        Some((true, head)) => {
            out.push_str(&line(head));
            rest = &rows[1..];
        }
        _ => out.push_str(&line(&[])),
    }
    out.push_str(&line(&vec!["---".to_string(); width]));
    for (_, cells) in rest {
        out.push_str(&line(cells));
    }
    out.push('\n');
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

    /// A Cloud description as saved (marks, mention, emoji, card, date, status, nested lists, a
    /// numbered list starting at 3, a quote, a rule, a table, code, media, a panel, a task list,
    /// an expand): read as the saved Markdown; written back and read again, it is the same.
    #[test]
    fn a_saved_document_reads_as_markdown_and_round_trips() {
        let doc: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/description.adf.json"
        ))
        .unwrap();
        let md = include_str!("../../tests/fixtures/jira/description-from-adf.md").trim_end();
        assert_eq!(to_markdown(&doc), md);
        let written = super::super::markdown::to_adf(md);
        assert_eq!(to_markdown(&written), md);
        // Tables, quotes, rules and nested lists are written as ADF nodes, not text.
        let types: Vec<&str> = written["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["type"].as_str())
            .collect();
        for kind in [
            "bulletList",
            "orderedList",
            "blockquote",
            "rule",
            "table",
            "codeBlock",
        ] {
            assert!(types.contains(&kind), "{kind} in {types:?}");
        }
        let list = &written["content"][2];
        assert_eq!(
            list["content"][0]["content"][1]["type"], "bulletList",
            "nested"
        );
        assert_eq!(written["content"][3]["attrs"]["order"], 3);
        let table = written["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["type"] == "table")
            .unwrap();
        assert_eq!(table["content"][0]["content"][0]["type"], "tableHeader");
        assert_eq!(
            table["content"][1]["content"][0]["content"][0]["content"][0]["text"],
            "Safari | 17"
        );
    }
}
