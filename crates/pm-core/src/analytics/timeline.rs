//! One item's history, sorted and queryable at any instant: its status category, its estimate,
//! whether it was in a given sprint. Every analytics computation reads items through this.
use chrono::{DateTime, Utc};

use super::Metric;
use crate::domain::StatusCategory;
use crate::history::{EstimateChange, ItemHistory, SprintMove, StatusChange};

/// A stretch of time an item spent in one status category. `start` is `None` for the first
/// stretch of an item whose creation date is unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub start: Option<DateTime<Utc>>,
    pub category: StatusCategory,
}

pub(crate) struct Timeline<'a> {
    pub item: &'a ItemHistory,
    changes: Vec<&'a StatusChange>,
    points: Vec<&'a EstimateChange>,
    estimates: Vec<&'a EstimateChange>,
    moves: Vec<&'a SprintMove>,
}

fn sorted<T>(list: &[T], at: impl Fn(&T) -> DateTime<Utc>) -> Vec<&T> {
    let mut v: Vec<&T> = list.iter().collect();
    // Stable: changes recorded at the same instant keep the provider's order.
    v.sort_by_key(|x| at(x));
    v
}

impl<'a> Timeline<'a> {
    pub fn new(item: &'a ItemHistory) -> Self {
        Self {
            item,
            changes: sorted(&item.status_changes, |c| c.at),
            points: sorted(&item.points_changes, |c| c.at),
            estimates: sorted(&item.estimate_changes, |c| c.at),
            moves: sorted(&item.sprint_moves, |m| m.at),
        }
    }

    pub fn id(&self) -> &str {
        &self.item.id
    }

    /// Whether the item existed at `t` (always, when its creation date is unknown).
    pub fn exists_at(&self, t: DateTime<Utc>) -> bool {
        self.item.created_at.is_none_or(|c| c <= t)
    }

    /// The category the item was in before any recorded change.
    fn initial_category(&self) -> StatusCategory {
        match self.changes.first() {
            Some(first) => first
                .from
                .as_ref()
                .map_or(StatusCategory::Todo, |s| s.category),
            None => self.item.status.category,
        }
    }

    /// The status category at instant `t` (changes at exactly `t` have happened).
    pub fn category_at(&self, t: DateTime<Utc>) -> StatusCategory {
        match self.changes.iter().rev().find(|c| c.at <= t) {
            Some(c) => c.to.category,
            None => self.initial_category(),
        }
    }

    /// The status name at instant `t`.
    pub fn status_name_at(&self, t: DateTime<Utc>) -> String {
        match self.changes.iter().rev().find(|c| c.at <= t) {
            Some(c) => c.to.name.clone(),
            None => match self.changes.first() {
                Some(first) => first
                    .from
                    .as_ref()
                    .map_or_else(|| "(unknown)".to_string(), |s| s.name.clone()),
                None => self.item.status.name.clone(),
            },
        }
    }

    pub fn done_at(&self, t: DateTime<Utc>) -> bool {
        self.category_at(t) == StatusCategory::Done
    }

    /// The stretches of time in each category, consecutive equal categories merged.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = vec![Segment {
            start: self.item.created_at,
            category: self.initial_category(),
        }];
        for c in &self.changes {
            let last = out.last().map(|s| s.category);
            if last != Some(c.to.category) {
                out.push(Segment {
                    start: Some(c.at),
                    category: c.to.category,
                });
            }
        }
        out
    }

    /// When the item last changed status (or was created, without changes).
    pub fn last_status_change(&self) -> Option<DateTime<Utc>> {
        self.changes.last().map(|c| c.at).or(self.item.created_at)
    }

    fn estimate_at(
        changes: &[&EstimateChange],
        current: Option<f64>,
        t: DateTime<Utc>,
    ) -> Option<f64> {
        let v = match changes.iter().rev().find(|c| c.at <= t) {
            Some(c) => c.to,
            None => match changes.first() {
                Some(first) => first.from,
                None => current,
            },
        };
        v.filter(|x| x.is_finite())
    }

    /// The item's size in `metric` at instant `t`; `None` when it had no estimate then.
    pub fn value_at(&self, metric: Metric, t: DateTime<Utc>) -> Option<f64> {
        match metric {
            Metric::TaskCount => Some(1.0),
            Metric::StoryPoints => Self::estimate_at(&self.points, self.item.points, t),
            Metric::Hours => Self::estimate_at(
                &self.estimates,
                self.item.estimate_seconds.map(|s| s as f64),
                t,
            )
            .map(|s| s / 3600.0),
        }
    }

    /// The estimate changes of `metric` (empty for task count).
    pub fn estimate_changes(&self, metric: Metric) -> &[&'a EstimateChange] {
        match metric {
            Metric::TaskCount => &[],
            Metric::StoryPoints => &self.points,
            Metric::Hours => &self.estimates,
        }
    }

    /// Whether the item was in sprint `sprint_id` at instant `t`. With no recorded move for that
    /// sprint, it has been in it since it was created; before a first recorded `added` move it
    /// was not in it; before a first recorded removal it was.
    pub fn in_sprint_at(&self, sprint_id: &str, t: DateTime<Utc>) -> bool {
        if !self.exists_at(t) {
            return false;
        }
        let mut moves = self.moves.iter().filter(|m| m.sprint_id == sprint_id);
        let Some(first) = moves.next() else {
            return true;
        };
        if first.at > t {
            return !first.added;
        }
        let mut state = first.added;
        for m in moves {
            if m.at > t {
                break;
            }
            state = m.added;
        }
        state
    }

    /// Instants in `(after, upto]` at which membership of `sprint_id` may change: recorded
    /// moves for that sprint and the item's creation.
    pub fn membership_instants(
        &self,
        sprint_id: &str,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut v: Vec<DateTime<Utc>> = self
            .moves
            .iter()
            .filter(|m| m.sprint_id == sprint_id)
            .map(|m| m.at)
            .chain(self.item.created_at)
            .filter(|&t| t > after && t <= upto)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether any move of `sprint_id` is recorded for this item.
    pub fn has_moves_for(&self, sprint_id: &str) -> bool {
        self.moves.iter().any(|m| m.sprint_id == sprint_id)
    }

    /// The earliest recorded move into `sprint_id`.
    pub fn first_added_to(&self, sprint_id: &str) -> Option<DateTime<Utc>> {
        self.moves
            .iter()
            .find(|m| m.sprint_id == sprint_id && m.added)
            .map(|m| m.at)
    }

    /// The latest instant this item's history mentions.
    pub fn latest_instant(&self) -> Option<DateTime<Utc>> {
        self.changes
            .iter()
            .map(|c| c.at)
            .chain(self.moves.iter().map(|m| m.at))
            .chain(self.points.iter().map(|c| c.at))
            .chain(self.estimates.iter().map(|c| c.at))
            .chain(self.item.created_at)
            .max()
    }
}
