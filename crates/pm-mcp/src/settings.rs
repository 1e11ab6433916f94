//! Resolved configuration: command-line flags and environment (both through clap) over the TOML
//! file over defaults. Also where the database and the master key come from.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use pm_store::{DatabaseUrl, MasterKeys, Store};
use serde::Deserialize;

use crate::cli::{GlobalArgs, LogFormat};

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
