//! The production engine: PostgreSQL, shared by any number of stateless replicas.
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("the PostgreSQL URL is malformed: {e}")))?;
        let options = options.application_name("pm-mcp");
        // One direct connection first, so an unreachable server or a refused login is reported
        // as itself rather than as a pool timeout.
        let probe = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Database(m) | StoreError::Unavailable(m) | StoreError::Invalid(m) => {
                    StoreError::Unavailable(m)
                }
                other => other,
            })?;
        let _ = sqlx::Connection::close(probe).await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Database(m) | StoreError::Unavailable(m) => StoreError::Unavailable(m),
                other => other,
            })?;
        Ok(Self { pool })
    }
}

/// Migrations in `migrator` not yet applied to the database behind `pool`.
pub(crate) async fn count_pending<DB>(
    migrator: &sqlx::migrate::Migrator,
    pool: &sqlx::Pool<DB>,
) -> StoreResult<usize>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    Ok(migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .count())
}

crate::sql::impl_sql_store!(PgStore, sqlx::Postgres);

#[async_trait::async_trait]
impl crate::Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        Ok(MIGRATOR.run(&self.pool).await?)
    }

    async fn pending_migrations(&self) -> StoreResult<usize> {
        count_pending(&MIGRATOR, &self.pool).await
    }

    fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats::of(&self.pool)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn auth_epoch(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT value FROM auth_epoch WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn auth_changes(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<()>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen("pm_mcp_auth").await?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection; a notice may have been
                // missed meanwhile, so a reconnect is passed on as a change too. When nobody
                // listens any more the connection goes back (so the pool can close).
                let notice = tokio::select! {
                    n = listener.try_recv() => n,
                    _ = tx.closed() => return,
                };
                let forward = match notice {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "the auth change listener lost PostgreSQL; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        true
                    }
                };
                if forward && tx.send(()).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
