//! Project health: progress, open bugs, overdue and stale work, WIP, blocked items, the
//! velocity trend, and risk flags that say why.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::timeline::Timeline;
use super::velocity::{Trend, Velocity};
use super::{DONE_RULE, round2};
use crate::domain::StatusCategory;
use crate::history::History;

/// An in-progress item with no status change for this many days is stale.
pub const STALE_DAYS: i64 = 14;
/// More in-progress items than this for one person is flagged.
pub const WIP_PER_PERSON_LIMIT: usize = 3;
/// Overdue items above this share of open items make the overdue flag high.
pub const OVERDUE_HIGH_SHARE: f64 = 0.2;
/// Open bugs above this share of open items are flagged.
pub const BUG_SHARE_LIMIT: f64 = 0.25;

#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthRating {
    /// No flag above low.
    Healthy,
    /// At least one medium flag.
    AtRisk,
    /// At least one high flag.
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RiskFlag {
    /// A stable code: overdue_items, stale_in_progress, blocked_items, bug_heavy,
    /// wip_overload, unassigned_in_progress, velocity_falling.
    pub code: String,
    pub severity: Severity,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WipCount {
    pub assignee: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HealthItem {
    pub id: String,
    pub title: String,
    pub assignee: Option<String>,
    pub status: String,
    pub due_date: Option<NaiveDate>,
    /// Days overdue (overdue list) or days since the last status change (stale list).
    pub days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProjectHealth {
    pub as_of: DateTime<Utc>,
    pub total_items: usize,
    pub done_items: usize,
    pub open_items: usize,
    /// `done_items / total_items`.
    pub progress: Option<f64>,
    /// Story points of all items with points, and of done ones.
    pub points_total: f64,
    pub points_done: f64,
    pub points_progress: Option<f64>,
    pub open_bugs: Vec<HealthItem>,
    pub overdue: Vec<HealthItem>,
    /// In progress now.
    pub wip: Vec<HealthItem>,
    /// In progress with no status change for [`STALE_DAYS`] days.
    pub stale_in_progress: Vec<HealthItem>,
    /// Not done and flagged or blocked now.
    pub blocked: Vec<HealthItem>,
    /// Items in progress per assignee ("Unassigned" for none), most first.
    pub wip_by_assignee: Vec<WipCount>,
    pub velocity_mean: Option<f64>,
    pub velocity_trend: Option<Trend>,
    pub velocity_slope: Option<f64>,
    pub risk_flags: Vec<RiskFlag>,
    pub rating: HealthRating,
    pub assumptions: Vec<String>,
}

fn health_item(tl: &Timeline<'_>, days: Option<i64>) -> HealthItem {
    HealthItem {
        id: tl.id().to_string(),
        title: tl.item.title.clone(),
        assignee: tl.item.assignee.as_ref().map(|u| u.name.clone()),
        status: tl.item.status.name.clone(),
        due_date: tl.item.due_date,
        days,
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub fn project_health(
    history: &History,
    velocity: Option<&Velocity>,
    now: DateTime<Utc>,
) -> ProjectHealth {
    let items: Vec<Timeline<'_>> = history
        .items
        .iter()
        .map(Timeline::new)
        .filter(|t| t.exists_at(now))
        .collect();
    let today = now.date_naive();
    let mut h = ProjectHealth {
        as_of: now,
        total_items: items.len(),
        done_items: 0,
        open_items: 0,
        progress: None,
        points_total: 0.0,
        points_done: 0.0,
        points_progress: None,
        open_bugs: Vec::new(),
        overdue: Vec::new(),
        wip: Vec::new(),
        stale_in_progress: Vec::new(),
        blocked: Vec::new(),
        wip_by_assignee: Vec::new(),
        velocity_mean: velocity.and_then(|v| v.mean_completed),
        velocity_trend: velocity.map(|v| v.trend),
        velocity_slope: velocity.and_then(|v| v.trend_slope),
        risk_flags: Vec::new(),
        rating: HealthRating::Healthy,
        assumptions: Vec::new(),
    };
    let mut wip_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_since = 0usize;
    for tl in &items {
        let cat = tl.item.status.category;
        let done = cat == StatusCategory::Done;
        if let Some(p) = tl.item.points.filter(|p| p.is_finite()) {
            h.points_total += p;
            if done {
                h.points_done += p;
            }
        }
        if done {
            h.done_items += 1;
            continue;
        }
        h.open_items += 1;
        let is_bug = tl
            .item
            .task_type
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains("bug"));
        if is_bug {
            h.open_bugs.push(health_item(tl, None));
        }
        if let Some(due) = tl.item.due_date.filter(|d| *d < today) {
            h.overdue
                .push(health_item(tl, Some((today - due).num_days())));
        }
        if tl.item.blocked {
            h.blocked.push(health_item(tl, None));
        }
        if cat == StatusCategory::InProgress {
            h.wip.push(health_item(tl, None));
            let who = tl
                .item
                .assignee
                .as_ref()
                .map_or_else(|| "Unassigned".to_string(), |u| u.name.clone());
            *wip_by.entry(who).or_default() += 1;
            match tl.last_status_change() {
                Some(since) if now - since >= Duration::days(STALE_DAYS) => {
                    h.stale_in_progress
                        .push(health_item(tl, Some((now - since).num_days())));
                }
                Some(_) => {}
                None => unknown_since += 1,
            }
        }
    }
    h.overdue
        .sort_by(|a, b| b.days.cmp(&a.days).then_with(|| a.id.cmp(&b.id)));
    h.stale_in_progress
        .sort_by(|a, b| b.days.cmp(&a.days).then_with(|| a.id.cmp(&b.id)));
    let mut wip_rows: Vec<WipCount> = wip_by
        .into_iter()
        .map(|(assignee, count)| WipCount { assignee, count })
        .collect();
    wip_rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.assignee.cmp(&b.assignee))
    });
    h.wip_by_assignee = wip_rows;
    h.progress = (h.total_items > 0).then(|| round2(share(h.done_items, h.total_items)));
    h.points_progress = (h.points_total > 0.0).then(|| round2(h.points_done / h.points_total));
    h.points_total = round2(h.points_total);
    h.points_done = round2(h.points_done);

    // Risk flags, each with its reason.
    let open = h.open_items;
    let mut flags = Vec::new();
    if !h.overdue.is_empty() {
        let s = share(h.overdue.len(), open);
        flags.push(RiskFlag {
            code: "overdue_items".into(),
            severity: if s > OVERDUE_HIGH_SHARE { Severity::High } else { Severity::Medium },
            reason: format!(
                "{} of {open} open items are past their due date ({:.0}%); the most overdue is {} days late.",
                h.overdue.len(),
                s * 100.0,
                h.overdue.first().and_then(|i| i.days).unwrap_or(0)
            ),
        });
    }
    if !h.stale_in_progress.is_empty() {
        flags.push(RiskFlag {
            code: "stale_in_progress".into(),
            severity: Severity::Medium,
            reason: format!(
                "{} in-progress item{} had no status change for {STALE_DAYS} days or more.",
                h.stale_in_progress.len(),
                if h.stale_in_progress.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        });
    }
    if !h.blocked.is_empty() {
        flags.push(RiskFlag {
            code: "blocked_items".into(),
            severity: Severity::Medium,
            reason: format!(
                "{} open item{} flagged or blocked.",
                h.blocked.len(),
                if h.blocked.len() == 1 { " is" } else { "s are" }
            ),
        });
    }
    if open > 0 && share(h.open_bugs.len(), open) > BUG_SHARE_LIMIT {
        flags.push(RiskFlag {
            code: "bug_heavy".into(),
            severity: Severity::Medium,
            reason: format!(
                "{} of {open} open items are bugs ({:.0}%, above {:.0}%).",
                h.open_bugs.len(),
                share(h.open_bugs.len(), open) * 100.0,
                BUG_SHARE_LIMIT * 100.0
            ),
        });
    }
    let overloaded: Vec<String> = h
        .wip_by_assignee
        .iter()
        .filter(|w| w.assignee != "Unassigned" && w.count > WIP_PER_PERSON_LIMIT)
        .map(|w| format!("{} ({})", w.assignee, w.count))
        .collect();
    if !overloaded.is_empty() {
        flags.push(RiskFlag {
            code: "wip_overload".into(),
            severity: Severity::Medium,
            reason: format!(
                "More than {WIP_PER_PERSON_LIMIT} items in progress at once: {}.",
                overloaded.join(", ")
            ),
        });
    }
    if let Some(n) = h
        .wip_by_assignee
        .iter()
        .find(|w| w.assignee == "Unassigned")
        .map(|w| &w.count)
    {
        flags.push(RiskFlag {
            code: "unassigned_in_progress".into(),
            severity: Severity::Low,
            reason: format!(
                "{n} in-progress item{} no assignee.",
                if *n == 1 { " has" } else { "s have" }
            ),
        });
    }
    if h.velocity_trend == Some(Trend::Falling) {
        flags.push(RiskFlag {
            code: "velocity_falling".into(),
            severity: Severity::Medium,
            reason: format!(
                "Velocity is falling by {} per sprint (mean {}).",
                h.velocity_slope.map_or(0.0, f64::abs),
                h.velocity_mean.unwrap_or(0.0)
            ),
        });
    }
    h.rating = match flags.iter().map(|f| f.severity).max() {
        Some(Severity::High) => HealthRating::Critical,
        Some(Severity::Medium) => HealthRating::AtRisk,
        _ => HealthRating::Healthy,
    };
    h.risk_flags = flags;

    let mut a = vec![
        DONE_RULE.to_string(),
        "Progress counts items by their status now; points progress sums current story points of items that have them.".to_string(),
        "Open bugs are open items whose type contains \"bug\" (any case).".to_string(),
        format!("Overdue means not done with a due date before today ({today}, UTC)."),
        format!(
            "Work in progress is items whose status category is in progress now; stale means no status change for {STALE_DAYS} days or more."
        ),
        format!(
            "Flags: overdue is high above {:.0}% of open items; bugs are flagged above {:.0}% of open items; more than {WIP_PER_PERSON_LIMIT} items in progress for one person is flagged.",
            OVERDUE_HIGH_SHARE * 100.0,
            BUG_SHARE_LIMIT * 100.0
        ),
    ];
    if velocity.is_none() {
        a.push("No velocity was given, so no velocity trend is judged.".to_string());
    }
    if unknown_since > 0 {
        a.push(format!(
            "{unknown_since} in-progress item{} had no dates, so staleness could not be judged for them.",
            if unknown_since == 1 { "" } else { "s" }
        ));
    }
    let future = history.items.len() - items.len();
    if future > 0 {
        a.push(format!(
            "{future} item{} created after the as-of time were left out.",
            if future == 1 { "" } else { "s" }
        ));
    }
    if items.is_empty() {
        a.push("There are no items.".to_string());
    }
    h.assumptions = a;
    h
}
