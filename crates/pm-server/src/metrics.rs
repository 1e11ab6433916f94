//! Prometheus metrics: counters and histograms kept in atomics, label sets registered up front
//! (routes, statuses, tools, outcomes, auth failure reasons), so recording a request or a tool call
//! is a hash lookup and a few relaxed additions, never a lock or an allocation. Rendered in the
//! text exposition format 0.0.4 when scraped (`/metrics`, on its own listener: see `metrics_endpoint`).
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use pm_store::{Outcome, PoolStats};

use crate::auth::AuthError;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket bounds in microseconds (rendered in seconds): 100 µs to 30 s.
const BUCKETS_US: [u64; 17] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
];

/// A latency histogram: per-bucket counts (cumulated when rendered), the count and the sum.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS_US.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// The HTTP routes requests are counted under (anything else is `other`).
pub const ROUTES: [&str; 6] = ["/mcp", "/sse", "/messages", "/healthz", "/readyz", "other"];

/// Statuses 100..=599, one counter each.
const STATUSES: usize = 500;

struct RouteStats {
    by_status: Box<[AtomicU64]>,
    duration: Histogram,
}

impl Default for RouteStats {
    fn default() -> Self {
        Self {
            by_status: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            duration: Histogram::default(),
        }
    }
}

const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Error, Outcome::Denied];

#[derive(Default)]
struct ToolStats {
    outcomes: [AtomicU64; OUTCOMES.len()],
    duration: Histogram,
}

/// The reasons an authentication fails, as `AuthError::reason` names them.
const AUTH_REASONS: [&str; 12] = [
    "missing",
    "malformed",
    "unknown",
    "revoked",
    "expired",
    "user_disabled",
    "unavailable",
    "invalid_token",
    "token_expired",
    "insufficient_scope",
    "unknown_user",
    "issuer_unavailable",
];

/// Everything this process counts. Shared by every request through the shared state.
pub struct Metrics {
    instance: Arc<str>,
    started_unix: f64,
    routes: [RouteStats; ROUTES.len()],
    /// Set once, by the layer that knows the tools (the MCP handler, the HTTP app): the metrics
    /// sit below the tools and do not name them.
    tools: std::sync::OnceLock<HashMap<Box<str>, ToolStats>>,
    auth_failures: [AtomicU64; AUTH_REASONS.len()],
}

impl Metrics {
    /// Counters for every route; the tools' come with [`Metrics::know_tools`].
    pub fn new(instance: Arc<str>) -> Self {
        Self {
            instance,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            routes: Default::default(),
            tools: std::sync::OnceLock::new(),
            auth_failures: Default::default(),
        }
    }

    /// Counts one answered HTTP request.
    pub fn http_request(&self, path: &str, status: u16, elapsed: Duration) {
        let route = ROUTES
            .iter()
            .position(|r| *r == path)
            .unwrap_or(ROUTES.len() - 1);
        let stats = &self.routes[route];
        if let Some(c) = (status as usize)
            .checked_sub(100)
            .and_then(|i| stats.by_status.get(i))
        {
            c.fetch_add(1, Relaxed);
        }
        stats.duration.observe(elapsed);
    }

    /// Counters for `tools`, the server's tools (calls of other names are not counted per tool);
    /// the first call decides, later ones change nothing.
    pub fn know_tools<'a>(&self, tools: impl IntoIterator<Item = &'a str>) {
        self.tools.get_or_init(|| {
            tools
                .into_iter()
                .map(|t| (Box::from(t), ToolStats::default()))
                .collect()
        });
    }

    /// Counts one tool call (whatever transport it came by).
    pub fn tool_call(&self, tool: &str, outcome: Outcome, elapsed: Duration) {
        if let Some(stats) = self.tools.get().and_then(|t| t.get(tool)) {
            let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(1);
            stats.outcomes[i].fetch_add(1, Relaxed);
            stats.duration.observe(elapsed);
        }
    }

    /// Counts one refused authentication.
    pub fn auth_failure(&self, e: &AuthError) {
        if let Some(i) = AUTH_REASONS.iter().position(|r| *r == e.reason()) {
            self.auth_failures[i].fetch_add(1, Relaxed);
        }
    }

    /// The text exposition format (0.0.4) of every metric, with the upstream counts of this
    /// process and the database pool as given.
    pub fn render(&self, pool: PoolStats) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let o = &mut out;
        head(
            o,
            "pm_mcp_build_info",
            "gauge",
            "The running pm-mcp: version and instance id (always 1).",
        );
        let _ = writeln!(
            o,
            "pm_mcp_build_info{{version=\"{}\",instance=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            escape(&self.instance)
        );
        head(
            o,
            "pm_mcp_process_start_time_seconds",
            "gauge",
            "When this process started, in seconds since the Unix epoch.",
        );
        let _ = writeln!(o, "pm_mcp_process_start_time_seconds {}", self.started_unix);

        head(
            o,
            "pm_mcp_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        for (route, stats) in ROUTES.iter().zip(&self.routes) {
            for (i, n) in stats.by_status.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    let status = i + 100;
                    let _ = writeln!(
                        o,
                        "pm_mcp_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        head(
            o,
            "pm_mcp_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request (to the response head), by route.",
        );
        for (route, stats) in ROUTES.iter().zip(&self.routes) {
            if stats.duration.count.load(Relaxed) > 0 {
                let name = "pm_mcp_http_request_duration_seconds";
                stats
                    .duration
                    .render(o, name, &format!("route=\"{route}\""));
            }
        }

        let mut tools: Vec<(&str, &ToolStats)> = self
            .tools
            .get()
            .into_iter()
            .flatten()
            .map(|(k, v)| (&**k, v))
            .collect();
        tools.sort_unstable_by_key(|(k, _)| *k);
        head(
            o,
            "pm_mcp_tool_calls_total",
            "counter",
            "Tool calls, by tool and outcome (ok, error: the tool reported an error, denied: refused by scope, toolset or read-only mode).",
        );
        for (tool, stats) in &tools {
            for (outcome, n) in OUTCOMES.iter().zip(&stats.outcomes) {
                let _ = writeln!(
                    o,
                    "pm_mcp_tool_calls_total{{tool=\"{}\",outcome=\"{}\"}} {}",
                    escape(tool),
                    outcome.as_str(),
                    n.load(Relaxed)
                );
            }
        }
        head(
            o,
            "pm_mcp_tool_call_duration_seconds",
            "histogram",
            "Tool call latency, by tool (tools called at least once).",
        );
        for (tool, stats) in &tools {
            if stats.duration.count.load(Relaxed) > 0 {
                let labels = format!("tool=\"{}\"", escape(tool));
                stats
                    .duration
                    .render(o, "pm_mcp_tool_call_duration_seconds", &labels);
            }
        }

        head(
            o,
            "pm_mcp_upstream_requests_total",
            "counter",
            "Requests to trackers, by provider and HTTP status (error: no answer: timeout, network, SSRF guard); each retry counts.",
        );
        for (provider, status, n) in pm_providers::metrics::upstream_counts() {
            let _ = writeln!(
                o,
                "pm_mcp_upstream_requests_total{{provider=\"{}\",status=\"{status}\"}} {n}",
                escape(&provider_label(provider))
            );
        }

        head(
            o,
            "pm_mcp_auth_failures_total",
            "counter",
            "Refused API keys, by reason.",
        );
        for (reason, n) in AUTH_REASONS.iter().zip(&self.auth_failures) {
            let _ = writeln!(
                o,
                "pm_mcp_auth_failures_total{{reason=\"{reason}\"}} {}",
                n.load(Relaxed)
            );
        }

        head(
            o,
            "pm_mcp_db_pool_connections",
            "gauge",
            "Database pool connections, by state.",
        );
        let _ = writeln!(
            o,
            "pm_mcp_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(
            o,
            "pm_mcp_db_pool_connections{{state=\"in_use\"}} {}",
            pool.in_use()
        );
        head(
            o,
            "pm_mcp_db_pool_max_connections",
            "gauge",
            "The most connections the database pool opens.",
        );
        let _ = writeln!(o, "pm_mcp_db_pool_max_connections {}", pool.max);
        out
    }
}

/// A provider's name as its clients give it ("Jira Cloud", "OpenProject") as a label value in
/// the spelling of `provider_type` (`jira_cloud`, `openproject`).
fn provider_label(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the exposition format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        let m = Metrics::new(Arc::from("test-1"));
        m.know_tools(["get_task", "list_projects"]);
        m
    }

    /// Every sample line of `text`: (name, labels, value). Panics on a line the exposition
    /// format does not allow, or a sample whose metric has no `# TYPE` line before it.
    /// One sample: metric name, labels, value.
    type Sample = (String, Vec<(String, String)>, f64);

    fn parse(text: &str) -> Vec<Sample> {
        let mut typed: Vec<String> = Vec::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                typed.push(name.to_string());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "stray line {line:?}"
            );
            let (series, value) = line.rsplit_once(' ').expect("series value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => {
                    let body = rest.strip_suffix('}').expect("closing brace");
                    let labels = body
                        .split("\",")
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("k=\"v\"");
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (n.to_string(), labels)
                }
                None => (series.to_string(), Vec::new()),
            };
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|b| typed.iter().any(|t| t == b))
                .unwrap_or(&name);
            assert!(typed.iter().any(|t| t == base), "{name} has no # TYPE");
            samples.push((name, labels, value));
        }
        samples
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
    }

    #[test]
    fn counts_render_in_the_exposition_format() {
        let m = metrics();
        m.http_request("/mcp", 200, Duration::from_micros(300));
        m.http_request("/mcp", 200, Duration::from_millis(3));
        m.http_request("/mcp", 401, Duration::from_micros(50));
        m.http_request("/nope", 404, Duration::from_micros(10));
        m.tool_call("get_task", Outcome::Ok, Duration::from_micros(90));
        m.tool_call("get_task", Outcome::Ok, Duration::from_millis(20));
        m.tool_call("get_task", Outcome::Denied, Duration::from_micros(5));
        m.tool_call("not_a_tool", Outcome::Ok, Duration::from_micros(5));
        m.auth_failure(&AuthError::Revoked);
        m.auth_failure(&AuthError::Revoked);
        m.auth_failure(&AuthError::Missing);
        let text = m.render(PoolStats {
            open: 5,
            idle: 3,
            max: 16,
        });
        let s = parse(&text);
        let http = "pm_mcp_http_requests_total";
        assert_eq!(
            value(&s, http, &[("route", "/mcp"), ("status", "200")]),
            2.0
        );
        assert_eq!(
            value(&s, http, &[("route", "/mcp"), ("status", "401")]),
            1.0
        );
        assert_eq!(
            value(&s, http, &[("route", "other"), ("status", "404")]),
            1.0
        );
        let calls = "pm_mcp_tool_calls_total";
        assert_eq!(
            value(&s, calls, &[("tool", "get_task"), ("outcome", "ok")]),
            2.0
        );
        assert_eq!(
            value(&s, calls, &[("tool", "get_task"), ("outcome", "denied")]),
            1.0
        );
        assert_eq!(
            value(&s, calls, &[("tool", "get_task"), ("outcome", "error")]),
            0.0
        );
        assert_eq!(
            value(&s, calls, &[("tool", "list_projects"), ("outcome", "ok")]),
            0.0
        );
        assert!(
            !text.contains("not_a_tool"),
            "only registered tools are counted"
        );
        // Buckets are cumulative: 90 µs and 5 µs fall in the first, 20 ms by the 25 ms one.
        let d = "pm_mcp_tool_call_duration_seconds_bucket";
        assert_eq!(value(&s, d, &[("tool", "get_task"), ("le", "0.0001")]), 2.0);
        assert_eq!(value(&s, d, &[("tool", "get_task"), ("le", "0.01")]), 2.0);
        assert_eq!(value(&s, d, &[("tool", "get_task"), ("le", "0.025")]), 3.0);
        assert_eq!(value(&s, d, &[("tool", "get_task"), ("le", "+Inf")]), 3.0);
        assert_eq!(
            value(
                &s,
                "pm_mcp_tool_call_duration_seconds_count",
                &[("tool", "get_task")]
            ),
            3.0
        );
        let sum = value(
            &s,
            "pm_mcp_tool_call_duration_seconds_sum",
            &[("tool", "get_task")],
        );
        assert!((sum - 0.020095).abs() < 1e-9, "{sum}");
        assert!(
            !text.contains("pm_mcp_tool_call_duration_seconds_count{tool=\"list_projects\"}"),
            "no histogram for a tool never called"
        );
        let auth = "pm_mcp_auth_failures_total";
        assert_eq!(value(&s, auth, &[("reason", "revoked")]), 2.0);
        assert_eq!(value(&s, auth, &[("reason", "missing")]), 1.0);
        assert_eq!(value(&s, auth, &[("reason", "expired")]), 0.0);
        let pool = "pm_mcp_db_pool_connections";
        assert_eq!(value(&s, pool, &[("state", "idle")]), 3.0);
        assert_eq!(value(&s, pool, &[("state", "in_use")]), 2.0);
        assert_eq!(value(&s, "pm_mcp_db_pool_max_connections", &[]), 16.0);
        assert_eq!(
            value(&s, "pm_mcp_build_info", &[("instance", "test-1")]),
            1.0
        );
    }

    #[test]
    fn every_auth_error_has_a_counted_reason() {
        use crate::oauth::TokenError;
        let m = metrics();
        for e in [
            AuthError::Missing,
            AuthError::Malformed("x".into()),
            AuthError::Unknown,
            AuthError::Revoked,
            AuthError::Expired,
            AuthError::UserDisabled,
            AuthError::Unavailable,
            AuthError::Token(TokenError::Invalid("x".into())),
            AuthError::Token(TokenError::Expired),
            AuthError::Token(TokenError::NoScope("x".into())),
            AuthError::Token(TokenError::NoUser("x".into())),
            AuthError::Token(TokenError::IssuerUnavailable),
        ] {
            m.auth_failure(&e);
        }
        let s = parse(&m.render(PoolStats::default()));
        for reason in AUTH_REASONS {
            assert_eq!(
                value(&s, "pm_mcp_auth_failures_total", &[("reason", reason)]),
                1.0
            );
        }
    }

    #[test]
    fn provider_labels_match_provider_types() {
        assert_eq!(provider_label("Jira Cloud"), "jira_cloud");
        assert_eq!(provider_label("Jira Data Center"), "jira_data_center");
        assert_eq!(provider_label("OpenProject"), "openproject");
        assert_eq!(provider_label("ClickUp"), "clickup");
        assert_eq!(provider_label("Redmine"), "redmine");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    /// The request-id spans under the production JSON log format at the default `info` level:
    /// every line logged inside carries the request id and the tool. What they cost is printed
    /// (`cargo test -p pm-server metrics -- --nocapture`), never asserted: performance is the
    /// benchmark command's to measure, not a debug test's.
    #[test]
    fn request_id_spans_reach_every_line_inside_them() {
        #[derive(Clone, Default)]
        struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || sink.clone())
            .json()
            .flatten_event(true)
            .finish();
        let n = 20_000u32;
        let per_request = tracing::subscriber::with_default(subscriber, || {
            let id = "0b9f4c1e-5d2a-4c1b-9a77-3e2f1d0c9b8a";
            let started = std::time::Instant::now();
            for i in 0..n {
                let http =
                    tracing::info_span!("http", request_id = %id, method = "POST", path = "/mcp");
                let _h = http.enter();
                let call = tracing::info_span!("tool_call", request_id = %id, tool = "get_task");
                let _c = call.enter();
                tracing::debug!("filtered out at info");
                if i == n - 1 {
                    tracing::info!("the last call");
                }
            }
            started.elapsed() / n
        });
        eprintln!("spans: {per_request:?} per request (http + tool_call spans, JSON, info)");
        let text = lines
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).to_string())
            .unwrap_or_default();
        let logged: Vec<&str> = text.lines().collect();
        assert_eq!(logged.len(), 1, "only the info line is written: {text}");
        let line: serde_json::Value = serde_json::from_str(logged[0]).expect("a JSON line");
        assert_eq!(line["message"], "the last call");
        assert!(
            text.contains("0b9f4c1e-5d2a-4c1b-9a77-3e2f1d0c9b8a"),
            "{text}"
        );
        assert!(text.contains("get_task"), "{text}");
    }

    /// Recording counts every request and call; its cost is printed, never asserted (see above).
    #[test]
    fn recording_counts_every_call() {
        let m = metrics();
        let n = 100_000u32;
        let started = std::time::Instant::now();
        for _ in 0..n {
            m.http_request("/mcp", 200, Duration::from_micros(120));
            m.tool_call("get_task", Outcome::Ok, Duration::from_micros(100));
        }
        let per_call = started.elapsed() / n;
        eprintln!("metrics: {per_call:?} to record one request and one tool call");
        let s = parse(&m.render(PoolStats {
            open: 1,
            idle: 1,
            max: 1,
        }));
        assert_eq!(
            value(
                &s,
                "pm_mcp_http_requests_total",
                &[("route", "/mcp"), ("status", "200")]
            ),
            f64::from(n)
        );
        assert_eq!(
            value(
                &s,
                "pm_mcp_tool_calls_total",
                &[("tool", "get_task"), ("outcome", "ok")]
            ),
            f64::from(n)
        );
    }
}
