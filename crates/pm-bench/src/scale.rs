//! Scale figures: many idle MCP sessions held by one server, and many configured users (each with
//! a key and a Jira connection) created through pm-store's own API, then each calling once.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use futures::{StreamExt, TryStreamExt};
use pm_core::{
    AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Email, ProviderKind, Scope, Scopes, Secret,
};
use pm_store::{
    ApiKey, DatabaseUrl, MasterKeys, NewApiKey, NewConnection, NewUser, ProviderCredentials,
};
use serde_json::json;

use crate::{Target, http_client, mcp, procstat};

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn sessions(target: &Target, n: usize, pid: u32, concurrency: usize) -> Result<()> {
    procstat::check_pid(pid)?;
    let http = http_client()?;
    // One tools/list first so the idle figure is of a server that has answered.
    let mut first = mcp::Client::connect(
        http.clone(),
        &target.url,
        &target.authorization,
        mcp::Mode::Session,
    )
    .await?;
    first
        .request("tools/list", &json!({}))
        .await
        .map_err(|f| anyhow!("tools/list in a session failed: {f}"))?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = procstat::rss_kib(pid);
    let t = Instant::now();
    let opened: Vec<mcp::Client> = futures::stream::iter(0..n)
        .map(|_| {
            mcp::Client::connect(
                http.clone(),
                &target.url,
                &target.authorization,
                mcp::Mode::Session,
            )
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let took = t.elapsed();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let after = procstat::rss_kib(pid);
    eprintln!(
        "  {n} idle sessions opened in {:.1} s: RSS {:.1} MiB -> {:.1} MiB ({:.2} KiB a session)",
        took.as_secs_f64(),
        mib(before),
        mib(after),
        after.saturating_sub(before) as f64 / n.max(1) as f64
    );
    println!(
        "{}",
        json!({ "kind": "scale", "label": format!("{n} idle sessions (serve --sessions)"),
                "rss_before_kib": before, "rss_after_kib": after, "n": n, "seconds": took.as_secs_f64() })
    );
    drop(opened);
    Ok(())
}

#[derive(clap::Args)]
pub struct SeedArgs {
    /// postgres://… or sqlite:///path
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database: String,
    #[arg(long, env = "PM_MCP_MASTER_KEY", hide_env_values = true)]
    master_key: String,
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    /// The Jira every user's connection points at
    #[arg(long)]
    jira_url: String,
    #[arg(long, default_value = "jira")]
    connection: String,
    /// Where the keys go, one a line (kept private to the benchmark's work folder)
    #[arg(long)]
    keys_out: PathBuf,
}

pub async fn seed_users(a: SeedArgs) -> Result<()> {
    let url = DatabaseUrl::parse(&a.database).map_err(|e| anyhow!("{e}"))?;
    let store = pm_store::open(&url)
        .await
        .context("cannot open the database")?;
    store.migrate().await.context("migrations")?;
    let keys = MasterKeys::parse(&a.master_key, None).map_err(|e| anyhow!("{e}"))?;
    let base = BaseUrl::parse(&a.jira_url, true).map_err(|e| anyhow!("{e}"))?;
    let handle = ConnectionHandle::parse(&a.connection).map_err(|e| anyhow!("{e}"))?;
    let run = uuid_free_tag();
    let t = Instant::now();
    let made: Vec<String> = futures::stream::iter(0..a.n)
        .map(|i| {
            let (store, keys, base, handle) = (store.clone(), &keys, base.clone(), handle.clone());
            let run = run.clone();
            async move {
                let email = Email::parse(&format!("user{i}.{run}@bench.example.org"))
                    .map_err(|e| anyhow!("{e}"))?;
                let user = NewUser::new(email.clone(), format!("User {i}"), false);
                let uid = user.id;
                let key = ApiKey::generate();
                let row = NewApiKey::for_key(&key, uid, "bench", Scopes::only(Scope::Read), None);
                store.add_user_with_key(user, row).await?;
                let id = ConnectionId::new();
                let creds = ProviderCredentials {
                    username: Some(email.to_string()),
                    token: Secret::new(format!("jira-token-{i}")),
                };
                store
                    .add_connection(NewConnection {
                        id,
                        user_id: uid,
                        name: handle,
                        provider_type: ProviderKind::JiraCloud,
                        base_url: base,
                        auth_kind: AuthKind::Basic,
                        sealed: creds.seal(keys, id, uid),
                        config: pm_core::ConnectionOptions::default(),
                        is_active: true,
                        external_id: None,
                        display_name: None,
                    })
                    .await?;
                Ok::<String, anyhow::Error>(key.expose().to_string())
            }
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    let mut f = std::fs::File::create(&a.keys_out)
        .with_context(|| format!("cannot write {}", a.keys_out.display()))?;
    for k in &made {
        writeln!(f, "{k}")?;
    }
    eprintln!(
        "  {} users with a key and a Jira connection each, created in {:.1} s",
        made.len(),
        t.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}

/// A tag that keeps e-mails of separate seed runs apart.
fn uuid_free_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}", nanos % 0xffff_ffff)
}

pub async fn touch_users(
    url: &str,
    keys: &Path,
    pid: u32,
    concurrency: usize,
    connection: &str,
) -> Result<()> {
    procstat::check_pid(pid)?;
    let text =
        std::fs::read_to_string(keys).with_context(|| format!("cannot read {}", keys.display()))?;
    let keys: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let http = http_client()?;
    let before = procstat::rss_kib(pid);
    let t = Instant::now();
    let results: Vec<bool> = futures::stream::iter(keys.iter().enumerate())
        .map(|(i, key)| {
            let http = http.clone();
            async move {
                let Ok(mut c) =
                    mcp::Client::connect(http, url, &format!("Bearer {key}"), mcp::Mode::Stateless)
                        .await
                else {
                    return false;
                };
                let args = json!({ "name": "get_task", "arguments": { "task_id": format!("{connection}:EX-{}", i % 50 + 1) } });
                c.request("tools/call", &args).await.is_ok()
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let took = t.elapsed();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let after = procstat::rss_kib(pid);
    let failed = results.iter().filter(|ok| !**ok).count();
    eprintln!(
        "  {} users called get_task once each in {:.1} s ({} failed): RSS {:.1} MiB -> {:.1} MiB",
        keys.len(),
        took.as_secs_f64(),
        failed,
        mib(before),
        mib(after)
    );
    println!(
        "{}",
        json!({ "kind": "scale", "label": format!("{} configured users, each after one get_task", keys.len()),
                "rss_before_kib": before, "rss_after_kib": after, "n": keys.len(), "failed": failed,
                "seconds": took.as_secs_f64() })
    );
    Ok(())
}
