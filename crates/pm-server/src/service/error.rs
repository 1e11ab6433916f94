//! The service's one error type: what went wrong (its kind, which the audit trail records), on
//! which connection, in words for the caller.
use std::fmt;

use pm_core::ConnectionHandle;

/// What kind of failure a call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The call's own input is wrong: an id, a date, a name, a combination of arguments.
    Invalid,
    /// The caller has no such connection, or it is inactive or was just removed.
    Connection,
    /// pm-mcp's own database could not answer.
    Database,
    /// A connection's stored credentials cannot be opened (the master key).
    Credentials,
    /// The tracker refused the request or could not be reached: [`pm_core::ProviderError::kind`].
    Tracker(&'static str),
}

impl ErrorKind {
    /// The kind as the audit trail stores it (`error_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid_input",
            ErrorKind::Connection => "connection",
            ErrorKind::Database => "database",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Tracker(kind) => match kind {
                "auth" => "tracker_auth",
                "forbidden" => "tracker_forbidden",
                "not_found" => "tracker_not_found",
                "rate_limited" => "tracker_rate_limited",
                "conflict" => "tracker_conflict",
                "invalid" => "tracker_invalid",
                "upstream" => "tracker_upstream",
                "timeout" => "tracker_timeout",
                "network" => "tracker_network",
                "decode" => "tracker_decode",
                "unsupported" => "tracker_unsupported",
                "bad_input" => "tracker_bad_input",
                "blocked" => "tracker_blocked",
                "unavailable" => "tracker_unavailable",
                _ => "tracker_error",
            },
        }
    }
}

/// A failure of the service, said in words the caller (a model, a person) can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The connection it happened on, when one was resolved.
    pub connection: Option<ConnectionHandle>,
    pub kind: ErrorKind,
    pub message: String,
}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            connection: None,
            kind,
            message: message.into(),
        }
    }

    /// The same error, on `connection`.
    pub fn on(mut self, connection: &ConnectionHandle) -> Self {
        self.connection = Some(connection.clone());
        self
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

/// What a call says when pm-mcp's own database cannot be reached.
pub const DATABASE_UNAVAILABLE: &str = "pm-mcp's database is unavailable; try again shortly";

impl From<pm_store::StoreError> for ServiceError {
    fn from(e: pm_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the database is unavailable to a call");
            return ServiceError::new(ErrorKind::Database, DATABASE_UNAVAILABLE);
        }
        tracing::error!(error = %e, "store error in a call");
        ServiceError::new(
            ErrorKind::Database,
            "pm-mcp's database could not answer; try again shortly",
        )
    }
}
