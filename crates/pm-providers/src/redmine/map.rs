//! Redmine wire types → pm-mcp's domain.
use chrono::{DateTime, NaiveDate, Utc};
use pm_core::{Comment, Project, Sprint, SprintState, Status, StatusCategory, Task, User, Worklog};

use super::text::{Markup as _, TextFormat};
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

pub fn project(p: wire::Project, site: &str, fmt: TextFormat) -> Project {
    Project {
        url: Some(format!(
            "{}/projects/{}",
            site.trim_end_matches('/'),
            p.identifier
        )),
        id: p.identifier.clone(),
        key: Some(p.identifier),
        name: p.name,
        description: p
            .description
            .filter(|d| !d.trim().is_empty())
            .map(|d| fmt.read_markdown(&d)),
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

pub fn task(i: wire::Issue, site: &str, fmt: TextFormat, closed: &dyn Fn(u64) -> bool) -> Task {
    Task {
        url: Some(format!("{}/issues/{}", site.trim_end_matches('/'), i.id)),
        id: i.id.to_string(),
        key: Some(format!("#{}", i.id)),
        title: i.subject,
        description: i
            .description
            .filter(|d| !d.trim().is_empty())
            .map(|d| fmt.read_markdown(&d)),
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

pub fn comment(j: wire::Journal, fmt: TextFormat) -> Option<Comment> {
    let body = j.notes.filter(|n| !n.trim().is_empty())?;
    Some(Comment {
        id: j.id.to_string(),
        author: j.user.map(named_user),
        body: fmt.read_markdown(&body),
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

/// The version custom field that holds a sprint's start, when a site has one (date format).
pub const START_FIELD: &str = "Start date";

/// Redmine versions have no start date. Where the site has no "Start date" version custom
/// field (a plain Redmine has none, and the REST API cannot create one), the start is kept as
/// this last line of the version's description: the description is the only free field of a
/// version the REST API writes on every Redmine, it survives edits in Redmine's UI, and people
/// reading the roadmap see the line for what it is. It is stripped from the goal on read.
pub const START_TRAILER: &str = "[pm-mcp] start: ";

/// A version's description as (goal, start kept in the trailer). The trailer ends the
/// description, after a space (Redmine's version form is a one-line field, so a line break would
/// not survive an edit there) or a line break (as earlier versions of pm-mcp wrote it).
pub fn split_goal(description: Option<&str>) -> (Option<String>, Option<NaiveDate>) {
    let d = description.unwrap_or("").trim_end();
    let parsed = d.rfind(START_TRAILER).and_then(|at| {
        let date =
            NaiveDate::parse_from_str(d[at + START_TRAILER.len()..].trim(), "%Y-%m-%d").ok()?;
        Some((&d[..at], date))
    });
    let (goal, start) = match parsed {
        Some((goal, date)) => (goal, Some(date)),
        None => (d, None),
    };
    let goal = goal.trim();
    ((!goal.is_empty()).then(|| goal.to_string()), start)
}

/// A version's description from a goal and, when kept there, the start (on the same line: the
/// field is one line in Redmine's UI).
pub fn join_goal(goal: Option<&str>, start: Option<NaiveDate>) -> String {
    let goal = goal.map(str::trim).unwrap_or("");
    match (goal.is_empty(), start) {
        (_, None) => goal.to_string(),
        (true, Some(s)) => format!("{START_TRAILER}{}", s.format("%Y-%m-%d")),
        (false, Some(s)) => format!("{goal} {START_TRAILER}{}", s.format("%Y-%m-%d")),
    }
}

/// The "Start date" custom field among a version's, and its value.
pub fn start_field(fields: &[wire::CustomValue]) -> Option<(u64, Option<NaiveDate>)> {
    fields
        .iter()
        .find(|f| f.name.trim().eq_ignore_ascii_case(START_FIELD))
        .map(|f| (f.id, date(f.value.as_str())))
}

fn midnight(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0).map(|d| d.and_utc())
}

/// Versions are Redmine's sprints. The start is the "Start date" custom field, else the
/// description's trailer, else unknown (never the creation time: a version made after its
/// sprint began would seem to start late). Locked or closed versions are over; an open one
/// whose start is still ahead is planned (future), else active.
pub fn sprint(v: wire::Version, now: DateTime<Utc>) -> Sprint {
    let (goal, kept) = split_goal(v.description.as_deref());
    let start = start_field(&v.custom_fields)
        .and_then(|(_, d)| d)
        .or(kept)
        .and_then(midnight);
    let state = match v.status.as_deref() {
        Some("closed") | Some("locked") => SprintState::Closed,
        _ if start.is_some_and(|s| s > now) => SprintState::Future,
        _ => SprintState::Active,
    };
    Sprint {
        id: v.id.to_string(),
        name: v.name,
        state,
        goal,
        start_date: start,
        end_date: date(v.due_date.as_deref()).and_then(midnight),
        completed_at: None,
        board_id: None,
        notes: Vec::new(),
    }
}

/// What a model can do about Redmine's validation phrases: each known one gets the reason and
/// the tool that lists what exists. Redmine's own words stay, after the explanation.
fn explain(phrase: &str) -> String {
    let hint = match phrase.trim() {
        "Project cannot be blank" | "Project is invalid" => {
            "the project was not found or this account cannot add issues to it; list_projects lists the projects"
        }
        "Assignee is invalid" => {
            "the assignee must be a member of the project (with a role issues can be assigned to); list_users lists Redmine users, and a project manager adds members in the project's Settings → Members"
        }
        "Target version is not included in the list" => {
            "the sprint is not a version of this project, or it is closed or locked; list_sprints lists the project's sprints"
        }
        "Parent task is invalid" | "Parent task does not exist" => {
            "the parent task does not exist or cannot be a parent here (Redmine allows parents in other projects only when configured so); check the parent id with get_task"
        }
        "Tracker is not included in the list" => {
            "that task type (tracker) is not enabled in the project; the error of create_task without task_type, or Redmine's project settings, show the enabled ones"
        }
        "Due date must be greater than start date" => {
            "due_date is before the task's start date (Redmine starts a new task today); give a due date from today on"
        }
        "Issue is invalid" | "Issue cannot be blank" => {
            "the task was not found or is not visible to this account; check its id with get_task"
        }
        "User is invalid" => "the user was not found; list_users lists Redmine users",
        _ => return phrase.to_string(),
    };
    format!("{hint} (Redmine: \"{}\")", phrase.trim())
}

/// Redmine's 422 body (`{"errors": [...]}`) as one sentence.
/// Known phrases are explained (see `explain`); an unknown project's "Tracker cannot be blank"
/// and "Status cannot be blank" follow from it and are left out.
pub fn error_text(body: &[u8]) -> Option<String> {
    let e: wire::Errors = serde_json::from_slice(body).ok()?;
    let no_project = e.errors.iter().any(|m| m == "Project cannot be blank");
    let parts: Vec<String> = e
        .errors
        .iter()
        .filter(|m| {
            !(no_project && (*m == "Tracker cannot be blank" || *m == "Status cannot be blank"))
        })
        .map(|m| explain(m))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: serde_json::Value) -> wire::Version {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sprint_starts_come_from_the_field_or_the_trailer() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            join_goal(Some("Payments"), NaiveDate::from_ymd_opt(2026, 12, 20)),
            "Payments [pm-mcp] start: 2026-12-20"
        );
        // Written on one line (Redmine's form field is one line); the older line-break form and
        // a goal without a start read back the same.
        for d in [
            "Payments [pm-mcp] start: 2026-12-20",
            "Payments\n[pm-mcp] start: 2026-12-20",
            "Payments[pm-mcp] start: 2026-12-20",
        ] {
            assert_eq!(
                split_goal(Some(d)),
                (
                    Some("Payments".into()),
                    NaiveDate::from_ymd_opt(2026, 12, 20)
                ),
                "{d:?}"
            );
        }
        assert_eq!(
            split_goal(Some("Payments")),
            (Some("Payments".into()), None)
        );
        assert_eq!(
            split_goal(Some("Payments [pm-mcp] start: soon")),
            (Some("Payments [pm-mcp] start: soon".into()), None)
        );
        assert_eq!(
            join_goal(None, NaiveDate::from_ymd_opt(2026, 12, 20)),
            "[pm-mcp] start: 2026-12-20"
        );
        assert_eq!(join_goal(Some("Payments"), None), "Payments");
        let future = sprint(
            version(serde_json::json!({ "id": 4, "name": "S1", "status": "open",
                "description": "Payments\n[pm-mcp] start: 2026-12-20", "due_date": "2026-12-31",
                "created_on": "2026-12-07T09:00:00Z" })),
            now,
        );
        assert_eq!(future.state, SprintState::Future);
        assert_eq!(future.goal.as_deref(), Some("Payments"));
        assert_eq!(
            future.start_date.map(|d| d.date_naive()),
            NaiveDate::from_ymd_opt(2026, 12, 20)
        );
        // The custom field wins over the trailer; a past start is active.
        let field = sprint(
            version(serde_json::json!({ "id": 5, "name": "S2", "status": "open",
                "description": "[pm-mcp] start: 2026-12-20",
                "custom_fields": [{ "id": 9, "name": "Start date", "value": "2026-12-01" }] })),
            now,
        );
        assert_eq!(
            (field.state, field.goal.as_deref()),
            (SprintState::Active, None)
        );
        assert_eq!(
            field.start_date.map(|d| d.date_naive()),
            NaiveDate::from_ymd_opt(2026, 12, 1)
        );
        // No start kept: unknown, not the creation time; closed stays closed.
        let plain = sprint(
            version(
                serde_json::json!({ "id": 6, "name": "S3", "status": "closed",
                "description": "not a [pm-mcp] start: line", "created_on": "2026-12-07T09:00:00Z" }),
            ),
            now,
        );
        assert_eq!(
            (plain.state, plain.start_date, plain.goal.as_deref()),
            (
                SprintState::Closed,
                None,
                Some("not a [pm-mcp] start: line")
            )
        );
    }

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
        assert_eq!(
            error_text(br#"{"errors":["Project cannot be blank","Tracker cannot be blank","Status cannot be blank"]}"#).unwrap(),
            "the project was not found or this account cannot add issues to it; list_projects lists the projects (Redmine: \"Project cannot be blank\")"
        );
        let assignee = error_text(br#"{"errors":["Assignee is invalid"]}"#).unwrap();
        assert!(
            assignee.contains("member of the project") && assignee.contains("list_users"),
            "{assignee}"
        );
        let version =
            error_text(br#"{"errors":["Target version is not included in the list"]}"#).unwrap();
        assert!(version.contains("list_sprints"), "{version}");
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
