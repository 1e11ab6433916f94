//! Velocity over sprints from history: what each sprint committed at its start against what was
//! done in it by its end, the mean over closed sprints and its trend.
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::burndown::{scope_at, sprint_window, unestimated};
use super::timeline::Timeline;
use super::{DONE_RULE, Metric, metric_assumption, round2};
use crate::domain::{Sprint, SprintState};
use crate::history::History;

/// Which way completed work is heading over the closed sprints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Rising,
    Steady,
    Falling,
    /// Fewer than two closed sprints.
    InsufficientData,
}

/// A trend whose slope is within this share of the mean per sprint is steady.
pub const STEADY_BAND: f64 = 0.05;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct VelocitySprint {
    pub sprint_id: String,
    pub name: String,
    pub state: SprintState,
    pub start: Option<DateTime<Utc>>,
    /// The instant completion was measured at (completion, else planned end).
    pub end: Option<DateTime<Utc>>,
    /// In the sprint at its start.
    pub committed: f64,
    /// In the sprint and done at its end.
    pub completed: f64,
    /// `completed / committed`, when something was committed.
    pub completion_rate: Option<f64>,
    pub items_without_estimate: usize,
    /// Whether this sprint counts toward the mean and trend (closed sprints only).
    pub counted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Velocity {
    pub metric: Metric,
    pub unit: String,
    /// Oldest first.
    pub sprints: Vec<VelocitySprint>,
    /// Mean completed over closed sprints.
    pub mean_completed: Option<f64>,
    /// Mean committed over closed sprints.
    pub mean_committed: Option<f64>,
    /// Least-squares slope of completed per sprint over closed sprints, oldest first.
    pub trend_slope: Option<f64>,
    pub trend: Trend,
    pub assumptions: Vec<String>,
}

/// Least-squares slope of `ys` over `0, 1, 2, …`; `None` below two points.
pub(crate) fn slope(ys: &[f64]) -> Option<f64> {
    let n = ys.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / nf;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (y - mean_y);
        den += dx * dx;
    }
    Some(num / den)
}

pub(crate) fn classify(slope: Option<f64>, mean: f64) -> Trend {
    match slope {
        None => Trend::InsufficientData,
        Some(s) => {
            let band = STEADY_BAND * mean.abs();
            if s.abs() <= band || s.abs() < 1e-9 {
                Trend::Steady
            } else if s > 0.0 {
                Trend::Rising
            } else {
                Trend::Falling
            }
        }
    }
}

pub fn velocity(sprints: &[(Sprint, History)], metric: Metric) -> Velocity {
    let mut assumptions = Vec::new();
    let mut rows = Vec::with_capacity(sprints.len());
    let mut notes: Vec<String> = Vec::new();
    let mut unestimated_total = 0usize;
    let mut moves_unknown = false;
    // Oldest first: by start date when every sprint has one, else in the order given.
    let mut ordered: Vec<&(Sprint, History)> = sprints.iter().collect();
    if ordered.iter().all(|(s, _)| s.start_date.is_some()) {
        ordered.sort_by_key(|(s, _)| s.start_date);
    } else if !ordered.is_empty() {
        assumptions.push("Not every sprint has a start date, so sprints are taken in the order given (oldest first).".to_string());
    }
    for (sprint, history) in ordered {
        let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
        moves_unknown |= !history.source.sprint_moves_known && !items.is_empty();
        // Velocity has no clock: an open sprint is measured at its planned end, or as of the
        // latest thing its history records.
        let latest = items
            .iter()
            .filter_map(Timeline::latest_instant)
            .max()
            .or(sprint.start_date)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let clock = match sprint.state {
            SprintState::Closed => sprint
                .completed_at
                .or(sprint.end_date)
                .unwrap_or(latest)
                .max(latest),
            _ => sprint.end_date.unwrap_or(latest),
        };
        let counted = sprint.state == SprintState::Closed;
        match sprint_window(sprint, &items, clock) {
            Ok(w) => {
                for n in &w.notes {
                    notes.push(format!("{}: {n}", sprint.name));
                }
                let (committed, _) = scope_at(&sprint.id, &items, metric, w.start);
                let (_, completed) = scope_at(&sprint.id, &items, metric, w.cutoff.max(w.start));
                let missing = unestimated(&sprint.id, &items, metric, w.start, w.cutoff).len();
                unestimated_total += missing;
                rows.push(VelocitySprint {
                    sprint_id: sprint.id.clone(),
                    name: sprint.name.clone(),
                    state: sprint.state,
                    start: Some(w.start),
                    end: Some(w.cutoff),
                    committed: round2(committed),
                    completed: round2(completed),
                    completion_rate: (committed > 0.0).then(|| round2(completed / committed)),
                    items_without_estimate: missing,
                    counted,
                });
            }
            Err(why) => {
                notes.push(format!("{}: {why} It counts as 0.", sprint.name));
                rows.push(VelocitySprint {
                    sprint_id: sprint.id.clone(),
                    name: sprint.name.clone(),
                    state: sprint.state,
                    start: None,
                    end: None,
                    committed: 0.0,
                    completed: 0.0,
                    completion_rate: None,
                    items_without_estimate: 0,
                    counted,
                });
            }
        }
    }
    let closed: Vec<&VelocitySprint> = rows.iter().filter(|r| r.counted).collect();
    let completed: Vec<f64> = closed.iter().map(|r| r.completed).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let mean_completed = mean(&completed);
    let mean_committed = mean(&closed.iter().map(|r| r.committed).collect::<Vec<_>>());
    let trend_slope = slope(&completed);
    let trend = classify(trend_slope, mean_completed.unwrap_or(0.0));

    if let Some(first) = sprints.first() {
        assumptions.push(metric_assumption(metric, &first.1.source));
    } else {
        assumptions.push(format!("Values are in {}.", metric.unit()));
    }
    assumptions.push(DONE_RULE.to_string());
    assumptions.push("Committed is what was in the sprint at its start; completed is what was in the sprint and done at its end (its completion date when closed, else its planned end), including items added during the sprint.".to_string());
    assumptions.push(format!(
        "Mean and trend use the {} closed sprint{} only; open sprints are shown for reference. The trend is the least-squares slope of completed per sprint, steady when within {}% of the mean per sprint.",
        closed.len(),
        if closed.len() == 1 { "" } else { "s" },
        (STEADY_BAND * 100.0) as i64
    ));
    if moves_unknown {
        assumptions.push("Some trackers here do not record sprint moves; their items were taken to have been in the sprint since it started (or since created if later).".to_string());
    }
    if unestimated_total > 0 && metric != Metric::TaskCount {
        assumptions.push(format!(
            "{unestimated_total} sprint item{} had no estimate and counted as 0.",
            if unestimated_total == 1 { "" } else { "s" }
        ));
    }
    if sprints.is_empty() {
        assumptions.push("No sprints were given.".to_string());
    }
    assumptions.extend(notes);
    Velocity {
        metric,
        unit: metric.unit().to_string(),
        sprints: rows,
        mean_completed: mean_completed.map(round2),
        mean_committed: mean_committed.map(round2),
        trend_slope: trend_slope.map(round2),
        trend,
        assumptions,
    }
}
