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
