//! Hostile MCP input, generated: arbitrary bytes, arbitrary and structured JSON-RPC (wrong types
//! for id/method/params, batches, deep nesting, huge strings, invalid UTF-8) and, for every tool
//! of the catalogue, argument objects built from its schema with right keys holding wrong types,
//! unknown keys, nulls, huge strings and deep nesting. All of it goes through the real axum app
//! in-process (authentication, body guard, rmcp, argument validation, the tools' own
//! deserialisation, the tools themselves against a connection whose tracker cannot be reached).
//!
//! Every answer must be a well-formed HTTP response below 500 (JSON where it says JSON, a
//! JSON-RPC result or error for a tool call), and nothing may panic anywhere, spawned tasks
//! included (a panic hook counts them).
//!
//! Cases: `PM_MCP_FUZZ_CASES` in total (default 30,000; split 30 % bytes, 30 % JSON-RPC, 40 %
//! tool arguments). `PM_MCP_FUZZ_CASES=1000000 cargo test --release -p pm-server --test fuzz`
//! runs the million.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Once};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pm_core::{AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Email, ProviderKind, Scope};
use pm_server::{AppState, HttpConfig, KeyLimits, PmServer};
use pm_store::{ApiKey, DatabaseUrl, MasterKeys, NewApiKey, NewConnection, NewUser};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic in the process, including in tasks nobody awaits.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic on a test's own thread fails that test (proptest reports it); one on a
            // runtime thread would be swallowed with its task, so it is counted here.
            let thread = std::thread::current();
            if thread.name().is_none_or(|n| n.starts_with("tokio")) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// This target's share of `PM_MCP_FUZZ_CASES`: bytes 25 %, JSON-RPC 25 %, tool arguments
/// through the whole server 10 %, tool arguments through validation alone 40 %.
fn cases(percent: u32) -> u32 {
    (u64::from(total_cases()) * u64::from(percent) / 100) as u32
}

fn total_cases() -> u32 {
    std::env::var("PM_MCP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(30_000)
}

/// The in-process server: a real user with a read+write key and one connection whose tracker
/// cannot be reached (a loopback address, refused by the SSRF rules before any request).
struct Fixture {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    key: String,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        count_panics();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        // A file, not `:memory:`: the audit trail of a million calls belongs on disk.
        let url = DatabaseUrl::Sqlite(dir.path().join("fuzz.db").display().to_string());
        let (app, key) = rt.block_on(async {
            let store = pm_store::open(&url).await.expect("store");
            store.migrate().await.expect("migrate");
            let keys = MasterKeys::parse(&MasterKeys::generate_text(), None).expect("keys");
            let user = NewUser::new(Email::parse("fuzz@acme.org").expect("email"), "Fuzz", false);
            let key = ApiKey::generate();
            let row = NewApiKey::for_key(
                &key,
                user.id,
                "fuzz",
                pm_core::Scopes::only(Scope::Write),
                None,
            );
            let (user, _) = store.add_user_with_key(user, row).await.expect("user");
            let id = ConnectionId::new();
            let sealed = pm_store::ProviderCredentials {
                username: Some("fuzz@acme.org".into()),
                token: pm_core::Secret::new("fuzz-token"),
            }
            .seal(&keys, id, user.id);
            store
                .add_connection(NewConnection {
                    id,
                    user_id: user.id,
                    name: ConnectionHandle::parse("fuzz-unreachable-tracker").expect("handle"),
                    provider_type: ProviderKind::JiraCloud,
                    base_url: BaseUrl::parse("https://127.0.0.1:1", false).expect("url"),
                    auth_kind: AuthKind::Basic,
                    sealed,
                    config: pm_core::ConnectionOptions::default(),
                    is_active: true,
                    external_id: None,
                    display_name: None,
                })
                .await
                .expect("connection");
            let http = HttpConfig {
                toolsets: Some(vec!["all".into()]),
                key_limits: KeyLimits::OFF,
                ..HttpConfig::default()
            };
            let state = AppState::new(store, Arc::new(keys), http).expect("state");
            let app = pm_server::http::app(state, pm_server::http::CancellationToken::new());
            (app, key.expose().to_string())
        });
        Fixture {
            rt,
            app,
            key,
            _dir: dir,
        }
    }

    fn post(&self, body: Vec<u8>, version: &str) -> (StatusCode, String, Vec<u8>) {
        let req = Request::post("/mcp")
            .header("host", "localhost")
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", version)
            .body(Body::from(body))
            .expect("request");
        self.send(req)
    }

    fn send(&self, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        self.rt.block_on(async {
            let res = self.app.clone().oneshot(req).await.expect("infallible");
            let status = res.status();
            let ct = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024)
                .await
                .expect("a response body under 64 MiB");
            (status, ct, body.to_vec())
        })
    }
}

/// The JSON-RPC messages in a body: the JSON itself, or each `data:` line of an SSE stream.
fn messages(ct: &str, body: &[u8]) -> Result<Vec<Value>, String> {
    if body.is_empty() {
        return Ok(vec![]);
    }
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())?;
    if ct.starts_with("text/event-stream") {
        return text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| serde_json::from_str(d).map_err(|e| format!("SSE data is not JSON: {e}")))
            .collect();
    }
    if ct.starts_with("application/json") {
        return serde_json::from_str(text)
            .map(|v| vec![v])
            .map_err(|e| format!("the body says JSON but is not: {e}"));
    }
    Ok(vec![])
}

/// What every answer must be: below 500, and JSON where it says so.
fn well_formed(status: StatusCode, ct: &str, body: &[u8]) -> Result<Vec<Value>, TestCaseError> {
    if status.is_server_error() {
        return Err(TestCaseError::fail(format!(
            "{status}: {}",
            String::from_utf8_lossy(body)
        )));
    }
    messages(ct, body).map_err(TestCaseError::fail)
}

const VERSIONS: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

const METHODS: [&str; 12] = [
    "initialize",
    "notifications/initialized",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "prompts/list",
    "completion/complete",
    "logging/setLevel",
    "notifications/cancelled",
    "subscriptions/listen",
    "no/such/method",
];

/// Any JSON value: scalars of every kind (huge numbers, long and odd strings), arrays and objects
/// a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => Just(Value::Null),
        3 => any::<bool>().prop_map(Value::Bool),
        3 => any::<i64>().prop_map(Value::from),
        3 => any::<u64>().prop_map(Value::from),
        3 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        3 => ".{0,40}".prop_map(Value::String),
        3 => "[a-z_]{0,12}".prop_map(Value::String),
        // Huge strings, rarely (most messages hold dozens of leaves).
        1 => (0usize..300_000).prop_map(|n| Value::String("x".repeat(n))),
        1 => Just(Value::String("\u{0000}\u{FEFF}\u{202E}\u{1F600}\\\"".into())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// `depth` nested arrays or objects around `inner`.
fn nest(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    } else {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }
}

/// A JSON-RPC-shaped message with every member possibly wrong.
fn envelope() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        Just(Value::Null),
        any_json(),
    ];
    let method = prop_oneof![
        4 => prop::sample::select(METHODS.to_vec()).prop_map(Value::from),
        1 => any_json(),
    ];
    let params = prop_oneof![
        any_json(),
        (prop::sample::select(tool_names()), any_json())
            .prop_map(|(name, args)| json!({ "name": name, "arguments": args })),
        any_json().prop_map(|name| json!({ "name": name, "arguments": {} })),
    ];
    (
        prop::option::of(prop_oneof![Just(Value::from("2.0")), any_json()]),
        prop::option::of(id),
        prop::option::of(method),
        prop::option::of(params),
    )
        .prop_map(|(jsonrpc, id, method, params)| {
            let mut m = Map::new();
            for (k, v) in [
                ("jsonrpc", jsonrpc),
                ("id", id),
                ("method", method),
                ("params", params),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

/// A body of bytes: random, a valid message cut or corrupted (invalid UTF-8 inside a string
/// included), or nesting far past the parser's limit.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let valid = envelope()
        .prop_map(|v| serde_json::to_vec(&v).unwrap_or_default())
        .boxed();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (valid.clone(), any::<prop::sample::Index>())
            .prop_map(|(b, at)| b[..at.index(b.len() + 1)].to_vec()),
        (valid, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut b, at, byte)| {
            if !b.is_empty() {
                let i = at.index(b.len());
                b[i] = byte;
            }
            b
        }),
        (
            prop::collection::vec(
                prop::sample::select(vec![0xC0u8, 0xFF, 0xED, 0xA0, 0x80]),
                1..8
            ),
            prop::sample::select(vec!["get_current_user", "list_tasks"]),
        )
            .prop_map(|(bad, tool)| {
                let mut b =
                    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""#.to_vec();
                b.extend_from_slice(tool.as_bytes());
                b.extend_from_slice(br#"","arguments":{"query":""#);
                b.extend(bad);
                b.extend_from_slice(br#""}}}"#);
                b
            }),
        (100usize..20_000, any::<bool>()).prop_map(|(d, o)| nest(d, o).into_bytes()),
        Just(Vec::new()),
    ]
}

fn catalogue() -> &'static [(String, Map<String, Value>)] {
    static TOOLS: LazyLock<Vec<(String, Map<String, Value>)>> = LazyLock::new(|| {
        PmServer::all_tools()
            .into_iter()
            .map(|t| (t.name.to_string(), (*t.input_schema).clone()))
            .collect()
    });
    &TOOLS
}

/// Every string value inside a JSON value (not object keys: an unknown argument's name is named
/// back, as a name).
fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// The required arguments of a tool, each a plain value of its schema's type (an enum's first).
fn minimal_arguments(schema: &Map<String, Value>) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = schema.get("properties").and_then(Value::as_object);
    let mut args = Map::new();
    for name in required {
        let p = props
            .and_then(|p| p.get(name))
            .cloned()
            .unwrap_or(Value::Null);
        let ty = p
            .get("type")
            .and_then(|t| {
                t.as_str()
                    .map(str::to_string)
                    .or_else(|| t.get(0).and_then(Value::as_str).map(str::to_string))
            })
            .unwrap_or_else(|| "string".into());
        let value = match p
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            Some(first) => first.clone(),
            None => match ty.as_str() {
                "integer" => json!(1),
                "number" => json!(1.5),
                "boolean" => json!(true),
                "array" => json!(["fuzz:1"]),
                "object" => json!({}),
                _ => json!("fuzz:1"),
            },
        };
        args.insert(name.to_string(), value);
    }
    Value::Object(args)
}

fn tool_names() -> Vec<&'static str> {
    catalogue().iter().map(|(n, _)| n.as_str()).collect()
}

/// A value of the type a schema property declares (often valid; sometimes out of range).
fn typed(prop: &Value) -> BoxedStrategy<Value> {
    if let Some(options) = prop.get("enum").and_then(Value::as_array)
        && !options.is_empty()
    {
        return prop::sample::select(options.clone()).boxed();
    }
    let t = match prop.get("type") {
        Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).unwrap_or("string"),
        Some(Value::String(t)) => t.as_str(),
        _ => "string",
    };
    match t {
        "integer" => prop_oneof![
            (0i64..200).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
        ]
        .boxed(),
        "number" => any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
            .boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "array" => prop::collection::vec(".{0,16}".prop_map(Value::String), 0..6)
            .prop_map(Value::Array)
            .boxed(),
        "object" => any_json().boxed(),
        _ => prop_oneof![
            4 => ".{0,40}".prop_map(Value::String),
            2 => "fuzz-unreachable-tracker:[A-Z]{1,4}-[0-9]{1,4}".prop_map(Value::String),
            2 => "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
            1 => (0usize..20_000).prop_map(|n| Value::String("é".repeat(n))),
        ]
        .boxed(),
    }
}

/// Arguments for one tool: each declared property absent, of its type, of any type, or null;
/// plus unknown keys, and sometimes a deeply nested value.
fn tool_call() -> impl Strategy<Value = (String, Value)> {
    prop::sample::select((0..catalogue().len()).collect::<Vec<_>>()).prop_flat_map(|i| {
        let (name, schema) = &catalogue()[i];
        let props: Vec<(String, Value)> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = props
            .into_iter()
            .map(|(k, p)| {
                let k2 = k.clone();
                let k3 = k.clone();
                prop_oneof![
                    2 => Just(None),
                    5 => typed(&p).prop_map(move |v| Some((k.clone(), v))),
                    2 => any_json().prop_map(move |v| Some((k2.clone(), v))),
                    1 => Just(Some((k3, Value::Null))),
                ]
                .boxed()
            })
            .collect();
        let extra = prop::collection::vec(("[a-z_]{1,10}", any_json()), 0..2);
        let deep = prop::option::weighted(0.05, (1usize..200, any::<bool>()));
        let name = name.clone();
        (fields, extra, deep).prop_map(move |(fields, extra, deep)| {
            let mut args: Map<String, Value> = fields.into_iter().flatten().collect();
            for (k, v) in extra {
                args.entry(k).or_insert(v);
            }
            if let Some((depth, objects)) = deep
                && let Ok(v) = serde_json::from_str::<Value>(&nest(depth.min(120), objects))
                && let Some(first) = args.keys().next().cloned()
            {
                args.insert(first, v);
            }
            (name.clone(), Value::Object(args))
        })
    })
}

/// The run's seed: `PM_MCP_FUZZ_SEED` to replay a run, else a fresh one; printed either way.
fn seed() -> u64 {
    static SEED: LazyLock<u64> = LazyLock::new(|| {
        let seed = std::env::var("PM_MCP_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("fuzz seed {seed} (PM_MCP_FUZZ_SEED={seed} replays this run)");
        seed
    });
    *SEED
}

fn runner(cases: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed().to_le_bytes());
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        },
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &bytes,
        ),
    )
}

/// A failed run's smallest failing input, kept in `target/fuzz-failures/` (with the seed that
/// replays it), then the test fails with both.
fn failed(target: &str, e: impl std::fmt::Display) -> ! {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
    let file = dir.join(format!("{target}-{}.txt", seed()));
    let kept = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, format!("seed {}\n{e}\n", seed())))
        .map(|()| file.display().to_string())
        .unwrap_or_else(|w| format!("(not written: {w})"));
    panic!(
        "fuzz {target} failed (seed {}; case kept in {kept}): {e}",
        seed()
    );
}

fn report(target: &str, cases: u32, started: Instant) {
    eprintln!(
        "fuzz {target}: {cases} inputs in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        f64::from(cases) / started.elapsed().as_secs_f64().max(1e-9)
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

#[test]
fn arbitrary_bytes_get_well_formed_answers() {
    let fx = Fixture::new();
    let cases = cases(25);
    let started = Instant::now();
    runner(cases)
        .run(
            &(hostile_bytes(), prop::sample::select(VERSIONS.to_vec())),
            |(body, version)| {
                let (status, ct, answer) = fx.post(body, version);
                well_formed(status, &ct, &answer)?;
                Ok(())
            },
        )
        .unwrap_or_else(|e| failed("bytes", e));
    report("bytes", cases, started);
}

#[test]
fn arbitrary_json_rpc_gets_well_formed_answers() {
    let fx = Fixture::new();
    let cases = cases(25);
    let started = Instant::now();
    let message = prop_oneof![
        4 => envelope(),
        1 => prop::collection::vec(envelope(), 0..4).prop_map(Value::Array),
        1 => any_json(),
    ];
    runner(cases)
        .run(
            &(message, prop::sample::select(VERSIONS.to_vec())),
            |(message, version)| {
                let body = serde_json::to_vec(&message).unwrap_or_default();
                let (status, ct, answer) = fx.post(body, version);
                well_formed(status, &ct, &answer)?;
                Ok(())
            },
        )
        .unwrap_or_else(|e| failed("json-rpc", e));
    report("json-rpc", cases, started);
}

#[test]
fn every_tool_survives_hostile_arguments() {
    let fx = Fixture::new();
    let cases = cases(10);
    let started = Instant::now();
    let seen = std::sync::Mutex::new(std::collections::HashMap::<String, [u32; 3]>::new());
    runner(cases)
        .run(&tool_call(), |(tool, args)| {
            let body = serde_json::to_vec(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": tool, "arguments": args }
            }))
            .unwrap_or_default();
            let (status, ct, answer) = fx.post(body, "2025-11-25");
            let msgs = well_formed(status, &ct, &answer)?;
            prop_assert_eq!(
                status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&answer)
            );
            let last = msgs.last().cloned().unwrap_or(Value::Null);
            // A tool result (maybe isError), or a JSON-RPC error (invalid arguments).
            let kind = if last.get("error").is_some() {
                2
            } else if last["result"]["isError"] == true {
                1
            } else {
                prop_assert!(last.get("result").is_some(), "no result or error: {}", last);
                0
            };
            if let Ok(mut seen) = seen.lock() {
                seen.entry(tool).or_default()[kind] += 1;
            }
            Ok(())
        })
        .unwrap_or_else(|e| failed("tool-arguments", e));
    let seen = seen.into_inner().expect("seen");
    // Every tool, at any case count: a call with its required arguments (typed from its schema)
    // gets past argument validation to a result (ok or a tool error, never a JSON-RPC error).
    for (name, schema) in catalogue() {
        let args = minimal_arguments(schema);
        let body = serde_json::to_vec(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": name, "arguments": args }
        }))
        .unwrap_or_default();
        let (status, _, answer) = fx.post(body, "2025-11-25");
        let reply: Value = serde_json::from_slice(&answer)
            .or_else(|_| {
                // An SSE-framed answer: the JSON of its last data line.
                let text = String::from_utf8_lossy(&answer).to_string();
                let data = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .next_back()
                    .unwrap_or("null")
                    .trim()
                    .to_string();
                serde_json::from_str(&data)
            })
            .unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            reply.get("result").is_some(),
            "{name} with {args} never got past argument validation: {reply}"
        );
    }
    let total: [u32; 3] = seen
        .values()
        .fold([0; 3], |a, c| [a[0] + c[0], a[1] + c[1], a[2] + c[2]]);
    eprintln!(
        "fuzz tool arguments: {} tools; {} results, {} tool errors, {} invalid-argument errors",
        seen.len(),
        total[0],
        total[1],
        total[2]
    );
    report("tool arguments", cases, started);
}

#[test]
fn argument_validation_of_every_tool_survives_hostile_arguments() {
    count_panics();
    let cases = cases(40);
    let started = Instant::now();
    let outcomes = std::sync::Mutex::new([0u32; 2]);
    runner(cases)
        .run(&tool_call(), |(tool, args)| {
            let result = pm_server::tools::validate_arguments(&tool, args.as_object());
            if let Err(e) = &result {
                // The error names fields, never echoes values (they may be secrets): no string
                // value of 8 characters or more that is not also a field or tool name appears.
                prop_assert!(e.message.len() < 4_096, "{} bytes", e.message.len());
                let names: Vec<&str> = catalogue()
                    .iter()
                    .flat_map(|(tool, schema)| {
                        std::iter::once(tool.as_str()).chain(
                            schema
                                .get("properties")
                                .and_then(Value::as_object)
                                .into_iter()
                                .flat_map(|p| p.keys().map(String::as_str)),
                        )
                    })
                    .collect();
                let mut values = Vec::new();
                strings_in(&args, &mut values);
                for v in values {
                    if v.chars().count() >= 8 && !names.iter().any(|n| n.contains(v.as_str())) {
                        prop_assert!(
                            !e.message.contains(v.as_str()),
                            "echoed {:?}: {}",
                            v,
                            e.message
                        );
                    }
                }
            }
            if let Ok(mut o) = outcomes.lock() {
                o[usize::from(result.is_err())] += 1;
            }
            Ok(())
        })
        .unwrap_or_else(|e| failed("argument-validation", e));
    let [valid, refused] = outcomes.into_inner().expect("outcomes");
    eprintln!("fuzz argument validation: {valid} accepted, {refused} refused");
    report("argument validation", cases, started);
}

/// A body stream that counts the bytes the server pulls from it.
fn counted_body(total: usize, pulled: Arc<AtomicUsize>) -> Body {
    const CHUNK: usize = 64 * 1024;
    let chunks = total.div_ceil(CHUNK);
    let stream = futures::stream::iter(0..chunks).map(move |i| {
        let n = CHUNK.min(total - i * CHUNK);
        pulled.fetch_add(n, Ordering::SeqCst);
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; n]))
    });
    Body::from_stream(stream)
}

use futures::StreamExt as _;

#[test]
fn a_50_mb_body_is_refused_early_without_being_buffered() {
    let fx = Fixture::new();
    let limit = HttpConfig::default().max_body_bytes;
    let big = 50 * 1024 * 1024;
    // Declared: refused on the header alone, not a byte read.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/mcp")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {}", fx.key))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("content-length", big.to_string())
        .body(counted_body(big, pulled.clone()))
        .expect("request");
    let (status, _, _) = fx.send(req);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "the body was read");
    // Undeclared (chunked): read only up to the limit, then refused.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/mcp")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {}", fx.key))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(counted_body(big, pulled.clone()))
        .expect("request");
    let (status, _, _) = fx.send(req);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let read = pulled.load(Ordering::SeqCst);
    assert!(
        read <= limit + 64 * 1024,
        "{read} bytes read for a limit of {limit}"
    );
    // Without a key nothing is read either.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(counted_body(big, pulled.clone()))
        .expect("request");
    let (status, _, _) = fx.send(req);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[test]
fn nesting_past_the_parser_limit_is_a_parse_error() {
    let fx = Fixture::new();
    // Far deeper than serde_json's recursion limit (128), inside the body limit: no stack
    // overflow, a JSON-RPC parse error.
    for (depth, objects) in [(200, false), (100_000, false), (200_000, true)] {
        let (status, ct, body) = fx.post(nest(depth, objects).into_bytes(), "2025-11-25");
        assert_eq!(status, StatusCode::BAD_REQUEST, "depth {depth}");
        let msgs = messages(&ct, &body).expect("JSON");
        assert_eq!(msgs[0]["error"]["code"], -32700, "{}", msgs[0]);
    }
    // Deep arguments just inside the limit reach argument validation and are refused there.
    let args = nest(120, true);
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_tasks","arguments":{{"limit":{args}}}}}}}"#
    );
    let (status, ct, answer) = fx.post(body.into_bytes(), "2025-11-25");
    assert_eq!(status, StatusCode::OK);
    let msgs = messages(&ct, &answer).expect("JSON");
    assert_eq!(msgs.last().expect("a message")["error"]["code"], -32602);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
