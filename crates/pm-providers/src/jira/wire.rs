//! Jira's wire types (REST v3 on Cloud, v2 on Data Center), only the fields pm-mcp reads.
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Cloud.
    pub account_id: Option<String>,
    /// Data Center: the user key, and the user name.
    pub key: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email_address: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub base_url: Option<String>,
    pub version: Option<String>,
    /// "Cloud", "Server" or "DataCenter".
    pub deployment_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    /// Plain text on both editions.
    pub description: Option<String>,
    pub lead: Option<User>,
}

/// Offset paging as Jira does it (`startAt`, `maxResults`, `isLast`, `total`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBean<T> {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    pub total: Option<u64>,
    pub is_last: Option<bool>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

/// `{"errorMessages": [...], "errors": {"field": "message"}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCollection {
    #[serde(default)]
    pub error_messages: Vec<String>,
    #[serde(default)]
    pub errors: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCategory {
    /// "new", "indeterminate" or "done".
    pub key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub name: Option<String>,
    pub status_category: Option<StatusCategory>,
}

#[derive(Debug, Deserialize)]
pub struct KeyRef {
    pub key: Option<String>,
}

/// An issue's fields. Read by hand rather than with `#[serde(flatten)]` for the custom fields:
/// flatten buffers every field of every issue in serde's intermediate form before reading it
/// again, which was most of the CPU a page of 50 issues cost (issue 25).
#[derive(Debug, Default)]
pub struct IssueFields {
    pub summary: Option<String>,
    /// ADF on Cloud (v3), a wiki-markup string on Data Center (v2).
    pub description: serde_json::Value,
    pub status: Option<Status>,
    pub priority: Option<Named>,
    pub issuetype: Option<Named>,
    pub assignee: Option<User>,
    pub reporter: Option<User>,
    pub project: Option<KeyRef>,
    pub parent: Option<KeyRef>,
    /// Dates are read leniently: a value of another type (the spec's own examples have some)
    /// is ignored rather than failing the whole issue.
    pub duedate: serde_json::Value,
    pub labels: Vec<String>,
    pub created: serde_json::Value,
    pub updated: serde_json::Value,
    /// Custom fields (story points, sprints, epic links), by field id, and the system fields of
    /// [`OTHER_FIELDS_READ`]. Any other field (a comment list, versions, watchers: what a search
    /// returns beyond the fields asked for) is skipped unread, never built into a tree.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The system fields read from [`IssueFields::extra`] (a sprint's history reads the original
/// estimate).
pub const OTHER_FIELDS_READ: [&str; 1] = ["timeoriginalestimate"];

impl<'de> Deserialize<'de> for IssueFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = IssueFields;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an issue's fields (an object)")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<IssueFields, A::Error> {
                let mut out = IssueFields::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "summary" => out.summary = map.next_value()?,
                        "description" => out.description = map.next_value()?,
                        "status" => out.status = map.next_value()?,
                        "priority" => out.priority = map.next_value()?,
                        "issuetype" => out.issuetype = map.next_value()?,
                        "assignee" => out.assignee = map.next_value()?,
                        "reporter" => out.reporter = map.next_value()?,
                        "project" => out.project = map.next_value()?,
                        "parent" => out.parent = map.next_value()?,
                        "duedate" => out.duedate = map.next_value()?,
                        // `null` is no labels, as a missing list is.
                        "labels" => {
                            out.labels =
                                map.next_value::<Option<Vec<String>>>()?.unwrap_or_default()
                        }
                        "created" => out.created = map.next_value()?,
                        "updated" => out.updated = map.next_value()?,
                        _ if key.starts_with("customfield_")
                            || OTHER_FIELDS_READ.contains(&key.as_str()) =>
                        {
                            let value = map.next_value()?;
                            out.extra.insert(key, value);
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Fields)
    }
}

#[derive(Debug, Deserialize)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub fields: IssueFields,
    /// With `expand=changelog`: some entries (Cloud's `search/jql`: the newest 40), and how
    /// many there are.
    #[serde(default)]
    pub changelog: Option<Changelog>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Changelog {
    #[serde(default)]
    pub histories: Vec<ChangeEntry>,
    pub total: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ChangeEntry {
    /// The history id, unique on the site (entries are de-duplicated by it).
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    /// A timestamp string; the bulk changelog's spec example has epoch seconds instead.
    #[serde(default)]
    pub created: serde_json::Value,
    #[serde(default)]
    pub items: Vec<ChangeItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    pub field: Option<String>,
    pub field_id: Option<String>,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// `GET /issue/{key}/changelog` (Cloud).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangelogPage {
    #[serde(default)]
    pub values: Vec<ChangeEntry>,
    pub is_last: Option<bool>,
    pub total: Option<u64>,
}

/// One status of the site with its category (`GET /status`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteStatus {
    pub id: String,
    pub name: Option<String>,
    pub status_category: Option<StatusCategory>,
}

/// Cloud's `POST /rest/api/3/search/jql` answer: token paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JqlPage {
    #[serde(default)]
    pub issues: Vec<Issue>,
    pub next_page_token: Option<String>,
    pub is_last: Option<bool>,
}

/// Data Center's `POST /rest/api/2/search` answer: offset paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    #[serde(default)]
    pub issues: Vec<Issue>,
    #[serde(default)]
    pub start_at: u64,
    pub total: Option<u64>,
}

/// `search/jql` asked for no fields: each issue's id and key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRefPage {
    #[serde(default)]
    pub issues: Vec<IssueRef>,
    pub next_page_token: Option<String>,
    pub is_last: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct IssueRef {
    pub id: String,
    pub key: String,
}

/// `POST /rest/api/3/changelog/bulkfetch` (Cloud): changelogs grouped per issue id.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangelogs {
    #[serde(default)]
    pub issue_change_logs: Vec<IssueChangeLog>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueChangeLog {
    #[serde(default, deserialize_with = "lenient_id")]
    pub issue_id: Option<String>,
    #[serde(default)]
    pub change_histories: Vec<ChangeEntry>,
}

/// An id sent as a string or a number.
fn lenient_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = <serde_json::Value as Deserialize>::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
pub struct Created {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub struct Transition {
    pub id: String,
    pub name: Option<String>,
    pub to: Option<Status>,
    /// With `expand=transitions.fields`: the transition screen's fields, by field id.
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// One field of a transition screen (`FieldMetadata`): whether it must be given, and the
/// choices it takes (`{"name": …}` for a resolution, `{"value": …}` for an option).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenField {
    #[serde(default)]
    pub required: bool,
    pub name: Option<String>,
    #[serde(default)]
    pub has_default_value: bool,
    #[serde(default)]
    pub allowed_values: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct Transitions {
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: String,
    pub author: Option<User>,
    #[serde(default)]
    pub body: serde_json::Value,
    #[serde(default)]
    pub created: serde_json::Value,
    #[serde(default)]
    pub updated: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comments {
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub start_at: u64,
    pub total: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worklog {
    pub id: String,
    pub author: Option<User>,
    #[serde(default)]
    pub comment: serde_json::Value,
    #[serde(default)]
    pub started: serde_json::Value,
    #[serde(default)]
    pub time_spent_seconds: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worklogs {
    #[serde(default)]
    pub worklogs: Vec<Worklog>,
    #[serde(default)]
    pub start_at: u64,
    pub total: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Board {
    pub id: u64,
    pub name: Option<String>,
    /// `scrum`, `kanban` or `simple` (a team-managed project's board).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The project the board is located in (a board may show other projects too).
    pub location: Option<BoardLocation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardLocation {
    pub project_key: Option<String>,
    pub project_id: Option<serde_json::Value>,
}

/// `GET /rest/agile/1.0/board/{boardId}/configuration`, only its estimation.
#[derive(Debug, Deserialize)]
pub struct BoardConfiguration {
    pub estimation: Option<Estimation>,
    #[serde(rename = "columnConfig")]
    pub column_config: Option<ColumnConfig>,
}

/// A board's columns, in order, with the statuses mapped to each.
#[derive(Debug, Deserialize)]
pub struct ColumnConfig {
    #[serde(default)]
    pub columns: Vec<BoardColumn>,
}

#[derive(Debug, Deserialize)]
pub struct BoardColumn {
    #[serde(default)]
    pub statuses: Vec<IdOnly>,
}

#[derive(Debug, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

/// How a board estimates: `{"type": "field", "field": {"fieldId": …}}`, or `none`.
#[derive(Debug, Deserialize)]
pub struct Estimation {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub field: Option<EstimationField>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimationField {
    pub field_id: Option<String>,
}

/// `GET /rest/agile/1.0/sprint/{sprintId}/issue`: keys and the total.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SprintIssues {
    #[serde(default)]
    pub issues: Vec<Created>,
    pub total: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sprint {
    pub id: u64,
    pub name: String,
    /// "future", "active" or "closed".
    pub state: Option<String>,
    pub goal: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub complete_date: Option<String>,
    pub origin_board_id: Option<u64>,
}

/// One field of the site (`GET /field`), to find custom field ids by name or custom type.
#[derive(Debug, Deserialize)]
pub struct Field {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

#[derive(Debug, Deserialize)]
pub struct FieldSchema {
    /// A custom field's type, e.g. `com.pyxis.greenhopper.jira:gh-epic-link`.
    pub custom: Option<String>,
}

/// One issue type of a project with the statuses its workflow has
/// (`GET /project/{key}/statuses`).
#[derive(Debug, Deserialize)]
pub struct IssueTypeStatuses {
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
    #[serde(default)]
    pub statuses: Vec<SiteStatus>,
}

#[cfg(test)]
mod issue_fields_tests {
    use super::*;

    #[test]
    fn fields_are_read_by_name_custom_fields_are_kept_and_the_rest_skipped() {
        let issue: Issue = serde_json::from_str(
            r#"{"id":"10001","key":"EX-1","fields":{
                "summary":"A \"quoted\" summary","labels":null,"customfield_10016":5.0,
                "status":{"name":"To Do","statusCategory":{"key":"new"}},
                "description":{"type":"doc","version":1,"content":[]},
                "customfield_10020":[{"id":7,"name":"Sprint 1"}],"created":12,
                "assignee":null,"duedate":"2026-12-24","timeoriginalestimate":3600,
                "comment":{"comments":[{"body":{"type":"doc"}}]},"versions":[],"watches":{}}}"#,
        )
        .expect("an issue");
        let f = &issue.fields;
        assert_eq!(f.summary.as_deref(), Some("A \"quoted\" summary"));
        assert!(f.labels.is_empty());
        assert!(f.assignee.is_none());
        assert_eq!(
            f.status.as_ref().and_then(|s| s.name.as_deref()),
            Some("To Do")
        );
        assert_eq!(f.description["type"], "doc");
        assert_eq!(f.duedate, "2026-12-24");
        assert_eq!(f.created, 12);
        assert_eq!(f.extra.len(), 3, "{:?}", f.extra.keys());
        assert_eq!(f.extra["customfield_10016"], 5.0);
        assert_eq!(f.extra["timeoriginalestimate"], 3600);
        assert_eq!(f.extra["customfield_10020"][0]["name"], "Sprint 1");
        // A field of the wrong type still fails the issue, as it did.
        assert!(
            serde_json::from_str::<Issue>(r#"{"id":"1","key":"EX-1","fields":{"summary":3}}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Issue>(r#"{"id":"1","key":"EX-1","fields":[]}"#).is_err());
    }
}
