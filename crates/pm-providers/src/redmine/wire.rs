//! Redmine's REST JSON, only the fields pm-mcp reads.
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub id: u64,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: u64,
    pub login: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub mail: Option<String>,
    /// 1 active, 2 registered, 3 locked.
    pub status: Option<u8>,
}

#[derive(Debug, Deserialize)]
pub struct UserOne {
    pub user: User,
}

#[derive(Debug, Deserialize)]
pub struct Users {
    #[serde(default)]
    pub users: Vec<User>,
    pub total_count: Option<u64>,
    #[serde(default)]
    pub offset: u64,
}

/// `GET /projects/:id/memberships.json`: a project's members, users or groups.
#[derive(Debug, Deserialize)]
pub struct Memberships {
    #[serde(default)]
    pub memberships: Vec<Membership>,
    pub total_count: Option<u64>,
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Deserialize)]
pub struct Membership {
    /// Absent where the member is a group (then `group` is set).
    pub user: Option<Named>,
}

#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub identifier: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectOne {
    pub project: Project,
}

/// A project with `include=trackers`: the trackers enabled in it, in Redmine's order (position).
#[derive(Debug, Deserialize)]
pub struct ProjectTrackers {
    pub id: u64,
    pub identifier: String,
    #[serde(default)]
    pub trackers: Vec<Named>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectTrackersOne {
    pub project: ProjectTrackers,
}

/// One hit of `/search.json` (`type` is "issue" with `issues=1`).
#[derive(Debug, Deserialize)]
pub struct SearchResult {
    pub id: u64,
    #[serde(default, rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct SearchResults {
    #[serde(default)]
    pub results: Vec<SearchResult>,
    pub total_count: Option<u64>,
}

/// A custom field's value on an object (`{"id": 3, "name": "Start date", "value": "2026-12-20"}`).
#[derive(Debug, Clone, Deserialize)]
pub struct CustomValue {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A custom field's definition, from `/custom_fields.json` (administrators only).
#[derive(Debug, Deserialize)]
pub struct CustomField {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub customized_type: String,
    #[serde(default)]
    pub field_format: String,
}

#[derive(Debug, Deserialize)]
pub struct CustomFields {
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
}

#[derive(Debug, Deserialize)]
pub struct Projects {
    #[serde(default)]
    pub projects: Vec<Project>,
    pub total_count: Option<u64>,
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Deserialize)]
pub struct IssueStatus {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub is_closed: bool,
}

#[derive(Debug, Deserialize)]
pub struct Statuses {
    #[serde(default)]
    pub issue_statuses: Vec<IssueStatus>,
}

#[derive(Debug, Deserialize)]
pub struct Trackers {
    #[serde(default)]
    pub trackers: Vec<Named>,
}

/// A tracker with the standard fields it enables (Redmine 3.4+; absent before).
#[derive(Debug, Deserialize)]
pub struct TrackerFields {
    pub id: u64,
    pub name: String,
    pub enabled_standard_fields: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct TrackersFields {
    #[serde(default)]
    pub trackers: Vec<TrackerFields>,
}

#[derive(Debug, Deserialize)]
pub struct Enumeration {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Priorities {
    #[serde(default)]
    pub issue_priorities: Vec<Enumeration>,
}

#[derive(Debug, Deserialize)]
pub struct Activities {
    #[serde(default)]
    pub time_entry_activities: Vec<Enumeration>,
}

#[derive(Debug, Deserialize)]
pub struct IdRef {
    pub id: u64,
}

#[derive(Debug, Deserialize)]
pub struct Journal {
    pub id: u64,
    pub user: Option<Named>,
    pub notes: Option<String>,
    pub created_on: Option<String>,
    #[serde(default)]
    pub details: Vec<JournalDetail>,
}

/// One changed attribute (`property: "attr"`, `name: "status_id"`, old and new ids).
#[derive(Debug, Deserialize)]
pub struct JournalDetail {
    pub property: Option<String>,
    pub name: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Issue {
    pub id: u64,
    pub project: Named,
    pub tracker: Option<Named>,
    pub status: Named,
    pub priority: Option<Named>,
    pub author: Option<Named>,
    pub assigned_to: Option<Named>,
    pub fixed_version: Option<Named>,
    pub parent: Option<IdRef>,
    pub subject: String,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub estimated_hours: Option<f64>,
    pub created_on: Option<String>,
    pub updated_on: Option<String>,
    #[serde(default)]
    pub journals: Vec<Journal>,
    #[serde(default)]
    pub allowed_statuses: Vec<Named>,
}

#[derive(Debug, Deserialize)]
pub struct IssueOne {
    pub issue: Issue,
}

#[derive(Debug, Deserialize)]
pub struct Issues {
    #[serde(default)]
    pub issues: Vec<Issue>,
    pub total_count: Option<u64>,
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Deserialize)]
pub struct Version {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// open, locked or closed.
    pub status: Option<String>,
    pub due_date: Option<String>,
    pub created_on: Option<String>,
    #[serde(default)]
    pub custom_fields: Vec<CustomValue>,
}

#[derive(Debug, Deserialize)]
pub struct VersionOne {
    pub version: Version,
}

#[derive(Debug, Deserialize)]
pub struct Versions {
    #[serde(default)]
    pub versions: Vec<Version>,
}

#[derive(Debug, Deserialize)]
pub struct TimeEntry {
    pub id: u64,
    pub user: Option<Named>,
    pub activity: Option<Named>,
    pub hours: f64,
    pub comments: Option<String>,
    pub spent_on: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TimeEntryOne {
    pub time_entry: TimeEntry,
}

#[derive(Debug, Deserialize)]
pub struct TimeEntries {
    #[serde(default)]
    pub time_entries: Vec<TimeEntry>,
    pub total_count: Option<u64>,
    #[serde(default)]
    pub offset: u64,
}

/// `{"errors": ["Subject cannot be blank", …]}`.
#[derive(Debug, Deserialize)]
pub struct Errors {
    #[serde(default)]
    pub errors: Vec<String>,
}
