//! In-process tests of the tools, one file per toolset: each calls tools by name through MCP
//! (see `harness`) against a scripted provider (see `scripted`), and checks what only a unit sees
//! cheaply: what reached the tracker, how ids are qualified both ways, which calls are refused
//! before anything is sent, and what the answer and the audit row say when the tracker fails.
pub(crate) mod harness;
mod scripted;

mod analytics;
mod comments;
mod connections;
mod epics;
mod projects;
mod resources;
mod server;
mod sprints;
mod tasks;
mod users;
mod worklogs;

use pm_core::{Page, Project, Sprint, SprintState, Status, StatusCategory, Task, User};

/// A task of the tracker, in its native ids, "To Do".
pub(crate) fn task(id: &str, title: &str) -> Task {
    Task {
        id: id.into(),
        key: Some(id.into()),
        title: title.into(),
        description: None,
        status: Status {
            name: "To Do".into(),
            category: StatusCategory::Todo,
        },
        priority: None,
        task_type: Some("Task".into()),
        assignee: None,
        reporter: None,
        project_id: Some("10000".into()),
        parent_id: None,
        story_points: None,
        due_date: None,
        labels: vec![],
        created_at: None,
        updated_at: None,
        url: None,
    }
}

pub(crate) fn project(id: &str, name: &str) -> Project {
    Project {
        id: id.into(),
        key: Some(name.to_uppercase().chars().take(4).collect()),
        name: name.into(),
        description: None,
        lead: None,
        url: None,
    }
}

pub(crate) fn sprint(id: &str, name: &str, state: SprintState) -> Sprint {
    Sprint {
        id: id.into(),
        name: name.into(),
        state,
        goal: None,
        start_date: None,
        end_date: None,
        completed_at: None,
        board_id: None,
        notes: vec![],
    }
}

pub(crate) fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        email: Some(format!("{}@acme.org", name.to_lowercase())),
        active: true,
    }
}

pub(crate) fn page<T>(items: Vec<T>, next: Option<&str>) -> Page<T> {
    Page {
        items,
        next: next.map(str::to_string),
    }
}
