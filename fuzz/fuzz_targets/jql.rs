//! JQL built from user values: whatever the values hold (quotes, backslashes, newlines, JQL
//! words), the query has exactly the structure pm-mcp wrote, each value is one string literal,
//! and the literal reads back as the value (control characters other than newline, return and
//! tab dropped).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::text;
use pm_providers::jira::jql::{Jql, quote};

/// The query with every string literal replaced by `S`, and the literals' values as JQL reads
/// them (backslash escapes). `None` when a literal is not closed.
fn lex(jql: &str) -> Option<(String, Vec<String>)> {
    let mut shape = String::new();
    let mut values = Vec::new();
    let mut chars = jql.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            shape.push(c);
            continue;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => value.push(match chars.next()? {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                }),
                other => value.push(other),
            }
        }
        shape.push('S');
        values.push(value);
    }
    Some((shape, values))
}

fuzz_target!(|data: &[u8]| {
    let input = text(data);
    let (a, b) = input.split_once('\u{0}').unwrap_or((&input, "x"));
    let expect = |v: &str| -> String {
        v.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .collect()
    };
    let (shape, values) = lex(&quote(a)).expect("a quoted value is one closed literal");
    assert_eq!(shape, "S");
    assert_eq!(values, vec![expect(a)]);
    let jql = Jql::new()
        .eq("project", a)
        .one_of("status", &[a, b])
        .empty_or_not("assignee", b)
        .eq_op("created", ">=", a)
        .text(b)
        .build("created DESC");
    let Some((shape, values)) = lex(&jql) else {
        panic!("an unclosed literal in {jql:?}");
    };
    assert_eq!(
        shape,
        "project = S AND status in (S, S) AND (assignee is EMPTY OR assignee != S) \
         AND created >= S AND text ~ S ORDER BY created DESC",
        "the query's structure changed: {jql:?}"
    );
    let (a, b) = (expect(a), expect(b));
    assert_eq!(
        values,
        vec![a.clone(), a.clone(), b.clone(), b.clone(), a, b]
    );
});
