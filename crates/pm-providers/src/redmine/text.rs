//! Redmine's text formats: Markdown (what tools take and give) to the server's configured format
//! on write, and back on read. Redmine's REST API does not say which formatter a site uses (the
//! setting is only in the admin UI; no API answer or public page reveals it), so the connection
//! carries it as the `text_format` option, Textile — Redmine's default — when not given.
//! Markdown and CommonMark sites take Markdown as it is; Textile is converted both ways for what
//! people write in tickets: headings, bold, italics, strike, inline code, code fences (`<pre>`),
//! bullet and numbered lists (nested), links, block quotes and tables. Anything else stays
//! literal text.
pub use pm_core::TextFormat;

/// Markdown to and from a Redmine site's text format.
pub trait Markup {
    /// Markdown as the site stores it.
    fn write_markdown(self, md: &str) -> String;
    /// The site's stored text as Markdown (Redmine stores line ends as CRLF; they come back LF).
    fn read_markdown(self, text: &str) -> String;
}

impl Markup for TextFormat {
    fn write_markdown(self, md: &str) -> String {
        match self {
            TextFormat::Textile => markdown_to_textile(md),
            TextFormat::Markdown | TextFormat::CommonMark => md.to_string(),
        }
    }

    fn read_markdown(self, text: &str) -> String {
        match self {
            TextFormat::Textile => textile_to_markdown(text),
            TextFormat::Markdown | TextFormat::CommonMark => text.replace("\r\n", "\n"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Markdown → Textile

fn fence(line: &str) -> Option<&str> {
    let t = line.trim_start();
    t.strip_prefix("```").or_else(|| t.strip_prefix("~~~"))
}

/// A list item: (depth from 0, numbered, text).
fn md_list_item(line: &str) -> Option<(usize, bool, &str)> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    let depth = indent / 2;
    for b in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some((depth, false, rest));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((depth, true, r));
        }
    }
    None
}

fn md_heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let hashes = t.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) {
        let rest = &t[hashes..];
        if rest.is_empty() {
            return Some((hashes, ""));
        }
        if let Some(r) = rest.strip_prefix(' ') {
            return Some((hashes, r.trim().trim_end_matches('#').trim_end()));
        }
    }
    None
}

fn table_cells(line: &str) -> Vec<&str> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(str::trim).collect()
}

fn is_table_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Markdown (CommonMark-ish, as a model writes it) as Redmine Textile.
pub fn markdown_to_textile(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            blank(&mut out);
            i += 1;
            continue;
        }
        if let Some(lang) = fence(line) {
            let marker = &line.trim_start()[..3];
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with(marker) {
                code.push(lines[i]);
                i += 1;
            }
            i += 1; // the closing fence
            blank(&mut out);
            let lang = lang.trim();
            let open = if lang.is_empty() {
                "<pre>".to_string()
            } else {
                format!("<pre><code class=\"{}\">", lang.replace('"', ""))
            };
            let close = if lang.is_empty() {
                "</pre>"
            } else {
                "</code></pre>"
            };
            out.push(format!("{open}{}{close}", code.join("\n")));
            out.push(String::new());
            continue;
        }
        if let Some((level, text)) = md_heading(line) {
            blank(&mut out);
            out.push(format!("h{level}. {}", inline_md_to_textile(text)));
            out.push(String::new());
            i += 1;
            continue;
        }
        if line.trim_start().starts_with('|')
            && i + 1 < lines.len()
            && is_table_separator(lines[i + 1])
        {
            blank(&mut out);
            let head: Vec<String> = table_cells(line)
                .into_iter()
                .map(|c| format!("_. {}", inline_md_to_textile(c)))
                .collect();
            out.push(format!("|{}|", head.join("|")));
            i += 2;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                let row: Vec<String> = table_cells(lines[i])
                    .into_iter()
                    .map(|c| format!(" {} ", inline_md_to_textile(c)))
                    .collect();
                out.push(format!("|{}|", row.join("|")));
                i += 1;
            }
            out.push(String::new());
            continue;
        }
        if let Some(first) = md_list_item(line) {
            blank(&mut out);
            // Each depth keeps the kind of list it started with.
            let mut kinds: Vec<bool> = Vec::new();
            let mut item = Some(first);
            while let Some((depth, numbered, text)) = item {
                kinds.truncate(depth + 1);
                while kinds.len() <= depth {
                    kinds.push(numbered);
                }
                let marks: String = kinds.iter().map(|n| if *n { '#' } else { '*' }).collect();
                out.push(format!("{marks} {}", inline_md_to_textile(text)));
                i += 1;
                item = lines.get(i).and_then(|l| md_list_item(l));
            }
            out.push(String::new());
            continue;
        }
        if let Some(q) = line.trim_start().strip_prefix('>') {
            blank(&mut out);
            let mut text = vec![inline_md_to_textile(q.trim())];
            i += 1;
            while let Some(q) = lines.get(i).and_then(|l| l.trim_start().strip_prefix('>')) {
                text.push(inline_md_to_textile(q.trim()));
                i += 1;
            }
            out.push(format!("bq. {}", text.join(" ")));
            out.push(String::new());
            continue;
        }
        // A paragraph line. Textile would read a leading "h1. ", "* ", "# " or "bq. " as a block:
        // such a line came from Markdown as plain text, so it is kept literal.
        let text = inline_md_to_textile(line.trim_end());
        if looks_like_textile_block(&text) {
            out.push(format!("<notextile>{text}</notextile>"));
        } else {
            out.push(text);
        }
        i += 1;
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

/// Blocks are separated by one blank line; lists and tables stay together.
fn blank(out: &mut Vec<String>) {
    if out.last().is_some_and(|l| !l.is_empty()) {
        out.push(String::new());
    }
}

fn looks_like_textile_block(line: &str) -> bool {
    let t = line.trim_start();
    // Bytes, not a slice of the text: a line starting with `h` and a letter outside ASCII
    // (`hôtel`) has no character boundary after one byte.
    let b = t.as_bytes();
    let heading =
        b.len() > 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && t[2..].starts_with(". ");
    heading || t.starts_with("bq. ") || t.starts_with("* ") || t.starts_with("# ")
}

/// Finds the closing `delim` for an opening at `from` (content non-empty, not starting or
/// ending with a space, not followed by a word character for `_`).
fn closing(chars: &[char], from: usize, delim: &[char]) -> Option<usize> {
    let n = delim.len();
    let first = *chars.get(from)?;
    if first.is_whitespace() {
        return None;
    }
    let mut j = from;
    while j + n <= chars.len() {
        if chars[j..j + n] == *delim && j > from && !chars[j - 1].is_whitespace() {
            let after = chars.get(j + n).copied();
            let word_after = after.is_some_and(|c| c.is_alphanumeric());
            if !(delim[0] == '_' && word_after) {
                return Some(j);
            }
        }
        j += 1;
    }
    None
}

fn inline_md_to_textile(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_word = i > 0 && chars[i - 1].is_alphanumeric();
        if c == '\\' && i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() {
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '`' {
            let ticks = chars[i..].iter().take_while(|c| **c == '`').count();
            let delim = vec!['`'; ticks];
            let start = i + ticks;
            if let Some(end) = (start..=chars.len().saturating_sub(ticks))
                .find(|&j| chars[j..j + ticks] == delim[..])
            {
                let code: String = chars[start..end].iter().collect();
                let code = code.trim();
                if code.contains('@') {
                    out.push_str(&format!("<code>{code}</code>"));
                } else {
                    out.push_str(&format!("@{code}@"));
                }
                i = end + ticks;
                continue;
            }
        }
        if c == '['
            && let Some(close) = chars[i + 1..].iter().position(|c| *c == ']')
            && chars.get(i + 1 + close + 1) == Some(&'(')
            && let Some(end) = chars[i + close + 3..].iter().position(|c| *c == ')')
        {
            let close = i + 1 + close;
            let end = close + 2 + end;
            let label: String = chars[i + 1..close].iter().collect();
            let url: String = chars[close + 2..end].iter().collect();
            out.push_str(&format!(
                "\"{}\":{}",
                inline_md_to_textile(&label),
                url.trim()
            ));
            i = end + 1;
            continue;
        }
        let two = |d: char| i + 1 < chars.len() && chars[i] == d && chars[i + 1] == d;
        let mut strong = None;
        for (d, mark) in [('*', '*'), ('_', '*'), ('~', '-')] {
            if two(d)
                && !(d == '_' && prev_word)
                && let Some(end) = closing(&chars, i + 2, &[d, d])
            {
                strong = Some((mark, end));
                break;
            }
        }
        if let Some((mark, end)) = strong {
            let inner: String = chars[i + 2..end].iter().collect();
            out.push(mark);
            out.push_str(&inline_md_to_textile(&inner));
            out.push(mark);
            i = end + 2;
            continue;
        }
        if (c == '*' || c == '_')
            && !(c == '_' && prev_word)
            && !two(c)
            && let Some(end) = closing(&chars, i + 1, &[c])
        {
            let inner: String = chars[i + 1..end].iter().collect();
            out.push('_');
            out.push_str(&inline_md_to_textile(&inner));
            out.push('_');
            i = end + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Textile → Markdown

fn textile_heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let b = t.as_bytes();
    if b.len() >= 4 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.' && b[3] == b' '
    {
        return Some(((b[1] - b'0') as usize, t[4..].trim()));
    }
    None
}

/// A list item: (depth from 0, numbered, text).
fn textile_list_item(line: &str) -> Option<(usize, bool, &str)> {
    let marks = line.chars().take_while(|c| *c == '*' || *c == '#').count();
    if marks == 0 {
        return None;
    }
    let rest = line[marks..].strip_prefix(' ')?;
    let numbered = line[..marks].ends_with('#');
    Some((marks - 1, numbered, rest))
}

fn textile_cells(line: &str) -> (bool, Vec<String>) {
    let cells = table_cells(line);
    let mut header = false;
    let cells = cells
        .into_iter()
        .map(|c| match c.strip_prefix("_.") {
            Some(h) => {
                header = true;
                h.trim().to_string()
            }
            None => c.to_string(),
        })
        .collect();
    (header, cells)
}

/// Redmine Textile as Markdown.
pub fn textile_to_markdown(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if t.starts_with("<pre") {
            // <pre> or <pre><code class="lang"> … </code></pre>, one or many lines.
            let mut body = t.to_string();
            while !body.contains("</pre>") && i + 1 < lines.len() {
                i += 1;
                body.push('\n');
                body.push_str(lines[i]);
            }
            i += 1;
            let (lang, code) = pre_block(&body);
            out.push(format!("```{lang}"));
            if !code.is_empty() {
                out.push(code);
            }
            out.push("```".into());
            continue;
        }
        if let Some((level, h)) = textile_heading(line) {
            out.push(format!("{} {}", "#".repeat(level), inline_textile_to_md(h)));
            i += 1;
            continue;
        }
        if let Some(q) = t.strip_prefix("bq. ") {
            out.push(format!("> {}", inline_textile_to_md(q.trim())));
            i += 1;
            continue;
        }
        if let Some((depth, numbered, item)) = textile_list_item(t) {
            let mark = if numbered { "1." } else { "-" };
            out.push(format!(
                "{}{mark} {}",
                "  ".repeat(depth),
                inline_textile_to_md(item)
            ));
            i += 1;
            continue;
        }
        if t.starts_with('|') && t.trim_end().ends_with('|') {
            let mut first = true;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                let (header, cells) = textile_cells(lines[i]);
                let cells: Vec<String> = cells.iter().map(|c| inline_textile_to_md(c)).collect();
                if first && !header {
                    // Markdown tables need a header row: an empty one.
                    out.push(format!("|{}|", vec!["   "; cells.len()].join("|")));
                    out.push(format!("|{}|", vec!["---"; cells.len()].join("|")));
                }
                out.push(format!("| {} |", cells.join(" | ")));
                if first && header {
                    out.push(format!("|{}|", vec!["---"; cells.len()].join("|")));
                }
                first = false;
                i += 1;
            }
            continue;
        }
        if let Some(p) = t.strip_prefix("p. ") {
            out.push(inline_textile_to_md(p));
            i += 1;
            continue;
        }
        if let Some(inner) = t
            .strip_prefix("<notextile>")
            .and_then(|r| r.strip_suffix("</notextile>"))
        {
            out.push(inner.to_string());
            i += 1;
            continue;
        }
        out.push(inline_textile_to_md(line.trim_end()));
        i += 1;
    }
    out.join("\n")
}

/// The language and code of a `<pre>` block.
fn pre_block(body: &str) -> (String, String) {
    let after_pre = body.find('>').map(|p| &body[p + 1..]).unwrap_or_default();
    let inner = after_pre.split("</pre>").next().unwrap_or_default();
    let (lang, code) = match inner.trim_start().strip_prefix("<code") {
        Some(rest) => {
            let (attrs, code) = rest.split_once('>').unwrap_or(("", rest));
            let lang = attrs
                .split("class=")
                .nth(1)
                .map(|c| c.trim_matches(|c| c == '"' || c == '\'' || c == ' '))
                .unwrap_or("")
                .to_string();
            (lang, code.split("</code>").next().unwrap_or_default())
        }
        None => (String::new(), inner),
    };
    let code = code.strip_prefix('\n').unwrap_or(code);
    let code = code.strip_suffix('\n').unwrap_or(code);
    (lang, code.to_string())
}

/// Whether a Textile phrase mark at `i` is at a phrase boundary (start, space or punctuation
/// before an opening; after a closing).
fn boundary(c: Option<char>) -> bool {
    c.is_none_or(|c| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\\'))
}

fn inline_textile_to_md(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before = i.checked_sub(1).map(|p| chars[p]);
        // <code>…</code>
        if c == '<' {
            let rest: String = chars[i..].iter().collect();
            if let Some(r) = rest.strip_prefix("<code>")
                && let Some(end) = r.find("</code>")
            {
                out.push('`');
                out.push_str(&r[..end]);
                out.push('`');
                i += "<code>".len() + r[..end].chars().count() + "</code>".len();
                continue;
            }
        }
        // "label":url
        if c == '"'
            && boundary(before)
            && let Some(close) = chars[i + 1..].iter().position(|c| *c == '"')
            && chars.get(i + close + 2) == Some(&':')
            && chars.get(i + close + 3).is_some_and(|c| !c.is_whitespace())
        {
            let close = i + 1 + close;
            let mut end = close + 2;
            while end < chars.len() && !chars[end].is_whitespace() {
                end += 1;
            }
            while end > close + 2
                && matches!(chars[end - 1], '.' | ',' | ';' | ':' | '!' | '?' | ')')
            {
                end -= 1;
            }
            let label: String = chars[i + 1..close].iter().collect();
            let url: String = chars[close + 2..end].iter().collect();
            out.push_str(&format!("[{}]({url})", inline_textile_to_md(&label)));
            i = end;
            continue;
        }
        if matches!(c, '@' | '*' | '_' | '-')
            && boundary(before)
            && let Some(end) = (i + 2..chars.len()).find(|&j| {
                chars[j] == c
                    && !chars[j - 1].is_whitespace()
                    && boundary(chars.get(j + 1).copied())
            })
            && !chars[i + 1].is_whitespace()
        {
            let inner: String = chars[i + 1..end].iter().collect();
            let (open, close) = match c {
                '@' => ("`", "`"),
                '*' => ("**", "**"),
                '_' => ("*", "*"),
                _ => ("~~", "~~"),
            };
            out.push_str(open);
            if c == '@' {
                out.push_str(&inner);
            } else {
                out.push_str(&inline_textile_to_md(&inner));
            }
            out.push_str(close);
            i = end + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD: &str = "# Checkout\n\nValidate **card numbers** and *expiry*; see [the spec](https://x.org/spec).\nRun `make test` first.\n\n## Steps\n\n- open the form\n- type a number\n  - a Visa test card\n- press *Pay*\n\n1. first\n2. second\n\n```rust\nfn main() {\n    println!(\"*not bold*\");\n}\n```\n\n| field | rule |\n|---|---|\n| number | Luhn |\n| cvc | 3 digits |\n\n> quoted ~~text~~";

    const TEXTILE: &str = "h1. Checkout\n\nValidate *card numbers* and _expiry_; see \"the spec\":https://x.org/spec.\nRun @make test@ first.\n\nh2. Steps\n\n* open the form\n* type a number\n** a Visa test card\n* press _Pay_\n\n# first\n# second\n\n<pre><code class=\"rust\">fn main() {\n    println!(\"*not bold*\");\n}</code></pre>\n\n|_. field|_. rule|\n| number | Luhn |\n| cvc | 3 digits |\n\nbq. quoted -text-";

    #[test]
    fn markdown_becomes_textile() {
        assert_eq!(markdown_to_textile(MD), TEXTILE);
    }

    #[test]
    fn textile_becomes_markdown_and_round_trips() {
        let back = textile_to_markdown(TEXTILE);
        assert_eq!(
            back,
            "# Checkout\n\nValidate **card numbers** and *expiry*; see [the spec](https://x.org/spec).\nRun `make test` first.\n\n## Steps\n\n- open the form\n- type a number\n  - a Visa test card\n- press *Pay*\n\n1. first\n1. second\n\n```rust\nfn main() {\n    println!(\"*not bold*\");\n}\n```\n\n| field | rule |\n|---|---|\n| number | Luhn |\n| cvc | 3 digits |\n\n> quoted ~~text~~"
        );
        // Markdown → Textile → Markdown → Textile is stable.
        assert_eq!(markdown_to_textile(&back), TEXTILE);
    }

    #[test]
    fn textile_written_in_redmine_reads_as_markdown() {
        assert_eq!(
            textile_to_markdown(
                "h3. Notes\r\n\r\n<pre>\r\nplain code\r\n</pre>\r\nA <code>x@y</code> value, untouched: snake_case_name, 2-3 days."
            ),
            "### Notes\n\n```\nplain code\n```\nA `x@y` value, untouched: snake_case_name, 2-3 days."
        );
        assert_eq!(
            textile_to_markdown("| a | b |\n| c | d |"),
            "|   |   |\n|---|---|\n| a | b |\n| c | d |"
        );
    }

    /// Found by fuzzing (fuzz/fuzz_targets/redmine_textile.rs): a line starting with `h` and a
    /// letter outside ASCII panicked (and a release build aborts on a panic).
    #[test]
    fn lines_starting_with_h_and_an_accented_letter_convert() {
        assert_eq!(markdown_to_textile("hôtel booked"), "hôtel booked");
        assert_eq!(markdown_to_textile("h€2. x"), "h€2. x");
        assert_eq!(
            markdown_to_textile("h1. looks like textile"),
            "<notextile>h1. looks like textile</notextile>"
        );
    }

    #[test]
    fn plain_text_stays_plain() {
        for s in [
            "Fix the snake_case_name parser",
            "Costs 2*3 = 6 and a-b-c",
            "e-mail ann@acme.org about it",
        ] {
            assert_eq!(markdown_to_textile(s), s, "to Textile");
            assert_eq!(textile_to_markdown(s), s, "to Markdown");
        }
        // A Markdown line Textile would read as a heading stays literal.
        assert_eq!(
            markdown_to_textile("h1. is a heading in Textile"),
            "<notextile>h1. is a heading in Textile</notextile>"
        );
        assert_eq!(
            textile_to_markdown("<notextile>h1. is a heading in Textile</notextile>"),
            "h1. is a heading in Textile"
        );
        assert_eq!(markdown_to_textile("`a@b`"), "<code>a@b</code>");
    }

    #[test]
    fn formats_parse_and_pass_markdown_through() {
        assert_eq!("textile".parse::<TextFormat>(), Ok(TextFormat::Textile));
        assert_eq!(
            "CommonMark".parse::<TextFormat>(),
            Ok(TextFormat::CommonMark)
        );
        assert_eq!(
            "common-mark".parse::<TextFormat>(),
            Ok(TextFormat::CommonMark)
        );
        assert_eq!("markdown".parse::<TextFormat>(), Ok(TextFormat::Markdown));
        let err = "wiki".parse::<TextFormat>().unwrap_err().to_string();
        assert!(err.contains("textile, markdown or common_mark"), "{err}");
        for f in [TextFormat::Markdown, TextFormat::CommonMark] {
            assert_eq!(f.write_markdown(MD), MD);
            assert_eq!(f.read_markdown(MD), MD);
            assert_eq!(f.read_markdown(&MD.replace('\n', "\r\n")), MD);
        }
        assert_eq!(TextFormat::default().write_markdown(MD), TEXTILE);
    }
}
