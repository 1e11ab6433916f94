//! ClickUp's rich comment form ↔ Markdown. `comment_text` is plain text (Markdown in it shows as
//! typed); a formatted comment is a `comment` array of `{text, attributes}` segments, as ClickUp's
//! comment formatting page documents (developer.clickup.com/docs/comment-formatting): inline
//! `bold`, `italic`, `code` and links, and per line (on the `"\n"` that ends it) a bulleted or
//! numbered `list` or a `code-block`. Headings, quotes and tables have no documented form: their
//! lines go as plain text, and come back as written.
use serde_json::{Map, Value, json};

fn segment(text: &str, attributes: Value) -> Value {
    json!({ "text": text, "attributes": attributes })
}

fn line_end(block: Option<Value>) -> Value {
    segment("\n", block.unwrap_or_else(|| json!({})))
}

/// Markdown → the segments of ClickUp's `comment` array.
pub fn to_segments(markdown: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let lines: Vec<&str> = markdown.split('\n').collect();
    let mut fence: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(match rest.trim() {
                    "" => "plain".to_string(),
                    lang => lang.to_string(),
                }),
            };
            continue;
        }
        if let Some(lang) = &fence {
            if !line.is_empty() {
                out.push(segment(line, json!({})));
            }
            out.push(line_end(Some(
                json!({ "code-block": { "code-block": lang } }),
            )));
            continue;
        }
        let (content, block) = if let Some(rest) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
            .or_else(|| trimmed.strip_prefix("+ "))
        {
            (rest, Some(json!({ "list": { "list": "bullet" } })))
        } else if let Some(rest) = ordered_item(trimmed) {
            (rest, Some(json!({ "list": { "list": "ordered" } })))
        } else {
            (*line, None)
        };
        out.extend(inline(content));
        if block.is_some() || !last {
            out.push(line_end(block));
        }
    }
    merge_plain(out)
}

/// `12. text` → `text`.
fn ordered_item(line: &str) -> Option<&str> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    line[digits..].strip_prefix(". ")
}

/// Adjacent unformatted segments as one.
fn merge_plain(segments: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for s in segments {
        let plain = s["attributes"].as_object().is_some_and(Map::is_empty);
        if plain
            && let Some(prev) = out.last_mut()
            && prev["attributes"].as_object().is_some_and(Map::is_empty)
        {
            let joined = format!(
                "{}{}",
                prev["text"].as_str().unwrap_or(""),
                s["text"].as_str().unwrap_or("")
            );
            prev["text"] = json!(joined);
            continue;
        }
        if s["text"].as_str().is_some_and(|t| !t.is_empty()) {
            out.push(s);
        }
    }
    out
}

/// The inline Markdown of one line: `**bold**`, `*italic*` / `_italic_`, `` `code` ``,
/// `[text](url)`; anything else is text.
fn inline(line: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = line;
    let flush = |plain: &mut String, out: &mut Vec<Value>| {
        if !plain.is_empty() {
            out.push(segment(plain, json!({})));
            plain.clear();
        }
    };
    while let Some(c) = rest.chars().next() {
        let prev_word = plain.chars().last().is_some_and(char::is_alphanumeric);
        let found: Option<(usize, Value)> = if let Some(body) = rest.strip_prefix('`') {
            body.find('`')
                .filter(|&end| end > 0)
                .map(|end| (end + 2, segment(&body[..end], json!({ "code": true }))))
        } else if let Some(body) = rest.strip_prefix("**") {
            body.find("**")
                .filter(|&end| end > 0 && !body.starts_with(' '))
                .map(|end| (end + 4, segment(&body[..end], json!({ "bold": true }))))
        } else if (c == '*' || (c == '_' && !prev_word)) && rest.len() > 1 {
            let body = &rest[1..];
            body.find(c)
                .filter(|&end| end > 0 && !body.starts_with(' '))
                .filter(|&end| {
                    c == '*'
                        || !body[end + 1..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphanumeric)
                })
                .map(|end| (end + 2, segment(&body[..end], json!({ "italic": true }))))
        } else if let Some(body) = rest.strip_prefix('[') {
            body.find("](").and_then(|mid| {
                let after = &body[mid + 2..];
                after
                    .find(')')
                    .filter(|&end| end > 0 && mid > 0)
                    .map(|end| {
                        (
                            1 + mid + 2 + end + 1,
                            segment(&body[..mid], json!({ "link": &after[..end] })),
                        )
                    })
            })
        } else {
            None
        };
        match found {
            Some((len, seg)) => {
                flush(&mut plain, &mut out);
                out.push(seg);
                rest = &rest[len..];
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    flush(&mut plain, &mut out);
    out
}

/// One segment's text with its inline formatting as Markdown.
fn inline_markdown(text: &str, attrs: &Map<String, Value>) -> String {
    let on = |k: &str| attrs.get(k).and_then(Value::as_bool) == Some(true);
    if text.trim().is_empty() {
        return text.to_string();
    }
    if on("code") {
        return format!("`{text}`");
    }
    let mut t = text.to_string();
    if on("italic") {
        t = format!("*{t}*");
    }
    if on("bold") {
        t = format!("**{t}**");
    }
    // A link as ClickUp's editor keeps it (the URL), or as an object with `url`.
    let url = attrs.get("link").and_then(|l| {
        l.as_str()
            .map(str::to_string)
            .or_else(|| l.get("url").and_then(Value::as_str).map(str::to_string))
    });
    match url {
        Some(u) if !u.is_empty() => format!("[{t}]({u})"),
        _ => t,
    }
}

enum Block {
    Plain,
    Bullet,
    Ordered,
    Code(String),
}

fn block_of(attrs: &Map<String, Value>) -> Block {
    if let Some(lang) = attrs.get("code-block") {
        let lang = lang
            .get("code-block")
            .and_then(Value::as_str)
            .unwrap_or("plain");
        return Block::Code(if lang == "plain" {
            String::new()
        } else {
            lang.into()
        });
    }
    match attrs
        .get("list")
        .and_then(|l| l.get("list").or(Some(l)))
        .and_then(Value::as_str)
    {
        Some("bullet") => Block::Bullet,
        Some("ordered") => Block::Ordered,
        _ => Block::Plain,
    }
}

/// ClickUp's `comment` segments → Markdown (the inverse of `to_segments`).
pub fn to_markdown(segments: &[Value]) -> String {
    let empty = Map::new();
    let mut lines: Vec<(Block, String)> = Vec::new();
    let mut current = String::new();
    for s in segments {
        let text = s["text"].as_str().unwrap_or("");
        let attrs = s["attributes"].as_object().unwrap_or(&empty);
        if text == "\n" {
            lines.push((block_of(attrs), std::mem::take(&mut current)));
            continue;
        }
        let mut parts = text.split('\n').peekable();
        while let Some(part) = parts.next() {
            current.push_str(&inline_markdown(part, attrs));
            if parts.peek().is_some() {
                lines.push((Block::Plain, std::mem::take(&mut current)));
            }
        }
    }
    if !current.is_empty() {
        lines.push((Block::Plain, current));
    }
    let mut out: Vec<String> = Vec::new();
    let mut number = 0;
    let mut fence: Option<String> = None;
    for (block, text) in lines {
        if let Some(lang) = &fence
            && !matches!(&block, Block::Code(l) if l == lang)
        {
            out.push("```".into());
            fence = None;
        }
        number = if matches!(block, Block::Ordered) {
            number + 1
        } else {
            0
        };
        match block {
            Block::Plain => out.push(text),
            Block::Bullet => out.push(format!("- {text}")),
            Block::Ordered => out.push(format!("{number}. {text}")),
            Block::Code(lang) => {
                if fence.is_none() {
                    out.push(format!("```{lang}"));
                    fence = Some(lang);
                }
                out.push(text);
            }
        }
    }
    if fence.is_some() {
        out.push("```".into());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_round_trips_through_the_rich_form() {
        for md in [
            "plain words",
            "Looks **good**, *mostly*: see [the docs](https://example.com/d) and `cargo test`",
            "a\n\n- one\n- two\n\n1. first\n2. second\n3. third\n\nafter",
            "```rust\nfn main() {}\n\nlet x = 1;\n```\nthen text",
            "snake_case_name and 2 * 3 * 4 stay text",
            "# Heading\n> quote",
        ] {
            let segs = to_segments(md);
            assert_eq!(to_markdown(&segs), md, "{segs:?}");
        }
    }

    #[test]
    fn formatting_is_in_attributes_not_in_the_text() {
        let segs = to_segments("**Bold** then _it_");
        assert_eq!(
            segs,
            vec![
                json!({ "text": "Bold", "attributes": { "bold": true } }),
                json!({ "text": " then ", "attributes": {} }),
                json!({ "text": "it", "attributes": { "italic": true } }),
            ]
        );
        // A comment written in ClickUp: plain text with its own line breaks.
        let from_ui = vec![json!({ "text": "line one\nline two" })];
        assert_eq!(to_markdown(&from_ui), "line one\nline two");
    }
}
