//! From a caller and a connection name to a ready tracker client: the connection is looked up
//! among the caller's own only, its credentials unsealed, and the client built once and cached by
//! connection id and `updated_at` (a changed connection gets a new client).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use pm_core::{
    AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Provider, ProviderError, ProviderKind,
    ProviderResult,
};
use pm_providers::http::HttpClient;
use pm_providers::{HttpSettings, UpstreamPolicy};
use pm_store::{Connection, ProviderCredentials};

use crate::auth::Principal;
use crate::state::AppState;
use crate::tools::ToolError;

/// A built client and the `updated_at` of the connection it was built from.
type Cached = (DateTime<Utc>, Arc<dyn Provider>);

pub struct ProviderHub {
    client: HttpClient,
    settings: HttpSettings,
    /// Accept plain-http base URLs (on-prem trackers on a trusted network, and tests).
    pub allow_http: bool,
    cache: Mutex<HashMap<ConnectionId, Cached>>,
}

impl ProviderHub {
    /// `allow_upstream`: hosts and CIDR blocks exempt from the SSRF guard (see `pm_providers::guard`).
    pub fn new(allow_http: bool, allow_upstream: &[String]) -> ProviderResult<Self> {
        let policy = UpstreamPolicy::new(allow_http, allow_upstream)
            .map_err(|e| ProviderError::BadInput(format!("--allow-upstream: {e}")))?;
        if !policy.allowed().is_empty() {
            tracing::info!(allowed = ?policy.allowed(), "trackers may be called at these private or loopback hosts and addresses");
        }
        let settings = HttpSettings {
            policy,
            ..HttpSettings::default()
        };
        Ok(Self {
            client: pm_providers::http::shared_client(&settings)?,
            settings,
            allow_http,
            cache: Mutex::default(),
        })
    }

    /// A client for credentials not (yet) stored, e.g. to test them before saving.
    pub fn build(
        &self,
        kind: ProviderKind,
        base_url: &BaseUrl,
        auth_kind: AuthKind,
        username: Option<String>,
        token: &str,
        workspace_id: Option<&str>,
    ) -> ProviderResult<Arc<dyn Provider>> {
        pm_providers::build(
            self.client.clone(),
            kind,
            base_url,
            auth_kind,
            username,
            token,
            self.settings.clone(),
            workspace_id,
        )
    }

    /// The client for one of the caller's stored connections.
    pub async fn client(
        &self,
        state: &AppState,
        conn: &Connection,
    ) -> Result<Arc<dyn Provider>, ToolError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, p)) = cache.get(&conn.id)
            && *at == conn.updated_at
        {
            return Ok(p.clone());
        }
        let sealed = state
            .store
            .get_sealed_credentials(conn.user_id, conn.id)
            .await?
            .ok_or_else(|| ToolError(format!("connection {} was just removed", conn.name)))?;
        let creds = ProviderCredentials::open(&state.keys, &sealed, conn.id, conn.user_id).map_err(|e| {
            tracing::error!(connection = %conn.id, error = %e, "cannot unseal credentials");
            ToolError(format!("connection {}: its stored credentials cannot be opened ({e}); an operator must fix the master key", conn.name))
        })?;
        let provider = self
            .build(
                conn.provider_type,
                &conn.base_url,
                conn.auth_kind,
                creds.username.clone(),
                creds.token.expose(),
                conn.config.get("workspace_id").and_then(|w| w.as_str()),
            )
            .map_err(|e| ToolError::provider(&conn.name, &e))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(conn.id, (conn.updated_at, provider.clone()));
        }
        Ok(provider)
    }

    pub fn forget(&self, id: ConnectionId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&id);
        }
    }
}

/// The caller's connection named by `provider_id` (a handle or a connection id), or their default.
/// Another user's connection answers exactly like one that does not exist.
pub async fn resolve(
    state: &AppState,
    principal: &Principal,
    provider_id: Option<&str>,
) -> Result<Connection, ToolError> {
    let user = principal.user.id;
    let all = state.connections_of(user).await?;
    match provider_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            let handle = ConnectionHandle::parse(name).ok();
            let id = name.parse::<ConnectionId>().ok();
            // Only the caller's own connections are searched: another user's name or id
            // answers exactly like one that does not exist.
            all.iter()
                .find(|c| Some(&c.name) == handle.as_ref())
                .or_else(|| all.iter().find(|c| Some(c.id) == id))
                .cloned()
                .ok_or_else(|| {
                    ToolError(format!(
                        "you have no connection {name:?}; list_providers shows yours"
                    ))
                })
        }
        None => all.into_iter().find(|c| c.is_default).ok_or_else(|| {
            ToolError(
                "you have no tracker connection yet; add one with configure_pm_provider".into(),
            )
        }),
    }
}

impl ToolError {
    /// A provider failure, prefixed with the connection it happened on.
    pub fn provider(connection: &ConnectionHandle, e: &ProviderError) -> Self {
        ToolError(format!("connection {connection}: {e}"))
    }
}
