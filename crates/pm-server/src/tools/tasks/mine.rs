//! `list_my_tasks` across every tracker: with no connection and no project named, a caller with
//! several active connections gets the tasks of all of them, one connection after another (their
//! default first, then by name), each in its tracker's own order, paged with one cursor. A
//! tracker that fails is named in the answer, and the others still answer; it is left out of the
//! pages that follow (`list_my_tasks` with its `provider_id` reads it alone).
use pm_core::{Assignee, PageRequest, TaskQuery};

use super::{MyTasks, TaskItem, TaskList, TrackerFailure};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::tools::ToolError;
use crate::tools::across::{MAX_CALLS, Position};

impl PmServer {
    /// The caller's tasks on the connections from `position` on (`first_page`: no cursor was
    /// given), a page of at most `limit`.
    pub(super) async fn my_tasks_from(
        &self,
        p: &Principal,
        mut position: Position,
        first_page: bool,
        statuses: Vec<String>,
        limit: Option<u32>,
    ) -> Result<MyTasks, ToolError> {
        let limit = PageRequest::new(None, limit).limit as usize;
        let query = TaskQuery {
            assignee: Some(Assignee::Me),
            statuses,
            ..TaskQuery::default()
        };
        let mut tasks = Vec::new();
        let mut failed = Vec::new();
        let mut kinds = Vec::new();
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
                        Some(c) => Some(position.at_page(c)),
                        None => position.advance(),
                    };
                }
                Err(e) => {
                    kinds.push(e.1);
                    failed.push(TrackerFailure {
                        connection: position.at.clone(),
                        error: e.0,
                    });
                    next = position.advance();
                }
            }
            if tasks.len() >= limit {
                break;
            }
        }
        // The first page of a listing no tracker answered is a failure; a later page names the
        // trackers that failed beside what the earlier pages gave.
        if !read_any && next.is_none() && first_page {
            // Each tracker's words name its connection; the kind is the first failure's (the
            // trackers' outage, not the caller's input).
            let each: Vec<String> = failed
                .iter()
                .map(|f| match f.error.contains(&f.connection) {
                    true => f.error.clone(),
                    false => format!("{}: {}", f.connection, f.error),
                })
                .collect();
            let kind = kinds
                .first()
                .copied()
                .unwrap_or(crate::service::ErrorKind::Connection);
            return Err(ToolError(
                format!("no tracker answered: {}", each.join("; ")),
                kind,
            ));
        }
        Ok(MyTasks {
            list: TaskList {
                tasks,
                next_cursor: next.map(|n| n.encode()),
            },
            failed,
        })
    }
}
