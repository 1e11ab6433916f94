//! The end-to-end harness: a fresh data folder and database per test (SQLite, and PostgreSQL when
//! `PM_MCP_TEST_DATABASE_URL` is set), the real `pm-mcp` binary run as CLI, HTTP server or stdio
//! server, and rmcp's client to drive it. Readiness is awaited from the server's own log line.
#![allow(dead_code)]

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};

pub const BIN: &str = env!("CARGO_BIN_EXE_pm-mcp");

/// `serve` flags for tests whose fake trackers listen on http://127.0.0.1: plain http, and the
/// loopback address exempted from the SSRF guard, as an operator would for an on-prem tracker.
pub const LOCAL_UPSTREAM: &[&str] = &["--allow-http-providers", "--allow-upstream", "127.0.0.1/32"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
    /// The database URL given to pm-mcp.
    pub db_url: String,
    /// The master key (PostgreSQL runs need one; SQLite runs use the personal key file).
    pub master_key: Option<String>,
    pg: Option<(String, String)>,
}

/// Runs `test` on a fresh SQLite environment, then on a fresh PostgreSQL one if configured.
pub async fn on_each_engine<F, Fut>(test: F)
where
    F: Fn(Env) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    test(Env::new(Engine::Sqlite).await.expect("sqlite env")).await;
    match Env::new(Engine::Postgres).await {
        Some(env) => test(env).await,
        None => pm_testkit::skip("the PostgreSQL run", "PM_MCP_TEST_DATABASE_URL is not set"),
    }
}

impl Env {
    pub async fn new(engine: Engine) -> Option<Env> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), "").expect("config");
        match engine {
            Engine::Sqlite => {
                let db_url = format!("sqlite://{}", dir.path().join("pm-mcp.db").display());
                Some(Env {
                    engine,
                    dir,
                    db_url,
                    master_key: None,
                    pg: None,
                })
            }
            Engine::Postgres => {
                let admin_url = std::env::var("PM_MCP_TEST_DATABASE_URL").ok()?;
                Some(Env::postgres_at(&admin_url, dir).await)
            }
        }
    }

    /// A fresh database on the PostgreSQL server `admin_url` names (a user who may create
    /// databases), dropped by `finish`.
    pub async fn postgres_at(admin_url: &str, dir: tempfile::TempDir) -> Env {
        let name = format!("pm_mcp_e2e_{}", uuid::Uuid::new_v4().simple());
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is unreachable: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create db");
        let mut url = url::Url::parse(admin_url).expect("url");
        url.set_path(&format!("/{name}"));
        Env {
            engine: Engine::Postgres,
            dir,
            db_url: url.to_string(),
            master_key: Some(pm_store::MasterKeys::generate_text()),
            pg: Some((admin_url.to_string(), name)),
        }
    }

    fn apply_env(&self, cmd: &mut std::process::Command) {
        cmd.env("PM_MCP_DATA_DIR", self.dir.path())
            .env("PM_MCP_CONFIG", self.dir.path().join("config.toml"))
            .env("DATABASE_URL", &self.db_url)
            .env("PM_MCP_LOG", "debug")
            // Every tool; the default set is tested on its own (mcp.rs: the_default_toolsets_unless_someone_names_them).
            .env("PM_MCP_TOOLSETS", "all")
            // Suites replay hundreds of calls a second with one key; the per-key rate limit is
            // tested on its own (limits.rs, with flags, which win over this).
            .env("PM_MCP_RATE_LIMIT", "0")
            .env_remove("RUST_LOG")
            .env_remove("PM_MCP_API_KEY")
            .env_remove("PM_MCP_OLD_MASTER_KEYS")
            .env_remove("PM_MCP_LISTEN")
            .env_remove("PM_MCP_PUBLIC_URL");
        match &self.master_key {
            Some(k) => cmd.env("PM_MCP_MASTER_KEY", k),
            None => cmd.env_remove("PM_MCP_MASTER_KEY"),
        };
    }

    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        self.apply_env(&mut cmd);
        cmd
    }

    /// The same environment, for a process driven asynchronously.
    pub fn tokio_command(&self) -> tokio::process::Command {
        let std_cmd = self.command();
        let mut cmd = tokio::process::Command::new(BIN);
        for (k, v) in std_cmd.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .env("PM_MCP_LOG", "warn")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pm-mcp")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pm-mcp {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "pm-mcp {args:?} should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn add_user(&self, email: &str) {
        self.ok(&["user", "add", "--email", email]);
    }

    /// A new key for `email` with `scopes`; returns the key.
    pub fn create_key(&self, email: &str, scopes: &str) -> String {
        let out = self.ok(&[
            "key", "create", "--user", email, "--name", "e2e", "--scopes", scopes, "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("key create --json");
        v["key"].as_str().expect("key").to_string()
    }

    /// Adds a connection whose token is passed through the environment.
    pub fn add_connection(&self, email: &str, name: &str, token: &str) {
        let out = self
            .command()
            .args([
                "connection",
                "add",
                "--user",
                email,
                "--name",
                name,
                "--provider",
                "jira_cloud",
            ])
            .args([
                "--base-url",
                "https://acme.atlassian.net",
                "--username",
                email,
                "--token-env",
                "E2E_TOKEN",
            ])
            .env("E2E_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "connection add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `pm-mcp serve` on a random port and waits until it says it listens.
    pub async fn serve(&self, extra: &[&str]) -> Server {
        self.serve_without(extra, &[]).await
    }

    /// `serve` without some of the harness's environment variables (e.g. `PM_MCP_TOOLSETS`).
    pub async fn serve_without(&self, extra: &[&str], unset: &[&str]) -> Server {
        self.serve_on("127.0.0.1:0", extra, unset).await
    }

    /// `serve_without`, listening on `listen` (when the address must be known before the start).
    pub async fn serve_on(&self, listen: &str, extra: &[&str], unset: &[&str]) -> Server {
        self.serve_with_env(listen, extra, unset, &[]).await
    }

    /// `serve_on` with more environment variables set (e.g. credentials no flag takes).
    pub async fn serve_with_env(
        &self,
        listen: &str,
        extra: &[&str],
        unset: &[&str],
        set: &[(&str, &str)],
    ) -> Server {
        let mut command = self.command();
        for name in unset {
            command.env_remove(name);
        }
        for (name, value) in set {
            command.env(name, value);
        }
        command.args(["serve", "--listen", listen]).args(extra);
        self.start(command).await
    }

    /// `serve` as a process allowed `open_files` descriptors (util-linux `prlimit`, which runs
    /// the binary in its own place).
    pub async fn serve_with_open_files(&self, open_files: u32, extra: &[&str]) -> Server {
        let mut command = std::process::Command::new("prlimit");
        self.apply_env(&mut command);
        command
            .arg(format!("--nofile={open_files}:{open_files}"))
            .args(["--", BIN, "serve", "--listen", "127.0.0.1:0"])
            .args(extra);
        self.start(command).await
    }

    async fn start(&self, mut command: std::process::Command) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        // Plain threads drain the pipes, so a test blocked in a synchronous call can never stall the
        // server on a full pipe.
        let logs = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().expect("stderr");
        let log_sink = logs.clone();
        let log_reader = std::thread::spawn(move || {
            for line in
                std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok)
            {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split("/mcp").next().unwrap_or_default().to_string());
                }
                let mut l = log_sink.lock().expect("logs");
                l.push_str(&line);
                l.push('\n');
            }
        });
        let out = child.stdout.take().expect("stdout");
        let out_sink = stdout.clone();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok)
            {
                let mut s = out_sink.lock().expect("stdout");
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .expect("join")
            .unwrap_or_else(|_| {
                panic!("pm-mcp serve did not start: {}", logs.lock().expect("logs"))
            });
        Server {
            child,
            base: format!("http://{addr}"),
            logs,
            stdout,
            log_reader: Some(log_reader),
        }
    }

    /// A `pm-mcp stdio` command for `key`.
    pub fn stdio_command(&self, key: Option<&str>) -> tokio::process::Command {
        let mut cmd = self.tokio_command();
        if let Some(key) = key {
            cmd.env("PM_MCP_API_KEY", key);
        }
        cmd.arg("stdio");
        cmd
    }

    /// Runs SQL against the test database directly (for set-ups the CLI rightly refuses).
    pub async fn sql(&self, statement: &str, bind_time: chrono::DateTime<chrono::Utc>) {
        match self.engine {
            Engine::Sqlite => {
                let path = self.db_url.trim_start_matches("sqlite://");
                let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
                    "sqlite:{path}"
                ))
                .await
                .expect("sqlite");
                sqlx::query(statement)
                    .bind(bind_time)
                    .execute(&mut c)
                    .await
                    .expect("sql");
            }
            Engine::Postgres => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.db_url)
                    .await
                    .expect("pg");
                sqlx::query(statement)
                    .bind(bind_time)
                    .execute(&mut c)
                    .await
                    .expect("sql");
            }
        }
    }

    /// Counts rows: `SELECT COUNT(*) …`.
    pub async fn count(&self, query: &str) -> i64 {
        match self.engine {
            Engine::Sqlite => {
                let path = self.db_url.trim_start_matches("sqlite://");
                let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
                    "sqlite:{path}"
                ))
                .await
                .expect("sqlite");
                sqlx::query_scalar(query)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
            Engine::Postgres => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.db_url)
                    .await
                    .expect("pg");
                sqlx::query_scalar(query)
                    .fetch_one(&mut c)
                    .await
                    .expect("count")
            }
        }
    }

    /// Every byte the database holds, as the operator's tools would see it: the SQLite files, or a
    /// `pg_dump` of the PostgreSQL database.
    pub fn raw_database(&self) -> Vec<u8> {
        match self.engine {
            Engine::Sqlite => {
                let path = self.db_url.trim_start_matches("sqlite://").to_string();
                let mut all = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                        all.extend(bytes);
                    }
                }
                assert!(!all.is_empty(), "no database file at {path}");
                all
            }
            Engine::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--dbname")
                    .arg(&self.db_url)
                    .output()
                    .expect("pg_dump");
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }

    pub async fn finish(self) {
        if let Some((admin_url, name)) = &self.pg {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
                .await
                .expect("reconnect");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop");
        }
    }
}

pub struct Server {
    child: std::process::Child,
    pub base: String,
    logs: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type Client = RunningService<RoleClient, ClientConfig>;

pub fn client_config(version: ProtocolVersion) -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("pm-mcp-e2e", "1.0"),
    )
    .with_protocol_version(version)
}

impl Server {
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// An rmcp Streamable HTTP client authenticated with `key`.
    pub async fn client(&self, key: &str, version: ProtocolVersion) -> Result<Client, String> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.mcp_url()).auth_header(key),
        );
        client_config(version)
            .serve(transport)
            .await
            .map_err(|e| format!("{e:?}"))
    }

    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout").clone()
    }

    /// Stops the server with SIGTERM and waits for it to exit cleanly; returns its logs.
    pub async fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not stop within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(
            status.success(),
            "server exited with {status}: {}",
            self.logs()
        );
        // The process is gone, so its stderr ends: wait for the reader to take the last lines.
        if let Some(reader) = self.log_reader.take() {
            let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        }
        self.logs()
    }
}

/// Calls a tool without arguments.
pub async fn call(client: &Client, tool: &'static str) -> Result<CallToolResult, String> {
    let result = client
        .call_tool(CallToolRequestParams::new(tool))
        .await
        .map_err(|e| format!("{e}"))?;
    conforms(tool, &result);
    Ok(result)
}

/// Fails the test when a successful result's structured content does not conform to the
/// outputSchema the tool advertises in `tools/list` — what the official SDKs check (the Python
/// SDK refuses such a result): every tool every test calls, with the values it really returns.
pub fn conforms(tool: &str, result: &CallToolResult) {
    static VALIDATORS: std::sync::LazyLock<
        std::collections::HashMap<String, jsonschema::Validator>,
    > = std::sync::LazyLock::new(|| {
        pm_server::PmServer::all_tools()
            .into_iter()
            .filter_map(|t| {
                let schema = serde_json::Value::Object((*t.output_schema?).clone());
                let validator = jsonschema::validator_for(&schema).expect("output schema compiles");
                Some((t.name.to_string(), validator))
            })
            .collect()
    });
    let (Some(content), false) = (&result.structured_content, result.is_error == Some(true)) else {
        return;
    };
    if let Some(validator) = VALIDATORS.get(tool) {
        let errors: Vec<String> = validator
            .iter_errors(content)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{tool}'s result does not conform to its advertised outputSchema: {errors:?}"
        );
    }
}

/// The structured content of a successful call.
pub async fn call_ok(client: &Client, tool: &'static str) -> serde_json::Value {
    let result = call(client, tool).await.expect("call");
    assert_ne!(result.is_error, Some(true), "{tool} failed: {result:?}");
    result.structured_content.expect("structured content")
}

pub const VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// POSTs only the head of a request that declares a `len`-byte body, and returns the status the
/// server answers with before any body byte arrives (a size limit must refuse on the header alone,
/// and a test that streams the body would race the server closing the connection).
pub async fn status_for_declared_length(url: &str, key: &str, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = url::Url::parse(url).expect("url");
    let addr = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {len}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"))
}

/// Calls `tool` with `args` and returns the result, error or not.
pub async fn call_with(
    client: &Client,
    tool: &'static str,
    args: serde_json::Value,
) -> CallToolResult {
    let params = rmcp::model::CallToolRequestParams::new(tool)
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let result = client.call_tool(params).await.expect("call");
    conforms(tool, &result);
    result
}

/// The text content of a result, joined.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Calls `tool`, fails the test if it answers an error, returns its structured content.
pub async fn ok(client: &Client, tool: &'static str, args: serde_json::Value) -> serde_json::Value {
    let r = call_with(client, tool, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{tool} {args}: {}", text(&r));
    r.structured_content.expect("structured content")
}

/// Calls `tool` until it is refused, for at most the documented bound on a revocation (or a
/// disabled user) taking effect: the auth epoch is polled every 500 ms, so 2 s is ample. Returns
/// the refusal; fails the test if the call keeps working.
pub async fn refused_within(client: &Client, tool: &'static str) -> String {
    let started = std::time::Instant::now();
    loop {
        match call(client, tool).await {
            Err(e) => return e,
            Ok(_) if started.elapsed() < Duration::from_secs(2) => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Ok(r) => panic!("{tool} still works 2 s after the change: {r:?}"),
        }
    }
}

/// The calendar day `offset` days from today (UTC), as `YYYY-MM-DD`: tests never pin a date that
/// the calendar can overtake (a real Redmine refuses a due date before the start date, today).
pub fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// Debian's Chromium for the browser tests (`PM_MCP_CHROMIUM` names another); `None` where it is
/// not installed.
pub fn chromium() -> Option<std::path::PathBuf> {
    std::env::var_os("PM_MCP_CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::PathBuf::from("/usr/bin/chromium")))
        .filter(|p| p.exists())
}

/// Held by every test that writes to the real Redmine: Debian's Redmine runs on SQLite, which
/// answers concurrent writers with 500 ("database is locked"), so those tests take turns.
pub async fn real_redmine_turn() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// The tracker a [`spawn_app`] app is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracker {
    /// Jira Cloud (the fake's `mia@example.com` with an API token).
    Jira,
    ClickUp,
    /// OpenProject 13.4 under `/openproject`.
    OpenProject,
}

/// A tracker fake's own state, by tracker.
pub enum FakeState {
    Jira(Arc<pm_testkit::fake_jira::Fake>),
    ClickUp(Arc<pm_testkit::fake_clickup::Fake>),
    OpenProject(Arc<pm_testkit::fake_openproject::Fake>),
}

/// The tracker fake of an [`App`]: its URL, what it was asked, and its state.
pub struct AppFake {
    pub url: String,
    pub recorder: pm_testkit::fake::Recorder,
    pub state: FakeState,
}

impl AppFake {
    pub fn jira(&self) -> &pm_testkit::fake_jira::Fake {
        match &self.state {
            FakeState::Jira(f) => f,
            _ => panic!("the app's tracker is not Jira"),
        }
    }

    pub fn clickup(&self) -> &pm_testkit::fake_clickup::Fake {
        match &self.state {
            FakeState::ClickUp(f) => f,
            _ => panic!("the app's tracker is not ClickUp"),
        }
    }

    pub fn openproject(&self) -> &pm_testkit::fake_openproject::Fake {
        match &self.state {
            FakeState::OpenProject(f) => f,
            _ => panic!("the app's tracker is not OpenProject"),
        }
    }
}

impl<S> From<pm_testkit::fake::Running<S>> for AppFake
where
    FakeState: From<Arc<S>>,
{
    fn from(r: pm_testkit::fake::Running<S>) -> Self {
        AppFake {
            url: r.url,
            recorder: r.recorder,
            state: r.state.into(),
        }
    }
}

impl From<Arc<pm_testkit::fake_jira::Fake>> for FakeState {
    fn from(f: Arc<pm_testkit::fake_jira::Fake>) -> Self {
        FakeState::Jira(f)
    }
}

impl From<Arc<pm_testkit::fake_clickup::Fake>> for FakeState {
    fn from(f: Arc<pm_testkit::fake_clickup::Fake>) -> Self {
        FakeState::ClickUp(f)
    }
}

impl From<Arc<pm_testkit::fake_openproject::Fake>> for FakeState {
    fn from(f: Arc<pm_testkit::fake_openproject::Fake>) -> Self {
        FakeState::OpenProject(f)
    }
}

/// A ready end-to-end setup: the real binary serving (`server`) on `env`, a tracker fake, a
/// pm-mcp user (`user`) with a read/write key (`key`) and an rmcp client connected with it
/// (`client`); with [`spawn_app`] / [`App::connected`] the user also has a connection to the fake
/// named `connection`, configured through `configure_pm_provider`.
pub struct App {
    pub env: Env,
    pub server: Server,
    pub fake: AppFake,
    pub tracker: Tracker,
    /// The tracker credential the fake accepts (API token, ClickUp token, OpenProject API key).
    pub token: &'static str,
    pub user: &'static str,
    pub key: String,
    pub client: Client,
    /// The connection's name, whether or not it is configured yet.
    pub connection: &'static str,
}

/// [`App::connected`] on a fresh SQLite environment. `None` (skipped in one line) where the fake
/// needs the providers' published specs and they are not here.
pub async fn spawn_app(tracker: Tracker) -> Option<App> {
    App::connected(Env::new(Engine::Sqlite).await.expect("sqlite env"), tracker).await
}

impl App {
    /// The fake, the user, the key, the server and the client on `env`; no connection yet (for
    /// tests of configuring one).
    pub async fn start(env: Env, tracker: Tracker) -> Option<App> {
        let (fake, token, connection): (AppFake, &'static str, &'static str) = match tracker {
            Tracker::Jira => {
                let token = "ATATT-jira-e2e-secret-0042";
                let auth = pm_testkit::fake_jira::basic("mia@example.com", token);
                let fake =
                    pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&auth))
                        .await?;
                (fake.into(), token, "acme-jira")
            }
            Tracker::ClickUp => {
                let token = "pk_81818_E2ESECRETCLICKUPTOKEN";
                let fake = pm_testkit::fake_clickup::spawn(
                    pm_testkit::fake_clickup::Options::token(token),
                )
                .await?;
                (fake.into(), token, "acme-cu")
            }
            Tracker::OpenProject => {
                let token = "op-e2e-apikey-0c0ffee1d";
                let opts =
                    pm_testkit::fake_openproject::Options::new(token, "/openproject", "13.4.1");
                (
                    pm_testkit::fake_openproject::spawn(opts).await.into(),
                    token,
                    "acme-op",
                )
            }
        };
        let user = "ann@acme.org";
        env.add_user(user);
        let key = env.create_key(user, "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let client = server
            .client(&key, ProtocolVersion::V_2025_11_25)
            .await
            .expect("client");
        Some(App {
            env,
            server,
            fake,
            tracker,
            token,
            user,
            key,
            client,
            connection,
        })
    }

    /// [`App::start`], then the user's connection to the fake, configured and tested through
    /// `configure_pm_provider`.
    pub async fn connected(env: Env, tracker: Tracker) -> Option<App> {
        let app = App::start(env, tracker).await?;
        let configured = ok(
            &app.client,
            "configure_pm_provider",
            app.configure_args(app.token),
        )
        .await;
        assert_eq!(configured["test"]["ok"], true, "{configured}");
        Some(app)
    }

    /// `configure_pm_provider`'s arguments for the app's connection, with `credential` as the
    /// tracker credential.
    pub fn configure_args(&self, credential: &str) -> serde_json::Value {
        let (url, name) = (&self.fake.url, self.connection);
        match self.tracker {
            Tracker::Jira => serde_json::json!({
                "provider_type": "jira_cloud", "base_url": url, "username": "mia@example.com", "api_token": credential, "name": name
            }),
            Tracker::ClickUp => serde_json::json!({
                "provider_type": "clickup", "base_url": url, "api_token": credential, "name": name
            }),
            Tracker::OpenProject => serde_json::json!({
                "provider_type": "openproject", "base_url": url, "api_key": credential, "name": name
            }),
        }
    }

    /// Another pm-mcp user with a read/write key, and a client connected with it at `version`.
    pub async fn another_user(&self, email: &str, version: ProtocolVersion) -> Client {
        self.env.add_user(email);
        let key = self.env.create_key(email, "read,write");
        self.server.client(&key, version).await.expect("client")
    }
}
