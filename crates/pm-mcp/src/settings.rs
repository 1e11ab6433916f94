//! Resolved configuration: command-line flags and environment (both through clap) over the TOML
//! file over defaults. Also where the database and the master key come from.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use pm_store::{DatabaseUrl, MasterKeys, Store};
use serde::Deserialize;

use crate::cli::{GlobalArgs, LogFormat, UpstreamArgs};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

/// The optional TOML file. Unknown keys are an error, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    /// A file holding the master key (instead of PM_MCP_MASTER_KEY).
    pub master_key_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    /// Where `/metrics` is served (nowhere when unset).
    pub metrics_listen: Option<SocketAddr>,
    pub instance_id: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub public_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    /// Seconds (see `serve --help`).
    pub header_read_timeout: Option<u64>,
    pub idle_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub rate_limit: Option<u32>,
    pub rate_burst: Option<u32>,
    pub max_in_flight_per_key: Option<u32>,
    pub sessions: Option<bool>,
    pub allow_http_providers: Option<bool>,
    /// Hosts and CIDR blocks pm-mcp may call although they are loopback, private or link-local.
    pub allow_upstream: Option<Vec<String>>,
    pub read_only: Option<bool>,
    pub toolsets: Option<Vec<String>>,
    // Tracker calls (see `UpstreamArgs`).
    pub upstream_proxy: Option<String>,
    pub upstream_no_proxy: Option<Vec<String>>,
    pub upstream_timeout: Option<u64>,
    pub upstream_attempts: Option<u32>,
    pub upstream_max_body_bytes: Option<usize>,
    pub upstream_retry_wait_max: Option<u64>,
    pub upstream_concurrency: Option<usize>,
    pub breaker_threshold: Option<u32>,
    pub breaker_window: Option<u64>,
    pub breaker_cooldown: Option<u64>,
}

impl FileConfig {
    /// Reads `--config`, or the default file when it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match dirs::config_dir().map(|d| d.join("pm-mcp/config.toml")) {
                Some(p) if p.exists() => p,
                _ => return Ok(Self::default()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow!("config file {} is invalid: {}", path.display(), e.message()))
    }
}

/// Settings every command shares.
pub struct Common {
    pub database: DatabaseUrl,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub file: FileConfig,
    /// The config file named with `--config` / `PM_MCP_CONFIG` (not the default one).
    pub config_file: Option<PathBuf>,
    /// Whether the data folder is the default one (nobody chose another).
    pub default_data_dir: bool,
}

impl Common {
    pub fn resolve(global: &GlobalArgs) -> Result<Self> {
        let file = FileConfig::load(global.config.as_deref())?;
        let default_dir = dirs::data_dir().map(|d| d.join("pm-mcp"));
        let data_dir = match global.data_dir.clone().or_else(|| file.data_dir.clone()) {
            Some(d) => d,
            None => default_dir.clone().ok_or_else(|| {
                anyhow!(
                    "cannot find a data folder for this user; set PM_MCP_DATA_DIR or --data-dir"
                )
            })?,
        };
        let default_data_dir = default_dir.as_ref() == Some(&data_dir);
        let database = match global
            .database_url
            .as_deref()
            .or(file.database_url.as_deref())
        {
            Some(url) => DatabaseUrl::parse(url).map_err(|e| anyhow!("DATABASE_URL: {e}"))?,
            None => DatabaseUrl::Sqlite(data_dir.join("pm-mcp.db").display().to_string()),
        };
        let log_format = global
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text);
        Ok(Self {
            database,
            data_dir,
            log_format,
            file,
            config_file: global.config.clone(),
            default_data_dir,
        })
    }

    /// How an MCP client starts `pm-mcp stdio` on this same database: this binary by its absolute
    /// path, with the config file, data folder and SQLite file this command was given (absolute
    /// paths, as the client starts it in another folder). A PostgreSQL URL and the master key are
    /// secrets, so they are not printed: the note says they are needed.
    pub fn stdio_launch(&self) -> crate::clients::StdioLaunch {
        let abs = |p: &Path| {
            std::fs::canonicalize(p)
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        let mut env = Vec::new();
        if let Some(config) = &self.config_file {
            env.push(("PM_MCP_CONFIG".to_string(), abs(config)));
        }
        if !self.default_data_dir {
            env.push(("PM_MCP_DATA_DIR".to_string(), abs(&self.data_dir)));
        }
        let mut secrets = Vec::new();
        match &self.database {
            DatabaseUrl::Sqlite(path) => {
                if Path::new(path) != self.data_dir.join("pm-mcp.db") {
                    env.push((
                        "DATABASE_URL".to_string(),
                        format!("sqlite://{}", abs(Path::new(path))),
                    ));
                }
            }
            DatabaseUrl::Postgres(_) => secrets.push("DATABASE_URL"),
        }
        if std::env::var_os("PM_MCP_MASTER_KEY").is_some() {
            secrets.push("PM_MCP_MASTER_KEY");
        }
        let note = (!secrets.is_empty()).then(|| {
            format!(
                "the stdio command also needs {} in its environment, as this one has; they hold secrets, so they are not printed",
                secrets.join(" and ")
            )
        });
        crate::clients::StdioLaunch::this_binary(env, note)
    }

    /// Opens the database (not migrating).
    pub async fn open_store(&self) -> Result<Arc<dyn Store>> {
        pm_store::open(&self.database).await.map_err(|e| {
            anyhow!(
                "cannot open the database at {}: {e}",
                self.database.display()
            )
        })
    }

    /// Opens the database and makes sure its schema is current: migrates, or with `no_migrate`
    /// refuses to run on a database with pending migrations.
    pub async fn open_migrated(&self, no_migrate: bool) -> Result<Arc<dyn Store>> {
        let store = self.open_store().await?;
        if no_migrate {
            let pending = store
                .pending_migrations()
                .await
                .map_err(|e| anyhow!("cannot read the schema version: {e}"))?;
            if pending > 0 {
                bail!(
                    "the database schema is {pending} migration(s) behind; run `pm-mcp migrate` (or start without --no-migrate)"
                );
            }
        } else {
            store.migrate().await.map_err(|e| anyhow!("{e}"))?;
        }
        Ok(store)
    }

    /// The master keys: PM_MCP_MASTER_KEY (plus PM_MCP_OLD_MASTER_KEYS), or the configured key
    /// file, or — for an SQLite database only (personal use) — a key file in the data dir,
    /// created with mode 0600 on first use.
    pub fn master_keys(&self) -> Result<MasterKeys> {
        let old = std::env::var("PM_MCP_OLD_MASTER_KEYS").ok();
        if let Ok(current) = std::env::var("PM_MCP_MASTER_KEY") {
            return MasterKeys::parse(&current, old.as_deref())
                .map_err(|e| anyhow!("PM_MCP_MASTER_KEY: {e}"));
        }
        let (path, may_create) = match &self.file.master_key_file {
            Some(p) => (p.clone(), false),
            None if self.database.engine() == "sqlite" => (self.data_dir.join("master.key"), true),
            None => bail!(
                "PM_MCP_MASTER_KEY is required with PostgreSQL, so that every replica seals and opens credentials with the same key; generate one with `openssl rand -base64 32`"
            ),
        };
        if !may_create && !path.exists() {
            bail!("master key file {} does not exist", path.display());
        }
        let (text, created) = MasterKeys::load_or_create_file(&path).map_err(|e| anyhow!("{e}"))?;
        if created {
            tracing::info!(path = %path.display(), "created a new master key file (mode 0600); back it up with the database");
        }
        MasterKeys::parse(&text, old.as_deref())
            .map_err(|e| anyhow!("master key file {}: {e}", path.display()))
    }
}

impl Common {
    /// The master keys as configured, never creating a key file: for commands that must use the
    /// key the operator chose (a rotation re-seals everything with it).
    pub fn existing_master_keys(&self) -> Result<MasterKeys> {
        if std::env::var_os("PM_MCP_MASTER_KEY").is_none() {
            let path = self
                .file
                .master_key_file
                .clone()
                .unwrap_or_else(|| self.data_dir.join("master.key"));
            if self.file.master_key_file.is_none() && self.database.engine() != "sqlite" {
                bail!(
                    "PM_MCP_MASTER_KEY is not set: give the new master key there, and the old one(s) in PM_MCP_OLD_MASTER_KEYS"
                );
            }
            if !path.exists() {
                bail!(
                    "no master key: PM_MCP_MASTER_KEY is not set and {} does not exist; give the new master key in PM_MCP_MASTER_KEY and the old one(s) in PM_MCP_OLD_MASTER_KEYS",
                    path.display()
                );
            }
        }
        self.master_keys()
    }
}

/// Refuses to start when stored credentials were sealed by a master key that is not configured:
/// every tool would fail on them. Says which key is missing.
pub async fn check_master_keys(store: &dyn Store, keys: &MasterKeys) -> Result<()> {
    let counts = store
        .count_connections_by_key()
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let missing: Vec<String> = counts
        .iter()
        .filter(|(id, _)| !keys.knows(id))
        .map(|(id, n)| format!("{n} sealed with key {id}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the configured master key ({}) cannot open stored credentials ({}); set PM_MCP_MASTER_KEY to the key they were sealed with, or add that key to PM_MCP_OLD_MASTER_KEYS",
            keys.ids().join(", "),
            missing.join("; ")
        );
    }
    Ok(())
}

/// The URL clients reach `/mcp` at, for printed configs: the public URL (`--public-url` or
/// `PM_MCP_PUBLIC_URL`, else the file's `public_url`), else one derived from the listen address
/// (`--listen` or `PM_MCP_LISTEN`, else the file's `listen`), else from the default address —
/// in which case the second value is true, so the caller can say it guessed.
pub fn client_url(
    file: &FileConfig,
    public_url: Option<&str>,
    listen: Option<SocketAddr>,
) -> Result<(String, bool)> {
    let public = public_url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| (u, "--public-url / PM_MCP_PUBLIC_URL"))
        .or_else(|| {
            file.public_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| (u, "public_url in the config file"))
        });
    if let Some((url, from)) = public {
        let parsed = url::Url::parse(url).map_err(|e| {
            anyhow!("{from}: {url:?} is not a URL ({e}); expected e.g. https://mcp.acme.org/mcp")
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            bail!(
                "{from}: {url:?} must be an http:// or https:// URL, e.g. https://mcp.acme.org/mcp"
            );
        }
        return Ok((crate::clients::mcp_url(Some(url), default_listen()), false));
    }
    let listen = listen.or(file.listen);
    let guessed = listen.is_none();
    Ok((
        crate::clients::mcp_url(None, listen.unwrap_or_else(default_listen)),
        guessed,
    ))
}

/// `127.0.0.1:8765`.
pub fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8765)))
}

/// The server's tool policy: `--read-only` / `--toolsets` (or their environment), else the file.
/// Unknown toolset names are refused.
pub fn tool_policy(
    file: &FileConfig,
    read_only: bool,
    toolsets: &[String],
) -> Result<(bool, Option<Vec<String>>)> {
    let sets: Vec<String> = toolsets
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let sets = if sets.is_empty() {
        file.toolsets.clone()
    } else {
        Some(sets)
    };
    for s in sets.iter().flatten() {
        pm_server::tools::check_toolset_name(s).map_err(anyhow::Error::msg)?;
    }
    Ok((read_only || file.read_only.unwrap_or(false), sets))
}

/// The per-key limits: flags (or their environment) over the file over the defaults.
pub fn key_limits(
    file: &FileConfig,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    max_in_flight: Option<u32>,
) -> pm_server::KeyLimits {
    let default = pm_server::KeyLimits::default();
    pm_server::KeyLimits {
        rate_per_sec: rate_limit
            .or(file.rate_limit)
            .unwrap_or(default.rate_per_sec),
        burst: rate_burst.or(file.rate_burst).unwrap_or(default.burst),
        max_in_flight: max_in_flight
            .or(file.max_in_flight_per_key)
            .unwrap_or(default.max_in_flight),
    }
}

/// The bounds on slow clients and open connections: flag or environment over the file over the
/// defaults. Zero is refused: a timeout of nothing or no connections at all is never meant.
pub fn conn_limits(
    file: &FileConfig,
    header_read_timeout: Option<u64>,
    idle_timeout: Option<u64>,
    max_connections: Option<usize>,
) -> Result<pm_server::listen::ConnLimits> {
    let defaults = pm_server::listen::ConnLimits::default();
    let secs =
        |flag: Option<u64>, file: Option<u64>, default: std::time::Duration, name: &str| match flag
            .or(file)
        {
            Some(0) => Err(anyhow!("--{name} must be at least 1 second")),
            Some(s) => Ok(std::time::Duration::from_secs(s)),
            None => Ok(default),
        };
    let max_connections = match max_connections.or(file.max_connections) {
        Some(0) => bail!("--max-connections must be at least 1"),
        Some(n) => n,
        None => defaults.max_connections,
    };
    Ok(pm_server::listen::ConnLimits {
        header_read_timeout: secs(
            header_read_timeout,
            file.header_read_timeout,
            defaults.header_read_timeout,
            "header-read-timeout",
        )?,
        idle_timeout: secs(
            idle_timeout,
            file.idle_timeout,
            defaults.idle_timeout,
            "idle-timeout",
        )?,
        max_connections,
    })
}
/// One tracker-call setting: the flag (or its environment variable) over the file over the
/// default, refused outside `range` with the names it can be set by.
fn bounded<T>(
    flag: Option<T>,
    file: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    name: &str,
) -> Result<T>
where
    T: PartialOrd + Copy + std::fmt::Display,
{
    let value = flag.or(file).unwrap_or(default);
    if !range.contains(&value) {
        bail!(
            "--{name} (PM_MCP_{}, {} in the config file) must be from {} to {}, not {value}",
            name.replace('-', "_").to_ascii_uppercase(),
            name.replace('-', "_"),
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

/// How trackers are called: flags (or their environment) over the file over the defaults, each
/// checked; the proxy's credentials from `env` only (`PM_MCP_UPSTREAM_PROXY_USER`,
/// `PM_MCP_UPSTREAM_PROXY_PASSWORD`).
pub fn upstream(
    file: &FileConfig,
    args: &UpstreamArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<pm_server::UpstreamConfig> {
    use std::time::Duration;
    let d = pm_server::UpstreamConfig::default();
    let timeout = bounded(
        args.upstream_timeout,
        file.upstream_timeout,
        d.timeout.as_secs(),
        1..=3600,
        "upstream-timeout",
    )?;
    let max_attempts = bounded(
        args.upstream_attempts,
        file.upstream_attempts,
        d.max_attempts,
        1..=10,
        "upstream-attempts",
    )?;
    let max_body_bytes = bounded(
        args.upstream_max_body_bytes,
        file.upstream_max_body_bytes,
        d.max_body_bytes,
        64 * 1024..=1024 * 1024 * 1024,
        "upstream-max-body-bytes",
    )?;
    let max_retry_wait = bounded(
        args.upstream_retry_wait_max,
        file.upstream_retry_wait_max,
        d.max_retry_wait.as_secs(),
        0..=300,
        "upstream-retry-wait-max",
    )?;
    let max_concurrency_per_connection = bounded(
        args.upstream_concurrency,
        file.upstream_concurrency,
        d.max_concurrency_per_connection,
        1..=256,
        "upstream-concurrency",
    )?;
    let breaker = pm_server::BreakerSettings {
        threshold: bounded(
            args.breaker_threshold,
            file.breaker_threshold,
            d.breaker.threshold,
            0..=1000,
            "breaker-threshold",
        )?,
        window: Duration::from_secs(bounded(
            args.breaker_window,
            file.breaker_window,
            d.breaker.window.as_secs(),
            1..=86_400,
            "breaker-window",
        )?),
        cooldown: Duration::from_secs(bounded(
            args.breaker_cooldown,
            file.breaker_cooldown,
            d.breaker.cooldown.as_secs(),
            1..=86_400,
            "breaker-cooldown",
        )?),
    };
    let proxy = args
        .upstream_proxy
        .clone()
        .or_else(|| file.upstream_proxy.clone())
        .filter(|u| !u.trim().is_empty());
    let proxy = match proxy {
        None => None,
        Some(url) => {
            let no_proxy: Vec<String> = if args.upstream_no_proxy.is_empty() {
                file.upstream_no_proxy.clone().unwrap_or_default()
            } else {
                args.upstream_no_proxy.clone()
            };
            let user = env("PM_MCP_UPSTREAM_PROXY_USER").filter(|u| !u.is_empty());
            let password = env("PM_MCP_UPSTREAM_PROXY_PASSWORD").filter(|p| !p.is_empty());
            let credentials = match (user, password) {
                (Some(user), password) => {
                    Some((user, pm_core::Secret::new(password.unwrap_or_default())))
                }
                (None, Some(_)) => bail!(
                    "PM_MCP_UPSTREAM_PROXY_PASSWORD is set without PM_MCP_UPSTREAM_PROXY_USER; set both"
                ),
                (None, None) => None,
            };
            Some(
                pm_server::UpstreamProxy::new(&url, credentials, &no_proxy)
                    .map_err(|e| anyhow!("--upstream-proxy: {e}"))?,
            )
        }
    };
    Ok(pm_server::UpstreamConfig {
        timeout: Duration::from_secs(timeout),
        max_attempts,
        max_body_bytes,
        max_retry_wait: Duration::from_secs(max_retry_wait),
        max_concurrency_per_connection,
        breaker,
        proxy,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(flags: &[&str]) -> UpstreamArgs {
        let mut argv = vec!["pm-mcp", "serve"];
        argv.extend_from_slice(flags);
        match Cli::try_parse_from(argv).expect("parse").command {
            Command::Serve(serve) => serve.upstream,
            _ => panic!("not serve"),
        }
    }

    fn file(toml_text: &str) -> FileConfig {
        toml::from_str(toml_text).expect("toml")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_the_defaults() {
        let d = upstream(&FileConfig::default(), &UpstreamArgs::default(), no_env).expect("d");
        assert_eq!(d.timeout.as_secs(), 30);
        assert_eq!(d.max_attempts, 3);
        assert_eq!(d.max_body_bytes, 16 * 1024 * 1024);
        assert_eq!(d.max_retry_wait.as_secs(), 10);
        assert_eq!(d.max_concurrency_per_connection, 8);
        assert_eq!(d.breaker.threshold, 5);
        assert_eq!(d.breaker.window.as_secs(), 60);
        assert_eq!(d.breaker.cooldown.as_secs(), 30);
        assert!(d.proxy.is_none());

        let f = file(
            r#"
            upstream_timeout = 12
            upstream_attempts = 2
            upstream_max_body_bytes = 1048576
            upstream_retry_wait_max = 0
            upstream_concurrency = 3
            breaker_threshold = 0
            breaker_window = 10
            breaker_cooldown = 5
            upstream_proxy = "http://proxy.acme.corp:3128"
            upstream_no_proxy = ["jira.acme.corp"]
            "#,
        );
        let from_file = upstream(&f, &UpstreamArgs::default(), no_env).expect("file");
        assert_eq!(from_file.timeout.as_secs(), 12);
        assert_eq!(from_file.max_attempts, 2);
        assert_eq!(from_file.max_body_bytes, 1024 * 1024);
        assert_eq!(from_file.max_retry_wait.as_secs(), 0);
        assert_eq!(from_file.max_concurrency_per_connection, 3);
        assert_eq!(from_file.breaker.threshold, 0);
        assert_eq!(from_file.breaker.window.as_secs(), 10);
        assert_eq!(from_file.breaker.cooldown.as_secs(), 5);
        let p = from_file.proxy.expect("proxy");
        assert_eq!(p.url().as_str(), "http://proxy.acme.corp:3128/");
        let direct = url::Url::parse("https://jira.acme.corp/").expect("url");
        assert!(!p.proxies(&direct));

        let flags = args(&[
            "--upstream-timeout",
            "7",
            "--upstream-attempts",
            "1",
            "--breaker-threshold",
            "1",
            "--upstream-proxy",
            "http://other.acme.corp:8080",
            "--upstream-no-proxy",
            "a.example,10.0.0.0/8",
        ]);
        let both = upstream(&f, &flags, no_env).expect("flags");
        assert_eq!(both.timeout.as_secs(), 7);
        assert_eq!(both.max_attempts, 1);
        assert_eq!(both.breaker.threshold, 1);
        // Unset flags still fall back to the file.
        assert_eq!(both.max_concurrency_per_connection, 3);
        let p = both.proxy.expect("proxy");
        assert_eq!(p.url().as_str(), "http://other.acme.corp:8080/");
        assert!(
            p.proxies(&direct),
            "the flag's no-proxy list replaces the file's"
        );
        assert!(!p.proxies(&url::Url::parse("http://10.1.1.1/").expect("url")));
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_names() {
        for (flags, says) in [
            (
                &["--upstream-timeout", "0"][..],
                "--upstream-timeout (PM_MCP_UPSTREAM_TIMEOUT, upstream_timeout in the config file) must be from 1 to 3600, not 0",
            ),
            (&["--upstream-attempts", "0"], "--upstream-attempts"),
            (&["--upstream-attempts", "11"], "from 1 to 10, not 11"),
            (
                &["--upstream-max-body-bytes", "1000"],
                "PM_MCP_UPSTREAM_MAX_BODY_BYTES",
            ),
            (
                &["--upstream-retry-wait-max", "301"],
                "upstream_retry_wait_max",
            ),
            (&["--upstream-concurrency", "0"], "--upstream-concurrency"),
            (&["--breaker-threshold", "1001"], "--breaker-threshold"),
            (&["--breaker-window", "0"], "--breaker-window"),
            (&["--breaker-cooldown", "0"], "--breaker-cooldown"),
        ] {
            let e = upstream(&FileConfig::default(), &args(flags), no_env)
                .expect_err(says)
                .to_string();
            assert!(e.contains(says), "{flags:?}: {e}");
        }
        // The file is checked the same way.
        let e = upstream(
            &file("upstream_timeout = 0"),
            &UpstreamArgs::default(),
            no_env,
        )
        .expect_err("file")
        .to_string();
        assert!(e.contains("upstream_timeout"), "{e}");
        // A flag in range overrides a file value out of range.
        assert!(
            upstream(
                &file("upstream_timeout = 0"),
                &args(&["--upstream-timeout", "5"]),
                no_env
            )
            .is_ok()
        );
        // Unknown keys in the file are refused.
        assert!(toml::from_str::<FileConfig>("upstream_timout = 5").is_err());
    }

    #[test]
    fn proxy_credentials_come_from_the_environment_only() {
        let env = |k: &str| match k {
            "PM_MCP_UPSTREAM_PROXY_USER" => Some("svc-pm".to_string()),
            "PM_MCP_UPSTREAM_PROXY_PASSWORD" => Some("hunter2".to_string()),
            _ => None,
        };
        let c = upstream(
            &FileConfig::default(),
            &args(&["--upstream-proxy", "http://proxy.acme.corp:3128"]),
            env,
        )
        .expect("proxy");
        let p = c.proxy.as_ref().expect("proxy");
        assert_eq!(p.user(), Some("svc-pm"));
        assert!(!format!("{c:?}").contains("hunter2"));
        for source in [
            (
                args(&[
                    "--upstream-proxy",
                    "http://svc:hunter2@proxy.acme.corp:3128",
                ]),
                FileConfig::default(),
            ),
            (
                UpstreamArgs::default(),
                file(r#"upstream_proxy = "http://svc:hunter2@proxy.acme.corp:3128""#),
            ),
        ] {
            let e = upstream(&source.1, &source.0, no_env)
                .expect_err("creds")
                .to_string();
            assert!(
                e.contains("PM_MCP_UPSTREAM_PROXY_USER") && !e.contains("hunter2"),
                "{e}"
            );
        }
        let only_password =
            |k: &str| (k == "PM_MCP_UPSTREAM_PROXY_PASSWORD").then(|| "x".to_string());
        let e = upstream(
            &FileConfig::default(),
            &args(&["--upstream-proxy", "http://proxy.acme.corp:3128"]),
            only_password,
        )
        .expect_err("password alone")
        .to_string();
        assert!(e.contains("without PM_MCP_UPSTREAM_PROXY_USER"), "{e}");
        let e = upstream(
            &FileConfig::default(),
            &args(&[
                "--upstream-proxy",
                "http://p:1",
                "--upstream-no-proxy",
                "a.b:443",
            ]),
            no_env,
        )
        .expect_err("bad no-proxy")
        .to_string();
        assert!(e.contains("--upstream-no-proxy"), "{e}");
    }
}
