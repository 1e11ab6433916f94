//! ClickUp wire types → pm-mcp's domain, and the small rules the mapping rests on (status types
//! as categories, priorities 1–4, sprint state from a list's dates, story points).
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use pm_core::{Comment, Project, Sprint, SprintState, Status, StatusCategory, Task, User, Worklog};
use serde_json::Value;

use super::wire;

pub fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// The user's time zone from its IANA name (UTC when ClickUp names none pm-mcp knows).
pub fn zone(name: Option<&str>) -> Tz {
    name.and_then(|n| n.trim().parse().ok()).unwrap_or(Tz::UTC)
}

/// A date ClickUp keeps as a time: the calendar day of that time in the user's zone. ClickUp
/// stores a date without a time as 04:00 in the user's zone on that day.
pub fn date(ms: Option<i64>, zone: Tz) -> Option<NaiveDate> {
    time(ms).map(|t| t.with_timezone(&zone).date_naive())
}

/// A date as ClickUp takes it (epoch milliseconds, `due_date_time: false`): noon of that day in
/// the user's zone. ClickUp keeps the calendar day the instant falls on in the user's zone (at
/// 04:00); midnight UTC would be the day before anywhere west of UTC.
pub fn date_ms(d: NaiveDate, zone: Tz) -> i64 {
    d.and_hms_opt(12, 0, 0)
        .and_then(|t| t.and_local_timezone(zone).earliest())
        .map(|t| t.timestamp_millis())
        .or_else(|| {
            d.and_hms_opt(12, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
        })
        .unwrap_or(0)
}

pub fn user(u: wire::User) -> User {
    let name = u
        .username
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| u.email.clone())
        .unwrap_or_else(|| u.id.clone());
    User {
        id: u.id,
        name,
        email: u.email.filter(|e| !e.is_empty()),
        active: true,
    }
}

/// ClickUp's status types: `open` (not started), `custom` (the states between), `done` and
/// `closed` (finished).
pub fn category(kind: Option<&str>) -> StatusCategory {
    match kind.map(str::to_ascii_lowercase).as_deref() {
        Some("closed") | Some("done") => StatusCategory::Done,
        Some("custom") => StatusCategory::InProgress,
        _ => StatusCategory::Todo,
    }
}

/// ClickUp's four priorities, by number.
pub const PRIORITIES: [(u8, &str); 4] = [(1, "urgent"), (2, "high"), (3, "normal"), (4, "low")];

/// A priority by name or number (`urgent`, `High`, `3`); the error names the four there are.
pub fn priority_number(name: &str) -> Result<u8, String> {
    let n = name.trim().to_ascii_lowercase();
    PRIORITIES
        .iter()
        .find(|(num, label)| *label == n || num.to_string() == n)
        .map(|(num, _)| *num)
        .ok_or_else(|| {
            format!(
                "ClickUp has no priority {name:?}; use urgent (1), high (2), normal (3) or low (4)"
            )
        })
}

fn priority_name(v: &Value) -> Option<String> {
    let by_number = |n: i64| {
        PRIORITIES
            .iter()
            .find(|(num, _)| i64::from(*num) == n)
            .map(|(_, l)| l.to_string())
    };
    match v {
        Value::Object(o) => o
            .get("priority")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                o.get("id")
                    .and_then(|i| i.as_str().and_then(|s| s.parse().ok()).or(i.as_i64()))
                    .and_then(by_number)
            }),
        Value::Number(n) => n.as_i64().and_then(by_number),
        Value::String(s) => s.parse().ok().and_then(by_number),
        _ => None,
    }
}

/// The names story points go by in ClickUp custom fields.
pub fn is_points_field(f: &wire::CustomField) -> bool {
    let name = f.name.trim().to_ascii_lowercase();
    let numeric = f
        .kind
        .as_deref()
        .is_none_or(|k| k == "number" || k == "emoji");
    numeric
        && matches!(
            name.as_str(),
            "story points" | "story point estimate" | "points"
        )
}

/// Story points: the Sprint Points ClickApp's `points`, else a "Story Points" number field.
pub fn story_points(t: &wire::Task) -> Option<f64> {
    t.points.or_else(|| {
        t.custom_fields
            .iter()
            .filter(|f| is_points_field(f))
            .find_map(|f| match &f.value {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            })
    })
}

pub fn tag_names(tags: &[Value]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| match t {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
        .collect()
}

pub fn assignees(list: &[Value]) -> Vec<wire::User> {
    list.iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

/// `type_name` turns a custom task type id into its name (0 or none is the plain "Task"); due
/// dates are days in `zone`, the user's.
pub fn task(t: wire::Task, type_name: &dyn Fn(i64) -> Option<String>, zone: Tz) -> Task {
    let story_points = story_points(&t);
    let description = t
        .markdown_description
        .clone()
        .or(t.text_content.clone())
        .or(t.description.clone())
        .filter(|d| !d.trim().is_empty());
    let task_type = match t.custom_item_id {
        None | Some(0) => Some("Task".to_string()),
        Some(n) => type_name(n).or(Some(format!("custom type {n}"))),
    };
    Task {
        id: t.id,
        key: t.custom_id.filter(|c| !c.is_empty()),
        title: t.name,
        description,
        status: Status {
            category: category(t.status.kind.as_deref()),
            name: t.status.status,
        },
        priority: t.priority.as_ref().and_then(priority_name),
        task_type,
        assignee: assignees(&t.assignees).into_iter().next().map(user),
        reporter: t.creator.map(user),
        project_id: t.space.map(|s| s.id),
        parent_id: t.parent.filter(|p| !p.is_empty()),
        story_points,
        due_date: date(t.due_date, zone),
        labels: tag_names(&t.tags),
        created_at: time(t.date_created),
        updated_at: time(t.date_updated),
        url: t.url,
    }
}

pub fn project(s: wire::Space, team_id: &str) -> Project {
    Project {
        url: Some(format!("https://app.clickup.com/{team_id}/v/s/{}", s.id)),
        id: s.id,
        key: None,
        name: s.name,
        description: None,
        lead: None,
    }
}

/// A sprint list's state, from its dates: over once its due date has passed (or archived), future
/// until its start date (or while it has none), active between.
pub fn sprint_state(l: &wire::List, now: DateTime<Utc>) -> SprintState {
    let (start, due) = (time(l.start_date), time(l.due_date));
    if l.archived || due.is_some_and(|d| d < now) {
        SprintState::Closed
    } else if start.is_none_or(|s| s > now) {
        SprintState::Future
    } else {
        SprintState::Active
    }
}

pub fn sprint(l: wire::List, now: DateTime<Utc>) -> Sprint {
    let state = sprint_state(&l, now);
    Sprint {
        state,
        start_date: time(l.start_date),
        end_date: time(l.due_date),
        completed_at: None,
        board_id: l.folder.map(|f| f.id),
        notes: Vec::new(),
        goal: l.content.filter(|c| !c.trim().is_empty()),
        name: l.name,
        id: l.id,
    }
}

/// Whether a folder is a sprint folder (the Sprints ClickApp names them "Sprints" or
/// "Sprint Folder"; teams name theirs e.g. "Team sprints").
pub fn is_sprint_folder(f: &wire::Folder) -> bool {
    f.name.to_ascii_lowercase().contains("sprint")
}

/// A comment, its rich form read back as Markdown (plain `comment_text` where it has none).
pub fn comment(c: wire::Comment) -> Comment {
    let body = if c.comment.is_empty() {
        c.comment_text
    } else {
        super::rich::to_markdown(&c.comment)
    };
    Comment {
        id: c.id,
        author: c.user.map(user),
        body,
        created_at: time(c.date),
        updated_at: None,
    }
}

pub fn worklog(i: wire::Interval, author: Option<wire::User>) -> Worklog {
    Worklog {
        id: i.id,
        author: author.map(user),
        started_at: time(i.start.or(i.date_added)),
        seconds: i.time.unwrap_or(0) / 1000,
        comment: i.description.filter(|d| !d.trim().is_empty()),
    }
}

/// A time entry of the workspace's time tracking as a worklog; a running timer (negative
/// duration) is not one yet.
pub fn time_entry(e: wire::TimeEntry) -> Option<Worklog> {
    let ms = e.duration.filter(|d| *d >= 0)?;
    Some(Worklog {
        id: e.id?,
        author: e.user.map(user),
        started_at: time(e.start),
        seconds: ms / 1000,
        comment: e.description.filter(|d| !d.trim().is_empty()),
    })
}

/// ClickUp's error body (`{"err": "...", "ECODE": "..."}`) as one sentence.
pub fn error_text(body: &[u8]) -> Option<String> {
    let e: wire::Error = serde_json::from_slice(body).ok()?;
    match (e.err.filter(|m| !m.trim().is_empty()), e.ecode) {
        (Some(m), Some(code)) => Some(format!("{m} ({code})")),
        (Some(m), None) => Some(m),
        (None, Some(code)) => Some(code),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn wire_task(v: Value) -> wire::Task {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_types_are_categories() {
        assert_eq!(category(Some("open")), StatusCategory::Todo);
        assert_eq!(category(Some("custom")), StatusCategory::InProgress);
        assert_eq!(category(Some("done")), StatusCategory::Done);
        assert_eq!(category(Some("closed")), StatusCategory::Done);
        assert_eq!(category(None), StatusCategory::Todo);
    }

    #[test]
    fn priorities_by_name_or_number() {
        assert_eq!(priority_number("Urgent"), Ok(1));
        assert_eq!(priority_number(" low "), Ok(4));
        assert_eq!(priority_number("3"), Ok(3));
        let err = priority_number("Blocker").unwrap_err();
        assert!(
            err.contains("urgent (1)") && err.contains("Blocker"),
            "{err}"
        );
        assert_eq!(
            priority_name(&json!({"id": "2", "priority": "high"})),
            Some("high".into())
        );
        assert_eq!(priority_name(&json!(4)), Some("low".into()));
        assert_eq!(priority_name(&json!({"id": "1"})), Some("urgent".into()));
        assert_eq!(priority_name(&Value::Null), None);
    }

    #[test]
    fn a_task_maps_with_loose_types() {
        let t = wire_task(json!({
            "id": "9hx", "custom_id": null, "custom_item_id": 0, "name": "Fix login",
            "markdown_description": "**bold**", "text_content": "bold",
            "status": { "status": "in review", "type": "custom" },
            "date_created": "1567780450202", "date_updated": 1567780450202_i64,
            "creator": { "id": 183, "username": "Alex" },
            "assignees": [{ "id": 12, "username": "Mia", "email": "mia@example.com" }, "13"],
            "tags": [{ "name": "web" }, "api"], "parent": "abc",
            "priority": { "id": "2", "priority": "high" }, "due_date": "1508369194377",
            "points": null,
            "custom_fields": [{ "id": "f1", "name": "Story Points", "type": "number", "value": "8" }],
            "url": "https://app.clickup.com/t/9hx", "list": { "id": "124" }, "space": { "id": "790" }
        }));
        let task = task(t, &|_| None, Tz::UTC);
        assert_eq!(task.status.category, StatusCategory::InProgress);
        assert_eq!(task.description.as_deref(), Some("**bold**"));
        assert_eq!(task.priority.as_deref(), Some("high"));
        assert_eq!(task.assignee.as_ref().map(|u| u.id.as_str()), Some("12"));
        assert_eq!(
            task.reporter.as_ref().map(|u| u.name.as_str()),
            Some("Alex")
        );
        assert_eq!(task.labels, vec!["web", "api"]);
        assert_eq!(task.story_points, Some(8.0));
        assert_eq!(task.project_id.as_deref(), Some("790"));
        assert_eq!(task.parent_id.as_deref(), Some("abc"));
        assert_eq!(task.task_type.as_deref(), Some("Task"));
        assert_eq!(task.due_date, NaiveDate::from_ymd_opt(2017, 10, 18));
        assert_eq!(
            task.created_at,
            Utc.timestamp_millis_opt(1567780450202).single()
        );
    }

    #[test]
    fn native_points_win_and_custom_types_are_named() {
        let t = wire_task(json!({
            "id": "1", "name": "x", "status": { "status": "Open", "type": "open" },
            "points": 3, "custom_item_id": 1300, "priority": 1,
            "custom_fields": [{ "id": "f1", "name": "Story Points", "type": "number", "value": 8 }]
        }));
        let task = task(t, &|n| (n == 1300).then(|| "Epic".to_string()), Tz::UTC);
        assert_eq!(task.story_points, Some(3.0));
        assert_eq!(task.task_type.as_deref(), Some("Epic"));
        assert_eq!(task.priority.as_deref(), Some("urgent"));
        assert_eq!(task.description, None);
    }

    #[test]
    fn sprint_state_follows_the_list_dates() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let ms = |y, m, d| {
            Some(
                Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
                    .unwrap()
                    .timestamp_millis(),
            )
        };
        let list = |start, due, archived| wire::List {
            id: "1".into(),
            name: "Sprint 1".into(),
            content: Some("Ship it".into()),
            start_date: start,
            due_date: due,
            folder: None,
            space: None,
            statuses: vec![],
            archived,
        };
        assert_eq!(
            sprint_state(&list(ms(2026, 11, 16), ms(2026, 11, 30), false), now),
            SprintState::Active
        );
        assert_eq!(
            sprint_state(&list(ms(2026, 11, 2), ms(2026, 11, 16), false), now),
            SprintState::Closed
        );
        assert_eq!(
            sprint_state(&list(ms(2026, 11, 30), ms(2026, 12, 14), false), now),
            SprintState::Future
        );
        assert_eq!(
            sprint_state(&list(None, None, false), now),
            SprintState::Future
        );
        assert_eq!(
            sprint_state(&list(ms(2026, 11, 16), ms(2026, 11, 30), true), now),
            SprintState::Closed
        );
        assert_eq!(
            sprint_state(&list(None, ms(2026, 11, 30), false), now),
            SprintState::Future
        );
        let s = sprint(list(ms(2026, 11, 16), None, false), now);
        assert_eq!(
            (s.state, s.goal.as_deref()),
            (SprintState::Active, Some("Ship it"))
        );
    }

    #[test]
    fn errors_read_plainly_and_worklogs_in_seconds() {
        assert_eq!(
            error_text(br#"{"err":"Token invalid","ECODE":"OAUTH_025"}"#).as_deref(),
            Some("Token invalid (OAUTH_025)")
        );
        assert_eq!(error_text(b"<html>"), None);
        let i: wire::Interval = serde_json::from_value(
            json!({ "id": "318", "start": "1569983937761", "time": "5400000" }),
        )
        .unwrap();
        let w = worklog(i, None);
        assert_eq!((w.id.as_str(), w.seconds), ("318", 5400));
        assert!(w.started_at.is_some());
        let day = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        assert_eq!(date_ms(day, Tz::UTC), 1_798_113_600_000);
        for z in [
            "America/Los_Angeles",
            "Pacific/Auckland",
            "Asia/Tokyo",
            "nowhere",
        ] {
            let z = zone(Some(z));
            // ClickUp's 04:00 of that day in the zone reads back as that day.
            let at_four = day
                .and_hms_opt(4, 0, 0)
                .unwrap()
                .and_local_timezone(z)
                .unwrap()
                .timestamp_millis();
            assert_eq!(date(Some(at_four), z), Some(day));
            assert_eq!(date(Some(date_ms(day, z)), z), Some(day));
        }
    }

    #[test]
    fn sprint_folders_and_points_fields_by_name() {
        let f = |name: &str| wire::Folder {
            id: "1".into(),
            name: name.into(),
            hidden: false,
            archived: false,
        };
        assert!(is_sprint_folder(&f("Sprints")));
        assert!(is_sprint_folder(&f("Team Sprint Folder")));
        assert!(!is_sprint_folder(&f("Backlog")));
        let field = |name: &str, kind: &str| wire::CustomField {
            id: "x".into(),
            name: name.into(),
            kind: Some(kind.into()),
            value: None,
        };
        assert!(is_points_field(&field("Story Points", "number")));
        assert!(!is_points_field(&field("Story Points", "short_text")));
        assert!(!is_points_field(&field("Effort", "number")));
    }
}
