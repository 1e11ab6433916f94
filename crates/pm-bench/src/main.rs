//! `pm-bench`: the pieces of `scripts/bench` (issue 9) that need more than a shell — the static
//! fake Jira's files, the closed-loop MCP load generator, the upstream's own speed, idle sessions,
//! many configured users, and the report. Measures; asserts nothing about timing.
mod load;
mod mcp;
mod procstat;
mod report;
mod scale;
mod sse;
mod upstream;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "pm-bench",
    about = "Benchmark pieces for scripts/bench (issue 9)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the static fake Jira's JSON files from the spec's examples
    Upstream {
        #[arg(long)]
        spec: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 50)]
        issues: usize,
    },
    /// One row: N MCP clients in a closed loop on one workload; appends a JSON line to --out
    Run(RunArgs),
    /// The upstream's own speed: N clients in a closed loop of plain GETs (or POSTs)
    Http(HttpArgs),
    /// N clients each opening a new legacy `/sse` connection per call, as the reference's agent
    /// backend does; appends a JSON line to --out
    Sse(SseArgs),
    /// One MCP call; prints the result's size, its tool count and the JSON-RPC message
    Call {
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum)]
        workload: Workload,
        /// Print the result too
        #[arg(long)]
        show: bool,
        /// Print a `tools_bytes` results line with this label instead
        #[arg(long)]
        label: Option<String>,
    },
    /// Opens N idle MCP sessions and reports the server's resident memory before and after
    Sessions {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Creates N users, each with a read key and a Jira connection; writes the keys to a file
    SeedUsers(scale::SeedArgs),
    /// Every key of a file makes one get_task call; reports the server's memory before and after
    TouchUsers {
        #[arg(long)]
        url: String,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value = "jira")]
        connection: String,
    },
    /// Prints a results line with the resident memory of a process tree now
    Rss {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        label: String,
    },
    /// Prints the tables from the JSON lines the other commands wrote
    Report { file: PathBuf },
    /// Fails when a row of the run went wrong: an MCP row with errors or no answered call, or a
    /// size probe that failed (what the CI smoke run checks; it judges no timing)
    Check { file: PathBuf },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Server {
    /// pm-mcp: get_task, list_tasks
    Pm,
    /// mcp-atlassian: jira_get_issue, jira_get_project_issues
    Peer,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    ToolsList,
    GetTask,
    ListTasks,
}

#[derive(clap::Args, Clone)]
pub struct Target {
    /// The MCP endpoint
    #[arg(long)]
    url: String,
    /// The Authorization header's value (`Bearer pmcp_…`, `Token …`)
    #[arg(long, env = "BENCH_AUTHORIZATION", hide_env_values = true)]
    authorization: String,
    #[arg(long, value_enum)]
    server: Server,
    /// Open a session per client (initialize first) instead of stateless requests
    #[arg(long)]
    session: bool,
    /// pm-mcp's connection name, the prefix of its ids
    #[arg(long, default_value = "jira")]
    connection: String,
}

impl Target {
    fn mode(&self) -> mcp::Mode {
        if self.session {
            mcp::Mode::Session
        } else {
            mcp::Mode::Stateless
        }
    }

    /// The JSON-RPC method and params of call number `n` of `w`.
    fn call(&self, w: Workload, n: usize) -> (&'static str, Value) {
        let issue = format!("{}-{}", upstream::PROJECT, n % 50 + 1);
        match (w, self.server) {
            (Workload::ToolsList, _) => ("tools/list", json!({})),
            (Workload::GetTask, Server::Pm) => (
                "tools/call",
                json!({ "name": "get_task", "arguments": { "task_id": format!("{}:{issue}", self.connection) } }),
            ),
            (Workload::GetTask, Server::Peer) => (
                "tools/call",
                json!({ "name": "jira_get_issue", "arguments": { "issue_key": issue } }),
            ),
            (Workload::ListTasks, Server::Pm) => (
                "tools/call",
                json!({ "name": "list_tasks", "arguments": { "project_id": format!("{}:{}", self.connection, upstream::PROJECT), "limit": 50 } }),
            ),
            (Workload::ListTasks, Server::Peer) => (
                "tools/call",
                json!({ "name": "jira_get_project_issues", "arguments": { "project_key": upstream::PROJECT, "limit": 50 } }),
            ),
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// Row label, e.g. "pm-mcp sqlite"
    #[arg(long)]
    label: String,
    #[arg(long, value_enum)]
    workload: Workload,
    #[arg(long)]
    clients: usize,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// The server's process id (CPU and memory of its process tree)
    #[arg(long)]
    pid: Option<u32>,
    /// nginx stub_status URL (upstream requests per call)
    #[arg(long)]
    upstream_status: Option<String>,
    /// JSON lines file to append the row to
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct SseArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8765
    #[arg(long)]
    base: String,
    /// An API key (sent as X-MCP-API-Key, as the backend does)
    #[arg(long)]
    key: String,
    #[arg(long, value_enum)]
    mode: sse::SseMode,
    #[arg(long)]
    label: String,
    #[arg(long)]
    clients: usize,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct HttpArgs {
    #[arg(long)]
    url: String,
    /// Send this body as a POST instead of a GET
    #[arg(long)]
    post: Option<String>,
    #[arg(long)]
    label: String,
    #[arg(long)]
    clients: usize,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long)]
    out: PathBuf,
}

/// A pool sized for the largest client count: one keep-alive connection per client.
pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")
}

struct McpWorker {
    client: mcp::Client,
    target: Target,
    workload: Workload,
    n: usize,
    step: usize,
}

impl load::Worker for McpWorker {
    async fn call(&mut self) -> std::result::Result<(), String> {
        let (method, params) = self.target.call(self.workload, self.n);
        self.n += self.step;
        self.client
            .call(method, &params)
            .await
            .map_err(|f| f.to_string())
    }
}

struct HttpWorker {
    http: reqwest::Client,
    url: String,
    post: Option<String>,
}

impl load::Worker for HttpWorker {
    async fn call(&mut self) -> std::result::Result<(), String> {
        let req = match &self.post {
            Some(body) => self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body.clone()),
            None => self.http.get(&self.url),
        };
        let res = req.send().await.map_err(|_| "transport".to_string())?;
        let status = res.status();
        res.bytes().await.map_err(|_| "transport".to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("http {}", status.as_u16()))
        }
    }
}

fn append(out: &PathBuf, row: &Value) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    writeln!(f, "{row}")?;
    Ok(())
}

fn secs(s: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(s).context("a duration must be a non-negative number of seconds")
}

async fn run(a: RunArgs) -> Result<()> {
    if a.clients == 0 {
        bail!("--clients must be at least 1");
    }
    if let Some(pid) = a.pid {
        procstat::check_pid(pid)?;
    }
    let http = http_client()?;
    // Sessions are opened before the warm-up, a few at a time (a slow server takes seconds).
    let mut workers = Vec::with_capacity(a.clients);
    for i in 0..a.clients {
        let client = mcp::Client::connect(
            http.clone(),
            &a.target.url,
            &a.target.authorization,
            a.target.mode(),
        )
        .await
        .with_context(|| format!("client {i} cannot connect"))?;
        workers.push(McpWorker {
            client,
            target: a.target.clone(),
            workload: a.workload,
            n: i,
            step: a.clients,
        });
    }
    let plan = load::Plan {
        warmup: secs(a.warmup)?,
        measure: secs(a.seconds)?,
    };
    let watch = load::Watch {
        pid: a.pid,
        upstream_status: a.upstream_status.clone(),
    };
    let o = load::run(workers, plan, &watch).await?;
    let row = json!({
        "kind": "mcp",
        "label": a.label,
        "server": match a.target.server { Server::Pm => "pm", Server::Peer => "peer" },
        "workload": a.workload,
        "clients": a.clients,
        "outcome": o,
    });
    eprintln!(
        "  {:<22} {:<10} {:>3} clients: {:>9.1} calls/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}{}",
        a.label,
        workload_name(a.workload),
        a.clients,
        o.calls_per_s,
        o.p50_ms,
        o.p99_ms,
        o.errors,
        if o.error_kinds.is_empty() {
            String::new()
        } else {
            format!(" {:?}", o.error_kinds)
        }
    );
    append(&a.out, &row)
}

pub fn workload_name(w: Workload) -> &'static str {
    match w {
        Workload::ToolsList => "tools/list",
        Workload::GetTask => "get task",
        Workload::ListTasks => "list tasks",
    }
}

async fn http(a: HttpArgs) -> Result<()> {
    let http = http_client()?;
    let workers: Vec<HttpWorker> = (0..a.clients.max(1))
        .map(|_| HttpWorker {
            http: http.clone(),
            url: a.url.clone(),
            post: a.post.clone(),
        })
        .collect();
    let plan = load::Plan {
        warmup: secs(a.warmup)?,
        measure: secs(a.seconds)?,
    };
    let o = load::run(
        workers,
        plan,
        &load::Watch {
            pid: a.pid,
            upstream_status: None,
        },
    )
    .await?;
    eprintln!(
        "  {:<34} {:>3} clients: {:>9.1} requests/s  p50 {:>6.3} ms  p99 {:>6.3} ms  errors {}",
        a.label, a.clients, o.calls_per_s, o.p50_ms, o.p99_ms, o.errors
    );
    append(
        &a.out,
        &json!({ "kind": "upstream", "label": a.label, "clients": a.clients, "outcome": o }),
    )
}

async fn sse(a: SseArgs) -> Result<()> {
    if a.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let http = http_client()?;
    sse::probe(&http, &a.base, &a.key).await?;
    let workers: Vec<sse::SseWorker> = (0..a.clients)
        .map(|_| sse::SseWorker {
            http: http.clone(),
            base: a.base.trim_end_matches('/').to_string(),
            key: a.key.clone(),
            mode: a.mode,
        })
        .collect();
    let plan = load::Plan {
        warmup: secs(a.warmup)?,
        measure: secs(a.seconds)?,
    };
    let o = load::run(
        workers,
        plan,
        &load::Watch {
            pid: a.pid,
            upstream_status: None,
        },
    )
    .await?;
    eprintln!(
        "  {:<22} sse {:<5} {:>3} clients: {:>9.1} per s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
        a.label,
        match a.mode {
            sse::SseMode::Open => "open",
            sse::SseMode::Call => "call",
        },
        a.clients,
        o.calls_per_s,
        o.p50_ms,
        o.p99_ms,
        o.errors
    );
    append(
        &a.out,
        &json!({ "kind": "sse", "label": a.label, "mode": a.mode, "clients": a.clients, "outcome": o }),
    )
}

async fn call(target: Target, workload: Workload, show: bool, label: Option<String>) -> Result<()> {
    let http = http_client()?;
    let mut c =
        mcp::Client::connect(http, &target.url, &target.authorization, target.mode()).await?;
    let (method, params) = target.call(workload, 0);
    let (result, bytes) = c
        .request(method, &params)
        .await
        .map_err(|f| anyhow::anyhow!("{method} failed: {f}"))?;
    let tools = result["tools"].as_array().map(Vec::len);
    match label {
        Some(label) => println!(
            "{}",
            json!({ "kind": "tools_bytes", "label": label, "bytes": bytes, "tools": tools })
        ),
        None => println!("{}", json!({ "bytes": bytes, "tools": tools })),
    }
    if show {
        println!("{}", serde_json::to_string_pretty(&result)?);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Upstream { spec, out, issues } => {
            let files = upstream::generate(&spec, &out, issues)?;
            eprintln!("wrote {} files under {}", files.len(), out.display());
            Ok(())
        }
        Cmd::Run(a) => run(a).await,
        Cmd::Http(a) => http(a).await,
        Cmd::Sse(a) => sse(a).await,
        Cmd::Call {
            target,
            workload,
            show,
            label,
        } => call(target, workload, show, label).await,
        Cmd::Sessions {
            target,
            n,
            pid,
            concurrency,
        } => scale::sessions(&target, n, pid, concurrency).await,
        Cmd::SeedUsers(a) => scale::seed_users(a).await,
        Cmd::TouchUsers {
            url,
            keys,
            pid,
            concurrency,
            connection,
        } => scale::touch_users(&url, &keys, pid, concurrency, &connection).await,
        Cmd::Rss { pid, label } => {
            procstat::check_pid(pid)?;
            let kib = procstat::rss_kib(pid);
            let (anon, file) = procstat::rss_split_kib(pid);
            println!(
                "{}",
                json!({ "kind": "rss", "label": label, "kib": kib, "anon_kib": anon, "file_kib": file })
            );
            Ok(())
        }
        Cmd::Report { file } => report::print(&file),
        Cmd::Check { file } => report::check(&file),
    }
}
