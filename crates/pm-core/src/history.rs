//! What happened to work items over time, as trackers record it (Jira's changelog, OpenProject's
//! activities, Redmine's journals, ClickUp's status history): the input of every analytics
//! computation. Providers fill these in; `analytics` reads them and never calls a tracker.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Status, User};

/// A status change: when the item entered `to` (and left `from`, unknown for the first one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub from: Option<Status>,
    pub to: Status,
}

/// The item joined (`added`) or left a sprint at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SprintMove {
    pub at: DateTime<Utc>,
    pub sprint_id: String,
    pub added: bool,
}

/// The item's estimate changed (story points, or seconds for time estimates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateChange {
    pub at: DateTime<Utc>,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// One work item with its history. Every list of changes is sorted by time, oldest first.
/// Fields the tracker does not record are `None` or empty; analytics states what it assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemHistory {
    /// The tracker's native id.
    pub id: String,
    pub title: String,
    pub task_type: Option<String>,
    pub priority: Option<String>,
    pub assignee: Option<User>,
    pub created_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    /// The status now.
    pub status: Status,
    /// Story points now.
    pub points: Option<f64>,
    /// Original time estimate now, in seconds.
    pub estimate_seconds: Option<i64>,
    /// Flagged or blocked now (Jira's flag, a "blocked" status or relation, where known).
    pub blocked: bool,
    pub status_changes: Vec<StatusChange>,
    pub sprint_moves: Vec<SprintMove>,
    pub points_changes: Vec<EstimateChange>,
    pub estimate_changes: Vec<EstimateChange>,
}

/// What a provider could read, so results can say what they rest on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistorySource {
    /// e.g. "Jira changelog", "Redmine journals".
    pub history: String,
    /// The field story points were read from, if any (e.g. "customfield_10016").
    pub points_field: Option<String>,
    /// Whether sprint membership changes are recorded (else only the current sprint is known).
    pub sprint_moves_known: bool,
    /// Whether estimate changes are recorded.
    pub estimate_changes_known: bool,
}

/// A set of items with their history and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub items: Vec<ItemHistory>,
    pub source: HistorySource,
}
