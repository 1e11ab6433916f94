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
    /// The conformance build only: whom a request without a key acts as (the suite sends none).
    #[cfg(feature = "conformance")]
    pub anonymous: Option<crate::auth::Principal>,
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
            #[cfg(feature = "conformance")]
            anonymous: None,
        }
    }
}

/// How trackers are called (see `pm_providers::HttpSettings`, whose defaults these are).
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The whole of one attempt: connecting, sending, reading the answer.
    pub timeout: std::time::Duration,
    /// Attempts of a read (GET, or a POST that only reads) on timeouts, broken connections, 429
    /// and 5xx; writes are sent once.
    pub max_attempts: u32,
    /// The largest answer read from a tracker.
    pub max_body_bytes: usize,
    /// The longest `Retry-After` waited out before retrying.
    pub max_retry_wait: std::time::Duration,
    /// Requests to one connection at once.
    pub max_concurrency_per_connection: usize,
    /// Each connection's circuit breaker.
    pub breaker: pm_providers::BreakerSettings,
    /// The company's forward proxy, if tracker calls go through one.
    pub proxy: Option<pm_providers::UpstreamProxy>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        let d = pm_providers::HttpSettings::default();
        Self {
            timeout: d.timeout,
            max_attempts: d.max_attempts,
            max_body_bytes: d.max_body_bytes,
            max_retry_wait: d.max_retry_wait,
            max_concurrency_per_connection: d.max_concurrency_per_connection,
            breaker: d.breaker,
            proxy: d.proxy,
        }
    }
}

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
    pub sse: crate::sse::SseSessions,
    pub providers: crate::service::ProviderHub,
    /// Per-key rate limit and in-flight cap.
    pub limiter: crate::limits::KeyLimiter,
    /// This process's instance id (see `HttpConfig::instance_id`).
    pub instance: Arc<str>,
    pub metrics: crate::metrics::Metrics,
    /// The task following the auth epoch; stopped by `shutdown`.
    auth_watch: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Each user's connections, valid while the auth epoch they were read under stands.
    connections: std::sync::Mutex<
        std::collections::HashMap<pm_core::UserId, (i64, Vec<pm_store::Connection>)>,
    >,
}

impl AppState {
    /// Must run inside a Tokio runtime (it starts the audit writer and the auth epoch watcher).
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<MasterKeys>,
        http: HttpConfig,
    ) -> Result<Arc<Self>, pm_core::ProviderError> {
        let providers = crate::service::ProviderHub::new(
            http.allow_http_providers,
            &http.allow_upstream,
            &http.upstream,
        )?;
        let auth = match &http.oauth {
            Some(verifier) => Authenticator::new(store.clone()).with_oauth(verifier.clone()),
            None => Authenticator::new(store.clone()),
        };
        let auth_watch = std::sync::Mutex::new(Some(auth.watch()));
        let limiter = crate::limits::KeyLimiter::new(http.key_limits);
        let instance: Arc<str> = match &http.instance_id {
            Some(id) => Arc::from(id.as_str()),
            None => Arc::from(&uuid::Uuid::new_v4().simple().to_string()[..12]),
        };
        let tools = crate::mcp::PmServer::all_tools();
        let metrics =
            crate::metrics::Metrics::new(instance.clone(), tools.iter().map(|t| &*t.name));
        Ok(Arc::new(Self {
            instance,
            metrics,
            auth,
            audit: AuditSink::spawn(store.clone()),
            store,
            keys,
            http,
            sse: Default::default(),
            providers,
            limiter,
            connections: Default::default(),
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

    /// A user's connections: from memory while nothing changed them (the auth epoch stands,
    /// moved by database triggers on any change by any process), else from the store.
    pub async fn connections_of(
        &self,
        user: pm_core::UserId,
    ) -> Result<Vec<pm_store::Connection>, pm_store::StoreError> {
        let epoch = self.auth.epoch();
        if let (Some(e), Ok(cache)) = (epoch, self.connections.lock())
            && let Some((at, list)) = cache.get(&user)
            && *at == e
        {
            return Ok(list.clone());
        }
        let list = self.store.list_connections(user).await?;
        if let (Some(e), Ok(mut cache)) = (epoch, self.connections.lock()) {
            if cache.len() >= 10_000 {
                cache.clear();
            }
            cache.insert(user, (e, list.clone()));
        }
        Ok(list)
    }

    /// Forgets a user's cached connections (after this process changed them).
    pub fn forget_connections(&self, user: pm_core::UserId) {
        if let Ok(mut cache) = self.connections.lock() {
            cache.remove(&user);
        }
    }
}
