//! The store's one error type. Messages name what went wrong and never carry bound values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// Wraps a sqlx error, naming a unique-constraint violation with `conflict`.
    pub(crate) fn from_sqlx(e: sqlx::Error, conflict: impl FnOnce() -> String) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(conflict())
            }
            _ => e.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Configuration(_) => StoreError::Invalid(e.to_string()),
            // The server is shutting down, starting up, out of connections or otherwise not
            // serving (SQLSTATE classes 08 connection exception, 53 insufficient resources,
            // 57 operator intervention): the database is unavailable, not the query wrong.
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|c| {
                    ["08", "53", "57"].iter().any(|class| c.starts_with(class))
                }) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => match StoreError::from(inner) {
                StoreError::Unavailable(m) => StoreError::Unavailable(m),
                other => StoreError::Migration(other.to_string()),
            },
            other => StoreError::Migration(other.to_string()),
        }
    }
}

impl StoreError {
    /// Whether the database could not be reached or is not serving (worth retrying shortly),
    /// as opposed to a query or a value it refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
