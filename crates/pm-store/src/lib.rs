//! pm-store: pm-mcp's own database. Store traits sized to one aggregate each (users, API keys,
//! provider connections, audit events) under one `Store`; two engines, SQLite (embedded, the
//! default) and PostgreSQL (production), chosen once from the database URL. Also the API-key
//! format and hashing, and the sealing of provider credentials.
#![forbid(unsafe_code)]

pub mod apikey;
pub mod credentials;
pub mod error;
pub mod model;
mod postgres;
pub mod rotate;
pub mod seal;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pm_core::{ApiKeyId, ConnectionHandle, ConnectionId, Email, UserId};

pub use apikey::{ApiKey, KeyHash, MalformedKey};
pub use credentials::ProviderCredentials;
pub use error::{StoreError, StoreResult};
pub use model::*;
pub use postgres::PgStore;
pub use rotate::{RotateError, RotationReport, reseal_all};
pub use seal::{MasterKeys, SealError, Sealed};
pub use sqlite::SqliteStore;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` when the e-mail is taken.
    async fn add_user(&self, user: NewUser) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn get_user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Disables (or re-enables) a user; their keys stop working at once, and disabling ends their
    /// console sessions and voids their sign-in links (enabling brings neither back).
    async fn set_user_disabled(&self, id: UserId, disabled: bool) -> StoreResult<User>;
    /// Changes a user's name and/or administrator flag (`None` leaves it). `NotFound` for an
    /// unknown id.
    async fn update_user(&self, id: UserId, change: &UserChange) -> StoreResult<User>;
    /// Deletes a user with their keys and connections (cascade). `NotFound` for an unknown id.
    async fn delete_user(&self, id: UserId) -> StoreResult<User>;
    async fn count_users(&self) -> StoreResult<i64>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn add_api_key(&self, key: NewApiKey) -> StoreResult<ApiKeyInfo>;
    /// Creates a user and their first key in one transaction: both or neither.
    async fn add_user_with_key(
        &self,
        user: NewUser,
        key: NewApiKey,
    ) -> StoreResult<(User, ApiKeyInfo)>;
    async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKeyInfo>>;
    /// Revokes one of `user`'s keys; another user's key id answers `NotFound`.
    async fn revoke_api_key(&self, user: UserId, key: ApiKeyId) -> StoreResult<ApiKeyInfo>;
    /// The key with this hash and its owner, revoked or not (the caller decides).
    async fn find_api_key(&self, hash: &KeyHash) -> StoreResult<Option<KeyOwner>>;
    /// Records use, at most once a minute per key whatever the number of replicas.
    async fn touch_api_key(&self, key: ApiKeyId, now: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// The user's first connection becomes their default. `Conflict` when the name is taken.
    async fn add_connection(&self, connection: NewConnection) -> StoreResult<Connection>;
    async fn list_connections(&self, user: UserId) -> StoreResult<Vec<Connection>>;
    async fn get_connection(
        &self,
        user: UserId,
        name: &ConnectionHandle,
    ) -> StoreResult<Option<Connection>>;
    async fn get_connection_by_id(
        &self,
        user: UserId,
        id: ConnectionId,
    ) -> StoreResult<Option<Connection>>;
    /// Changes one of `user`'s connections; `NotFound` if it is not theirs. New credentials or a
    /// new URL clear the last check. Made inactive, it stops being the default.
    async fn update_connection(
        &self,
        user: UserId,
        id: ConnectionId,
        change: &ConnectionChange,
    ) -> StoreResult<Connection>;
    async fn get_sealed_credentials(
        &self,
        user: UserId,
        id: ConnectionId,
    ) -> StoreResult<Option<Sealed>>;
    /// Records the outcome of testing a connection against its tracker.
    async fn record_connection_check(
        &self,
        user: UserId,
        id: ConnectionId,
        at: DateTime<Utc>,
        error: Option<String>,
    ) -> StoreResult<()>;
    /// Removes one of `user`'s connections; if it was the default, the oldest remaining one
    /// becomes the default. `NotFound` for a name the user does not have.
    async fn delete_connection(
        &self,
        user: UserId,
        name: &ConnectionHandle,
    ) -> StoreResult<Connection>;
    /// How many connections each master key sealed: `(key_id, count)`.
    async fn count_connections_by_key(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Up to `limit` connections (every user's) whose credentials were sealed by a key other than
    /// `key_id`, in id order: what a master-key rotation still has to re-seal.
    async fn list_sealed_not_under(
        &self,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedConnection>>;
    /// Replaces the sealed credentials of each connection in one transaction, each only if it is
    /// still sealed by its `from_key_id` (a connection changed or removed meanwhile is left
    /// alone). Returns how many were replaced. `updated_at` stays: the credentials are the same.
    async fn reseal_connections(&self, batch: &[Reseal]) -> StoreResult<u64>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn add_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// The events `filter` selects, newest first.
    async fn list_audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
    /// The events at or after `since`, counted by tool, user, tracker kind, outcome and error kind.
    async fn audit_usage(&self, since: DateTime<Utc>) -> StoreResult<Vec<UsageRow>>;
    /// When each of `user`'s connections was last used by a call (console changes aside).
    async fn last_use_by_connection(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<(ConnectionId, DateTime<Utc>)>>;
}

/// The web console's sessions and one-time tickets. Tokens are never stored, only their SHA-256.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    async fn add_console_ticket(&self, ticket: &NewTicket) -> StoreResult<()>;
    /// Uses a ticket: its contents the first time it is taken before it expires, `None` after
    /// (taken already, expired, unknown, or of another kind). One use whatever the replicas.
    async fn take_console_ticket(
        &self,
        token_hash: &[u8; 32],
        kind: TicketKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Ticket>>;
    /// Reads a ticket without using it (the link's page says whom it signs in).
    async fn peek_console_ticket(
        &self,
        token_hash: &[u8; 32],
        kind: TicketKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Ticket>>;
    /// `issued_by`: the administrator whose sign-in link opened the session.
    async fn add_console_session(
        &self,
        token_hash: &[u8; 32],
        user: UserId,
        issued_by: Option<UserId>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// An open session: `None` once it expired or ended, or its user was disabled (which also
    /// removes it, and their unused sign-in links) or deleted.
    async fn console_session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConsoleSession>>;
    async fn end_console_session(&self, token_hash: &[u8; 32]) -> StoreResult<()>;
    /// Ends every session of `user`; how many there were.
    async fn end_console_sessions_of(&self, user: UserId) -> StoreResult<u64>;
    /// Deletes expired sessions and tickets used or expired; how many rows went.
    async fn purge_console(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait Store: UserStore + ApiKeyStore + ConnectionStore + AuditStore + ConsoleStore {
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Whether migrations are pending (a server started with `--no-migrate` checks this).
    async fn pending_migrations(&self) -> StoreResult<usize>;
    /// Round-trips to the database.
    async fn ping(&self) -> StoreResult<()>;
    /// A counter that moves whenever anything authentication depends on changes (keys revoked,
    /// re-scoped, deleted; users disabled or deleted), whoever made the change (database
    /// triggers keep it). Servers drop their cache of verified keys when it moves.
    async fn auth_epoch(&self) -> StoreResult<i64>;
    /// Pushed notice of such changes, where the engine can push (PostgreSQL's LISTEN); `None`
    /// where it cannot (SQLite), and callers poll `auth_epoch`.
    async fn auth_changes(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<()>>> {
        Ok(None)
    }
    /// The connection pool as it is now (for metrics).
    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
    async fn close(&self);
}

/// A store's connection pool at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

impl PoolStats {
    pub fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        let open = pool.size();
        Self {
            open,
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open),
            max: pool.options().get_max_connections(),
        }
    }

    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// Which engine a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://…`, `postgresql://…`, `sqlite:…` / `sqlite://…`, or a file path.
    pub fn parse(raw: &str) -> StoreResult<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(StoreError::Invalid("the database URL is empty".into()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| {
                StoreError::Invalid(format!(
                    "the PostgreSQL URL is malformed ({e}); expected postgres://user:password@host:5432/database"
                ))
            })?;
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Invalid(
                    "the SQLite URL names no file; expected sqlite:///path/to/pm-mcp.db".into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(path.to_string()));
        }
        if raw.contains("://") {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL scheme in {:?}; use postgres://… or sqlite:///path/to/file.db",
                redact_url(raw)
            )));
        }
        Ok(DatabaseUrl::Sqlite(raw.to_string()))
    }

    pub fn engine(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// For messages: the URL without its password.
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite:{p}"),
            DatabaseUrl::Postgres(u) => redact_url(u),
        }
    }
}

/// A URL with any password replaced by `***`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// Opens the database a URL names (creating an SQLite file and its folder if needed). Does not
/// migrate: call `Store::migrate`.
pub async fn open(url: &DatabaseUrl) -> StoreResult<Arc<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        DatabaseUrl::Postgres(u) => Arc::new(PgStore::open(u).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_engine() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap().engine(),
            "postgres"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db").unwrap(),
            DatabaseUrl::Sqlite("x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("/var/lib/pm.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/pm.db".into())
        );
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("postgres://u:p@[bad").is_err());
        let shown = DatabaseUrl::parse("postgres://u:hunter2@h/db")
            .unwrap()
            .display();
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
