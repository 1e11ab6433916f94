//! The tool catalogue: one module per tool family, each with its own named router; this module
//! joins them, and knows each tool's toolset and the scope it needs.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use pm_core::Scope;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, Tool};

use crate::server::PmServer;
use crate::service::{ErrorKind, ServiceError};

// One module per toolset (connections: `connections.rs` and `identity.rs`'s list_providers).
pub(crate) mod across;
mod analytics;
mod comments;
pub(crate) mod connections;
mod epics;
pub(crate) mod identity;
mod projects;
mod sprints;
mod tasks;
mod users;
mod worklogs;
// Helpers of several toolsets, no tools of their own.
mod arg_check;
mod args;
pub(crate) mod reference;
mod scan;
mod sprint_ref;

// The in-process tests of each toolset (a directory of their own beside this file's unit tests).
#[cfg(test)]
#[path = "tests/mod.rs"]
pub(crate) mod toolset_tests;

pub use crate::toolsets::Toolset;
pub use identity::{ConnectionSummary, ListProvidersArgs, ProviderList};
pub use users::CurrentUser;

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

/// One toolset's tools, as its module registers them.
pub(crate) struct Family {
    pub toolset: Toolset,
    pub router: ToolRouter<PmServer>,
    /// The tools' names in the order the tool reference (`docs/tools.md`) lists them, lists and
    /// reads first; a test checks it names exactly the router's tools.
    pub order: &'static [&'static str],
}

/// Every toolset's tools, in the order of [`Toolset::ALL`].
fn families() -> Vec<Family> {
    vec![
        users::family(),
        identity::family(),
        projects::family(),
        tasks::family(),
        epics::family(),
        sprints::family(),
        comments::family(),
        worklogs::family(),
        analytics::family(),
    ]
}

/// Every tool of every toolset, as the macros build them.
fn all_families() -> ToolRouter<PmServer> {
    families()
        .into_iter()
        .fold(ToolRouter::new(), |all, f| all + f.router)
}

/// Each toolset with its tools' names, in the order of [`Toolset::ALL`] and, within a toolset,
/// of [`Family::order`].
pub fn toolsets() -> &'static [(Toolset, Vec<&'static str>)] {
    static SETS: LazyLock<Vec<(Toolset, Vec<&'static str>)>> = LazyLock::new(|| {
        families()
            .into_iter()
            .map(|f| (f.toolset, f.order.to_vec()))
            .collect()
    });
    &SETS
}

/// The toolset `tool` is in.
pub fn toolset_of(tool: &str) -> Option<Toolset> {
    toolsets()
        .iter()
        .find(|(_, tools)| tools.contains(&tool))
        .map(|(set, _)| *set)
}

/// Every tool's name.
pub fn tool_names() -> impl Iterator<Item = &'static str> {
    toolsets()
        .iter()
        .flat_map(|(_, tools)| tools.iter().copied())
}

/// Every tool, built once, with the schemas clients see: input schemas as small as they can be
/// while saying what to send, output schemas cut to the envelope.
pub(crate) fn router() -> Arc<ToolRouter<PmServer>> {
    static ROUTER: LazyLock<Arc<ToolRouter<PmServer>>> = LazyLock::new(|| {
        let mut router = all_families();
        for route in router.map.values_mut() {
            // What is left out here (`additionalProperties: false`, `null` in optional types,
            // `minimum: 0` of unsigned counts whose range the description gives) is still
            // enforced: `validate_arguments` checks the full schema.
            let mut input = serde_json::Value::Object((*route.attr.input_schema).clone());
            compact_schema(&mut input, true);
            inline_definitions(&mut input);
            optional_without_null(&mut input);
            without_zero_minimum(&mut input);
            single_types(&mut input);
            if let serde_json::Value::Object(map) = input {
                route.attr.input_schema = Arc::new(map);
            }
            // A tool whose results an MCP App shows links to it (hosts without Apps ignore it).
            if let Some(app) = crate::apps::for_tool(&route.attr.name) {
                route.attr.meta = Some(crate::apps::tool_meta(app));
            }
            if let Some(schema) = route.attr.output_schema.take() {
                let mut value = serde_json::Value::Object((*schema).clone());
                compact_schema(&mut value, false);
                value = shallow(&value);
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

/// An output schema cut to two levels: the result's own fields with their JSON types, and for
/// nested objects just "object" (arrays keep a scalar item type, strings their enum). Clients can
/// still validate the envelope; the model reads the values. Keeps 60 tools' schemas inside the
/// token budget.
///
/// Never narrower than the full schema: a field whose values have several types is an `anyOf` of
/// those types, in the spelling every client reads (one `type` per schema, never an array of
/// types). A field that is a plain scalar or `null` (a cursor, a date, a mean) is left out — it
/// is still allowed, no `additionalProperties` forbids it: its `anyOf` would cost 45 bytes for
/// what its value says anyway, and there are many (every page's `next_cursor`): with them
/// `tools/list` outgrows both budgets. A field that may be anything is left out too (`{}` says
/// nothing, and Inspector warns of it).
fn shallow(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let defs = schema.get("$defs");
    let props: serde_json::Map<String, Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, prop)| {
            let outline = outline(prop, defs, 0, 0);
            (!outline.goes_without_saying()).then(|| (name.clone(), outline.to_schema()))
        })
        .collect();
    // No `required`: every field is always present in the results, and the list would repeat
    // every name once more.
    json!({ "type": "object", "properties": props })
}

/// What `shallow` says of a value: the JSON types it may have, as far as the schema tells.
#[derive(Debug, Clone, PartialEq)]
enum Outline {
    /// Any JSON value (the schema does not say, or `shallow` cannot say it shortly).
    Any,
    /// One of these types; none: no value at all.
    Types(Vec<Typed>),
}

/// One JSON type of an [`Outline`].
#[derive(Debug, Clone, PartialEq)]
struct Typed {
    /// `null`, `boolean`, `integer`, `number`, `string`, `array` or `object`.
    name: String,
    /// Strings: the only values allowed, where the schema lists them.
    values: Option<Vec<serde_json::Value>>,
    /// Arrays: their items' outline, for a field's own arrays.
    items: Option<Box<Outline>>,
}

impl Typed {
    fn named(name: &str) -> Typed {
        Typed {
            name: name.to_string(),
            values: None,
            items: None,
        }
    }
}

/// The outline of `schema` (of a field when `depth` is 0); `hops` counts `$ref`s followed, against
/// a definition that refers to itself.
fn outline(
    schema: &serde_json::Value,
    defs: Option<&serde_json::Value>,
    depth: usize,
    hops: usize,
) -> Outline {
    use serde_json::Value;
    let map = match schema {
        Value::Object(map) => map,
        Value::Bool(false) => return Outline::Types(Vec::new()),
        _ => return Outline::Any,
    };
    if hops > 32 {
        return Outline::Any;
    }
    if let Some(r) = map.get("$ref") {
        let target = r
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| defs?.get(name));
        return match target {
            Some(t) => outline(t, defs, depth, hops + 1),
            None => Outline::Any,
        };
    }
    // Every keyword narrows what is allowed, so the outline of any one of them is right, if
    // wider than the whole; the most telling one is taken.
    let listed = match (map.get("const"), map.get("enum")) {
        (Some(c), _) => Some(vec![c.clone()]),
        (None, Some(Value::Array(values))) => Some(values.clone()),
        _ => None,
    };
    if let Some(values) = listed {
        return Outline::Types(merged(values.iter().map(|v| Typed {
            values: v.is_string().then(|| vec![v.clone()]),
            ..Typed::named(json_type(v))
        })));
    }
    let own: Option<Vec<Typed>> = match map.get("type") {
        Some(Value::String(t)) => Some(vec![Typed::named(t)]),
        Some(Value::Array(ts)) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(Typed::named)
                .collect(),
        ),
        _ => None,
    }
    .map(|types| {
        types
            .into_iter()
            .map(|mut t| {
                if t.name == "array" && depth == 0 {
                    t.items = Some(Box::new(match map.get("items") {
                        Some(items) => outline(items, defs, depth + 1, hops),
                        None => Outline::Any,
                    }));
                }
                t
            })
            .collect()
    });
    let union = ["anyOf", "oneOf"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_array))
        .map(|branches| {
            let mut all = Vec::new();
            for b in branches {
                match outline(b, defs, depth, hops + 1) {
                    Outline::Any => return Outline::Any,
                    Outline::Types(ts) => all.extend(ts),
                }
            }
            Outline::Types(merged(all))
        });
    match (own, union) {
        (Some(own), Some(Outline::Types(branches))) => {
            // Both apply: the branches of the types the schema allows.
            let within = |b: &Typed| {
                own.iter()
                    .any(|o| o.name == b.name || (o.name == "number" && b.name == "integer"))
            };
            let kept: Vec<Typed> = branches.into_iter().filter(within).collect();
            Outline::Types(if kept.is_empty() { own } else { kept })
        }
        (Some(own), _) => Outline::Types(merged(own)),
        (None, Some(union)) => union,
        (None, None) => map
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .map(|b| outline(b, defs, depth, hops + 1))
                    .find(|o| *o != Outline::Any)
            })
            .unwrap_or(Outline::Any),
    }
}

/// The JSON type of a value.
fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One entry per type: string values joined (any string, if one branch allows any), array items
/// kept where all agree, `integer` dropped beside `number`, `null` last.
fn merged(types: impl IntoIterator<Item = Typed>) -> Vec<Typed> {
    let mut out: Vec<Typed> = Vec::new();
    for t in types {
        match out.iter_mut().find(|o| o.name == t.name) {
            None => out.push(t),
            Some(o) => {
                o.values = match (o.values.take(), t.values) {
                    (Some(mut a), Some(b)) => {
                        for v in b {
                            if !a.contains(&v) {
                                a.push(v);
                            }
                        }
                        Some(a)
                    }
                    _ => None,
                };
                if o.items != t.items {
                    o.items = None;
                }
            }
        }
    }
    if out.iter().any(|t| t.name == "number") {
        out.retain(|t| t.name != "integer");
    }
    out.sort_by_key(|t| t.name == "null");
    out
}

impl Outline {
    /// Any value: what `shallow` leaves to the values. Every other field is declared, null-able
    /// scalars included (`next_cursor`, the analytics' optional figures): a model reads from the
    /// schema which fields a result has.
    fn goes_without_saying(&self) -> bool {
        matches!(self, Outline::Any)
    }

    /// The outline as a schema: `{}` for any value, one `type`, or an `anyOf` of types.
    fn to_schema(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        let typed = |t: &Typed| -> Value {
            let mut s = json!({ "type": t.name });
            if let Some(values) = &t.values {
                s["enum"] = Value::Array(values.clone());
            }
            // Arrays of scalars keep their item type; arrays of objects say just "array".
            if let Some(Outline::Types(items)) = t.items.as_deref()
                && let [item] = items.as_slice()
                && !matches!(item.name.as_str(), "object" | "array" | "null")
            {
                s["items"] = json!({ "type": item.name });
            }
            s
        };
        match self {
            Outline::Any => json!({}),
            Outline::Types(types) => match types.as_slice() {
                [] => json!({ "not": {} }),
                [one] => typed(one),
                several => json!({ "anyOf": several.iter().map(typed).collect::<Vec<_>>() }),
            },
        }
    }
}

/// Rewrites every `"type": [a, b]` into `"anyOf": [{"type": a}, {"type": b}]`, which says the
/// same: several clients (and the OpenAPI subset of some model providers) read only one `type` per
/// schema, and MCP Inspector's `--strict` warns of the array form.
fn single_types(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = schema else { return };
    for (key, child) in map.iter_mut() {
        match (key.as_str(), child) {
            ("properties" | "$defs" | "patternProperties", Value::Object(children)) => {
                children.values_mut().for_each(single_types)
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(options)) => {
                options.iter_mut().for_each(single_types)
            }
            ("items" | "additionalProperties" | "not" | "contains", child) => single_types(child),
            _ => {}
        }
    }
    let Some(Value::Array(types)) = map.get("type").cloned() else {
        return;
    };
    let several = match types.as_slice() {
        [] => return,
        [one] => {
            map.insert("type".into(), one.clone());
            return;
        }
        several => several,
    };
    let union: Vec<Value> = several
        .iter()
        .map(|t| serde_json::json!({ "type": t }))
        .collect();
    if !map.contains_key("anyOf") {
        map.remove("type");
        map.insert("anyOf".into(), Value::Array(union));
    } else if let Value::Array(all) = map
        .entry("allOf")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        // An `anyOf` is there already: both must hold.
        all.push(serde_json::json!({ "anyOf": union }));
        map.remove("type");
    }
}

/// Checks a call's arguments against the tool's input schema: a violation is a JSON-RPC
/// invalid-params error that names the offending field (values are not echoed: they may be secrets).
/// Public for the fuzz tests; the MCP handler calls it before every tool.
pub fn validate_arguments(
    tool: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<(), rmcp::ErrorData> {
    let Some(schema) = checked_schemas().get(tool) else {
        return Ok(());
    };
    let empty = serde_json::Map::new();
    let problems = arg_check::problems(schema, arguments.unwrap_or(&empty));
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

/// Each tool's full input schema as calls are checked against it: compacted, and unknown
/// arguments refused (a misspelt argument is a mistake, not a no-op).
fn checked_schemas() -> &'static HashMap<String, serde_json::Value> {
    static SCHEMAS: LazyLock<HashMap<String, serde_json::Value>> = LazyLock::new(|| {
        all_families()
            .list_all()
            .into_iter()
            .map(|t| {
                let mut schema = serde_json::Value::Object((*t.input_schema).clone());
                compact_schema(&mut schema, false);
                if let serde_json::Value::Object(map) = &mut schema {
                    map.entry("additionalProperties")
                        .or_insert(serde_json::Value::Bool(false));
                }
                let unknown = arg_check::unknown_keywords(&schema);
                if !unknown.is_empty() {
                    tracing::error!(tool = %t.name, ?unknown, "a tool's input schema has keywords the argument check does not know");
                }
                (t.name.to_string(), schema)
            })
            .collect()
    });
    &SCHEMAS
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
    // A oneOf/anyOf of string constants -> one enum. schemars spells a unit enum so when some
    // variants carry doc comments: `{"type":"string","enum":[..]}` for the plain ones and
    // `{"type":"string","const":..}` for each documented one (whose prose is gone by now in an
    // output schema; an input schema keeps it, and the oneOf).
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(options)) = map.get(key) else {
            continue;
        };
        if let Some(values) = string_constants(options)
            && map.get("type").is_none_or(|t| t == "string")
        {
            map.remove(key);
            map.insert("type".into(), Value::String("string".into()));
            map.insert("enum".into(), Value::Array(values));
        }
    }
}

/// The strings a list of schemas allows, when each is nothing but string constants
/// (`{"type":"string","const":"a"}`, `{"enum":["b","c"]}`…).
fn string_constants(options: &[serde_json::Value]) -> Option<Vec<serde_json::Value>> {
    use serde_json::Value;
    let mut values: Vec<Value> = Vec::new();
    for option in options {
        let o = option.as_object()?;
        if o.keys()
            .any(|k| !matches!(k.as_str(), "type" | "const" | "enum"))
            || o.get("type").is_some_and(|t| t != "string")
        {
            return None;
        }
        let listed = match (o.get("const"), o.get("enum")) {
            (Some(c), None) => vec![c.clone()],
            (None, Some(Value::Array(e))) => e.clone(),
            _ => return None,
        };
        for v in listed {
            if !v.is_string() {
                return None;
            }
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    (!values.is_empty()).then_some(values)
}

/// The budget of `tools/list` for all tools, in bytes of JSON (about 11,000 tokens). DESIGN's
/// 40 KB was set before every result field was declared in the output schemas (issue 18): a
/// schema that leaves out `next_cursor` to save bytes tells the model less than it must know.
/// 44,500 since issue 26: `list_my_tasks` reads every connection and names those that failed;
/// 45,000 with the MCP Apps' links on four tools (`_meta.ui` and its flat form, ~130 bytes each).
pub const ALL_BUDGET_BYTES: usize = 45_000;

/// The budget of `tools/list` for the default toolsets, in bytes of JSON (about 5,500 tokens).
/// It was 16 KB before issue 18 added to the default set the connection tools (an assistant that
/// cannot repair its own connection costs more than the 3.5 KB they take), `get_project_vocabulary`
/// (0.85 KB that spare the model learning statuses, priorities and types from refusals) and to
/// every one-task answer its `description_cut` flag.
/// 22,500 since issue 26 (`list_my_tasks` across connections, its `failed` list).
pub const DEFAULT_BUDGET_BYTES: usize = 22_500;

pub use crate::toolsets::{TOOLSET_WORDS, check_toolset_name, includes};

/// Read-only tools need `read`; everything else needs `write`.
pub fn required_scope(tool: &Tool) -> Scope {
    match tool.annotations.as_ref().and_then(|a| a.read_only_hint) {
        Some(true) => Scope::Read,
        _ => Scope::Write,
    }
}

/// A tool that ran and failed in a way the model can act on: becomes a result with `isError`.
/// Its kind is noted for the call's audit row.
#[derive(Debug)]
pub struct ToolError(pub String, pub ErrorKind);

impl ToolError {
    /// A failure of the call's own input.
    pub fn new(message: String) -> Self {
        ToolError(message, ErrorKind::Invalid)
    }

    /// A tracker's failure on `connection` (see [`ServiceError::tracker`]).
    pub fn provider(connection: &pm_core::ConnectionHandle, e: &pm_core::ProviderError) -> Self {
        ServiceError::tracker(connection, e).into()
    }
}

impl From<ServiceError> for ToolError {
    fn from(e: ServiceError) -> Self {
        ToolError(e.message, e.kind)
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        crate::audit::note_error_kind(self.1.as_str());
        Ok(CallToolResult::error(vec![ContentBlock::text(self.0)]).into())
    }
}

pub use crate::service::DATABASE_UNAVAILABLE;

impl From<pm_store::StoreError> for ToolError {
    fn from(e: pm_store::StoreError) -> Self {
        ServiceError::from(e).into()
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
        // Each toolset's order names exactly the tools of its router, each tool in one toolset.
        let mut named = Vec::new();
        for family in families() {
            let mut routed: Vec<String> = family
                .router
                .list_all()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            let mut order: Vec<String> = family.order.iter().map(|n| n.to_string()).collect();
            routed.sort();
            order.sort();
            assert_eq!(order, routed, "the {} toolset's order", family.toolset);
            named.extend(order);
        }
        assert_eq!(
            named.len(),
            tools.len(),
            "every tool is in exactly one toolset"
        );
        let sets: Vec<Toolset> = families().iter().map(|f| f.toolset).collect();
        assert_eq!(sets, Toolset::ALL, "one family per toolset, in order");
    }

    #[test]
    fn tools_list_is_pinned() {
        // What clients see — names, schemas, hints — pinned in a snapshot file. After a deliberate
        // change, regenerate it with UPDATE_SNAPSHOTS=1 and review the diff.
        let tools = serde_json::to_value(PmServer::all_tools()).expect("serialise");
        let pretty = serde_json::to_string_pretty(&tools).expect("serialise") + "\n";
        crate::assert_pinned("tools_list.json", &pretty, "tools/list");
        let compact = serde_json::to_string(&tools).expect("serialise");
        assert!(!compact.contains("$schema"));
        // The design's budgets, for the whole JSON-RPC answer (the envelope is under 100 bytes).
        assert!(
            compact.len() + 100 <= ALL_BUDGET_BYTES,
            "tools/list for all tools grew to {} bytes (budget {ALL_BUDGET_BYTES})",
            compact.len()
        );
        let default: Vec<Tool> = PmServer::all_tools()
            .into_iter()
            .filter(|t| toolset_of(&t.name).is_some_and(Toolset::is_default))
            .collect();
        let default = serde_json::to_string(&default).expect("serialise");
        println!(
            "tools/list: {} bytes for all tools, {} for the default toolsets",
            compact.len(),
            default.len()
        );
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
    fn shallow_says_each_fields_types_without_inventing_one() {
        use serde_json::json;
        let mut schema = json!({
            "type": "object",
            "properties": {
                // A unit enum whose last variant has a doc comment, as schemars spells it.
                "trend": { "$ref": "#/$defs/Trend" },
                "maybe_trend": { "anyOf": [ { "$ref": "#/$defs/Trend" }, { "type": "null" } ] },
                "n": { "type": ["number", "null"] },
                "count": { "type": "integer" },
                "names": { "type": "array", "items": { "type": "string" } },
                "people": { "type": "array", "items": { "$ref": "#/$defs/Person" } },
                "who": { "anyOf": [ { "$ref": "#/$defs/Person" }, { "type": "null" } ] },
                "either": { "anyOf": [ { "type": "string" }, { "type": "integer" }, { "type": "number" } ] },
                "tagged": { "oneOf": [ { "type": "object", "properties": { "a": {} } }, { "type": "string", "const": "none" } ] },
                "anything": {},
                "constant": { "const": 3 }
            },
            "$defs": {
                "Trend": { "oneOf": [
                    { "type": "string", "enum": ["rising", "steady", "falling"] },
                    { "type": "string", "const": "insufficient_data", "description": "Too few sprints." }
                ] },
                "Person": { "type": "object", "properties": { "name": { "type": "string" } } }
            }
        });
        compact_schema(&mut schema, false);
        let trend = json!({ "type": "string", "enum": ["rising", "steady", "falling", "insufficient_data"] });
        assert_eq!(schema["$defs"]["Trend"], trend);
        let short = shallow(&schema);
        let nul = json!({ "type": "null" });
        // A null-able scalar is declared; only "anything" is left to the values.
        assert_eq!(
            outline(&schema["properties"]["n"], None, 0, 0).to_schema(),
            json!({ "anyOf": [ { "type": "number" }, nul ] })
        );
        assert_eq!(
            outline(&schema["properties"]["anything"], None, 0, 0),
            Outline::Any
        );
        assert_eq!(
            short,
            json!({ "type": "object", "properties": {
                "trend": trend,
                "maybe_trend": { "anyOf": [ trend, nul ] },
                "n": { "anyOf": [ { "type": "number" }, nul ] },
                "count": { "type": "integer" },
                "names": { "type": "array", "items": { "type": "string" } },
                "people": { "type": "array" },
                "who": { "anyOf": [ { "type": "object" }, nul ] },
                "either": { "anyOf": [ { "type": "string" }, { "type": "number" } ] },
                "tagged": { "anyOf": [ { "type": "object" }, { "type": "string", "enum": ["none"] } ] },
                "constant": { "type": "integer" }
            } })
        );
        // Documented variants of an input's enum keep their prose, and so stay a oneOf.
        let mut input = json!({ "oneOf": [
            { "type": "string", "enum": ["a"] },
            { "type": "string", "const": "b", "description": "B." }
        ] });
        compact_schema(&mut input, true);
        assert!(input.get("oneOf").is_some(), "{input}");
        let mut typed = json!({ "properties": {
            "a": { "type": ["string", "null"], "format": "date" },
            "b": { "type": ["integer"] },
            "c": { "type": ["string", "null"], "anyOf": [ { "minLength": 1 }, { "type": "null" } ] }
        } });
        single_types(&mut typed);
        assert_eq!(
            typed,
            json!({ "properties": {
                "a": { "anyOf": [ { "type": "string" }, nul ], "format": "date" },
                "b": { "type": "integer" },
                "c": { "anyOf": [ { "minLength": 1 }, nul ], "allOf": [ { "anyOf": [ { "type": "string" }, nul ] } ] }
            } })
        );
    }

    /// Values `schema` allows, one for each of its choices — every enum value, every branch of a
    /// union, `null` where allowed, empty and one-item arrays, each field's choices in turn —
    /// built from the full schema. May include values a `oneOf` refuses (matching two branches):
    /// the caller keeps those the full schema accepts.
    pub(super) fn samples(
        schema: &serde_json::Value,
        defs: Option<&serde_json::Value>,
        hops: usize,
    ) -> Vec<serde_json::Value> {
        use serde_json::{Value, json};
        let any = || {
            vec![
                json!(null),
                json!(true),
                json!(2),
                json!("text"),
                json!([]),
                json!({}),
            ]
        };
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return any(),
            _ => return Vec::new(),
        };
        if hops > 12 {
            return Vec::new();
        }
        if let Some(r) = map.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            let def = defs.and_then(|d| d.get(name));
            return def.map(|d| samples(d, defs, hops + 1)).unwrap_or_default();
        }
        if let Some(c) = map.get("const") {
            return vec![c.clone()];
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return values.clone();
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                let mut out = Vec::new();
                for b in branches {
                    // A branch may leave the type to the schema around it.
                    let mut b = b.clone();
                    if let (Value::Object(bm), Some(t)) = (&mut b, map.get("type")) {
                        bm.entry("type").or_insert(t.clone());
                    }
                    out.extend(samples(&b, defs, hops + 1));
                }
                return out;
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            return all
                .first()
                .map(|b| samples(b, defs, hops + 1))
                .unwrap_or_default();
        }
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return any(),
        };
        let mut out = Vec::new();
        for t in types {
            match t {
                "null" => out.push(json!(null)),
                "boolean" => out.extend([json!(true), json!(false)]),
                "integer" => out.push(json!(
                    map.get("minimum").and_then(Value::as_i64).unwrap_or(0) + 1
                )),
                "number" => out.push(json!(1.5)),
                "string" => out.push(match map.get("format").and_then(Value::as_str) {
                    Some("date-time") => json!("2026-03-04T05:06:07Z"),
                    Some("date") => json!("2026-03-04"),
                    _ => json!("text"),
                }),
                "array" => {
                    out.push(json!([]));
                    let items = map.get("items").cloned().unwrap_or(json!(true));
                    out.extend(
                        samples(&items, defs, hops + 1)
                            .into_iter()
                            .map(|i| json!([i])),
                    );
                }
                "object" => {
                    let props = map.get("properties").and_then(Value::as_object);
                    let mut base = serde_json::Map::new();
                    let mut choices = Vec::new();
                    for (name, prop) in props.into_iter().flatten() {
                        let mut all = samples(prop, defs, hops + 1).into_iter();
                        let Some(first) = all.next() else {
                            continue;
                        };
                        base.insert(name.clone(), first);
                        choices.extend(all.map(|v| (name.clone(), v)));
                    }
                    out.push(Value::Object(base.clone()));
                    for (name, v) in choices {
                        let mut variant = base.clone();
                        variant.insert(name, v);
                        out.push(Value::Object(variant));
                    }
                    if let Some(extra @ Value::Object(_)) = map.get("additionalProperties") {
                        for v in samples(extra, defs, hops + 1) {
                            let mut variant = base.clone();
                            variant.insert("some-key".into(), v);
                            out.push(Value::Object(variant));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_advertised_output_schema_accepts_every_shape_of_the_tools_results() {
        // The full schemas, as the tool macros build them from the result types, against what
        // clients are told (shortened): whatever the full schema allows — each variant of each
        // enum, null in each optional field, each branch of each union — the short one accepts.
        let advertised: HashMap<String, Tool> = PmServer::all_tools()
            .into_iter()
            .map(|t| (t.name.to_string(), t))
            .collect();
        let full_tools = all_families().list_all();
        assert_eq!(full_tools.len(), advertised.len());
        let mut failures = Vec::new();
        for tool in full_tools {
            let full = serde_json::Value::Object(
                (*tool
                    .output_schema
                    .clone()
                    .expect("every tool has an output schema"))
                .clone(),
            );
            let short = serde_json::Value::Object(
                (*advertised[tool.name.as_ref()]
                    .output_schema
                    .clone()
                    .expect("advertised output schema"))
                .clone(),
            );
            let full_validator = jsonschema::validator_for(&full).expect("full schema compiles");
            let short_validator = jsonschema::validator_for(&short).expect("short schema compiles");
            let values: Vec<serde_json::Value> = samples(&full, full.get("$defs"), 0)
                .into_iter()
                .filter(|v| full_validator.is_valid(v))
                .collect();
            assert!(
                values.len() > 1 || full["properties"].as_object().is_some_and(|p| p.len() < 2),
                "{}: too few sample results ({})",
                tool.name,
                values.len()
            );
            for v in &values {
                if let Some(e) = short_validator.iter_errors(v).next() {
                    failures.push(format!(
                        "{}: {} at {} (advertised {})",
                        tool.name,
                        e,
                        e.instance_path(),
                        short["properties"]
                    ));
                    break;
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Where a schema is not portable, by the rules of MCP Inspector's `--strict`
    /// (`core/json/schemaLint.ts`): bare booleans for schemas, `type` arrays, schemas with no
    /// validation keyword, `$ref`s outside the document.
    fn portability_findings(
        schema: &serde_json::Value,
        path: &str,
        keyword: &str,
        out: &mut Vec<String>,
    ) {
        use serde_json::Value;
        const CONSTRAINING: &[&str] = &[
            "type",
            "enum",
            "const",
            "multipleOf",
            "maximum",
            "exclusiveMaximum",
            "minimum",
            "exclusiveMinimum",
            "maxLength",
            "minLength",
            "pattern",
            "format",
            "contentMediaType",
            "contentEncoding",
            "contentSchema",
            "maxItems",
            "minItems",
            "uniqueItems",
            "maxContains",
            "minContains",
            "maxProperties",
            "minProperties",
            "required",
            "dependentRequired",
            "allOf",
            "anyOf",
            "oneOf",
            "not",
            "items",
            "prefixItems",
            "contains",
            "additionalItems",
            "unevaluatedItems",
            "properties",
            "patternProperties",
            "additionalProperties",
            "unevaluatedProperties",
            "propertyNames",
            "dependentSchemas",
            "dependencies",
            "$ref",
            "$dynamicRef",
            "$recursiveRef",
        ];
        let map = match schema {
            Value::Bool(_) => {
                if !matches!(
                    keyword,
                    "additionalProperties"
                        | "unevaluatedProperties"
                        | "additionalItems"
                        | "unevaluatedItems"
                ) {
                    out.push(format!("{path}: a bare boolean for a schema"));
                }
                return;
            }
            Value::Object(map) => map,
            _ => return,
        };
        if map.get("type").is_some_and(Value::is_array) {
            out.push(format!("{path}: type is an array"));
        }
        if map
            .get("$ref")
            .and_then(Value::as_str)
            .is_some_and(|r| !r.is_empty() && !r.starts_with('#'))
        {
            out.push(format!("{path}: remote $ref"));
        }
        let constrains = map.keys().any(|k| CONSTRAINING.contains(&k.as_str()))
            || (map.contains_key("if") && (map.contains_key("then") || map.contains_key("else")));
        if !constrains && keyword != "not" {
            out.push(format!("{path}: no validation keyword"));
        }
        for (key, child) in map {
            let at = format!("{path}.{key}");
            match (key.as_str(), child) {
                (
                    "properties" | "patternProperties" | "dependentSchemas" | "dependencies"
                    | "$defs" | "definitions",
                    Value::Object(children),
                ) => {
                    for (name, c) in children {
                        portability_findings(c, &format!("{at}.{name}"), key, out);
                    }
                }
                ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(children))
                | ("items", Value::Array(children)) => {
                    for (i, c) in children.iter().enumerate() {
                        portability_findings(c, &format!("{at}[{i}]"), key, out);
                    }
                }
                (
                    "items"
                    | "contains"
                    | "not"
                    | "propertyNames"
                    | "if"
                    | "then"
                    | "else"
                    | "additionalProperties"
                    | "unevaluatedProperties"
                    | "additionalItems"
                    | "unevaluatedItems"
                    | "contentSchema",
                    c,
                ) => portability_findings(c, &at, key, out),
                _ => {}
            }
        }
    }

    #[test]
    fn advertised_schemas_are_portable() {
        let mut findings = Vec::new();
        for tool in PmServer::all_tools() {
            let input = serde_json::Value::Object((*tool.input_schema).clone());
            portability_findings(
                &input,
                &format!("{}.inputSchema", tool.name),
                "",
                &mut findings,
            );
            if let Some(output) = &tool.output_schema {
                let output = serde_json::Value::Object((**output).clone());
                portability_findings(
                    &output,
                    &format!("{}.outputSchema", tool.name),
                    "",
                    &mut findings,
                );
            }
        }
        assert!(
            findings.is_empty(),
            "{} findings:\n{}",
            findings.len(),
            findings.join("\n")
        );
        // The lint itself finds what the Inspector finds.
        let mut seen = Vec::new();
        portability_findings(
            &serde_json::json!({ "properties": { "a": { "type": ["string", "null"] }, "b": {}, "c": true } }),
            "x",
            "",
            &mut seen,
        );
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[test]
    fn toolset_names() {
        assert!(check_toolset_name("tasks").is_ok());
        assert!(check_toolset_name("all").is_ok());
        assert!(check_toolset_name("default").is_ok());
        let err = check_toolset_name("task").expect_err("unknown");
        assert!(err.contains("known toolsets: users"), "{err}");
        let sets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let analytics = Some(Toolset::Analytics);
        let tasks = Some(Toolset::Tasks);
        assert!(includes(&sets(&["all"]), analytics));
        assert!(includes(&sets(&["default"]), tasks));
        assert!(!includes(&sets(&["default"]), analytics));
        assert!(includes(&sets(&["default", "analytics"]), analytics));
        assert!(!includes(&sets(&["sprints"]), tasks));
        assert!(includes(&sets(&["all"]), None) && !includes(&sets(&["default"]), None));
        for set in Toolset::ALL {
            assert_eq!(Toolset::parse(set.as_str()), Some(set));
            assert!(check_toolset_name(set.as_str()).is_ok());
        }
        assert_eq!(
            Toolset::parse("Tasks"),
            None,
            "names are taken as they are spelt"
        );
        assert_eq!(toolset_of("list_tasks_in_sprint"), Some(Toolset::Sprints));
        assert_eq!(toolset_of("list_providers"), Some(Toolset::Connections));
        assert_eq!(toolset_of("no_such_tool"), None);
    }
}
