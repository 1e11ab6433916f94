//! Sprint burndown from history: per day, the scope (committed plus added, less removed,
//! re-estimates included), what was done and what remained, against an ideal line.
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::timeline::Timeline;
use super::{
    DONE_RULE, Metric, day_end, days_between, estimate_history_assumption, metric_assumption,
    round2, unestimated_assumption,
};
use crate::domain::{Sprint, SprintState};
use crate::history::History;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BurndownDay {
    pub date: NaiveDate,
    /// The ideal remaining: the committed scope on the start day falling linearly to 0 on the
    /// end day.
    pub ideal: f64,
    /// Total scope in the sprint at the end of the day; `None` for days not reached yet.
    pub scope: Option<f64>,
    /// Scope done at the end of the day.
    pub completed: Option<f64>,
    /// `scope - completed`.
    pub remaining: Option<f64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeChangeKind {
    Added,
    Removed,
    ReEstimated,
}

/// A change to the sprint's scope after it started.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScopeChange {
    pub at: DateTime<Utc>,
    pub item_id: String,
    pub title: String,
    pub change: ScopeChangeKind,
    /// Effect on scope in the metric's unit (negative for removals and downward re-estimates).
    pub delta: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Burndown {
    pub sprint_id: String,
    pub sprint_name: String,
    pub metric: Metric,
    /// "story points", "tasks" or "hours".
    pub unit: String,
    /// The sprint's start (or what stood in for it; see assumptions). `None`: nothing to draw.
    pub start: Option<DateTime<Utc>>,
    /// The sprint's planned end, where known.
    pub end: Option<DateTime<Utc>>,
    /// The instant the figures are measured at: the sprint's completion, or now.
    pub as_of: Option<DateTime<Utc>>,
    pub days: Vec<BurndownDay>,
    /// Scope in the sprint at its start.
    pub committed: f64,
    /// Scope at `as_of`.
    pub scope: f64,
    pub completed: f64,
    pub remaining: f64,
    /// Sum of scope added after the start.
    pub added: f64,
    /// Sum of scope removed after the start (a positive number).
    pub removed: f64,
    /// Net change from re-estimates after the start.
    pub re_estimated: f64,
    pub scope_changes: Vec<ScopeChange>,
    /// Ids of items in the sprint without an estimate in the chosen metric (counted as 0).
    pub items_without_estimate: Vec<String>,
    pub assumptions: Vec<String>,
}

/// Where a sprint's timeline starts and the instant its figures are measured at.
pub(crate) struct SprintWindow {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub cutoff: DateTime<Utc>,
    pub notes: Vec<String>,
}

/// The sprint's start (falling back on the earliest move into it or the earliest creation) and
/// the instant to measure at (its completion when closed, else `now`; never after `now`).
/// `Err` explains why there is no timeline at all.
pub(crate) fn sprint_window(
    sprint: &Sprint,
    items: &[Timeline<'_>],
    now: DateTime<Utc>,
) -> Result<SprintWindow, String> {
    let mut notes = Vec::new();
    let start = match sprint.start_date {
        Some(s) => s,
        None => {
            let by_move = items
                .iter()
                .filter_map(|t| t.first_added_to(&sprint.id))
                .min();
            let by_created = items.iter().filter_map(|t| t.item.created_at).min();
            match (by_move, by_created) {
                (Some(m), _) => {
                    notes.push(format!(
                        "The sprint has no start date; the earliest time an item was added to it ({}) stands in for it.",
                        m.format("%Y-%m-%d %H:%M UTC")
                    ));
                    m
                }
                (None, Some(c)) => {
                    notes.push(format!(
                        "The sprint has no start date and no recorded moves into it; the earliest creation date of its items ({}) stands in for it.",
                        c.format("%Y-%m-%d %H:%M UTC")
                    ));
                    c
                }
                (None, None) => {
                    return Err("The sprint has no start date, and no item records when it joined the sprint or was created, so there is no timeline to compute.".to_string());
                }
            }
        }
    };
    let end = sprint.end_date;
    if let (None, Some(e)) = (sprint.start_date, end)
        && start > e
    {
        notes.push(format!(
            "The tracker does not know when the sprint started, and its items only joined after its planned end ({}); the real start is unknown, so the figures count from the first item's arrival and the ideal line means little.",
            e.format("%Y-%m-%d")
        ));
    }
    if end.is_none() {
        notes.push("The sprint has no planned end date; the timeline runs to its completion or to now, and the ideal line ends there.".to_string());
    }
    let mut cutoff = match sprint.state {
        SprintState::Closed => match sprint.completed_at.or(end) {
            Some(c) => c,
            None => {
                notes.push("The sprint is closed but has neither a completion nor an end date; it is measured as of now.".to_string());
                now
            }
        },
        SprintState::Active | SprintState::Future => now,
    };
    if cutoff > now {
        cutoff = now;
    }
    if now < start {
        notes.push(format!(
            "The sprint has not started yet (it starts {}); figures show its current plan.",
            start.format("%Y-%m-%d")
        ));
    }
    Ok(SprintWindow {
        start,
        end,
        cutoff,
        notes,
    })
}

/// Membership assumptions for a sprint's items.
pub(crate) fn membership_assumption(
    sprint_id: &str,
    history: &History,
    items: &[Timeline<'_>],
) -> Option<String> {
    let without = items.iter().filter(|t| !t.has_moves_for(sprint_id)).count();
    if without == 0 {
        return None;
    }
    Some(if history.source.sprint_moves_known {
        format!(
            "{without} item{} had no recorded move into or out of the sprint; each was taken to have been in it since the sprint started, or since it was created if later.",
            plural(without)
        )
    } else {
        format!(
            "The tracker's history does not record sprint moves ({}); the {without} item{} in the sprint were taken to have been in it since it started, or since created if later, so scope added or removed during the sprint is not visible.",
            if history.source.history.is_empty() {
                "history source not named"
            } else {
                history.source.history.as_str()
            },
            plural(without)
        )
    })
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Scope changes after `start` up to `cutoff`: joins, departures and re-estimates while in.
pub(crate) fn scope_changes(
    sprint_id: &str,
    items: &[Timeline<'_>],
    metric: Metric,
    start: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Vec<ScopeChange> {
    let mut out = Vec::new();
    for tl in items {
        let mut inside = tl.in_sprint_at(sprint_id, start);
        for t in tl.membership_instants(sprint_id, start, cutoff) {
            let now_inside = tl.in_sprint_at(sprint_id, t);
            if now_inside != inside {
                let v = tl.value_at(metric, t).unwrap_or(0.0);
                out.push(ScopeChange {
                    at: t,
                    item_id: tl.id().to_string(),
                    title: tl.item.title.clone(),
                    change: if now_inside {
                        ScopeChangeKind::Added
                    } else {
                        ScopeChangeKind::Removed
                    },
                    delta: round2(if now_inside { v } else { -v }),
                });
                inside = now_inside;
            }
        }
        for c in tl.estimate_changes(metric) {
            if c.at <= start || c.at > cutoff || !tl.in_sprint_at(sprint_id, c.at) {
                continue;
            }
            let scale = if metric == Metric::Hours { 3600.0 } else { 1.0 };
            let from = c.from.filter(|x| x.is_finite()).unwrap_or(0.0) / scale;
            let to = c.to.filter(|x| x.is_finite()).unwrap_or(0.0) / scale;
            if from != to {
                out.push(ScopeChange {
                    at: c.at,
                    item_id: tl.id().to_string(),
                    title: tl.item.title.clone(),
                    change: ScopeChangeKind::ReEstimated,
                    delta: round2(to - from),
                });
            }
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.item_id.cmp(&b.item_id)));
    out
}

/// (scope, completed) of the sprint at instant `t`.
pub(crate) fn scope_at(
    sprint_id: &str,
    items: &[Timeline<'_>],
    metric: Metric,
    t: DateTime<Utc>,
) -> (f64, f64) {
    let mut scope = 0.0;
    let mut done = 0.0;
    for tl in items.iter().filter(|tl| tl.in_sprint_at(sprint_id, t)) {
        let v = tl.value_at(metric, t).unwrap_or(0.0);
        scope += v;
        if tl.done_at(t) {
            done += v;
        }
    }
    (scope, done)
}

/// Items that were in the sprint at some point in `[start, cutoff]` without an estimate at
/// `cutoff` (or when they left).
pub(crate) fn unestimated(
    sprint_id: &str,
    items: &[Timeline<'_>],
    metric: Metric,
    start: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Vec<String> {
    if metric == Metric::TaskCount {
        return Vec::new();
    }
    items
        .iter()
        .filter(|tl| {
            let instants = tl.membership_instants(sprint_id, start, cutoff);
            let was_in = tl.in_sprint_at(sprint_id, start)
                || instants.iter().any(|&t| tl.in_sprint_at(sprint_id, t));
            was_in && tl.value_at(metric, cutoff).is_none()
        })
        .map(|tl| tl.id().to_string())
        .collect()
}

pub fn burndown(
    sprint: &Sprint,
    history: &History,
    metric: Metric,
    now: DateTime<Utc>,
) -> Burndown {
    let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
    let mut assumptions = vec![
        metric_assumption(metric, &history.source),
        DONE_RULE.to_string(),
    ];
    let mut out = Burndown {
        sprint_id: sprint.id.clone(),
        sprint_name: sprint.name.clone(),
        metric,
        unit: metric.unit().to_string(),
        start: None,
        end: sprint.end_date,
        as_of: None,
        days: Vec::new(),
        committed: 0.0,
        scope: 0.0,
        completed: 0.0,
        remaining: 0.0,
        added: 0.0,
        removed: 0.0,
        re_estimated: 0.0,
        scope_changes: Vec::new(),
        items_without_estimate: Vec::new(),
        assumptions: Vec::new(),
    };
    let window = match sprint_window(sprint, &items, now) {
        Ok(w) => w,
        Err(why) => {
            assumptions.push(why);
            out.assumptions = assumptions;
            return out;
        }
    };
    assumptions.extend(window.notes.iter().cloned());
    assumptions.extend(membership_assumption(&sprint.id, history, &items));
    assumptions.extend(estimate_history_assumption(metric, &history.source));

    let (start, cutoff) = (window.start, window.cutoff);
    let (committed, _) = scope_at(&sprint.id, &items, metric, start);
    let (scope, completed) = scope_at(&sprint.id, &items, metric, cutoff.max(start));
    let changes = scope_changes(&sprint.id, &items, metric, start, cutoff);

    let start_day = start.date_naive();
    let ideal_end_day = window.end.unwrap_or(cutoff).date_naive().max(start_day);
    let last_day = ideal_end_day.max(cutoff.date_naive());
    let (dates, cut) = days_between(start_day, last_day);
    assumptions.extend(cut);
    let ideal_span = (ideal_end_day - start_day).num_days() as f64;
    for (i, date) in dates.into_iter().enumerate() {
        let ideal = if ideal_span <= 0.0 {
            committed
        } else {
            (committed * (1.0 - i as f64 / ideal_span)).max(0.0)
        };
        let eod = day_end(date);
        let (scope_d, done_d) = if date > cutoff.date_naive() || cutoff < start {
            (None, None)
        } else {
            let (s, d) = scope_at(&sprint.id, &items, metric, eod.min(cutoff));
            (Some(round2(s)), Some(round2(d)))
        };
        out.days.push(BurndownDay {
            date,
            ideal: round2(ideal),
            scope: scope_d,
            completed: done_d,
            remaining: scope_d.zip(done_d).map(|(s, d)| round2(s - d)),
        });
    }
    if window.end.is_some() && cutoff.date_naive() > ideal_end_day {
        assumptions.push(format!(
            "The sprint ran past its planned end ({}); days after it are shown with an ideal of 0.",
            ideal_end_day
        ));
    }
    assumptions.push("The ideal line falls linearly over calendar days (weekends included) from the committed scope on the start day to 0 on the planned end day; each day's figures are taken at the end of that UTC day.".to_string());

    let sum = |k: ScopeChangeKind| -> f64 {
        changes
            .iter()
            .filter(|c| c.change == k)
            .map(|c| c.delta)
            .sum()
    };
    out.added = round2(sum(ScopeChangeKind::Added));
    out.removed = round2(-sum(ScopeChangeKind::Removed));
    out.re_estimated = round2(sum(ScopeChangeKind::ReEstimated));
    out.items_without_estimate = unestimated(&sprint.id, &items, metric, start, cutoff);
    assumptions.extend(unestimated_assumption(metric, &out.items_without_estimate));
    if items.is_empty() {
        assumptions.push("The sprint has no items.".to_string());
    }
    out.start = Some(start);
    out.as_of = Some(cutoff);
    out.committed = round2(committed);
    out.scope = round2(scope);
    out.completed = round2(completed);
    out.remaining = round2(scope - completed);
    out.scope_changes = changes;
    out.assumptions = assumptions;
    out
}
