//! OpenProject wire types → pm-mcp's domain, and the small languages OpenProject speaks:
//! ISO-8601 durations (`PT1H30M`) both ways, page numbers for offsets, its error bodies.
use chrono::{DateTime, NaiveDate, Utc};
use pm_core::{
    Comment, Project, ProviderError, ProviderResult, Sprint, SprintState, Status, StatusCategory,
    Task, User, Worklog,
};

use super::wire;

pub fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

pub fn date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn midnight(d: Option<NaiveDate>) -> Option<DateTime<Utc>> {
    d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

/// Seconds in an ISO-8601 duration as OpenProject writes them (`PT1H30M`, `P1DT2H`, `PT0.5H`).
/// Years and months have no fixed length and are refused.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let mut seconds = 0f64;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            unit => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                any = true;
                seconds += n * match (in_time, unit) {
                    (false, 'W') => 7.0 * 86_400.0,
                    (false, 'D') => 86_400.0,
                    (true, 'H') => 3_600.0,
                    (true, 'M') => 60.0,
                    (true, 'S') => 1.0,
                    _ => return None,
                };
            }
        }
    }
    if !number.is_empty() || !any || !seconds.is_finite() {
        return None;
    }
    Some(seconds.round() as i64)
}

/// Seconds as an ISO-8601 duration in hours, minutes and seconds (`PT1H30M`), as OpenProject
/// expects for work and spent time.
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if sec > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{sec}S"));
    }
    out
}

/// OpenProject pages by page number. A row offset and a page size become the page that starts
/// exactly there: with the size asked for when the offset is a multiple of it (always, for
/// cursors this client hands out), else with the largest size below it that divides the offset.
pub fn page_for(offset: u64, limit: u32) -> (u64, u64) {
    let limit = u64::from(limit.max(1));
    let size = if offset.is_multiple_of(limit) {
        limit
    } else {
        (1..=limit)
            .rev()
            .find(|d| offset.is_multiple_of(*d))
            .unwrap_or(1)
    };
    (offset / size + 1, size)
}

/// `isClosed` decides done; a status named like work under way is in progress; the rest is to do.
pub fn status(name: &str, closed: bool) -> Status {
    let lower = name.to_lowercase();
    let category = if closed {
        StatusCategory::Done
    } else if lower.contains("progress")
        || lower.starts_with("in ")
        || lower.contains("develop")
        || lower.contains("test")
        || lower.contains("review")
    {
        StatusCategory::InProgress
    } else {
        StatusCategory::Todo
    };
    Status {
        name: name.to_string(),
        category,
    }
}

pub fn user(u: wire::User) -> User {
    User {
        id: u.id.to_string(),
        name: u
            .name
            .filter(|n| !n.trim().is_empty())
            .or(u.login)
            .unwrap_or_else(|| u.id.to_string()),
        email: u.email.filter(|e| !e.trim().is_empty()),
        active: u.status.as_deref().is_none_or(|s| s == "active"),
    }
}

/// A person known only by a link (`/api/v3/users/5`, title "Mia Krystof").
pub fn linked_user(l: &wire::Link) -> Option<User> {
    let id = l.id()?;
    Some(User {
        id: id.to_string(),
        name: l.title.clone().unwrap_or_else(|| id.to_string()),
        email: None,
        active: true,
    })
}

fn text(f: Option<wire::Formattable>) -> Option<String> {
    f.and_then(|f| f.raw).filter(|t| !t.trim().is_empty())
}

pub fn project(p: wire::Project, site: &str) -> Project {
    Project {
        url: Some(format!("{site}/projects/{}", p.identifier)),
        id: p.id.to_string(),
        key: Some(p.identifier),
        name: p.name,
        description: text(p.description),
        lead: None,
    }
}

/// A work package as a task. `closed` tells whether a status id is closed; `points_field` is the
/// property holding story points when they are a custom field (`storyPoints` is read anyway).
pub fn task(
    w: wire::WorkPackage,
    site: &str,
    closed: &dyn Fn(&str) -> bool,
    points_field: Option<&str>,
) -> Task {
    let status_name = w
        .links
        .status
        .title
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let is_closed = w.links.status.id().is_some_and(closed);
    // A milestone has one date, `date`, and neither `startDate` nor `dueDate`.
    let due_date = date(w.due_date.as_deref()).or_else(|| date(milestone_date(&w)));
    let story_points = w.story_points.or_else(|| {
        points_field
            .and_then(|f| w.other.get(f))
            .and_then(serde_json::Value::as_f64)
    });
    Task {
        url: Some(format!("{site}/work_packages/{}", w.id)),
        id: w.id.to_string(),
        key: Some(format!("#{}", w.id)),
        title: w.subject,
        description: text(w.description),
        status: status(&status_name, is_closed),
        priority: w.links.priority.title.clone(),
        task_type: w.links.kind.title.clone(),
        assignee: linked_user(&w.links.assignee),
        reporter: linked_user(&w.links.author),
        project_id: w.links.project.id().map(str::to_string),
        parent_id: w.links.parent.id().map(str::to_string),
        story_points,
        due_date,
        labels: Vec::new(),
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.updated_at.as_deref()),
    }
}

/// A milestone's date (`date`, rendered for milestones only).
fn milestone_date(w: &wire::WorkPackage) -> Option<&str> {
    w.other.get("date").and_then(serde_json::Value::as_str)
}

/// Whether a work package is a milestone: OpenProject renders `date` for milestones only.
pub fn is_milestone(w: &wire::WorkPackage) -> bool {
    w.other.contains_key("date")
}

/// An open version without dates: the Backlogs module's backlog, not a sprint. (A locked one is
/// a sprint still running, closed to new work packages, even without dates.)
pub fn is_backlog(v: &wire::Version) -> bool {
    v.status.as_deref() == Some("open") && v.start_date.is_none() && v.end_date.is_none()
}

/// A comment activity; activities that only record changes have no comment and are skipped.
pub fn comment(a: wire::Activity) -> Option<Comment> {
    let body = text(a.comment)?;
    Some(Comment {
        id: a.id.to_string(),
        author: linked_user(&a.links.user),
        body,
        created_at: time(a.created_at.as_deref()),
        updated_at: time(a.updated_at.as_deref()),
    })
}

pub fn worklog(t: wire::TimeEntry) -> ProviderResult<Worklog> {
    let raw = t.hours.as_deref().unwrap_or("");
    let seconds = parse_duration(raw).ok_or_else(|| ProviderError::Decode {
        provider: "OpenProject",
        message: format!(
            "time entry {} has hours {raw:?}, not an ISO-8601 duration",
            t.id
        ),
    })?;
    let comment = match (t.links.activity.title.clone(), text(t.comment)) {
        (Some(a), Some(c)) => Some(format!("{a}: {c}")),
        (Some(a), None) => Some(a),
        (None, c) => c,
    };
    Ok(Worklog {
        id: t.id.to_string(),
        author: linked_user(&t.links.user),
        started_at: midnight(date(t.spent_on.as_deref())),
        seconds,
        comment,
    })
}

/// Versions are OpenProject's sprints. Closed: over. Open or locked (locked only to new work
/// packages, still running) and starting after `today`, or without any date (a backlog, never
/// started): future. Otherwise active (an open version past its end date is late, not completed).
pub fn sprint(v: wire::Version, today: NaiveDate) -> Sprint {
    let start = date(v.start_date.as_deref());
    let state = match v.status.as_deref() {
        Some("closed") => SprintState::Closed,
        _ if start.is_some_and(|s| s > today) || is_backlog(&v) => SprintState::Future,
        _ => SprintState::Active,
    };
    Sprint {
        id: v.id.to_string(),
        name: v.name,
        state,
        goal: text(v.description),
        start_date: midnight(start),
        end_date: midnight(date(v.end_date.as_deref())),
        completed_at: (v.status.as_deref() == Some("closed"))
            .then(|| time(v.updated_at.as_deref()))
            .flatten(),
        board_id: None,
        notes: Vec::new(),
    }
}

/// OpenProject's error body as one sentence: its message, or each of several.
pub fn error_text(body: &[u8]) -> Option<String> {
    let e: wire::Error = serde_json::from_slice(body).ok()?;
    let nested: Vec<String> = e
        .embedded
        .map(|em| em.errors.into_iter().filter_map(|e| e.message).collect())
        .unwrap_or_default();
    if !nested.is_empty() {
        return Some(nested.join("; "));
    }
    e.message.filter(|m| !m.trim().is_empty())
}

/// The messages of a form's `validationErrors`, one per property.
pub fn validation_text(errors: &std::collections::HashMap<String, serde_json::Value>) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .map(|(field, e)| {
            e.get("message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{field} is invalid"))
        })
        .collect();
    parts.sort();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_both_ways() {
        assert_eq!(parse_duration("PT1H30M"), Some(5400));
        assert_eq!(parse_duration("PT2H"), Some(7200));
        assert_eq!(parse_duration("PT0.5H"), Some(1800));
        assert_eq!(parse_duration("PT0,25H"), Some(900));
        assert_eq!(parse_duration("P1DT2H"), Some(93_600));
        assert_eq!(parse_duration("P1W"), Some(604_800));
        assert_eq!(parse_duration("PT45S"), Some(45));
        assert_eq!(parse_duration("PT0S"), Some(0));
        for bad in [
            "", "P", "PT", "1H", "PT1X", "P1M", "P1Y", "PT1H30", "PTH", "P1H",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(5400), "PT1H30M");
        assert_eq!(format_duration(7200), "PT2H");
        assert_eq!(format_duration(90), "PT1M30S");
        assert_eq!(format_duration(0), "PT0S");
        for s in [1, 59, 60, 3599, 3600, 5400, 86_399, 360_000] {
            assert_eq!(parse_duration(&format_duration(s)), Some(s), "{s}");
        }
    }

    #[test]
    fn offsets_become_page_numbers() {
        assert_eq!(page_for(0, 50), (1, 50));
        assert_eq!(page_for(50, 50), (2, 50));
        assert_eq!(page_for(100, 50), (3, 50));
        // The caller changed the page size between pages: the page still starts at the offset.
        assert_eq!(page_for(50, 30), (3, 25));
        assert_eq!(page_for(7, 5), (8, 1));
        let (page, size) = page_for(60, 40);
        assert_eq!((page - 1) * size, 60);
    }

    #[test]
    fn statuses_follow_is_closed_then_names() {
        assert_eq!(status("Closed", true).category, StatusCategory::Done);
        assert_eq!(status("Rejected", true).category, StatusCategory::Done);
        for s in [
            "In progress",
            "In specification",
            "Developed",
            "In testing",
            "Test failed",
        ] {
            assert_eq!(status(s, false).category, StatusCategory::InProgress, "{s}");
        }
        for s in [
            "New",
            "Confirmed",
            "Scheduled",
            "On hold",
            "To be scheduled",
        ] {
            assert_eq!(status(s, false).category, StatusCategory::Todo, "{s}");
        }
    }

    #[test]
    fn work_packages_map_with_links_and_custom_points() {
        let w: wire::WorkPackage = serde_json::from_value(json!({
            "id": 42, "lockVersion": 3, "subject": "Fix login",
            "description": { "format": "markdown", "raw": "**Steps**", "html": "<b>Steps</b>" },
            "dueDate": "2026-12-01", "customField7": 5.0,
            "createdAt": "2026-11-01T10:00:00.000Z", "updatedAt": "2026-11-02T10:00:00Z",
            "_links": {
                "status": { "href": "/api/v3/statuses/12", "title": "Closed" },
                "type": { "href": "/api/v3/types/1", "title": "Task" },
                "priority": { "href": "/api/v3/priorities/8", "title": "Normal" },
                "project": { "href": "/op/api/v3/projects/3", "title": "Demo" },
                "assignee": { "href": null },
                "author": { "href": "/api/v3/users/4", "title": "Ann Admin" },
                "parent": { "href": "/api/v3/work_packages/40", "title": "Epic" }
            }
        }))
        .unwrap();
        let t = task(
            w,
            "https://op.example.org",
            &|id| id == "12",
            Some("customField7"),
        );
        assert_eq!(t.id, "42");
        assert_eq!(t.key.as_deref(), Some("#42"));
        assert_eq!(t.description.as_deref(), Some("**Steps**"));
        assert_eq!(t.status.category, StatusCategory::Done);
        assert_eq!(t.assignee, None);
        assert_eq!(t.reporter.unwrap().id, "4");
        assert_eq!(t.project_id.as_deref(), Some("3"));
        assert_eq!(t.parent_id.as_deref(), Some("40"));
        assert_eq!(t.story_points, Some(5.0));
        assert_eq!(t.due_date, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(
            t.url.as_deref(),
            Some("https://op.example.org/work_packages/42")
        );
    }

    #[test]
    fn versions_become_sprints_by_status_and_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let v = |status: &str, start: Option<&str>| -> wire::Version {
            serde_json::from_value(json!({
                "id": 1, "name": "S", "status": status, "startDate": start, "endDate": "2026-12-10",
                "updatedAt": "2026-11-20T10:00:00Z"
            }))
            .unwrap()
        };
        assert_eq!(
            sprint(v("open", Some("2026-11-20")), today).state,
            SprintState::Active
        );
        assert_eq!(sprint(v("open", None), today).state, SprintState::Active);
        let mut backlog = v("open", None);
        backlog.end_date = None;
        assert!(is_backlog(&backlog));
        assert_eq!(sprint(backlog, today).state, SprintState::Future);
        // Locked without dates: still running (closed to new work), not a backlog.
        let mut locked = v("locked", None);
        locked.end_date = None;
        assert!(!is_backlog(&locked));
        assert_eq!(sprint(locked, today).state, SprintState::Active);
        assert_eq!(
            sprint(v("open", Some("2026-12-01")), today).state,
            SprintState::Future
        );
        assert_eq!(
            sprint(v("locked", Some("2026-11-01")), today).state,
            SprintState::Active
        );
        let closed = sprint(v("closed", Some("2026-11-01")), today);
        assert_eq!(closed.state, SprintState::Closed);
        assert!(closed.completed_at.is_some());
    }

    #[test]
    fn errors_read_plainly() {
        assert_eq!(
            error_text(br#"{"_type":"Error","errorIdentifier":"urn:openproject-org:api:v3:errors:PropertyConstraintViolation","message":"Subject can't be blank.","_embedded":{"details":{"attribute":"subject"}}}"#).unwrap(),
            "Subject can't be blank."
        );
        assert_eq!(
            error_text(br#"{"_type":"Error","errorIdentifier":"urn:openproject-org:api:v3:errors:MultipleErrors","message":"Multiple field constraints have been violated.","_embedded":{"errors":[{"message":"Subject can't be blank."},{"message":"Type is not set to one of the allowed values."}]}}"#).unwrap(),
            "Subject can't be blank.; Type is not set to one of the allowed values."
        );
        assert_eq!(error_text(b"<html>"), None);
        let w = worklog(
            serde_json::from_value(json!({
                "id": 3, "hours": "PT1H30M", "spentOn": "2026-11-27", "comment": { "raw": "debugging" },
                "_links": { "activity": { "href": "/api/v3/time_entries/activities/1", "title": "Development" },
                            "user": { "href": "/api/v3/users/4", "title": "Ann" } }
            }))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (w.seconds, w.comment.as_deref()),
            (5400, Some("Development: debugging"))
        );
        assert!(
            worklog(serde_json::from_value(json!({ "id": 4, "hours": "1.5" })).unwrap()).is_err()
        );
    }
}
