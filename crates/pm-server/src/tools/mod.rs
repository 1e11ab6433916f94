//! The tool catalogue: one module per tool family, each with its own named router; this module
//! joins them, and knows each tool's toolset and the scope it needs.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use pm_core::Scope;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, Tool};

use crate::mcp::PmServer;

mod analytics;
pub(crate) mod connections;
mod edits;
mod epics;
pub(crate) mod identity;
mod people;
mod projects;
mod sprints;
mod tasks;
mod work;

pub use identity::{ConnectionSummary, CurrentUser, ListProvidersArgs, ProviderList};

/// The longest description (in characters) an item of a list or search carries: an excerpt,
/// flagged `description_cut`; `get_task` gives the whole text. Keeps a page of 100 items small
/// whatever the tracker holds.
pub(crate) const EXCERPT_CHARS: usize = 300;

/// The longest description one task's answer carries (`get_task`): beyond it the text is cut and
/// flagged, so no answer grows past about 0.5 MB (the structured result and its text mirror).
pub(crate) const DESCRIPTION_CAP_CHARS: usize = 200_000;

/// Cuts `text` to at most `max` characters (at a word boundary when one is near, ending in "…"),
/// and says whether it did.
pub(crate) fn cut(text: &mut Option<String>, max: usize) -> bool {
    let Some(t) = text.as_mut() else {
        return false;
    };
    let Some((end, _)) = t.char_indices().nth(max.saturating_sub(1)) else {
        return false;
    };
    if t[end..].chars().count() <= 1 {
        return false;
    }
    // Leave room for the ellipsis; back up to a space within the last 40 characters.
    let head = &t[..end];
    let at = head
        .char_indices()
        .rev()
        .take(40)
        .find(|(_, c)| c.is_whitespace())
        .map_or(end, |(i, _)| i);
    let mut excerpt = t[..at].trim_end().to_string();
    excerpt.push('…');
    *t = excerpt;
    true
}

/// Every tool of every family, as the macros build them.
fn families() -> ToolRouter<PmServer> {
    PmServer::identity_router()
        + PmServer::connections_router()
        + PmServer::projects_router()
        + PmServer::tasks_router()
        + PmServer::work_router()
        + PmServer::sprints_router()
        + PmServer::edits_router()
        + PmServer::people_router()
        + PmServer::epics_router()
        + PmServer::analytics_router()
}

/// Every tool, built once, with the schemas clients see: input schemas as small as they can be
/// while saying what to send, output schemas cut to the envelope.
pub(crate) fn router() -> Arc<ToolRouter<PmServer>> {
    static ROUTER: LazyLock<Arc<ToolRouter<PmServer>>> = LazyLock::new(|| {
        let mut router = families();
        for route in router.map.values_mut() {
            // What is left out here (`additionalProperties: false`, `null` in optional types,
            // `minimum: 0` of unsigned counts whose range the description gives) is still
            // enforced: `validate_arguments` checks the full schema.
            let mut input = serde_json::Value::Object((*route.attr.input_schema).clone());
            compact_schema(&mut input, true);
            inline_definitions(&mut input);
            optional_without_null(&mut input);
            without_zero_minimum(&mut input);
            if let serde_json::Value::Object(map) = input {
                route.attr.input_schema = Arc::new(map);
            }
            if let Some(schema) = route.attr.output_schema.take() {
                let mut value = serde_json::Value::Object((*schema).clone());
                compact_schema(&mut value, false);
                value = shallow(&value, 0);
                if let serde_json::Value::Object(map) = value {
                    route.attr.output_schema = Some(Arc::new(map));
                }
            }
        }
        Arc::new(router)
    });
    ROUTER.clone()
}

/// Replaces each top-level argument's `$ref` (or `anyOf: [$ref, null]`) with the definition it
/// names, without the definition's own prose, and drops `$defs` once nothing points into it:
/// small enums are read at a glance where they are used.
fn inline_definitions(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(Value::Object(defs)) = schema.get("$defs").cloned() else {
        return;
    };
    let target = |v: &Value| -> Option<Value> {
        let name = v.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
        let mut def = defs.get(name)?.clone();
        if let Value::Object(m) = &mut def {
            m.remove("description");
        }
        Some(def)
    };
    let Some(Value::Object(props)) = schema.get_mut("properties") else {
        return;
    };
    for prop in props.values_mut() {
        let Value::Object(map) = prop else { continue };
        let resolved = match map.get("anyOf").and_then(Value::as_array) {
            Some(options) => match options.as_slice() {
                [one, null] | [null, one] if null.get("type") == Some(&Value::from("null")) => {
                    target(one).map(|d| (d, true))
                }
                _ => None,
            },
            None => target(&Value::Object(map.clone())).map(|d| (d, false)),
        };
        let Some((Value::Object(def), nullable)) = resolved else {
            continue;
        };
        map.remove("anyOf");
        map.remove("$ref");
        for (k, v) in def {
            map.entry(k).or_insert(v);
        }
        if nullable && let Some(t) = map.get("type").cloned() {
            map.insert("type".into(), Value::Array(vec![t, Value::from("null")]));
        }
    }
    if !serde_json::to_string(&*props).is_ok_and(|text| text.contains("#/$defs/"))
        && let Value::Object(root) = schema
    {
        root.remove("$defs");
    }
}

/// An optional argument is advertised with its own type only (`"string"`, not
/// `["string","null"]`): leaving it out says the same, in fewer tokens. A `null` sent anyway is
/// still accepted (it means "not given").
fn optional_without_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let Some(Value::Object(props)) = schema.get_mut("properties") else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        if required.contains(name) {
            continue;
        }
        let Some(Value::Array(types)) = prop.get("type") else {
            continue;
        };
        let kept: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if kept.len() < types.len() {
            prop["type"] = match <[Value; 1]>::try_from(kept) {
                Ok([only]) => only,
                Err(several) => Value::Array(several),
            };
        }
    }
}

/// Drops `minimum: 0` from top-level integer arguments (what unsigned Rust types produce): the
/// descriptions give the real ranges, and the full schema still refuses negative numbers.
fn without_zero_minimum(schema: &mut serde_json::Value) {
    if let Some(serde_json::Value::Object(props)) = schema.get_mut("properties") {
        for prop in props.values_mut() {
            if let serde_json::Value::Object(map) = prop
                && map.get("minimum").and_then(serde_json::Value::as_u64) == Some(0)
            {
                map.remove("minimum");
            }
        }
    }
}

/// An output schema cut to two levels: the result's own fields with their types, and for nested
/// objects just "object" (arrays keep their item type). Clients can still validate the envelope;
/// the model reads the values. Keeps 60 tools' schemas inside the token budget.
fn shallow(schema: &serde_json::Value, depth: usize) -> serde_json::Value {
    use serde_json::{Value, json};
    let defs = schema.get("$defs").cloned();
    let resolve = |s: &Value| -> Value {
        match (s.get("$ref").and_then(Value::as_str), &defs) {
            (Some(r), Some(d)) => d
                .get(r.trim_start_matches("#/$defs/"))
                .cloned()
                .unwrap_or(json!({ "type": "object" })),
            _ => s.clone(),
        }
    };
    let nullable = |s: &Value| -> bool {
        s.get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|o| o.iter().any(|x| x.get("type") == Some(&json!("null"))))
            || s.get("type")
                .and_then(Value::as_array)
                .is_some_and(|t| t.contains(&json!("null")))
    };
    let kind_of = |s: &Value| -> Value {
        let s = match s.get("anyOf").and_then(Value::as_array) {
            Some(options) => options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
                .map(&resolve)
                .unwrap_or(json!({})),
            None => resolve(s),
        };
        let t = match s.get("type") {
            Some(Value::Array(ts)) => ts
                .iter()
                .find(|t| *t != &json!("null"))
                .cloned()
                .unwrap_or(json!("object")),
            Some(t) => t.clone(),
            None if s.get("enum").is_some() => json!("string"),
            None => json!("object"),
        };
        let mut out = json!({ "type": t });
        if t == json!("array") {
            // Arrays of scalars keep their item type; arrays of objects say just "array".
            let item = s.get("items").map(&resolve).unwrap_or(json!({}));
            if let Some(item_type) = item.get("type").and_then(Value::as_str)
                && item_type != "object"
            {
                out["items"] = json!({ "type": item_type });
            }
        }
        if let Some(e) = s.get("enum") {
            out["enum"] = e.clone();
        }
        out
    };
    if depth > 0 {
        return kind_of(schema);
    }
    let mut props = serde_json::Map::new();
    for (name, prop) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut p = kind_of(prop);
        if nullable(prop) {
            let t = p["type"].clone();
            p["type"] = json!([t, "null"]);
        }
        props.insert(name.clone(), p);
    }
    // No `required`: every field is always present in the results, and the list would repeat
    // every name once more.
    json!({ "type": "object", "properties": props })
}

/// Checks a call's arguments against the tool's input schema: a violation is a JSON-RPC
/// invalid-params error that names the offending field (values are not echoed: they may be secrets).
/// Public for the fuzz tests; the MCP handler calls it before every tool.
pub fn validate_arguments(
    tool: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<(), rmcp::ErrorData> {
    static VALIDATORS: LazyLock<HashMap<String, jsonschema::Validator>> = LazyLock::new(|| {
        families()
            .list_all()
            .into_iter()
            .filter_map(|t| {
                // Unknown arguments are refused: a misspelt argument is a mistake, not a no-op.
                let mut schema = serde_json::Value::Object((*t.input_schema).clone());
                compact_schema(&mut schema, false);
                if let serde_json::Value::Object(map) = &mut schema {
                    map.entry("additionalProperties")
                        .or_insert(serde_json::Value::Bool(false));
                }
                match jsonschema::validator_for(&schema) {
                    Ok(v) => Some((t.name.to_string(), v)),
                    Err(e) => {
                        tracing::error!(tool = %t.name, error = %e, "a tool's input schema does not compile");
                        None
                    }
                }
            })
            .collect()
    });
    let Some(validator) = VALIDATORS.get(tool) else {
        return Ok(());
    };
    let instance = serde_json::Value::Object(arguments.cloned().unwrap_or_default());
    let problems: Vec<(String, String)> = validator
        .iter_errors(&instance)
        .take(5)
        .map(|e| {
            let path = e.instance_path().to_string();
            let field = if path.is_empty() {
                "(arguments)".to_string()
            } else {
                path.trim_start_matches('/').replace('/', ".")
            };
            (field, e.masked().to_string())
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let text = problems
        .iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    Err(rmcp::ErrorData::invalid_params(
        format!("invalid arguments for {tool}: {text}"),
        Some(serde_json::json!({ "fields": fields })),
    ))
}

/// Shrinks a schema to what a client needs to validate and a model needs to read: no `$schema`,
/// no integer-width formats, string enums as `enum`, and — for output schemas, whose meaning the
/// tool's description carries — no prose. Keeps `tools/list` small in tokens.
fn compact_schema(schema: &mut serde_json::Value, keep_descriptions: bool) {
    use serde_json::Value;
    let Value::Object(map) = schema else { return };
    if !keep_descriptions {
        map.remove("description");
    }
    map.remove("$schema");
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    if map.get("format").and_then(Value::as_str).is_some_and(|f| {
        f.starts_with("uint") || f.starts_with("int") || f == "double" || f == "float"
    }) {
        map.remove("format");
    }
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children
                .values_mut()
                .for_each(|c| compact_schema(c, keep_descriptions));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get_mut(key) {
            compact_schema(child, keep_descriptions);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(options)) = map.get_mut(key) {
            options
                .iter_mut()
                .for_each(|o| compact_schema(o, keep_descriptions));
        }
    }
    // oneOf of string constants -> enum
    let consts: Option<Vec<Value>> = map.get("oneOf").and_then(Value::as_array).and_then(|opts| {
        opts.iter()
            .map(
                |o| match (o.get("type").and_then(Value::as_str), o.get("const")) {
                    (Some("string"), Some(c)) if o.as_object().is_some_and(|m| m.len() == 2) => {
                        Some(c.clone())
                    }
                    _ => None,
                },
            )
            .collect()
    });
    if let Some(values) = consts {
        map.remove("oneOf");
        map.insert("type".into(), Value::String("string".into()));
        map.insert("enum".into(), Value::Array(values));
    }
}

/// Toolsets group tools so a server, a key or a request can narrow what a model sees.
pub const TOOLSETS: &[(&str, &[&str])] = &[
    ("users", &["get_current_user", "list_users", "get_user"]),
    (
        "connections",
        &[
            "list_providers",
            "configure_pm_provider",
            "test_pm_provider",
            "remove_pm_provider",
        ],
    ),
    (
        "projects",
        &[
            "list_projects",
            "search_projects",
            "get_project",
            "create_project",
            "update_project",
            "delete_project",
        ],
    ),
    (
        "tasks",
        &[
            "list_tasks",
            "list_my_tasks",
            "list_tasks_by_assignee",
            "list_unassigned_tasks",
            "search_tasks",
            "get_task",
            "create_task",
            "update_task",
            "update_task_status",
            "assign_task",
            "bulk_update_tasks",
            "delete_task",
            "add_task_watcher",
            "link_related_tasks",
        ],
    ),
    (
        "epics",
        &[
            "list_epics",
            "get_epic",
            "create_epic",
            "update_epic",
            "delete_epic",
            "link_task_to_epic",
            "unlink_task_from_epic",
        ],
    ),
    (
        "sprints",
        &[
            "list_sprints",
            "get_sprint",
            "get_sprint_tasks",
            "list_tasks_in_sprint",
            "create_sprint",
            "update_sprint",
            "start_sprint",
            "complete_sprint",
            "delete_sprint",
        ],
    ),
    ("comments", &["add_task_comment", "get_task_comments"]),
    ("worklogs", &["log_work", "list_worklogs"]),
    (
        "analytics",
        &[
            "burndown_chart",
            "velocity_chart",
            "sprint_report",
            "project_health",
            "cfd_chart",
            "cycle_time_chart",
            "work_distribution_chart",
            "issue_trend_chart",
            "capacity_chart",
        ],
    ),
];

/// The budget of `tools/list` for the default toolsets, in bytes of JSON (about 5,000 tokens).
/// It was 16 KB before the connection tools joined the default set (issue 18): an assistant that
/// cannot repair its own connection costs more than the 3.5 KB they take.
pub const DEFAULT_BUDGET_BYTES: usize = 20_000;

/// What a caller sees when neither the server, nor the key, nor the request names toolsets: an
/// engineer's everyday work, within [`DEFAULT_BUDGET_BYTES`] of `tools/list`. `all` (or naming sets) offers more.
/// The connections toolset is always in it: the assistant must be able to add a second tracker
/// and repair a broken one (errors point it to `list_providers` and `configure_pm_provider`).
pub const DEFAULT_TOOLSETS: &[&str] = &["users", "connections", "projects", "tasks", "comments"];

/// Words accepted wherever toolsets are named, besides the toolsets' own names.
pub const TOOLSET_WORDS: &[&str] = &["all", "default"];

/// Whether `sets` (as named by a server, key or request) include the toolset `set`.
pub fn includes(sets: &[String], set: &str) -> bool {
    sets.iter()
        .any(|s| s == set || s == "all" || (s == "default" && DEFAULT_TOOLSETS.contains(&set)))
}

/// Refuses a toolset name that is neither a toolset nor `all`/`default`, listing the known ones.
pub fn check_toolset_name(name: &str) -> Result<(), String> {
    if TOOLSETS.iter().any(|(n, _)| *n == name) || TOOLSET_WORDS.contains(&name) {
        return Ok(());
    }
    let known: Vec<&str> = TOOLSETS.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown toolset {name:?}; known toolsets: {} (or all, default)",
        known.join(", ")
    ))
}

pub fn toolset_of(tool: &str) -> Option<&'static str> {
    TOOLSETS
        .iter()
        .find(|(_, tools)| tools.contains(&tool))
        .map(|(set, _)| *set)
}

/// Read-only tools need `read`; everything else needs `write`.
pub fn required_scope(tool: &Tool) -> Scope {
    match tool.annotations.as_ref().and_then(|a| a.read_only_hint) {
        Some(true) => Scope::Read,
        _ => Scope::Write,
    }
}

/// A tool that ran and failed in a way the model can act on: becomes a result with `isError`.
#[derive(Debug)]
pub struct ToolError(pub String);

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(self.0)]).into())
    }
}

/// What a tool says when pm-mcp's own database cannot be reached.
pub const DATABASE_UNAVAILABLE: &str = "pm-mcp's database is unavailable; try again shortly";

impl From<pm_store::StoreError> for ToolError {
    fn from(e: pm_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the database is unavailable to a tool");
            return ToolError(DATABASE_UNAVAILABLE.into());
        }
        tracing::error!(error = %e, "store error in a tool");
        ToolError("pm-mcp's database could not answer; try again shortly".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_schema_keeps_property_names_and_drops_prose() {
        let mut schema = serde_json::json!({
            "$schema": "x", "description": "d", "type": "object",
            "properties": {
                "description": { "type": "string", "description": "a field named description" },
                "n": { "type": "integer", "format": "uint", "minimum": 0 },
                "at": { "type": "string", "format": "date-time" },
                "s": { "oneOf": [ { "type": "string", "const": "a", "description": "A" }, { "type": "string", "const": "b" } ] }
            }
        });
        compact_schema(&mut schema, false);
        assert_eq!(
            schema,
            serde_json::json!({
                "type": "object",
                "properties": {
                    "description": { "type": "string" },
                    "n": { "type": "integer", "minimum": 0 },
                    "at": { "type": "string", "format": "date-time" },
                    "s": { "type": "string", "enum": ["a", "b"] }
                }
            })
        );
    }

    #[test]
    fn every_tool_has_a_toolset_title_and_all_hints() {
        let tools = PmServer::all_tools();
        assert!(!tools.is_empty());
        for tool in &tools {
            assert!(
                toolset_of(&tool.name).is_some(),
                "{} has no toolset",
                tool.name
            );
            let a = tool
                .annotations
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no annotations", tool.name));
            assert!(a.title.is_some(), "{} has no title", tool.name);
            assert!(
                a.read_only_hint.is_some(),
                "{} lacks readOnlyHint",
                tool.name
            );
            assert!(
                a.destructive_hint.is_some(),
                "{} lacks destructiveHint",
                tool.name
            );
            assert!(
                a.idempotent_hint.is_some(),
                "{} lacks idempotentHint",
                tool.name
            );
            assert!(
                a.open_world_hint.is_some(),
                "{} lacks openWorldHint",
                tool.name
            );
            assert!(
                tool.description.as_ref().is_some_and(|d| d.len() > 20),
                "{} needs a description",
                tool.name
            );
            assert!(
                tool.output_schema.is_some(),
                "{} has no outputSchema",
                tool.name
            );
        }
        for (_, names) in TOOLSETS {
            for name in *names {
                assert!(
                    tools.iter().any(|t| t.name == *name),
                    "toolset lists unknown tool {name}"
                );
            }
        }
    }

    #[test]
    fn tools_list_is_pinned() {
        // What clients see — names, schemas, hints — pinned in a snapshot file. After a deliberate
        // change, regenerate it with UPDATE_SNAPSHOTS=1 and review the diff.
        let tools = serde_json::to_value(PmServer::all_tools()).expect("serialise");
        let pretty = serde_json::to_string_pretty(&tools).expect("serialise") + "\n";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/tools_list.json");
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &pretty).expect("write snapshot");
        }
        let pinned = std::fs::read_to_string(&path)
            .expect("snapshots/tools_list.json (run with UPDATE_SNAPSHOTS=1)");
        assert_eq!(
            pretty, pinned,
            "tools/list changed; rerun with UPDATE_SNAPSHOTS=1 if intended"
        );
        let compact = serde_json::to_string(&tools).expect("serialise");
        assert!(!compact.contains("$schema"));
        // The design's budgets, for the whole JSON-RPC answer (the envelope is under 100 bytes).
        assert!(
            compact.len() + 100 <= 40_000,
            "tools/list for all tools grew to {} bytes (budget 40,000)",
            compact.len()
        );
        let default: Vec<Tool> = PmServer::all_tools()
            .into_iter()
            .filter(|t| toolset_of(&t.name).is_some_and(|s| DEFAULT_TOOLSETS.contains(&s)))
            .collect();
        let default = serde_json::to_string(&default).expect("serialise");
        assert!(
            default.len() + 100 <= DEFAULT_BUDGET_BYTES,
            "tools/list for the default toolsets grew to {} bytes (budget {DEFAULT_BUDGET_BYTES})",
            default.len()
        );
    }

    #[test]
    fn advertised_schemas_are_small_but_the_full_ones_are_enforced() {
        let tools = PmServer::all_tools();
        let list_tasks = tools.iter().find(|t| t.name == "list_tasks").expect("tool");
        let limit = &list_tasks.input_schema["properties"]["limit"];
        assert_eq!(limit["type"], "integer", "{limit}");
        assert!(limit.get("minimum").is_none());
        assert!(!list_tasks.input_schema.contains_key("additionalProperties"));
        let burndown = tools
            .iter()
            .find(|t| t.name == "burndown_chart")
            .expect("tool");
        assert!(!burndown.input_schema.contains_key("$defs"));
        assert_eq!(
            burndown.input_schema["properties"]["metric"]["enum"],
            serde_json::json!(["story_points", "task_count", "hours"])
        );
        let args = |v: serde_json::Value| v.as_object().cloned();
        // null still means "not given"; what the full schema forbids is still refused.
        assert!(
            validate_arguments(
                "list_tasks",
                args(serde_json::json!({"limit": null})).as_ref()
            )
            .is_ok()
        );
        assert!(
            validate_arguments("list_tasks", args(serde_json::json!({"limit": 5})).as_ref())
                .is_ok()
        );
        for bad in [
            serde_json::json!({"limit": -1}),
            serde_json::json!({"limit": "5"}),
            serde_json::json!({"lmit": 5}),
        ] {
            let err =
                validate_arguments("list_tasks", args(bad.clone()).as_ref()).expect_err("refused");
            assert!(err.message.contains("list_tasks"), "{bad}: {}", err.message);
        }
        let err = validate_arguments(
            "burndown_chart",
            args(serde_json::json!({"sprint_id": "j:1", "metric": "weight"})).as_ref(),
        )
        .expect_err("not an enum value");
        assert!(err.message.contains("metric"), "{}", err.message);
    }

    #[test]
    fn descriptions_are_cut_to_excerpts_and_flagged() {
        let mut none = None;
        assert!(!cut(&mut none, 300));
        let mut short = Some("short".to_string());
        assert!(!cut(&mut short, 300));
        assert_eq!(short.as_deref(), Some("short"));
        // Exactly at the limit: whole.
        let mut exact = Some("é".repeat(300));
        assert!(!cut(&mut exact, 300));
        // Long multi-byte text: at most 300 characters, ellipsis included, at a word boundary.
        let long = "naïve words ".repeat(100);
        let mut text = Some(long.clone());
        assert!(cut(&mut text, 300));
        let text = text.unwrap_or_default();
        assert!(text.chars().count() <= 300, "{}", text.chars().count());
        assert!(
            text.ends_with("words…") || text.ends_with("naïve…"),
            "{text}"
        );
        assert!(long.starts_with(text.trim_end_matches('…')));
        // One long word: cut inside it.
        let mut word = Some("x".repeat(1000));
        assert!(cut(&mut word, 300));
        assert_eq!(word.map(|w| w.chars().count()), Some(300));
    }

    #[test]
    fn toolset_names() {
        assert!(check_toolset_name("tasks").is_ok());
        assert!(check_toolset_name("all").is_ok());
        assert!(check_toolset_name("default").is_ok());
        let err = check_toolset_name("task").expect_err("unknown");
        assert!(err.contains("known toolsets: users"), "{err}");
        let sets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(includes(&sets(&["all"]), "analytics"));
        assert!(includes(&sets(&["default"]), "tasks"));
        assert!(!includes(&sets(&["default"]), "analytics"));
        assert!(includes(&sets(&["default", "analytics"]), "analytics"));
        assert!(!includes(&sets(&["sprints"]), "tasks"));
        for set in DEFAULT_TOOLSETS {
            assert!(TOOLSETS.iter().any(|(n, _)| n == set), "{set}");
        }
    }
}
