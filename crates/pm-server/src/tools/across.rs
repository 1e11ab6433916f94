//! Listings across all of a caller's connections (`list_my_tasks` with none named, the
//! resources list): the order the connections are read in, and the one cursor such a listing
//! pages with.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::ToolError;

/// What a cursor of such a listing starts with (a tracker's own cursors never do).
const PREFIX: &str = "all.";

/// Tracker calls one page may make before it answers with what it has (a tracker that keeps
/// answering short pages cannot hold the call).
pub(crate) const MAX_CALLS: usize = 10;

/// Where the listing stands: the connection being read, its tracker's cursor, and the
/// connections still to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rest: Vec<String>,
}

impl Position {
    /// The start of a listing of `connections` (the active ones; the caller's default first,
    /// then by name), or none when there is none.
    pub fn start(connections: &[pm_store::Connection]) -> Option<Self> {
        let mut names = ordered(connections).into_iter();
        Some(Position {
            at: names.next()?,
            cursor: None,
            rest: names.collect(),
        })
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode(cursor: &str) -> Result<Self, ToolError> {
        let refused = || {
            ToolError::new(
                "cursor is not one this listing gave; pass next_cursor of the previous page \
                 unchanged, or no cursor for the first page"
                    .into(),
            )
        };
        let raw = cursor.strip_prefix(PREFIX).ok_or_else(refused)?;
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| refused())?;
        serde_json::from_slice(&bytes).map_err(|_| refused())
    }

    /// The same connection at its tracker's next page.
    pub fn at_page(&self, cursor: String) -> Self {
        Position {
            cursor: Some(cursor),
            ..self.clone()
        }
    }

    /// The next connection, or none when this was the last.
    pub fn advance(&self) -> Option<Self> {
        let (at, rest) = self.rest.split_first()?;
        Some(Position {
            at: at.clone(),
            cursor: None,
            rest: rest.to_vec(),
        })
    }
}

/// The names of the active ones among `connections`, in the order listings across them read them:
/// the caller's default first, then by name.
pub(crate) fn ordered(connections: &[pm_store::Connection]) -> Vec<String> {
    let mut active: Vec<&pm_store::Connection> =
        connections.iter().filter(|c| c.is_active).collect();
    active.sort_by(|a, b| {
        b.is_default
            .cmp(&a.is_default)
            .then_with(|| a.name.as_str().cmp(b.name.as_str()))
    });
    active
        .into_iter()
        .map(|c| c.name.as_str().to_string())
        .collect()
}

/// Whether `cursor` is one of a listing across connections.
pub(crate) fn is_across_cursor(cursor: Option<&str>) -> bool {
    cursor.is_some_and(|c| c.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let p = Position {
            at: "acme-jira".into(),
            cursor: Some("startAt=50".into()),
            rest: vec!["team-op".into(), "redmine".into()],
        };
        let c = p.encode();
        assert!(is_across_cursor(Some(&c)));
        assert!(!is_across_cursor(Some("startAt=50")));
        assert_eq!(Position::decode(&c).expect("decodes"), p);
        for bad in ["startAt=50", "all.", "all.!!", "all.e30"] {
            let e = Position::decode(bad).expect_err(bad);
            assert!(e.0.contains("next_cursor"), "{bad}: {}", e.0);
        }
        let last = Position {
            at: "x".into(),
            cursor: Some("c".into()),
            rest: vec![],
        };
        assert_eq!(last.advance(), None);
        let moved = p.advance().expect("next");
        assert_eq!(
            (moved.at.as_str(), moved.cursor, moved.rest),
            ("team-op", None, vec!["redmine".to_string()])
        );
        assert_eq!(p.at_page("n".into()).cursor.as_deref(), Some("n"));
    }
}
