//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`, never in a release
//! build): the converters and id checks that read what users and trackers write, reached here
//! without making them part of the crate's API.
use serde_json::Value;

/// Jira Cloud's ADF (or Data Center's wiki string) → Markdown.
pub fn adf_to_markdown(doc: &Value) -> String {
    crate::jira::adf::to_markdown(doc)
}

/// Markdown → ClickUp's `comment` segments.
pub fn clickup_to_segments(markdown: &str) -> Vec<Value> {
    crate::clickup::rich::to_segments(markdown)
}

/// ClickUp's `comment` segments → Markdown.
pub fn clickup_to_markdown(segments: &[Value]) -> String {
    crate::clickup::rich::to_markdown(segments)
}

/// A Jira issue key or id as checked before it goes into a URL path.
pub fn jira_issue_key(id: &str) -> Option<String> {
    crate::jira::issue_key(id).ok()
}

/// A Jira project key or id as checked before it goes into a URL path.
pub fn jira_project_ref(id: &str) -> Option<String> {
    crate::jira::project_ref(id).ok()
}

/// A Jira sprint id.
pub fn jira_sprint_id(id: &str) -> Option<u64> {
    crate::jira::sprint_id(id).ok()
}

/// The project key Jira gets for a new project's name.
pub fn jira_project_key_from(name: &str) -> String {
    crate::jira::project_key_from(name)
}
