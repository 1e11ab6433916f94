//! What every request shares: the store, the authenticator, the audit sink and the settings.
use std::sync::Arc;

use pm_store::{MasterKeys, Store};

use crate::audit::AuditSink;
use crate::auth::Authenticator;

/// HTTP settings, with secure defaults.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `Host` values (`name` or `name:port`) accepted on MCP routes; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted on MCP routes (`scheme://host[:port]`, `:*` for any port, `*` for
    /// any origin). Requests without `Origin` (non-browser clients) always pass.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Header-read and idle timeouts and the cap on open connections of every listener.
    pub connections: crate::listen::ConnLimits,
    /// Keep per-client sessions (older protocol revisions only). Off by default: stateless
    /// replicas need no sticky sessions.
    pub sessions: bool,
    /// Serve read-only: write tools are neither listed nor callable, whatever the key.
    pub read_only: bool,
    /// Only these toolsets (`None`: all).
    pub toolsets: Option<Vec<String>>,
    /// Accept plain-http tracker URLs in configure_pm_provider (on-prem on a trusted network, tests).
    pub allow_http_providers: bool,
    /// Hosts and CIDR blocks trackers may be called at although they are loopback, private or
    /// link-local (the SSRF guard refuses those otherwise).
    pub allow_upstream: Vec<String>,
    /// How trackers are called: limits, circuit breaker, the company's proxy.
    pub upstream: UpstreamConfig,
    /// Per-key rate limit and in-flight cap on the HTTP routes (in this process).
    pub key_limits: crate::limits::KeyLimits,
    /// This process's name in the `X-PM-MCP-Instance` response header, logs and metrics (`None`:
    /// a random one), so an operator can tell which replica answered.
    pub instance_id: Option<String>,
    /// Accept OAuth access tokens from the company's identity provider (`None`: API keys only).
    pub oauth: Option<Arc<crate::oauth::TokenVerifier>>,
    /// The web console at `/console` (`None`: `--no-console`).
    pub console: Option<crate::console::config::ConsoleConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: default_allowed_hosts(),
            allowed_origins: default_allowed_origins(),
            max_body_bytes: 4 * 1024 * 1024,
            connections: crate::listen::ConnLimits::default(),
            sessions: false,
            read_only: false,
            toolsets: None,
            allow_http_providers: false,
            allow_upstream: Vec::new(),
            upstream: UpstreamConfig::default(),
            key_limits: crate::limits::KeyLimits::default(),
            instance_id: None,
            oauth: None,
            console: Some(crate::console::config::ConsoleConfig::default()),
        }
    }
}

pub use crate::service::UpstreamConfig;

pub fn default_allowed_hosts() -> Vec<String> {
    ["localhost", "127.0.0.1", "[::1]"]
        .map(String::from)
        .to_vec()
}

pub fn default_allowed_origins() -> Vec<String> {
    ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        .map(String::from)
        .to_vec()
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<MasterKeys>,
    pub auth: Authenticator,
    pub audit: AuditSink,
    pub http: HttpConfig,
    pub sse: crate::sse_sessions::SseSessions,
    /// The PM service: connections, credentials, tracker clients.
    pub service: crate::service::Service,
    /// Per-key rate limit and in-flight cap.
    pub limiter: crate::limits::KeyLimiter,
    /// This process's instance id (see `HttpConfig::instance_id`).
    pub instance: Arc<str>,
    pub metrics: crate::metrics::Metrics,
    /// What a build adds to the MCP server (the conformance fixtures); `None` in a release.
    pub extension: Option<Arc<dyn crate::extension::McpExtension>>,
    /// Sign-in attempts per address (the console's links and identity-provider sign-ins).
    pub console_attempts: crate::console::config::Attempts,
    /// The task following the auth epoch; stopped by `shutdown`.
    auth_watch: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl AppState {
    /// Must run inside a Tokio runtime (it starts the audit writer and the auth epoch watcher).
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<MasterKeys>,
        http: HttpConfig,
    ) -> Result<Arc<Self>, pm_core::ProviderError> {
        Self::with_extension(store, keys, http, None)
    }

    /// [`AppState::new`] with an extension of the MCP server (see `crate::extension`).
    pub fn with_extension(
        store: Arc<dyn Store>,
        keys: Arc<MasterKeys>,
        http: HttpConfig,
        extension: Option<Arc<dyn crate::extension::McpExtension>>,
    ) -> Result<Arc<Self>, pm_core::ProviderError> {
        let auth = match &http.oauth {
            Some(verifier) => Authenticator::new(store.clone()).with_oauth(verifier.clone()),
            None => Authenticator::new(store.clone()),
        };
        let service = crate::service::Service::new(
            store.clone(),
            keys.clone(),
            auth.clone(),
            http.allow_http_providers,
            &http.allow_upstream,
            &http.upstream,
        )?;
        let auth_watch = std::sync::Mutex::new(Some(auth.watch()));
        let limiter = crate::limits::KeyLimiter::new(http.key_limits);
        let instance: Arc<str> = match &http.instance_id {
            Some(id) => Arc::from(id.as_str()),
            None => Arc::from(&uuid::Uuid::new_v4().simple().to_string()[..12]),
        };
        // The tools' counters come from the MCP handler and the HTTP app, which know the tools.
        let metrics = crate::metrics::Metrics::new(instance.clone());
        Ok(Arc::new(Self {
            instance,
            metrics,
            auth,
            audit: AuditSink::spawn(store.clone()),
            store,
            keys,
            http,
            sse: Default::default(),
            service,
            limiter,
            extension,
            console_attempts: Default::default(),
            auth_watch,
        }))
    }

    /// Stops background work that holds database connections (the auth epoch watcher) and
    /// flushes the audit trail; call before closing the store.
    pub async fn shutdown(&self) {
        if let Ok(mut w) = self.auth_watch.lock()
            && let Some(h) = w.take()
        {
            h.abort();
        }
        self.audit.flush().await;
    }

    /// A user's connections (see `Service::connections_of`).
    pub async fn connections_of(
        &self,
        user: pm_core::UserId,
    ) -> Result<Vec<pm_store::Connection>, pm_store::StoreError> {
        self.service.connections_of(user).await
    }

    /// Forgets a user's cached connections (after this process changed them).
    pub fn forget_connections(&self, user: pm_core::UserId) {
        self.service.forget_connections(user);
    }
}
