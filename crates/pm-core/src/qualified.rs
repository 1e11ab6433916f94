//! Ids as tools hand them out and take them back: `<connection handle>:<native id>`
//! (`acme-jira:PROJ-42`), or a bare native id when the caller has one obvious connection.
use std::fmt;

use crate::{ConnectionHandle, InvalidInput};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedId {
    /// `None` for a bare id: the caller's default connection is meant.
    pub connection: Option<ConnectionHandle>,
    pub native: String,
}

impl QualifiedId {
    pub fn new(connection: &ConnectionHandle, native: impl Into<String>) -> Self {
        Self {
            connection: Some(connection.clone()),
            native: native.into(),
        }
    }

    /// Splits at the first `:` when what precedes it is a valid handle; otherwise the whole value
    /// is a native id (trackers' own ids never start with `handle:`).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidInput::new("the id is empty"));
        }
        if raw.len() > 512 || raw.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "the id is too long or contains control characters",
            ));
        }
        if let Some((prefix, rest)) = raw.split_once(':')
            && let Ok(handle) = ConnectionHandle::parse(prefix)
        {
            if rest.is_empty() {
                return Err(InvalidInput::new(format!(
                    "{raw:?} names a connection but no id after the ':'"
                )));
            }
            return Ok(Self {
                connection: Some(handle),
                native: rest.to_string(),
            });
        }
        Ok(Self {
            connection: None,
            native: raw.to_string(),
        })
    }
}

impl fmt::Display for QualifiedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.connection {
            Some(c) => write!(f, "{c}:{}", self.native),
            None => f.write_str(&self.native),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_and_bare_ids() {
        let q = QualifiedId::parse("acme-jira:PROJ-42").unwrap();
        assert_eq!(q.connection.as_ref().map(|c| c.as_str()), Some("acme-jira"));
        assert_eq!(q.native, "PROJ-42");
        assert_eq!(q.to_string(), "acme-jira:PROJ-42");
        let bare = QualifiedId::parse(" PROJ-42 ").unwrap();
        assert_eq!(bare.connection, None);
        assert_eq!(bare.native, "PROJ-42");
        // A prefix that is not a handle keeps the colon in the native id.
        let url_like = QualifiedId::parse("Team A:123").unwrap();
        assert_eq!(url_like.connection, None);
        assert!(QualifiedId::parse("").is_err());
        assert!(QualifiedId::parse("acme:").is_err());
        assert!(QualifiedId::parse("a\nb").is_err());
    }
}
