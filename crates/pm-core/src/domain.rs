//! The common language of every tracker: projects, tasks, sprints, users, comments, worklogs.
//! Providers map their wire types into these; tools render these. Ids here are the provider's
//! native ids; the tool layer qualifies them with the connection handle (`acme-jira:PROJ-42`).
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a status sits in the flow of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    Todo,
    InProgress,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    pub name: String,
    pub category: StatusCategory,
}

/// A person as a tracker knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    pub id: String,
    /// A short key where the tracker has one (Jira `PROJ`, Redmine identifier).
    pub key: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub lead: Option<User>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    pub id: String,
    pub key: Option<String>,
    pub title: String,
    /// Markdown.
    pub description: Option<String>,
    pub status: Status,
    pub priority: Option<String>,
    pub task_type: Option<String>,
    pub assignee: Option<User>,
    pub reporter: Option<User>,
    pub project_id: Option<String>,
    pub parent_id: Option<String>,
    pub story_points: Option<f64>,
    pub due_date: Option<NaiveDate>,
    pub labels: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SprintState {
    Future,
    Active,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sprint {
    pub id: String,
    pub name: String,
    pub state: SprintState,
    pub goal: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub board_id: Option<String>,
    /// What the tracker did besides (e.g. the board used, or the unfinished tasks a completed
    /// sprint sent back to the backlog).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    pub id: String,
    pub author: Option<User>,
    /// Markdown.
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Worklog {
    pub id: String,
    pub author: Option<User>,
    pub started_at: Option<DateTime<Utc>>,
    pub seconds: i64,
    pub comment: Option<String>,
}

/// One page of a list, and where the next one starts (opaque to callers).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which page a caller wants: an opaque position from the previous page, and a size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 100;

    pub fn new(cursor: Option<String>, limit: Option<u32>) -> Self {
        Self {
            cursor,
            limit: limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
        }
    }
}

/// A kind of task a project takes: a Jira issue type, an OpenProject type, a Redmine tracker, a
/// ClickUp task type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskType {
    pub name: String,
    /// Epics are tasks of this type.
    pub is_epic: bool,
    /// The type create_task uses when none is given.
    pub is_default: bool,
}

impl TaskType {
    /// A project's types in the tracker's order, as create_task chooses among them: the default
    /// is the one named "Task", else the first; `epic` says whether the type named "Epic" makes
    /// epics on this tracker.
    pub fn in_order<'a>(names: impl IntoIterator<Item = &'a str>, epic: bool) -> Vec<TaskType> {
        let names: Vec<&str> = names.into_iter().collect();
        let default = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case("Task"))
            .or((!names.is_empty()).then_some(0));
        names
            .iter()
            .enumerate()
            .map(|(i, n)| TaskType {
                name: n.to_string(),
                is_epic: epic && n.eq_ignore_ascii_case("Epic"),
                is_default: Some(i) == default,
            })
            .collect()
    }
}

/// A move the workflow allows a task to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    pub to_status: String,
    /// The transition's own name, where the tracker names them (Jira).
    pub name: Option<String>,
}

/// The words a project takes: its statuses, priorities and task types, in the tracker's order,
/// and the moves one task can make.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Vocabulary {
    pub statuses: Vec<Status>,
    pub priorities: Vec<String>,
    pub task_types: Vec<TaskType>,
    /// Only when a task was named: where it can move from its current status.
    pub transitions: Option<Vec<Transition>>,
    /// What the tracker lacks or how it differs.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod task_type_tests {
    use super::TaskType;

    #[test]
    fn the_default_type_is_task_else_the_first() {
        let t = TaskType::in_order(["Bug", "Task", "Epic"], true);
        let flags: Vec<(bool, bool)> = t.iter().map(|t| (t.is_default, t.is_epic)).collect();
        assert_eq!(flags, [(false, false), (true, false), (false, true)]);
        let t = TaskType::in_order(["Bug", "Feature", "Epic"], false);
        assert!(t[0].is_default && !t.iter().any(|t| t.is_epic));
        assert!(TaskType::in_order([], true).is_empty());
    }
}
