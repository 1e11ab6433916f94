//! The PM service between the tools (and the admin API, the CLI) and the providers: from a caller
//! and a connection name to a ready tracker client. The connection is looked up among the
//! caller's own only, its credentials unsealed, and the client built once and cached by
//! connection id and `updated_at` (a changed connection gets a new client). Its failures are
//! [`ServiceError`]s: the connection they happened on, a kind (which becomes the audit row's
//! kind), and the words for the caller.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pm_core::{ConnectionHandle, ConnectionId, Provider, ProviderError, ProviderResult};
use pm_providers::http::HttpClient;
use pm_providers::{HttpSettings, UpstreamPolicy};
use pm_store::{Connection, MasterKeys, ProviderCredentials, Store};

use crate::auth::Authenticator;
use crate::auth::Principal;

mod call;
pub mod connections;
mod error;
mod qualify;
#[cfg(test)]
mod testing;
pub use call::Tracker;
pub use error::{DATABASE_UNAVAILABLE, ErrorKind, ServiceError};
pub use qualify::{Qualify, qualified};

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

/// A built client, the `updated_at` of the connection it was built from, and its last use.
struct Cached {
    updated_at: DateTime<Utc>,
    provider: Arc<dyn Provider>,
    used: Instant,
}

/// At most this many built clients are kept; the least recently used goes first. A client holds
/// a connection's discovered fields and statuses, so a server with many users keeps the active
/// ones warm without growing without bound.
const CLIENTS_MAX: usize = 2_048;
/// A client unused this long is dropped when the cache is next full (it is rebuilt on demand).
const CLIENT_IDLE: Duration = Duration::from_secs(3_600);

/// The service: the caller's connections (cached while the auth epoch stands), their unsealed
/// credentials, and the tracker clients built from them (cached by connection).
pub struct Service {
    store: Arc<dyn Store>,
    keys: Arc<MasterKeys>,
    /// Whose epoch says whether a cached list of connections still stands.
    auth: Authenticator,
    client: HttpClient,
    settings: HttpSettings,
    /// Accept plain-http base URLs (on-prem trackers on a trusted network, and tests).
    pub allow_http: bool,
    cache: Mutex<HashMap<ConnectionId, Cached>>,
    /// Each user's connections, valid while the auth epoch they were read under stands.
    connections: Mutex<HashMap<pm_core::UserId, (i64, Vec<Connection>)>>,
}

impl Service {
    /// `allow_upstream`: hosts and CIDR blocks exempt from the SSRF guard (see `pm_providers::guard`).
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<MasterKeys>,
        auth: Authenticator,
        allow_http: bool,
        allow_upstream: &[String],
        upstream: &UpstreamConfig,
    ) -> ProviderResult<Self> {
        let settings = Self::settings(allow_http, allow_upstream, upstream)?;
        if !settings.policy.allowed().is_empty() {
            tracing::info!(allowed = ?settings.policy.allowed(), "trackers may be called at these private or loopback hosts and addresses");
        }
        if let Some(proxy) = &settings.proxy {
            tracing::info!(proxy = %proxy.url(), user = proxy.user().unwrap_or("(none)"), "tracker calls go through the upstream proxy");
        }
        Ok(Self {
            store,
            keys,
            auth,
            client: pm_providers::http::shared_client(&settings)?,
            settings,
            allow_http,
            cache: Mutex::default(),
            connections: Mutex::default(),
        })
    }

    /// The HTTP settings of tracker calls, from the server's configuration.
    pub fn settings(
        allow_http: bool,
        allow_upstream: &[String],
        upstream: &UpstreamConfig,
    ) -> ProviderResult<HttpSettings> {
        let policy = UpstreamPolicy::new(allow_http, allow_upstream)
            .map_err(|e| ProviderError::BadInput(format!("--allow-upstream: {e}")))?;
        Ok(HttpSettings {
            timeout: upstream.timeout,
            max_attempts: upstream.max_attempts,
            max_concurrency_per_connection: upstream.max_concurrency_per_connection,
            max_body_bytes: upstream.max_body_bytes,
            max_retry_wait: upstream.max_retry_wait,
            breaker: upstream.breaker,
            policy,
            proxy: upstream.proxy.clone(),
            ..HttpSettings::default()
        })
    }

    /// Refuses an upstream proxy the SSRF policy does not allow (one on a loopback or private
    /// address must be on `--allow-upstream`); run at start, before anything is served.
    pub async fn check_proxy(
        allow_http: bool,
        allow_upstream: &[String],
        upstream: &UpstreamConfig,
    ) -> ProviderResult<()> {
        Self::settings(allow_http, allow_upstream, upstream)?
            .check_proxy()
            .await
    }

    /// The client for one of the caller's stored connections.
    pub async fn client(&self, conn: &Connection) -> Result<Arc<dyn Provider>, ServiceError> {
        if let Ok(mut cache) = self.cache.lock()
            && let Some(hit) = cache.get_mut(&conn.id)
            && hit.updated_at == conn.updated_at
        {
            hit.used = Instant::now();
            return Ok(hit.provider.clone());
        }
        let sealed = self
            .store
            .get_sealed_credentials(conn.user_id, conn.id)
            .await?
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::Connection,
                    format!("connection {} was just removed", conn.name),
                )
                .on(&conn.name)
            })?;
        let creds = ProviderCredentials::open(&self.keys, &sealed, conn.id, conn.user_id).map_err(|e| {
            tracing::error!(connection = %conn.id, error = %e, "cannot unseal credentials");
            ServiceError::new(ErrorKind::Credentials, format!("connection {}: its stored credentials cannot be opened ({e}); an operator must fix the master key", conn.name)).on(&conn.name)
        })?;
        let spec = pm_core::ConnectionSpec::stored(
            conn.provider_type,
            conn.base_url.clone(),
            conn.auth_kind,
            creds.username,
            creds.token,
            conn.config.clone(),
        )
        .map_err(|e| {
            ServiceError::new(
                ErrorKind::Connection,
                format!("connection {}: {e}", conn.name),
            )
            .on(&conn.name)
        })?;
        let provider = self
            .connect(&spec)
            .map_err(|e| ServiceError::tracker(&conn.name, &e))?;
        if let Ok(mut cache) = self.cache.lock() {
            keep_room(&mut cache, CLIENTS_MAX, CLIENT_IDLE, Instant::now());
            cache.insert(
                conn.id,
                Cached {
                    updated_at: conn.updated_at,
                    provider: provider.clone(),
                    used: Instant::now(),
                },
            );
        }
        Ok(provider)
    }

    /// How many built clients are cached (for tests and metrics).
    pub fn cached_clients(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn forget(&self, id: ConnectionId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&id);
        }
    }
}

/// Makes room for one more entry: when the cache is full, drops the clients idle longer than
/// `idle`, then (if still full) the least recently used one. Runs only when a client is built.
fn keep_room(cache: &mut HashMap<ConnectionId, Cached>, max: usize, idle: Duration, now: Instant) {
    if cache.len() < max {
        return;
    }
    cache.retain(|_, c| now.saturating_duration_since(c.used) < idle);
    while cache.len() >= max.max(1) {
        let Some(oldest) = cache.iter().min_by_key(|(_, c)| c.used).map(|(id, _)| *id) else {
            break;
        };
        cache.remove(&oldest);
    }
}

/// The caller's active connection named by `provider_id` (a handle, a connection id, or the
/// external id an agent backend synced it under), or their default. Another user's connection
/// answers exactly like one that does not exist; an inactive one (`is_active = false`) is never
/// used: naming it, or having it as the default, is refused.
impl Service {
    pub async fn resolve(
        &self,
        principal: &Principal,
        provider_id: Option<&str>,
    ) -> Result<Connection, ServiceError> {
        let conn = self.resolve_any(principal, provider_id).await?;
        usable(
            conn,
            provider_id.map(str::trim).is_some_and(|s| !s.is_empty()),
        )
    }
}

/// The one rule for ids given together: an id qualified with a connection must be on the
/// connection the call works on (`conn`), and a bare id is taken as on it. Returns the native id;
/// `what` names the id in the refusal ("the epic", "assignee_id").
pub fn on_connection(
    conn: &ConnectionHandle,
    id: &pm_core::QualifiedId,
    what: &str,
) -> Result<String, ServiceError> {
    match &id.connection {
        Some(c) if c != conn => Err(ServiceError::new(
            ErrorKind::Invalid,
            format!(
                "{what} is on connection {c}, but this call works on connection {conn}; \
                 give ids of one connection"
            ),
        )
        .on(conn)),
        _ => Ok(id.native.clone()),
    }
}

/// The connection if it is active; else the refusal, naming it (`named`: the caller named it,
/// else it is their default).
fn usable(conn: Connection, named: bool) -> Result<Connection, ServiceError> {
    if conn.is_active {
        return Ok(conn);
    }
    let which = if named {
        "connection"
    } else {
        "your default connection"
    };
    Err(ServiceError::new(
        ErrorKind::Connection,
        format!(
            "{which} {} is inactive and is not used; name an active one in provider_id \
             (list_providers shows which are active)",
            conn.name
        ),
    )
    .on(&conn.name))
}

/// The connection of `all` that `name` names: its handle, its id, or the external id an agent
/// backend synced it under (`backend_provider_id`), in that order.
pub(crate) fn named<'a>(all: &'a [Connection], name: &str) -> Option<&'a Connection> {
    let name = name.trim();
    let handle = ConnectionHandle::parse(name).ok();
    let id = name.parse::<ConnectionId>().ok();
    all.iter()
        .find(|c| Some(&c.name) == handle.as_ref())
        .or_else(|| all.iter().find(|c| Some(c.id) == id))
        .or_else(|| all.iter().find(|c| c.external_id.as_deref() == Some(name)))
}

/// Like [`resolve`], but an inactive connection is found too: for the tools that manage
/// connections (test_pm_provider, remove_pm_provider), never for ones that call its tracker.
impl Service {
    pub async fn resolve_any(
        &self,
        principal: &Principal,
        provider_id: Option<&str>,
    ) -> Result<Connection, ServiceError> {
        let user = principal.user.id;
        let all = self.connections_of(user).await?;
        match provider_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(name) => {
                // Only the caller's own connections are searched: another user's name or id
                // answers exactly like one that does not exist.
                named(&all, name)
                    .cloned()
                    .inspect(|c| crate::audit::note_connection(c.id))
                    .ok_or_else(|| {
                        ServiceError::new(
                            ErrorKind::Connection,
                            format!("you have no connection {name:?}; list_providers shows yours"),
                        )
                    })
            }
            None => all
                .into_iter()
                .find(|c| c.is_default)
                .inspect(|c| crate::audit::note_connection(c.id))
                .ok_or_else(|| {
                    ServiceError::new(
                        ErrorKind::Connection,
                        "you have no tracker connection yet; add one with configure_pm_provider",
                    )
                }),
        }
    }

    /// A user's connections: from memory while nothing changed them (the auth epoch stands,
    /// moved by database triggers on any change by any process), else from the store.
    pub async fn connections_of(
        &self,
        user: pm_core::UserId,
    ) -> Result<Vec<Connection>, pm_store::StoreError> {
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

impl ServiceError {
    /// A tracker's failure, prefixed with the connection it happened on and followed by what
    /// the model can do next.
    pub fn tracker(connection: &ConnectionHandle, e: &ProviderError) -> Self {
        ServiceError::new(
            ErrorKind::Tracker(e.kind()),
            format!("connection {connection}: {e}{}", hint(e)),
        )
        .on(connection)
    }
}

/// What the model can do next, by the kind of failure: which tool lists what exists, or which
/// checks and repairs the connection.
fn hint(e: &ProviderError) -> &'static str {
    match e {
        ProviderError::NotFound { .. } => {
            "; check the id: list_projects, list_tasks, search_tasks and list_sprints show what exists"
        }
        ProviderError::Network { .. }
        | ProviderError::Timeout { .. }
        | ProviderError::Unavailable { .. }
        | ProviderError::Decode { .. } => {
            "; test_pm_provider checks the connection, configure_pm_provider repairs it"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pm_core::{AuthKind, BaseUrl, ProviderKind};

    fn provider() -> Arc<dyn Provider> {
        let client = pm_providers::http::shared_client(&HttpSettings::default()).expect("client");
        let url = BaseUrl::parse("https://acme.atlassian.net", false).expect("url");
        let spec = pm_core::ConnectionSpec::stored(
            ProviderKind::JiraCloud,
            url,
            AuthKind::Basic,
            Some("ann@acme.org".into()),
            pm_core::Secret::new("token"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec");
        pm_providers::connect(client, &spec, HttpSettings::default()).expect("build")
    }

    #[test]
    fn an_inactive_connection_is_never_used() {
        let now = chrono::Utc::now();
        let conn = Connection {
            id: ConnectionId::new(),
            user_id: pm_core::UserId::new(),
            name: ConnectionHandle::parse("old-jira").expect("handle"),
            provider_type: ProviderKind::JiraCloud,
            base_url: BaseUrl::parse("https://acme.atlassian.net", false).expect("url"),
            auth_kind: AuthKind::Basic,
            key_id: "k".into(),
            config: pm_core::ConnectionOptions::default(),
            is_default: true,
            is_active: true,
            last_checked_at: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            external_id: None,
            display_name: None,
        };
        assert!(usable(conn.clone(), false).is_ok());
        let off = Connection {
            is_active: false,
            ..conn
        };
        let named = usable(off.clone(), true).expect_err("inactive");
        assert!(
            named.message.starts_with("connection old-jira is inactive"),
            "{}",
            named.message
        );
        assert_eq!(named.kind, ErrorKind::Connection);
        assert_eq!(
            named.connection.as_ref().map(|c| c.as_str()),
            Some("old-jira")
        );
        let default = usable(off, false).expect_err("inactive default");
        assert!(
            default
                .message
                .starts_with("your default connection old-jira is inactive"),
            "{}",
            default.message
        );
    }

    #[test]
    fn ids_given_together_must_be_on_one_connection() {
        let jira = ConnectionHandle::parse("acme-jira").expect("handle");
        let here = pm_core::QualifiedId::parse("acme-jira:EX-7").expect("id");
        assert_eq!(
            on_connection(&jira, &here, "the epic"),
            Ok("EX-7".to_string())
        );
        let bare = pm_core::QualifiedId::parse("EX-8").expect("id");
        assert_eq!(
            on_connection(&jira, &bare, "the epic"),
            Ok("EX-8".to_string())
        );
        let there = pm_core::QualifiedId::parse("team-op:42").expect("id");
        let refused = on_connection(&jira, &there, "the epic").expect_err("other connection");
        assert_eq!(refused.kind, ErrorKind::Invalid);
        assert_eq!(
            refused.message,
            "the epic is on connection team-op, but this call works on connection acme-jira; \
             give ids of one connection"
        );
    }

    #[test]
    fn provider_errors_say_what_to_do_next() {
        let c = ConnectionHandle::parse("acme-jira").expect("handle");
        let missing = ServiceError::tracker(
            &c,
            &ProviderError::NotFound {
                what: "Jira issue PROJ-9".into(),
            },
        );
        assert_eq!(missing.kind, ErrorKind::Tracker("not_found"));
        assert_eq!(missing.kind.as_str(), "tracker_not_found");
        assert_eq!(
            missing.message,
            "connection acme-jira: Jira issue PROJ-9 was not found; check the id: list_projects, \
             list_tasks, search_tasks and list_sprints show what exists"
        );
        let down = ServiceError::tracker(&c, &ProviderError::Timeout { provider: "Jira" });
        assert!(
            down.message.contains("test_pm_provider"),
            "{}",
            down.message
        );
        assert_eq!(down.kind.as_str(), "tracker_timeout");
        let refused = ServiceError::tracker(
            &c,
            &ProviderError::Invalid {
                provider: "Jira",
                message: "Summary is required".into(),
            },
        );
        assert_eq!(
            refused.message,
            "connection acme-jira: Jira refused the request: Summary is required"
        );
    }

    #[test]
    fn the_client_cache_keeps_the_recently_used_and_stays_bounded() {
        let p = provider();
        let start = Instant::now();
        let ids: Vec<ConnectionId> = (0..4).map(|_| ConnectionId::new()).collect();
        let mut cache = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            keep_room(&mut cache, 3, Duration::from_secs(3_600), start);
            cache.insert(
                *id,
                Cached {
                    updated_at: Utc::now(),
                    provider: p.clone(),
                    used: start + Duration::from_secs(i as u64),
                },
            );
            assert!(cache.len() <= 3);
        }
        // The fourth insert evicted the least recently used: the first.
        assert!(!cache.contains_key(&ids[0]));
        assert!(ids[1..].iter().all(|id| cache.contains_key(id)));
        // Touch the second, then insert a fifth: the third (now the oldest use) goes.
        if let Some(c) = cache.get_mut(&ids[1]) {
            c.used = start + Duration::from_secs(10);
        }
        let fifth = ConnectionId::new();
        keep_room(
            &mut cache,
            3,
            Duration::from_secs(3_600),
            start + Duration::from_secs(11),
        );
        cache.insert(
            fifth,
            Cached {
                updated_at: Utc::now(),
                provider: p.clone(),
                used: start + Duration::from_secs(11),
            },
        );
        assert!(!cache.contains_key(&ids[2]));
        assert!(cache.contains_key(&ids[1]) && cache.contains_key(&ids[3]));
        // Clients idle past the limit all go at once when room is needed.
        keep_room(
            &mut cache,
            3,
            Duration::from_secs(60),
            start + Duration::from_secs(500),
        );
        assert!(cache.is_empty(), "{}", cache.len());
    }
}
