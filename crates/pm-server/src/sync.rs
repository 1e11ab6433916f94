//! Provider sync for an agent backend (the reference server's `/providers/sync*`, same bodies and
//! answers): the backend pushes its users' tracker connections, keyed by its own
//! `backend_provider_id` (kept as the connection's external id, so a second push updates). Unlike
//! the reference, only an API key holding the explicit `sync` permission may call these, the
//! connections belong to that key's user (never to everyone), `X-User-ID` / `?user_id=` are
//! ignored (never identity), and the credentials are sealed like every other connection's.
//! Errors are `{"detail": "…"}` (with pm-mcp's `error` and `message` beside it).
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pm_core::{ConnectionHandle, ConnectionId, ProviderKind, Scope, UserId};
use pm_store::{Connection, ConnectionChange, NewConnection, ProviderCredentials, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::admin_api::Body;
use crate::auth::Principal;
use crate::service::connections::{self, ConnectionError, Details, Prepared};
use crate::state::AppState;

/// One provider as the backend sends it (null fields omitted).
#[derive(Debug, Clone, Deserialize)]
pub struct SyncProvider {
    #[serde(deserialize_with = "id_text")]
    pub backend_provider_id: String,
    pub name: String,
    pub provider_type: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub api_token: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub project_key: Option<String>,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub test_connection: bool,
}

fn yes() -> bool {
    true
}

/// The backend's id as text, whether it sends a string or a number.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "backend_provider_id must be a string",
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct BulkRequest {
    pub providers: Vec<SyncProvider>,
    #[serde(default)]
    pub delete_missing: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeleteRequest {
    #[serde(deserialize_with = "id_text")]
    pub backend_provider_id: String,
    #[serde(default)]
    pub hard_delete: bool,
}

/// The answer to one sync (and to a delete).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SyncAnswer {
    pub success: bool,
    /// `created`, `updated`, `deactivated`, `deleted` or `not_found`.
    pub action: &'static str,
    pub mcp_provider_id: Option<String>,
    pub backend_provider_id: String,
    pub message: String,
    pub connection_tested: bool,
    /// `null` when not tested.
    pub connection_healthy: Option<bool>,
}

/// An error answer: `{"detail": …}` as the backend reads it, with pm-mcp's `error` and `message`.
#[derive(Debug)]
pub struct Detail {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Detail {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }
}

impl IntoResponse for Detail {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(
                json!({ "detail": self.message, "error": self.code, "message": self.message }),
            ),
        )
            .into_response()
    }
}

impl From<StoreError> for Detail {
    fn from(e: StoreError) -> Self {
        let api: crate::admin_api::ApiError = e.into();
        Detail::new(api.status, api.code, api.message)
    }
}

impl From<ConnectionError> for Detail {
    fn from(e: ConnectionError) -> Self {
        let api: crate::admin_api::ApiError = e.into();
        Detail::new(api.status, api.code, api.message)
    }
}

/// Only a key holding the explicit `sync` permission may sync; the connections are its user's.
fn syncing_user(p: &Principal) -> Result<UserId, Detail> {
    if p.scopes().holds(Scope::Sync) && p.actor.is_none() {
        Ok(p.user.id)
    } else {
        Err(Detail::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "provider sync needs an API key created with the sync permission (e.g. `pm-mcp key create --scopes read,sync`)",
        ))
    }
}

/// The reference's provider types (and pm-mcp's own names), as `ProviderKind::from_reference`
/// reads them (`jira` by host, `openproject_v13`/`_v16`), with the message the backend sees.
pub fn kind_of(provider_type: &str, base_url: Option<&str>) -> Result<ProviderKind, String> {
    ProviderKind::from_reference(provider_type, base_url.unwrap_or_default()).ok_or_else(|| {
        format!(
            "unknown provider_type {provider_type:?}; use jira, openproject, openproject_v13, openproject_v16, clickup, redmine, jira_cloud or jira_data_center"
        )
    })
}

/// A connection handle made from a display name (`ConnectionHandle::derive`, with room left for
/// a `-NN` suffix); the tracker type's name when nothing usable is left.
pub fn handle_from(name: &str, kind: ProviderKind) -> Result<ConnectionHandle, String> {
    let short: String = name
        .trim()
        .chars()
        .take(ConnectionHandle::MAX_LEN - 4)
        .collect();
    match ConnectionHandle::derive(&short) {
        Some(h) => Ok(h),
        None => ConnectionHandle::parse(connections::default_name(kind)).map_err(|e| e.0),
    }
}

/// `base`, or `base-2`, `base-3`… — the first not among `taken`.
fn free_handle(base: &ConnectionHandle, taken: &[&ConnectionHandle]) -> ConnectionHandle {
    if !taken.contains(&base) {
        return base.clone();
    }
    (2..1000)
        .map(|n| base.with_suffix(n))
        .find(|h| !taken.contains(&h))
        .unwrap_or_else(|| base.clone())
}

/// Creates or updates the user's connection synced under `p.backend_provider_id`: stored first,
/// then tested when asked (the reference's order; the answer says how the test went).
pub async fn sync_one(
    state: &AppState,
    user: UserId,
    p: SyncProvider,
) -> Result<SyncAnswer, Detail> {
    let external = p.backend_provider_id.trim().to_string();
    if external.is_empty() || external.len() > 200 {
        return Err(Detail::invalid(
            "backend_provider_id must be 1-200 characters",
        ));
    }
    let kind = kind_of(&p.provider_type, p.base_url.as_deref()).map_err(Detail::invalid)?;
    let display = p.name.trim().to_string();
    if display.is_empty() || display.chars().count() > 200 {
        return Err(Detail::invalid("name must be 1-200 characters"));
    }
    let mine = state.store.list_connections(user).await?;
    let existing = mine
        .iter()
        .find(|c| c.external_id.as_deref() == Some(external.as_str()))
        .cloned();
    // What the reference kept and pm-mcp has no use for is not stored: said in the answer.
    let mut unused = Vec::new();
    if let Some(k) = p
        .project_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        unused.push(format!("project_key {k:?}"));
    }
    // A machine's push is not refused for a user name the tracker's sign-in never sends (an
    // API key goes alone): it is left out, and said.
    let username = match p.username {
        Some(u)
            if !u.trim().is_empty() && !kind.auth_kinds().contains(&pm_core::AuthKind::Basic) =>
        {
            unused.push("username".to_string());
            None
        }
        other => other,
    };
    let organization_id = match p.organization_id {
        Some(o) if kind != ProviderKind::ClickUp && !o.trim().is_empty() => {
            unused.push(format!("organization_id {:?}", o.trim()));
            None
        }
        other => other,
    };
    let Prepared {
        kind,
        base_url,
        auth_kind,
        username,
        token,
        options: given,
    } = state.service.prepare(
        kind,
        Details {
            base_url: p.base_url,
            token: p
                .api_token
                .filter(|t| !t.trim().is_empty())
                .or(p.api_key)
                .map(pm_core::Secret::new),
            username,
            auth_kind: None,
            workspace_id: p.workspace_id,
            organization_id,
            text_format: None,
            notify: None,
        },
    )?;
    let (conn, action) = match existing {
        None => {
            let token = token.ok_or_else(|| {
                Detail::invalid(format!("api_token (or api_key) is required for {kind}"))
            })?;
            let taken: Vec<&ConnectionHandle> = mine.iter().map(|c| &c.name).collect();
            let base = handle_from(&display, kind).map_err(Detail::invalid)?;
            let name = free_handle(&base, &taken);
            let id = ConnectionId::new();
            let sealed = ProviderCredentials { username, token }.seal(&state.keys, id, user);
            let conn = state
                .store
                .add_connection(NewConnection {
                    id,
                    user_id: user,
                    name,
                    provider_type: kind,
                    base_url,
                    auth_kind,
                    sealed,
                    config: given,
                    is_active: p.is_active,
                    external_id: Some(external.clone()),
                    display_name: Some(display),
                })
                .await?;
            (conn, "created")
        }
        Some(old) => {
            // Options not sent are kept (with what a test learned: the workspace).
            let config = given.over(&old.config.clone().only_for(kind));
            let credentials = match token {
                Some(token) => Some((
                    auth_kind,
                    ProviderCredentials { username, token }.seal(&state.keys, old.id, user),
                )),
                None if kind != old.provider_type || auth_kind != old.auth_kind => {
                    return Err(Detail::invalid(format!(
                        "send api_token (or api_key) with a change of provider_type or username for {}",
                        old.name
                    )));
                }
                None => None,
            };
            let change = ConnectionChange {
                provider_type: Some(kind),
                base_url: Some(base_url),
                credentials,
                config: Some(config),
                is_active: Some(p.is_active),
                display_name: Some(Some(display)),
                ..ConnectionChange::default()
            };
            let conn = state.store.update_connection(user, old.id, &change).await?;
            state.service.forget(conn.id);
            (conn, "updated")
        }
    };
    state.forget_connections(user);
    crate::audit::note_connection(conn.id);
    let (tested, healthy, outcome) = if p.test_connection {
        match state.service.test_connection(user, &conn).await {
            Ok(r) if r.test.ok => (true, Some(true), "; the connection test passed".to_string()),
            Ok(r) => (
                true,
                Some(false),
                format!(
                    "; the connection test failed: {}",
                    r.test.error.as_deref().unwrap_or("unknown error")
                ),
            ),
            Err(e) => (
                true,
                Some(false),
                format!("; the connection test failed: {e}"),
            ),
        }
    } else {
        (false, None, String::new())
    };
    Ok(SyncAnswer {
        success: true,
        action,
        mcp_provider_id: Some(conn.id.to_string()),
        backend_provider_id: external,
        message: format!(
            "provider {action} as connection {}{outcome}{}",
            conn.name,
            if unused.is_empty() {
                String::new()
            } else {
                format!(
                    "; not stored, as pm-mcp does not use them: {}",
                    unused.join(", ")
                )
            }
        ),
        connection_tested: tested,
        connection_healthy: healthy,
    })
}

/// `POST /providers/sync`
pub async fn sync(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Body(body): Body<SyncProvider>,
) -> Result<axum::Json<SyncAnswer>, Detail> {
    let user = syncing_user(&p)?;
    Ok(axum::Json(sync_one(&state, user, body).await?))
}

/// `POST /providers/sync/bulk`: each provider as `sync`; with `delete_missing`, the user's synced
/// connections missing from the list are deactivated (never deleted).
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Body(body): Body<BulkRequest>,
) -> Result<axum::Json<Value>, Detail> {
    let user = syncing_user(&p)?;
    let total = body.providers.len();
    let listed: Vec<String> = body
        .providers
        .iter()
        .map(|p| p.backend_provider_id.trim().to_string())
        .collect();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for provider in body.providers {
        let id = provider.backend_provider_id.clone();
        match sync_one(&state, user, provider).await {
            Ok(answer) => results.push(answer),
            Err(e) if e.status.is_server_error() => return Err(e),
            Err(e) => errors.push(json!({ "backend_provider_id": id, "error": e.message })),
        }
    }
    let mut deactivated = 0;
    if body.delete_missing {
        for conn in state.store.list_connections(user).await? {
            let missing = conn
                .external_id
                .as_ref()
                .is_some_and(|e| !listed.contains(e));
            if missing && conn.is_active {
                let change = ConnectionChange {
                    is_active: Some(false),
                    ..ConnectionChange::default()
                };
                state
                    .store
                    .update_connection(user, conn.id, &change)
                    .await?;
                state.service.forget(conn.id);
                deactivated += 1;
            }
        }
        state.forget_connections(user);
    }
    Ok(axum::Json(json!({
        "success": errors.is_empty(),
        "total": total,
        "synced": results.len(),
        "failed": errors.len(),
        "deleted": deactivated,
        "results": results,
        "errors": errors,
    })))
}

/// The user's connection named by a connection id or the external id it was synced under.
fn find<'a>(mine: &'a [Connection], id: &str) -> Option<&'a Connection> {
    let id = id.trim();
    let parsed = id.parse::<ConnectionId>().ok();
    mine.iter()
        .find(|c| Some(c.id) == parsed)
        .or_else(|| mine.iter().find(|c| c.external_id.as_deref() == Some(id)))
}

/// `DELETE /providers/sync`: deactivates the synced connection, or deletes it with `hard_delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Body(body): Body<DeleteRequest>,
) -> Result<axum::Json<SyncAnswer>, Detail> {
    let user = syncing_user(&p)?;
    let external = body.backend_provider_id.trim().to_string();
    let mine = state.store.list_connections(user).await?;
    let Some(conn) = mine
        .iter()
        .find(|c| c.external_id.as_deref() == Some(external.as_str()))
    else {
        return Ok(axum::Json(SyncAnswer {
            success: false,
            action: "not_found",
            mcp_provider_id: None,
            backend_provider_id: external,
            message: "no connection was synced under this backend_provider_id".into(),
            connection_tested: false,
            connection_healthy: None,
        }));
    };
    crate::audit::note_connection(conn.id);
    let action = if body.hard_delete {
        state.service.remove_connection(user, conn).await?;
        "deleted"
    } else {
        let change = ConnectionChange {
            is_active: Some(false),
            ..ConnectionChange::default()
        };
        state
            .store
            .update_connection(user, conn.id, &change)
            .await?;
        state.service.forget(conn.id);
        state.forget_connections(user);
        "deactivated"
    };
    Ok(axum::Json(SyncAnswer {
        success: true,
        action,
        mcp_provider_id: Some(conn.id.to_string()),
        backend_provider_id: external,
        message: format!("connection {} {action}", conn.name),
        connection_tested: false,
        connection_healthy: None,
    }))
}

/// `GET /providers/sync/status`: the key user's connections.
pub async fn status(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
) -> Result<axum::Json<Value>, Detail> {
    let user = syncing_user(&p)?;
    let mine = state.store.list_connections(user).await?;
    let providers: Vec<Value> = mine
        .iter()
        .map(|c| {
            // One token is stored; which name it came in is not kept: the auth kind tells.
            let api_key = c.auth_kind == pm_core::AuthKind::ApiKey;
            json!({
                "mcp_provider_id": c.id.to_string(),
                "backend_provider_id": c.external_id,
                "name": c.display_name.clone().unwrap_or_else(|| c.name.to_string()),
                "provider_type": c.provider_type.as_str(),
                "base_url": c.base_url.to_string(),
                "is_active": c.is_active,
                "has_api_key": api_key,
                "has_api_token": !api_key,
                "synced": c.external_id.is_some(),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "total_providers": mine.len(),
        "active_providers": mine.iter().filter(|c| c.is_active).count(),
        "providers": providers,
    })))
}

/// `POST /providers/sync/test/{mcp_provider_id}`: tests one of the key user's connections (by
/// connection id or backend id); another user's answers 404 like an unknown one.
pub async fn test(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, Detail> {
    let user = syncing_user(&p)?;
    let mine = state.store.list_connections(user).await?;
    let Some(conn) = find(&mine, &id) else {
        return Err(Detail::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such provider",
        ));
    };
    crate::audit::note_connection(conn.id);
    let (healthy, message) = match state.service.test_connection(user, conn).await {
        Ok(r) if r.test.ok => (true, "the connection works".to_string()),
        Ok(r) => (
            false,
            format!(
                "the connection test failed: {}",
                r.test.error.as_deref().unwrap_or("unknown error")
            ),
        ),
        Err(ConnectionError::Store(e)) => return Err(e.into()),
        Err(e) => (false, format!("the connection test failed: {e}")),
    };
    Ok(axum::Json(json!({
        "mcp_provider_id": conn.id.to_string(),
        "provider_type": conn.provider_type.as_str(),
        "base_url": conn.base_url.to_string(),
        "connection_healthy": healthy,
        "message": message,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_provider_types_map_to_trackers() {
        let jira = |url| kind_of("jira", Some(url)).expect("jira");
        assert_eq!(jira("https://acme.atlassian.net"), ProviderKind::JiraCloud);
        assert_eq!(jira("https://ACME.jira.com/"), ProviderKind::JiraCloud);
        assert_eq!(jira("https://jira.acme.org"), ProviderKind::JiraDataCenter);
        assert_eq!(
            jira("https://atlassian.net.evil.example"),
            ProviderKind::JiraDataCenter
        );
        for t in ["openproject", "openproject_v13", "openproject_v16"] {
            assert_eq!(kind_of(t, None), Ok(ProviderKind::OpenProject));
        }
        assert_eq!(kind_of("clickup", None), Ok(ProviderKind::ClickUp));
        assert_eq!(
            kind_of("jira_data_center", Some("https://x.atlassian.net")),
            Ok(ProviderKind::JiraDataCenter)
        );
        assert!(kind_of("trello", None).is_err());
    }

    #[test]
    fn handles_come_from_display_names_and_stay_unique() {
        assert_eq!(
            handle_from("My JIRA", ProviderKind::JiraCloud)
                .expect("h")
                .as_str(),
            "my-jira"
        );
        assert_eq!(
            handle_from("  Équipe / Projets 2026 ", ProviderKind::OpenProject)
                .expect("h")
                .as_str(),
            "quipe-projets-2026"
        );
        assert_eq!(
            handle_from("!!!", ProviderKind::ClickUp)
                .expect("h")
                .as_str(),
            "clickup"
        );
        let long = handle_from(&"x".repeat(100), ProviderKind::Redmine).expect("h");
        assert!(long.as_str().len() <= ConnectionHandle::MAX_LEN - 4);
        let base = handle_from("My JIRA", ProviderKind::JiraCloud).expect("h");
        let two = ConnectionHandle::parse("my-jira-2").expect("handle");
        assert_eq!(free_handle(&base, &[]).as_str(), "my-jira");
        assert_eq!(free_handle(&base, &[&base]).as_str(), "my-jira-2");
        assert_eq!(free_handle(&base, &[&base, &two]).as_str(), "my-jira-3");
    }
}
