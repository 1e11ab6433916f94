//! A sprint report from history: what was planned at the start, what got done, what was left,
//! what joined or left after the start, blocked items, and breakdowns by type and assignee.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::burndown::{membership_assumption, plural, sprint_window};
use super::timeline::Timeline;
use super::{
    DONE_RULE, Metric, estimate_history_assumption, metric_assumption, round2,
    unestimated_assumption,
};
use crate::domain::{Sprint, SprintState};
use crate::history::History;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReportItem {
    pub id: String,
    pub title: String,
    pub task_type: Option<String>,
    /// The assignee's name now.
    pub assignee: Option<String>,
    /// The status at the moment the list is about (start, end, or the move).
    pub status: String,
    /// Size in the metric at that moment (0 when unestimated).
    pub value: f64,
    pub estimated: bool,
    /// When the item joined or left, for the added/removed lists.
    pub at: Option<DateTime<Utc>>,
}

/// One row of a breakdown over the items in the sprint at its end.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BreakdownRow {
    pub key: String,
    pub items: usize,
    pub completed_items: usize,
    pub value: f64,
    pub completed_value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SprintReport {
    pub sprint_id: String,
    pub sprint_name: String,
    pub state: SprintState,
    pub goal: Option<String>,
    pub metric: Metric,
    pub unit: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// The instant "at the end" refers to: completion for a closed sprint, else now.
    pub as_of: Option<DateTime<Utc>>,
    /// In the sprint at its start.
    pub planned: Vec<ReportItem>,
    /// In the sprint at `as_of` and done.
    pub completed: Vec<ReportItem>,
    /// In the sprint at `as_of` and not done (carried over when the sprint is closed).
    pub not_completed: Vec<ReportItem>,
    /// Whether `not_completed` items were carried over (the sprint is closed).
    pub carried_over: bool,
    /// Not in the sprint at its start, joined later (even if they left again).
    pub added_after_start: Vec<ReportItem>,
    /// In the sprint at some point after the start, not at `as_of`.
    pub removed_after_start: Vec<ReportItem>,
    /// In the sprint at `as_of`, not done, and flagged or blocked now.
    pub blocked: Vec<ReportItem>,
    pub planned_value: f64,
    pub completed_value: f64,
    pub not_completed_value: f64,
    pub added_value: f64,
    pub removed_value: f64,
    /// Of what was planned, the part in the sprint and done at `as_of`.
    pub planned_completed_value: f64,
    /// `completed_value / (completed_value + not_completed_value)`: done over the final scope.
    pub completion_rate: Option<f64>,
    /// `planned_completed_value / planned_value`: done over the commitment.
    pub planned_completion_rate: Option<f64>,
    pub by_type: Vec<BreakdownRow>,
    pub by_assignee: Vec<BreakdownRow>,
    pub items_without_estimate: Vec<String>,
    pub assumptions: Vec<String>,
}

fn report_item(
    tl: &Timeline<'_>,
    metric: Metric,
    t: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> ReportItem {
    let v = tl.value_at(metric, t);
    ReportItem {
        id: tl.id().to_string(),
        title: tl.item.title.clone(),
        task_type: tl.item.task_type.clone(),
        assignee: tl.item.assignee.as_ref().map(|u| u.name.clone()),
        status: tl.status_name_at(t),
        value: round2(v.unwrap_or(0.0)),
        estimated: v.is_some(),
        at,
    }
}

fn breakdown(rows: impl Iterator<Item = (String, f64, bool)>) -> Vec<BreakdownRow> {
    let mut map: BTreeMap<String, BreakdownRow> = BTreeMap::new();
    for (key, value, done) in rows {
        let row = map.entry(key.clone()).or_insert(BreakdownRow {
            key,
            items: 0,
            completed_items: 0,
            value: 0.0,
            completed_value: 0.0,
        });
        row.items += 1;
        row.value += value;
        if done {
            row.completed_items += 1;
            row.completed_value += value;
        }
    }
    let mut out: Vec<BreakdownRow> = map
        .into_values()
        .map(|mut r| {
            r.value = round2(r.value);
            r.completed_value = round2(r.completed_value);
            r
        })
        .collect();
    out.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.key.cmp(&b.key)));
    out
}

fn total(items: &[ReportItem]) -> f64 {
    round2(items.iter().map(|i| i.value).sum())
}

pub fn sprint_report(
    sprint: &Sprint,
    history: &History,
    metric: Metric,
    now: DateTime<Utc>,
) -> SprintReport {
    let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
    let mut assumptions = vec![
        metric_assumption(metric, &history.source),
        DONE_RULE.to_string(),
    ];
    let mut out = SprintReport {
        sprint_id: sprint.id.clone(),
        sprint_name: sprint.name.clone(),
        state: sprint.state,
        goal: sprint.goal.clone(),
        metric,
        unit: metric.unit().to_string(),
        start: None,
        end: sprint.end_date,
        as_of: None,
        planned: Vec::new(),
        completed: Vec::new(),
        not_completed: Vec::new(),
        carried_over: sprint.state == SprintState::Closed,
        added_after_start: Vec::new(),
        removed_after_start: Vec::new(),
        blocked: Vec::new(),
        planned_value: 0.0,
        completed_value: 0.0,
        not_completed_value: 0.0,
        added_value: 0.0,
        removed_value: 0.0,
        planned_completed_value: 0.0,
        completion_rate: None,
        planned_completion_rate: None,
        by_type: Vec::new(),
        by_assignee: Vec::new(),
        items_without_estimate: Vec::new(),
        assumptions: Vec::new(),
    };
    let w = match sprint_window(sprint, &items, now) {
        Ok(w) => w,
        Err(why) => {
            assumptions.push(why);
            out.assumptions = assumptions;
            return out;
        }
    };
    assumptions.extend(w.notes.iter().cloned());
    assumptions.extend(membership_assumption(&sprint.id, history, &items));
    assumptions.extend(estimate_history_assumption(metric, &history.source));
    let (start, end) = (w.start, w.cutoff.max(w.start));
    let id = sprint.id.as_str();
    let mut missing = Vec::new();
    let mut type_rows = Vec::new();
    let mut assignee_rows = Vec::new();
    for tl in &items {
        let at_start = tl.in_sprint_at(id, start);
        let at_end = tl.in_sprint_at(id, end);
        let instants = tl.membership_instants(id, start, end);
        let joined = instants.iter().copied().find(|&t| tl.in_sprint_at(id, t));
        let last_left = {
            let mut inside = at_start;
            let mut left = None;
            for &t in &instants {
                let now_inside = tl.in_sprint_at(id, t);
                if inside && !now_inside {
                    left = Some(t);
                }
                inside = now_inside;
            }
            left
        };
        let was_in = at_start || joined.is_some();
        if !was_in {
            continue;
        }
        let done_end = tl.done_at(end);
        if at_start {
            out.planned.push(report_item(tl, metric, start, None));
            if at_end && done_end {
                out.planned_completed_value += tl.value_at(metric, end).unwrap_or(0.0);
            }
        } else if let Some(t) = joined {
            out.added_after_start
                .push(report_item(tl, metric, t, Some(t)));
        }
        if at_end {
            let row = report_item(tl, metric, end, None);
            let key_type = tl
                .item
                .task_type
                .clone()
                .unwrap_or_else(|| "None".to_string());
            let key_assignee = tl
                .item
                .assignee
                .as_ref()
                .map_or_else(|| "Unassigned".to_string(), |u| u.name.clone());
            type_rows.push((key_type, row.value, done_end));
            assignee_rows.push((key_assignee, row.value, done_end));
            if !row.estimated && metric != Metric::TaskCount {
                missing.push(row.id.clone());
            }
            if done_end {
                out.completed.push(row);
            } else {
                if tl.item.blocked {
                    out.blocked.push(row.clone());
                }
                out.not_completed.push(row);
            }
        } else if let Some(t) = last_left {
            let row = report_item(tl, metric, t, Some(t));
            if !row.estimated && metric != Metric::TaskCount {
                missing.push(row.id.clone());
            }
            out.removed_after_start.push(row);
        }
    }
    out.planned_value = total(&out.planned);
    out.completed_value = total(&out.completed);
    out.not_completed_value = total(&out.not_completed);
    out.added_value = total(&out.added_after_start);
    out.removed_value = total(&out.removed_after_start);
    out.planned_completed_value = round2(out.planned_completed_value);
    let final_scope = out.completed_value + out.not_completed_value;
    out.completion_rate = (final_scope > 0.0).then(|| round2(out.completed_value / final_scope));
    out.planned_completion_rate =
        (out.planned_value > 0.0).then(|| round2(out.planned_completed_value / out.planned_value));
    out.by_type = breakdown(type_rows.into_iter());
    out.by_assignee = breakdown(assignee_rows.into_iter());

    assumptions.push("Planned is what was in the sprint at its start; completed and not completed are what was in it at the end (its completion date when closed, else now). Completion rate is done over the final scope; planned completion rate is planned items done over the commitment.".to_string());
    if out.carried_over && !out.not_completed.is_empty() {
        assumptions.push(format!(
            "The sprint is closed: its {} not-completed item{} were carried over.",
            out.not_completed.len(),
            plural(out.not_completed.len())
        ));
    }
    assumptions.push("Blocked means flagged or blocked now, as the tracker reports it, among items not done at the end.".to_string());
    assumptions.extend(unestimated_assumption(metric, &missing));
    if !history.items.is_empty() && out.planned.is_empty() && out.added_after_start.is_empty() {
        assumptions.push("No item was in the sprint between its start and its end.".to_string());
    }
    if history.items.is_empty() {
        assumptions.push("The sprint has no items.".to_string());
    }
    out.items_without_estimate = missing;
    out.start = Some(start);
    out.as_of = Some(w.cutoff);
    out.assumptions = assumptions;
    out
}
