//! Jira Data Center's wiki markup (the text its REST v2 answers carry) as Markdown: headings
//! `hN.`, `*` / `#` lists (nested by repeating the marker, mixed as `*#`), `{code}` and
//! `{noformat}` blocks, `bq.` and `{quote}`, `----`, `||header||` and `|cell|` tables, and inline
//! `*strong*`, `_emphasis_`, `-deleted-`, `{{monospace}}`, `[text|url]` and `\` escapes. What has
//! no Markdown form (`{color}`, `{panel}`, `!image.png!`, `[~user]`, …) stays as written. The
//! inverse of [`super::markdown::to_wiki`], so that a description read and written back is the
//! same wiki text.

/// Markdown from wiki markup.
pub fn from_wiki(wiki: &str) -> String {
    let lines: Vec<&str> = wiki.lines().collect();
    let mut out: Vec<String> = Vec::new();
    // The open list levels: their marker (`*` or `#`), item count and Markdown indent.
    let mut levels: Vec<(char, usize, usize)> = Vec::new();
    let mut in_table = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        i += 1;
        let block = |name: &str| {
            line.strip_prefix(&format!("{{{name}"))
                .and_then(|r| r.strip_suffix('}'))
                .map(|r| r.trim_start_matches(':').to_string())
        };
        if let Some(lang) = block("code").or_else(|| block("noformat").map(|_| "noformat".into())) {
            let closer = if line.starts_with("{noformat") {
                "{noformat}"
            } else {
                "{code}"
            };
            out.push(format!("```{lang}"));
            while i < lines.len() && lines[i].trim_end() != closer {
                out.push(lines[i].to_string());
                i += 1;
            }
            i += 1;
            out.push("```".to_string());
            levels.clear();
            continue;
        }
        if line == "{quote}" {
            let mut inner = Vec::new();
            while i < lines.len() && lines[i].trim_end() != "{quote}" {
                inner.push(lines[i]);
                i += 1;
            }
            i += 1;
            for l in from_wiki(&inner.join("\n")).lines() {
                out.push(if l.is_empty() {
                    ">".into()
                } else {
                    format!("> {l}")
                });
            }
            levels.clear();
            continue;
        }
        if let Some(text) = line.strip_prefix("bq. ") {
            out.push(format!("> {}", spans(text)));
            levels.clear();
            continue;
        }
        if line.len() >= 4 && line.chars().all(|c| c == '-') {
            out.push("---".into());
            levels.clear();
            continue;
        }
        // Tables: a header row `||a||b||`, then rows `|c|d|`; a table without a header gets an
        // empty one (Markdown needs one; it is dropped again on the way back).
        if line.starts_with('|') {
            let header = line.starts_with("||");
            let cells = cells(line, if header { "||" } else { "|" });
            if !in_table {
                let head = if header {
                    cells.clone()
                } else {
                    vec![String::new(); cells.len()]
                };
                out.push(row(&head));
                out.push(row(&vec!["---".to_string(); head.len()]));
                in_table = true;
                if header {
                    continue;
                }
            }
            out.push(row(&cells));
            continue;
        }
        in_table = false;
        let prefix: String = line
            .chars()
            .take_while(|c| *c == '*' || *c == '#')
            .collect();
        if !prefix.is_empty() && line[prefix.len()..].starts_with(' ') {
            let depth = prefix.len();
            let kind = prefix.chars().last().unwrap_or('*');
            levels.truncate(depth);
            while levels.len() < depth {
                let indent = levels
                    .last()
                    .map_or(0, |(k, n, ind)| ind + width(*k, (*n).max(1)));
                let k = prefix.chars().nth(levels.len()).unwrap_or('*');
                levels.push((k, 0, indent));
            }
            if let Some(level) = levels.last_mut() {
                if level.0 != kind {
                    *level = (kind, 0, level.2);
                }
                level.1 += 1;
                let marker = match kind {
                    '#' => format!("{}.", level.1),
                    _ => "-".to_string(),
                };
                out.push(format!(
                    "{}{marker} {}",
                    " ".repeat(level.2),
                    spans(&line[depth + 1..])
                ));
            }
            continue;
        }
        let heading = line
            .strip_prefix('h')
            .and_then(|r| r.split_once(". "))
            .and_then(|(n, t)| {
                n.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=6).contains(n))
                    .map(|n| (n, t))
            });
        if let Some((level, text)) = heading {
            out.push(format!("{} {}", "#".repeat(level), spans(text)));
            levels.clear();
        } else if line.trim().is_empty() {
            levels.clear();
            out.push(String::new());
        } else {
            // A line right after a list item continues it, as Jira shows it.
            let indent = levels
                .last()
                .map_or(0, |(k, n, ind)| ind + width(*k, (*n).max(1)));
            let text = spans(line);
            out.push(match levels.is_empty() {
                true => text,
                false => format!("{}{text}", " ".repeat(indent)),
            });
        }
    }
    out.join("\n").trim_end().to_string()
}

/// The Markdown width of a list marker and its space: `- ` or `12. `.
fn width(kind: char, n: usize) -> usize {
    match kind {
        '#' => n.to_string().len() + 2,
        _ => 2,
    }
}

/// A wiki table row's cells (`|` inside `[a|b]` or `{{…}}` stays in its cell).
fn cells(line: &str, sep: &str) -> Vec<String> {
    let t = line.strip_prefix(sep).unwrap_or(line);
    let t = t.strip_suffix(sep).unwrap_or(t);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if depth == 0 && rest.starts_with(sep) {
            out.push(spans(std::mem::take(&mut cur).trim()));
            rest = &rest[sep.len()..];
            continue;
        }
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        cur.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.push(spans(cur.trim()));
    out
}

fn row(cells: &[String]) -> String {
    let shown: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |", shown.join(" | "))
}

/// Inline wiki markup as Markdown.
pub fn spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    while i < chars.len() {
        let c = chars[i];
        // `\x` stays `\x`: a Markdown escape too, written back as it came.
        if c == '\\'
            && let Some(n) = chars.get(i + 1).filter(|n| n.is_ascii_punctuation())
        {
            out.push('\\');
            out.push(*n);
            i += 2;
            continue;
        }
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
            out.push_str(&format!("[{}]({url})", spans(&t)));
            i = end + 1;
            continue;
        }
        // *strong*, _emphasis_ and -deleted-, opened before a non-space and not inside a word.
        if (c == '*' || c == '_' || c == '-')
            && !word(i.checked_sub(1).and_then(|p| chars.get(p)))
            && chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != c)
        {
            let close = (i + 2..chars.len()).find(|&j| {
                chars[j] == c
                    && !chars[j - 1].is_whitespace()
                    && chars[j - 1] != '\\'
                    && !word(chars.get(j + 1))
            });
            if let Some(j) = close {
                let inner: String = chars[i + 1..j].iter().collect();
                let mark = match c {
                    '*' => "**",
                    '_' => "*",
                    _ => "~~",
                };
                out.push_str(&format!("{mark}{}{mark}", spans(&inner)));
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
    use super::super::markdown::to_wiki;
    use super::*;

    #[test]
    fn wiki_markup_reads_back_as_the_markdown_it_came_from() {
        let md = "## Steps\n\nOrder **fails** on [checkout](https://shop.example/checkout)\nthen `retry` and *maybe*\n\n- one\n- two\n\n1. first\n2. second\n\n```rust\npanic!()\n```";
        assert_eq!(from_wiki(&to_wiki(md)), md);
        assert_eq!(
            from_wiki("Reproduced on *Safari*"),
            "Reproduced on **Safari**"
        );
        assert_eq!(
            from_wiki("snake_case_name and 2*3*4 and well-known"),
            "snake_case_name and 2*3*4 and well-known"
        );
    }

    /// A Data Center description as saved (nested and mixed lists, quotes, a rule, a table,
    /// code and noformat, escapes, macros and mentions Markdown has no form for): read as the
    /// saved Markdown, and written back unchanged.
    #[test]
    fn a_saved_description_reads_as_markdown_and_writes_back_unchanged() {
        let wiki = include_str!("../../tests/fixtures/jira/description.wiki").trim_end();
        let md = include_str!("../../tests/fixtures/jira/description.md").trim_end();
        assert_eq!(from_wiki(wiki), md);
        assert_eq!(to_wiki(md), wiki);
    }

    /// Markdown a user writes that wiki markup would read otherwise is escaped on the way.
    #[test]
    fn markdown_text_that_looks_like_wiki_markup_is_escaped() {
        for (md, wiki) in [
            ("use {placeholder} here", "use \\{placeholder} here"),
            ("tick [x] done", "tick \\[x] done"),
            ("a -b- c and x^2^", "a \\-b- c and x^2^"),
            ("h1. not a heading", "h1\\. not a heading"),
            (
                "{color:red}kept{color} [~mia]",
                "{color:red}kept{color} [~mia]",
            ),
        ] {
            assert_eq!(to_wiki(md), wiki, "{md}");
            let back = from_wiki(wiki);
            assert_eq!(to_wiki(&back), wiki, "{md}: read and written back");
        }
    }
}
