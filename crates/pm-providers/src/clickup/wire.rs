//! ClickUp API v2 JSON, only the fields pm-mcp reads. ClickUp is loose with types (ids and epoch
//! milliseconds arrive as numbers or strings, `priority` as an object or a number, list members as
//! objects or bare ids), so the readers here accept each documented variant.
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string or a number, as a string.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

/// A string or a number holding an integer (epoch milliseconds, durations); null or "" is none.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    })
}

/// A number or a numeric string; null or "" is none.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    })
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub initials: Option<String>,
    /// The user's time zone (IANA name), on `GET /v2/user`.
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserOne {
    pub user: User,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub user: User,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<Member>,
}

#[derive(Debug, Deserialize)]
pub struct Teams {
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// A status a space or list offers: its name and ClickUp's type (open, custom, done, closed).
#[derive(Debug, Clone, Deserialize)]
pub struct StatusDef {
    pub status: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Space {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub statuses: Vec<StatusDef>,
    pub private: Option<bool>,
    pub color: Option<String>,
    pub admin_can_manage: Option<bool>,
    pub multiple_assignees: Option<bool>,
    pub features: Option<Value>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
pub struct Spaces {
    #[serde(default)]
    pub spaces: Vec<Space>,
}

/// `{id, name}` of a containing space, folder or list.
#[derive(Debug, Clone, Deserialize)]
pub struct Ref {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Folder {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
pub struct Folders {
    #[serde(default)]
    pub folders: Vec<Folder>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    pub content: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_date: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub due_date: Option<i64>,
    pub folder: Option<Ref>,
    pub space: Option<Ref>,
    #[serde(default)]
    pub statuses: Vec<StatusDef>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
pub struct Lists {
    #[serde(default)]
    pub lists: Vec<List>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaskStatus {
    pub status: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomField {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Fields {
    #[serde(default)]
    pub fields: Vec<CustomField>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub custom_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub custom_item_id: Option<i64>,
    pub name: String,
    pub markdown_description: Option<String>,
    pub text_content: Option<String>,
    pub description: Option<String>,
    pub status: TaskStatus,
    #[serde(default, deserialize_with = "opt_i64")]
    pub date_created: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub date_updated: Option<i64>,
    pub creator: Option<User>,
    /// User objects (bare ids in some of ClickUp's answers are skipped).
    #[serde(default)]
    pub assignees: Vec<Value>,
    /// `{name, ...}` objects or bare names.
    #[serde(default)]
    pub tags: Vec<Value>,
    pub parent: Option<String>,
    /// `{id, priority, ...}`, a bare number 1–4, or null.
    pub priority: Option<Value>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub due_date: Option<i64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub points: Option<f64>,
    /// Milliseconds.
    #[serde(default, deserialize_with = "opt_i64")]
    pub time_estimate: Option<i64>,
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    pub url: Option<String>,
    pub list: Option<Ref>,
    pub space: Option<Ref>,
}

#[derive(Debug, Deserialize)]
pub struct Tasks {
    #[serde(default)]
    pub tasks: Vec<Task>,
    pub last_page: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// The rich form: `{text, attributes}` segments.
    #[serde(default)]
    pub comment: Vec<Value>,
    #[serde(default)]
    pub comment_text: String,
    pub user: Option<User>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub date: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Comments {
    #[serde(default)]
    pub comments: Vec<Comment>,
}

#[derive(Debug, Deserialize)]
pub struct CommentCreated {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub date: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Interval {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub time: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub date_added: Option<i64>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TrackedByUser {
    pub user: Option<User>,
    #[serde(default)]
    pub intervals: Vec<Interval>,
}

#[derive(Debug, Deserialize)]
pub struct Tracked {
    #[serde(default)]
    pub data: Vec<TrackedByUser>,
}

/// A created time entry: ClickUp wraps it in `data`; the published example shows it bare.
#[derive(Debug, Deserialize)]
pub struct TimeEntryCreated {
    pub data: Option<TimeEntry>,
    #[serde(flatten)]
    pub bare: TimeEntry,
}

/// `GET /team/{team_Id}/time_entries`.
#[derive(Debug, Deserialize)]
pub struct TimeEntries {
    #[serde(default)]
    pub data: Vec<TimeEntry>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TimeEntry {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
    pub user: Option<User>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub duration: Option<i64>,
    pub description: Option<String>,
}

pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomItem {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct CustomItems {
    #[serde(default)]
    pub custom_items: Vec<CustomItem>,
}

/// The custom task types answer: an object, or (as the published example shows it) that object
/// in an array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CustomItemsAnswer {
    One(CustomItems),
    Wrapped(Vec<CustomItems>),
}

impl CustomItemsAnswer {
    pub fn into_items(self) -> Vec<CustomItem> {
        match self {
            CustomItemsAnswer::One(c) => c.custom_items,
            CustomItemsAnswer::Wrapped(all) => {
                all.into_iter().flat_map(|c| c.custom_items).collect()
            }
        }
    }
}

/// ClickUp's error body: `{"err": "Token invalid", "ECODE": "OAUTH_025"}`.
#[derive(Debug, Deserialize)]
pub struct Error {
    pub err: Option<String>,
    #[serde(rename = "ECODE")]
    pub ecode: Option<String>,
}

/// One status in the Time in Status ClickApp's answer: since when (ms, as a string).
#[derive(Debug, Deserialize)]
pub struct StatusTime {
    pub status: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub total_time: Option<TotalTime>,
}

#[derive(Debug, Deserialize)]
pub struct TotalTime {
    #[serde(default, deserialize_with = "opt_i64")]
    pub since: Option<i64>,
}

/// `GET /task/bulk_time_in_status/task_ids`: per task id.
#[derive(Debug, Deserialize)]
pub struct TimeInStatus {
    #[serde(default)]
    pub status_history: Vec<StatusTime>,
}
