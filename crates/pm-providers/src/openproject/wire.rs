//! OpenProject's API v3 HAL+JSON, only the fields pm-mcp reads. Links are `{href, title}`; a link
//! to nothing has `href: null`. Collections page by page number (`offset`) and `pageSize`.
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Link {
    pub href: Option<String>,
    pub title: Option<String>,
}

impl Link {
    /// The id at the end of the href (`/api/v3/users/5` → `5`).
    pub fn id(&self) -> Option<&str> {
        self.href
            .as_deref()
            .and_then(|h| h.split('?').next())
            .and_then(|h| h.rsplit('/').next())
            .filter(|s| !s.is_empty())
    }
}

/// Text with its format: `raw` is what was written (Markdown in OpenProject); `html` as shown
/// (read for activities' details).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Formattable {
    pub raw: Option<String>,
    pub html: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Collection<T> {
    pub total: Option<u64>,
    #[serde(rename = "_embedded")]
    pub embedded: Elements<T>,
    #[serde(rename = "_links", default)]
    pub links: CollectionLinks,
}

#[derive(Debug, Deserialize)]
pub struct Elements<T> {
    #[serde(default = "Vec::new")]
    pub elements: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CollectionLinks {
    #[serde(rename = "nextByOffset")]
    pub next_by_offset: Option<Link>,
}

#[derive(Debug, Deserialize)]
pub struct Root {
    #[serde(rename = "instanceName")]
    pub instance_name: Option<String>,
    /// Shown to administrators only.
    #[serde(rename = "coreVersion")]
    pub core_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: Option<String>,
    pub login: Option<String>,
    pub email: Option<String>,
    /// `active`, `registered`, `locked`, `invited`.
    pub status: Option<String>,
    #[serde(rename = "_type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: u64,
    pub identifier: String,
    pub name: String,
    pub description: Option<Formattable>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub id: u64,
    pub name: String,
    #[serde(rename = "isClosed", default)]
    pub is_closed: bool,
    #[serde(rename = "isDefault", default)]
    pub is_default: bool,
}

/// A type, a priority or a time-entry activity: an id and a name.
#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub id: u64,
    pub name: String,
    #[serde(rename = "isDefault", default)]
    pub is_default: bool,
    /// Types only: work packages of a milestone type have one `date`.
    #[serde(rename = "isMilestone", default)]
    pub is_milestone: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkPackage {
    pub id: u64,
    #[serde(rename = "lockVersion", default)]
    pub lock_version: u64,
    #[serde(default)]
    pub subject: String,
    pub description: Option<Formattable>,
    #[serde(rename = "dueDate")]
    pub due_date: Option<String>,
    #[serde(rename = "storyPoints")]
    pub story_points: Option<f64>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    #[serde(rename = "_links", default)]
    pub links: WorkPackageLinks,
    /// Every other property, custom fields (`customField7`) among them.
    #[serde(flatten)]
    pub other: HashMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkPackageLinks {
    #[serde(default)]
    pub schema: Link,
    #[serde(default)]
    pub status: Link,
    #[serde(rename = "type", default)]
    pub kind: Link,
    #[serde(default)]
    pub priority: Link,
    #[serde(default)]
    pub project: Link,
    #[serde(default)]
    pub author: Link,
    #[serde(default)]
    pub assignee: Link,
    #[serde(default)]
    pub parent: Link,
    #[serde(default)]
    pub version: Link,
    #[serde(rename = "timeEntries", default)]
    pub time_entries: Link,
}

/// A work package's schema: property key → its description (name, type, allowed values).
#[derive(Debug, Deserialize)]
pub struct Schema {
    #[serde(flatten)]
    pub properties: HashMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct Form {
    #[serde(rename = "_embedded")]
    pub embedded: FormEmbedded,
}

#[derive(Debug, Default, Deserialize)]
pub struct FormEmbedded {
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(rename = "validationErrors", default)]
    pub validation_errors: HashMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct Activity {
    pub id: u64,
    pub comment: Option<Formattable>,
    /// What changed, one sentence each ("Status changed from New to In progress").
    #[serde(default)]
    pub details: Vec<Formattable>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    #[serde(rename = "_links", default)]
    pub links: ActivityLinks,
}

#[derive(Debug, Default, Deserialize)]
pub struct ActivityLinks {
    #[serde(default)]
    pub user: Link,
}

#[derive(Debug, Deserialize)]
pub struct TimeEntry {
    pub id: u64,
    pub comment: Option<Formattable>,
    #[serde(rename = "spentOn")]
    pub spent_on: Option<String>,
    /// An ISO-8601 duration, e.g. `PT1H30M`.
    pub hours: Option<String>,
    #[serde(rename = "_links", default)]
    pub links: TimeEntryLinks,
}

#[derive(Debug, Default, Deserialize)]
pub struct TimeEntryLinks {
    #[serde(default)]
    pub user: Link,
    #[serde(default)]
    pub activity: Link,
}

#[derive(Debug, Deserialize)]
pub struct Version {
    pub id: u64,
    pub name: String,
    pub description: Option<Formattable>,
    #[serde(rename = "startDate")]
    pub start_date: Option<String>,
    #[serde(rename = "endDate")]
    pub end_date: Option<String>,
    /// `open`, `locked` or `closed`.
    pub status: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    #[serde(rename = "_links", default)]
    pub links: VersionLinks,
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionLinks {
    #[serde(rename = "definingProject", default)]
    pub defining_project: Link,
}

/// OpenProject's error body: one message, or several under `_embedded.errors`.
#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(rename = "errorIdentifier")]
    pub identifier: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "_embedded")]
    pub embedded: Option<ErrorEmbedded>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorEmbedded {
    #[serde(default)]
    pub errors: Vec<Error>,
}
