//! OpenProject's activities as item history. A work package list cannot embed activities, so a
//! sprint's history is one paged search for the version's work packages (every status) and then
//! each one's activities, read concurrently within the connection's request limit.
//!
//! Activities record changes as sentences in the reading account's language ("Status changed
//! from New to In progress", "Status geändert von Neu zu In Bearbeitung"), one journal often
//! holding several changes (a user's changes within minutes are aggregated). No verb is read:
//! a detail is recognised by its label, the schema's name for the property in the account's
//! language ("Status", "Version", "Story-Punkte"); its values by the detail's `html` (values in
//! `<i>`, a removed one struck), else by the names the site has (its statuses, the version) and
//! the numbers in the text, ordered by where they stand, and a lone value told apart as set or
//! removed by the work package's later state.
use std::collections::HashMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use pm_core::{
    EstimateChange, History, HistorySource, ItemHistory, ProviderResult, SprintMove, Status,
    StatusChange,
};
use serde_json::Value;

use super::filters::{Filters, sort_by};
use super::{OpenProject, map, wire};

const CONCURRENCY: usize = 8;

/// The names a detail's label may have for the properties history reads: the schemas' (in the
/// account's language) and OpenProject's English ones.
#[derive(Debug, Clone)]
pub struct Labels {
    status: Vec<String>,
    version: Vec<String>,
    points: Vec<String>,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            status: vec!["Status".into()],
            version: vec!["Version".into()],
            points: vec!["Story Points".into()],
        }
    }
}

impl Labels {
    /// Adds the names a schema gives status, version, story points and the custom fields
    /// `points_keys` (those holding story points).
    pub fn learn(&mut self, properties: &HashMap<String, Value>, points_keys: &[String]) {
        let name = |key: &str| {
            properties
                .get(key)
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        let add = |list: &mut Vec<String>, n: Option<String>| {
            if let Some(n) = n
                && !list.iter().any(|x| x.eq_ignore_ascii_case(&n))
            {
                list.push(n);
            }
        };
        add(&mut self.status, name("status"));
        add(&mut self.version, name("version"));
        add(&mut self.points, name("storyPoints"));
        for k in points_keys {
            add(&mut self.points, name(k));
        }
    }

    /// Which property a label names.
    fn attr(&self, label: &str) -> Option<Attr> {
        let label = label.trim();
        let is = |list: &[String]| list.iter().any(|l| l.eq_ignore_ascii_case(label));
        if is(&self.status) {
            Some(Attr::Status)
        } else if is(&self.version) {
            Some(Attr::Version)
        } else if is(&self.points) {
            Some(Attr::Points)
        } else {
            None
        }
    }

    /// The property a plain-text detail starts with, and the text after its label (the longest
    /// label that fits, followed by a space).
    fn split<'a>(&self, raw: &'a str) -> Option<(Attr, &'a str)> {
        let raw = raw.trim();
        let mut best: Option<(usize, Attr)> = None;
        for (list, attr) in [
            (&self.status, Attr::Status),
            (&self.version, Attr::Version),
            (&self.points, Attr::Points),
        ] {
            for l in list {
                let n = l.len();
                let fits = raw.len() > n
                    && raw.is_char_boundary(n)
                    && raw[..n].eq_ignore_ascii_case(l)
                    && raw[n..].starts_with(char::is_whitespace);
                if fits && best.is_none_or(|(m, _)| n > m) {
                    best = Some((n, attr));
                }
            }
        }
        best.map(|(n, attr)| (attr, &raw[n..]))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Attr {
    Status,
    Version,
    Points,
}

/// A detail's values as far as its text tells them.
#[derive(Debug, Clone, PartialEq)]
enum Vals {
    Changed(String, String),
    Set(String),
    Removed(String),
    /// One value, set or removed: the later state decides.
    One(String),
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// A detail's `html` as OpenProject's journal formatter writes it: the label in `<strong>`, each
/// value in `<i>`, a removed value inside `<strike>`. `None` when it has no label or no value.
fn from_html(html: &str) -> Option<(String, Vals)> {
    let open = html.find("<strong>")? + "<strong>".len();
    let close = open + html[open..].find("</strong>")?;
    let label = unescape(&html[open..close]);
    let rest = &html[close..];
    let mut values = Vec::new();
    let mut at = 0;
    while let Some(i) = rest[at..].find("<i") {
        let tag = at + i;
        let after = &rest[tag + 2..];
        // `<i>` or `<i title="…">`, not `<img>` or `<ins>`.
        if !(after.starts_with('>') || after.starts_with(' ')) {
            at = tag + 2;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = tag + 2 + gt + 1;
        let Some(end) = rest[body..].find("</i>") else {
            break;
        };
        values.push(unescape(&rest[body..body + end]));
        at = body + end + "</i>".len();
    }
    let struck = rest.contains("<strike>") || rest.contains("<del>");
    let vals = match values.as_slice() {
        [a, b, ..] => Vals::Changed(a.clone(), b.clone()),
        [a] if struck => Vals::Removed(a.clone()),
        [a] => Vals::Set(a.clone()),
        [] => return None,
    };
    Some((label, vals))
}

/// Where each of `names` stands in `text` as a whole word or phrase, longest names first, none
/// overlapping; the names in the order they stand.
fn names_in(text: &str, names: &[&str]) -> Vec<String> {
    let mut names: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.dedup();
    let lower = text.to_lowercase();
    let mut taken: Vec<(usize, usize, String)> = Vec::new();
    for n in names {
        let needle = n.to_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find(&needle) {
            let (s, e) = (from + i, from + i + needle.len());
            let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            let whole = edge(lower[..s].chars().next_back()) && edge(lower[e..].chars().next());
            if whole && !taken.iter().any(|(a, b, _)| s < *b && *a < e) {
                taken.push((s, e, n.to_string()));
            }
            from = e;
        }
    }
    taken.sort_by_key(|t| t.0);
    taken.into_iter().map(|t| t.2).collect()
}

/// The numbers in a text (`3`, `5.5`, `2,5`), in order.
fn numbers_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map(|t| t.trim_matches(|c| c == '.' || c == ',').replace(',', "."))
        .filter(|t| !t.is_empty() && t.parse::<f64>().is_ok())
        .collect()
}

fn vals(found: Vec<String>) -> Option<Vals> {
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(a), Some(b)) => Some(Vals::Changed(a, b)),
        (Some(a), None) => Some(Vals::One(a)),
        _ => None,
    }
}

/// What a detail says about status, version or story points. `statuses` and `versions` are the
/// names the site has for them.
fn detail(
    d: &wire::Formattable,
    labels: &Labels,
    statuses: &[&str],
    versions: &[&str],
) -> Option<(Attr, Vals)> {
    if let Some((label, v)) = d.html.as_deref().and_then(from_html)
        && let Some(attr) = labels.attr(&label)
    {
        return Some((attr, v));
    }
    let (attr, rest) = labels.split(d.raw.as_deref()?)?;
    let found = match attr {
        Attr::Status => names_in(rest, statuses),
        Attr::Version => names_in(rest, versions),
        Attr::Points => numbers_in(rest),
    };
    Some((attr, vals(found)?))
}

fn same(attr: Attr, a: &str, b: &str) -> bool {
    match attr {
        Attr::Points => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        },
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// A change with both values known: when, what, from, to.
type Resolved = (
    chrono::DateTime<chrono::Utc>,
    Attr,
    Option<String>,
    Option<String>,
);

/// A work package and its activities as an item history (pure). `statuses`: name → closed;
/// `version`: the id and name of the version whose moves are wanted; `labels`: the names of the
/// properties read.
pub fn item(
    w: wire::WorkPackage,
    activities: Vec<wire::Activity>,
    statuses: &HashMap<String, bool>,
    version: Option<(&str, &str)>,
    points_field: Option<&str>,
    labels: &Labels,
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
    let current_version = w.links.version.title.clone();
    // The category comes from the status names below; the mapped task supplies the rest.
    let task = map::task(w, "", &|_| false, points_field);
    let status_names: Vec<&str> = statuses.keys().map(String::as_str).collect();
    let mut version_names: Vec<&str> = version.map(|(_, n)| n).into_iter().collect();
    version_names.extend(current_version.as_deref());
    // Every change read, oldest first.
    let mut activities = activities;
    activities.sort_by_key(|a| map::time(a.created_at.as_deref()));
    let mut changes: Vec<(chrono::DateTime<chrono::Utc>, Attr, Vals)> = Vec::new();
    for a in &activities {
        let Some(at) = map::time(a.created_at.as_deref()) else {
            continue;
        };
        for d in &a.details {
            if let Some((attr, v)) = detail(d, labels, &status_names, &version_names) {
                changes.push((at, attr, v));
            }
        }
    }
    // From the latest change back, each property's value after the change is known: a lone
    // value equal to it was set, another one was removed.
    let mut state: HashMap<Attr, Option<String>> = HashMap::from([
        (Attr::Status, Some(current.clone())),
        (Attr::Version, current_version.clone()),
        (Attr::Points, task.story_points.map(|p| p.to_string())),
    ]);
    let mut resolved: Vec<Resolved> = Vec::new();
    for (at, attr, v) in changes.into_iter().rev() {
        let after = state.get(&attr).cloned().flatten();
        let (from, to) = match v {
            Vals::Changed(a, b) => (Some(a), Some(b)),
            Vals::Set(b) => (None, Some(b)),
            Vals::Removed(a) => (Some(a), None),
            // A status is never removed.
            Vals::One(x) if attr == Attr::Status => (None, Some(x)),
            Vals::One(x) if after.as_deref().is_some_and(|s| same(attr, s, &x)) => (None, Some(x)),
            Vals::One(x) => (Some(x), None),
        };
        state.insert(attr, from.clone());
        resolved.push((at, attr, from, to));
    }
    resolved.reverse();
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
    let number = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<f64>().ok());
    for (at, attr, from, to) in resolved {
        match attr {
            Attr::Status => {
                if let Some(to) = to {
                    item.status_changes.push(StatusChange {
                        at,
                        from: from.as_deref().map(status_named),
                        to: status_named(&to),
                    });
                }
            }
            Attr::Version => {
                if let Some((id, name)) = version {
                    let is = |v: &Option<String>| v.as_deref().is_some_and(|v| same(attr, v, name));
                    if is(&from) != is(&to) {
                        item.sprint_moves.push(SprintMove {
                            at,
                            sprint_id: id.to_string(),
                            added: is(&to),
                        });
                    }
                }
            }
            Attr::Points => item.points_changes.push(EstimateChange {
                at,
                from: number(&from),
                to: number(&to),
            }),
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
        let labels = self.labels(&wps).await?;
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
                let h = item(w, acts, &statuses, version, field.as_deref(), &labels);
                read_any |= !h.status_changes.is_empty() || !h.sprint_moves.is_empty();
                h
            })
            .collect();
        Ok(History {
            source: HistorySource {
                history: if read_any || items.is_empty() {
                    "OpenProject activities".into()
                } else {
                    "OpenProject activities (no status or version changes found in them)".into()
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

    fn d(raw: &str, html: Option<&str>) -> wire::Formattable {
        wire::Formattable {
            raw: Some(raw.into()),
            html: html.map(str::to_string),
        }
    }

    #[test]
    fn details_are_read_by_label_and_known_names_in_any_language() {
        let labels = Labels::default();
        let st = ["New", "In progress", "Neu", "In Bearbeitung", "Progress"];
        let vs = ["Sprint 2"];
        let read = |raw: &str, html: Option<&str>| detail(&d(raw, html), &labels, &st, &vs);
        // English and German, by the names in the text.
        assert_eq!(
            read("Status changed from New to In progress", None),
            Some((
                Attr::Status,
                Vals::Changed("New".into(), "In progress".into())
            ))
        );
        assert_eq!(
            read("Status geändert von Neu zu In Bearbeitung", None),
            Some((
                Attr::Status,
                Vals::Changed("Neu".into(), "In Bearbeitung".into())
            ))
        );
        // A long value puts a line break before the second.
        assert_eq!(
            read("Status geändert von Neu \nzu In Bearbeitung", None),
            Some((
                Attr::Status,
                Vals::Changed("Neu".into(), "In Bearbeitung".into())
            ))
        );
        assert_eq!(
            read("Version wurde auf Sprint 2 gesetzt", None),
            Some((Attr::Version, Vals::One("Sprint 2".into())))
        );
        assert_eq!(
            read("Story Points 3 wurde gelöscht", None),
            Some((Attr::Points, Vals::One("3".into())))
        );
        // The html tells set from removed, whatever the words.
        assert_eq!(
            read(
                "Version Sprint 2 wurde gelöscht",
                Some("<strong>Version</strong> <strike><i>Sprint 2</i></strike> wurde gelöscht")
            ),
            Some((Attr::Version, Vals::Removed("Sprint 2".into())))
        );
        assert_eq!(
            read(
                "x",
                Some(
                    "<strong>Status</strong> changed from <i title=\"New\">New</i> <br/>to <i>Q&amp;A</i>"
                )
            ),
            Some((Attr::Status, Vals::Changed("New".into(), "Q&A".into())))
        );
        // Not a property history reads, or a label that only begins like one.
        assert_eq!(read("Statusbar changed from a to b", None), None);
        assert_eq!(read("Beschreibung geändert (https://x/diff)", None), None);
    }

    #[test]
    fn labels_come_from_the_schema() {
        let mut labels = Labels::default();
        let props: HashMap<String, Value> = serde_json::from_value(json!({
            "status": { "name": "Statut" },
            "version": { "name": "Version cible" },
            "storyPoints": { "name": "Story-Punkte" },
            "customField7": { "name": "Punkte" }
        }))
        .unwrap();
        labels.learn(&props, &["customField7".to_string()]);
        assert_eq!(labels.attr("statut"), Some(Attr::Status));
        assert_eq!(labels.attr("Version cible"), Some(Attr::Version));
        assert_eq!(labels.attr("Story-Punkte"), Some(Attr::Points));
        assert_eq!(labels.attr("Punkte"), Some(Attr::Points));
        // The longest label that fits wins.
        assert_eq!(
            labels.split("Version cible changé de A à B").map(|x| x.0),
            Some(Attr::Version)
        );
        assert_eq!(
            names_in("de Nouveau à En cours", &["Nouveau", "En cours", "cours"]),
            vec!["Nouveau", "En cours"]
        );
        assert_eq!(numbers_in("geändert von 2,5 zu 13"), vec!["2.5", "13"]);
    }

    #[test]
    fn activities_become_histories() {
        let w: wire::WorkPackage = serde_json::from_value(json!({
            "id": 9, "subject": "Pay", "storyPoints": 5, "createdAt": "2026-11-10T09:00:00Z",
            "_links": { "status": { "href": "/api/v3/statuses/12", "title": "Geschlossen" },
                        "version": { "href": "/api/v3/versions/3", "title": "Sprint 3" },
                        "type": { "href": "/api/v3/types/7", "title": "Bug" } }
        }))
        .unwrap();
        let acts: Vec<wire::Activity> = serde_json::from_value(json!([
            { "id": 4, "createdAt": "2026-11-21T15:00:00Z", "details": [ { "raw": "Version geändert von Sprint 2 zu Sprint 3" } ] },
            { "id": 3, "createdAt": "2026-11-20T15:00:00Z", "details": [ { "raw": "Status geändert von In Bearbeitung zu Geschlossen" } ] },
            { "id": 1, "createdAt": "2026-11-16T08:00:00Z", "details": [ { "raw": "Version wurde auf Sprint 2 gesetzt" }, { "raw": "Story-Punkte wurde auf 3 gesetzt" } ] },
            { "id": 2, "createdAt": "2026-11-17T10:00:00Z", "details": [
                { "raw": "Status geändert von Neu zu In Bearbeitung" }, { "raw": "Story-Punkte geändert von 3 zu 5" } ] }
        ]))
        .unwrap();
        let statuses: HashMap<String, bool> = [
            ("Neu".to_string(), false),
            ("In Bearbeitung".to_string(), false),
            ("Geschlossen".to_string(), true),
        ]
        .into_iter()
        .collect();
        let mut labels = Labels::default();
        let props: HashMap<String, Value> =
            serde_json::from_value(json!({ "storyPoints": { "name": "Story-Punkte" } })).unwrap();
        labels.learn(&props, &[]);
        let h = item(w, acts, &statuses, Some(("2", "Sprint 2")), None, &labels);
        assert_eq!(h.status.category, StatusCategory::Done);
        assert_eq!(h.points, Some(5.0));
        assert_eq!(h.status_changes.len(), 2);
        assert_eq!(h.status_changes[0].from.as_ref().unwrap().name, "Neu");
        assert_eq!(h.status_changes[1].to.category, StatusCategory::Done);
        let moves: Vec<bool> = h.sprint_moves.iter().map(|m| m.added).collect();
        assert_eq!(moves, vec![true, false]);
        let points: Vec<(Option<f64>, Option<f64>)> =
            h.points_changes.iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(points, vec![(None, Some(3.0)), (Some(3.0), Some(5.0))]);
    }
}
