//! Flow over a window of days: the cumulative flow (items per status category at the end of
//! each day), cycle times (first in progress to done), and created against resolved.
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::timeline::Timeline;
use super::{DONE_RULE, day_end, days_between, round2};
use crate::domain::StatusCategory;
use crate::history::History;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CfdDay {
    pub date: NaiveDate,
    pub todo: usize,
    pub in_progress: usize,
    pub done: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Cfd {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<CfdDay>,
    /// Items that existed by the end of the window.
    pub items: usize,
    pub assumptions: Vec<String>,
}

fn created_note(items: &[Timeline<'_>]) -> Option<String> {
    let n = items.iter().filter(|t| t.item.created_at.is_none()).count();
    (n > 0).then(|| {
        format!(
            "{n} item{} had no creation date and {} taken to have existed throughout.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "was" } else { "were" }
        )
    })
}

fn window_note(from: NaiveDate, to: NaiveDate) -> Option<String> {
    (to < from).then(|| format!("The window is empty: it ends ({to}) before it starts ({from})."))
}

pub fn cfd(history: &History, from: NaiveDate, to: NaiveDate) -> Cfd {
    let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
    let (dates, cut) = days_between(from, to);
    let mut days = Vec::with_capacity(dates.len());
    for date in dates {
        let t = day_end(date);
        let mut d = CfdDay {
            date,
            todo: 0,
            in_progress: 0,
            done: 0,
        };
        for tl in items.iter().filter(|tl| tl.exists_at(t)) {
            match tl.category_at(t) {
                StatusCategory::Todo => d.todo += 1,
                StatusCategory::InProgress => d.in_progress += 1,
                StatusCategory::Done => d.done += 1,
            }
        }
        days.push(d);
    }
    let mut assumptions = vec![
        DONE_RULE.to_string(),
        "Each day counts the items in each status category at the end of that UTC day; items not created yet are left out.".to_string(),
    ];
    assumptions.extend(window_note(from, to));
    assumptions.extend(cut);
    assumptions.extend(created_note(&items));
    let existing = items
        .iter()
        .filter(|tl| tl.exists_at(day_end(to.max(from))))
        .count();
    let later = items.len() - existing;
    if later > 0 {
        assumptions.push(format!(
            "{later} item{} created after {to} {} left out.",
            if later == 1 { "" } else { "s" },
            if later == 1 { "is" } else { "are" }
        ));
    }
    Cfd {
        from,
        to,
        days,
        items: existing,
        assumptions,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CycleItem {
    pub id: String,
    pub title: String,
    pub task_type: Option<String>,
    /// First entry into an in-progress status.
    pub started_at: DateTime<Utc>,
    /// Last entry into done (within the window).
    pub done_at: DateTime<Utc>,
    /// Fractional days from `started_at` to `done_at`.
    pub days: f64,
    pub outlier: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DoneWithoutProgress {
    pub id: String,
    pub title: String,
    pub done_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CycleTime {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Items done in the window that had been in progress, by done date.
    pub items: Vec<CycleItem>,
    pub count: usize,
    pub mean: Option<f64>,
    /// Nearest-rank percentiles of `days`.
    pub p50: Option<f64>,
    pub p85: Option<f64>,
    pub p95: Option<f64>,
    /// Cycle times above this are outliers: Q3 + 1.5 × IQR (nearest-rank quartiles), with at
    /// least 4 items.
    pub outlier_threshold: Option<f64>,
    /// Ids of outliers, longest first.
    pub outliers: Vec<String>,
    /// Items done in the window that never were in progress (not in the statistics).
    pub done_without_in_progress: Vec<DoneWithoutProgress>,
    pub assumptions: Vec<String>,
}

/// Nearest-rank percentile of sorted values: the value at rank ⌈p/100 · n⌉.
pub(crate) fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

pub fn cycle_time(history: &History, from: NaiveDate, to: NaiveDate) -> CycleTime {
    let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
    let end = day_end(to);
    let mut done = Vec::new();
    let mut without = Vec::new();
    let mut undated = 0usize;
    for tl in &items {
        if to < from || !tl.done_at(end) {
            continue;
        }
        let segs = tl.segments();
        let Some(last_done) = segs
            .iter()
            .rev()
            .find(|s| s.category == StatusCategory::Done && s.start.is_none_or(|t| t <= end))
        else {
            continue;
        };
        let Some(done_at) = last_done.start else {
            undated += 1;
            continue;
        };
        if done_at.date_naive() < from {
            continue;
        }
        match segs.iter().find(|s| {
            s.category == StatusCategory::InProgress && s.start.is_none_or(|t| t <= done_at)
        }) {
            None => without.push(DoneWithoutProgress {
                id: tl.id().to_string(),
                title: tl.item.title.clone(),
                done_at,
            }),
            Some(s) => match s.start {
                None => undated += 1,
                Some(started_at) => done.push(CycleItem {
                    id: tl.id().to_string(),
                    title: tl.item.title.clone(),
                    task_type: tl.item.task_type.clone(),
                    started_at,
                    done_at,
                    days: round2((done_at - started_at).num_seconds() as f64 / 86_400.0),
                    outlier: false,
                }),
            },
        }
    }
    done.sort_by(|a, b| a.done_at.cmp(&b.done_at).then_with(|| a.id.cmp(&b.id)));
    without.sort_by(|a, b| a.done_at.cmp(&b.done_at).then_with(|| a.id.cmp(&b.id)));
    let mut sorted: Vec<f64> = done.iter().map(|i| i.days).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let threshold = if n >= 4 {
        match (nearest_rank(&sorted, 25.0), nearest_rank(&sorted, 75.0)) {
            (Some(q1), Some(q3)) => Some(round2(q3 + 1.5 * (q3 - q1))),
            _ => None,
        }
    } else {
        None
    };
    let mut outliers: Vec<(f64, String)> = Vec::new();
    if let Some(th) = threshold {
        for i in &mut done {
            if i.days > th {
                i.outlier = true;
                outliers.push((i.days, i.id.clone()));
            }
        }
    }
    outliers.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));

    let mut assumptions = vec![
        DONE_RULE.to_string(),
        "Cycle time runs from the first entry into an in-progress status to the last entry into done, in fractional days (calendar time, weekends included); an item reopened and finished again counts once, with its whole span.".to_string(),
        "Items count when their last entry into done falls within the window and they are still done at its end.".to_string(),
        "Percentiles use the nearest-rank method (the value at rank ⌈p/100 × n⌉ of the sorted cycle times).".to_string(),
        "Outliers are cycle times above Q3 + 1.5 × IQR (Tukey's rule, nearest-rank quartiles), judged only with 4 or more items.".to_string(),
    ];
    assumptions.extend(window_note(from, to));
    if !without.is_empty() {
        assumptions.push(format!(
            "{} item{} went to done without ever being in progress; listed separately, not in the statistics.",
            without.len(),
            if without.len() == 1 { "" } else { "s" }
        ));
    }
    if undated > 0 {
        assumptions.push(format!(
            "{undated} done item{} had no date for starting or finishing (no creation date and no change recorded) and {} left out.",
            if undated == 1 { "" } else { "s" },
            if undated == 1 { "is" } else { "are" }
        ));
    }
    let mean = (n > 0).then(|| round2(sorted.iter().sum::<f64>() / n as f64));
    CycleTime {
        from,
        to,
        count: n,
        mean,
        p50: nearest_rank(&sorted, 50.0),
        p85: nearest_rank(&sorted, 85.0),
        p95: nearest_rank(&sorted, 95.0),
        outlier_threshold: threshold,
        outliers: outliers.into_iter().map(|(_, id)| id).collect(),
        items: done,
        done_without_in_progress: without,
        assumptions,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrendDay {
    pub date: NaiveDate,
    pub created: usize,
    /// Entries into done that day.
    pub resolved: usize,
    /// Exits from done that day.
    pub reopened: usize,
    /// `created + reopened - resolved`.
    pub net: i64,
    /// Items existing and not done at the end of the day.
    pub open_backlog: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct IssueTrend {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<TrendDay>,
    pub total_created: usize,
    pub total_resolved: usize,
    pub total_reopened: usize,
    /// Open at the end of the day before `from`.
    pub backlog_start: usize,
    /// Open at the end of `to`.
    pub backlog_end: usize,
    pub assumptions: Vec<String>,
}

/// Moves into and out of done: `(at, true)` for an entry into done, `(at, false)` for a reopen.
/// An item created already done enters done at its creation. Changes recorded before the
/// creation date fold into the state at creation.
fn done_events(tl: &Timeline<'_>) -> Vec<(DateTime<Utc>, bool)> {
    let segs = tl.segments();
    let mut out = Vec::new();
    let (mut prev_done, rest): (bool, Vec<_>) = match tl.item.created_at {
        Some(c) => {
            let d = tl.done_at(c);
            if d {
                out.push((c, true));
            }
            (
                d,
                segs.into_iter()
                    .filter(|s| s.start.is_some_and(|t| t > c))
                    .collect(),
            )
        }
        None => (
            segs.first()
                .is_some_and(|s| s.category == StatusCategory::Done),
            segs.into_iter().skip(1).collect(),
        ),
    };
    for s in rest {
        let (Some(at), is_done) = (s.start, s.category == StatusCategory::Done) else {
            continue;
        };
        if is_done != prev_done {
            out.push((at, is_done));
            prev_done = is_done;
        }
    }
    out
}

pub fn issue_trend(history: &History, from: NaiveDate, to: NaiveDate) -> IssueTrend {
    let items: Vec<Timeline<'_>> = history.items.iter().map(Timeline::new).collect();
    let (dates, cut) = days_between(from, to);
    let events: Vec<Vec<(DateTime<Utc>, bool)>> = items.iter().map(done_events).collect();
    let open_at = |t: DateTime<Utc>| {
        items
            .iter()
            .filter(|tl| tl.exists_at(t) && !tl.done_at(t))
            .count()
    };
    let backlog_start = open_at(day_end(from) - chrono::Duration::days(1));
    let mut days = Vec::with_capacity(dates.len());
    for date in dates {
        let created = items
            .iter()
            .filter(|tl| tl.item.created_at.is_some_and(|c| c.date_naive() == date))
            .count();
        let (mut resolved, mut reopened) = (0usize, 0usize);
        for (at, entered) in events.iter().flatten() {
            if at.date_naive() == date {
                if *entered {
                    resolved += 1;
                } else {
                    reopened += 1;
                }
            }
        }
        days.push(TrendDay {
            date,
            created,
            resolved,
            reopened,
            net: created as i64 + reopened as i64 - resolved as i64,
            open_backlog: open_at(day_end(date)),
        });
    }
    let mut assumptions = vec![
        DONE_RULE.to_string(),
        "Resolved counts entries into the done category that day (an item created done counts on its creation day); reopened counts exits from done; net is created + reopened − resolved; the open backlog is items existing and not done at the end of the day.".to_string(),
    ];
    assumptions.extend(window_note(from, to));
    assumptions.extend(cut);
    assumptions.extend(created_note(&items));
    IssueTrend {
        from,
        to,
        total_created: days.iter().map(|d| d.created).sum(),
        total_resolved: days.iter().map(|d| d.resolved).sum(),
        total_reopened: days.iter().map(|d| d.reopened).sum(),
        backlog_end: days.last().map_or(backlog_start, |d| d.open_backlog),
        backlog_start,
        days,
        assumptions,
    }
}
