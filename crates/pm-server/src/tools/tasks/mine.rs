//! `list_my_tasks` across every tracker: with no connection and no project named, a caller with
//! several active connections gets the tasks of all of them, one connection after another (their
//! default first, then by name), each in its tracker's own order, paged with one cursor. A
//! tracker that fails is named in the answer, and the others still answer.
use pm_core::{Assignee, PageRequest, TaskQuery};

use super::{MyTasks, TaskItem, TaskList, TrackerFailure};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::tools::ToolError;
use crate::tools::across::{MAX_CALLS, Position, is_across_cursor};

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
            Some(c) if is_across_cursor(Some(c)) => Position::decode(c)?,
            // A tracker's own cursor: the listing of one connection gave it.
            Some(_) => return Ok(None),
            None => {
                let all = self.state().service.connections_of(p.user.id).await?;
                match Position::start(&all) {
                    Some(start) if !start.rest.is_empty() => start,
                    _ => return Ok(None),
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
                        Some(c) => Some(position.at_page(c)),
                        None => position.advance(),
                    };
                }
                Err(e) => {
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
