//! Markdown (what tools take) to Jira's rich text: ADF for Cloud, wiki markup for Data Center.
//! Covers what people write in tickets: paragraphs, headings, bullet and numbered lists (nested),
//! fenced code, block quotes, horizontal rules, tables, and inline bold, italics, strikethrough,
//! code and links; a backslash escapes a character. Anything else stays literal text. ADF never
//! gets an empty text node (Jira Cloud refuses the whole document with 400 `INVALID_INPUT`).
use serde_json::{Value, json};

/// A block of a Markdown document.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Block {
    Heading(usize, String),
    /// Its lines (joined by hard breaks).
    Paragraph(Vec<String>),
    List {
        ordered: bool,
        start: u64,
        items: Vec<Item>,
    },
    /// Language, code.
    Code(String, String),
    Quote(Vec<Block>),
    Rule,
    /// Rows of cells; the first row is the header (all empty: no header).
    Table(Vec<Vec<String>>),
}

/// One list item: its text, and what is nested under it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub text: String,
    pub children: Vec<Block>,
}

/// Leading spaces (a tab counts four).
fn indent(line: &str) -> usize {
    let mut n = 0;
    for c in line.chars() {
        match c {
            ' ' => n += 1,
            '\t' => n += 4,
            _ => break,
        }
    }
    n
}

/// A list item's line: (indent, ordered, number, text).
fn marker(line: &str) -> Option<(usize, bool, u64, String)> {
    let t = line.trim_start();
    let ind = indent(line);
    for b in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some((ind, false, 1, rest.trim_end().to_string()));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if (1..=9).contains(&digits) && t[digits..].starts_with(". ") {
        let n = t[..digits].parse().unwrap_or(1);
        return Some((ind, true, n, t[digits + 2..].trim_end().to_string()));
    }
    None
}

fn is_rule(t: &str) -> bool {
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && ['-', '*', '_'].iter().any(|m| t.chars().all(|c| c == *m))
}

fn heading(t: &str) -> Option<(usize, String)> {
    let hashes = t.chars().take_while(|c| *c == '#').count();
    ((1..=6).contains(&hashes) && t[hashes..].starts_with(' '))
        .then(|| (hashes, t[hashes + 1..].trim().to_string()))
}

/// A table row's cells (outer pipes dropped, `\|` kept inside a cell).
pub(super) fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = if t.ends_with('|') && !t.ends_with("\\|") {
        &t[..t.len() - 1]
    } else {
        t
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push_str("\\|");
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|')
        && t.contains('-')
        && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

fn starts_block(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim();
    t.starts_with("```")
        || heading(t).is_some()
        || t.starts_with('>')
        || marker(lines[i]).is_some()
        || is_rule(t)
        || (t.starts_with('|') && lines.get(i + 1).is_some_and(|n| is_separator(n)))
}

/// How deep quotes and lists nest; a deeper `>` or list marker is kept as text. The parser
/// descends once per level, and a tool call's body (4 MiB) could otherwise nest a million levels
/// deep and exhaust a server thread's stack.
const MAX_NESTING: usize = 32;

/// The blocks of a Markdown text.
pub(super) fn blocks(md: &str) -> Vec<Block> {
    let lines: Vec<&str> = md.lines().collect();
    parse(&lines, 0)
}

fn parse(lines: &[&str], depth: usize) -> Vec<Block> {
    parse_tight(lines, depth)
        .into_iter()
        .map(|(b, _)| b)
        .collect()
}

/// The blocks, each with whether it follows the one before without a blank line between (a
/// wiki heading and its text, say), so that wiki markup is written back line for line.
fn parse_tight(lines: &[&str], depth: usize) -> Vec<(Block, bool)> {
    let mut out: Vec<Block> = Vec::new();
    let mut tight: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let t = line.trim_start();
        if t.is_empty() {
            i += 1;
            continue;
        }
        if out.len() == tight.len() {
            tight.push(i > 0 && !lines[i - 1].trim().is_empty());
        }
        if let Some(lang) = t.strip_prefix("```") {
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                code.push(lines[i]);
                i += 1;
            }
            i += 1;
            out.push(Block::Code(lang.trim().to_string(), code.join("\n")));
            continue;
        }
        if marker(line).is_none() && is_rule(t) {
            out.push(Block::Rule);
            i += 1;
            continue;
        }
        if let Some((level, text)) = heading(t) {
            out.push(Block::Heading(level, text));
            i += 1;
            continue;
        }
        if t.starts_with('>') && depth < MAX_NESTING {
            let mut inner = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('>') {
                let l = &lines[i].trim_start()[1..];
                inner.push(l.strip_prefix(' ').unwrap_or(l));
                i += 1;
            }
            out.push(Block::Quote(parse(&inner, depth + 1)));
            continue;
        }
        if t.starts_with('|') && lines.get(i + 1).is_some_and(|n| is_separator(n)) {
            let mut rows = vec![cells(t)];
            i += 2;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                rows.push(cells(lines[i]));
                i += 1;
            }
            out.push(Block::Table(rows));
            continue;
        }
        if let Some((base, ordered, start, _)) = marker(line)
            && depth < MAX_NESTING
        {
            out.push(list(lines, &mut i, base, ordered, start, depth));
            continue;
        }
        let mut para = vec![t.to_string()];
        i += 1;
        while i < lines.len() && !lines[i].trim().is_empty() && !starts_block(lines, i) {
            para.push(lines[i].trim().to_string());
            i += 1;
        }
        out.push(Block::Paragraph(para));
    }
    out.into_iter().zip(tight).collect()
}

/// A list at indent `base` and the lists nested in it (lines indented further).
fn list(
    lines: &[&str],
    i: &mut usize,
    base: usize,
    ordered: bool,
    start: u64,
    depth: usize,
) -> Block {
    let mut items = Vec::new();
    while *i < lines.len() {
        let Some((ind, o, _, text)) = marker(lines[*i]) else {
            break;
        };
        if ind != base || o != ordered {
            break;
        }
        *i += 1;
        let mut text = text;
        let mut nested: Vec<&str> = Vec::new();
        while *i < lines.len() && !lines[*i].trim().is_empty() {
            let l = lines[*i];
            let deeper = indent(l) > base;
            if deeper && (marker(l).is_some() || !nested.is_empty() || starts_block(lines, *i)) {
                nested.push(l);
            } else if marker(l).is_none() && !starts_block(lines, *i) && nested.is_empty() {
                // A continuation of the item's text.
                text.push('\n');
                text.push_str(l.trim());
            } else {
                break;
            }
            *i += 1;
        }
        let cut = nested.iter().map(|l| indent(l)).min().unwrap_or(0);
        let dedented: Vec<String> = nested
            .iter()
            .map(|l| l.chars().skip(cut).collect())
            .collect();
        let dedented: Vec<&str> = dedented.iter().map(String::as_str).collect();
        items.push(Item {
            text,
            children: parse(&dedented, depth + 1),
        });
    }
    Block::List {
        ordered,
        start,
        items,
    }
}

/// A mark on a run of text: strong, em, strike, code, or link with its href; `escaped` is a
/// character written with a backslash.
pub(super) type Mark = (&'static str, Option<String>);
/// A run of text and its marks.
pub(super) type Span = (String, Vec<Mark>);

/// Inline spans: (text, marks) with marks among strong, em, strike, code, link(href), escaped.
pub(super) fn spans(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let mut prev: Option<char> = None;
    let flush = |plain: &mut String, out: &mut Vec<Span>| {
        if !plain.is_empty() {
            out.push((std::mem::take(plain), vec![]));
        }
    };
    while let Some(c) = rest.chars().next() {
        // `snake_case` and `2*3*4` are no emphasis: a mark opens one only where no word goes
        // before it (as Jira's wiki reads them, so both texts mean the same).
        let in_word = prev.is_some_and(char::is_alphanumeric);
        let found = if c == '\\'
            && let Some(n) = rest[1..].chars().next().filter(char::is_ascii_punctuation)
        {
            Some((n.to_string(), vec![("escaped", None)], 1 + n.len_utf8()))
        } else if let Some(r) = rest.strip_prefix("**") {
            r.find("**")
                .filter(|i| *i > 0)
                .map(|i| (r[..i].to_string(), vec![("strong", None)], 2 + i + 2))
        } else if let Some(r) = rest.strip_prefix("~~") {
            r.find("~~")
                .filter(|i| *i > 0)
                .map(|i| (r[..i].to_string(), vec![("strike", None)], 2 + i + 2))
        } else if c == '`' {
            rest[1..]
                .find('`')
                .filter(|i| *i > 0)
                .map(|i| (rest[1..1 + i].to_string(), vec![("code", None)], i + 2))
        } else if (c == '*' || c == '_')
            && !in_word
            && rest[1..].starts_with(|n: char| !n.is_whitespace())
        {
            // Flanking as CommonMark has it: the text starts and ends with a non-space.
            rest[1..]
                .match_indices(c)
                .map(|(i, _)| i)
                .find(|i| *i > 0 && !rest[1..1 + i].ends_with(char::is_whitespace))
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
                prev = rest[..used].chars().last();
                out.push((t, marks));
                rest = &rest[used..];
            }
            None => {
                plain.push(c);
                prev = Some(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    flush(&mut plain, &mut out);
    out
}

/// ADF text nodes for a line; never an empty one (a link without text shows its address).
/// An escaped character is plain text, one node with the text around it.
fn adf_inline(text: &str) -> Vec<Value> {
    let mut merged: Vec<Span> = Vec::new();
    for (t, marks) in spans(text) {
        let plain = marks.iter().all(|(k, _)| *k == "escaped");
        match merged.last_mut() {
            Some((prev, m)) if plain && m.is_empty() => prev.push_str(&t),
            _ if plain => merged.push((t, Vec::new())),
            _ => merged.push((t, marks)),
        }
    }
    merged
        .into_iter()
        .filter_map(|(t, marks)| {
            let t = match marks.first() {
                Some(("link", Some(h))) if t.is_empty() => h.clone(),
                _ => t,
            };
            if t.is_empty() {
                return None;
            }
            let mut node = json!({ "type": "text", "text": t });
            let marks: Vec<Value> = marks
                .into_iter()
                .filter(|(kind, _)| *kind != "escaped")
                .map(|(kind, href)| match href {
                    Some(h) => json!({ "type": kind, "attrs": { "href": h } }),
                    None => json!({ "type": kind }),
                })
                .collect();
            if !marks.is_empty() {
                node["marks"] = Value::Array(marks);
            }
            Some(node)
        })
        .collect()
}

/// A paragraph of lines joined by hard breaks.
fn adf_paragraph(text: &str) -> Value {
    let mut content = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if i > 0 {
            content.push(json!({ "type": "hardBreak" }));
        }
        content.extend(adf_inline(l));
    }
    json!({ "type": "paragraph", "content": content })
}

fn adf_block(b: &Block) -> Value {
    match b {
        Block::Heading(level, t) => {
            json!({ "type": "heading", "attrs": { "level": level }, "content": adf_inline(t) })
        }
        Block::Paragraph(lines) => adf_paragraph(&lines.join("\n")),
        Block::List {
            ordered,
            start,
            items,
        } => {
            let content: Vec<Value> = items
                .iter()
                .map(|item| {
                    // A list item holds what a quote does (paragraphs, lists, code).
                    let mut c = vec![adf_paragraph(&item.text)];
                    c.extend(quoted(&item.children));
                    json!({ "type": "listItem", "content": c })
                })
                .collect();
            let mut node = json!({ "type": if *ordered { "orderedList" } else { "bulletList" }, "content": content });
            if *ordered && *start != 1 {
                node["attrs"] = json!({ "order": start });
            }
            node
        }
        Block::Code(lang, code) => {
            let mut node = json!({ "type": "codeBlock" });
            if !code.is_empty() {
                node["content"] = json!([{ "type": "text", "text": code }]);
            }
            if !lang.is_empty() {
                node["attrs"] = json!({ "language": lang });
            }
            node
        }
        // ADF refuses an empty quote or table: what holds nothing is an empty paragraph.
        Block::Quote(inner) => match quoted(inner) {
            content if content.is_empty() => json!({ "type": "paragraph", "content": [] }),
            content => json!({ "type": "blockquote", "content": content }),
        },
        Block::Rule => json!({ "type": "rule" }),
        Block::Table(rows) => {
            let headed = rows
                .first()
                .is_some_and(|r| r.iter().any(|c| !c.is_empty()));
            let rows: Vec<Value> = rows
                .iter()
                .enumerate()
                .filter(|(i, _)| *i > 0 || headed)
                .map(|(i, row)| {
                    let kind = if i == 0 { "tableHeader" } else { "tableCell" };
                    let cells: Vec<Value> = row
                        .iter()
                        .map(
                            |c| json!({ "type": kind, "attrs": {}, "content": [adf_paragraph(c)] }),
                        )
                        .collect();
                    json!({ "type": "tableRow", "content": cells })
                })
                .collect();
            if rows.is_empty() {
                return json!({ "type": "paragraph", "content": [] });
            }
            json!({ "type": "table", "attrs": { "isNumberColumnEnabled": false, "layout": "default" }, "content": rows })
        }
    }
}

/// The content of an ADF quote or list item, which hold paragraphs, lists and code only: a heading becomes
/// bold text, a nested quote part of this one, a rule is left out, a table's rows become lines.
fn quoted(inner: &[Block]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in inner {
        match b {
            Block::Heading(_, t) if !t.trim().is_empty() => {
                out.push(adf_paragraph(&format!("**{t}**")));
            }
            Block::Heading(..) | Block::Rule => {}
            Block::Quote(more) => out.extend(quoted(more)),
            Block::Table(rows) => out.extend(rows.iter().map(|r| adf_paragraph(&r.join(" | ")))),
            other => out.push(adf_block(other)),
        }
    }
    out
}

/// An ADF document for Jira Cloud.
pub fn to_adf(md: &str) -> Value {
    let content: Vec<Value> = blocks(md).iter().map(adf_block).collect();
    json!({ "type": "doc", "version": 1, "content": content })
}

/// Jira's wiki macros, which a `{` may open unescaped.
const MACROS: [&str; 9] = [
    "code", "noformat", "quote", "panel", "color", "anchor", "status", "jira", "toc",
];

/// Plain text as wiki markup: what Jira would read as markup is escaped with a backslash (an
/// unknown `{macro}`, a `[` that is no wiki link, an emphasis opener, a block prefix).
fn wiki_plain(t: &str) -> String {
    let mut out = String::new();
    // The last `]`: a `[` after it is no link (found once, not per `[`).
    let last_close = t.rfind(']');
    for (at, c) in t.char_indices() {
        // The text after `c`, borrowed (copying it for every character was quadratic).
        let rest = &t[at + c.len_utf8()..];
        let escape = match c {
            '{' => !MACROS.iter().any(|m| {
                rest.strip_prefix(m)
                    .is_some_and(|r| r.starts_with('}') || r.starts_with(':'))
            }),
            '[' => match last_close.filter(|l| *l > at).and_then(|_| rest.find(']')) {
                Some(end) => {
                    let inner = &rest[..end];
                    !(inner.contains('|')
                        || ["~", "^", "#", "http", "mailto:"]
                            .iter()
                            .any(|p| inner.starts_with(p)))
                }
                None => true,
            },
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    // Emphasis Jira's wiki would read where Markdown has none (`-x-`, a lone `*x*`). `+x+`,
    // `^x^` and `~x~` pass as written: Jira's own underline, superscript and subscript, which
    // a description read from Data Center carries unchanged.
    if super::wiki::spans(t) != t {
        let chars: Vec<char> = out.chars().collect();
        let mut escaped = String::new();
        for (i, c) in chars.iter().enumerate() {
            let before_word = i > 0 && chars[i - 1].is_alphanumeric();
            let opener = "*_-".contains(*c)
                && !before_word
                && chars.get(i + 1).is_some_and(|n| !n.is_whitespace())
                && (i == 0 || chars[i - 1] != '\\');
            if opener {
                escaped.push('\\');
            }
            escaped.push(*c);
        }
        return escaped;
    }
    out
}

fn wiki_inline(text: &str) -> String {
    spans(text)
        .into_iter()
        .map(|(t, marks)| match marks.first() {
            Some(("strong", _)) => format!("*{t}*"),
            Some(("em", _)) => format!("_{t}_"),
            Some(("strike", _)) => format!("-{t}-"),
            Some(("code", _)) => format!("{{{{{t}}}}}"),
            Some(("link", Some(h))) => format!("[{t}|{h}]"),
            Some(("escaped", _)) => format!("\\{t}"),
            _ => wiki_plain(&t),
        })
        .collect()
}

/// A paragraph line Jira would read as a block (`h1. `, `bq. `, `----`) keeps its text.
fn wiki_line(text: &str) -> String {
    let line = wiki_inline(text);
    let block = line.starts_with("bq. ")
        || line.starts_with("----")
        || (line.starts_with('h')
            && line[1..]
                .split_once(". ")
                .is_some_and(|(n, _)| n.parse::<usize>().is_ok_and(|n| (1..=6).contains(&n))));
    match block {
        true => match line.find(['.', '-']) {
            Some(at) if line.as_bytes()[at] == b'.' => {
                format!("{}\\{}", &line[..at], &line[at..])
            }
            _ => format!("\\{line}"),
        },
        false => line,
    }
}

fn wiki_list(items: &[Item], ordered: bool, prefix: &str, out: &mut Vec<String>) {
    let prefix = format!("{prefix}{}", if ordered { '#' } else { '*' });
    for item in items {
        let text: Vec<String> = item.text.lines().map(wiki_inline).collect();
        out.push(format!("{prefix} {}", text.join("\n")));
        for child in &item.children {
            match child {
                Block::List { ordered, items, .. } => wiki_list(items, *ordered, &prefix, out),
                other => out.push(wiki_block(other)),
            }
        }
    }
}

fn wiki_block(b: &Block) -> String {
    match b {
        Block::Heading(level, t) => format!("h{level}. {}", wiki_inline(t)),
        Block::Paragraph(lines) => lines
            .iter()
            .map(|l| wiki_line(l))
            .collect::<Vec<_>>()
            .join("\n"),
        Block::List { ordered, items, .. } => {
            let mut out = Vec::new();
            wiki_list(items, *ordered, "", &mut out);
            out.join("\n")
        }
        Block::Code(lang, code) if lang == "noformat" => {
            format!("{{noformat}}\n{code}\n{{noformat}}")
        }
        Block::Code(lang, code) if lang.is_empty() => format!("{{code}}\n{code}\n{{code}}"),
        Block::Code(lang, code) => format!("{{code:{lang}}}\n{code}\n{{code}}"),
        Block::Quote(inner) => match inner.as_slice() {
            [Block::Paragraph(lines)] if lines.len() == 1 => {
                format!("bq. {}", wiki_inline(&lines[0]))
            }
            _ => format!("{{quote}}\n{}\n{{quote}}", to_wiki_blocks(inner)),
        },
        Block::Rule => "----".to_string(),
        Block::Table(rows) => {
            let headed = rows
                .first()
                .is_some_and(|r| r.iter().any(|c| !c.is_empty()));
            rows.iter()
                .enumerate()
                .filter(|(i, _)| *i > 0 || headed)
                .map(|(i, row)| {
                    let sep = if i == 0 { "||" } else { "|" };
                    let cells: Vec<String> = row.iter().map(|c| wiki_inline(c)).collect();
                    format!("{sep}{}{sep}", cells.join(sep))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

fn to_wiki_blocks(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(wiki_block)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Wiki markup for Jira Data Center / Server.
pub fn to_wiki(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = String::new();
    for (i, (block, tight)) in parse_tight(&lines, 0).iter().enumerate() {
        if i > 0 {
            out.push_str(if *tight { "\n" } else { "\n\n" });
        }
        out.push_str(&wiki_block(block));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::adf::to_markdown;

    const SAMPLE: &str = "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\nthen `retry`\n\n- one\n- *two*\n\n1. first\n2. second\n\n```rust\npanic!()\n```";

    /// Found by fuzzing (fuzz/fuzz_targets/markdown_to_adf.rs): a table with an empty header
    /// and no rows, or a quote holding only a rule, became an empty table or quote, which the
    /// ADF schema forbids (Jira refuses the whole document).
    #[test]
    fn no_empty_table_or_quote_is_written() {
        let empty = json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [] }] });
        assert_eq!(to_adf("|  |\n|--|"), empty);
        assert_eq!(to_adf("> ---"), empty);
        assert_eq!(to_adf(">"), empty);
        assert_eq!(
            to_adf("> kept")["content"][0]["type"],
            "blockquote",
            "a quote with text stays one"
        );
    }

    /// A tool call's body may be 4 MiB: a description of 200,000 `>` (or lists nested
    /// hundreds deep) must convert on a server worker's 2 MiB stack, with its text kept.
    #[test]
    fn deep_nesting_does_not_exhaust_the_stack() {
        let deep = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let quotes = format!("{} deep", ">".repeat(200_000));
                let lists: String = (0..200)
                    .map(|i| format!("{}- item{i}\n", " ".repeat(i * 2)))
                    .collect();
                (
                    to_adf(&quotes),
                    to_wiki(&quotes),
                    to_adf(&lists),
                    to_wiki(&lists),
                )
            })
            .expect("a thread")
            .join()
            .expect("no panic");
        let (adf_quotes, wiki_quotes, adf_lists, wiki_lists) = deep;
        assert!(adf_quotes.to_string().contains("deep"));
        assert!(wiki_quotes.contains("deep"));
        assert!(adf_lists.to_string().contains("item199"));
        assert!(wiki_lists.contains("item199"));
    }

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
        assert_eq!(to_markdown(&adf), SAMPLE);
    }

    #[test]
    fn plain_text_and_odd_input_survive() {
        assert_eq!(to_markdown(&to_adf("just text")), "just text");
        assert_eq!(
            to_markdown(&to_adf("a * b and 2*3 and [x] (y) `")),
            "a * b and 2*3 and [x] (y) `"
        );
        assert_eq!(to_adf("")["content"], json!([]));
        assert_eq!(to_markdown(&to_adf("Ünïcödé — ✓")), "Ünïcödé — ✓");
    }

    #[test]
    fn markdown_becomes_wiki_markup() {
        assert_eq!(
            to_wiki(SAMPLE),
            "h2. Steps\n\nOrder *fails* on [checkout|https://shop.example/checkout]\nthen {{retry}}\n\n* one\n* _two_\n\n# first\n# second\n\n{code:rust}\npanic!()\n{code}"
        );
    }

    /// Jira Cloud refuses a document with an empty text node (400 `INVALID_INPUT`): none is
    /// ever written, whatever the Markdown.
    #[test]
    fn no_empty_text_node_is_ever_written() {
        fn empty_text(v: &Value) -> bool {
            match v {
                Value::Object(o) => {
                    (o.get("type") == Some(&json!("text"))
                        && o.get("text")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty))
                        || o.values().any(empty_text)
                }
                Value::Array(a) => a.iter().any(empty_text),
                _ => false,
            }
        }
        for md in [
            "```\n```",
            "[](https://example.org)",
            "#  ",
            "- \n-",
            "> ",
            "| a | |\n|---|---|\n| | |",
            "**",
            "\\",
            "line\n\n\n",
        ] {
            let adf = to_adf(md);
            assert!(!empty_text(&adf), "{md:?} gave {adf}");
        }
        assert_eq!(
            to_adf("[](https://example.org)")["content"][0]["content"][0]["text"],
            "https://example.org"
        );
    }
}
