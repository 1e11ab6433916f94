//! The SQL both engines run. The statements are written once in the dialect SQLite and
//! PostgreSQL share (`$n` placeholders, `RETURNING`, partial indexes); `impl_sql_store!` expands
//! them for each engine's pool type, and one test suite runs against both.
use chrono::{DateTime, Utc};
use pm_core::{ApiKeyId, ConnectionId, UserId};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::model::{ApiKeyInfo, AuditEvent, Connection, KeyOwner, Outcome, User};

pub(crate) const USER_COLS: &str = "id, email, name, is_admin, created_at, updated_at, disabled_at";
pub(crate) const KEY_COLS: &str = "id, user_id, name, key_prefix, scopes, toolsets, expires_at, last_used_at, revoked_at, created_at, imported_at";
pub(crate) const CONN_COLS: &str = "id, user_id, name, provider_type, base_url, auth_kind, key_id, config, is_default, is_active, last_checked_at, last_error, created_at, updated_at, external_id, display_name";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored {what} is invalid: {e}"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    is_admin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub(crate) fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: UserId::from_uuid(self.id),
            email: self.email.parse().map_err(|e| corrupt("e-mail", e))?,
            name: self.name,
            is_admin: self.is_admin,
            created_at: self.created_at,
            updated_at: self.updated_at,
            disabled_at: self.disabled_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    key_prefix: String,
    scopes: String,
    toolsets: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    imported_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    pub(crate) fn into_info(self) -> StoreResult<ApiKeyInfo> {
        Ok(ApiKeyInfo {
            id: ApiKeyId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            name: self.name,
            key_prefix: self.key_prefix,
            scopes: self.scopes.parse().map_err(|e| corrupt("scopes", e))?,
            toolsets: self
                .toolsets
                .map(|t| t.split(',').map(str::to_string).collect()),
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
            created_at: self.created_at,
            imported_at: self.imported_at,
        })
    }
}

pub(crate) fn toolsets_text(toolsets: &Option<Vec<String>>) -> Option<String> {
    toolsets.as_ref().map(|t| t.join(","))
}

/// A key joined with its owner, for authentication.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyOwnerRow {
    #[sqlx(flatten)]
    key: KeyRow,
    u_email: String,
    u_name: String,
    u_is_admin: bool,
    u_created_at: DateTime<Utc>,
    u_updated_at: DateTime<Utc>,
    u_disabled_at: Option<DateTime<Utc>>,
}

impl KeyOwnerRow {
    pub(crate) fn into_owner(self) -> StoreResult<KeyOwner> {
        let user = UserRow {
            id: self.key.user_id,
            email: self.u_email,
            name: self.u_name,
            is_admin: self.u_is_admin,
            created_at: self.u_created_at,
            updated_at: self.u_updated_at,
            disabled_at: self.u_disabled_at,
        }
        .into_user()?;
        Ok(KeyOwner {
            key: self.key.into_info()?,
            user,
        })
    }
}

pub(crate) const KEY_OWNER_QUERY: &str = "SELECT k.id, k.user_id, k.name, k.key_prefix, k.scopes, k.toolsets, k.expires_at, \
     k.last_used_at, k.revoked_at, k.created_at, k.imported_at, u.email AS u_email, u.name AS u_name, \
     u.is_admin AS u_is_admin, u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
     u.disabled_at AS u_disabled_at \
     FROM user_mcp_api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1";

/// A connection's stored options. Earlier versions stored what was given (an import kept a
/// reference server's options for any tracker, e.g. a `workspace_id` on a Jira connection, which
/// nothing ever read): an option that does not read as its type is left out, with a warning,
/// rather than making the user's whole list of connections unreadable.
fn stored_options(id: Uuid, stored: serde_json::Value) -> pm_core::ConnectionOptions {
    match serde_json::from_value(stored.clone()) {
        Ok(options) => options,
        Err(e) => {
            tracing::warn!(connection = %id, error = %e, "a stored connection option cannot be read; it is left out");
            let one = |key: &str| {
                let value = stored.get(key)?.clone();
                serde_json::from_value::<pm_core::ConnectionOptions>(
                    serde_json::json!({ key: value }),
                )
                .ok()
            };
            pm_core::ConnectionOptions {
                workspace_id: one("workspace_id").and_then(|o| o.workspace_id),
                text_format: one("text_format").and_then(|o| o.text_format),
                notify: one("notify").and_then(|o| o.notify),
            }
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConnRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    provider_type: String,
    base_url: String,
    auth_kind: String,
    key_id: String,
    config: sqlx::types::Json<serde_json::Value>,
    is_default: bool,
    is_active: bool,
    last_checked_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    external_id: Option<String>,
    display_name: Option<String>,
}

impl ConnRow {
    pub(crate) fn into_connection(self) -> StoreResult<Connection> {
        Ok(Connection {
            id: ConnectionId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            name: self
                .name
                .parse()
                .map_err(|e| corrupt("connection name", e))?,
            provider_type: self
                .provider_type
                .parse()
                .map_err(|e| corrupt("provider type", e))?,
            base_url: self
                .base_url
                .try_into()
                .map_err(|e| corrupt("base URL", e))?,
            auth_kind: self
                .auth_kind
                .parse()
                .map_err(|e| corrupt("auth kind", e))?,
            key_id: self.key_id,
            config: stored_options(self.id, self.config.0),
            is_default: self.is_default,
            is_active: self.is_active,
            last_checked_at: self.last_checked_at,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            external_id: self.external_id,
            display_name: self.display_name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    at: DateTime<Utc>,
    user_id: Option<Uuid>,
    key_id: Option<Uuid>,
    tool: String,
    connection_id: Option<Uuid>,
    outcome: String,
    duration_ms: i64,
    error_kind: Option<String>,
    request_id: Option<String>,
    actor_user_id: Option<Uuid>,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> AuditEvent {
        AuditEvent {
            id: self.id,
            at: self.at,
            user_id: self.user_id.map(UserId::from_uuid),
            key_id: self.key_id.map(ApiKeyId::from_uuid),
            tool: self.tool,
            connection_id: self.connection_id.map(ConnectionId::from_uuid),
            outcome: Outcome::parse(&self.outcome),
            duration_ms: self.duration_ms,
            error_kind: self.error_kind,
            request_id: self.request_id,
            actor_user_id: self.actor_user_id.map(UserId::from_uuid),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UsageSqlRow {
    tool: String,
    user_id: Option<Uuid>,
    provider: Option<String>,
    outcome: String,
    error_kind: Option<String>,
    calls: i64,
}

impl UsageSqlRow {
    pub(crate) fn into_row(self) -> crate::model::UsageRow {
        crate::model::UsageRow {
            tool: self.tool,
            user_id: self.user_id.map(UserId::from_uuid),
            provider: self.provider,
            outcome: Outcome::parse(&self.outcome),
            error_kind: self.error_kind,
            calls: self.calls,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    issued_by: Option<Uuid>,
}

impl SessionRow {
    pub(crate) fn into_session(self) -> StoreResult<crate::model::ConsoleSession> {
        Ok(crate::model::ConsoleSession {
            user: self.user.into_user()?,
            issued_by: self.issued_by.map(UserId::from_uuid),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    user_id: Option<Uuid>,
    data: Option<String>,
}

impl TicketRow {
    pub(crate) fn into_ticket(self) -> crate::model::Ticket {
        crate::model::Ticket {
            user_id: self.user_id.map(UserId::from_uuid),
            data: self.data,
        }
    }
}

/// Implements every store trait for `$store` (which has a `pool: sqlx::Pool<$db>`).
macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        use $crate::sql::*;

        fn dup_email(email: &pm_core::Email) -> String {
            format!("a user with e-mail {email} already exists")
        }

        async fn insert_user<'e, E>(ex: E, user: &$crate::model::NewUser, now: chrono::DateTime<chrono::Utc>) -> $crate::StoreResult<$crate::model::User>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query_as::<_, UserRow>(&format!(
                "INSERT INTO users (id, email, name, is_admin, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING {USER_COLS}"
            ))
            .bind(user.id.as_uuid())
            .bind(user.email.as_str())
            .bind(&user.name)
            .bind(user.is_admin)
            .bind(now)
            .fetch_one(ex)
            .await
            .map_err(|e| $crate::StoreError::from_sqlx(e, || dup_email(&user.email)))?
            .into_user()
        }

        async fn insert_key<'e, E>(ex: E, key: &$crate::model::NewApiKey, now: chrono::DateTime<chrono::Utc>) -> $crate::StoreResult<$crate::model::ApiKeyInfo>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query_as::<_, KeyRow>(&format!(
                "INSERT INTO user_mcp_api_keys (id, user_id, name, key_prefix, key_hash, scopes, toolsets, expires_at, created_at, last_used_at, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {KEY_COLS}"
            ))
            .bind(key.id.as_uuid())
            .bind(key.user_id.as_uuid())
            .bind(&key.name)
            .bind(&key.key_prefix)
            .bind(key.key_hash.as_bytes())
            .bind(key.scopes.to_string())
            .bind(toolsets_text(&key.toolsets))
            .bind(key.expires_at)
            .bind(key.imported.map_or(now, |i| i.created_at))
            .bind(key.imported.and_then(|i| i.last_used_at))
            .bind(key.imported.map(|i| i.at))
            .fetch_one(ex)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => $crate::StoreError::NotFound("user"),
                e => $crate::StoreError::from_sqlx(e, || "that API key already exists".to_string()),
            })?
            .into_info()
        }

        #[async_trait::async_trait]
        impl $crate::UserStore for $store {
            async fn add_user(&self, user: $crate::model::NewUser) -> $crate::StoreResult<$crate::model::User> {
                insert_user(&self.pool, &user, chrono::Utc::now()).await
            }

            async fn get_user(&self, id: pm_core::UserId) -> $crate::StoreResult<Option<$crate::model::User>> {
                sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(UserRow::into_user)
                    .transpose()
            }

            async fn get_user_by_email(&self, email: &pm_core::Email) -> $crate::StoreResult<Option<$crate::model::User>> {
                sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLS} FROM users WHERE email = $1"))
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(UserRow::into_user)
                    .transpose()
            }

            async fn list_users(&self) -> $crate::StoreResult<Vec<$crate::model::User>> {
                sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLS} FROM users ORDER BY created_at, email"))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(UserRow::into_user)
                    .collect()
            }

            async fn set_user_disabled(&self, id: pm_core::UserId, disabled: bool) -> $crate::StoreResult<$crate::model::User> {
                let now = chrono::Utc::now();
                let disabled_at = if disabled { Some(now) } else { None };
                let mut tx = self.pool.begin().await?;
                let user = sqlx::query_as::<_, UserRow>(&format!(
                    "UPDATE users SET disabled_at = CASE WHEN $1 THEN COALESCE(disabled_at, $2) ELSE NULL END, updated_at = $3 \
                     WHERE id = $4 RETURNING {USER_COLS}"
                ))
                .bind(disabled)
                .bind(disabled_at)
                .bind(now)
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound("user"))?
                .into_user()?;
                if disabled {
                    // Disabling ends the user's console sessions and voids their sign-in links
                    // for good: enabling them again does not bring either back.
                    sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                        .bind(id.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM console_tickets WHERE user_id = $1")
                        .bind(id.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(user)
            }

            async fn update_user(&self, id: pm_core::UserId, change: &$crate::model::UserChange) -> $crate::StoreResult<$crate::model::User> {
                sqlx::query_as::<_, UserRow>(&format!(
                    "UPDATE users SET name = COALESCE($1, name), is_admin = COALESCE($2, is_admin), updated_at = $3 \
                     WHERE id = $4 RETURNING {USER_COLS}"
                ))
                .bind(change.name.as_deref())
                .bind(change.is_admin)
                .bind(chrono::Utc::now())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::StoreError::NotFound("user"))?
                .into_user()
            }

            async fn delete_user(&self, id: pm_core::UserId) -> $crate::StoreResult<$crate::model::User> {
                sqlx::query_as::<_, UserRow>(&format!("DELETE FROM users WHERE id = $1 RETURNING {USER_COLS}"))
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or($crate::StoreError::NotFound("user"))?
                    .into_user()
            }

            async fn count_users(&self) -> $crate::StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::ApiKeyStore for $store {
            async fn add_api_key(&self, key: $crate::model::NewApiKey) -> $crate::StoreResult<$crate::model::ApiKeyInfo> {
                insert_key(&self.pool, &key, chrono::Utc::now()).await
            }

            async fn add_user_with_key(
                &self,
                user: $crate::model::NewUser,
                key: $crate::model::NewApiKey,
            ) -> $crate::StoreResult<($crate::model::User, $crate::model::ApiKeyInfo)> {
                let now = chrono::Utc::now();
                let mut tx = self.pool.begin().await?;
                let created = insert_user(&mut *tx, &user, now).await?;
                let key = insert_key(&mut *tx, &key, now).await?;
                tx.commit().await?;
                Ok((created, key))
            }

            async fn list_api_keys(&self, user: pm_core::UserId) -> $crate::StoreResult<Vec<$crate::model::ApiKeyInfo>> {
                sqlx::query_as::<_, KeyRow>(&format!(
                    "SELECT {KEY_COLS} FROM user_mcp_api_keys WHERE user_id = $1 ORDER BY created_at, name"
                ))
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(KeyRow::into_info)
                .collect()
            }

            async fn revoke_api_key(&self, user: pm_core::UserId, key: pm_core::ApiKeyId) -> $crate::StoreResult<$crate::model::ApiKeyInfo> {
                sqlx::query_as::<_, KeyRow>(&format!(
                    "UPDATE user_mcp_api_keys SET revoked_at = COALESCE(revoked_at, $1) \
                     WHERE id = $2 AND user_id = $3 RETURNING {KEY_COLS}"
                ))
                .bind(chrono::Utc::now())
                .bind(key.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::StoreError::NotFound("API key"))?
                .into_info()
            }

            async fn find_api_key(&self, hash: &$crate::apikey::KeyHash) -> $crate::StoreResult<Option<$crate::model::KeyOwner>> {
                sqlx::query_as::<_, KeyOwnerRow>(KEY_OWNER_QUERY)
                    .bind(hash.as_bytes())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(KeyOwnerRow::into_owner)
                    .transpose()
            }

            async fn touch_api_key(&self, key: pm_core::ApiKeyId, now: chrono::DateTime<chrono::Utc>) -> $crate::StoreResult<()> {
                sqlx::query(
                    "UPDATE user_mcp_api_keys SET last_used_at = $1 \
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
                )
                .bind(now)
                .bind(key.as_uuid())
                .bind(now - chrono::Duration::seconds(60))
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::ConnectionStore for $store {
            async fn add_connection(&self, c: $crate::model::NewConnection) -> $crate::StoreResult<$crate::model::Connection> {
                let now = chrono::Utc::now();
                // The first connection becomes the default. Two first connections added at once
                // both see none and both ask to be the default; the one-default index refuses the
                // second, which is then inserted again as a plain connection. A second unique
                // violation is the name.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let inserted = sqlx::query_as::<_, ConnRow>(&format!(
                        "INSERT INTO pm_provider_connections (id, user_id, name, provider_type, base_url, auth_kind, \
                         credentials_ciphertext, key_id, config, is_default, is_active, created_at, updated_at, external_id, display_name) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                         $11 AND NOT EXISTS (SELECT 1 FROM pm_provider_connections WHERE user_id = $2 AND is_default), $11, $10, $10, $12, $13) \
                         RETURNING {CONN_COLS}"
                    ))
                    .bind(c.id.as_uuid())
                    .bind(c.user_id.as_uuid())
                    .bind(c.name.as_str())
                    .bind(c.provider_type.as_str())
                    .bind(c.base_url.as_str())
                    .bind(c.auth_kind.as_str())
                    .bind(&c.sealed.ciphertext)
                    .bind(&c.sealed.key_id)
                    .bind(sqlx::types::Json(&c.config))
                    .bind(now)
                    .bind(c.is_active)
                    .bind(c.external_id.as_deref())
                    .bind(c.display_name.as_deref())
                    .fetch_one(&self.pool)
                    .await;
                    match inserted {
                        Ok(row) => return row.into_connection(),
                        Err(sqlx::Error::Database(ref db)) if db.is_foreign_key_violation() => {
                            return Err($crate::StoreError::NotFound("user"));
                        }
                        Err(sqlx::Error::Database(ref db)) if db.is_unique_violation() && attempt == 1 => continue,
                        Err(e) => {
                            return Err($crate::StoreError::from_sqlx(e, || match &c.external_id {
                                Some(x) => format!("a connection named {} or with external id {x:?} already exists", c.name),
                                None => format!("a connection named {} already exists", c.name),
                            }));
                        }
                    }
                }
            }

            async fn list_connections(&self, user: pm_core::UserId) -> $crate::StoreResult<Vec<$crate::model::Connection>> {
                sqlx::query_as::<_, ConnRow>(&format!(
                    "SELECT {CONN_COLS} FROM pm_provider_connections WHERE user_id = $1 ORDER BY name"
                ))
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(ConnRow::into_connection)
                .collect()
            }

            async fn get_connection(&self, user: pm_core::UserId, name: &pm_core::ConnectionHandle) -> $crate::StoreResult<Option<$crate::model::Connection>> {
                sqlx::query_as::<_, ConnRow>(&format!(
                    "SELECT {CONN_COLS} FROM pm_provider_connections WHERE user_id = $1 AND name = $2"
                ))
                .bind(user.as_uuid())
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(ConnRow::into_connection)
                .transpose()
            }

            async fn get_connection_by_id(&self, user: pm_core::UserId, id: pm_core::ConnectionId) -> $crate::StoreResult<Option<$crate::model::Connection>> {
                sqlx::query_as::<_, ConnRow>(&format!(
                    "SELECT {CONN_COLS} FROM pm_provider_connections WHERE user_id = $1 AND id = $2"
                ))
                .bind(user.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .map(ConnRow::into_connection)
                .transpose()
            }

            async fn update_connection(
                &self,
                user: pm_core::UserId,
                id: pm_core::ConnectionId,
                change: &$crate::model::ConnectionChange,
            ) -> $crate::StoreResult<$crate::model::Connection> {
                let mut tx = self.pool.begin().await?;
                let (auth_kind, sealed) = match &change.credentials {
                    Some((kind, sealed)) => (Some(kind.as_str()), Some(sealed)),
                    None => (None, None),
                };
                let updated = sqlx::query_as::<_, ConnRow>(&format!(
                    "UPDATE pm_provider_connections SET \
                     name = COALESCE($3, name), provider_type = COALESCE($4, provider_type), \
                     base_url = COALESCE($5, base_url), auth_kind = COALESCE($6, auth_kind), \
                     credentials_ciphertext = COALESCE($7, credentials_ciphertext), key_id = COALESCE($8, key_id), \
                     config = COALESCE($9, config), is_active = COALESCE($10, is_active), \
                     external_id = CASE WHEN $11 THEN $12 ELSE external_id END, \
                     display_name = CASE WHEN $13 THEN $14 ELSE display_name END, \
                     is_default = is_default AND COALESCE($10, is_active), \
                     last_error = CASE WHEN $7 IS NULL AND $5 IS NULL THEN last_error ELSE NULL END, \
                     last_checked_at = CASE WHEN $7 IS NULL AND $5 IS NULL THEN last_checked_at ELSE NULL END, \
                     updated_at = $15 \
                     WHERE user_id = $1 AND id = $2 RETURNING {CONN_COLS}"
                ))
                .bind(user.as_uuid())
                .bind(id.as_uuid())
                .bind(change.name.as_ref().map(|n| n.as_str()))
                .bind(change.provider_type.map(|p| p.as_str()))
                .bind(change.base_url.as_ref().map(|u| u.as_str()))
                .bind(auth_kind)
                .bind(sealed.map(|s| s.ciphertext.as_slice()))
                .bind(sealed.map(|s| s.key_id.as_str()))
                .bind(change.config.as_ref().map(sqlx::types::Json))
                .bind(change.is_active)
                .bind(change.external_id.is_some())
                .bind(change.external_id.clone().flatten())
                .bind(change.display_name.is_some())
                .bind(change.display_name.clone().flatten())
                .bind(chrono::Utc::now())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| $crate::StoreError::from_sqlx(e, || {
                    "another of your connections already has that name or external id".to_string()
                }))?
                .ok_or($crate::StoreError::NotFound("connection"))?
                .into_connection()?;
                // A connection made inactive stops being the default; the oldest active one
                // takes over, as when the default is removed.
                if change.is_active == Some(false) {
                    sqlx::query(
                        "UPDATE pm_provider_connections SET is_default = TRUE WHERE id = \
                         (SELECT id FROM pm_provider_connections WHERE user_id = $1 AND is_active ORDER BY created_at, name LIMIT 1) \
                         AND NOT EXISTS (SELECT 1 FROM pm_provider_connections WHERE user_id = $1 AND is_default)",
                    )
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                } else if change.is_active == Some(true) {
                    sqlx::query(
                        "UPDATE pm_provider_connections SET is_default = TRUE WHERE id = $2 AND user_id = $1 \
                         AND NOT EXISTS (SELECT 1 FROM pm_provider_connections WHERE user_id = $1 AND is_default)",
                    )
                    .bind(user.as_uuid())
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                // Read again: the default may have moved after the update.
                Ok(self.get_connection_by_id(user, id).await?.unwrap_or(updated))
            }

            async fn record_connection_check(
                &self,
                user: pm_core::UserId,
                id: pm_core::ConnectionId,
                at: chrono::DateTime<chrono::Utc>,
                error: Option<String>,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "UPDATE pm_provider_connections SET last_checked_at = $1, last_error = $2 WHERE user_id = $3 AND id = $4",
                )
                .bind(at)
                .bind(error)
                .bind(user.as_uuid())
                .bind(id.as_uuid())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_sealed_credentials(&self, user: pm_core::UserId, id: pm_core::ConnectionId) -> $crate::StoreResult<Option<$crate::seal::Sealed>> {
                let row: Option<(Vec<u8>, String)> = sqlx::query_as(
                    "SELECT credentials_ciphertext, key_id FROM pm_provider_connections WHERE user_id = $1 AND id = $2",
                )
                .bind(user.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(ciphertext, key_id)| $crate::seal::Sealed { ciphertext, key_id }))
            }

            async fn delete_connection(&self, user: pm_core::UserId, name: &pm_core::ConnectionHandle) -> $crate::StoreResult<$crate::model::Connection> {
                let mut tx = self.pool.begin().await?;
                let removed = sqlx::query_as::<_, ConnRow>(&format!(
                    "DELETE FROM pm_provider_connections WHERE user_id = $1 AND name = $2 RETURNING {CONN_COLS}"
                ))
                .bind(user.as_uuid())
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound("connection"))?
                .into_connection()?;
                if removed.is_default {
                    sqlx::query(
                        "UPDATE pm_provider_connections SET is_default = TRUE WHERE id = \
                         (SELECT id FROM pm_provider_connections WHERE user_id = $1 AND is_active ORDER BY created_at, name LIMIT 1)",
                    )
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            async fn count_connections_by_key(&self) -> $crate::StoreResult<Vec<(String, i64)>> {
                Ok(sqlx::query_as::<_, (String, i64)>(
                    "SELECT key_id, COUNT(*) FROM pm_provider_connections GROUP BY key_id ORDER BY key_id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn list_sealed_not_under(&self, key_id: &str, limit: i64) -> $crate::StoreResult<Vec<$crate::model::SealedConnection>> {
                let rows: Vec<(uuid::Uuid, uuid::Uuid, Vec<u8>, String)> = sqlx::query_as(
                    "SELECT id, user_id, credentials_ciphertext, key_id FROM pm_provider_connections \
                     WHERE key_id <> $1 ORDER BY id LIMIT $2",
                )
                .bind(key_id)
                .bind(limit.max(1))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, user_id, ciphertext, key_id)| $crate::model::SealedConnection {
                        id: pm_core::ConnectionId::from_uuid(id),
                        user_id: pm_core::UserId::from_uuid(user_id),
                        sealed: $crate::seal::Sealed { ciphertext, key_id },
                    })
                    .collect())
            }

            async fn reseal_connections(&self, batch: &[$crate::model::Reseal]) -> $crate::StoreResult<u64> {
                if batch.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin().await?;
                let mut changed = 0;
                for r in batch {
                    changed += sqlx::query(
                        "UPDATE pm_provider_connections SET credentials_ciphertext = $1, key_id = $2 \
                         WHERE id = $3 AND user_id = $4 AND key_id = $5",
                    )
                    .bind(&r.sealed.ciphertext)
                    .bind(&r.sealed.key_id)
                    .bind(r.id.as_uuid())
                    .bind(r.user_id.as_uuid())
                    .bind(&r.from_key_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(changed)
            }
        }

        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn add_audit_events(&self, events: &[$crate::model::AuditEvent]) -> $crate::StoreResult<()> {
                if events.is_empty() {
                    return Ok(());
                }
                // Multi-row inserts, 100 rows a statement: one round trip to the database (and,
                // on SQLite, to its worker thread) per 100 events instead of per event. The audit
                // trail was a tenth of the server's CPU at 2,000 tool calls/s written row by row.
                let mut tx = self.pool.begin().await?;
                for chunk in events.chunks(100) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_events (id, at, user_id, key_id, tool, connection_id, outcome, duration_ms, error_kind, request_id, actor_user_id) ",
                    );
                    insert.push_values(chunk, |mut row, e| {
                        row.push_bind(e.id)
                            .push_bind(e.at)
                            .push_bind(e.user_id.map(|u| u.as_uuid()))
                            .push_bind(e.key_id.map(|k| k.as_uuid()))
                            .push_bind(&e.tool)
                            .push_bind(e.connection_id.map(|c| c.as_uuid()))
                            .push_bind(e.outcome.as_str())
                            .push_bind(e.duration_ms)
                            .push_bind(&e.error_kind)
                            .push_bind(&e.request_id)
                            .push_bind(e.actor_user_id.map(|u| u.as_uuid()));
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_audit_events(&self, filter: &$crate::model::AuditFilter) -> $crate::StoreResult<Vec<$crate::model::AuditEvent>> {
                let rows = sqlx::query_as::<_, AuditRow>(
                    "SELECT id, at, user_id, key_id, tool, connection_id, outcome, duration_ms, error_kind, request_id, actor_user_id FROM audit_events \
                     WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR tool = $2) \
                     AND ($3 IS NULL OR outcome = $3) AND ($4 IS NULL OR at >= $4) \
                     ORDER BY at DESC, id DESC LIMIT $5",
                )
                .bind(filter.user.map(|u| u.as_uuid()))
                .bind(filter.tool.as_deref())
                .bind(filter.outcome.map(|o| o.as_str()))
                .bind(filter.since)
                .bind(filter.limit.clamp(1, 10_000))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(AuditRow::into_event).collect())
            }

            async fn audit_usage(&self, since: chrono::DateTime<chrono::Utc>) -> $crate::StoreResult<Vec<$crate::model::UsageRow>> {
                let rows = sqlx::query_as::<_, UsageSqlRow>(
                    "SELECT a.tool, a.user_id, c.provider_type AS provider, a.outcome, a.error_kind, COUNT(*) AS calls \
                     FROM audit_events a LEFT JOIN pm_provider_connections c ON c.id = a.connection_id \
                     WHERE a.at >= $1 \
                     GROUP BY a.tool, a.user_id, c.provider_type, a.outcome, a.error_kind",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(UsageSqlRow::into_row).collect())
            }

            async fn last_use_by_connection(
                &self,
                user: pm_core::UserId,
            ) -> $crate::StoreResult<Vec<(pm_core::ConnectionId, chrono::DateTime<chrono::Utc>)>> {
                let rows = sqlx::query_as::<_, (uuid::Uuid, chrono::DateTime<chrono::Utc>)>(
                    "SELECT connection_id, MAX(at) FROM audit_events \
                     WHERE user_id = $1 AND connection_id IS NOT NULL AND tool NOT LIKE 'console.%' \
                     GROUP BY connection_id",
                )
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(c, at)| (pm_core::ConnectionId::from_uuid(c), at))
                    .collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::ConsoleStore for $store {
            async fn add_console_ticket(&self, t: &$crate::model::NewTicket) -> $crate::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO console_tickets (token_hash, kind, user_id, data, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.token_hash[..])
                .bind(t.kind.as_str())
                .bind(t.user_id.map(|u| u.as_uuid()))
                .bind(&t.data)
                .bind(chrono::Utc::now())
                .bind(t.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => $crate::StoreError::NotFound("user"),
                    e => $crate::StoreError::from_sqlx(e, || "that ticket already exists".to_string()),
                })?;
                Ok(())
            }

            async fn take_console_ticket(
                &self,
                token_hash: &[u8; 32],
                kind: $crate::model::TicketKind,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::StoreResult<Option<$crate::model::Ticket>> {
                // One statement: of two replicas taking the same ticket, one updates the row.
                let row = sqlx::query_as::<_, TicketRow>(
                    "UPDATE console_tickets SET used_at = $1 \
                     WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING user_id, data",
                )
                .bind(now)
                .bind(&token_hash[..])
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(TicketRow::into_ticket))
            }

            async fn add_console_session(
                &self,
                token_hash: &[u8; 32],
                user: pm_core::UserId,
                issued_by: Option<pm_core::UserId>,
                now: chrono::DateTime<chrono::Utc>,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO console_sessions (token_hash, user_id, issued_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&token_hash[..])
                .bind(user.as_uuid())
                .bind(issued_by.map(|u| u.as_uuid()))
                .bind(now)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => $crate::StoreError::NotFound("user"),
                    e => $crate::StoreError::from_sqlx(e, || "that session already exists".to_string()),
                })?;
                Ok(())
            }

            async fn console_session(
                &self,
                token_hash: &[u8; 32],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::StoreResult<Option<$crate::model::ConsoleSession>> {
                let cols = USER_COLS
                    .split(", ")
                    .map(|c| format!("u.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let row = sqlx::query_as::<_, SessionRow>(&format!(
                    "SELECT {cols}, s.issued_by FROM console_sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
                ))
                .bind(&token_hash[..])
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                row.map(SessionRow::into_session).transpose()
            }

            async fn peek_console_ticket(
                &self,
                token_hash: &[u8; 32],
                kind: $crate::model::TicketKind,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::StoreResult<Option<$crate::model::Ticket>> {
                let row = sqlx::query_as::<_, TicketRow>(
                    "SELECT user_id, data FROM console_tickets \
                     WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(&token_hash[..])
                .bind(kind.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(TicketRow::into_ticket))
            }

            async fn end_console_session(&self, token_hash: &[u8; 32]) -> $crate::StoreResult<()> {
                sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                    .bind(&token_hash[..])
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_console_sessions_of(&self, user: pm_core::UserId) -> $crate::StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn purge_console(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::StoreResult<u64> {
                let sessions = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                let tickets = sqlx::query("DELETE FROM console_tickets WHERE expires_at <= $1 OR used_at IS NOT NULL")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(sessions + tickets)
            }
        }
    };
}

pub(crate) use impl_sql_store;

#[cfg(test)]
mod stored_options_tests {
    use super::*;

    #[test]
    fn an_option_that_does_not_read_is_left_out_and_the_rest_kept() {
        let id = Uuid::new_v4();
        let old_import = serde_json::json!({
            "workspace_id": "acme", "text_format": "markdown", "project_key": "EX", "notify": "maybe"
        });
        let o = stored_options(id, old_import);
        assert_eq!(o.workspace_id, None);
        assert_eq!(o.text_format, Some(pm_core::TextFormat::Markdown));
        assert_eq!(o.notify, None);
        let fine = stored_options(
            id,
            serde_json::json!({ "workspace_id": "9001", "notify": "false" }),
        );
        assert_eq!(fine.workspace_id.map(|w| w.get()), Some(9001));
        assert_eq!(fine.notify, Some(false));
    }
}
