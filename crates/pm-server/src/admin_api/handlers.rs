//! The admin API's handlers and the shapes they take and answer. Admin operations act on the user
//! in the path; `me` operations on the caller's own user, where another user's key or connection
//! answers exactly like one that does not exist.
use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pm_core::{ApiKeyId, Email, Scope, UserId};
use pm_store::{ApiKeyInfo, AuditFilter, Connection, NewUser, Outcome, User, UserChange};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ApiError, Body, is_admin};
use crate::auth::Principal;
use crate::manage::{self, KeySpec};
use crate::service::connections::{
    self, ConfigureArgs, ConfigureResult, ConnectionSummary, RemoveResult, TestResult, summary,
};
use crate::state::AppState;

type St = State<Arc<AppState>>;
type Me = Extension<Principal>;
type Answer<T> = Result<axum::Json<T>, ApiError>;

// ---- shapes ----

/// A pm-mcp user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    /// Disabled users' keys do not work.
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            name: u.name,
            is_admin: u.is_admin,
            disabled: u.disabled_at.is_some(),
            disabled_at: u.disabled_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// An API key as listed: never the key itself.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyOut {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The public start of the key, e.g. `pmcp_3fA9xQ2b`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// `null`: every toolset.
    pub toolsets: Option<Vec<String>>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ApiKeyInfo> for KeyOut {
    fn from(k: ApiKeyInfo) -> Self {
        Self {
            status: k.status(Utc::now()).to_string(),
            id: k.id.to_string(),
            user_id: k.user_id.to_string(),
            name: k.name,
            prefix: k.key_prefix,
            scopes: k.scopes.to_vec(),
            toolsets: k.toolsets,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
        }
    }
}

/// A key just created: `key` is shown this once and cannot be read again.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NewKeyOut {
    /// The API key (`pmcp_…`). Store it now: only its hash is kept.
    pub key: String,
    pub api_key: KeyOut,
}

/// A key replaced by a new one with the same settings; the old one is revoked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RotatedKeyOut {
    /// The new API key (`pmcp_…`), shown this once.
    pub key: String,
    pub api_key: KeyOut,
    /// The key it replaces, now revoked.
    pub replaced: KeyOut,
}

/// The caller: their user and the key they called with.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MeOut {
    pub user: UserOut,
    /// The API key this request authenticated with (null when signed in with OAuth).
    pub key: Option<KeyOut>,
    /// The OAuth access token this request authenticated with (null with an API key).
    pub token: Option<TokenOut>,
}

/// An OAuth access token as verified (never the token itself).
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenOut {
    pub issuer: String,
    pub subject: String,
    pub client_id: Option<String>,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
}

impl From<&crate::auth::TokenGrant> for TokenOut {
    fn from(t: &crate::auth::TokenGrant) -> Self {
        Self {
            issuer: t.issuer.clone(),
            subject: t.subject.clone(),
            client_id: t.client_id.clone(),
            scopes: t.scopes.to_vec(),
            expires_at: t.expires_at,
        }
    }
}

/// One audited call (tool call or admin change); never its arguments.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditEventOut {
    pub id: String,
    pub at: DateTime<Utc>,
    pub user_id: Option<String>,
    pub key_id: Option<String>,
    /// The tool, or `admin.<operationId>` for a change through this API.
    pub tool: String,
    pub connection_id: Option<String>,
    /// `ok`, `error` or `denied`.
    pub outcome: String,
    pub duration_ms: i64,
    pub error_kind: Option<String>,
    /// Who made the call or change for another user: a service key's owner acting with
    /// `X-PM-MCP-Act-As`, or an administrator changing a user's keys or connections; `null` when
    /// the user acted themselves.
    pub actor_user_id: Option<String>,
    /// The user the call or change was made for when someone else made it (then the same as
    /// `user_id`); `null` when the user acted themselves.
    pub for_user_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserIn {
    pub email: String,
    /// Default: the e-mail's local part.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
}

/// Each field given replaces the stored one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserIn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_admin: Option<bool>,
    /// `true` disables the user (their keys stop working), `false` enables them again.
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyIn {
    /// What the key is for, e.g. "Cursor laptop".
    pub name: String,
    /// Default: read and write. `admin` only for administrators.
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    /// Toolsets the key may use; absent or empty: every toolset.
    #[serde(default)]
    pub toolsets: Vec<String>,
    /// A duration (90d, 12h, 2w), a date (2027-01-31) or an RFC 3339 time; absent: never (asked
    /// with a key that expires: when that key does; a key never outlives the key that made it).
    #[serde(default)]
    pub expires: Option<String>,
}

// ---- paging ----

/// The response header carrying the cursor of the next page (absent on the last page). List
/// answers stay JSON arrays, so clients that read the whole list keep working.
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// One page of a list: the items as a JSON array, and the next page's cursor in `X-Next-Cursor`.
pub struct Paged<T>(pub Vec<T>, pub Option<String>);

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let mut res = axum::Json(self.0).into_response();
        if let Some(next) = self.1
            && let Ok(v) = axum::http::HeaderValue::from_str(&next)
        {
            res.headers_mut().insert(NEXT_CURSOR_HEADER, v);
        }
        res
    }
}

/// The largest page.
const PAGE_MAX: usize = 1000;

pub(crate) fn encode_cursor(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

pub(crate) fn decode_cursor(raw: &str) -> Result<usize, ApiError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix("o:")?.parse().ok())
        .ok_or_else(|| ApiError::invalid("cursor is not one this server gave out"))
}

/// `?cursor=&limit=` as an offset and a page size (`None`: the rest of the list).
fn page_request(q: &HashMap<String, String>) -> Result<(usize, Option<usize>), ApiError> {
    let offset = q
        .get("cursor")
        .map(|c| decode_cursor(c))
        .transpose()?
        .unwrap_or(0);
    let limit = match q.get("limit") {
        None => None,
        Some(l) => match l.trim().parse::<usize>() {
            Ok(n) if (1..=PAGE_MAX).contains(&n) => Some(n),
            _ => return Err(ApiError::invalid(format!("limit must be 1 to {PAGE_MAX}"))),
        },
    };
    Ok((offset, limit))
}

/// One page of `items` as `q` asks (`?cursor=&limit=`; without them, everything).
fn page<T>(items: Vec<T>, q: &HashMap<String, String>) -> Result<Paged<T>, ApiError> {
    let (offset, limit) = page_request(q)?;
    let total = items.len();
    let rest = items.into_iter().skip(offset);
    Ok(match limit {
        Some(n) => {
            let list: Vec<T> = rest.take(n).collect();
            let next = (offset + n < total).then(|| encode_cursor(offset + n));
            Paged(list, next)
        }
        None => Paged(rest.collect(), None),
    })
}

type PageAnswer<T> = Result<Paged<T>, ApiError>;
type Q = Query<HashMap<String, String>>;

// ---- lookups ----

fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

async fn user_of(state: &AppState, raw: &str) -> Result<User, ApiError> {
    let id: UserId = parse_id(raw, "user")?;
    state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// One of `user`'s connections by name or id; any other answers `not_found`.
async fn connection_of(state: &AppState, user: UserId, raw: &str) -> Result<Connection, ApiError> {
    let all = state.store.list_connections(user).await?;
    let id = raw.parse::<pm_core::ConnectionId>().ok();
    let found = all
        .iter()
        .find(|c| c.name.as_str() == raw)
        .or_else(|| all.iter().find(|c| Some(c.id) == id))
        .cloned()
        .ok_or_else(|| ApiError::not_found("connection"))?;
    crate::audit::note_connection(found.id);
    Ok(found)
}

/// Keys are not minted through an OAuth sign-in (unless the token holds the admin scope): a key
/// would outlive the sign-in, and the identity provider could no longer end that user's access.
fn no_keys_from_tokens(p: &Principal) -> Result<(), ApiError> {
    if p.token().is_some() && !p.may(Scope::Admin) {
        return Err(ApiError::forbidden(
            "API keys cannot be created or rotated with an OAuth sign-in: the key would outlive it; \
             sign in from the assistant instead, or ask an administrator for a key",
        ));
    }
    Ok(())
}

fn need_write(p: &Principal) -> Result<(), ApiError> {
    if p.may(Scope::Write) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this change needs a key with the write scope",
        ))
    }
}

/// Applies an auth-relevant change in this process at once (other replicas follow the epoch).
async fn applied(state: &AppState) {
    state.auth.refresh().await;
}

// ---- users ----

pub async fn list_users(State(state): St, Query(q): Q) -> PageAnswer<UserOut> {
    if let Some(unknown) = q
        .keys()
        .find(|k| !["email", "cursor", "limit"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(format!(
            "unknown query parameter {unknown:?}; use email, cursor, limit"
        )));
    }
    // One user by e-mail (case-insensitively): a list of one, or empty.
    if let Some(raw) = q.get("email") {
        let email = Email::parse(raw.trim())
            .map_err(|_| ApiError::invalid("email must be an e-mail address"))?;
        let found = state.store.get_user_by_email(&email).await?;
        return page(found.into_iter().map(UserOut::from).collect(), &q);
    }
    let users = state.store.list_users().await?;
    page(users.into_iter().map(UserOut::from).collect(), &q)
}

pub async fn create_user(
    State(state): St,
    Body(body): Body<CreateUserIn>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    if let Some(n) = &body.name {
        manage::check_printable("name", n).map_err(ApiError::invalid)?;
    }
    let name = manage::display_name(&email, body.name.as_deref());
    let user = state
        .store
        .add_user(NewUser::new(email, name, body.is_admin))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserOut::from(user))).into_response())
}

pub async fn get_user(State(state): St, Path(id): Path<String>) -> Answer<UserOut> {
    Ok(axum::Json(user_of(&state, &id).await?.into()))
}

pub async fn update_user(
    State(state): St,
    Extension(p): Me,
    Path(id): Path<String>,
    Body(body): Body<UpdateUserIn>,
) -> Answer<UserOut> {
    let user = user_of(&state, &id).await?;
    if user.id == p.user.id && (body.disabled == Some(true) || body.is_admin == Some(false)) {
        return Err(ApiError::conflict(
            "you cannot disable yourself or take away your own administrator role; ask another administrator",
        ));
    }
    if let Some(n) = &body.name {
        manage::check_printable("name", n).map_err(ApiError::invalid)?;
    }
    let name = match body.name.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::invalid("name cannot be empty")),
        Some(n) if n.chars().count() > 200 => {
            return Err(ApiError::invalid("name must be at most 200 characters"));
        }
        other => other.map(str::to_string),
    };
    let mut user = user;
    if name.is_some() || body.is_admin.is_some() {
        let change = UserChange {
            name,
            is_admin: body.is_admin,
        };
        user = state.store.update_user(user.id, &change).await?;
    }
    if let Some(disabled) = body.disabled {
        user = state.store.set_user_disabled(user.id, disabled).await?;
    }
    applied(&state).await;
    Ok(axum::Json(user.into()))
}

pub async fn delete_user(
    State(state): St,
    Extension(p): Me,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = user_of(&state, &id).await?;
    if user.id == p.user.id {
        return Err(ApiError::conflict(
            "you cannot delete yourself; ask another administrator",
        ));
    }
    for c in state.store.list_connections(user.id).await? {
        state.service.forget(c.id);
    }
    state.store.delete_user(user.id).await?;
    state.forget_connections(user.id);
    applied(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- keys ----

async fn keys_of(state: &AppState, user: &User) -> Answer<Vec<KeyOut>> {
    let keys = state.store.list_api_keys(user.id).await?;
    Ok(axum::Json(keys.into_iter().map(KeyOut::from).collect()))
}

async fn create_key_for(
    state: &AppState,
    user: &User,
    body: &CreateKeyIn,
) -> Result<Response, ApiError> {
    let scopes = body
        .scopes
        .clone()
        .unwrap_or_else(|| vec![Scope::Read, Scope::Write]);
    let scopes = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let spec = KeySpec {
        name: &body.name,
        scopes: &scopes,
        toolsets: &body.toolsets,
        expires: body.expires.as_deref(),
        expires_field: "expires",
        name_field: "name",
    };
    let (info, key) = manage::create_key(state.store.as_ref(), user, &spec).await?;
    let out = NewKeyOut {
        key: key.expose().to_string(),
        api_key: info.into(),
    };
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

async fn revoke_key_of(state: &AppState, user: &User, raw: &str) -> Answer<KeyOut> {
    let id: ApiKeyId = parse_id(raw, "key")?;
    let revoked = state.store.revoke_api_key(user.id, id).await?;
    applied(state).await;
    Ok(axum::Json(revoked.into()))
}

async fn rotate_key_of(state: &AppState, user: &User, raw: &str) -> Result<Response, ApiError> {
    let id: ApiKeyId = parse_id(raw, "key")?;
    let (new, key, old) = manage::rotate_key(state.store.as_ref(), user, id).await?;
    applied(state).await;
    let out = RotatedKeyOut {
        key: key.expose().to_string(),
        api_key: new.into(),
        replaced: old.into(),
    };
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

pub async fn list_user_keys(
    State(state): St,
    Path(id): Path<String>,
    Query(q): Q,
) -> PageAnswer<KeyOut> {
    page(keys_of(&state, &user_of(&state, &id).await?).await?.0, &q)
}

pub async fn create_user_key(
    State(state): St,
    Path(id): Path<String>,
    Body(body): Body<CreateKeyIn>,
) -> Result<Response, ApiError> {
    create_key_for(&state, &user_of(&state, &id).await?, &body).await
}

pub async fn revoke_user_key(
    State(state): St,
    Path((id, key)): Path<(String, String)>,
) -> Answer<KeyOut> {
    revoke_key_of(&state, &user_of(&state, &id).await?, &key).await
}

pub async fn rotate_user_key(
    State(state): St,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    rotate_key_of(&state, &user_of(&state, &id).await?, &key).await
}

// ---- connections ----

async fn connections_of(state: &AppState, user: UserId) -> Answer<Vec<ConnectionSummary>> {
    let all = state.store.list_connections(user).await?;
    Ok(axum::Json(all.into_iter().map(summary).collect()))
}

async fn add_connection_for(
    state: &AppState,
    user: UserId,
    body: ConfigureArgs,
) -> Result<Response, ApiError> {
    let added: ConfigureResult = state
        .service
        .configure(user, body, connections::SameTracker::Refuse)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(added)).into_response())
}

pub async fn list_user_connections(
    State(state): St,
    Path(id): Path<String>,
    Query(q): Q,
) -> PageAnswer<ConnectionSummary> {
    page(
        connections_of(&state, user_of(&state, &id).await?.id)
            .await?
            .0,
        &q,
    )
}

pub async fn add_user_connection(
    State(state): St,
    Path(id): Path<String>,
    Body(body): Body<ConfigureArgs>,
) -> Result<Response, ApiError> {
    add_connection_for(&state, user_of(&state, &id).await?.id, body).await
}

pub async fn test_user_connection(
    State(state): St,
    Path((id, conn)): Path<(String, String)>,
) -> Answer<TestResult> {
    let user = user_of(&state, &id).await?;
    let conn = connection_of(&state, user.id, &conn).await?;
    Ok(axum::Json(
        state.service.test_connection(user.id, &conn).await?,
    ))
}

pub async fn remove_user_connection(
    State(state): St,
    Path((id, conn)): Path<(String, String)>,
) -> Answer<RemoveResult> {
    let user = user_of(&state, &id).await?;
    let conn = connection_of(&state, user.id, &conn).await?;
    Ok(axum::Json(
        state.service.remove_connection(user.id, &conn).await?,
    ))
}

// ---- audit ----

pub async fn list_audit(
    State(state): St,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> PageAnswer<AuditEventOut> {
    let Query(q) = query.map_err(|_| ApiError::invalid("the query string cannot be read"))?;
    if let Some(unknown) = q
        .keys()
        .find(|k| !["user", "tool", "outcome", "since", "limit", "cursor"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(format!(
            "unknown query parameter {unknown:?}; use user, tool, outcome, since, limit, cursor"
        )));
    }
    let offset = q
        .get("cursor")
        .map(|c| decode_cursor(c))
        .transpose()?
        .unwrap_or(0);
    let user = q
        .get("user")
        .map(|u| u.parse::<UserId>())
        .transpose()
        .map_err(|_| ApiError::invalid("user must be a user id (uuid)"))?;
    let outcome = match q.get("outcome").map(String::as_str) {
        None => None,
        Some("ok") => Some(Outcome::Ok),
        Some("error") => Some(Outcome::Error),
        Some("denied") => Some(Outcome::Denied),
        Some(_) => return Err(ApiError::invalid("outcome must be ok, error or denied")),
    };
    let since = q
        .get("since")
        .map(|s| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| {
            ApiError::invalid("since must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")
        })?;
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => return Err(ApiError::invalid("limit must be 1 to 1000")),
        },
    };
    // Pages reach back as far as the store lists (10,000 events); narrow with `since` for more.
    let filter = AuditFilter {
        user,
        tool: q.get("tool").cloned(),
        outcome,
        since,
        limit: i64::try_from(offset)
            .unwrap_or(i64::MAX)
            .saturating_add(limit + 1),
    };
    // What this replica has queued is written first, so a change just made is listed.
    state.audit.flush().await;
    let events = state.store.list_audit_events(&filter).await?;
    let page_size = usize::try_from(limit).unwrap_or(PAGE_MAX);
    let more = events.len() > offset + page_size;
    let next = more.then(|| encode_cursor(offset + page_size));
    Ok(Paged(
        events
            .into_iter()
            .skip(offset)
            .take(page_size)
            .map(|e| AuditEventOut {
                id: e.id.to_string(),
                at: e.at,
                user_id: e.user_id.map(|u| u.to_string()),
                key_id: e.key_id.map(|k| k.to_string()),
                tool: e.tool,
                connection_id: e.connection_id.map(|c| c.to_string()),
                outcome: e.outcome.as_str().to_string(),
                duration_ms: e.duration_ms,
                error_kind: e.error_kind,
                for_user_id: e.actor_user_id.and(e.user_id).map(|u| u.to_string()),
                actor_user_id: e.actor_user_id.map(|u| u.to_string()),
            })
            .collect(),
        next,
    ))
}

// ---- me ----

pub async fn get_me(Extension(p): Me) -> Answer<MeOut> {
    Ok(axum::Json(MeOut {
        key: p.key().cloned().map(KeyOut::from),
        token: p.token().map(TokenOut::from),
        user: p.user.into(),
    }))
}

pub async fn list_my_keys(State(state): St, Extension(p): Me, Query(q): Q) -> PageAnswer<KeyOut> {
    page(keys_of(&state, &p.user).await?.0, &q)
}

/// A key never makes (by creating or rotating) a key stronger than itself: no scope it lacks,
/// no toolset it lacks (an unlimited key is stronger than a limited one), and no later expiry
/// (a key that never expires outlives one that does). `verb` is "create" or "rotate".
fn no_stronger_than_caller(
    p: &Principal,
    verb: &str,
    scopes: &[Scope],
    toolsets: Option<&[String]>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), ApiError> {
    if let Some(s) = scopes.iter().find(|s| !p.may(**s)) {
        return Err(ApiError::forbidden(format!(
            "this key cannot {verb} a key with the {} scope (it does not hold it)",
            s.as_str()
        )));
    }
    if let Some(mine) = p.toolsets() {
        let wanted: Vec<&String> = toolsets
            .unwrap_or_default()
            .iter()
            .filter(|t| !t.trim().is_empty())
            .collect();
        if wanted.is_empty() || wanted.iter().any(|t| !mine.contains(t)) {
            return Err(ApiError::forbidden(format!(
                "this key is limited to the toolsets {}; a key it may {verb} names only those",
                mine.join(", ")
            )));
        }
    }
    if let Some(mine) = p.key().and_then(|k| k.expires_at)
        && expires_at.is_none_or(|at| at > mine)
    {
        return Err(ApiError::forbidden(format!(
            "this key expires at {}; a key it may {verb} expires no later",
            mine.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    Ok(())
}

pub async fn create_my_key(
    State(state): St,
    Extension(p): Me,
    Body(mut body): Body<CreateKeyIn>,
) -> Result<Response, ApiError> {
    need_write(&p)?;
    no_keys_from_tokens(&p)?;
    let asked = body
        .scopes
        .clone()
        .unwrap_or_else(|| vec![Scope::Read, Scope::Write]);
    // From a key that expires, a key asked for without an expiry expires with it (the answer
    // shows when); one asked to outlive it is refused.
    let caller_expires = p.key().and_then(|k| k.expires_at);
    if body.expires.is_none()
        && let Some(at) = caller_expires
    {
        body.expires = Some(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }
    let expires_at = match body.expires.as_deref() {
        Some(text) => Some(
            manage::parse_expiry(text, chrono::Utc::now(), "expires").map_err(ApiError::invalid)?,
        ),
        None => None,
    };
    no_stronger_than_caller(&p, "create", &asked, Some(&body.toolsets), expires_at)?;
    if asked.contains(&Scope::Admin) && !is_admin(&p) {
        return Err(ApiError::forbidden(
            "only an administrator's admin key can create an admin key",
        ));
    }
    create_key_for(&state, &p.user, &body).await
}

pub async fn revoke_my_key(
    State(state): St,
    Extension(p): Me,
    Path(key): Path<String>,
) -> Answer<KeyOut> {
    need_write(&p)?;
    revoke_key_of(&state, &p.user, &key).await
}

pub async fn rotate_my_key(
    State(state): St,
    Extension(p): Me,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    need_write(&p)?;
    no_keys_from_tokens(&p)?;
    let id: ApiKeyId = parse_id(&key, "key")?;
    // Rotating keeps the settings (scopes, toolsets, expiry), so a key may only rotate keys no
    // stronger than itself in any of them.
    if let Some(k) = state
        .store
        .list_api_keys(p.user.id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
    {
        let scopes = k.scopes.to_vec();
        no_stronger_than_caller(&p, "rotate", &scopes, k.toolsets.as_deref(), k.expires_at)?;
    }
    rotate_key_of(&state, &p.user, &key).await
}

pub async fn list_my_connections(
    State(state): St,
    Extension(p): Me,
    Query(q): Q,
) -> PageAnswer<ConnectionSummary> {
    page(connections_of(&state, p.user.id).await?.0, &q)
}

pub async fn add_my_connection(
    State(state): St,
    Extension(p): Me,
    Body(body): Body<ConfigureArgs>,
) -> Result<Response, ApiError> {
    need_write(&p)?;
    add_connection_for(&state, p.user.id, body).await
}

pub async fn test_my_connection(
    State(state): St,
    Extension(p): Me,
    Path(conn): Path<String>,
) -> Answer<TestResult> {
    let conn = connection_of(&state, p.user.id, &conn).await?;
    Ok(axum::Json(
        state.service.test_connection(p.user.id, &conn).await?,
    ))
}

pub async fn remove_my_connection(
    State(state): St,
    Extension(p): Me,
    Path(conn): Path<String>,
) -> Answer<RemoveResult> {
    need_write(&p)?;
    let conn = connection_of(&state, p.user.id, &conn).await?;
    Ok(axum::Json(
        state.service.remove_connection(p.user.id, &conn).await?,
    ))
}

// ---- connections: changes, and sync by another system's id ----

/// What changes on a connection: each field given replaces the stored one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnectionIn {
    /// A new handle (the prefix of the connection's ids; old ids with the old handle stop working).
    #[serde(default)]
    pub name: Option<String>,
    /// A free-form name beside the handle; empty clears it.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// A new API token (or key); sealed, never shown again.
    #[serde(default)]
    pub api_token: Option<String>,
    /// Same as api_token.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Changes the sign-in name; needs api_token too.
    #[serde(default)]
    pub username: Option<String>,
    /// ClickUp's team: the same as workspace_id.
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Redmine only: textile, markdown or common_mark.
    #[serde(default)]
    pub text_format: Option<String>,
    /// OpenProject only: whether pm-mcp's changes mail watchers, author and assignee (absent:
    /// single changes do, bulk changes do not).
    #[serde(default)]
    pub notify: Option<bool>,
    /// `false` keeps the connection but stops it being used (and being the default).
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Test a new URL, token or options against the tracker before storing them (default true);
    /// nothing is stored when the test fails.
    #[serde(default)]
    pub test: Option<bool>,
}

async fn update_connection_for(
    state: &AppState,
    user: UserId,
    conn: Connection,
    body: UpdateConnectionIn,
) -> Answer<ConnectionSummary> {
    let change = connections::Change {
        name: body.name,
        display_name: body.display_name,
        base_url: body.base_url,
        token: body
            .api_token
            .filter(|t| !t.trim().is_empty())
            .or(body.api_key)
            .map(pm_core::Secret::new),
        username: body.username,
        workspace_id: body.workspace_id,
        organization_id: body.organization_id,
        text_format: body.text_format,
        notify: body.notify,
        is_active: body.is_active,
        test: body.test.unwrap_or(true),
    };
    let updated = state.service.change_connection(user, conn, change).await?;
    Ok(axum::Json(summary(updated)))
}

pub async fn update_user_connection(
    State(state): St,
    Path((id, conn)): Path<(String, String)>,
    Body(body): Body<UpdateConnectionIn>,
) -> Answer<ConnectionSummary> {
    let user = user_of(&state, &id).await?;
    let conn = connection_of(&state, user.id, &conn).await?;
    update_connection_for(&state, user.id, conn, body).await
}

pub async fn update_my_connection(
    State(state): St,
    Extension(p): Me,
    Path(conn): Path<String>,
    Body(body): Body<UpdateConnectionIn>,
) -> Answer<ConnectionSummary> {
    need_write(&p)?;
    let conn = connection_of(&state, p.user.id, &conn).await?;
    update_connection_for(&state, p.user.id, conn, body).await
}

/// A connection as another system (an agent backend) knows it, under its own id (the path's
/// `external_id`); the reference's provider types and names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalConnectionIn {
    /// Display name; the handle is made from it (`"My JIRA"` → `my-jira`) when the connection is new.
    pub name: String,
    /// jira (Cloud on *.atlassian.net / *.jira.com, else Data Center), jira_cloud,
    /// jira_data_center, openproject (openproject_v13, openproject_v16), clickup or redmine.
    pub provider_type: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_token: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub project_key: Option<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Test it after storing it (the answer says how it went).
    #[serde(default)]
    pub test_connection: bool,
}

pub async fn put_user_connection_by_external_id(
    State(state): St,
    Path((id, external_id)): Path<(String, String)>,
    Body(body): Body<ExternalConnectionIn>,
) -> Answer<crate::sync::SyncAnswer> {
    let user = user_of(&state, &id).await?;
    let provider = crate::sync::SyncProvider {
        backend_provider_id: external_id,
        name: body.name,
        provider_type: body.provider_type,
        base_url: body.base_url,
        api_key: body.api_key,
        api_token: body.api_token,
        username: body.username,
        organization_id: body.organization_id,
        workspace_id: body.workspace_id,
        project_key: body.project_key,
        is_active: body.is_active.unwrap_or(true),
        test_connection: body.test_connection,
    };
    crate::sync::sync_one(&state, user.id, provider)
        .await
        .map(axum::Json)
        .map_err(|d| ApiError::new(d.status, d.code, d.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_follow_their_cursors_to_the_end() {
        let Paged(all, next) = page((0..5).collect::<Vec<_>>(), &q(&[])).expect("all");
        assert_eq!((all, next), (vec![0, 1, 2, 3, 4], None));
        let Paged(first, next) =
            page((0..5).collect::<Vec<_>>(), &q(&[("limit", "2")])).expect("p1");
        assert_eq!(first, vec![0, 1]);
        let cursor = next.expect("more");
        let Paged(second, next) = page(
            (0..5).collect::<Vec<_>>(),
            &q(&[("limit", "2"), ("cursor", &cursor)]),
        )
        .expect("p2");
        assert_eq!(second, vec![2, 3]);
        let cursor = next.expect("more");
        let Paged(last, next) = page(
            (0..5).collect::<Vec<_>>(),
            &q(&[("limit", "2"), ("cursor", &cursor)]),
        )
        .expect("p3");
        assert_eq!((last, next), (vec![4], None));
        assert!(page(vec![1], &q(&[("cursor", "bogus")])).is_err());
        assert!(page(vec![1], &q(&[("limit", "0")])).is_err());
        assert!(page(vec![1], &q(&[("limit", "1001")])).is_err());
    }
}
