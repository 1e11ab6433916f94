//! Jira's changelog as item history: one paged JQL search with `expand=changelog`, statuses
//! mapped to their category with the site's status list (read once), sprint moves from the
//! `Sprint` field's id lists, story points and original-estimate changes from their fields.
//!
//! A search embeds only part of a long changelog — on Cloud's `search/jql` the *newest* 40
//! entries, newest first, with `total` counting them all — so the whole changelog of those
//! issues only is read again from its start: on Cloud in one bulk request for many issues
//! (`POST /changelog/bulkfetch`, only the fields analytics read), on Data Center from the issue
//! itself; entries are merged by their history id, so none is lost or counted twice.
use std::collections::{BTreeSet, HashMap};

use pm_core::{
    EstimateChange, History, HistorySource, ItemHistory, ProviderError, ProviderResult, SprintMove,
    Status, StatusCategory, StatusChange,
};
use serde_json::json;

use super::{Edition, Jira, issue_key, map, wire};

/// How many items changed since a sprint's start are looked through for those taken out of it.
const REMOVAL_CANDIDATES: u32 = 5000;

/// The fields analytics needs (the fields that may hold story points are added: each project's
/// board says which one it estimates with, see `points_field_for`).
const HISTORY_FIELDS: [&str; 9] = [
    "project",
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

/// A changelog time: Jira's timestamp string, or epoch seconds / milliseconds (the bulk
/// changelog's spec example shows a number).
fn when(v: &serde_json::Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match v {
        serde_json::Value::String(s) => map::timestamp(s),
        serde_json::Value::Number(n) => {
            let n = n.as_i64()?;
            if n > 100_000_000_000 {
                chrono::DateTime::from_timestamp_millis(n)
            } else {
                chrono::DateTime::from_timestamp(n, 0)
            }
        }
        _ => None,
    }
}

/// Whether the bulk changelog is missing on this site (an older Cloud, a proxy that does not
/// pass it).
fn no_bulk(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::NotFound { .. } | ProviderError::Upstream { status: 405, .. }
    )
}

/// Adds `more` to `into`, skipping entries whose history id is already there.
fn merge(into: &mut Vec<wire::ChangeEntry>, more: Vec<wire::ChangeEntry>) {
    let mut seen: std::collections::HashSet<String> =
        into.iter().filter_map(|e| e.id.clone()).collect();
    for e in more {
        match &e.id {
            Some(id) if !seen.insert(id.clone()) => {}
            _ => into.push(e),
        }
    }
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
    entries.sort_by_key(|e| when(&e.created));
    for entry in entries {
        let Some(at) = when(&entry.created) else {
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
        self.story_points_field().await?;
        let fields: Vec<String> = HISTORY_FIELDS
            .iter()
            .map(|f| f.to_string())
            .chain(self.points_fields(None))
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
                    let recent = self.to_reconcile();
                    if !recent.is_empty() {
                        body["reconcileIssues"] = json!(recent);
                    }
                    let res: wire::JqlPage = self
                        .up
                        .post_read(&self.api("search/jql"), &body)
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
                        .post_read(&self.api("search"), &body)
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
        self.complete_changelogs(&mut out).await?;
        Ok(out)
    }

    /// Reads again, from its start, the changelog of every issue whose search embedded only
    /// part of it, and merges it in by history id.
    async fn complete_changelogs(&self, issues: &mut [wire::Issue]) -> ProviderResult<()> {
        let short: Vec<usize> = issues
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.changelog
                    .as_ref()
                    .is_some_and(|c| (c.histories.len() as u64) < c.total.unwrap_or(0))
            })
            .map(|(n, _)| n)
            .collect();
        if short.is_empty() {
            return Ok(());
        }
        match self.edition {
            Edition::Cloud => {
                let ids: Vec<String> = short.iter().map(|&n| issues[n].id.clone()).collect();
                let mut found: HashMap<String, Vec<wire::ChangeEntry>> = HashMap::new();
                for chunk in ids.chunks(1000) {
                    match self.bulk_changelogs(chunk).await {
                        Ok(logs) => {
                            for (id, mut entries) in logs {
                                found.entry(id).or_default().append(&mut entries);
                            }
                        }
                        // A site without the bulk endpoint: each issue's changelog, paged from 0.
                        Err(e) if no_bulk(&e) => {
                            for id in chunk {
                                let key = short
                                    .iter()
                                    .find(|&&n| issues[n].id == *id)
                                    .map_or(id.as_str(), |&n| issues[n].key.as_str());
                                found.insert(id.clone(), self.paged_changelog(key).await?);
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                for &n in &short {
                    let more = found.remove(&issues[n].id).unwrap_or_default();
                    if let Some(log) = issues[n].changelog.as_mut() {
                        merge(&mut log.histories, more);
                    }
                }
            }
            Edition::DataCenter => {
                for &n in &short {
                    let key = issue_key(&issues[n].key)?;
                    let full: wire::Issue = self
                        .up
                        .get(
                            &self.api(&format!("issue/{key}")),
                            &[("fields", "status".into()), ("expand", "changelog".into())],
                        )
                        .await?;
                    if let Some(log) = issues[n].changelog.as_mut() {
                        merge(
                            &mut log.histories,
                            full.changelog.unwrap_or_default().histories,
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Cloud's bulk changelog for up to 1000 issues, every page, by issue id; only the fields
    /// analytics read when the site's Sprint field is known (the filter takes at most 10).
    pub async fn bulk_changelogs(
        &self,
        ids: &[String],
    ) -> ProviderResult<Vec<(String, Vec<wire::ChangeEntry>)>> {
        let fields = self.sprint_field().await?.map(|sprint| {
            let mut fields = vec!["status".to_string(), sprint, "timeoriginalestimate".into()];
            // The filter takes at most 10 fields.
            fields.extend(self.points_fields(None).into_iter().take(7));
            fields
        });
        self.bulk_fetch(ids, fields).await
    }

    /// `POST /changelog/bulkfetch` for up to 1000 issues, every page, only `fields` when given.
    async fn bulk_fetch(
        &self,
        ids: &[String],
        fields: Option<Vec<String>>,
    ) -> ProviderResult<Vec<(String, Vec<wire::ChangeEntry>)>> {
        let mut body = json!({ "issueIdsOrKeys": ids, "maxResults": 1000 });
        if let Some(fields) = fields {
            body["fieldIds"] = json!(fields);
        }
        let mut out = Vec::new();
        let mut pages = 1;
        loop {
            let page: wire::BulkChangelogs = self
                .up
                .post_read(&self.api("changelog/bulkfetch"), &body)
                .await?;
            let got = page.issue_change_logs.len();
            for log in page.issue_change_logs {
                if let Some(id) = log.issue_id {
                    out.push((id, log.change_histories));
                }
            }
            // A token repeated (or an endless run of pages) ends the reading rather than loop.
            match page.next_page_token {
                Some(t) if got > 0 && body["nextPageToken"] != json!(t) && pages < 1000 => {
                    body["nextPageToken"] = json!(t);
                    pages += 1;
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// The ids and keys of the issues a query finds, at most `cap` (Cloud; no fields, so pages
    /// are cheap).
    async fn issue_refs(&self, jql: &str, cap: usize) -> ProviderResult<Vec<wire::IssueRef>> {
        let mut out: Vec<wire::IssueRef> = Vec::new();
        let mut body = json!({ "jql": jql, "maxResults": 1000, "fields": ["id"] });
        while out.len() < cap {
            let page: wire::IssueRefPage = self
                .up
                .post_read(&self.api("search/jql"), &body)
                .await
                .map_err(super::jql_refusal)?;
            let got = page.issues.len();
            out.extend(page.issues);
            match page.next_page_token {
                Some(t) if got > 0 && page.is_last != Some(true) => {
                    body["nextPageToken"] = json!(t)
                }
                _ => break,
            }
        }
        out.truncate(cap);
        Ok(out)
    }

    /// One issue's whole changelog from `/issue/{id}/changelog`, paged oldest first from 0.
    async fn paged_changelog(&self, id: &str) -> ProviderResult<Vec<wire::ChangeEntry>> {
        let id = issue_key(id)?;
        let mut out: Vec<wire::ChangeEntry> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // At most 1000 pages of 100: a server that ignores `startAt` and never says the last
        // page (a proxy, a broken plugin) ends the read instead of looping.
        for _ in 0..1000 {
            let page: wire::ChangelogPage = self
                .up
                .get(
                    &self.api(&format!("issue/{id}/changelog")),
                    &[
                        ("startAt", out.len().to_string()),
                        ("maxResults", "100".into()),
                    ],
                )
                .await?;
            let got = page.values.len();
            let mut fresh = 0;
            for e in page.values {
                // An entry seen already (a page sent again) is not counted twice.
                if e.id.as_ref().is_none_or(|h| seen.insert(h.clone())) {
                    out.push(e);
                    fresh += 1;
                }
            }
            if got == 0
                || fresh == 0
                || page.is_last != Some(false)
                || page.total.is_some_and(|t| out.len() as u64 >= t)
            {
                break;
            }
        }
        Ok(out)
    }

    /// Adds the items taken out of sprint `id` after it started: `sprint = X` finds only the
    /// sprint's items now, and JQL has no documented way to ask for past members (`WAS` is
    /// documented for assignee, fix version, priority, reporter, resolution and status only). So
    /// the sprint's projects' items changed since its start that are not in it now are read with
    /// their changelogs, and those whose changelog shows them leaving the sprint are kept.
    pub(super) async fn add_removed_items(
        &self,
        history: &mut History,
        id: u64,
        max_items: u32,
    ) -> ProviderResult<()> {
        let left = max_items.saturating_sub(history.items.len() as u32);
        let mut projects: Vec<String> = history
            .items
            .iter()
            .filter_map(|i| i.id.rsplit_once('-').map(|(p, _)| p.to_string()))
            .collect();
        projects.sort();
        projects.dedup();
        if left == 0 || projects.is_empty() {
            return Ok(());
        }
        let sprint: wire::Sprint = self
            .up
            .get(&format!("rest/agile/1.0/sprint/{id}"), &[])
            .await?;
        // A sprint not started yet has had nothing taken out of it mid-sprint.
        let Some(start) = sprint.start_date.as_deref().and_then(map::timestamp) else {
            return Ok(());
        };
        let keys: Vec<&str> = projects.iter().map(String::as_str).collect();
        let jql = super::jql::Jql::new()
            .one_of("project", &keys)
            // A day early: JQL dates are in the account's time zone.
            .eq_op(
                "updated",
                ">=",
                &(start - chrono::Duration::days(1))
                    .format("%Y-%m-%d")
                    .to_string(),
            )
            .empty_or_not("sprint", &id.to_string())
            // The most recently changed first: past the cap, the oldest changes are the ones left.
            .build("updated DESC");
        let wanted = id.to_string();
        let cheap = match (self.edition, self.sprint_field().await?) {
            (Edition::Cloud, Some(sprint_field)) => {
                match self.removed_from(&jql, &sprint_field, &wanted, left).await {
                    Ok(found) => Some(found),
                    Err(e) if no_bulk(&e) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };
        let found = match cheap {
            Some(found) => found,
            None => {
                self.history_search(&jql, left.min(REMOVAL_CANDIDATES))
                    .await?
            }
        };
        let table = self.status_table().await?.clone();
        for issue in found {
            if history.items.iter().any(|i| i.id == issue.key) {
                continue;
            }
            let points = self.points_pair_of(&issue).await?;
            let h = item(
                issue,
                points
                    .as_ref()
                    .map(|(id, name)| (id.as_str(), name.as_deref())),
                &table,
            );
            if h.sprint_moves
                .iter()
                .any(|m| m.sprint_id == wanted && !m.added)
            {
                history.items.push(h);
            }
        }
        Ok(())
    }

    /// Cloud: the ids of the items `jql` finds, then only their Sprint field's changes in bulk,
    /// then the whole history of just those that left sprint `wanted`.
    async fn removed_from(
        &self,
        jql: &str,
        sprint_field: &str,
        wanted: &str,
        left: u32,
    ) -> ProviderResult<Vec<wire::Issue>> {
        let candidates = self.issue_refs(jql, REMOVAL_CANDIDATES as usize).await?;
        let mut gone: Vec<String> = Vec::new();
        for chunk in candidates.chunks(1000) {
            let batch: Vec<String> = chunk.iter().map(|c| c.id.clone()).collect();
            for (issue_id, entries) in self
                .bulk_fetch(&batch, Some(vec![sprint_field.to_string()]))
                .await?
            {
                let left_it = entries.iter().flat_map(|e| &e.items).any(|i| {
                    ids(i.from.as_deref()).contains(wanted)
                        && !ids(i.to.as_deref()).contains(wanted)
                });
                if let Some(c) = chunk.iter().find(|c| c.id == issue_id)
                    && left_it
                    && !gone.contains(&c.key)
                {
                    gone.push(c.key.clone());
                }
            }
        }
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = gone.iter().map(String::as_str).collect();
        let jql = super::jql::Jql::new()
            .one_of("key", &keys)
            .build("created ASC");
        self.history_search(&jql, left).await
    }

    /// The story points field (id, and name as Data Center's changelogs give it) of the project
    /// `issue` is in: its board's estimation field, else the site's.
    async fn points_pair_of(
        &self,
        issue: &wire::Issue,
    ) -> ProviderResult<Option<(String, Option<String>)>> {
        let site = self.story_points_field().await?;
        let project = issue.fields.project.as_ref().and_then(|p| p.key.as_deref());
        let id = match project {
            Some(p) => match self.points_field_for(p).await {
                Ok(id) => id,
                Err(e @ ProviderError::Auth { .. }) => return Err(e),
                // A project whose board cannot be read: the site's field.
                Err(_) => site,
            },
            None => site,
        };
        Ok(id.map(|id| {
            let name = self.fields.get().and_then(|f| f.names.get(&id).cloned());
            (id, name)
        }))
    }

    pub(super) async fn history(&self, jqls: &[String], max_items: u32) -> ProviderResult<History> {
        let table = self.status_table().await?.clone();
        let mut used: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::new();
        for jql in jqls {
            let left = max_items.saturating_sub(items.len() as u32);
            for issue in self.history_search(jql, left).await? {
                if seen.insert(issue.key.clone()) {
                    let points = self.points_pair_of(&issue).await?;
                    if let Some((id, _)) = &points
                        && !used.contains(id)
                    {
                        used.push(id.clone());
                    }
                    items.push(item(
                        issue,
                        points
                            .as_ref()
                            .map(|(id, name)| (id.as_str(), name.as_deref())),
                        &table,
                    ));
                }
            }
        }
        let points = if used.is_empty() {
            self.story_points_field().await?
        } else {
            Some(used.join(", "))
        };
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
