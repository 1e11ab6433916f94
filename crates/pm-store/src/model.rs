//! The rows pm-mcp stores, as domain values (no secret ever appears in one of these).
use chrono::{DateTime, Utc};
use pm_core::{
    ApiKeyId, AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Email, ProviderKind, Scopes,
    UserId,
};
use serde::Serialize;

use crate::apikey::{ApiKey, KeyHash};
use crate::seal::Sealed;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub is_admin: bool,
}

impl NewUser {
    pub fn new(email: Email, name: impl Into<String>, is_admin: bool) -> Self {
        Self {
            id: UserId::new(),
            email,
            name: name.into(),
            is_admin,
        }
    }
}

/// What `update_user` changes: each field given replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChange {
    pub name: Option<String>,
    pub is_admin: Option<bool>,
}

/// An API key as listed: everything but the key itself (which is never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    pub key_prefix: String,
    pub scopes: Scopes,
    /// `None` means every toolset.
    pub toolsets: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the key was brought over from the reference server (`pm-mcp import`); `None` for
    /// keys pm-mcp issued.
    pub imported_at: Option<DateTime<Utc>>,
}

impl ApiKeyInfo {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// `active`, `revoked` or `expired`, for listings.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.is_expired(now) {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    pub key_prefix: String,
    pub key_hash: KeyHash,
    pub scopes: Scopes,
    pub toolsets: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set for a key imported from the reference server, with its last use there.
    pub imported: Option<ImportedKey>,
}

/// What an imported key carries over besides its hash.
#[derive(Debug, Clone, Copy)]
pub struct ImportedKey {
    pub at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl NewApiKey {
    /// The row for `key`: its hash and display prefix, never the key.
    pub fn for_key(
        key: &ApiKey,
        user_id: UserId,
        name: impl Into<String>,
        scopes: Scopes,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: ApiKeyId::new(),
            user_id,
            name: name.into(),
            key_prefix: key.display_prefix(),
            key_hash: key.hash(),
            scopes,
            toolsets: None,
            expires_at,
            imported: None,
        }
    }
}

/// A key found by its hash, with its owner: what authentication decides on.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key: ApiKeyInfo,
    pub user: User,
}

/// A provider connection as listed: everything but the sealed credentials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub user_id: UserId,
    pub name: ConnectionHandle,
    pub provider_type: ProviderKind,
    pub base_url: BaseUrl,
    pub auth_kind: AuthKind,
    /// Fingerprint of the master key that sealed the credentials.
    pub key_id: String,
    /// The connection's options (workspace, text format, notify), as its tracker takes them.
    pub config: pm_core::ConnectionOptions,
    pub is_default: bool,
    pub is_active: bool,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Another system's id for this connection (an agent backend's `backend_provider_id`).
    pub external_id: Option<String>,
    /// A free-form name beside the handle ("My JIRA").
    pub display_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewConnection {
    pub id: ConnectionId,
    pub user_id: UserId,
    pub name: ConnectionHandle,
    pub provider_type: ProviderKind,
    pub base_url: BaseUrl,
    pub auth_kind: AuthKind,
    pub sealed: Sealed,
    pub config: pm_core::ConnectionOptions,
    /// An inactive connection is kept but never used (and never becomes the default).
    pub is_active: bool,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
}

/// What `update_connection` changes: each field given replaces the stored one.
#[derive(Debug, Clone, Default)]
pub struct ConnectionChange {
    pub name: Option<ConnectionHandle>,
    pub provider_type: Option<ProviderKind>,
    pub base_url: Option<BaseUrl>,
    /// New credentials, sealed for this connection, with their kind.
    pub credentials: Option<(AuthKind, Sealed)>,
    pub config: Option<pm_core::ConnectionOptions>,
    pub is_active: Option<bool>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The tool ran and reported an error (bad input, upstream failure).
    Error,
    /// Refused before running (missing scope).
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "ok" => Outcome::Ok,
            "denied" => Outcome::Denied,
            _ => Outcome::Error,
        }
    }
}

/// One tool call, for the audit trail. Never holds arguments, which may carry secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub user_id: Option<UserId>,
    pub key_id: Option<ApiKeyId>,
    pub tool: String,
    pub connection_id: Option<ConnectionId>,
    pub outcome: Outcome,
    pub duration_ms: i64,
    pub error_kind: Option<String>,
    /// The HTTP request the call came in (`X-Request-Id`), as in the log lines; `None` over
    /// stdio and legacy SSE.
    pub request_id: Option<String>,
    /// The key owner who made the call for `user_id` (a service key acting for a user with
    /// `X-PM-MCP-Act-As`); `None` when the caller acted as themselves.
    pub actor_user_id: Option<UserId>,
}

/// Which audit events to list: all conditions given must hold. Newest first, at most `limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    pub user: Option<UserId>,
    pub tool: Option<String>,
    pub outcome: Option<Outcome>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Clamped to 1..=10,000.
    pub limit: i64,
}

impl AuditFilter {
    /// Every event, newest first, at most `limit`.
    pub fn newest(limit: i64) -> Self {
        Self {
            user: None,
            tool: None,
            outcome: None,
            since: None,
            limit,
        }
    }
}

/// One connection's sealed credentials with what they are bound to, for re-sealing.
#[derive(Debug, Clone)]
pub struct SealedConnection {
    pub id: ConnectionId,
    pub user_id: UserId,
    pub sealed: Sealed,
}

/// New sealed credentials for a connection still sealed by `from_key_id`.
#[derive(Debug, Clone)]
pub struct Reseal {
    pub id: ConnectionId,
    pub user_id: UserId,
    pub from_key_id: String,
    pub sealed: Sealed,
}

/// What a console ticket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketKind {
    /// A one-time sign-in link for one user (`pm-mcp console-link`).
    Link,
    /// An OpenID Connect sign-in under way: its PKCE verifier, nonce and return path.
    Oidc,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Link => "link",
            TicketKind::Oidc => "oidc",
        }
    }
}

/// A one-time console ticket to store: only the SHA-256 of its token is kept.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub token_hash: [u8; 32],
    pub kind: TicketKind,
    pub user_id: Option<UserId>,
    pub data: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// An open console session: its user, and the administrator whose sign-in link opened it.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub user: User,
    pub issued_by: Option<UserId>,
}

/// A ticket taken (used) once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub user_id: Option<UserId>,
    pub data: Option<String>,
}

/// Audited calls since a time, counted by tool, user, tracker and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub tool: String,
    pub user_id: Option<UserId>,
    /// The tracker kind of the connection the call used (`None`: no connection, or one since
    /// removed).
    pub provider: Option<String>,
    pub outcome: Outcome,
    pub error_kind: Option<String>,
    pub calls: i64,
}
