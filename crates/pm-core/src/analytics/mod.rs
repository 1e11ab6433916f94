//! Agile analytics computed from history, never from a snapshot of current statuses.
//!
//! Every function here is pure: it reads a [`History`](crate::history::History) (and a sprint, a
//! window, a clock reading passed in as `now`) and returns a plain result that says, in
//! `assumptions`, what it rested on — which field gave story points, what counted as done (the
//! status *category* `done`, never a status name), how many items had no estimate and how they
//! were counted, which dates were missing and what stood in for them.
//!
//! Conventions shared by all computations:
//! - Days are UTC calendar days; "at the end of a day" means the last instant before the next
//!   UTC midnight.
//! - Change lists are sorted defensively by time (providers should sort them; a mis-sorted
//!   input must not change a result).
//! - An item was, before its first recorded status change, in that change's `from` status
//!   (todo when the tracker gave none); with no change at all it has been in its current status
//!   since it was created. Items without a creation date are taken to have always existed.
//! - An estimate before its first recorded change was that change's `from` value; without
//!   recorded changes the current estimate is used throughout.
//! - An item with no recorded move into or out of a sprint has been in it since it was created
//!   (so since the sprint's start when it existed by then).
//! - Values are rounded to two decimals.
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod burndown;
mod capacity;
mod distribution;
mod flow;
mod health;
mod sprint_report;
mod timeline;
mod velocity;

#[cfg(test)]
mod tests;

pub use burndown::{Burndown, BurndownDay, ScopeChange, ScopeChangeKind, burndown};
pub use capacity::{
    Capacity, CapacityConfig, CapacityPerson, CapacityWeek, OverAllocation, PersonWeek, capacity,
};
pub use distribution::{Distribution, DistributionGroup, work_distribution};
pub use flow::{
    Cfd, CfdDay, CycleItem, CycleTime, DoneWithoutProgress, IssueTrend, TrendDay, cfd, cycle_time,
    issue_trend,
};
pub use health::{
    HealthItem, HealthRating, ProjectHealth, RiskFlag, Severity, WipCount, project_health,
};
pub use sprint_report::{BreakdownRow, ReportItem, SprintReport, sprint_report};
pub use velocity::{Trend, Velocity, VelocitySprint, velocity};

/// What a scope is measured in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    StoryPoints,
    TaskCount,
    Hours,
}

impl Metric {
    /// The unit values are given in, for labels ("story points", "tasks", "hours").
    pub fn unit(self) -> &'static str {
        match self {
            Metric::StoryPoints => "story points",
            Metric::TaskCount => "tasks",
            Metric::Hours => "hours",
        }
    }
}

/// What work is grouped by in a distribution.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Assignee,
    Status,
    Priority,
    Type,
}

/// Longest window (in days) a per-day series covers; longer requests are cut and say so.
pub const MAX_DAYS: i64 = 3660;

/// The done rule, stated the same way in every result.
pub(crate) const DONE_RULE: &str = "Done means the status category is done (the tracker's done/closed/resolved category), never a status name; an item reopened out of done counts as not done from then on.";

pub(crate) fn round2(x: f64) -> f64 {
    if x.is_finite() {
        // `+ 0.0` turns a negative zero (-0.004 rounded, or a negated empty sum) into 0: no
        // answer says "-0".
        (x * 100.0).round() / 100.0 + 0.0
    } else {
        0.0
    }
}

/// The first instant of a UTC day.
pub(crate) fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// The last instant of a UTC day (just before the next midnight).
pub(crate) fn day_end(d: NaiveDate) -> DateTime<Utc> {
    day_start(d) + Duration::days(1) - Duration::nanoseconds(1)
}

/// The days from `from` to `to` inclusive, cut to [`MAX_DAYS`]; the note says when it was cut.
pub(crate) fn days_between(from: NaiveDate, to: NaiveDate) -> (Vec<NaiveDate>, Option<String>) {
    if to < from {
        return (Vec::new(), None);
    }
    let span = (to - from).num_days() + 1;
    let n = span.min(MAX_DAYS);
    let days = (0..n).map(|i| from + Duration::days(i)).collect();
    let note = (span > MAX_DAYS)
        .then(|| format!("The window has {span} days; only the first {MAX_DAYS} are computed."));
    (days, note)
}

/// The metric to use when the caller named none: story points where the tracker has them (some
/// item carries points now or in its history), else the task count — with the sentence that says
/// which, for the result's assumptions. A tracker without story points (Redmine, a Jira site
/// without the field) would otherwise chart all zeros.
pub fn default_metric<'a>(
    histories: impl IntoIterator<Item = &'a crate::history::History>,
) -> (Metric, String) {
    let has_points = histories.into_iter().any(|h| {
        h.items.iter().any(|i| {
            i.points.is_some()
                || i.points_changes
                    .iter()
                    .any(|c| c.to.is_some() || c.from.is_some())
        })
    });
    if has_points {
        (
            Metric::StoryPoints,
            "No metric was given: story points, since the items carry them.".to_string(),
        )
    } else {
        (
            Metric::TaskCount,
            "No metric was given and no item carries story points: task count (each item counts as 1).".to_string(),
        )
    }
}

/// The assumption line about where story points came from, for point-based results.
pub(crate) fn metric_assumption(metric: Metric, source: &crate::history::HistorySource) -> String {
    match metric {
        Metric::StoryPoints => match &source.points_field {
            Some(f) => format!("Story points were read from the field \"{f}\"."),
            None => "Story points were read from the tracker's story-points value; the provider named no specific field.".to_string(),
        },
        Metric::TaskCount => "Each item counts as 1 (task count); estimates are not used.".to_string(),
        Metric::Hours => "Hours are the original time estimate (seconds / 3600); remaining-time estimates are not used.".to_string(),
    }
}

/// The assumption line about estimate history, when it matters.
pub(crate) fn estimate_history_assumption(
    metric: Metric,
    source: &crate::history::HistorySource,
) -> Option<String> {
    (metric != Metric::TaskCount && !source.estimate_changes_known).then(|| {
        format!(
            "The tracker's history of {} changes is not available; today's estimates are used for every day.",
            metric.unit()
        )
    })
}

pub(crate) fn unestimated_assumption(metric: Metric, ids: &[String]) -> Option<String> {
    if metric == Metric::TaskCount || ids.is_empty() {
        return None;
    }
    let n = ids.len();
    let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
    let more = if n > 10 { ", …" } else { "" };
    Some(format!(
        "{n} item{} had no {} estimate and counted as 0 ({}{more}).",
        if n == 1 { "" } else { "s" },
        match metric {
            Metric::StoryPoints => "story-point",
            _ => "time",
        },
        shown.join(", ")
    ))
}
