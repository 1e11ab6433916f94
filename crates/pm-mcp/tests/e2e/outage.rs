//! pm-mcp's own PostgreSQL goes away under load and comes back: calls made meanwhile fail
//! clearly and in bounded time (503 with Retry-After, or a tool error naming the database), the
//! process stays up and recovers by itself, revocation still propagates afterwards, and every
//! write it acknowledged is in the database, whole.
//!
//! The test runs its own PostgreSQL (the shared one on 5432 is never stopped): `initdb` and
//! `pg_ctl` from `/usr/lib/postgresql/<version>/bin` (or `PM_MCP_PG_BIN`), as the `postgres`
//! user when run as root. Without those binaries it is skipped with a note, unless
//! `PM_MCP_REQUIRE_PG_OUTAGE=1` (set by `.ci/run`) makes that a failure.
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;

/// A throw-away PostgreSQL cluster on a free loopback port, trust authentication.
struct PrivatePg {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Run the binaries as the `postgres` user (PostgreSQL refuses to run as root).
    as_postgres: bool,
}

impl PrivatePg {
    fn bin_dir() -> Option<PathBuf> {
        if let Ok(dir) = std::env::var("PM_MCP_PG_BIN") {
            return Some(PathBuf::from(dir));
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("pg_ctl").exists().then_some((v, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }

    /// Creates and starts the cluster; `None` when PostgreSQL's server binaries are not here.
    fn start_new() -> Option<PrivatePg> {
        let bin = Self::bin_dir()?;
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::Builder::new()
            .prefix("pm-mcp-pg-")
            .tempdir()
            .expect("tempdir");
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(status.success(), "cannot give {:?} to postgres", dir.path());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pg = PrivatePg {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = pg.data().display().to_string();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        pg.start();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let data = self.data().display().to_string();
        let log = self.dir.path().join("pg.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        );
    }

    /// Stops the server: `fast` (clients disconnected, clean shutdown) or `immediate` (a crash:
    /// recovery from the WAL on the next start).
    fn stop(&self, mode: &str) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let data = self.data().display().to_string();
            let program = self.bin.join("pg_ctl");
            let mut cmd = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            } else {
                Command::new(&program)
            };
            let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok,
    /// 503 with Retry-After and `database_unavailable`.
    Http503,
    /// A tool result with isError naming the database.
    ToolDbError,
    /// Anything else: not a clear answer.
    Unclear(String),
}

#[derive(Debug, Clone)]
struct Call {
    tool: &'static str,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
    /// For writes: the connection name it tried to create.
    name: Option<String>,
}

async fn rpc(http: &reqwest::Client, url: &str, key: &str, tool: &str, args: Value) -> Outcome {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": args }
    });
    let res = match http
        .post(url)
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Outcome::Unclear(format!("transport: {e}")),
    };
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").cloned();
    let text = res.text().await.unwrap_or_default();
    if status == 503 {
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return if v["error"] == "database_unavailable" && retry_after.is_some() {
            Outcome::Http503
        } else {
            Outcome::Unclear(format!("503 {retry_after:?} {text}"))
        };
    }
    let payload = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|d| !d.is_empty())
        .unwrap_or(text.trim())
        .to_string();
    let v: Value = match serde_json::from_str(&payload) {
        Ok(v) => v,
        Err(_) => return Outcome::Unclear(format!("{status} {text}")),
    };
    if status != 200 {
        return Outcome::Unclear(format!("{status} {text}"));
    }
    let result = &v["result"];
    if result["isError"] == true {
        let message = result["content"][0]["text"].as_str().unwrap_or_default();
        if message.contains("pm-mcp's database is unavailable; try again shortly") {
            return Outcome::ToolDbError;
        }
        return Outcome::Unclear(format!("tool error: {message}"));
    }
    if result.is_object() {
        Outcome::Ok
    } else {
        Outcome::Unclear(format!("{status} {text}"))
    }
}

/// Clients calling continuously until `stop`: `readers` doing get_current_user / list_providers,
/// `writers` adding connections with fresh names. Every call is recorded.
struct Load {
    calls: Arc<Mutex<Vec<Call>>>,
    stop: tokio_util_stop::Stop,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A tiny stop flag (tokio-util is not a dependency of this test binary).
mod tokio_util_stop {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Clone, Default)]
    pub struct Stop(Arc<AtomicBool>);

    impl Stop {
        pub fn set(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
        pub fn is_set(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }
}

impl Load {
    fn start(url: String, key: String, jira: String, readers: usize, writers: usize) -> Load {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = tokio_util_stop::Stop::default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let mut tasks = Vec::new();
        for r in 0..readers {
            let (http, url, key, calls, stop) = (
                http.clone(),
                url.clone(),
                key.clone(),
                calls.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.is_set() {
                    let tool = if (i + r).is_multiple_of(2) {
                        "get_current_user"
                    } else {
                        "list_providers"
                    };
                    i += 1;
                    let started = Instant::now();
                    let outcome = rpc(&http, &url, &key, tool, json!({})).await;
                    calls.lock().expect("calls").push(Call {
                        tool,
                        started,
                        ended: Instant::now(),
                        outcome,
                        name: None,
                    });
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }));
        }
        for w in 0..writers {
            let (http, url, key, calls, stop, jira) = (
                http.clone(),
                url.clone(),
                key.clone(),
                calls.clone(),
                stop.clone(),
                jira.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.is_set() {
                    let name = format!("w{w}-{i}");
                    i += 1;
                    let started = Instant::now();
                    let outcome = rpc(
                        &http,
                        &url,
                        &key,
                        "configure_pm_provider",
                        json!({
                            "provider_type": "jira_cloud", "base_url": jira, "name": name,
                            "username": "mia@example.com", "api_token": TOKEN
                        }),
                    )
                    .await;
                    calls.lock().expect("calls").push(Call {
                        tool: "configure_pm_provider",
                        started,
                        ended: Instant::now(),
                        outcome,
                        name: Some(name),
                    });
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }));
        }
        Load { calls, stop, tasks }
    }

    fn snapshot(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    async fn finish(self) -> Vec<Call> {
        self.stop.set();
        for t in self.tasks {
            t.await.expect("a load task panicked");
        }
        self.calls.lock().expect("calls").clone()
    }
}

const TOKEN: &str = "ATATT-outage-secret-0042";

/// Waits until `pred` holds for the calls so far, for at most `limit`.
async fn wait_for(load: &Load, limit: Duration, what: &str, pred: impl Fn(&[Call]) -> bool) {
    let started = Instant::now();
    while !pred(&load.snapshot()) {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz(http: &reqwest::Client, base: &str) -> u16 {
    match http.get(format!("{base}/readyz")).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// One outage: PostgreSQL stopped (`mode`) for `down`, started again. Returns how long after it
/// accepted connections again the first call succeeded.
async fn outage(
    pg: &PrivatePg,
    server: &Server,
    load: &Load,
    mode: &str,
    down: Duration,
) -> Duration {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let before = load.snapshot().len();
    pg.stop(mode);
    let stopped = Instant::now();
    // Calls keep coming and fail, clearly.
    wait_for(
        load,
        Duration::from_secs(20),
        "a call failing in the outage",
        |c| {
            c.iter()
                .any(|c| c.started >= stopped && c.outcome != Outcome::Ok)
        },
    )
    .await;
    assert_eq!(
        readyz(&http, &server.base).await,
        503,
        "readyz in the outage"
    );
    let left = down.saturating_sub(stopped.elapsed());
    tokio::time::sleep(left).await;
    pg.start();
    let back = Instant::now();
    wait_for(
        load,
        Duration::from_secs(60),
        "a call succeeding after the restart",
        |c| {
            c.iter()
                .any(|c| c.started >= back && c.outcome == Outcome::Ok)
        },
    )
    .await;
    let calls = load.snapshot();
    let recovered = calls
        .iter()
        .filter(|c| c.ended >= back && c.outcome == Outcome::Ok)
        .map(|c| c.ended)
        .min()
        .expect("a success")
        - back;
    let during: Vec<&Call> = calls[before..]
        .iter()
        .filter(|c| c.started >= stopped && c.ended <= back)
        .collect();
    let failed = during.iter().filter(|c| c.outcome != Outcome::Ok).count();
    eprintln!(
        "outage ({mode}): {:.1} s down, {} calls during it ({failed} failed clearly), first success {} ms after PostgreSQL accepted connections again",
        (back - stopped).as_secs_f64(),
        during.len(),
        recovered.as_millis()
    );
    assert!(
        failed > 0,
        "no call failed while PostgreSQL was down: {during:?}"
    );
    recovered
}

#[tokio::test]
async fn the_database_goes_away_under_load_and_comes_back() {
    let Some(pg) = PrivatePg::start_new() else {
        if std::env::var("PM_MCP_REQUIRE_PG_OUTAGE").as_deref() == Ok("1") {
            panic!(
                "PM_MCP_REQUIRE_PG_OUTAGE=1 but PostgreSQL's server binaries (initdb, pg_ctl) are not in /usr/lib/postgresql/*/bin or PM_MCP_PG_BIN"
            );
        }
        eprintln!(
            "note: PostgreSQL's server binaries are not installed (initdb, pg_ctl in /usr/lib/postgresql/*/bin); the database outage test is skipped"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.toml"), "").expect("config");
    let env = Env::postgres_at(&pg.url(), dir).await;
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let other_key = env.create_key("ann@acme.org", "read");
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", TOKEN),
        ))
        .await
    else {
        return;
    };
    // The load is one key at far more than a person's rate: the per-key limits are not what
    // this test is about.
    let server = env
        .serve(
            &[
                LOCAL_UPSTREAM,
                &["--rate-limit", "0", "--max-in-flight-per-key", "0"],
            ]
            .concat(),
        )
        .await;
    let load = Load::start(server.mcp_url(), key.clone(), jira.clone(), 4, 2);
    wait_for(&load, Duration::from_secs(30), "warm-up calls", |c| {
        c.iter().filter(|c| c.outcome == Outcome::Ok).count() >= 20
            && c.iter()
                .any(|c| c.tool == "configure_pm_provider" && c.outcome == Outcome::Ok)
    })
    .await;

    let fast = outage(&pg, &server, &load, "fast", Duration::from_secs(4)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let crash = outage(&pg, &server, &load, "immediate", Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = load.finish().await;

    // Every call ended with a clear answer, in bounded time: no hang, no 500, no opaque error.
    let unclear: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Unclear(_)))
        .collect();
    assert!(
        unclear.is_empty(),
        "calls without a clear answer: {unclear:#?}"
    );
    let slowest = calls
        .iter()
        .map(|c| c.ended - c.started)
        .max()
        .expect("calls");
    assert!(
        slowest < Duration::from_secs(15),
        "a call took {slowest:?}: requests hang instead of failing fast"
    );
    let count = |o: &Outcome| calls.iter().filter(|c| &c.outcome == o).count();
    eprintln!(
        "outage load: {} calls: {} ok, {} answered 503, {} tool errors naming the database; slowest {} ms",
        calls.len(),
        count(&Outcome::Ok),
        count(&Outcome::Http503),
        count(&Outcome::ToolDbError),
        slowest.as_millis()
    );
    for recovered in [fast, crash] {
        assert!(
            recovered < Duration::from_secs(30),
            "recovery took {recovered:?}"
        );
    }

    // Recovered for good: every call now works.
    let http = reqwest::Client::new();
    for tool in ["get_current_user", "list_providers"].repeat(5) {
        let outcome = rpc(&http, &server.mcp_url(), &key, tool, json!({})).await;
        assert_eq!(outcome, Outcome::Ok, "{tool} after recovery");
    }
    assert_eq!(readyz(&http, &server.base).await, 200);

    // Revocation still reaches this server after the restarts (the epoch watcher and the
    // LISTEN forwarder survived): the other key works, is revoked by the CLI, and stops.
    assert_eq!(
        rpc(
            &http,
            &server.mcp_url(),
            &other_key,
            "get_current_user",
            json!({})
        )
        .await,
        Outcome::Ok
    );
    env.ok(&["key", "revoke", "--user", "ann@acme.org", &other_key[..13]]);
    let revoked = Instant::now();
    loop {
        match rpc(
            &http,
            &server.mcp_url(),
            &other_key,
            "get_current_user",
            json!({}),
        )
        .await
        {
            Outcome::Ok => assert!(
                revoked.elapsed() < Duration::from_secs(2),
                "the revoked key still works 2 s later"
            ),
            Outcome::Unclear(why) if why.starts_with("401") => break,
            other => panic!("unexpected answer for a revoked key: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // The process stayed up through both outages and stops cleanly (flushing the audit trail).
    let logs = server.stop().await;
    assert!(!logs.contains("panicked"), "a panic in the logs");

    // Every acknowledged write is stored, whole; nothing is stored that was not attempted.
    let acknowledged: Vec<&str> = calls
        .iter()
        .filter(|c| c.outcome == Outcome::Ok)
        .filter_map(|c| c.name.as_deref())
        .collect();
    let attempted: Vec<&str> = calls.iter().filter_map(|c| c.name.as_deref()).collect();
    assert!(!acknowledged.is_empty());
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&env.db_url)
        .await
        .expect("pg");
    let rows: Vec<(String, Vec<u8>, String, uuid::Uuid)> = sqlx::query_as(
        "SELECT name, credentials_ciphertext, key_id, id FROM pm_provider_connections",
    )
    .fetch_all(&mut db)
    .await
    .expect("connections");
    for name in &acknowledged {
        assert!(
            rows.iter().any(|(n, ..)| n == name),
            "{name} was acknowledged but is not stored"
        );
    }
    for (name, sealed, key_id, _) in &rows {
        assert!(
            attempted.contains(&name.as_str()),
            "{name} was never asked for"
        );
        assert!(
            !sealed.is_empty() && !key_id.is_empty(),
            "{name} is stored without its credentials"
        );
    }
    // Every acknowledged write has its audit row (events of the outage were kept and written).
    let audited: Vec<(Option<uuid::Uuid>,)> = sqlx::query_as(
        "SELECT connection_id FROM audit_events WHERE tool = 'configure_pm_provider' AND outcome = 'ok'",
    )
    .fetch_all(&mut db)
    .await
    .expect("audit");
    for (name, _, _, id) in &rows {
        if acknowledged.contains(&name.as_str()) {
            assert!(
                audited.iter().any(|(c,)| *c == Some(*id)),
                "{name} has no audit row"
            );
        }
    }
    eprintln!(
        "writes: {} attempted, {} acknowledged, {} stored (unacknowledged ones may or may not be)",
        attempted.len(),
        acknowledged.len(),
        rows.len()
    );
    drop(db);
    // The credentials open: a sample of the stored connections passes test_pm_provider.
    let server = env.serve(LOCAL_UPSTREAM).await;
    for name in acknowledged.iter().rev().take(5) {
        let body = rpc(
            &http,
            &server.mcp_url(),
            &key,
            "test_pm_provider",
            json!({ "provider_id": name }),
        )
        .await;
        assert_eq!(body, Outcome::Ok, "test_pm_provider {name}");
    }
    drop(server);
    env.finish().await;
    drop(pg);
}
