//! ClickUp's status history for analytics, from the Time in Status ClickApp: one paged listing
//! of the sprint list's (or space's) tasks, then `bulk_time_in_status` for 2–100 tasks a request
//! (one task on its own endpoint). ClickUp keeps one entry per status with when the task last
//! entered it (`since`), and records neither sprint moves nor estimate changes; without the
//! ClickApp (ClickUp refuses with 400, 401 or 403, in words it does not publish) only the current
//! statuses are known. The result's source says which, with ClickUp's words.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pm_core::{History, HistorySource, ItemHistory, ProviderResult, Status, StatusChange, Task};

use super::{ClickUp, TASK_PAGE, map, wire};

/// How far a status's entry may be from the task's creation and still be the creation.
const CREATION_SLACK_SECONDS: i64 = 60;

fn at_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// A task and its time-in-status entries as an item history (pure).
pub fn item(
    task: Task,
    estimate_ms: Option<i64>,
    times: Option<&wire::TimeInStatus>,
) -> ItemHistory {
    let mut entries: Vec<(DateTime<Utc>, Status)> = times
        .map(|t| {
            t.status_history
                .iter()
                .filter_map(|s| {
                    let at = s.total_time.as_ref()?.since.and_then(at_ms)?;
                    Some((
                        at,
                        Status {
                            name: s.status.clone(),
                            category: map::category(s.kind.as_deref()),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort_by_key(|(at, _)| *at);
    let mut changes = Vec::new();
    let mut previous: Option<Status> = None;
    // `since` is a status's latest entry: the earliest one is the status the task was created
    // in only when it was entered at the creation (else the task was in another status before,
    // entered again later, and the move into this one is a change from a status not known).
    let created = task.created_at;
    for (i, (at, status)) in entries.into_iter().enumerate() {
        let at_creation =
            created.is_none_or(|c| (at - c).num_seconds().abs() <= CREATION_SLACK_SECONDS);
        if i > 0 || !at_creation {
            changes.push(StatusChange {
                at,
                from: previous.clone(),
                to: status.clone(),
            });
        }
        previous = Some(status);
    }
    ItemHistory {
        id: task.id,
        title: task.title,
        task_type: task.task_type,
        priority: task.priority,
        assignee: task.assignee,
        created_at: task.created_at,
        due_date: task.due_date,
        blocked: task.status.name.to_lowercase().contains("block"),
        status: task.status,
        points: task.story_points,
        estimate_seconds: estimate_ms.map(|ms| ms / 1000),
        status_changes: changes,
        sprint_moves: Vec::new(),
        points_changes: Vec::new(),
        estimate_changes: Vec::new(),
    }
}

impl ClickUp {
    /// Every task at `path` (closed ones and subtasks included), up to `max_items`.
    async fn all_tasks(
        &self,
        path: &str,
        params: &[(&'static str, String)],
        max_items: u32,
    ) -> ProviderResult<Vec<wire::Task>> {
        let mut out = Vec::new();
        let mut page = 0u32;
        while (out.len() as u32) < max_items {
            let mut q = params.to_vec();
            q.push(("page", page.to_string()));
            let res: wire::Tasks = self.up.get(path, &q).await?;
            let got = res.tasks.len();
            out.extend(res.tasks);
            let last = res.last_page.unwrap_or(got < TASK_PAGE);
            if last || got == 0 {
                break;
            }
            page += 1;
        }
        out.truncate(max_items as usize);
        Ok(out)
    }

    /// Time in status for these tasks: 2–100 a bulk request ("two or more tasks", "up to 100
    /// task ids"), a lone task on its own endpoint; `Err` with ClickUp's words when it refuses
    /// (the ClickApp off, or not allowed).
    async fn times(
        &self,
        ids: &[String],
    ) -> ProviderResult<Result<HashMap<String, wire::TimeInStatus>, String>> {
        let mut all = HashMap::new();
        for chunk in ids.chunks(100) {
            let answer = if let [one] = chunk {
                self.up
                    .get::<wire::TimeInStatus>(&format!("task/{one}/time_in_status"), &[])
                    .await
                    .map(|t| HashMap::from([(one.clone(), t)]))
            } else {
                let q: Vec<(&str, String)> =
                    chunk.iter().map(|id| ("task_ids", id.clone())).collect();
                self.up
                    .get::<HashMap<String, wire::TimeInStatus>>(
                        "task/bulk_time_in_status/task_ids",
                        &q,
                    )
                    .await
            };
            match answer {
                Ok(part) => all.extend(part),
                Err(e) => match super::time_in_status_refusal(&e) {
                    Some(why) => return Ok(Err(why)),
                    None => return Err(e),
                },
            }
        }
        Ok(Ok(all))
    }

    pub(super) async fn history(
        &self,
        listings: Vec<(String, Vec<(&'static str, String)>)>,
        max_items: u32,
    ) -> ProviderResult<History> {
        let mut tasks: Vec<wire::Task> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (path, params) in listings {
            let left = max_items.saturating_sub(tasks.len() as u32);
            for t in self.all_tasks(&path, &params, left).await? {
                if seen.insert(t.id.clone()) {
                    tasks.push(t);
                }
            }
        }
        let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
        let estimates: Vec<Option<i64>> = tasks.iter().map(|t| t.time_estimate).collect();
        let times = if ids.is_empty() {
            Ok(HashMap::new())
        } else {
            self.times(&ids).await?
        };
        let mapped = self.to_tasks(tasks).await?;
        let items = mapped
            .into_iter()
            .zip(estimates)
            .map(|(t, est)| {
                let tis = times.as_ref().ok().and_then(|m| m.get(&t.id));
                item(t, est, tis)
            })
            .collect();
        Ok(History {
            items,
            source: HistorySource {
                history: match &times {
                    Ok(_) => {
                        "ClickUp Time in Status (one entry per status, when last entered)".into()
                    }
                    Err(why) => format!(
                        "ClickUp current statuses only (ClickUp refused Time in Status: {why}; the Time in Status ClickApp may be off, or the account not allowed to use it)"
                    ),
                },
                points_field: Some("Sprint Points or a Story Points field".into()),
                sprint_moves_known: false,
                estimate_changes_known: false,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use pm_core::StatusCategory;
    use serde_json::json;

    use super::*;

    fn h_task() -> Task {
        Task {
            id: "9hx".into(),
            key: None,
            title: "Pay".into(),
            description: None,
            status: Status {
                name: "complete".into(),
                category: StatusCategory::Done,
            },
            priority: None,
            task_type: None,
            assignee: None,
            reporter: None,
            project_id: None,
            parent_id: None,
            story_points: Some(3.0),
            due_date: None,
            labels: vec![],
            created_at: None,
            updated_at: None,
            url: None,
        }
    }

    #[test]
    fn time_in_status_becomes_status_changes() {
        let task = h_task();
        let tis: wire::TimeInStatus = serde_json::from_value(json!({
            "status_history": [
                { "status": "complete", "type": "closed", "total_time": { "by_minute": 10, "since": "1764000000000" } },
                { "status": "to do", "type": "open", "total_time": { "by_minute": 100, "since": "1763800000000" } },
                { "status": "in progress", "type": "custom", "total_time": { "by_minute": 50, "since": "1763900000000" } }
            ]
        }))
        .unwrap();
        let h = item(task.clone(), Some(7_200_000), Some(&tis));
        assert_eq!(h.estimate_seconds, Some(7200));
        let cats: Vec<(StatusCategory, StatusCategory)> = h
            .status_changes
            .iter()
            .map(|c| (c.from.clone().unwrap().category, c.to.category))
            .collect();
        assert_eq!(
            cats,
            vec![
                (StatusCategory::Todo, StatusCategory::InProgress),
                (StatusCategory::InProgress, StatusCategory::Done)
            ]
        );
        // Created long before its earliest entry: that entry is a move from a status entered
        // again later (`since` is the latest entry), not the creation.
        let older = Task {
            created_at: at_ms(1_763_000_000_000),
            ..task
        };
        let h = item(older, None, Some(&tis));
        assert_eq!(h.status_changes.len(), 3);
        assert_eq!(h.status_changes[0].from, None);
        assert_eq!(h.status_changes[0].to.name, "to do");
        // Created when it entered its earliest status: the creation.
        let at_once = Task {
            created_at: at_ms(1_763_800_000_000),
            ..h_task()
        };
        assert_eq!(item(at_once, None, Some(&tis)).status_changes.len(), 2);
    }
}
