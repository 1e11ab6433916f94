//! Markdown (what tools take) to Jira's rich text: ADF for Cloud, wiki markup for Data Center.
//! Covers what people write in tickets: paragraphs, headings, bullet and numbered lists, fenced
//! code, and inline bold, italics, code and links. Anything else stays literal text.
use serde_json::{Value, json};

enum Block {
    Heading(usize, String),
    Paragraph(Vec<String>),
    Bullets(Vec<String>),
    Numbers(Vec<String>),
    Code(String, String),
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = md.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_end();
        if t.trim().is_empty() {
            continue;
        }
        if let Some(lang) = t.trim_start().strip_prefix("```") {
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l);
            }
            out.push(Block::Code(lang.trim().to_string(), code.join("\n")));
            continue;
        }
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            out.push(Block::Heading(hashes, t[hashes + 1..].trim().to_string()));
            continue;
        }
        let bullet = |l: &str| {
            l.trim_start()
                .strip_prefix("- ")
                .or_else(|| l.trim_start().strip_prefix("* "))
                .map(str::to_string)
        };
        let number = |l: &str| {
            let l = l.trim_start();
            let digits = l.chars().take_while(char::is_ascii_digit).count();
            (digits > 0 && l[digits..].starts_with(". ")).then(|| l[digits + 2..].to_string())
        };
        if let Some(first) = bullet(t) {
            let mut items = vec![first];
            while let Some(next) = lines.peek().and_then(|l| bullet(l)) {
                items.push(next);
                lines.next();
            }
            out.push(Block::Bullets(items));
            continue;
        }
        if let Some(first) = number(t) {
            let mut items = vec![first];
            while let Some(next) = lines.peek().and_then(|l| number(l)) {
                items.push(next);
                lines.next();
            }
            out.push(Block::Numbers(items));
            continue;
        }
        let mut para = vec![t.to_string()];
        while let Some(next) = lines.peek() {
            let n = next.trim_end();
            if n.trim().is_empty()
                || n.trim_start().starts_with("```")
                || bullet(n).is_some()
                || number(n).is_some()
                || n.starts_with('#')
            {
                break;
            }
            para.push(n.to_string());
            lines.next();
        }
        out.push(Block::Paragraph(para));
    }
    out
}

/// A mark on a run of text: strong, em, code, or link with its href.
type Mark = (&'static str, Option<String>);
/// A run of text and its marks.
type Span = (String, Vec<Mark>);

/// Inline spans: (text, marks) with marks among strong, em, code, link(href).
fn spans(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let flush = |plain: &mut String, out: &mut Vec<Span>| {
        if !plain.is_empty() {
            out.push((std::mem::take(plain), vec![]));
        }
    };
    while let Some(c) = rest.chars().next() {
        let found = if let Some(r) = rest.strip_prefix("**") {
            r.find("**")
                .filter(|i| *i > 0)
                .map(|i| (r[..i].to_string(), vec![("strong", None)], 2 + i + 2))
        } else if c == '`' {
            rest[1..]
                .find('`')
                .filter(|i| *i > 0)
                .map(|i| (rest[1..1 + i].to_string(), vec![("code", None)], i + 2))
        } else if c == '*' || c == '_' {
            rest[1..]
                .find(c)
                .filter(|i| *i > 0)
                .map(|i| (rest[1..1 + i].to_string(), vec![("em", None)], i + 2))
        } else if c == '[' {
            rest.find("](").and_then(|close| {
                let after = &rest[close + 2..];
                after.find(')').map(|end| {
                    (
                        rest[1..close].to_string(),
                        vec![("link", Some(after[..end].to_string()))],
                        close + 2 + end + 1,
                    )
                })
            })
        } else {
            None
        };
        match found {
            Some((t, marks, used)) => {
                flush(&mut plain, &mut out);
                out.push((t, marks));
                rest = &rest[used..];
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

fn adf_inline(text: &str) -> Vec<Value> {
    spans(text)
        .into_iter()
        .map(|(t, marks)| {
            let mut node = json!({ "type": "text", "text": t });
            if !marks.is_empty() {
                node["marks"] = Value::Array(
                    marks
                        .into_iter()
                        .map(|(kind, href)| match href {
                            Some(h) => json!({ "type": kind, "attrs": { "href": h } }),
                            None => json!({ "type": kind }),
                        })
                        .collect(),
                );
            }
            node
        })
        .collect()
}

fn adf_paragraph(text: &str) -> Value {
    json!({ "type": "paragraph", "content": adf_inline(text) })
}

/// An ADF document for Jira Cloud.
pub fn to_adf(md: &str) -> Value {
    let content: Vec<Value> = blocks(md)
        .into_iter()
        .map(|b| match b {
            Block::Heading(level, t) => json!({ "type": "heading", "attrs": { "level": level }, "content": adf_inline(&t) }),
            Block::Paragraph(lines) => {
                let mut content = Vec::new();
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        content.push(json!({ "type": "hardBreak" }));
                    }
                    content.extend(adf_inline(l));
                }
                json!({ "type": "paragraph", "content": content })
            }
            Block::Bullets(items) => json!({ "type": "bulletList", "content": items.iter().map(|i| json!({ "type": "listItem", "content": [adf_paragraph(i)] })).collect::<Vec<_>>() }),
            Block::Numbers(items) => json!({ "type": "orderedList", "content": items.iter().map(|i| json!({ "type": "listItem", "content": [adf_paragraph(i)] })).collect::<Vec<_>>() }),
            Block::Code(lang, code) => {
                let mut node = json!({ "type": "codeBlock", "content": [{ "type": "text", "text": code }] });
                if !lang.is_empty() {
                    node["attrs"] = json!({ "language": lang });
                }
                node
            }
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": content })
}

fn wiki_inline(text: &str) -> String {
    spans(text)
        .into_iter()
        .map(|(t, marks)| match marks.first() {
            Some(("strong", _)) => format!("*{t}*"),
            Some(("em", _)) => format!("_{t}_"),
            Some(("code", _)) => format!("{{{{{t}}}}}"),
            Some(("link", Some(h))) => format!("[{t}|{h}]"),
            _ => t,
        })
        .collect()
}

/// Wiki markup for Jira Data Center / Server.
pub fn to_wiki(md: &str) -> String {
    blocks(md)
        .into_iter()
        .map(|b| match b {
            Block::Heading(level, t) => format!("h{level}. {}", wiki_inline(&t)),
            Block::Paragraph(lines) => lines
                .iter()
                .map(|l| wiki_inline(l))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Bullets(items) => items
                .iter()
                .map(|i| format!("* {}", wiki_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Numbers(items) => items
                .iter()
                .map(|i| format!("# {}", wiki_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Code(lang, code) if lang.is_empty() => format!("{{code}}\n{code}\n{{code}}"),
            Block::Code(lang, code) => format!("{{code:{lang}}}\n{code}\n{{code}}"),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Markdown from Jira Data Center's wiki markup (the text its REST v2 answers carry): headings
/// `hN.`, `*` / `#` lists, `{code}` blocks, and inline `*strong*`, `_emphasis_`, `{{code}}`,
/// `[text|url]` — the inverse of [`to_wiki`], so what pm-mcp wrote reads back unchanged.
pub fn from_wiki(wiki: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut code: Option<Vec<String>> = None;
    let mut number = 0;
    for line in wiki.lines() {
        let trimmed = line.trim_end();
        if let Some(block) = code.as_mut() {
            if trimmed == "{code}" {
                out.append(block);
                out.push("```".to_string());
                code = None;
            } else {
                block.push(line.to_string());
            }
            continue;
        }
        if let Some(lang) = trimmed
            .strip_prefix("{code")
            .and_then(|r| r.strip_suffix('}'))
        {
            out.push(format!("```{}", lang.trim_start_matches(':')));
            code = Some(Vec::new());
            continue;
        }
        let heading = trimmed
            .strip_prefix('h')
            .and_then(|r| r.split_once(". "))
            .and_then(|(n, t)| {
                n.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=6).contains(n))
                    .map(|n| (n, t))
            });
        if let Some((level, text)) = heading {
            out.push(format!("{} {}", "#".repeat(level), wiki_spans(text)));
            number = 0;
        } else if let Some(item) = trimmed.strip_prefix("* ") {
            out.push(format!("- {}", wiki_spans(item)));
        } else if let Some(item) = trimmed.strip_prefix("# ") {
            number += 1;
            out.push(format!("{number}. {}", wiki_spans(item)));
        } else {
            if trimmed.is_empty() {
                number = 0;
            }
            out.push(wiki_spans(trimmed));
        }
    }
    if let Some(block) = code {
        out.extend(block);
        out.push("```".to_string());
    }
    out.join("\n").trim_end().to_string()
}

/// Inline wiki markup as Markdown.
fn wiki_spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    while i < chars.len() {
        let c = chars[i];
        // {{monospace}}
        if c == '{'
            && chars.get(i + 1) == Some(&'{')
            && let Some(end) = find(&chars, i + 2, &['}', '}'])
        {
            let inner: String = chars[i + 2..end].iter().collect();
            out.push_str(&format!("`{inner}`"));
            i = end + 2;
            continue;
        }
        // [text|url]
        if c == '['
            && let Some(end) = chars[i..].iter().position(|&x| x == ']').map(|p| p + i)
            && let Some((t, url)) = chars[i + 1..end]
                .iter()
                .collect::<String>()
                .split_once('|')
                .map(|(t, u)| (t.to_string(), u.to_string()))
        {
            out.push_str(&format!("[{}]({url})", wiki_spans(&t)));
            i = end + 1;
            continue;
        }
        // *strong* and _emphasis_, opened before a non-space and not inside a word.
        if (c == '*' || c == '_')
            && !word(i.checked_sub(1).and_then(|p| chars.get(p)))
            && chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != c)
        {
            let close = (i + 2..chars.len()).find(|&j| {
                chars[j] == c && !chars[j - 1].is_whitespace() && !word(chars.get(j + 1))
            });
            if let Some(j) = close {
                let inner: String = chars[i + 1..j].iter().collect();
                let mark = if c == '*' { "**" } else { "*" };
                out.push_str(&format!("{mark}{}{mark}", wiki_spans(&inner)));
                i = j + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn find(chars: &[char], from: usize, pat: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(pat.len() - 1)).find(|&j| chars[j..j + pat.len()] == *pat)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\nthen `retry`\n\n- one\n- *two*\n\n1. first\n2. second\n\n```rust\npanic!()\n```";

    #[test]
    fn markdown_round_trips_through_adf() {
        let adf = to_adf(SAMPLE);
        assert_eq!(adf["type"], "doc");
        assert_eq!(adf["content"][0]["type"], "heading");
        assert_eq!(
            adf["content"][1]["content"][1]["marks"][0]["type"],
            "strong"
        );
        assert_eq!(
            adf["content"][1]["content"][3]["marks"][0]["attrs"]["href"],
            "https://shop.example/checkout"
        );
        assert_eq!(
            super::super::adf::to_markdown(&adf),
            "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\nthen `retry`\n\n- one\n- *two*\n\n1. first\n2. second\n\n```rust\npanic!()\n```"
        );
    }

    #[test]
    fn plain_text_and_odd_input_survive() {
        assert_eq!(
            super::super::adf::to_markdown(&to_adf("just text")),
            "just text"
        );
        assert_eq!(
            super::super::adf::to_markdown(&to_adf("a * b and 2*3 and [x] (y) `")),
            "a * b and 2*3 and [x] (y) `"
        );
        assert_eq!(to_adf("")["content"], json!([]));
        assert_eq!(
            super::super::adf::to_markdown(&to_adf("Ünïcödé — ✓")),
            "Ünïcödé — ✓"
        );
    }

    #[test]
    fn wiki_markup_reads_back_as_the_markdown_it_came_from() {
        let md = "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\nthen `retry` and *maybe*\n\n- one\n- two\n\n1. first\n2. second\n\n```rust\npanic!()\n```";
        assert_eq!(from_wiki(&to_wiki(md)), md);
        assert_eq!(
            from_wiki("Reproduced on *Safari*"),
            "Reproduced on **Safari**"
        );
        assert_eq!(
            from_wiki("snake_case_name and 2*3*4"),
            "snake_case_name and 2*3*4"
        );
    }

    #[test]
    fn markdown_becomes_wiki_markup() {
        assert_eq!(
            to_wiki(SAMPLE),
            "h2. Steps\n\nOrder *fails* on [checkout|https://shop.example/checkout]\nthen {{retry}}\n\n* one\n* _two_\n\n# first\n# second\n\n{code:rust}\npanic!()\n{code}"
        );
    }
}
