//! Redmine wire types → pm-mcp's domain.
use chrono::{DateTime, NaiveDate, Utc};
use pm_core::{Comment, Project, Sprint, SprintState, Status, StatusCategory, Task, User, Worklog};

use super::wire;

pub fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

pub fn date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

pub fn user(u: wire::User) -> User {
    let name = [u.firstname.as_deref(), u.lastname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    User {
        id: u.id.to_string(),
        name: if name.trim().is_empty() {
            u.login.clone().unwrap_or_else(|| u.id.to_string())
        } else {
            name
        },
        email: u.mail,
        active: u.status.is_none_or(|s| s == 1),
    }
}

pub fn named_user(n: wire::Named) -> User {
    User {
        id: n.id.to_string(),
        name: n.name,
        email: None,
        active: true,
    }
}

pub fn project(p: wire::Project, site: &str) -> Project {
    Project {
        url: Some(format!(
            "{}/projects/{}",
            site.trim_end_matches('/'),
            p.identifier
        )),
        id: p.identifier.clone(),
        key: Some(p.identifier),
        name: p.name,
        description: p.description.filter(|d| !d.trim().is_empty()),
        lead: None,
    }
}

/// `closed` decides done; a status named like work in progress is in progress; the rest is to do.
pub fn status(s: &wire::Named, closed: bool) -> Status {
    let lower = s.name.to_lowercase();
    let category = if closed {
        StatusCategory::Done
    } else if lower.contains("progress")
        || lower.contains("review")
        || lower.contains("feedback")
        || lower.contains("resolved")
    {
        StatusCategory::InProgress
    } else {
        StatusCategory::Todo
    };
    Status {
        name: s.name.clone(),
        category,
    }
}

pub fn task(i: wire::Issue, site: &str, closed: &dyn Fn(u64) -> bool) -> Task {
    Task {
        url: Some(format!("{}/issues/{}", site.trim_end_matches('/'), i.id)),
        id: i.id.to_string(),
        key: Some(format!("#{}", i.id)),
        title: i.subject,
        description: i.description.filter(|d| !d.trim().is_empty()),
        status: status(&i.status, closed(i.status.id)),
        priority: i.priority.map(|p| p.name),
        task_type: i.tracker.map(|t| t.name),
        assignee: i.assigned_to.map(named_user),
        reporter: i.author.map(named_user),
        project_id: Some(i.project.id.to_string()),
        parent_id: i.parent.map(|p| p.id.to_string()),
        story_points: None,
        due_date: date(i.due_date.as_deref()),
        labels: Vec::new(),
        created_at: time(i.created_on.as_deref()),
        updated_at: time(i.updated_on.as_deref()),
    }
}

pub fn comment(j: wire::Journal) -> Option<Comment> {
    let body = j.notes.filter(|n| !n.trim().is_empty())?;
    Some(Comment {
        id: j.id.to_string(),
        author: j.user.map(named_user),
        body,
        created_at: time(j.created_on.as_deref()),
        updated_at: None,
    })
}

pub fn worklog(t: wire::TimeEntry) -> Worklog {
    let comment = match (
        t.activity.map(|a| a.name),
        t.comments.filter(|c| !c.trim().is_empty()),
    ) {
        (Some(a), Some(c)) => Some(format!("{a}: {c}")),
        (Some(a), None) => Some(a),
        (None, c) => c,
    };
    Worklog {
        id: t.id.to_string(),
        author: t.user.map(named_user),
        started_at: date(t.spent_on.as_deref())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        seconds: (t.hours * 3600.0).round() as i64,
        comment,
    }
}

/// Versions are Redmine's sprints: open ones are current, locked or closed ones are over.
pub fn sprint(v: wire::Version) -> Sprint {
    Sprint {
        id: v.id.to_string(),
        name: v.name,
        state: match v.status.as_deref() {
            Some("closed") | Some("locked") => SprintState::Closed,
            _ => SprintState::Active,
        },
        goal: v.description.filter(|d| !d.trim().is_empty()),
        start_date: time(v.created_on.as_deref()),
        end_date: date(v.due_date.as_deref())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        completed_at: None,
        board_id: None,
    }
}

/// Redmine's 422 body (`{"errors": [...]}`) as one sentence.
pub fn error_text(body: &[u8]) -> Option<String> {
    let e: wire::Errors = serde_json::from_slice(body).ok()?;
    (!e.errors.is_empty()).then(|| e.errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_is_closed_and_names() {
        let n = |name: &str| wire::Named {
            id: 1,
            name: name.into(),
        };
        assert_eq!(status(&n("Closed"), true).category, StatusCategory::Done);
        assert_eq!(status(&n("Rejected"), true).category, StatusCategory::Done);
        assert_eq!(
            status(&n("In Progress"), false).category,
            StatusCategory::InProgress
        );
        assert_eq!(status(&n("New"), false).category, StatusCategory::Todo);
    }

    #[test]
    fn errors_and_worklogs_read_plainly() {
        assert_eq!(
            error_text(br#"{"errors":["Subject cannot be blank","Tracker is invalid"]}"#).unwrap(),
            "Subject cannot be blank; Tracker is invalid"
        );
        assert_eq!(error_text(b""), None);
        let t: wire::TimeEntry = serde_json::from_value(serde_json::json!({
            "id": 3, "hours": 1.5, "comments": "debugging", "spent_on": "2026-11-27", "activity": { "id": 9, "name": "Development" }
        }))
        .unwrap();
        let w = worklog(t);
        assert_eq!(
            (w.seconds, w.comment.as_deref()),
            (5400, Some("Development: debugging"))
        );
    }
}
