//! Jira wire types → pm-mcp's domain.
use pm_core::{Comment, Project, Sprint, SprintState, Status, StatusCategory, Task, User, Worklog};

use super::wire;

/// A user's id is the account id on Cloud and the *username* (`name`) on Data Center: DC's
/// REST API takes the username in assignee, watcher, lead and JQL values, and since Jira 8 a
/// user's `key` (`JIRAUSER10100`) differs from it.
pub fn user(u: wire::User) -> User {
    let id = u
        .account_id
        .or(u.name.clone())
        .or(u.key)
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

/// Jira's timestamps: `2023-06-24T19:24:50.000+0000` (no colon in the offset).
pub fn timestamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

pub fn status(s: Option<wire::Status>) -> Status {
    let s = s.unwrap_or(wire::Status {
        name: None,
        status_category: None,
    });
    let category = match s.status_category.and_then(|c| c.key).as_deref() {
        Some("done") => StatusCategory::Done,
        Some("indeterminate") => StatusCategory::InProgress,
        _ => StatusCategory::Todo,
    };
    Status {
        name: s.name.unwrap_or_else(|| "Unknown".into()),
        category,
    }
}

pub fn task(i: wire::Issue, site: &str, story_points: Option<&str>) -> Task {
    let f = i.fields;
    let points = story_points
        .and_then(|id| f.extra.get(id))
        .and_then(serde_json::Value::as_f64);
    Task {
        url: Some(format!("{}/browse/{}", site.trim_end_matches('/'), i.key)),
        id: i.key.clone(),
        key: Some(i.key),
        title: f.summary.unwrap_or_default(),
        description: Some(super::adf::to_markdown(&f.description)).filter(|d| !d.trim().is_empty()),
        status: status(f.status),
        priority: f.priority.and_then(|p| p.name),
        task_type: f.issuetype.and_then(|t| t.name),
        assignee: f.assignee.map(user),
        reporter: f.reporter.map(user),
        project_id: f.project.and_then(|p| p.key),
        parent_id: f.parent.and_then(|p| p.key),
        story_points: points,
        due_date: f
            .duedate
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        labels: f.labels,
        created_at: f.created.as_str().and_then(timestamp),
        updated_at: f.updated.as_str().and_then(timestamp),
    }
}

pub fn sprint(s: wire::Sprint) -> Sprint {
    Sprint {
        id: s.id.to_string(),
        name: s.name,
        state: match s.state.as_deref() {
            Some("active") => SprintState::Active,
            Some("closed") => SprintState::Closed,
            _ => SprintState::Future,
        },
        goal: s.goal.filter(|g| !g.trim().is_empty()),
        start_date: s.start_date.as_deref().and_then(timestamp),
        end_date: s.end_date.as_deref().and_then(timestamp),
        completed_at: s.complete_date.as_deref().and_then(timestamp),
        board_id: s.origin_board_id.map(|b| b.to_string()),
        notes: Vec::new(),
    }
}

pub fn comment(c: wire::Comment) -> Comment {
    Comment {
        id: c.id,
        author: c.author.map(user),
        body: super::adf::to_markdown(&c.body),
        created_at: c.created.as_str().and_then(timestamp),
        updated_at: c.updated.as_str().and_then(timestamp),
    }
}

pub fn worklog(w: wire::Worklog) -> Worklog {
    Worklog {
        id: w.id,
        author: w.author.map(user),
        started_at: w.started.as_str().and_then(timestamp),
        seconds: w.time_spent_seconds,
        comment: Some(super::adf::to_markdown(&w.comment)).filter(|c| !c.trim().is_empty()),
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
        assert_eq!(
            (u.id.as_str(), u.name.as_str()),
            ("mia", "Mia"),
            "DC: the username"
        );
        assert!(u.active);
    }

    #[test]
    fn issues_map_with_status_categories_and_markdown() {
        let issue: wire::Issue = serde_json::from_value(serde_json::json!({
            "id": "10002", "key": "EX-1",
            "fields": {
                "summary": "Checkout fails",
                "description": { "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Boom" }] }] },
                "status": { "name": "In Review", "statusCategory": { "key": "indeterminate" } },
                "priority": { "name": "High" }, "issuetype": { "name": "Bug" },
                "assignee": { "accountId": "abc", "displayName": "Mia" },
                "project": { "key": "EX" }, "parent": { "key": "EX-0" },
                "duedate": "2026-12-01", "labels": ["web"], "customfield_10016": 5.0,
                "created": "2023-06-24T19:24:50.000+0000", "updated": "2023-06-25T08:00:00.000+0200"
            }
        }))
        .unwrap();
        let t = task(
            issue,
            "https://acme.atlassian.net",
            Some("customfield_10016"),
        );
        assert_eq!(
            (t.id.as_str(), t.title.as_str()),
            ("EX-1", "Checkout fails")
        );
        assert_eq!(t.status.category, StatusCategory::InProgress);
        assert_eq!(t.story_points, Some(5.0));
        assert_eq!(t.description.as_deref(), Some("Boom"));
        assert_eq!(t.assignee.map(|a| a.id).as_deref(), Some("abc"));
        assert_eq!(
            t.due_date.map(|d| d.to_string()).as_deref(),
            Some("2026-12-01")
        );
        assert_eq!(
            t.updated_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-06-25T06:00:00+00:00")
        );
        assert_eq!(
            t.url.as_deref(),
            Some("https://acme.atlassian.net/browse/EX-1")
        );
        assert_eq!(status(None).category, StatusCategory::Todo);
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
