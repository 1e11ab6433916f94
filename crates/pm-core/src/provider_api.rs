//! The `Provider` trait every tracker implements, and its one error type. Operations a tracker
//! cannot do answer `ProviderError::Unsupported` — a clear refusal, never a fake success.
use std::time::Duration;

use async_trait::async_trait;

use crate::ProviderKind;
use crate::domain::{
    Comment, Page, PageRequest, Project, Sprint, SprintState, Task, User, Vocabulary, Worklog,
};
use crate::history::History;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The credentials were refused (401).
    #[error(
        "{provider} refused the credentials ({message}); check the token, then run configure_pm_provider again"
    )]
    Auth {
        provider: &'static str,
        message: String,
    },
    /// Authenticated, but not allowed (403).
    #[error("{provider} does not allow this for the connection's account: {message}")]
    Forbidden {
        provider: &'static str,
        message: String,
    },
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("{provider} is rate-limiting requests; retry in {} s", retry_after.map_or(60, |d| d.as_secs()))]
    RateLimited {
        provider: &'static str,
        retry_after: Option<Duration>,
    },
    #[error("{provider} reported a conflict: {message}")]
    Conflict {
        provider: &'static str,
        message: String,
    },
    /// The tracker refused the input (400/422); the message is its own explanation.
    #[error("{provider} refused the request: {message}")]
    Invalid {
        provider: &'static str,
        message: String,
    },
    #[error("{provider} failed (HTTP {status}): {message}")]
    Upstream {
        provider: &'static str,
        status: u16,
        message: String,
    },
    #[error("{provider} did not answer in time")]
    Timeout { provider: &'static str },
    #[error("cannot reach {provider}: {message}")]
    Network {
        provider: &'static str,
        message: String,
    },
    #[error("{provider} sent an answer pm-mcp cannot read: {message}")]
    Decode {
        provider: &'static str,
        message: String,
    },
    #[error("{operation} is not supported by {provider}")]
    Unsupported {
        provider: &'static str,
        operation: &'static str,
    },
    /// Bad input caught before calling the tracker.
    #[error("{0}")]
    BadInput(String),
    /// The SSRF guard refused the address (loopback, private, link-local, metadata …) or scheme.
    #[error("{provider} was not called: {message}")]
    Blocked {
        provider: &'static str,
        message: String,
    },
    /// The circuit breaker is open: the tracker failed too often in a row to be called now.
    #[error("{provider} is not answering: {message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },
}

impl ProviderError {
    /// The same error with its message rewritten by `f`, keeping its kind; `Err(self)` for the
    /// kinds that carry no message of their own (not found, rate limited, timeout, unsupported).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Result<Self, Self> {
        use ProviderError as E;
        Ok(match self {
            E::Auth { provider, message } => E::Auth {
                provider,
                message: f(message),
            },
            E::Forbidden { provider, message } => E::Forbidden {
                provider,
                message: f(message),
            },
            E::Invalid { provider, message } => E::Invalid {
                provider,
                message: f(message),
            },
            E::Conflict { provider, message } => E::Conflict {
                provider,
                message: f(message),
            },
            E::Upstream {
                provider,
                status,
                message,
            } => E::Upstream {
                provider,
                status,
                message: f(message),
            },
            E::Network { provider, message } => E::Network {
                provider,
                message: f(message),
            },
            E::Decode { provider, message } => E::Decode {
                provider,
                message: f(message),
            },
            E::Blocked { provider, message } => E::Blocked {
                provider,
                message: f(message),
            },
            E::Unavailable { provider, message } => E::Unavailable {
                provider,
                message: f(message),
            },
            E::BadInput(message) => E::BadInput(f(message)),
            other @ (E::NotFound { .. }
            | E::RateLimited { .. }
            | E::Timeout { .. }
            | E::Unsupported { .. }) => return Err(other),
        })
    }

    /// Stable machine-readable kind, for audit rows.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::Auth { .. } => "auth",
            ProviderError::Forbidden { .. } => "forbidden",
            ProviderError::NotFound { .. } => "not_found",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Conflict { .. } => "conflict",
            ProviderError::Invalid { .. } => "invalid",
            ProviderError::Upstream { .. } => "upstream",
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::Network { .. } => "network",
            ProviderError::Decode { .. } => "decode",
            ProviderError::Unsupported { .. } => "unsupported",
            ProviderError::BadInput(_) => "bad_input",
            ProviderError::Blocked { .. } => "blocked",
            ProviderError::Unavailable { .. } => "unavailable",
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// What a provider reports about the site behind a connection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct SiteInfo {
    /// e.g. "Jira Cloud", "Jira Data Center 9.12.4".
    pub product: String,
    pub version: Option<String>,
    pub base_url: String,
    /// The workspace (team) the connection works in, where the tracker has them (ClickUp).
    pub workspace_id: Option<String>,
}

/// Whose tasks a query wants.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignee {
    /// The account the connection signs in as (never the pm-mcp user id).
    Me,
    Nobody,
    /// A tracker user id.
    User(String),
}

/// Which tasks to list; every part optional, all parts must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    pub project: Option<String>,
    pub sprint: Option<String>,
    pub assignee: Option<Assignee>,
    /// Status names; any of them.
    pub statuses: Vec<String>,
    /// Free text to find.
    pub text: Option<String>,
}

/// A task to create. Text is Markdown; the provider converts it to its own rich text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTask {
    pub project: String,
    pub title: String,
    pub description: Option<String>,
    pub task_type: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<String>,
    pub due_date: Option<chrono::NaiveDate>,
    pub parent: Option<String>,
    pub labels: Vec<String>,
    /// The sprint to create it in; only used where `Provider::creates_in_sprint` says so.
    pub sprint: Option<String>,
    /// Only used where `Provider::creates_in_sprint` says so.
    pub story_points: Option<f64>,
}

/// Changes to a task; `None` leaves a field as it is. Text is Markdown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub due_date: Option<chrono::NaiveDate>,
    pub labels: Option<Vec<String>>,
    /// Hours (the tracker's original estimate).
    pub estimated_hours: Option<f64>,
    /// Hours of work left (Jira's remaining estimate, OpenProject's remaining work).
    pub remaining_hours: Option<f64>,
    /// Move into this sprint.
    pub sprint: Option<String>,
    pub story_points: Option<f64>,
}

/// A sprint to create in a project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSprint {
    pub project: String,
    pub name: String,
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    pub goal: Option<String>,
}

/// Changes to a sprint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SprintChange {
    pub name: Option<String>,
    pub goal: Option<String>,
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
}

/// One tracker, reached through one connection's credentials.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The account the connection's credentials belong to.
    async fn whoami(&self) -> ProviderResult<User>;

    /// This client for a bulk change (`bulk_update_tasks`): a tracker that tells people of every
    /// change (OpenProject mails each watcher, author and assignee) stays quiet there unless the
    /// connection asks otherwise. `None`: this client serves as it is.
    fn for_bulk(&self) -> Option<std::sync::Arc<dyn Provider>> {
        None
    }

    /// What product and version answers at the base URL.
    async fn site(&self) -> ProviderResult<SiteInfo>;

    async fn list_projects(&self, _page: &PageRequest) -> ProviderResult<Page<Project>> {
        Err(self.unsupported("listing projects"))
    }

    async fn search_projects(
        &self,
        _query: &str,
        _page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        Err(self.unsupported("searching projects"))
    }

    async fn get_project(&self, _id: &str) -> ProviderResult<Project> {
        Err(self.unsupported("reading a project"))
    }

    /// Creates a project; `key` is derived from the name when not given.
    async fn create_project(
        &self,
        _name: &str,
        _key: Option<&str>,
        _description: Option<&str>,
    ) -> ProviderResult<Project> {
        Err(self.unsupported("creating projects"))
    }

    async fn update_project(
        &self,
        _id: &str,
        _name: Option<&str>,
        _description: Option<&str>,
    ) -> ProviderResult<Project> {
        Err(self.unsupported("changing projects"))
    }

    /// The project statuses `update_project_status` takes (e.g. "on_track"); empty where the
    /// tracker's projects have none.
    fn project_statuses(&self) -> &'static [&'static str] {
        &[]
    }

    /// Sets a project's status, one of `project_statuses`.
    async fn update_project_status(&self, _id: &str, _status: &str) -> ProviderResult<Project> {
        Err(self.unsupported("a project status"))
    }

    async fn delete_project(&self, _id: &str) -> ProviderResult<()> {
        Err(self.unsupported("deleting projects"))
    }

    /// A project's statuses (with their category), priorities and task types; with `task`, also
    /// the statuses that task can move to from its current one.
    async fn project_vocabulary(
        &self,
        _project: &str,
        _task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        Err(self.unsupported("reading a project's statuses, priorities and task types"))
    }

    async fn search_tasks(
        &self,
        _query: &TaskQuery,
        _page: &PageRequest,
    ) -> ProviderResult<Page<Task>> {
        Err(self.unsupported("listing tasks"))
    }

    async fn get_task(&self, _id: &str) -> ProviderResult<Task> {
        Err(self.unsupported("reading a task"))
    }

    async fn create_task(&self, _task: &NewTask) -> ProviderResult<Task> {
        Err(self.unsupported("creating tasks"))
    }

    /// Whether `create_task` itself honours `NewTask::sprint` and `NewTask::story_points` (set
    /// in the one write, or refused before anything is written). When not, the caller leaves
    /// them out of `NewTask` and sets them with `update_task` once the task exists.
    fn creates_in_sprint(&self) -> bool {
        false
    }

    /// Checks, without changing anything, that task `id` can move to `status` now: a refusal
    /// the move would meet (no transition to it, a field its screen requires) comes before any
    /// other change of the same call is written. The default checks nothing.
    async fn check_transition(&self, _id: &str, _status: &str) -> ProviderResult<()> {
        Ok(())
    }

    /// Moves a task to the status named `status` through the workflow; when no transition leads
    /// there, the error lists the statuses that can be reached.
    async fn transition_task(&self, _id: &str, _status: &str) -> ProviderResult<Task> {
        Err(self.unsupported("changing a task's status"))
    }

    /// Assigns a task to a tracker user, or unassigns it (`None`).
    async fn assign_task(&self, _id: &str, _assignee: Option<&str>) -> ProviderResult<()> {
        Err(self.unsupported("assigning tasks"))
    }

    async fn add_comment(&self, _task: &str, _markdown: &str) -> ProviderResult<Comment> {
        Err(self.unsupported("commenting"))
    }

    async fn list_comments(
        &self,
        _task: &str,
        _page: &PageRequest,
    ) -> ProviderResult<Page<Comment>> {
        Err(self.unsupported("reading comments"))
    }

    async fn log_work(
        &self,
        _task: &str,
        _seconds: i64,
        _started: chrono::DateTime<chrono::Utc>,
        _comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        Err(self.unsupported("logging work"))
    }

    async fn list_worklogs(
        &self,
        _task: &str,
        _page: &PageRequest,
    ) -> ProviderResult<Page<Worklog>> {
        Err(self.unsupported("reading worklogs"))
    }

    async fn update_task(&self, _id: &str, _change: &TaskChange) -> ProviderResult<Task> {
        Err(self.unsupported("changing tasks"))
    }

    async fn delete_task(&self, _id: &str) -> ProviderResult<()> {
        Err(self.unsupported("deleting tasks"))
    }

    async fn add_watcher(&self, _task: &str, _user: &str) -> ProviderResult<()> {
        Err(self.unsupported("adding watchers"))
    }

    /// Links two tasks with a link type by name (e.g. "Relates", "Blocks").
    async fn link_tasks(&self, _from: &str, _to: &str, _link_type: &str) -> ProviderResult<()> {
        Err(self.unsupported("linking tasks"))
    }

    async fn list_users(&self, _query: &str, _page: &PageRequest) -> ProviderResult<Page<User>> {
        Err(self.unsupported("listing users"))
    }

    /// The people who are members of a project (who can be assigned its tasks), those whose
    /// name or e-mail matches `query` when it is not empty.
    async fn list_project_members(
        &self,
        _project: &str,
        _query: &str,
        _page: &PageRequest,
    ) -> ProviderResult<Page<User>> {
        Err(self.unsupported("listing a project's members"))
    }

    async fn get_user(&self, _id: &str) -> ProviderResult<User> {
        Err(self.unsupported("reading a user"))
    }

    /// Epics of a project (tasks of the epic type).
    async fn list_epics(&self, _project: &str, _page: &PageRequest) -> ProviderResult<Page<Task>> {
        Err(self.unsupported("listing epics"))
    }

    /// Puts a task under an epic, or takes it out of its epic (`None`).
    async fn set_epic(&self, _task: &str, _epic: Option<&str>) -> ProviderResult<()> {
        Err(self.unsupported("linking tasks to epics"))
    }

    /// A project's sprints in the given states (all states when empty).
    async fn list_sprints(
        &self,
        _project: &str,
        _states: &[SprintState],
        _page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        Err(self.unsupported("listing sprints"))
    }

    /// `list_sprints` on a board the caller names (Jira: a project may have several); `None`
    /// is the project's own. Trackers without boards refuse a board in words.
    async fn list_board_sprints(
        &self,
        project: &str,
        board: Option<&str>,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        match board {
            Some(_) => Err(self.unsupported("choosing a board (board_id)")),
            None => self.list_sprints(project, states, page).await,
        }
    }

    async fn get_sprint(&self, _id: &str) -> ProviderResult<Sprint> {
        Err(self.unsupported("reading a sprint"))
    }

    async fn create_sprint(&self, _sprint: &NewSprint) -> ProviderResult<Sprint> {
        Err(self.unsupported("creating sprints"))
    }

    /// `create_sprint` on a board the caller names (see `list_board_sprints`); a tracker without
    /// boards refuses one before writing anything.
    async fn create_board_sprint(
        &self,
        sprint: &NewSprint,
        board: Option<&str>,
    ) -> ProviderResult<Sprint> {
        match board {
            Some(_) => Err(self.unsupported("choosing a board (board_id)")),
            None => self.create_sprint(sprint).await,
        }
    }

    async fn update_sprint(&self, _id: &str, _change: &SprintChange) -> ProviderResult<Sprint> {
        Err(self.unsupported("changing sprints"))
    }

    async fn start_sprint(&self, _id: &str, _change: &SprintChange) -> ProviderResult<Sprint> {
        Err(self.unsupported("starting sprints"))
    }

    async fn complete_sprint(&self, _id: &str) -> ProviderResult<Sprint> {
        Err(self.unsupported("completing sprints"))
    }

    /// Whether `complete_sprint` can close an active sprint here, so a caller combining it with
    /// other changes can refuse before writing any of them.
    fn completes_sprints(&self) -> bool {
        false
    }

    async fn delete_sprint(&self, _id: &str) -> ProviderResult<()> {
        Err(self.unsupported("deleting sprints"))
    }

    /// The items of one sprint with their history (status changes, sprint moves, estimate
    /// changes), at most `max_items`: one paged search for the sprint's items with the history
    /// in bulk where the tracker allows it.
    async fn sprint_history(&self, _sprint: &str, _max_items: u32) -> ProviderResult<History> {
        Err(self.unsupported("reading a sprint's history"))
    }

    /// A project's open items and the items changed since `since`, with their history, at
    /// most `max_items`.
    async fn project_history(
        &self,
        _project: &str,
        _since: chrono::DateTime<chrono::Utc>,
        _max_items: u32,
    ) -> ProviderResult<History> {
        Err(self.unsupported("reading a project's history"))
    }

    fn unsupported(&self, operation: &'static str) -> ProviderError {
        ProviderError::Unsupported {
            provider: self.kind().display_name(),
            operation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_rewritten_and_the_kind_kept() {
        let e = ProviderError::Upstream {
            provider: "ClickUp",
            status: 502,
            message: "bad gateway".into(),
        };
        let noted = e
            .map_message(|m| format!("{m}; note"))
            .expect("has a message");
        assert_eq!(noted.kind(), "upstream");
        assert_eq!(
            noted.to_string(),
            "ClickUp failed (HTTP 502): bad gateway; note"
        );
        let timeout = ProviderError::Timeout {
            provider: "ClickUp",
        };
        let kept = timeout
            .map_message(|m| m + "!")
            .expect_err("no message of its own");
        assert_eq!(kept.kind(), "timeout");
    }
}
