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
    // The usual shape, with the colon put into its offset, goes through chrono's RFC 3339 parser
    // (a search page has two timestamps per issue; the format-string parser costs several
    // times more); anything else through the format string as Jira documents it.
    let b = s.as_bytes();
    let n = b.len();
    if n > 5 && matches!(b[n - 5], b'+' | b'-') && b[n - 4..].iter().all(u8::is_ascii_digit) {
        let with_colon = format!("{}:{}", &s[..n - 2], &s[n - 2..]);
        if let Ok(d) = chrono::DateTime::parse_from_rfc3339(&with_colon) {
            return Some(d.with_timezone(&chrono::Utc));
        }
    }
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
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok()),
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

/// Jira's explanation in an error body, in the shapes it comes in: Jira's ErrorCollection
/// (`errorMessages`, `errors` by field); Atlassian's edge and gateway (`{"code": 401,
/// "message": "Unauthorized; scope does not match"}`, some `{"errorMessage": …}`); or a short
/// plain-text body (proxies' "Service Unavailable", rate-limit texts). HTML pages say nothing
/// usable.
pub fn error_text(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(e) = serde_json::from_value::<wire::ErrorCollection>(v.clone()) {
            let mut parts = e.error_messages;
            for (field, msg) in e.errors {
                parts.push(format!(
                    "{field}: {}",
                    msg.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| msg.to_string())
                ));
            }
            if !parts.is_empty() {
                return Some(parts.join("; "));
            }
        }
        return ["message", "errorMessage", "error"]
            .iter()
            .find_map(|k| v.get(k).and_then(serde_json::Value::as_str))
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    let short = !text.is_empty()
        && text.len() <= 300
        && !text.starts_with('<')
        && !text.contains('{')
        && text.lines().count() <= 3;
    short.then(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Data Center's refusal said only in a header: after failed sign-ins Jira asks for a CAPTCHA
/// and answers every Basic request 403 with `X-Authentication-Denied-Reason:
/// CAPTCHA_CHALLENGE; login-url=…` (Atlassian KB, "REST API calls fail with 403 …
/// CAPTCHA_CHALLENGE") until the user signs in through the browser once.
pub fn denied_text(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> Option<String> {
    if !matches!(status.as_u16(), 401 | 403) {
        return None;
    }
    let reason = headers
        .get("x-authentication-denied-reason")?
        .to_str()
        .ok()?;
    if reason.to_ascii_uppercase().contains("CAPTCHA") {
        return Some(
            "Jira asks for a CAPTCHA after failed sign-ins, so it refuses this account's API calls: sign in through the browser once (solving the CAPTCHA), check the password or token, then retry".to_string(),
        );
    }
    Some(format!(
        "Jira refused the sign-in ({}); sign in through the browser once to see why",
        reason.split(';').next().unwrap_or(reason).trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_the_same_on_the_fast_path_and_by_the_format_string() {
        let by_format = |s: &str| {
            chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
                .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc))
        };
        for s in [
            "2023-06-24T19:24:50.000+0000",
            "2023-06-24T19:24:50.123+0530",
            "2023-06-24T19:24:50.5-0800",
            "2023-06-24T19:24:50+0100",
            "2023-06-24T19:24:50.000Z",
            "2023-06-24T19:24:50.000+05:30",
            "2023-13-24T19:24:50.000+0000",
            "not a date",
            "+0000",
            "",
        ] {
            assert_eq!(timestamp(s), by_format(s), "{s}");
        }
        assert!(timestamp("2023-06-24T19:24:50.000+0000").is_some());
        // RFC 3339's space for the T is read too (the format string refused it).
        assert_eq!(
            timestamp("2023-06-24 19:24:50.000+0000"),
            timestamp("2023-06-24T19:24:50.000+0000")
        );
    }

    #[test]
    fn error_bodies_in_every_shape_become_sentences() {
        assert_eq!(
            error_text(
                br#"{"errorMessages":["Issue does not exist."],"errors":{"summary":"required"}}"#
            )
            .as_deref(),
            Some("Issue does not exist.; summary: required")
        );
        assert_eq!(
            error_text(br#"{"code":401,"message":"Unauthorized; scope does not match"}"#)
                .as_deref(),
            Some("Unauthorized; scope does not match")
        );
        assert_eq!(
            error_text(b"Rate limit exceeded.\n").as_deref(),
            Some("Rate limit exceeded.")
        );
        assert_eq!(error_text(b"<html><body>Oops</body></html>"), None);
        assert_eq!(error_text(br#"{"errorMessages":[],"errors":{}}"#), None);
        assert_eq!(error_text(b""), None);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-authentication-denied-reason",
            reqwest::header::HeaderValue::from_static(
                "CAPTCHA_CHALLENGE; login-url=https://jira.example.com/login.jsp",
            ),
        );
        let said = denied_text(reqwest::StatusCode::FORBIDDEN, &h).unwrap();
        assert!(said.contains("sign in through the browser once"), "{said}");
        assert_eq!(denied_text(reqwest::StatusCode::NOT_FOUND, &h), None);
        assert_eq!(
            denied_text(
                reqwest::StatusCode::FORBIDDEN,
                &reqwest::header::HeaderMap::new()
            ),
            None
        );
    }

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
