//! Checks a tool call's arguments against the tool's input schema.
//!
//! The schemas are the ones the tool macros derive from the argument types (JSON Schema 2020-12,
//! as schemars writes it), so only the keywords schemars writes are understood; a test walks every
//! tool's schema and fails on any other keyword, so a new one cannot go unchecked. Annotations
//! (`description`, `format`, `default`, …) do not constrain, as the 2020-12 vocabulary says.
//! A test also holds this checker to the `jsonschema` crate's verdict on thousands of arguments.
//!
//! Problems name the field and what it must be; they never repeat the value given (it may be a
//! secret), only the schema's own words (names, allowed values, bounds).

use serde_json::{Map, Value};

/// At most this many problems are reported for one call.
pub(crate) const MAX_PROBLEMS: usize = 5;

/// The keywords that constrain.
const CONSTRAINTS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "anyOf",
    "oneOf",
    "allOf",
];

/// The keywords that only describe.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
    "format",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// One problem: the field (dotted path; `(arguments)` for the whole object) and what is wrong.
pub(crate) type Problem = (String, String);

/// The problems of `arguments` against `schema` (its `$defs` resolve `$ref`s), at most
/// [`MAX_PROBLEMS`]; empty when they are valid.
pub(crate) fn problems(schema: &Value, arguments: &Map<String, Value>) -> Vec<Problem> {
    let mut check = Check {
        defs: schema.get("$defs"),
        out: Vec::new(),
    };
    check.object(schema, arguments, &mut Vec::new());
    check.out.truncate(MAX_PROBLEMS);
    check.out
}

/// Keywords of `schema` (and every schema inside it) that this checker does not know: empty for
/// every tool's schema (a test holds this).
pub(crate) fn unknown_keywords(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    unknown_in(schema, &mut out);
    out
}

fn unknown_in(schema: &Value, out: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    for (key, value) in map {
        if !CONSTRAINTS.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
            out.push(key.clone());
        }
        match key.as_str() {
            "properties" | "$defs" => {
                if let Value::Object(children) = value {
                    children.values().for_each(|c| unknown_in(c, out));
                }
            }
            "items" | "additionalProperties" => unknown_in(value, out),
            "anyOf" | "oneOf" | "allOf" => {
                if let Value::Array(branches) = value {
                    branches.iter().for_each(|b| unknown_in(b, out));
                }
            }
            "$ref" if !value.as_str().is_some_and(|r| r.starts_with("#/$defs/")) => {
                out.push(format!("$ref {value}"));
            }
            _ => {}
        }
    }
}

struct Check<'s> {
    defs: Option<&'s Value>,
    out: Vec<Problem>,
}

/// A path segment: a property name or an array index.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn field(path: &[Seg<'_>]) -> String {
    if path.is_empty() {
        return "(arguments)".to_string();
    }
    let mut s = String::new();
    for (i, seg) in path.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        match seg {
            Seg::Key(k) => s.push_str(k),
            Seg::Index(n) => s.push_str(&n.to_string()),
        }
    }
    s
}

impl<'s> Check<'s> {
    fn problem(&mut self, path: &[Seg<'_>], message: String) {
        self.out.push((field(path), message));
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_PROBLEMS
    }

    /// The root: the arguments object (not a `Value`, so the caller's map is not copied).
    fn object<'a>(
        &mut self,
        schema: &'s Value,
        args: &'a Map<String, Value>,
        path: &mut Vec<Seg<'a>>,
    ) {
        let Value::Object(map) = schema else { return };
        if let Some(t) = map.get("type")
            && !type_allows(t, "object")
        {
            self.problem(path, format!("must be {}", type_words(t)));
            return;
        }
        // A root that is more than an object's properties (a union, a reference, a fixed value)
        // is checked as any value is, on a copy of the arguments.
        let plain = ["$ref", "allOf", "anyOf", "oneOf", "enum", "const"]
            .iter()
            .all(|k| !map.contains_key(*k));
        if plain {
            self.properties(map, args, path);
        } else {
            let copy = Value::Object(args.clone());
            let mut check = Check {
                defs: self.defs,
                out: Vec::new(),
            };
            check.value(schema, &copy, &mut Vec::new());
            self.out.extend(check.out);
        }
    }

    fn value<'a>(&mut self, schema: &'s Value, v: &'a Value, path: &mut Vec<Seg<'a>>) {
        if self.full() {
            return;
        }
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return,
            Value::Bool(false) => return self.problem(path, "is not allowed".into()),
            _ => return,
        };
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            match self.def(target) {
                Some(def) => self.value(def, v, path),
                None => self.problem(path, format!("cannot be checked ({target} is missing)")),
            }
        }
        if let Some(t) = map.get("type")
            && !type_allows(t, kind(v))
            && !(kind(v) == "number" && is_integer(v) && type_allows(t, "integer"))
        {
            self.problem(
                path,
                format!("must be {}, not {}", type_words(t), article(v)),
            );
            return;
        }
        if let Some(c) = map.get("const")
            && !same(c, v)
        {
            self.problem(path, format!("must be {c}"));
        }
        if let Some(Value::Array(allowed)) = map.get("enum")
            && !allowed.iter().any(|a| same(a, v))
        {
            self.problem(path, format!("must be one of {}", list(allowed)));
        }
        match v {
            Value::Object(obj) => self.properties(map, obj, path),
            Value::Array(items) => self.items(map, items, path),
            Value::String(s) => self.string(map, s, path),
            Value::Number(_) => self.number(map, v, path),
            _ => {}
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for b in all {
                self.value(b, v, path);
            }
        }
        for (key, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(Value::Array(branches)) = map.get(key) {
                self.branches(branches, exactly_one, v, path);
            }
        }
    }

    fn def(&self, target: &str) -> Option<&'s Value> {
        self.defs?.get(target.strip_prefix("#/$defs/")?)
    }

    fn properties<'a>(
        &mut self,
        map: &'s Map<String, Value>,
        obj: &'a Map<String, Value>,
        path: &mut Vec<Seg<'a>>,
    ) {
        let props = map.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = map.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    let f = match path.is_empty() {
                        true => name.to_string(),
                        false => format!("{}.{name}", field(path)),
                    };
                    self.out.push((f, "is required".to_string()));
                }
            }
        }
        for (name, value) in obj {
            if self.full() {
                return;
            }
            path.push(Seg::Key(name));
            match props.and_then(|p| p.get(name)) {
                Some(prop) => self.value(prop, value, path),
                None => match map.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        let known: Vec<&str> = props
                            .into_iter()
                            .flat_map(|p| p.keys())
                            .map(String::as_str)
                            .collect();
                        let message = if known.is_empty() {
                            "is unknown: this takes no fields".to_string()
                        } else {
                            format!("is unknown; known: {}", known.join(", "))
                        };
                        self.problem(path, message);
                    }
                    Some(extra) => self.value(extra, value, path),
                    None => {}
                },
            }
            path.pop();
        }
    }

    fn items<'a>(
        &mut self,
        map: &'s Map<String, Value>,
        items: &'a [Value],
        path: &mut Vec<Seg<'a>>,
    ) {
        let n = items.len() as f64;
        if let Some(min) = map.get("minItems").and_then(Value::as_f64)
            && n < min
        {
            self.problem(path, format!("must have at least {min} item(s)"));
        }
        if let Some(max) = map.get("maxItems").and_then(Value::as_f64)
            && n > max
        {
            self.problem(path, format!("must have at most {max} item(s)"));
        }
        if let Some(each) = map.get("items") {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                self.value(each, item, path);
                path.pop();
            }
        }
    }

    fn string(&mut self, map: &Map<String, Value>, s: &str, path: &[Seg<'_>]) {
        let n = s.chars().count() as f64;
        if let Some(min) = map.get("minLength").and_then(Value::as_f64)
            && n < min
        {
            self.problem(path, format!("must have at least {min} character(s)"));
        }
        if let Some(max) = map.get("maxLength").and_then(Value::as_f64)
            && n > max
        {
            self.problem(path, format!("must have at most {max} character(s)"));
        }
    }

    fn number(&mut self, map: &Map<String, Value>, v: &Value, path: &[Seg<'_>]) {
        /// A bound's keyword, whether a value breaks it, and its words.
        type Bound = (&'static str, fn(&Value, &Value) -> bool, &'static str);
        let bounds: [Bound; 4] = [
            ("minimum", |v, b| less(v, b), "at least"),
            ("maximum", |v, b| less(b, v), "at most"),
            ("exclusiveMinimum", |v, b| !less(b, v), "more than"),
            ("exclusiveMaximum", |v, b| !less(v, b), "less than"),
        ];
        for (key, broken, words) in bounds {
            if let Some(bound) = map.get(key).filter(|b| b.is_number())
                && broken(v, bound)
            {
                self.problem(path, format!("must be {words} {bound}"));
            }
        }
    }

    fn branches<'a>(
        &mut self,
        branches: &'s [Value],
        exactly_one: bool,
        v: &'a Value,
        path: &mut Vec<Seg<'a>>,
    ) {
        let mut failed: Vec<(usize, Vec<Problem>)> = Vec::new();
        let mut matched = 0;
        for (i, b) in branches.iter().enumerate() {
            let mut inner = Check {
                defs: self.defs,
                out: Vec::new(),
            };
            inner.value(b, v, path);
            if inner.out.is_empty() {
                matched += 1;
            } else {
                failed.push((i, inner.out));
            }
        }
        if exactly_one && matched > 1 {
            return self.problem(path, "matches more than one of the allowed forms".into());
        }
        if matched > 0 {
            return;
        }
        // Only one branch could have been meant (the other takes null, which this is not): its
        // problems say more than "matches none".
        let meant: Vec<&(usize, Vec<Problem>)> = failed
            .iter()
            .filter(|(i, _)| !is_null_only(&branches[*i], self.defs))
            .collect();
        if let [(_, problems)] = meant.as_slice() {
            self.out.extend(problems.iter().cloned());
            return;
        }
        let consts: Option<Vec<&Value>> = branches
            .iter()
            .map(|b| self.resolve(b))
            .map(|b| match b.get("const") {
                Some(c) => Some(vec![c]),
                None => b
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().collect()),
            })
            .collect::<Option<Vec<_>>>()
            .map(|all| all.into_iter().flatten().collect());
        match consts {
            Some(allowed) => {
                let owned: Vec<Value> = allowed.into_iter().cloned().collect();
                self.problem(path, format!("must be one of {}", list(&owned)));
            }
            None => self.problem(path, "matches none of the allowed forms".into()),
        }
    }

    /// `schema`, or what its `$ref` names.
    fn resolve(&self, schema: &'s Value) -> &'s Value {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.def(r))
        {
            Some(def) => def,
            None => schema,
        }
    }
}

fn is_null_only(schema: &Value, defs: Option<&Value>) -> bool {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => match defs.and_then(|d| d.get(r.trim_start_matches("#/$defs/"))) {
            Some(def) => def,
            None => return false,
        },
        None => schema,
    };
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const") == Some(&Value::Null)
}

/// JSON Schema's type of a value (`integer` is asked separately).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// "a string", "a number", … (the kind, never the value).
fn article(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) if is_integer(v) => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_allows(t: &Value, kind: &str) -> bool {
    match t {
        Value::String(s) => s == kind || (s == "number" && kind == "integer"),
        Value::Array(all) => all.iter().any(|t| type_allows(t, kind)),
        _ => true,
    }
}

fn type_words(t: &Value) -> String {
    let one = |s: &str| match s {
        "integer" => "an integer",
        "object" => "an object",
        "array" => "an array",
        "string" => "a string",
        "number" => "a number",
        "boolean" => "a boolean",
        "null" => "null",
        _ => "of an unknown type",
    };
    match t {
        Value::String(s) => one(s).to_string(),
        Value::Array(all) => all
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "of an unknown type".to_string(),
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`), as JSON Schema compares them.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => !less(a, b) && !less(b, a),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// `a < b` for two JSON numbers, exact for integers of either sign and width.
fn less(a: &Value, b: &Value) -> bool {
    let (Value::Number(a), Value::Number(b)) = (a, b) else {
        return false;
    };
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x < y,
        (_, _, Some(x), Some(y)) => x < y,
        // One is an integer beyond i64 (so positive and huge) and the other an i64.
        (Some(_), None, _, Some(_)) => true,
        (None, Some(_), Some(_), _) => false,
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x < y,
            _ => false,
        },
    }
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, args: Value) -> Vec<Problem> {
        problems(&schema, args.as_object().expect("object"))
    }

    #[test]
    fn each_keyword_refuses_what_it_forbids_in_words_without_the_value() {
        let schema = json!({
            "type": "object",
            "properties": {
                "limit": { "type": ["integer", "null"], "minimum": 0, "maximum": 100 },
                "name": { "type": "string", "minLength": 1, "maxLength": 3 },
                "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 2 },
                "metric": { "$ref": "#/$defs/Metric" },
                "maybe": { "anyOf": [ { "$ref": "#/$defs/Metric" }, { "type": "null" } ] },
                "mode": { "oneOf": [ { "const": "a" }, { "const": "b", "description": "B." } ] }
            },
            "required": ["name"],
            "additionalProperties": false,
            "$defs": { "Metric": { "type": "string", "enum": ["points", "count"] } }
        });
        assert!(check(schema.clone(), json!({"name": "ab", "limit": null})).is_empty());
        assert!(
            check(
                schema.clone(),
                json!({"name": "ab", "limit": 5.0, "maybe": null, "mode": "b"})
            )
            .is_empty()
        );
        let cases = [
            (json!({}), ("name", "is required")),
            (
                json!({"name": "ab", "limit": -1}),
                ("limit", "must be at least 0"),
            ),
            (
                json!({"name": "ab", "limit": 101}),
                ("limit", "must be at most 100"),
            ),
            (
                json!({"name": "ab", "limit": "5"}),
                ("limit", "must be an integer or null, not a string"),
            ),
            (
                json!({"name": "ab", "limit": 2.5}),
                ("limit", "must be an integer or null, not a number"),
            ),
            (
                json!({"name": ""}),
                ("name", "must have at least 1 character(s)"),
            ),
            (
                json!({"name": "abcd"}),
                ("name", "must have at most 3 character(s)"),
            ),
            (
                json!({"name": "ab", "tags": ["x", 3]}),
                ("tags.1", "must be a string, not an integer"),
            ),
            (
                json!({"name": "ab", "tags": ["x", "y", "z"]}),
                ("tags", "must have at most 2 item(s)"),
            ),
            (
                json!({"name": "ab", "metric": "weight"}),
                ("metric", "must be one of \"points\", \"count\""),
            ),
            (
                json!({"name": "ab", "maybe": "weight"}),
                ("maybe", "must be one of \"points\", \"count\""),
            ),
            (
                json!({"name": "ab", "mode": "c"}),
                ("mode", "must be one of \"a\", \"b\""),
            ),
            (
                json!({"name": "ab", "lmit": 5}),
                (
                    "lmit",
                    "is unknown; known: limit, name, tags, metric, maybe, mode",
                ),
            ),
        ];
        for (args, (f, m)) in cases {
            let got = check(schema.clone(), args.clone());
            assert_eq!(got, vec![(f.to_string(), m.to_string())], "{args}");
        }
        // A secret given in the wrong place is never repeated.
        let got = check(
            schema,
            json!({"name": "s3cr3t-token-value", "limit": "s3cr3t"}),
        );
        assert!(got.iter().all(|(_, m)| !m.contains("s3cr3t")), "{got:?}");
    }

    /// Every value at every path of `v` (depth ≤ 3) replaced by each odd value, one at a time.
    fn mutations(v: &Value, depth: usize, out: &mut Vec<Value>) {
        let odd = [
            json!(null),
            json!(true),
            json!(0),
            json!(-1),
            json!(1),
            json!(2.5),
            json!(1.0),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(""),
            json!("text"),
            json!("2026-03-04"),
            json!([]),
            json!(["a"]),
            json!([1]),
            json!({}),
            json!({"a": 1}),
        ];
        if depth > 3 {
            return;
        }
        match v {
            Value::Object(map) => {
                for key in map.keys() {
                    for o in &odd {
                        let mut m = map.clone();
                        m.insert(key.clone(), o.clone());
                        out.push(Value::Object(m));
                    }
                    let mut without = map.clone();
                    without.remove(key);
                    out.push(Value::Object(without));
                    let mut inner = Vec::new();
                    mutations(&map[key], depth + 1, &mut inner);
                    for i in inner {
                        let mut m = map.clone();
                        m.insert(key.clone(), i);
                        out.push(Value::Object(m));
                    }
                }
                let mut extra = map.clone();
                extra.insert("not_an_argument".into(), json!(1));
                out.push(Value::Object(extra));
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut inner = Vec::new();
                    mutations(item, depth + 1, &mut inner);
                    for m in inner {
                        let mut a = items.clone();
                        a[i] = m;
                        out.push(Value::Array(a));
                    }
                }
            }
            _ => {}
        }
    }

    #[test]
    fn agrees_with_the_jsonschema_crate_on_every_tools_arguments() {
        let (mut accepted, mut refused) = (0, 0);
        let mut schemas: Vec<_> = crate::tools::checked_schemas().iter().collect();
        schemas.sort_by(|a, b| a.0.cmp(b.0));
        assert!(schemas.len() >= 56, "{}", schemas.len());
        for (tool, schema) in schemas {
            assert_eq!(unknown_keywords(schema), Vec::<String>::new(), "{tool}");
            let reference = jsonschema::validator_for(schema).expect("the schema compiles");
            let valid = crate::tools::tests::samples(schema, schema.get("$defs"), 0);
            assert!(!valid.is_empty(), "{tool}: no samples");
            let mut all = valid.clone();
            for v in valid.iter().take(3) {
                mutations(v, 0, &mut all);
            }
            for instance in &all {
                let Value::Object(args) = instance else {
                    continue;
                };
                let ours = problems(schema, args);
                let theirs = reference.is_valid(instance);
                assert_eq!(ours.is_empty(), theirs, "{tool}: {instance} → {ours:?}");
                match theirs {
                    true => accepted += 1,
                    false => refused += 1,
                }
            }
        }
        // Enough of both verdicts for the agreement to mean something.
        assert!(
            accepted > 1_000 && refused > 5_000,
            "{accepted} accepted, {refused} refused"
        );
    }

    #[test]
    fn a_root_beyond_properties_is_checked_as_any_value() {
        let schema = json!({
            "type": "object",
            "properties": { "a": { "type": "integer" }, "b": { "type": "string" } },
            "anyOf": [ { "required": ["a"] }, { "required": ["b"] } ],
            "$defs": {}
        });
        let reference = jsonschema::validator_for(&schema).expect("compiles");
        for (args, valid) in [
            (json!({}), false),
            (json!({ "a": 1 }), true),
            (json!({ "b": "x" }), true),
            (json!({ "a": "x" }), false),
        ] {
            let ours = check(schema.clone(), args.clone());
            assert_eq!(ours.is_empty(), valid, "{args}: {ours:?}");
            assert_eq!(reference.is_valid(&args), valid, "{args}");
        }
    }

    #[test]
    fn numbers_compare_by_value_across_widths() {
        let big = json!(u64::MAX);
        assert!(less(&json!(-1), &json!(0)));
        assert!(less(&json!(i64::MAX), &big));
        assert!(!less(&big, &json!(i64::MAX)));
        assert!(less(&json!(1), &json!(1.5)));
        assert!(same(&json!(1), &json!(1.0)));
        assert!(!same(&json!(1), &json!("1")));
    }
}
