//! Helpers shared by the fuzz targets: input shaping and the structural checks the targets
//! assert.
#![forbid(unsafe_code)]

use serde_json::Value;

/// The input as text (invalid UTF-8 replaced), as a JSON string field would arrive.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Plain words from the input: ASCII letters and digits, separated by single spaces, no
/// markup at all (what any converter must carry through unchanged).
pub fn plain_words(data: &[u8]) -> String {
    let mapped: String = data
        .iter()
        .map(|b| match b % 64 {
            n @ 0..=25 => char::from(b'a' + n),
            n @ 26..=51 => char::from(b'A' + (n - 26)),
            n @ 52..=61 => char::from(b'0' + (n - 52)),
            _ => ' ',
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why `doc` is not an ADF document Jira Cloud would take, or `None`. Checks what the ADF
/// schema requires of the nodes pm-mcp writes: known node and mark types in allowed places,
/// non-empty text nodes, and the containers that must not be empty (lists, list items, quotes,
/// tables, rows, cells).
pub fn adf_problem(doc: &Value) -> Option<String> {
    if doc.get("type") != Some(&Value::from("doc")) || doc.get("version") != Some(&Value::from(1)) {
        return Some("the root is not {type: doc, version: 1}".into());
    }
    let content = doc.get("content").and_then(Value::as_array)?;
    content.iter().find_map(|n| block(n, TOP))
}

const TOP: &[&str] = &[
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "codeBlock",
    "blockquote",
    "rule",
    "table",
];
const IN_QUOTE: &[&str] = &["paragraph", "bulletList", "orderedList", "codeBlock"];
const MARKS: &[&str] = &["strong", "em", "strike", "code", "link"];

fn kids(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn nonempty(node: &Value, kind: &str) -> Option<String> {
    kids(node)
        .is_empty()
        .then(|| format!("an empty {kind} (the ADF schema requires at least one child)"))
}

fn block(node: &Value, allowed: &[&str]) -> Option<String> {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    if !allowed.contains(&kind) {
        return Some(format!("a {kind:?} node where only {allowed:?} may be"));
    }
    match kind {
        "paragraph" => kids(node).iter().find_map(inline),
        "heading" => {
            let level = node.pointer("/attrs/level").and_then(Value::as_u64);
            if !matches!(level, Some(1..=6)) {
                return Some(format!("a heading of level {level:?}"));
            }
            kids(node).iter().find_map(inline)
        }
        "bulletList" | "orderedList" => nonempty(node, kind).or_else(|| {
            kids(node).iter().find_map(|item| {
                if item.get("type") != Some(&Value::from("listItem")) {
                    return Some("a list holding something other than listItem".into());
                }
                let first = kids(item).first()?;
                if first.get("type") != Some(&Value::from("paragraph")) {
                    return Some("a list item not starting with a paragraph".into());
                }
                nonempty(item, "listItem")
                    .or_else(|| kids(item).iter().find_map(|n| block(n, IN_QUOTE)))
            })
        }),
        "codeBlock" => kids(node).iter().find_map(|t| {
            let ok = t.get("type") == Some(&Value::from("text"))
                && t.get("marks").is_none()
                && t.get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty());
            (!ok).then(|| format!("a code block holding {t}"))
        }),
        "blockquote" => {
            nonempty(node, kind).or_else(|| kids(node).iter().find_map(|n| block(n, IN_QUOTE)))
        }
        "rule" => None,
        "table" => nonempty(node, kind).or_else(|| {
            kids(node).iter().find_map(|row| {
                if row.get("type") != Some(&Value::from("tableRow")) {
                    return Some("a table holding something other than tableRow".into());
                }
                nonempty(row, "tableRow").or_else(|| {
                    kids(row).iter().find_map(|cell| {
                        let k = cell.get("type").and_then(Value::as_str).unwrap_or("");
                        if !matches!(k, "tableCell" | "tableHeader") {
                            return Some(format!("a table row holding {k:?}"));
                        }
                        nonempty(cell, k)
                            .or_else(|| kids(cell).iter().find_map(|n| block(n, IN_QUOTE)))
                    })
                })
            })
        }),
        _ => None,
    }
}

fn inline(node: &Value) -> Option<String> {
    match node.get("type").and_then(Value::as_str) {
        Some("hardBreak") => None,
        Some("text") => {
            let text = node.get("text").and_then(Value::as_str).unwrap_or("");
            if text.is_empty() {
                return Some("an empty text node (Jira refuses the document)".into());
            }
            let marks = node
                .get("marks")
                .map(|m| m.as_array().cloned().unwrap_or_default());
            for mark in marks.unwrap_or_default() {
                let kind = mark.get("type").and_then(Value::as_str).unwrap_or("");
                if !MARKS.contains(&kind) {
                    return Some(format!("an unknown mark {kind:?}"));
                }
                if kind == "link"
                    && mark
                        .pointer("/attrs/href")
                        .and_then(Value::as_str)
                        .is_none()
                {
                    return Some("a link mark without href".into());
                }
            }
            None
        }
        other => Some(format!("an inline node of type {other:?}")),
    }
}
