//! A tracker whose answers the test sets, method by method, and which records every call with
//! its arguments (as JSON, in the provider's own terms: native ids, dates, pages). A method the
//! test did not script answers an error saying so, never a made-up value.
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pm_core::history::History;
use pm_core::{
    Assignee, Comment, NewSprint, NewTask, Page, PageRequest, Project, Provider, ProviderError,
    ProviderKind, ProviderResult, SiteInfo, Sprint, SprintChange, SprintState, Task, TaskChange,
    TaskQuery, User, Vocabulary, Worklog,
};
use serde_json::{Map, Value, json};

/// One call that reached the provider.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub method: &'static str,
    pub args: Value,
}

/// An answer: computed from the call's arguments.
type Answer<T> = Arc<dyn Fn(&Value) -> ProviderResult<T> + Send + Sync>;

pub(crate) struct Scripted {
    kind: ProviderKind,
    answers: Mutex<HashMap<&'static str, Box<dyn Any + Send + Sync>>>,
    calls: Mutex<Vec<Call>>,
    creates_in_sprint: AtomicBool,
    completes_sprints: AtomicBool,
    project_statuses: Mutex<&'static [&'static str]>,
    /// How long a status change takes to be answered after the tracker made it.
    transition_answer_ms: std::sync::atomic::AtomicU64,
}

impl Scripted {
    pub fn new(kind: ProviderKind) -> Arc<Self> {
        Arc::new(Self {
            kind,
            answers: Mutex::default(),
            calls: Mutex::default(),
            creates_in_sprint: AtomicBool::new(false),
            completes_sprints: AtomicBool::new(false),
            project_statuses: Mutex::new(&[]),
            transition_answer_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A status change is made at once, but answered only `ms` later (a slow tracker).
    pub fn answer_transitions_after(&self, ms: u64) {
        self.transition_answer_ms.store(ms, Ordering::SeqCst);
    }

    /// Every call of `method` answers what `f` makes of its arguments (replacing an earlier
    /// script). `T` must be the method's own success type (`Page<Task>` for `search_tasks`).
    pub fn on<T: 'static>(
        &self,
        method: &'static str,
        f: impl Fn(&Value) -> ProviderResult<T> + Send + Sync + 'static,
    ) {
        let answer: Answer<T> = Arc::new(f);
        self.answers
            .lock()
            .expect("script lock")
            .insert(method, Box::new(answer));
    }

    /// Every call of `method` answers `result`.
    pub fn answer<T: Clone + Send + Sync + 'static>(
        &self,
        method: &'static str,
        result: ProviderResult<T>,
    ) {
        self.on(method, move |_| result.clone());
    }

    /// Every call of `method` fails with `error`; `T` as in [`Scripted::on`].
    pub fn fail<T: 'static>(&self, method: &'static str, error: ProviderError) {
        self.on::<T>(method, move |_| Err(error.clone()));
    }

    pub fn set_creates_in_sprint(&self, yes: bool) {
        self.creates_in_sprint.store(yes, Ordering::SeqCst);
    }

    pub fn set_completes_sprints(&self, yes: bool) {
        self.completes_sprints.store(yes, Ordering::SeqCst);
    }

    pub fn set_project_statuses(&self, statuses: &'static [&'static str]) {
        *self.project_statuses.lock().expect("lock") = statuses;
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// The methods called so far, in order.
    pub fn methods(&self) -> Vec<&'static str> {
        self.calls().into_iter().map(|c| c.method).collect()
    }

    /// The arguments of every call of `method`, in order.
    pub fn calls_to(&self, method: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .map(|c| c.args)
            .collect()
    }

    /// The arguments of the one call of `method`; fails the test unless there was exactly one.
    pub fn only_call(&self, method: &str) -> Value {
        let mut calls = self.calls_to(method);
        assert_eq!(
            calls.len(),
            1,
            "expected one call of {method}; calls: {:?}",
            self.calls()
        );
        calls.remove(0)
    }

    fn reply<T: 'static>(&self, method: &'static str, args: Value) -> ProviderResult<T> {
        self.calls.lock().expect("calls lock").push(Call {
            method,
            args: args.clone(),
        });
        let answer = {
            let answers = self.answers.lock().expect("script lock");
            answers.get(method).map(|any| {
                any.downcast_ref::<Answer<T>>().cloned().ok_or_else(|| {
                    ProviderError::BadInput(format!(
                        "scripted provider: the answer scripted for {method} has the wrong type"
                    ))
                })
            })
        };
        match answer {
            None => Err(ProviderError::BadInput(format!(
                "scripted provider: {method} was not scripted by this test"
            ))),
            Some(Err(e)) => Err(e),
            Some(Ok(f)) => f(&args),
        }
    }
}

fn page(p: &PageRequest) -> Value {
    json!({ "cursor": p.cursor, "limit": p.limit })
}

/// `args` with the page's cursor and limit added.
fn paged(mut args: Value, p: &PageRequest) -> Value {
    if let (Value::Object(map), Value::Object(extra)) = (&mut args, page(p)) {
        map.extend(extra);
    }
    args
}

/// An object of the fields given (`None` leaves a field out, so a test sees exactly what was set).
fn given(fields: &[(&str, Option<Value>)]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect();
    Value::Object(map)
}

fn v<T: serde::Serialize>(x: T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

fn opt<T: serde::Serialize>(x: &Option<T>) -> Option<Value> {
    x.as_ref().map(v)
}

fn assignee(a: &Assignee) -> Value {
    match a {
        Assignee::Me => json!("me"),
        Assignee::Nobody => json!("nobody"),
        Assignee::User(id) => json!({ "user": id }),
    }
}

fn query(q: &TaskQuery) -> Value {
    given(&[
        ("project", opt(&q.project)),
        ("sprint", opt(&q.sprint)),
        ("assignee", q.assignee.as_ref().map(assignee)),
        ("statuses", (!q.statuses.is_empty()).then(|| v(&q.statuses))),
        ("text", opt(&q.text)),
    ])
}

fn new_task(t: &NewTask) -> Value {
    given(&[
        ("project", Some(v(&t.project))),
        ("title", Some(v(&t.title))),
        ("description", opt(&t.description)),
        ("task_type", opt(&t.task_type)),
        ("assignee", opt(&t.assignee)),
        ("priority", opt(&t.priority)),
        ("due_date", opt(&t.due_date)),
        ("parent", opt(&t.parent)),
        ("labels", (!t.labels.is_empty()).then(|| v(&t.labels))),
        ("sprint", opt(&t.sprint)),
        ("story_points", opt(&t.story_points)),
    ])
}

fn task_change(c: &TaskChange) -> Value {
    given(&[
        ("title", opt(&c.title)),
        ("description", opt(&c.description)),
        ("priority", opt(&c.priority)),
        // `Some(None)` unassigns: sent as null.
        ("assignee", c.assignee.as_ref().map(v)),
        ("due_date", opt(&c.due_date)),
        ("labels", opt(&c.labels)),
        ("estimated_hours", opt(&c.estimated_hours)),
        ("remaining_hours", opt(&c.remaining_hours)),
        ("sprint", opt(&c.sprint)),
        ("story_points", opt(&c.story_points)),
    ])
}

fn new_sprint(s: &NewSprint) -> Value {
    given(&[
        ("project", Some(v(&s.project))),
        ("name", Some(v(&s.name))),
        ("start", opt(&s.start)),
        ("end", opt(&s.end)),
        ("goal", opt(&s.goal)),
    ])
}

fn sprint_change(c: &SprintChange) -> Value {
    given(&[
        ("name", opt(&c.name)),
        ("goal", opt(&c.goal)),
        ("start", opt(&c.start)),
        ("end", opt(&c.end)),
    ])
}

#[async_trait]
impl Provider for Scripted {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn whoami(&self) -> ProviderResult<User> {
        self.reply("whoami", json!({}))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        self.reply("site", json!({}))
    }

    async fn list_projects(&self, p: &PageRequest) -> ProviderResult<Page<Project>> {
        self.reply("list_projects", page(p))
    }

    async fn search_projects(&self, q: &str, p: &PageRequest) -> ProviderResult<Page<Project>> {
        self.reply("search_projects", paged(json!({ "query": q }), p))
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        self.reply("get_project", json!({ "id": id }))
    }

    async fn create_project(
        &self,
        name: &str,
        key: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        self.reply(
            "create_project",
            json!({ "name": name, "key": key, "description": description }),
        )
    }

    async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ProviderResult<Project> {
        self.reply(
            "update_project",
            json!({ "id": id, "name": name, "description": description }),
        )
    }

    fn project_statuses(&self) -> &'static [&'static str] {
        *self.project_statuses.lock().expect("lock")
    }

    async fn update_project_status(&self, id: &str, status: &str) -> ProviderResult<Project> {
        self.reply(
            "update_project_status",
            json!({ "id": id, "status": status }),
        )
    }

    async fn delete_project(&self, id: &str) -> ProviderResult<()> {
        self.reply("delete_project", json!({ "id": id }))
    }

    async fn project_vocabulary(
        &self,
        project: &str,
        task: Option<&str>,
    ) -> ProviderResult<Vocabulary> {
        self.reply(
            "project_vocabulary",
            json!({ "project": project, "task": task }),
        )
    }

    async fn search_tasks(&self, q: &TaskQuery, p: &PageRequest) -> ProviderResult<Page<Task>> {
        self.reply("search_tasks", paged(query(q), p))
    }

    async fn get_task(&self, id: &str) -> ProviderResult<Task> {
        self.reply("get_task", json!({ "id": id }))
    }

    async fn create_task(&self, task: &NewTask) -> ProviderResult<Task> {
        self.reply("create_task", new_task(task))
    }

    fn creates_in_sprint(&self) -> bool {
        self.creates_in_sprint.load(Ordering::SeqCst)
    }

    async fn check_transition(&self, id: &str, status: &str) -> ProviderResult<()> {
        self.reply("check_transition", json!({ "id": id, "status": status }))
    }

    async fn transition_task(&self, id: &str, status: &str) -> ProviderResult<Task> {
        let made = self.reply("transition_task", json!({ "id": id, "status": status }));
        let ms = self.transition_answer_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        made
    }

    async fn assign_task(&self, id: &str, assignee: Option<&str>) -> ProviderResult<()> {
        self.reply("assign_task", json!({ "id": id, "assignee": assignee }))
    }

    async fn add_comment(&self, task: &str, markdown: &str) -> ProviderResult<Comment> {
        self.reply("add_comment", json!({ "task": task, "body": markdown }))
    }

    async fn list_comments(&self, task: &str, p: &PageRequest) -> ProviderResult<Page<Comment>> {
        self.reply("list_comments", paged(json!({ "task": task }), p))
    }

    async fn log_work(
        &self,
        task: &str,
        seconds: i64,
        started: DateTime<Utc>,
        comment: Option<&str>,
    ) -> ProviderResult<Worklog> {
        self.reply(
            "log_work",
            json!({ "task": task, "seconds": seconds, "started": started, "comment": comment }),
        )
    }

    async fn list_worklogs(&self, task: &str, p: &PageRequest) -> ProviderResult<Page<Worklog>> {
        self.reply("list_worklogs", paged(json!({ "task": task }), p))
    }

    async fn update_task(&self, id: &str, change: &TaskChange) -> ProviderResult<Task> {
        self.reply(
            "update_task",
            json!({ "id": id, "change": task_change(change) }),
        )
    }

    async fn delete_task(&self, id: &str) -> ProviderResult<()> {
        self.reply("delete_task", json!({ "id": id }))
    }

    async fn add_watcher(&self, task: &str, user: &str) -> ProviderResult<()> {
        self.reply("add_watcher", json!({ "task": task, "user": user }))
    }

    async fn link_tasks(&self, from: &str, to: &str, link_type: &str) -> ProviderResult<()> {
        self.reply(
            "link_tasks",
            json!({ "from": from, "to": to, "link_type": link_type }),
        )
    }

    async fn list_users(&self, q: &str, p: &PageRequest) -> ProviderResult<Page<User>> {
        self.reply("list_users", paged(json!({ "query": q }), p))
    }

    async fn list_project_members(
        &self,
        project: &str,
        q: &str,
        p: &PageRequest,
    ) -> ProviderResult<Page<User>> {
        self.reply(
            "list_project_members",
            paged(json!({ "project": project, "query": q }), p),
        )
    }

    async fn get_user(&self, id: &str) -> ProviderResult<User> {
        self.reply("get_user", json!({ "id": id }))
    }

    async fn list_epics(&self, project: &str, p: &PageRequest) -> ProviderResult<Page<Task>> {
        self.reply("list_epics", paged(json!({ "project": project }), p))
    }

    async fn set_epic(&self, task: &str, epic: Option<&str>) -> ProviderResult<()> {
        self.reply("set_epic", json!({ "task": task, "epic": epic }))
    }

    async fn list_sprints(
        &self,
        project: &str,
        states: &[SprintState],
        p: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        self.reply(
            "list_sprints",
            paged(json!({ "project": project, "states": states }), p),
        )
    }

    async fn list_board_sprints(
        &self,
        project: &str,
        board: Option<&str>,
        states: &[SprintState],
        p: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        self.reply(
            "list_board_sprints",
            paged(
                json!({ "project": project, "board": board, "states": states }),
                p,
            ),
        )
    }

    async fn get_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        self.reply("get_sprint", json!({ "id": id }))
    }

    async fn create_sprint(&self, sprint: &NewSprint) -> ProviderResult<Sprint> {
        self.reply("create_sprint", new_sprint(sprint))
    }

    async fn create_board_sprint(
        &self,
        sprint: &NewSprint,
        board: Option<&str>,
    ) -> ProviderResult<Sprint> {
        self.reply(
            "create_board_sprint",
            json!({ "sprint": new_sprint(sprint), "board": board }),
        )
    }

    async fn update_sprint(&self, id: &str, change: &SprintChange) -> ProviderResult<Sprint> {
        self.reply(
            "update_sprint",
            json!({ "id": id, "change": sprint_change(change) }),
        )
    }

    async fn start_sprint(&self, id: &str, change: &SprintChange) -> ProviderResult<Sprint> {
        self.reply(
            "start_sprint",
            json!({ "id": id, "change": sprint_change(change) }),
        )
    }

    async fn complete_sprint(&self, id: &str) -> ProviderResult<Sprint> {
        self.reply("complete_sprint", json!({ "id": id }))
    }

    fn completes_sprints(&self) -> bool {
        self.completes_sprints.load(Ordering::SeqCst)
    }

    async fn delete_sprint(&self, id: &str) -> ProviderResult<()> {
        self.reply("delete_sprint", json!({ "id": id }))
    }

    async fn sprint_history(&self, sprint: &str, max_items: u32) -> ProviderResult<History> {
        self.reply(
            "sprint_history",
            json!({ "sprint": sprint, "max_items": max_items }),
        )
    }

    async fn project_history(
        &self,
        project: &str,
        since: DateTime<Utc>,
        max_items: u32,
    ) -> ProviderResult<History> {
        self.reply(
            "project_history",
            json!({ "project": project, "since": since, "max_items": max_items }),
        )
    }
}
