//! pm-mcp: the binary. Parses the command line, resolves settings, and wires the store and the
//! server together. Errors end as one line on stderr and a non-zero exit.
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod cli;
mod clients;
mod health;
mod import;
mod rotate;
mod settings;

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use pm_server::http::CancellationToken;
use pm_server::{AppState, HttpConfig};

use crate::cli::{
    Cli, Command, ConnectionCommand, KeyCommand, LogFormat, SecretsCommand, ServeArgs, UserCommand,
};
use crate::settings::{Common, check_master_keys, default_listen};

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PM_MCP_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{default_level},sqlx=warn"))
        });
    // Whatever the requested level, libraries that log whole messages or requests at their debug
    // and trace levels (tool arguments may hold tokens) stay quiet: no secret in any log line.
    let filter = [
        "rmcp=warn",
        "hyper=info",
        "hyper_util=info",
        "reqwest=info",
        "h2=info",
    ]
    .iter()
    .filter_map(|d| d.parse().ok())
    .fold(filter, |f, d| f.add_directive(d));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Health(args) = &cli.command {
        // Needs no database and no data folder: only where the server listens.
        let file = settings::FileConfig::load(cli.global.config.as_deref())?;
        let listen = args
            .listen
            .first()
            .copied()
            .or(file.listen)
            .unwrap_or_else(default_listen);
        let url = health::target(args, listen)?;
        let body = health::check(&url, std::time::Duration::from_secs(args.timeout.max(1))).await?;
        println!("{url}: 200 {body}");
        return Ok(());
    }
    let common = Common::resolve(&cli.global)?;
    let quiet_default = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    init_logging(common.log_format, quiet_default);
    match cli.command {
        Command::Serve(args) => serve(&common, *args).await,
        Command::Stdio(args) => stdio(&common, args).await,
        Command::Migrate => {
            let store = common.open_store().await?;
            let pending = store
                .pending_migrations()
                .await
                .map_err(|e| anyhow!("{e}"))?;
            store.migrate().await.map_err(|e| anyhow!("{e}"))?;
            println!(
                "Database {} is up to date ({pending} migration(s) applied).",
                common.database.display()
            );
            Ok(())
        }
        Command::Init(args) => {
            let store = common.open_migrated(false).await?;
            let email = args.email.unwrap_or_else(admin::default_email);
            let (url, guessed) = settings::client_url(
                &common.file,
                args.public_url.as_deref(),
                args.listen.first().copied(),
            )?;
            let first =
                admin::init_first_user(store.as_ref(), &email, args.name.as_deref()).await?;
            println!(
                "Created the first administrator, {}, with two API keys.",
                first.user.email
            );
            admin::print_first_run(&first, &url, &common.stdio_launch());
            if guessed {
                say_url_guessed(&url);
            }
            Ok(())
        }
        Command::User(cmd) => {
            let store = common.open_migrated(false).await?;
            let store = store.as_ref();
            match cmd {
                UserCommand::Add {
                    email,
                    name,
                    admin: is_admin,
                } => admin::user_add(store, &email, name.as_deref(), is_admin).await,
                UserCommand::List { json } => admin::user_list(store, json).await,
                UserCommand::Disable { email } => {
                    admin::user_set_disabled(store, &email, true).await
                }
                UserCommand::Enable { email } => {
                    admin::user_set_disabled(store, &email, false).await
                }
            }
        }
        Command::Key(cmd) => {
            let store = common.open_migrated(false).await?;
            let store = store.as_ref();
            match cmd {
                KeyCommand::Create(args) => {
                    let (url, guessed) = settings::client_url(
                        &common.file,
                        args.public_url.as_deref(),
                        args.listen.first().copied(),
                    )?;
                    admin::key_create(store, &args, &url, &common.stdio_launch()).await?;
                    if guessed {
                        say_url_guessed(&url);
                    }
                    Ok(())
                }
                KeyCommand::List { user, json } => admin::key_list(store, &user, json).await,
                KeyCommand::Revoke { user, key } => admin::key_revoke(store, &user, &key).await,
            }
        }
        Command::Connection(cmd) => {
            let store = common.open_migrated(false).await?;
            match cmd {
                ConnectionCommand::Add(args) => {
                    let keys = common.master_keys()?;
                    check_master_keys(store.as_ref(), &keys).await?;
                    admin::connection_add(store.as_ref(), &keys, &args).await
                }
                ConnectionCommand::List { user, json } => {
                    admin::connection_list(store.as_ref(), &user, json).await
                }
                ConnectionCommand::Remove { user, name } => {
                    admin::connection_remove(store.as_ref(), &user, &name).await
                }
            }
        }
        Command::Audit(args) => {
            let store = common.open_migrated(false).await?;
            audit::list(store.as_ref(), &args).await
        }
        Command::Secrets(SecretsCommand::Rotate { batch_size, limit }) => {
            let store = common.open_migrated(false).await?;
            let keys = common.existing_master_keys()?;
            rotate::run(store.as_ref(), &keys, batch_size, limit).await
        }
        Command::Import(args) => {
            let store = common.open_migrated(false).await?;
            let keys = common.master_keys()?;
            check_master_keys(store.as_ref(), &keys).await?;
            let report = import::run(store.as_ref(), &keys, &args).await?;
            import::print(&report, &args.from, args.dry_run);
            import::check(&report)
        }
        Command::ConsoleLink(args) => {
            let store = common.open_migrated(false).await?;
            let (url, guessed) = settings::client_url(
                &common.file,
                args.public_url.as_deref(),
                args.listen.first().copied(),
            )?;
            let prefix = pm_server::console::ConsoleConfig::check_prefix(
                args.prefix.as_deref().unwrap_or(""),
            )
            .map_err(|e| anyhow!("--console-prefix: {e}"))?;
            let email =
                pm_core::Email::parse(&args.user).map_err(|e| anyhow!("--user: {}", e.0))?;
            let user = store
                .get_user_by_email(&email)
                .await
                .map_err(|e| anyhow!("{e}"))?
                .ok_or_else(|| anyhow!("no user has the e-mail {email}; add them with `pm-mcp user add --email {email}`"))?;
            if user.is_disabled() {
                bail!(
                    "{email} is disabled; enable them first with `pm-mcp user enable --email {email}`"
                );
            }
            let token = pm_server::console::new_sign_in_link(store.as_ref(), &user)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("{}", console_link(&url, &prefix, &token));
            eprintln!(
                "This link signs {email} in to the web console once, within {} minutes. Send it by a channel only they read.",
                pm_server::console::LINK_MINUTES
            );
            if guessed {
                say_url_guessed(&url);
            }
            Ok(())
        }
        // Answered at the top of this function, before the settings are resolved.
        Command::Health(_) => bail!("the health check runs without settings"),
    }
}

/// The console's one-time sign-in link beside the MCP URL `mcp_url`.
fn console_link(mcp_url: &str, prefix: &str, token: &str) -> String {
    let origin = url::Url::parse(mcp_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| mcp_url.trim_end_matches("/mcp").to_string());
    format!("{origin}{prefix}/console/link?token={token}")
}

/// The web console's settings: off with `--no-console`; "Sign in with …" when a client id is
/// given, which needs the identity provider trusted with `--oauth-issuer`.
fn console_config(
    file: &settings::FileConfig,
    public_url: &Option<String>,
    args: cli::ConsoleArgs,
    oauth: Option<&pm_server::oauth::TokenVerifier>,
) -> Result<Option<pm_server::console::ConsoleConfig>> {
    use pm_server::console::{ConsoleConfig, OidcClient};
    if args.no_console {
        return Ok(None);
    }
    let prefix = ConsoleConfig::check_prefix(args.prefix.as_deref().unwrap_or(""))
        .map_err(|e| anyhow!("--console-prefix: {e}"))?;
    let explicit = public_url
        .as_deref()
        .or(file.public_url.as_deref())
        .map(str::trim)
        .filter(|u| !u.is_empty());
    // The MCP URL users reach: the public URL, else the OAuth resource (the same thing, named
    // for the identity provider).
    let public_url = explicit
        .or(oauth.map(|o| o.settings().resource.as_str()))
        .and_then(|u| url::Url::parse(u).ok());
    let trusted_proxies = args
        .trusted_proxies
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(pm_server::console::Cidr::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("--trusted-proxy: {e}"))?;
    let oidc = match args
        .oidc_client_id
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(client_id) => {
            let Some(verifier) = oauth else {
                bail!(
                    "--console-oidc-client-id needs the identity provider trusted with --oauth-issuer and --oauth-resource"
                );
            };
            let secret = args
                .oidc_client_secret
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| anyhow!("--console-oidc-client-id needs its secret: set PM_MCP_CONSOLE_OIDC_CLIENT_SECRET"))?;
            let issuers = &verifier.settings().issuers;
            let issuer = match args.oidc_issuer.map(|i| i.trim().to_string()) {
                Some(i) if issuers.contains(&i) => i,
                Some(i) => {
                    bail!("--console-oidc-issuer {i:?} is not one of the --oauth-issuer values")
                }
                None => issuers
                    .first()
                    .cloned()
                    .ok_or_else(|| anyhow!("no --oauth-issuer"))?,
            };
            Some(OidcClient {
                issuer,
                client_id,
                client_secret: pm_core::Secret::new(secret),
                label: args.oidc_label,
            })
        }
    };
    Ok(Some(ConsoleConfig {
        prefix,
        public_url,
        oidc,
        trusted_proxies,
    }))
}

/// Said on stderr (so `--json` stays clean) when no setting named the server's address.
fn say_url_guessed(url: &str) {
    eprintln!(
        "note: no public URL or listen address is configured here, so the configs use the default, {url}; \
         if the server is elsewhere, run this with --public-url URL (or PM_MCP_PUBLIC_URL, or public_url \
         in the config file), or with the server's --listen / PM_MCP_LISTEN"
    );
}

async fn serve(common: &Common, args: ServeArgs) -> Result<()> {
    let file = &common.file;
    let (read_only, toolsets) = settings::tool_policy(file, args.read_only, &args.toolsets)?;
    // The first address is the main one (printed configs, the conformance check); every other
    // serves the same endpoints.
    let mut listens = args.listen.clone();
    if listens.is_empty() {
        listens.push(file.listen.unwrap_or_else(default_listen));
    }
    let listen = listens[0];
    // A public URL that is not one is refused at every start, not only at the first.
    settings::client_url(file, args.public_url.as_deref(), Some(listen))?;
    let store = common.open_migrated(args.no_migrate).await?;
    let keys = common.master_keys()?;
    check_master_keys(store.as_ref(), &keys).await?;

    let http = HttpConfig {
        allowed_hosts: non_empty(args.allowed_hosts)
            .or(file.allowed_hosts.clone())
            .unwrap_or_else(pm_server::state::default_allowed_hosts),
        allowed_origins: non_empty(args.allowed_origins)
            .or(file.allowed_origins.clone())
            .unwrap_or_else(pm_server::state::default_allowed_origins),
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(HttpConfig::default().max_body_bytes),
        connections: settings::conn_limits(
            file,
            args.header_read_timeout,
            args.idle_timeout,
            args.max_connections,
        )?,
        sessions: args.sessions || file.sessions.unwrap_or(false),
        allow_http_providers: args.allow_http_providers || allow_http_providers(file),
        allow_upstream: allow_upstream(file, args.allow_upstream),
        upstream: settings::upstream(file, &args.upstream, |k| std::env::var(k).ok())?,
        key_limits: settings::key_limits(
            file,
            args.rate_limit,
            args.rate_burst,
            args.max_in_flight_per_key,
        ),
        read_only,
        toolsets,
        instance_id: instance_id(args.instance_id.or(file.instance_id.clone()))?,
        oauth: oauth_verifier(args.oauth)?,
        console: None,
    };
    let mut http = http;
    http.console = console_config(file, &args.public_url, args.console, http.oauth.as_deref())?;
    let console_prefix = http.console.as_ref().map(|c| c.prefix.clone());
    let metrics_listen = args.metrics_listen.or(file.metrics_listen);
    #[cfg(feature = "conformance")]
    let extension = conformance_mode(&store, args.conformance, listen).await?;
    #[cfg(not(feature = "conformance"))]
    let extension = None;
    if http.max_body_bytes < 1024 {
        bail!("--max-body-bytes must be at least 1024");
    }
    check_upstream_proxy(&http).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (is another process using it? choose another with --listen)"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut more_listeners = Vec::new();
    for addr in &listens[1..] {
        let more = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (is another process using it? choose another with --listen)"))?;
        more_listeners.push(more);
    }
    if store.count_users().await.map_err(|e| anyhow!("{e}"))? == 0 {
        if store.engine() == "sqlite" {
            // Personal first run: one command from nothing to a connected client.
            let email = args
                .first_user_email
                .clone()
                .unwrap_or_else(admin::default_email);
            // Checked before anything is created, so a bad URL leaves the database empty.
            let (url, _) = settings::client_url(file, args.public_url.as_deref(), Some(bound))?;
            let first = admin::init_first_user(store.as_ref(), &email, None).await?;
            println!(
                "First run: created the administrator {} with two API keys.",
                first.user.email
            );
            admin::print_first_run(&first, &url, &common.stdio_launch());
            if let Some(prefix) = &console_prefix {
                let token = pm_server::console::new_sign_in_link(store.as_ref(), &first.user)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                println!(
                    "Or open the web console (this link signs you in once, within {} minutes):\n\n    {}\n",
                    pm_server::console::LINK_MINUTES,
                    console_link(&url, prefix, &token)
                );
            }
        } else {
            tracing::warn!(
                "the database has no users yet; create the first administrator with `pm-mcp init --email you@example.org`"
            );
        }
    }

    let metrics_listener = match metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} for metrics (choose another with --metrics-listen)")
        })?),
        None => None,
    };
    let state = AppState::with_extension(store.clone(), Arc::new(keys), http, extension)
        .map_err(|e| anyhow!("{e}"))?;
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    tracing::info!(
        database = store.engine(),
        version = env!("CARGO_PKG_VERSION"),
        instance = &*state.instance,
        "pm-mcp listening on http://{bound}/mcp"
    );
    let metrics = match metrics_listener {
        Some(listener) => {
            let addr = listener
                .local_addr()
                .context("cannot read the metrics address")?;
            tracing::info!("metrics at http://{addr}/metrics");
            Some(tokio::spawn(pm_server::metrics_endpoint::serve(
                listener,
                state.clone(),
                shutdown.clone(),
            )))
        }
        None => None,
    };
    let mut more_served = Vec::new();
    for more in more_listeners {
        let addr = more.local_addr().context("cannot read a bound address")?;
        tracing::info!("pm-mcp also listening on http://{addr}/mcp");
        more_served.push(tokio::spawn(pm_server::http::serve(
            more,
            state.clone(),
            shutdown.clone(),
        )));
    }
    let served = pm_server::http::serve(listener, state.clone(), shutdown.clone()).await;
    shutdown.cancel();
    for task in more_served {
        match task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "a listener stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "a listener task failed"),
            Ok(Ok(())) => {}
        }
    }
    shutdown.cancel();
    if let Some(task) = metrics {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the metrics server failed"),
            Err(e) => tracing::error!(error = %e, "the metrics server stopped"),
        }
    }
    served.context("the HTTP server failed")?;
    state.shutdown().await;
    store.close().await;
    tracing::info!("pm-mcp stopped");
    Ok(())
}

/// The conformance build serves the suite's fixtures; with `serve --conformance`, requests
/// without a key act as `conformance@localhost` (the MCP conformance suite sends no
/// credentials), which is refused unless listening on loopback.
#[cfg(feature = "conformance")]
async fn conformance_mode(
    store: &Arc<dyn pm_store::Store>,
    enabled: bool,
    listen: std::net::SocketAddr,
) -> Result<Option<Arc<dyn pm_server::McpExtension>>> {
    if !enabled {
        return Ok(Some(pm_conformance::extension(None)));
    }
    if !listen.ip().is_loopback() {
        bail!("--conformance turns authentication off, so it listens on loopback only");
    }
    let principal = pm_conformance::suite_user(store).await?;
    tracing::warn!("conformance mode: requests without an API key act as conformance@localhost");
    Ok(Some(pm_conformance::extension(Some(principal))))
}

/// Refuses to start with an upstream proxy the SSRF policy does not allow, saying why.
async fn check_upstream_proxy(http: &HttpConfig) -> Result<()> {
    pm_server::service::Service::check_proxy(
        http.allow_http_providers,
        &http.allow_upstream,
        &http.upstream,
    )
    .await
    .map_err(|e| anyhow!("{e}"))
}

/// Whether plain-http tracker URLs are allowed: the TOML setting, or PM_MCP_ALLOW_HTTP_PROVIDERS.
fn allow_http_providers(file: &settings::FileConfig) -> bool {
    file.allow_http_providers.unwrap_or(false)
        || std::env::var("PM_MCP_ALLOW_HTTP_PROVIDERS")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// The OAuth token verifier, when an issuer and resource are configured.
fn oauth_verifier(
    args: cli::OAuthArgs,
) -> Result<Option<std::sync::Arc<pm_server::oauth::TokenVerifier>>> {
    use pm_server::oauth::{ClaimMatch, OAuthSettings, ScopeNames, TokenVerifier};
    let issuers: Vec<String> = args
        .issuers
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    let resource = match (args.resource, issuers.is_empty()) {
        (None, true) => return Ok(None),
        (None, false) => bail!(
            "--oauth-issuer needs --oauth-resource: the URL clients reach pm-mcp's /mcp at (e.g. https://pm.acme.org/mcp)"
        ),
        (Some(r), _) => r.trim().to_string(),
    };
    let settings = OAuthSettings {
        issuers,
        resource,
        extra_audiences: args
            .audiences
            .into_iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect(),
        scope_names: match args.scopes {
            Some(raw) => ScopeNames::parse(&raw).map_err(|e| anyhow!("--oauth-scopes: {e}"))?,
            None => ScopeNames::default(),
        },
        user_claim: args.user_claim,
        create_users: args.create_users,
        admin_claim: args
            .admin_claim
            .map(|raw| ClaimMatch::parse(&raw).map_err(|e| anyhow!("--oauth-admin-claim: {e}")))
            .transpose()?,
        leeway: std::time::Duration::from_secs(args.leeway_secs),
    };
    let verifier = TokenVerifier::new(settings).map_err(|e| anyhow!(e))?;
    tracing::info!(
        issuers = ?verifier.settings().issuers,
        resource = %verifier.settings().resource,
        "OAuth sign-in enabled"
    );
    Ok(Some(std::sync::Arc::new(verifier)))
}

/// The SSRF guard's allow-list: --allow-upstream / PM_MCP_ALLOW_UPSTREAM, else the file's.
fn allow_upstream(file: &settings::FileConfig, args: Vec<String>) -> Vec<String> {
    non_empty(args)
        .or(file.allow_upstream.clone())
        .unwrap_or_default()
}

/// `--instance-id`, checked: it goes into a response header, log lines and metric labels.
fn instance_id(id: Option<String>) -> Result<Option<String>> {
    let Some(id) = id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        bail!(
            "--instance-id {id:?} is not usable: up to 64 letters, digits, `.`, `_` and `-` (e.g. the pod name)"
        );
    }
    Ok(Some(id))
}

fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    let v: Vec<String> = v
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if v.is_empty() { None } else { Some(v) }
}

/// Cancels `shutdown` on SIGINT or SIGTERM. The handlers are installed before this returns, so a
/// signal that arrives right after start-up (an orchestrator's quick stop) is still a clean stop.
fn stop_on_signal(shutdown: CancellationToken) -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutting down");
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}

async fn stdio(common: &Common, args: cli::StdioArgs) -> Result<()> {
    let no_migrate = args.no_migrate;
    let (read_only, toolsets) =
        settings::tool_policy(&common.file, args.read_only, &args.toolsets)?;
    let key = std::env::var("PM_MCP_API_KEY")
        .map_err(|_| anyhow!("PM_MCP_API_KEY is not set; create a key with `pm-mcp key create` and pass it in the environment"))?;
    let store = common.open_migrated(no_migrate).await?;
    let keys = common.master_keys()?;
    check_master_keys(store.as_ref(), &keys).await?;
    let http = HttpConfig {
        allow_http_providers: allow_http_providers(&common.file),
        allow_upstream: allow_upstream(&common.file, args.allow_upstream),
        upstream: settings::upstream(&common.file, &args.upstream, |k| std::env::var(k).ok())?,
        read_only,
        toolsets,
        ..HttpConfig::default()
    };
    check_upstream_proxy(&http).await?;
    let state = AppState::new(store.clone(), Arc::new(keys), http).map_err(|e| anyhow!("{e}"))?;
    let result = pm_server::stdio::serve_stdio(state.clone(), &key).await;
    state.shutdown().await;
    store.close().await;
    result.map_err(|e| anyhow!("{e}"))
}
