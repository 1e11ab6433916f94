//! Redmine's journals as item history. Redmine's issue list cannot include journals, so a
//! sprint's history is one paged search for the version's issues (every status) and then each
//! issue's journals, read concurrently within the connection's request limit.
use std::collections::HashMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use pm_core::{
    EstimateChange, History, HistorySource, ItemHistory, ProviderResult, SprintMove, Status,
    StatusChange,
};

use super::{Redmine, map, wire};

/// Journals read at once; the connection's own limit applies underneath.
const CONCURRENCY: usize = 8;

fn hours_to_seconds(v: Option<&str>) -> Option<f64> {
    v.and_then(|h| h.trim().parse::<f64>().ok())
        .map(|h| (h * 3600.0).round())
}

/// One issue and its journals as an item history (pure). `statuses` maps a status id to its
/// name and `is_closed`.
pub fn item(i: wire::Issue, statuses: &HashMap<u64, (String, bool)>) -> ItemHistory {
    let status_of = |id: Option<&str>| -> Option<Status> {
        let id: u64 = id?.trim().parse().ok()?;
        let (name, closed) = statuses
            .get(&id)
            .cloned()
            .unwrap_or((format!("#{id}"), false));
        Some(map::status(&wire::Named { id, name }, closed))
    };
    let closed_now = statuses.get(&i.status.id).map(|s| s.1).unwrap_or(false);
    let status = map::status(&i.status, closed_now);
    let mut item = ItemHistory {
        id: i.id.to_string(),
        title: i.subject,
        task_type: i.tracker.map(|t| t.name),
        priority: i.priority.map(|p| p.name),
        assignee: i.assigned_to.map(map::named_user),
        created_at: map::time(i.created_on.as_deref()),
        due_date: map::date(i.due_date.as_deref()),
        blocked: status.name.to_lowercase().contains("block"),
        status,
        points: None,
        estimate_seconds: i.estimated_hours.map(|h| (h * 3600.0).round() as i64),
        status_changes: Vec::new(),
        sprint_moves: Vec::new(),
        points_changes: Vec::new(),
        estimate_changes: Vec::new(),
    };
    let mut journals = i.journals;
    journals.sort_by_key(|j| map::time(j.created_on.as_deref()));
    for j in journals {
        let Some(at) = map::time(j.created_on.as_deref()) else {
            continue;
        };
        for d in j.details {
            if d.property.as_deref() != Some("attr") {
                continue;
            }
            match d.name.as_deref() {
                Some("status_id") => {
                    if let Some(to) = status_of(d.new_value.as_deref()) {
                        item.status_changes.push(StatusChange {
                            at,
                            from: status_of(d.old_value.as_deref()),
                            to,
                        });
                    }
                }
                Some("fixed_version_id") => {
                    for (value, added) in [(&d.old_value, false), (&d.new_value, true)] {
                        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                            item.sprint_moves.push(SprintMove {
                                at,
                                sprint_id: v.to_string(),
                                added,
                            });
                        }
                    }
                }
                Some("estimated_hours") => item.estimate_changes.push(EstimateChange {
                    at,
                    from: hours_to_seconds(d.old_value.as_deref()),
                    to: hours_to_seconds(d.new_value.as_deref()),
                }),
                _ => {}
            }
        }
    }
    item
}

impl Redmine {
    /// Issues matching `params` (every status), up to `max_items`, each with its journals.
    pub(super) async fn history(
        &self,
        params: Vec<(&'static str, String)>,
        max_items: u32,
    ) -> ProviderResult<History> {
        let statuses: HashMap<u64, (String, bool)> = self
            .statuses()
            .await?
            .iter()
            .map(|s| (s.id, (s.name.clone(), s.is_closed)))
            .collect();
        let mut ids: Vec<u64> = Vec::new();
        let mut offset = 0u64;
        while (ids.len() as u32) < max_items {
            let mut q = params.clone();
            q.push(("offset", offset.to_string()));
            q.push(("limit", super::MAX_LIMIT.to_string()));
            let page: wire::Issues = self.up.get("issues.json", &q).await?;
            let got = page.issues.len() as u64;
            ids.extend(page.issues.iter().map(|i| i.id));
            offset += got;
            if got == 0 || page.total_count.is_none_or(|t| offset >= t) {
                break;
            }
        }
        ids.truncate(max_items as usize);
        let issues: Vec<wire::Issue> = stream::iter(ids)
            .map(|id| async move { self.issue(&id.to_string(), "journals").await })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(History {
            items: issues.into_iter().map(|i| item(i, &statuses)).collect(),
            source: HistorySource {
                history: "Redmine journals".into(),
                points_field: None,
                sprint_moves_known: true,
                estimate_changes_known: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use pm_core::StatusCategory;
    use serde_json::json;

    use super::*;

    #[test]
    fn journals_become_histories() {
        let statuses: HashMap<u64, (String, bool)> = [
            (1, ("New".to_string(), false)),
            (2, ("In Progress".to_string(), false)),
            (5, ("Closed".to_string(), true)),
        ]
        .into_iter()
        .collect();
        let i: wire::Issue = serde_json::from_value(json!({
            "id": 7, "project": { "id": 1, "name": "P" }, "status": { "id": 5, "name": "Closed" },
            "tracker": { "id": 1, "name": "Bug" }, "subject": "Pay", "estimated_hours": 2.0,
            "created_on": "2026-11-10T09:00:00Z",
            "journals": [
                { "id": 3, "created_on": "2026-11-20T15:00:00Z", "details": [
                    { "property": "attr", "name": "status_id", "old_value": "2", "new_value": "5" } ] },
                { "id": 1, "created_on": "2026-11-16T08:00:00Z", "details": [
                    { "property": "attr", "name": "fixed_version_id", "old_value": null, "new_value": "4" },
                    { "property": "cf", "name": "3", "old_value": "a", "new_value": "b" } ] },
                { "id": 2, "created_on": "2026-11-17T10:00:00Z", "notes": "started", "details": [
                    { "property": "attr", "name": "status_id", "old_value": "1", "new_value": "2" },
                    { "property": "attr", "name": "estimated_hours", "old_value": "1.5", "new_value": "2.0" } ] },
                { "id": 4, "created_on": "2026-11-21T10:00:00Z", "details": [
                    { "property": "attr", "name": "fixed_version_id", "old_value": "4", "new_value": "6" } ] }
            ]
        }))
        .unwrap();
        let h = item(i, &statuses);
        assert_eq!(h.status.category, StatusCategory::Done);
        assert_eq!(h.estimate_seconds, Some(7200));
        let moves: Vec<(StatusCategory, StatusCategory)> = h
            .status_changes
            .iter()
            .map(|c| (c.from.clone().unwrap().category, c.to.category))
            .collect();
        assert_eq!(
            moves,
            vec![
                (StatusCategory::Todo, StatusCategory::InProgress),
                (StatusCategory::InProgress, StatusCategory::Done)
            ]
        );
        let sprints: Vec<(&str, bool)> = h
            .sprint_moves
            .iter()
            .map(|m| (m.sprint_id.as_str(), m.added))
            .collect();
        assert_eq!(sprints, vec![("4", true), ("4", false), ("6", true)]);
        assert_eq!(h.estimate_changes[0].from, Some(5400.0));
    }
}
