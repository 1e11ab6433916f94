//! `list_my_tasks` across every tracker: with no connection and no project named, a caller with
//! several active connections gets the tasks of all of them, one connection after another (their
//! default first, then by name), each in its tracker's own order, paged with one cursor. A
//! tracker that fails is named in the answer, and the others still answer.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pm_core::{Assignee, PageRequest, TaskQuery};
use serde::{Deserialize, Serialize};

use super::{MyTasks, TaskItem, TaskList, TrackerFailure};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::tools::ToolError;

/// What a cursor of this listing starts with (a tracker's own cursors never do).
const PREFIX: &str = "all.";

/// Tracker calls one page may make before it answers with what it has (a tracker that keeps
/// answering short pages cannot hold the call).
const MAX_CALLS: usize = 10;

/// Where the listing stands: the connection being read, its tracker's cursor, and the
/// connections still to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rest: Vec<String>,
}

impl Position {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(cursor: &str) -> Result<Self, ToolError> {
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

    /// The next connection, or none when this was the last.
    fn advance(mut self) -> Option<Self> {
        if self.rest.is_empty() {
            return None;
        }
        let at = self.rest.remove(0);
        Some(Position {
            at,
            cursor: None,
            rest: self.rest,
        })
    }
}

/// Whether `cursor` is one of this listing's.
pub(super) fn is_merged_cursor(cursor: Option<&str>) -> bool {
    cursor.is_some_and(|c| c.starts_with(PREFIX))
}

impl PmServer {
    /// The caller's tasks on every active connection, or `None` when they have one at most (the
    /// single-connection listing answers then). `cursor` is this listing's or none.
    pub(super) async fn my_tasks_everywhere(
        &self,
        p: &Principal,
        statuses: Vec<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<Option<MyTasks>, ToolError> {
        let first_page = cursor.is_none();
        let mut position = match cursor.as_deref() {
            Some(c) if is_merged_cursor(Some(c)) => Position::decode(c)?,
            // A tracker's own cursor: the listing of one connection gave it.
            Some(_) => return Ok(None),
            None => {
                let mut active: Vec<_> = self
                    .state()
                    .service
                    .connections_of(p.user.id)
                    .await?
                    .into_iter()
                    .filter(|c| c.is_active)
                    .collect();
                if active.len() < 2 {
                    return Ok(None);
                }
                active.sort_by(|a, b| {
                    b.is_default
                        .cmp(&a.is_default)
                        .then_with(|| a.name.as_str().cmp(b.name.as_str()))
                });
                let mut names = active.into_iter().map(|c| c.name.as_str().to_string());
                let Some(at) = names.next() else {
                    return Ok(None);
                };
                Position {
                    at,
                    cursor: None,
                    rest: names.collect(),
                }
            }
        };
        let limit = PageRequest::new(None, limit).limit as usize;
        let query = TaskQuery {
            assignee: Some(Assignee::Me),
            statuses,
            ..TaskQuery::default()
        };
        let mut tasks = Vec::new();
        let mut failed = Vec::new();
        let mut read_any = false;
        let mut next = Some(position.clone());
        for _ in 0..MAX_CALLS {
            let Some(at) = next.take() else { break };
            position = at;
            let want = (limit - tasks.len()).max(1) as u32;
            let page = match self.tracker(p, Some(&position.at)).await {
                Ok(tracker) => {
                    let (q, request) = (
                        query.clone(),
                        PageRequest::new(position.cursor.clone(), Some(want)),
                    );
                    tracker
                        .call(|t| async move { t.search_tasks(&q, &request).await })
                        .await
                        .map_err(ToolError::from)
                }
                Err(e) => Err(e),
            };
            match page {
                Ok(page) => {
                    read_any = true;
                    tasks.extend(page.items.into_iter().map(TaskItem::of));
                    next = match page.next {
                        Some(c) => Some(Position {
                            cursor: Some(c),
                            ..position.clone()
                        }),
                        None => position.clone().advance(),
                    };
                }
                Err(e) => {
                    failed.push(TrackerFailure {
                        connection: position.at.clone(),
                        error: e.0,
                    });
                    next = position.clone().advance();
                }
            }
            if tasks.len() >= limit {
                break;
            }
        }
        // The first page of a listing no tracker answered is a failure; a later page names the
        // trackers that failed beside what the earlier pages gave.
        if !read_any && next.is_none() && first_page {
            let each: Vec<String> = failed
                .iter()
                .map(|f| format!("{}: {}", f.connection, f.error))
                .collect();
            return Err(ToolError::new(format!(
                "no tracker answered: {}",
                each.join("; ")
            )));
        }
        Ok(Some(MyTasks {
            list: TaskList {
                tasks,
                next_cursor: next.map(|n| n.encode()),
            },
            failed,
        }))
    }
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
        assert!(is_merged_cursor(Some(&c)));
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
    }
}
