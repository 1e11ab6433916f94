//! The tool reference in `docs/tools.md`, written from the server's own `tools/list`: each tool's
//! toolset, the scope it needs, its description and its parameters as a model sees them. A test
//! regenerates it and fails when the committed file differs (`UPDATE_SNAPSHOTS=1` rewrites it).

use std::fmt::Write as _;

use pm_core::Scope;
use rmcp::model::Tool;
use serde_json::Value;

use crate::PmServer;
use crate::tools::{Toolset, required_scope, toolset_of, toolsets};

/// The Markdown of `docs/tools.md` for `tools`, grouped by toolset in the order of [`toolsets`].
fn reference(tools: &[Tool]) -> String {
    let mut out = String::new();
    out.push_str("# Tools\n\n");
    out.push_str(
        "<!-- Generated from the server's own tools/list by the test `tool_docs` in \
         crates/pm-server/src/tool_docs.rs; do not edit by hand. After changing a tool, run \
         `UPDATE_SNAPSHOTS=1 cargo test -p pm-server --lib tool_docs`, review the diff, and run \
         it again without UPDATE_SNAPSHOTS. -->\n\n",
    );
    let reads = tools
        .iter()
        .filter(|t| required_scope(t) == Scope::Read)
        .count();
    let _ = write!(
        out,
        "Every tool pm-mcp offers ({} tools: {} that read, {} that write), as `tools/list` \
         describes it to a model. A key with the `read` scope sees the tools that read; `write` \
         also those that write. When neither the server, nor the key, nor the request names \
         toolsets, a caller sees the default set: {}. How the server, a key and a request narrow \
         the list, and how the tools behave on each tracker, is in [providers.md](providers.md).\n\n",
        tools.len(),
        reads,
        tools.len() - reads,
        Toolset::DEFAULT
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out.push_str(
        "Ids come back qualified with the connection's name (`acme-jira:PROJ-42`) and are taken as \
         they come. Parameters not marked required may be left out.\n\n",
    );

    out.push_str("| toolset | default set | tools |\n|---|---|---|\n");
    for (set, _) in toolsets() {
        let names: Vec<String> = in_set(tools, *set)
            .map(|t| format!("[`{0}`](#{0})", t.name))
            .collect();
        let default = if set.is_default() { "yes" } else { "no" };
        let _ = writeln!(out, "| `{set}` | {default} | {} |", names.join(", "));
    }

    for (set, _) in toolsets() {
        let _ = write!(out, "\n## {set}\n");
        for tool in in_set(tools, *set) {
            out.push('\n');
            tool_section(&mut out, tool);
        }
    }
    out
}

/// The tools of toolset `set`, in the order its module names them (lists and reads first).
fn in_set(tools: &[Tool], set: Toolset) -> impl Iterator<Item = &Tool> {
    toolsets()
        .iter()
        .filter(move |(s, _)| *s == set)
        .flat_map(|(_, names)| names.iter())
        .filter_map(move |name| tools.iter().find(|t| t.name == *name))
}

fn tool_section(out: &mut String, tool: &Tool) {
    let value = serde_json::to_value(tool).unwrap_or(Value::Null);
    let annotations = &value["annotations"];
    let _ = writeln!(out, "### {}\n", tool.name);
    let access = match required_scope(tool) {
        Scope::Read => "reads",
        _ if annotations["destructiveHint"] == Value::Bool(true) => "writes (destructive)",
        _ => "writes",
    };
    let title = annotations["title"].as_str().unwrap_or("");
    let set = toolset_of(&tool.name).map_or("none", Toolset::as_str);
    let _ = writeln!(out, "*{title}* — toolset `{set}`, {access}.\n");
    let description = tool.description.as_deref().unwrap_or("").trim();
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    let schema = &value["inputSchema"];
    let Some(properties) = schema["properties"].as_object().filter(|p| !p.is_empty()) else {
        out.push_str("No parameters.\n");
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| parameter | type | required | description |\n|---|---|---|---|\n");
    for (name, property) in properties {
        let mut description = cell(property["description"].as_str().unwrap_or(""));
        if let Some(default) = property.get("default").filter(|d| !d.is_null()) {
            if !description.is_empty() {
                description.push(' ');
            }
            let _ = write!(description, "Default: `{default}`.");
        }
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} | {description} |",
            type_of(property),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
        );
    }
}

/// A parameter's type in a few words: `string`, `array of string`, `object of number`,
/// `` `a` \| `b` `` for an enumeration, `string or null` for a union.
fn type_of(schema: &Value) -> String {
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => format!("`{s}`"),
                None => format!("`{v}`"),
            })
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(options) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        return options.iter().map(type_of).collect::<Vec<_>>().join(" or ");
    }
    let base = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    match base.as_str() {
        "array" if schema["items"].is_object() => format!("array of {}", type_of(&schema["items"])),
        "object" if schema["additionalProperties"].is_object() => {
            format!("object of {}", type_of(&schema["additionalProperties"]))
        }
        _ => base,
    }
}

/// Text made safe for one table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_docs_match_tools_list() {
        let tools = PmServer::all_tools();
        let markdown = reference(&tools);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tools.md");
        crate::assert_pinned_at(&path, "docs/tools.md", &markdown, "the tool reference");
    }

    #[test]
    fn tool_docs_name_every_tool_and_every_parameter() {
        let tools = PmServer::all_tools();
        let markdown = reference(&tools);
        for tool in &tools {
            let heading = format!("\n### {}\n", tool.name);
            let at = markdown
                .find(&heading)
                .unwrap_or_else(|| panic!("{} has no section", tool.name));
            let rest = &markdown[at + heading.len()..];
            let section = &rest[..rest.find("\n#").unwrap_or(rest.len())];
            let parameters = tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten();
            for (name, _) in parameters {
                assert!(
                    section.contains(&format!("| `{name}` |")),
                    "{}'s parameter {name} is missing from its section",
                    tool.name
                );
            }
            let read = if required_scope(tool) == Scope::Read {
                "reads."
            } else {
                "writes"
            };
            assert!(section.contains(read), "{}: {section}", tool.name);
        }
    }

    /// docs/providers.md's hand-written table ("What each tool does, in more words") names every
    /// tool once, no tool that does not exist, each with its toolset and scope.
    #[test]
    fn the_providers_page_table_names_every_tool_with_its_toolset_and_scope() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers.md");
        let page = std::fs::read_to_string(&path).expect("docs/providers.md");
        let start = page
            .find("## What each tool does, in more words")
            .expect("the table's section");
        let rows = page[start..]
            .lines()
            .skip_while(|l| !l.starts_with("| tool |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'));
        let tools = PmServer::all_tools();
        let mut seen = Vec::new();
        for row in rows {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            let (names, set, scope) = (cells[0], cells[1], cells[cells.len() - 1]);
            for name in names.split(" / ").map(|n| n.trim_matches('`')) {
                let tool = tools
                    .iter()
                    .find(|t| t.name == name)
                    .unwrap_or_else(|| panic!("docs/providers.md names {name}, which is no tool"));
                assert_eq!(
                    toolset_of(name).map(Toolset::as_str),
                    Some(set),
                    "{name}'s toolset in docs/providers.md"
                );
                let expected = if required_scope(tool) == Scope::Read {
                    "read"
                } else {
                    "write"
                };
                assert_eq!(scope, expected, "{name}'s scope in docs/providers.md");
                seen.push(name.to_string());
            }
        }
        for tool in &tools {
            let times = seen.iter().filter(|n| **n == tool.name).count();
            assert_eq!(
                times, 1,
                "{} is in docs/providers.md's table {times} times",
                tool.name
            );
        }
    }

    #[test]
    fn parameter_types_and_cells_read_at_a_glance() {
        let t = |v: Value| type_of(&v);
        assert_eq!(t(serde_json::json!({ "type": "string" })), "string");
        assert_eq!(
            t(serde_json::json!({ "type": "array", "items": { "type": "string" } })),
            "array of string"
        );
        assert_eq!(
            t(
                serde_json::json!({ "type": "object", "additionalProperties": { "type": "number" } })
            ),
            "object of number"
        );
        assert_eq!(
            t(serde_json::json!({ "type": "string", "enum": ["a", "b"] })),
            "`a` \\| `b`"
        );
        assert_eq!(
            t(serde_json::json!({ "anyOf": [{ "type": "string" }, { "type": "null" }] })),
            "string or null"
        );
        assert_eq!(cell("a |\n b"), "a \\| b");
    }
}
