//! The command line. Every option can also come from the environment (named beside it) or from
//! the TOML config file, in that order of precedence: flag, environment, file, default.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pm-mcp",
    version,
    about = "An MCP server for project-management tools, with its own users, keys and database."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML config file [default: <config dir>/pm-mcp/config.toml when it exists]
    #[arg(long, global = true, env = "PM_MCP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: postgres://… or sqlite:///path/file.db [default: SQLite file in the data dir]
    #[arg(
        long = "database",
        global = true,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Folder for the SQLite database and the personal master key file
    #[arg(long, global = true, env = "PM_MCP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format on stderr
    #[arg(long, global = true, env = "PM_MCP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over Streamable HTTP at /mcp (creates the first user and their keys on an empty SQLite database)
    Serve(Box<ServeArgs>),
    /// Serve MCP over stdin/stdout as the user whose key is in PM_MCP_API_KEY
    Stdio(StdioArgs),
    /// Apply pending database migrations
    Migrate,
    /// Create the first administrator, their admin key and a read/write key for their MCP client, on an empty database
    Init(InitArgs),
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage MCP API keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage a user's tracker connections (credentials are sealed, never shown)
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// List the audit trail of tool calls, newest first (who, key, tool, connection, outcome, duration; never arguments)
    Audit(AuditArgs),
    /// Master-key operations on the sealed credentials
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Bring over the reference PM MCP server's users, MCP API keys (still valid as the same
    /// strings; only their hashes are stored) and tracker connections (sealed), from its
    /// PostgreSQL database, read-only; a second run adds only what is new
    Import(ImportArgs),
    /// Print a one-time sign-in link to the web console for a user (valid 15 minutes, one use)
    ConsoleLink(ConsoleLinkArgs),
    /// Ask a running server whether it is up: GET /healthz (or /readyz with --ready) at the listen
    /// address; exit 0 on 200, 1 otherwise (the container health check)
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The reference server's database (its DATABASE_URL), e.g.
    /// postgres://mcp_user:…@mcp_postgres:5432/mcp_server; opened read-only
    #[arg(long, value_name = "URL", env = "PM_MCP_IMPORT_FROM")]
    pub from: String,
    /// Say what would be imported, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Give the reference's ownerless connections (its backend's synced providers, usable by
    /// everyone there) to this user, typically the system user holding the backend's key;
    /// without it they are reported and skipped
    #[arg(long, value_name = "EMAIL")]
    pub ownerless_to: Option<String>,
    /// Give this user's imported keys the sync permission (the agent backend's system user,
    /// which pushes connections through /providers/sync)
    #[arg(long, value_name = "EMAIL")]
    pub grant_sync_to: Option<String>,
    /// Imported keys stop working after this long (e.g. 30d), so their holders move to pm-mcp
    /// keys; an earlier expiry from the reference is kept
    #[arg(long, value_name = "DURATION")]
    pub expire_imported: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConsoleLinkArgs {
    /// The user's e-mail
    #[arg(long)]
    pub user: String,
    /// URL clients use to reach /mcp (the link goes to the console beside it) [default: the file's public_url, else from the listen address]
    #[arg(long, env = "PM_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// The address `serve` listens on, for the link when no public URL is set
    #[arg(
        long,
        env = "PM_MCP_LISTEN",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
    /// The console's path prefix behind a reverse proxy (as `serve --console-prefix`)
    #[arg(
        long = "console-prefix",
        env = "PM_MCP_CONSOLE_PREFIX",
        value_name = "PATH"
    )]
    pub prefix: Option<String>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The address `serve` listens on (0.0.0.0 and [::] are asked on loopback; of several, the
    /// first) [default: as `serve`]
    #[arg(
        long,
        env = "PM_MCP_LISTEN",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
    /// Ask /readyz (the database is reachable) instead of /healthz (the process answers)
    #[arg(long)]
    pub ready: bool,
    /// Ask this URL instead (plain http, e.g. http://127.0.0.1:8765/healthz)
    #[arg(long, value_name = "URL", conflicts_with_all = ["listen", "ready"])]
    pub url: Option<String>,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 3, value_name = "SECONDS")]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this user's calls (their e-mail)
    #[arg(long)]
    pub user: Option<String>,
    /// Only calls of this tool (e.g. get_task)
    #[arg(long)]
    pub tool: Option<String>,
    /// Only calls that ended this way
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only calls since a time (RFC 3339 or 2027-01-31) or for a duration back (15m, 12h, 7d)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// At most this many calls
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    /// The tool ran and answered
    Ok,
    /// The tool ran and reported an error, or its arguments were refused
    Error,
    /// Refused before running (the key lacks the scope or toolset)
    Denied,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-seal every stored credential with the current master key (PM_MCP_MASTER_KEY, or the
    /// key file); the keys they were sealed with must be in PM_MCP_OLD_MASTER_KEYS. Works in
    /// batches, each committed: after an interruption, run it again to finish.
    Rotate {
        /// Connections per transaction
        #[arg(long, default_value_t = 100)]
        batch_size: usize,
        /// Stop after re-sealing this many connections (run again to continue)
        #[arg(long)]
        limit: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; repeat (or comma-separate in PM_MCP_LISTEN) to serve the same on
    /// several, e.g. where an old server answered on two ports
    #[arg(
        long,
        env = "PM_MCP_LISTEN",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
    /// Do not apply migrations on start (fail if any are pending)
    #[arg(long)]
    pub no_migrate: bool,
    /// A Host (name or name:port) accepted on /mcp; repeat for more [default: localhost, 127.0.0.1, [::1]]
    #[arg(
        long = "allowed-host",
        env = "PM_MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<String>,
    /// A browser Origin accepted on /mcp (e.g. https://app.acme.org, http://localhost:*); repeat for more
    #[arg(
        long = "allowed-origin",
        env = "PM_MCP_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub allowed_origins: Vec<String>,
    /// URL clients use to reach /mcp, for the configs printed at first run (e.g. https://mcp.acme.org/mcp) [default: from the bound address]
    #[arg(long, env = "PM_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes
    #[arg(long, env = "PM_MCP_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a client has to send a request's headers whole, counted from when the connection
    /// is ready for a request (slower clients are closed) [default: 15]
    #[arg(long, env = "PM_MCP_HEADER_READ_TIMEOUT", value_name = "SECS")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a connection the server is waiting on (for a request or the rest of its body) may
    /// send nothing before it is closed; never applies while an answer is owed [default: 60]
    #[arg(long, env = "PM_MCP_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Open client connections per listener, lowered to fit the open-file limit; at the cap a new
    /// connection replaces the one waiting longest on its client, or gets 503 [default: 4096]
    #[arg(long, env = "PM_MCP_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Requests per second each API key may make, on average (over it: 429 with Retry-After); 0 turns the rate limit off [default: 50]
    #[arg(long, env = "PM_MCP_RATE_LIMIT", value_name = "PER_SECOND")]
    pub rate_limit: Option<u32>,
    /// Requests an API key may make at once after being idle (the rate limit's burst) [default: 100]
    #[arg(long, env = "PM_MCP_RATE_BURST", value_name = "REQUESTS")]
    pub rate_burst: Option<u32>,
    /// Requests of one API key answered at the same time; more get 429 at once; 0 turns the cap off [default: 16]
    #[arg(long, env = "PM_MCP_MAX_IN_FLIGHT_PER_KEY", value_name = "REQUESTS")]
    pub max_in_flight_per_key: Option<u32>,
    /// Keep MCP sessions for clients of older protocol revisions (needs sticky load balancing)
    #[arg(long, env = "PM_MCP_SESSIONS")]
    pub sessions: bool,
    /// Serve read-only: tools that change data are neither listed nor callable
    #[arg(long, env = "PM_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Offer these toolsets (comma-separated: users, connections, projects, tasks, epics, sprints, comments, worklogs, analytics; `all`; `default` = users, connections, projects, tasks, comments) [default: the default set, unless a key or request names toolsets]
    #[arg(
        long,
        env = "PM_MCP_TOOLSETS",
        value_delimiter = ',',
        value_name = "SETS"
    )]
    pub toolsets: Vec<String>,
    /// Let pm-mcp call plain-http tracker URLs (on-prem trackers on a trusted network); a tracker on
    /// a loopback or private address must also be allowed with --allow-upstream
    #[arg(long, env = "PM_MCP_ALLOW_HTTP_PROVIDERS")]
    pub allow_http_providers: bool,
    /// Let pm-mcp call trackers at these hosts or addresses although they are loopback, private
    /// or link-local, which it refuses otherwise (host names, IP addresses or CIDR blocks such as
    /// tracker.corp, 10.20.0.0/16, 127.0.0.1/32; repeat or comma-separate)
    #[arg(
        long = "allow-upstream",
        env = "PM_MCP_ALLOW_UPSTREAM",
        value_delimiter = ',',
        value_name = "HOST|CIDR"
    )]
    pub allow_upstream: Vec<String>,
    /// Also serve Prometheus metrics at http://ADDR/metrics (unauthenticated: an address only the
    /// scraper reaches, never the public one) [default: no metrics listener]
    #[arg(long, env = "PM_MCP_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// This replica's name in the X-PM-MCP-Instance response header, logs and metrics (e.g. the
    /// pod name; up to 64 letters, digits, `.`, `_`, `-`) [default: random at each start]
    #[arg(long, env = "PM_MCP_INSTANCE_ID", value_name = "NAME")]
    pub instance_id: Option<String>,
    /// E-mail for the first user created at first run [default: $USER@localhost]
    #[arg(long, value_name = "EMAIL")]
    pub first_user_email: Option<String>,
    /// Conformance build only: requests without a key act as a test user; loopback only
    #[cfg(feature = "conformance")]
    #[arg(long)]
    pub conformance: bool,
    // Flattened groups come last: a group's help heading carries over to the fields after it.
    #[command(flatten)]
    pub oauth: OAuthArgs,
    #[command(flatten)]
    pub console: ConsoleArgs,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

/// The web console at /console (sign in, make keys, connect trackers, administration).
#[derive(Debug, Args)]
#[command(next_help_heading = "Web console")]
pub struct ConsoleArgs {
    /// Do not serve the web console
    #[arg(long = "no-console", env = "PM_MCP_NO_CONSOLE")]
    pub no_console: bool,
    /// The path a reverse proxy serves pm-mcp under (e.g. /pm): the console's links carry it
    #[arg(
        long = "console-prefix",
        env = "PM_MCP_CONSOLE_PREFIX",
        value_name = "PATH"
    )]
    pub prefix: Option<String>,
    /// "Sign in with …" the identity provider: pm-mcp's client id there (a confidential client
    /// whose redirect URI is PUBLIC_ORIGIN[/PREFIX]/console/auth/callback); needs --oauth-issuer
    #[arg(
        long = "console-oidc-client-id",
        env = "PM_MCP_CONSOLE_OIDC_CLIENT_ID",
        value_name = "ID"
    )]
    pub oidc_client_id: Option<String>,
    /// The client's secret (from the environment, not the command line, in production)
    #[arg(
        long = "console-oidc-client-secret",
        env = "PM_MCP_CONSOLE_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,
    /// Which --oauth-issuer users sign in with [default: the first]
    #[arg(
        long = "console-oidc-issuer",
        env = "PM_MCP_CONSOLE_OIDC_ISSUER",
        value_name = "URL"
    )]
    pub oidc_issuer: Option<String>,
    /// A reverse proxy (address or CIDR block) whose X-Forwarded-For names the client, for the
    /// console's sign-in limits; repeat for more [default: none: the connection's address counts]
    #[arg(
        long = "trusted-proxy",
        env = "PM_MCP_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_proxies: Vec<String>,
    /// The name on the sign-in button
    #[arg(
        long = "console-oidc-label",
        env = "PM_MCP_CONSOLE_OIDC_LABEL",
        value_name = "TEXT",
        default_value = "your company account"
    )]
    pub oidc_label: String,
}

/// OAuth sign-in with the company's identity provider (MCP clients get a token from it instead of
/// using an API key; API keys keep working).
#[derive(Debug, Args)]
#[command(next_help_heading = "OAuth sign-in")]
pub struct OAuthArgs {
    /// Accept access tokens issued by this OpenID Connect / OAuth 2.0 issuer (exactly as in its
    /// tokens' `iss`, e.g. https://keycloak.acme.org/realms/acme); repeat for more
    #[arg(
        long = "oauth-issuer",
        env = "PM_MCP_OAUTH_ISSUER",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub issuers: Vec<String>,
    /// pm-mcp's canonical resource URI, as clients reach it (e.g. https://pm.acme.org/mcp):
    /// tokens must be issued for it (their audience)
    #[arg(
        long = "oauth-resource",
        env = "PM_MCP_OAUTH_RESOURCE",
        value_name = "URL"
    )]
    pub resource: Option<String>,
    /// Also accept tokens with this audience (for identity providers that cannot issue tokens
    /// for a URI, e.g. Entra ID's application id); repeat for more
    #[arg(
        long = "oauth-audience",
        env = "PM_MCP_OAUTH_AUDIENCE",
        value_delimiter = ',',
        value_name = "AUD"
    )]
    pub audiences: Vec<String>,
    /// The token scopes that grant pm-mcp's read, write and admin [default: read=pm:read,write=pm:write,admin=pm:admin]
    #[arg(
        long = "oauth-scopes",
        env = "PM_MCP_OAUTH_SCOPES",
        value_name = "read=S,write=S,admin=S"
    )]
    pub scopes: Option<String>,
    /// The token claim holding the user's e-mail address
    #[arg(
        long = "oauth-user-claim",
        env = "PM_MCP_OAUTH_USER_CLAIM",
        value_name = "CLAIM",
        default_value = "email"
    )]
    pub user_claim: String,
    /// Create the pm-mcp user at their first sign-in (otherwise an administrator adds users first)
    #[arg(long = "oauth-create-users", env = "PM_MCP_OAUTH_CREATE_USERS")]
    pub create_users: bool,
    /// Users whose token has this claim value are administrators (e.g. groups=pm-admins,
    /// roles=PmAdmin); read at every request [default: the administrator flag stored in pm-mcp]
    #[arg(
        long = "oauth-admin-claim",
        env = "PM_MCP_OAUTH_ADMIN_CLAIM",
        value_name = "CLAIM=VALUE"
    )]
    pub admin_claim: Option<String>,
    /// Clock skew tolerated on a token's expiry and not-before times, in seconds
    #[arg(
        long = "oauth-leeway",
        env = "PM_MCP_OAUTH_LEEWAY",
        value_name = "SECONDS",
        default_value_t = 60
    )]
    pub leeway_secs: u64,
}

/// How pm-mcp calls trackers: the limits of each call, each connection's circuit breaker, and a
/// company's forward proxy.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Tracker calls")]
pub struct UpstreamArgs {
    /// Call trackers through this forward proxy, http://host:port (https trackers through a
    /// CONNECT tunnel). Its user and password come from PM_MCP_UPSTREAM_PROXY_USER and
    /// PM_MCP_UPSTREAM_PROXY_PASSWORD only, never from the URL; HTTP_PROXY, HTTPS_PROXY and
    /// NO_PROXY are ignored. A proxy on a loopback or private address must be on
    /// --allow-upstream [default: no proxy]
    #[arg(long, env = "PM_MCP_UPSTREAM_PROXY", value_name = "URL")]
    pub upstream_proxy: Option<String>,
    /// Hosts called directly, not through --upstream-proxy: host names (each covers the names
    /// under it: acme.corp, .acme.corp), IP addresses or CIDR blocks, or * for all; repeat or
    /// comma-separate
    #[arg(
        long = "upstream-no-proxy",
        env = "PM_MCP_UPSTREAM_NO_PROXY",
        value_delimiter = ',',
        value_name = "HOST|CIDR"
    )]
    pub upstream_no_proxy: Vec<String>,
    /// Seconds one attempt of a tracker call may take: connecting, sending and reading the
    /// answer (1 to 3600) [default: 30]
    #[arg(long, env = "PM_MCP_UPSTREAM_TIMEOUT", value_name = "SECONDS")]
    pub upstream_timeout: Option<u64>,
    /// Attempts of a read on timeouts, broken connections, 429 and 5xx; writes are sent once (1
    /// to 10) [default: 3]
    #[arg(long, env = "PM_MCP_UPSTREAM_ATTEMPTS", value_name = "N")]
    pub upstream_attempts: Option<u32>,
    /// Largest answer read from a tracker, in bytes (65536 to 1073741824) [default: 16777216, 16 MiB]
    #[arg(long, env = "PM_MCP_UPSTREAM_MAX_BODY_BYTES", value_name = "BYTES")]
    pub upstream_max_body_bytes: Option<usize>,
    /// Longest Retry-After waited out before retrying a read, in seconds; a tracker asking for
    /// longer has its wait passed on to the caller (0 to 300) [default: 10]
    #[arg(long, env = "PM_MCP_UPSTREAM_RETRY_WAIT_MAX", value_name = "SECONDS")]
    pub upstream_retry_wait_max: Option<u64>,
    /// Requests one tracker connection may have under way at once; more wait their turn (1 to
    /// 256) [default: 8]
    #[arg(long, env = "PM_MCP_UPSTREAM_CONCURRENCY", value_name = "N")]
    pub upstream_concurrency: Option<usize>,
    /// Failures in a row (timeouts, broken connections, 5xx) that open a connection's circuit,
    /// after which its calls fail at once for --breaker-cooldown; 0 turns the breaker off (0 to
    /// 1000) [default: 5]
    #[arg(long, env = "PM_MCP_BREAKER_THRESHOLD", value_name = "N")]
    pub breaker_threshold: Option<u32>,
    /// Seconds within which failures count as in a row (1 to 86400) [default: 60]
    #[arg(long, env = "PM_MCP_BREAKER_WINDOW", value_name = "SECONDS")]
    pub breaker_window: Option<u64>,
    /// Seconds an open circuit refuses calls before one probe call may go (1 to 86400) [default: 30]
    #[arg(long, env = "PM_MCP_BREAKER_COOLDOWN", value_name = "SECONDS")]
    pub breaker_cooldown: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StdioArgs {
    /// Do not apply migrations on start (fail if any are pending)
    #[arg(long)]
    pub no_migrate: bool,
    /// Serve read-only: tools that change data are neither listed nor callable
    #[arg(long, env = "PM_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Offer these toolsets (comma-separated: users, connections, projects, tasks, epics, sprints, comments, worklogs, analytics; `all`; `default` = users, connections, projects, tasks, comments) [default: the default set, unless a key or request names toolsets]
    #[arg(
        long,
        env = "PM_MCP_TOOLSETS",
        value_delimiter = ',',
        value_name = "SETS"
    )]
    pub toolsets: Vec<String>,
    /// Let pm-mcp call trackers at these hosts or addresses although they are loopback, private
    /// or link-local, which it refuses otherwise (host names, IP addresses or CIDR blocks such as
    /// tracker.corp, 10.20.0.0/16, 127.0.0.1/32; repeat or comma-separate)
    #[arg(
        long = "allow-upstream",
        env = "PM_MCP_ALLOW_UPSTREAM",
        value_delimiter = ',',
        value_name = "HOST|CIDR"
    )]
    pub allow_upstream: Vec<String>,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// E-mail of the administrator [default: $USER@localhost]
    #[arg(long)]
    pub email: Option<String>,
    /// Display name [default: the e-mail's local part]
    #[arg(long)]
    pub name: Option<String>,
    /// URL clients use to reach /mcp, for the printed configs [default: the file's public_url, else from the listen address]
    #[arg(long, env = "PM_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// The address `serve` listens on (of several, the first), for the printed configs when no
    /// public URL is set [default: as `serve`]
    #[arg(
        long,
        env = "PM_MCP_LISTEN",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Make the user an administrator
        #[arg(long)]
        admin: bool,
    },
    /// List users
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: all their keys stop working at once
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled user
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; it is shown once, with ready-to-paste client configs
    Create(KeyCreateArgs),
    /// List a user's keys (never the keys themselves)
    List {
        /// The user's e-mail
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once
    Revoke {
        /// The user's e-mail
        #[arg(long)]
        user: String,
        /// The key's id or its listed prefix (pmcp_XXXXXXXX)
        key: String,
    },
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// The user's e-mail
    #[arg(long)]
    pub user: String,
    /// What the key is for, e.g. "Cursor laptop"
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Comma-separated: read, write, admin (admin only for administrators)
    #[arg(long, default_value = "read,write")]
    pub scopes: String,
    /// Expiry: a duration (90d, 12h, 2w) or a date (2027-01-31 or RFC 3339) [default: never]
    #[arg(long)]
    pub expires: Option<String>,
    /// The key's toolsets (comma-separated, or `all`) [default: the server's choice]
    #[arg(long, value_delimiter = ',')]
    pub toolsets: Vec<String>,
    /// URL clients use to reach /mcp, for the printed configs [default: the file's public_url, else from the listen address]
    #[arg(long, env = "PM_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// The address `serve` listens on (of several, the first), for the printed configs when no
    /// public URL is set [default: as `serve`]
    #[arg(
        long,
        env = "PM_MCP_LISTEN",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,
    /// Print JSON (the key included) instead of the text with client configs
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Add a tracker connection for a user; the token is read from stdin or an environment variable
    Add(ConnectionAddArgs),
    /// List a user's connections (never the credentials)
    List {
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove one of a user's connections
    Remove {
        #[arg(long)]
        user: String,
        /// The connection's name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ConnectionAddArgs {
    /// The owner's e-mail
    #[arg(long)]
    pub user: String,
    /// Short handle, used as the prefix of ids (e.g. acme-jira)
    #[arg(long)]
    pub name: String,
    /// jira_cloud, jira_data_center, openproject, clickup or redmine
    #[arg(long)]
    pub provider: String,
    /// The tracker's base URL (https) [ClickUp: https://api.clickup.com/api]
    #[arg(long)]
    pub base_url: Option<String>,
    /// basic, bearer or api_key [default: the provider's usual one]
    #[arg(long)]
    pub auth_kind: Option<String>,
    /// User name or account e-mail, for basic auth (Jira Cloud: your Atlassian e-mail)
    #[arg(long)]
    pub username: Option<String>,
    /// Read the token from this environment variable (never pass a token as an argument)
    #[arg(long, value_name = "VAR", conflicts_with = "token_stdin")]
    pub token_env: Option<String>,
    /// Read the token from the first line of stdin
    #[arg(long)]
    pub token_stdin: bool,
    /// Workspace (team) id, where the tracker has them (ClickUp); without it ClickUp uses the one
    /// workspace the token sees
    #[arg(long)]
    pub workspace_id: Option<String>,
    /// Provider options as key=value (e.g. project_key=PROJ); repeat for more
    #[arg(long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Allow a plain-http base URL (on-prem trackers on a trusted network, tests)
    #[arg(long)]
    pub allow_http: bool,
}
