//! Jira wire types → pm-mcp's domain.
use pm_core::{Project, User};

use super::wire;

pub fn user(u: wire::User) -> User {
    let id = u
        .account_id
        .or(u.key)
        .or(u.name.clone())
        .unwrap_or_default();
    User {
        name: u.display_name.or(u.name).unwrap_or_else(|| id.clone()),
        id,
        email: u.email_address,
        active: u.active,
    }
}

pub fn project(p: wire::Project, site: &str) -> Project {
    Project {
        url: Some(format!("{}/browse/{}", site.trim_end_matches('/'), p.key)),
        id: p.key.clone(),
        key: Some(p.key),
        name: p.name,
        description: p.description.filter(|d| !d.trim().is_empty()),
        lead: p.lead.map(user),
    }
}

/// A Jira error body as one sentence: its messages, then `field: message` pairs.
pub fn error_text(body: &[u8]) -> Option<String> {
    let e: wire::ErrorCollection = serde_json::from_slice(body).ok()?;
    let mut parts = e.error_messages;
    for (field, msg) in e.errors {
        parts.push(format!(
            "{field}: {}",
            msg.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| msg.to_string())
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_and_data_center_users_map_to_one_shape() {
        let cloud: wire::User = serde_json::from_value(serde_json::json!({
            "accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "emailAddress": "mia@example.com", "active": true
        }))
        .unwrap();
        let u = user(cloud);
        assert_eq!(
            (u.id.as_str(), u.name.as_str(), u.email.as_deref()),
            (
                "5b10a2844c20165700ede21g",
                "Mia Krystof",
                Some("mia@example.com")
            )
        );
        let dc: wire::User = serde_json::from_value(
            serde_json::json!({ "key": "JIRAUSER10100", "name": "mia", "displayName": "Mia" }),
        )
        .unwrap();
        let u = user(dc);
        assert_eq!((u.id.as_str(), u.name.as_str()), ("JIRAUSER10100", "Mia"));
        assert!(u.active);
    }

    #[test]
    fn error_bodies_become_sentences() {
        let body = br#"{"errorMessages":["Project not found"],"errors":{"summary":"You must specify a summary."}}"#;
        assert_eq!(
            error_text(body).unwrap(),
            "Project not found; summary: You must specify a summary."
        );
        assert_eq!(error_text(b"<html>oops</html>"), None);
        assert_eq!(error_text(br#"{"errorMessages":[],"errors":{}}"#), None);
    }

    #[test]
    fn projects_get_a_browse_url_and_lose_empty_descriptions() {
        let p: wire::Project =
            serde_json::from_value(serde_json::json!({ "id": "10000", "key": "EX", "name": "Example", "description": " " })).unwrap();
        let p = project(p, "https://acme.atlassian.net/");
        assert_eq!(p.id, "EX");
        assert_eq!(
            p.url.as_deref(),
            Some("https://acme.atlassian.net/browse/EX")
        );
        assert_eq!(p.description, None);
    }
}
