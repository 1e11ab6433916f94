//! Jira's changelog as item history: one paged JQL search with `expand=changelog` (Jira embeds
//! up to 100 entries per issue; the rest of a longer changelog is read from
//! `/issue/{key}/changelog`, for those issues only), statuses mapped to their category with the
//! site's status list (read once), sprint moves from the `Sprint` field's id lists, story points
//! and original-estimate changes from their fields.
use std::collections::{BTreeSet, HashMap};

use pm_core::{
    EstimateChange, History, HistorySource, ItemHistory, ProviderError, ProviderResult, SprintMove,
    Status, StatusCategory, StatusChange,
};
use serde_json::json;

use super::{Edition, Jira, issue_key, map, wire};

/// The fields analytics needs (the story points field is added when the site has one).
const HISTORY_FIELDS: [&str; 8] = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "created",
    "duedate",
    "timeoriginalestimate",
];

pub(super) fn category(key: Option<&str>) -> StatusCategory {
    match key {
        Some("done") => StatusCategory::Done,
        Some("indeterminate") => StatusCategory::InProgress,
        _ => StatusCategory::Todo,
    }
}

/// A status from a changelog id and name, with its category from the site's list (a status
/// since deleted falls back to its name: "done"/"closed"/"resolved" done, "progress" in
/// progress).
pub(super) fn status_of(
    id: Option<&str>,
    name: Option<&str>,
    table: &HashMap<String, Status>,
) -> Status {
    if let Some(s) = id.and_then(|i| table.get(i)) {
        return s.clone();
    }
    let name = name.unwrap_or("Unknown").to_string();
    let lower = name.to_lowercase();
    let category = if ["done", "closed", "resolved"]
        .iter()
        .any(|w| lower.contains(w))
    {
        StatusCategory::Done
    } else if lower.contains("progress") || lower.contains("review") {
        StatusCategory::InProgress
    } else {
        StatusCategory::Todo
    };
    Status { name, category }
}

fn ids(list: Option<&str>) -> BTreeSet<String> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(s: Option<&str>) -> Option<f64> {
    s.and_then(|s| s.trim().parse::<f64>().ok())
}

/// One issue and its changelog as an item history (pure).
pub fn item(
    issue: wire::Issue,
    points_field: Option<(&str, Option<&str>)>,
    table: &HashMap<String, Status>,
) -> ItemHistory {
    let changelog = issue.changelog.unwrap_or_default();
    let f = issue.fields;
    let points = points_field
        .and_then(|(id, _)| f.extra.get(id))
        .and_then(serde_json::Value::as_f64);
    let estimate = f
        .extra
        .get("timeoriginalestimate")
        .and_then(serde_json::Value::as_i64);
    let status = map::status(f.status);
    let mut item = ItemHistory {
        id: issue.key,
        title: f.summary.unwrap_or_default(),
        task_type: f.issuetype.and_then(|t| t.name),
        priority: f.priority.and_then(|p| p.name),
        assignee: f.assignee.map(map::user),
        created_at: f.created.as_str().and_then(map::timestamp),
        due_date: f
            .duedate
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        blocked: status.name.to_lowercase().contains("block"),
        status,
        points,
        estimate_seconds: estimate,
        status_changes: Vec::new(),
        sprint_moves: Vec::new(),
        points_changes: Vec::new(),
        estimate_changes: Vec::new(),
    };
    let mut entries = changelog.histories;
    entries.sort_by_key(|e| e.created.as_str().and_then(map::timestamp));
    for entry in entries {
        let Some(at) = entry.created.as_str().and_then(map::timestamp) else {
            continue;
        };
        for change in entry.items {
            let field = change.field.as_deref().unwrap_or("");
            let field_id = change.field_id.as_deref().unwrap_or("");
            if field_id == "status" || field.eq_ignore_ascii_case("status") {
                item.status_changes.push(StatusChange {
                    at,
                    from: change
                        .from
                        .as_deref()
                        .or(change.from_string.as_deref())
                        .map(|_| {
                            status_of(change.from.as_deref(), change.from_string.as_deref(), table)
                        }),
                    to: status_of(change.to.as_deref(), change.to_string.as_deref(), table),
                });
            } else if field.eq_ignore_ascii_case("sprint") {
                let (before, after) = (ids(change.from.as_deref()), ids(change.to.as_deref()));
                for added in after.difference(&before) {
                    item.sprint_moves.push(SprintMove {
                        at,
                        sprint_id: added.clone(),
                        added: true,
                    });
                }
                for removed in before.difference(&after) {
                    item.sprint_moves.push(SprintMove {
                        at,
                        sprint_id: removed.clone(),
                        added: false,
                    });
                }
            } else if points_field.is_some_and(|(id, name)| {
                field_id == id || name.is_some_and(|n| field.eq_ignore_ascii_case(n))
            }) {
                item.points_changes.push(EstimateChange {
                    at,
                    from: number(change.from_string.as_deref()),
                    to: number(change.to_string.as_deref()),
                });
            } else if field_id == "timeoriginalestimate"
                || field.eq_ignore_ascii_case("timeoriginalestimate")
            {
                item.estimate_changes.push(EstimateChange {
                    at,
                    from: number(change.from.as_deref()),
                    to: number(change.to.as_deref()),
                });
            }
        }
    }
    item
}

impl Jira {
    /// The site's statuses by id, with their categories (read once).
    pub(super) async fn status_table(&self) -> ProviderResult<&HashMap<String, Status>> {
        self.statuses
            .get_or_try_init(|| async {
                let all: Vec<wire::SiteStatus> = self.up.get(&self.api("status"), &[]).await?;
                Ok::<_, ProviderError>(
                    all.into_iter()
                        .map(|s| {
                            let st = Status {
                                name: s.name.unwrap_or_else(|| s.id.clone()),
                                category: category(
                                    s.status_category.and_then(|c| c.key).as_deref(),
                                ),
                            };
                            (s.id, st)
                        })
                        .collect(),
                )
            })
            .await
    }

    /// Every issue a JQL query finds (up to `max_items`), with its whole changelog.
    pub(super) async fn history_search(
        &self,
        jql: &str,
        max_items: u32,
    ) -> ProviderResult<Vec<wire::Issue>> {
        let points = self.story_points_field().await?;
        let fields: Vec<String> = HISTORY_FIELDS
            .iter()
            .map(|f| f.to_string())
            .chain(points.clone())
            .collect();
        let mut out: Vec<wire::Issue> = Vec::new();
        let mut token: Option<String> = None;
        let mut start = 0u64;
        loop {
            let want = (max_items as usize).saturating_sub(out.len()).min(100);
            if want == 0 {
                break;
            }
            let (mut issues, more) = match self.edition {
                Edition::Cloud => {
                    let mut body = json!({ "jql": jql, "maxResults": want, "fields": fields, "expand": "changelog" });
                    if let Some(t) = &token {
                        body["nextPageToken"] = json!(t);
                    }
                    let res: wire::JqlPage = self
                        .up
                        .post(&self.api("search/jql"), &body)
                        .await
                        .map_err(super::jql_refusal)?;
                    token = res.next_page_token.clone();
                    let more = res.is_last != Some(true) && token.is_some();
                    (res.issues, more)
                }
                Edition::DataCenter => {
                    let body = json!({ "jql": jql, "startAt": start, "maxResults": want, "fields": fields, "expand": ["changelog"] });
                    let res: wire::SearchPage = self
                        .up
                        .post(&self.api("search"), &body)
                        .await
                        .map_err(super::jql_refusal)?;
                    start = res.start_at + res.issues.len() as u64;
                    let more = !res.issues.is_empty() && res.total.is_some_and(|t| start < t);
                    (res.issues, more)
                }
            };
            let got = issues.len();
            out.append(&mut issues);
            if !more || got == 0 {
                break;
            }
        }
        // Changelogs longer than what the search embedded: the rest, for those issues only.
        for issue in out.iter_mut() {
            let Some(log) = issue.changelog.as_mut() else {
                continue;
            };
            let total = log.total.unwrap_or(0) as usize;
            while log.histories.len() < total {
                let key = issue_key(&issue.key)?;
                let at = log.histories.len();
                let rest: Vec<wire::ChangeEntry> = match self.edition {
                    Edition::Cloud => {
                        let page: wire::ChangelogPage = self
                            .up
                            .get(
                                &self.api(&format!("issue/{key}/changelog")),
                                &[("startAt", at.to_string()), ("maxResults", "100".into())],
                            )
                            .await?;
                        page.values
                    }
                    Edition::DataCenter => {
                        let full: wire::Issue = self
                            .up
                            .get(
                                &self.api(&format!("issue/{key}")),
                                &[("fields", "status".into()), ("expand", "changelog".into())],
                            )
                            .await?;
                        full.changelog
                            .unwrap_or_default()
                            .histories
                            .into_iter()
                            .skip(at)
                            .collect()
                    }
                };
                if rest.is_empty() {
                    break;
                }
                log.histories.extend(rest);
            }
        }
        Ok(out)
    }

    pub(super) async fn history(&self, jqls: &[String], max_items: u32) -> ProviderResult<History> {
        let table = self.status_table().await?.clone();
        let points = self.story_points_field().await?;
        let points_name = self.story_points_name().await?;
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::new();
        for jql in jqls {
            let left = max_items.saturating_sub(items.len() as u32);
            for issue in self.history_search(jql, left).await? {
                if seen.insert(issue.key.clone()) {
                    items.push(item(
                        issue,
                        points.as_deref().map(|id| (id, points_name.as_deref())),
                        &table,
                    ));
                }
            }
        }
        Ok(History {
            items,
            source: HistorySource {
                history: format!("{} changelog", self.up.provider()),
                points_field: points,
                sprint_moves_known: true,
                estimate_changes_known: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(v: serde_json::Value) -> wire::Issue {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn changelogs_become_histories() {
        let table: HashMap<String, Status> = [
            ("10000", "To Do", StatusCategory::Todo),
            ("3", "In Progress", StatusCategory::InProgress),
            ("10001", "Done", StatusCategory::Done),
        ]
        .into_iter()
        .map(|(id, n, c)| {
            (
                id.to_string(),
                Status {
                    name: n.into(),
                    category: c,
                },
            )
        })
        .collect();
        let i = issue(json!({
            "id": "1", "key": "EX-1",
            "fields": {
                "summary": "Pay", "status": { "name": "Done", "statusCategory": { "key": "done" } },
                "issuetype": { "name": "Bug" }, "created": "2026-11-10T09:00:00.000+0000",
                "customfield_10016": 5.0, "timeoriginalestimate": 7200
            },
            "changelog": { "total": 4, "histories": [
                { "created": "2026-11-20T15:00:00.000+0000", "items": [
                    { "field": "status", "fieldId": "status", "from": "3", "fromString": "In Progress", "to": "10001", "toString": "Done" } ] },
                { "created": "2026-11-16T08:00:00.000+0000", "items": [
                    { "field": "Sprint", "fieldId": "customfield_10020", "from": "", "to": "7" } ] },
                { "created": "2026-11-17T10:00:00.000+0000", "items": [
                    { "field": "status", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress" },
                    { "field": "Story point estimate", "fieldId": "customfield_10016", "fromString": "1", "toString": "5" } ] },
                { "created": "2026-11-21T10:00:00.000+0000", "items": [
                    { "field": "Sprint", "from": "7", "to": "7, 8" },
                    { "field": "timeoriginalestimate", "from": "3600", "to": "7200" },
                    { "field": "status", "from": "99", "fromString": "Archived and closed", "to": "10001", "toString": "Done" } ] }
            ] }
        }));
        let h = item(
            i,
            Some(("customfield_10016", Some("Story point estimate"))),
            &table,
        );
        assert_eq!(h.id, "EX-1");
        assert_eq!(h.points, Some(5.0));
        assert_eq!(h.estimate_seconds, Some(7200));
        assert_eq!(h.status.category, StatusCategory::Done);
        // Sorted by time, categories from the site's table, unknown ids by name.
        let cats: Vec<(StatusCategory, StatusCategory)> = h
            .status_changes
            .iter()
            .map(|c| (c.from.clone().unwrap().category, c.to.category))
            .collect();
        assert_eq!(
            cats,
            vec![
                (StatusCategory::Todo, StatusCategory::InProgress),
                (StatusCategory::InProgress, StatusCategory::Done),
                (StatusCategory::Done, StatusCategory::Done),
            ]
        );
        assert_eq!(
            h.sprint_moves
                .iter()
                .map(|m| (m.sprint_id.as_str(), m.added))
                .collect::<Vec<_>>(),
            vec![("7", true), ("8", true)]
        );
        assert_eq!(h.points_changes[0].from, Some(1.0));
        assert_eq!(h.points_changes[0].to, Some(5.0));
        assert_eq!(h.estimate_changes[0].to, Some(7200.0));
    }

    #[test]
    fn sprint_removals_and_deleted_statuses() {
        let h = item(
            issue(json!({
                "id": "2", "key": "EX-2",
                "fields": { "summary": "x", "status": { "name": "Blocked", "statusCategory": { "key": "indeterminate" } } },
                "changelog": { "histories": [
                    { "created": "2026-11-18T10:00:00.000+0000", "items": [ { "field": "Sprint", "from": "7, 8", "to": "8" } ] }
                ] }
            })),
            None,
            &HashMap::new(),
        );
        assert!(h.blocked);
        assert_eq!(h.sprint_moves.len(), 1);
        assert_eq!(h.sprint_moves[0].sprint_id, "7");
        assert!(!h.sprint_moves[0].added);
        assert_eq!(
            status_of(Some("77"), Some("Closed"), &HashMap::new()).category,
            StatusCategory::Done
        );
    }
}
