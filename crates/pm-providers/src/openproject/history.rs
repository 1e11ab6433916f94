//! OpenProject's activities as item history. A work package list cannot embed activities, so a
//! sprint's history is one paged search for the version's work packages (every status) and then
//! each one's activities, read concurrently within the connection's request limit. Activities
//! record changes as sentences in the account's language ("Status changed from New to In
//! progress"); pm-mcp reads the English ones and says so when it found none.
use std::collections::HashMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use pm_core::{
    EstimateChange, History, HistorySource, ItemHistory, ProviderResult, SprintMove, Status,
    StatusChange,
};

use super::filters::{Filters, sort_by};
use super::{OpenProject, map, wire};

const CONCURRENCY: usize = 8;

/// `<label> changed from A to B`, `<label> set to B`, `<label> deleted (A)` → (old, new).
fn change<'a>(detail: &'a str, label: &str) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let rest = detail.trim().strip_prefix(label)?.strip_prefix(' ')?;
    if let Some(r) = rest.strip_prefix("changed from ") {
        let (a, b) = r.split_once(" to ")?;
        return Some((Some(a.trim()), Some(b.trim())));
    }
    if let Some(b) = rest.strip_prefix("set to ") {
        return Some((None, Some(b.trim())));
    }
    if let Some(a) = rest.strip_prefix("deleted") {
        let a = a
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        return Some((Some(a).filter(|a| !a.is_empty()), None));
    }
    None
}

/// A work package and its activities as an item history (pure). `statuses`: name → closed;
/// `version`: the id and name of the version whose moves are wanted.
pub fn item(
    w: wire::WorkPackage,
    activities: Vec<wire::Activity>,
    statuses: &HashMap<String, bool>,
    version: Option<(&str, &str)>,
    points_field: Option<&str>,
) -> ItemHistory {
    let status_named = |name: &str| -> Status {
        let closed = statuses
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| *c)
            .unwrap_or(false);
        map::status(name, closed)
    };
    let estimate = w
        .other
        .get("estimatedTime")
        .and_then(serde_json::Value::as_str)
        .and_then(map::parse_duration);
    let current = w.links.status.title.clone().unwrap_or_default();
    // The category comes from the status names below; the mapped task supplies the rest.
    let task = map::task(w, "", &|_| false, points_field);
    let mut item = ItemHistory {
        id: task.id,
        title: task.title,
        task_type: task.task_type,
        priority: task.priority,
        assignee: task.assignee,
        created_at: task.created_at,
        due_date: task.due_date,
        blocked: current.to_lowercase().contains("block"),
        status: status_named(&current),
        points: task.story_points,
        estimate_seconds: estimate,
        status_changes: Vec::new(),
        sprint_moves: Vec::new(),
        points_changes: Vec::new(),
        estimate_changes: Vec::new(),
    };
    let mut activities = activities;
    activities.sort_by_key(|a| map::time(a.created_at.as_deref()));
    for a in activities {
        let Some(at) = map::time(a.created_at.as_deref()) else {
            continue;
        };
        for d in a.details.iter().filter_map(|d| d.raw.as_deref()) {
            if let Some((from, Some(to))) = change(d, "Status") {
                item.status_changes.push(StatusChange {
                    at,
                    from: from.map(status_named),
                    to: status_named(to),
                });
            } else if let Some((from, to)) = change(d, "Version") {
                if let Some((id, name)) = version {
                    if from == Some(name) {
                        item.sprint_moves.push(SprintMove {
                            at,
                            sprint_id: id.to_string(),
                            added: false,
                        });
                    }
                    if to == Some(name) {
                        item.sprint_moves.push(SprintMove {
                            at,
                            sprint_id: id.to_string(),
                            added: true,
                        });
                    }
                }
            } else if let Some((from, to)) = change(d, "Story Points") {
                item.points_changes.push(EstimateChange {
                    at,
                    from: from.and_then(|v| v.parse().ok()),
                    to: to.and_then(|v| v.parse().ok()),
                });
            }
        }
    }
    item
}

impl OpenProject {
    /// Work packages at `path` matching `filters` (every status unless filtered), up to
    /// `max_items`, each with its activities.
    pub(super) async fn history(
        &self,
        path: &str,
        filters: Filters,
        version: Option<(&str, &str)>,
        max_items: u32,
    ) -> ProviderResult<History> {
        let statuses: HashMap<String, bool> = self
            .statuses()
            .await?
            .iter()
            .map(|s| (s.name.clone(), s.is_closed))
            .collect();
        let mut wps: Vec<wire::WorkPackage> = Vec::new();
        let mut page = 1u64;
        while (wps.len() as u32) < max_items {
            let q = [
                ("filters", filters.to_query()),
                ("sortBy", sort_by("id", false)),
                ("offset", page.to_string()),
                ("pageSize", "100".to_string()),
            ];
            let res: wire::Collection<wire::WorkPackage> = self.up.get(path, &q).await?;
            let got = res.embedded.elements.len();
            wps.extend(res.embedded.elements);
            if got == 0 || res.total.is_none_or(|t| wps.len() as u64 >= t) {
                break;
            }
            page += 1;
        }
        wps.truncate(max_items as usize);
        let keys = self.learn_points(&wps).await?;
        let ids: Vec<u64> = wps.iter().map(|w| w.id).collect();
        let activities: Vec<Vec<wire::Activity>> = stream::iter(ids)
            .map(|id| async move {
                self.all::<wire::Activity>(&format!("api/v3/work_packages/{id}/activities"), &[])
                    .await
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut read_any = false;
        let items: Vec<ItemHistory> = wps
            .into_iter()
            .zip(activities)
            .map(|(w, acts)| {
                let field = keys.iter().find(|k| w.other.contains_key(*k)).cloned();
                let h = item(w, acts, &statuses, version, field.as_deref());
                read_any |= !h.status_changes.is_empty() || !h.sprint_moves.is_empty();
                h
            })
            .collect();
        Ok(History {
            source: HistorySource {
                history: if read_any || items.is_empty() {
                    "OpenProject activities".into()
                } else {
                    "OpenProject activities (no status or version changes found; activities in a language other than English are not read)".into()
                },
                points_field: keys.iter().next().cloned().or(Some("storyPoints".into())),
                sprint_moves_known: version.is_some(),
                estimate_changes_known: false,
            },
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use pm_core::StatusCategory;
    use serde_json::json;

    use super::*;

    #[test]
    fn change_sentences() {
        assert_eq!(
            change("Status changed from New to In progress", "Status"),
            Some((Some("New"), Some("In progress")))
        );
        assert_eq!(
            change("Version set to Sprint 2", "Version"),
            Some((None, Some("Sprint 2")))
        );
        assert_eq!(
            change("Version deleted (Sprint 2)", "Version"),
            Some((Some("Sprint 2"), None))
        );
        assert_eq!(change("Statusbar changed from a to b", "Status"), None);
        assert_eq!(change("Description changed", "Status"), None);
    }

    #[test]
    fn activities_become_histories() {
        let w: wire::WorkPackage = serde_json::from_value(json!({
            "id": 9, "subject": "Pay", "storyPoints": 5, "createdAt": "2026-11-10T09:00:00Z",
            "_links": { "status": { "href": "/api/v3/statuses/12", "title": "Closed" },
                        "type": { "href": "/api/v3/types/7", "title": "Bug" } }
        }))
        .unwrap();
        let acts: Vec<wire::Activity> = serde_json::from_value(json!([
            { "id": 3, "createdAt": "2026-11-20T15:00:00Z", "details": [ { "raw": "Status changed from In progress to Closed" } ] },
            { "id": 1, "createdAt": "2026-11-16T08:00:00Z", "details": [ { "raw": "Version set to Sprint 2" } ] },
            { "id": 2, "createdAt": "2026-11-17T10:00:00Z", "details": [
                { "raw": "Status changed from New to In progress" }, { "raw": "Story Points changed from 3 to 5" } ] }
        ]))
        .unwrap();
        let statuses: HashMap<String, bool> = [
            ("New".to_string(), false),
            ("In progress".to_string(), false),
            ("Closed".to_string(), true),
        ]
        .into_iter()
        .collect();
        let h = item(w, acts, &statuses, Some(("2", "Sprint 2")), None);
        assert_eq!(h.status.category, StatusCategory::Done);
        assert_eq!(h.points, Some(5.0));
        assert_eq!(h.status_changes.len(), 2);
        assert_eq!(h.status_changes[1].to.category, StatusCategory::Done);
        assert_eq!(h.sprint_moves.len(), 1);
        assert!(h.sprint_moves[0].added);
        assert_eq!(h.points_changes[0].to, Some(5.0));
    }
}
