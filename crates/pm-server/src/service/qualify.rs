//! Ids handed out are qualified with their connection (`acme-jira:PROJ-42`), so whatever a call
//! returns can be passed to the next one as it is. One trait says, for every domain type that
//! carries tracker ids, which of its ids are qualified.
use pm_core::{ConnectionHandle, History, Page, Project, QualifiedId, Sprint, Task, User};

/// A value whose tracker ids are qualified with the connection they came from.
pub trait Qualify {
    /// The same value, its tracker ids qualified with `c`.
    #[must_use]
    fn qualify(self, c: &ConnectionHandle) -> Self;
}

/// A native id, qualified with `c`.
pub fn qualified(c: &ConnectionHandle, native: impl Into<String>) -> String {
    QualifiedId::new(c, native.into()).to_string()
}

impl Qualify for User {
    fn qualify(mut self, c: &ConnectionHandle) -> Self {
        self.id = qualified(c, self.id);
        self
    }
}

impl Qualify for Task {
    fn qualify(mut self, c: &ConnectionHandle) -> Self {
        self.id = qualified(c, self.id);
        self.project_id = self.project_id.map(|p| qualified(c, p));
        self.parent_id = self.parent_id.map(|p| qualified(c, p));
        self.assignee = self.assignee.qualify(c);
        self.reporter = self.reporter.qualify(c);
        self
    }
}

impl Qualify for Project {
    fn qualify(mut self, c: &ConnectionHandle) -> Self {
        self.id = qualified(c, self.id);
        self
    }
}

impl Qualify for Sprint {
    fn qualify(mut self, c: &ConnectionHandle) -> Self {
        self.id = qualified(c, self.id);
        self
    }
}

/// An item, its assignee and the sprints it moved between.
impl Qualify for History {
    fn qualify(mut self, c: &ConnectionHandle) -> Self {
        for item in &mut self.items {
            item.id = qualified(c, std::mem::take(&mut item.id));
            item.assignee = item.assignee.take().qualify(c);
            for m in &mut item.sprint_moves {
                m.sprint_id = qualified(c, std::mem::take(&mut m.sprint_id));
            }
        }
        self
    }
}

impl<T: Qualify> Qualify for Option<T> {
    fn qualify(self, c: &ConnectionHandle) -> Self {
        self.map(|v| v.qualify(c))
    }
}

impl<T: Qualify> Qualify for Vec<T> {
    fn qualify(self, c: &ConnectionHandle) -> Self {
        self.into_iter().map(|v| v.qualify(c)).collect()
    }
}

impl<T: Qualify> Qualify for Page<T> {
    fn qualify(self, c: &ConnectionHandle) -> Self {
        Page {
            items: self.items.qualify(c),
            next: self.next,
        }
    }
}

impl<A: Qualify, B: Qualify> Qualify for (A, B) {
    fn qualify(self, c: &ConnectionHandle) -> Self {
        (self.0.qualify(c), self.1.qualify(c))
    }
}

/// Nothing to qualify (a call that answers nothing, like a delete).
impl Qualify for () {
    fn qualify(self, _: &ConnectionHandle) -> Self {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> User {
        User {
            id: id.into(),
            name: id.into(),
            email: None,
            active: true,
        }
    }

    #[test]
    fn every_id_a_task_carries_is_qualified_once() {
        let c = ConnectionHandle::parse("acme-jira").expect("handle");
        let task = Task {
            id: "PROJ-1".into(),
            key: Some("PROJ-1".into()),
            title: "t".into(),
            description: None,
            status: pm_core::Status {
                name: "To Do".into(),
                category: pm_core::StatusCategory::Todo,
            },
            priority: None,
            task_type: None,
            assignee: Some(user("5b10")),
            reporter: Some(user("77aa")),
            project_id: Some("PROJ".into()),
            parent_id: None,
            story_points: None,
            due_date: None,
            labels: Vec::new(),
            created_at: None,
            updated_at: None,
            url: None,
        };
        let page = Page {
            items: vec![task],
            next: Some("c:2".into()),
        }
        .qualify(&c);
        let t = &page.items[0];
        assert_eq!(t.id, "acme-jira:PROJ-1");
        assert_eq!(t.project_id.as_deref(), Some("acme-jira:PROJ"));
        assert_eq!(t.parent_id, None);
        assert_eq!(
            t.assignee.as_ref().map(|u| u.id.as_str()),
            Some("acme-jira:5b10")
        );
        assert_eq!(
            t.reporter.as_ref().map(|u| u.id.as_str()),
            Some("acme-jira:77aa")
        );
        assert_eq!(
            page.next.as_deref(),
            Some("c:2"),
            "cursors stay as they are"
        );
    }
}
