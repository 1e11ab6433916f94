//! The tool × provider matrix: every tool that `tools/list` offers, on every provider — fake Jira
//! Cloud, fake Jira Data Center, fake OpenProject, fake ClickUp and the real Redmine — called
//! through the official Python SDK (`tests/clients/matrix.py`) and the TypeScript SDK v1
//! (`tests/clients/matrix.mjs`), both of which validate `structuredContent` against the tool's
//! `outputSchema`. Each provider gets a plan: a happy path per tool (writes on items the plan itself
//! created, read back with the matching get_ tool) and at least one failing input per tool (an
//! unknown id, a missing argument); where the tracker cannot do something the tool must answer
//! "… not supported by <Provider>" and the plan expects exactly that. The test prints the matrix
//! and fails on any FAIL or missing pair, and on a KNOWN_GAPS entry that now passes.
//!
//! Needs `PM_MCP_CLIENTS_DIR` (tests/clients after `setup.sh`) and, for Redmine,
//! `PM_MCP_REDMINE_URL` (+ `PM_MCP_REDMINE_KEY`); each is skipped without it, unless `CI` is set.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

/// A pair that fails today for a reason someone else is fixing: printed as `gap`, and the test
/// fails if it passes (so the list cannot rot). `observed` must occur in a failing call's text.
struct Gap {
    tool: &'static str,
    provider: &'static str,
    /// What the failing call showed (any one of these: the SDKs word a refusal differently).
    observed: &'static [&'static str],
    reason: &'static str,
}

/// One line per gap, so the table reads as a table.
#[rustfmt::skip]
const KNOWN_GAPS: &[Gap] = &[
];

const fn gap(
    tool: &'static str,
    provider: &'static str,
    observed: &'static [&'static str],
    reason: &'static str,
) -> Gap {
    Gap {
        tool,
        provider,
        observed,
        reason,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Ok,
    Unsupported,
    Error,
}

struct Step {
    tool: &'static str,
    /// The tool whose cell the step counts for: a read-back counts for the write it checks.
    credit: &'static str,
    label: String,
    arguments: Value,
    expect: Expect,
    /// Substrings (any one, case-insensitive) the answer's text or JSON-RPC message must hold.
    expect_text: Vec<String>,
    /// The JSON-RPC error code the call must be refused with.
    expect_code: Option<i64>,
    /// JSON pointer into the structured content → the value expected there (or a matcher).
    check: Vec<(String, Value)>,
    /// Variable → JSON pointer, kept for later steps' "${var}".
    save: Vec<(String, String)>,
}

fn step(tool: &'static str, arguments: Value) -> Step {
    Step {
        tool,
        credit: tool,
        label: String::new(),
        arguments,
        expect: Expect::Ok,
        expect_text: Vec::new(),
        expect_code: None,
        check: Vec::new(),
        save: Vec::new(),
    }
}

impl Step {
    fn label(mut self, l: &str) -> Self {
        self.label = l.to_string();
        self
    }
    /// A read-back: counts for `write`, the tool whose effect it checks.
    fn verifies(mut self, write: &'static str) -> Self {
        self.credit = write;
        self.label = format!("read back {write}");
        self
    }
    /// A tool error whose text holds `text`.
    fn fails(self, text: &str) -> Self {
        self.fails_any(&[text])
    }
    /// A tool error whose text holds one of `texts`.
    fn fails_any(mut self, texts: &[&str]) -> Self {
        self.expect = Expect::Error;
        self.expect_text = texts.iter().map(|t| t.to_string()).collect();
        self
    }
    /// A clear not-found for an unknown id.
    fn not_found(self) -> Self {
        self.fails("not found")
    }
    /// A JSON-RPC invalid-params refusal naming the tool.
    fn invalid(mut self) -> Self {
        self.expect = Expect::Error;
        self.expect_code = Some(-32602);
        self.expect_text = vec![format!("invalid arguments for {}", self.tool)];
        self
    }
    fn unsupported(mut self, provider: &str) -> Self {
        self.expect = Expect::Unsupported;
        self.expect_text = vec![format!("not supported by {provider}")];
        self.check.clear();
        self.save.clear();
        self
    }
    fn check(mut self, pointer: &str, value: Value) -> Self {
        self.check.push((pointer.to_string(), value));
        self
    }
    fn save(mut self, var: &str, pointer: &str) -> Self {
        self.save.push((var.to_string(), pointer.to_string()));
        self
    }
    fn to_json(&self) -> Value {
        let expect = match self.expect {
            Expect::Ok => "ok",
            Expect::Unsupported => "unsupported",
            Expect::Error => "error",
        };
        json!({
            "tool": self.tool,
            "label": self.label,
            "arguments": self.arguments,
            "expect": expect,
            "expect_text": self.expect_text,
            "expect_code": self.expect_code,
            "check": self.check.iter().map(|(p, v)| (p.clone(), v.clone())).collect::<serde_json::Map<_, _>>(),
            "save": self.save.iter().map(|(k, p)| (k.clone(), Value::from(p.clone()))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// Matchers a check may use instead of a literal value.
fn matches(want: &Value, got: &Value) -> bool {
    if let Some(m) = want.as_object() {
        if let Some(s) = m.get("$contains").and_then(Value::as_str) {
            return got.as_str().is_some_and(|g| g.contains(s))
                || got
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str().is_some_and(|x| x.contains(s))));
        }
        if m.get("$present") == Some(&Value::Bool(true)) {
            return !got.is_null() && got.get("$missing").is_none();
        }
        if m.get("$nonempty") == Some(&Value::Bool(true)) {
            return got.as_array().is_some_and(|a| !a.is_empty());
        }
        if let Some(Value::Object(fields)) = m.get("$has") {
            return got.as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| fields.iter().all(|(k, v)| x.get(k) == Some(v)))
            });
        }
        if let Some(id) = m.get("$has_id") {
            return got
                .as_array()
                .is_some_and(|a| a.iter().any(|x| &x["id"] == id));
        }
        if let Some(s) = m.get("$ieq").and_then(Value::as_str) {
            return got.as_str().is_some_and(|g| g.eq_ignore_ascii_case(s));
        }
    }
    if let (Some(a), Some(b)) = (want.as_f64(), got.as_f64()) {
        return (a - b).abs() < 1e-9;
    }
    want == got
}

fn contains(s: &str) -> Value {
    json!({ "$contains": s })
}
fn has_id(id: &str) -> Value {
    json!({ "$has_id": id })
}
/// An array with an element holding these fields (and maybe more).
fn has(fields: Value) -> Value {
    json!({ "$has": fields })
}
fn ieq(s: &str) -> Value {
    json!({ "$ieq": s })
}
fn nonempty() -> Value {
    json!({ "$nonempty": true })
}

/// What the plan needs to know about one provider.
struct Provider {
    /// Column name in the matrix.
    col: &'static str,
    /// The name the provider's refusals use ("… not supported by <name>").
    name: &'static str,
    /// The connection's name (the prefix of every id).
    conn: &'static str,
    configure: Value,
    /// The same with a wrong secret.
    bad_configure: Value,
    /// Where the plan creates and lists tasks.
    project: String,
    /// A text that finds `project` with search_projects.
    project_query: String,
    /// Arguments for create_project, besides the name.
    new_project: Value,
    /// A sprint with history, for the sprint analytics; None: the plan's own sprint.
    seeded_sprint: Option<String>,
    /// A status name of the in-progress category that a new task can move to.
    in_progress: &'static str,
    /// Native ids that do not exist, in the provider's id shape.
    no_task: &'static str,
    no_project: &'static str,
    no_sprint: &'static str,
    no_user: &'static str,
    /// Tools whose happy path the tracker cannot do.
    unsupported: &'static [&'static str],
    /// Seeded sprints cannot be started/completed/deleted by the plan; create_sprint's start date.
    sprint_start: Option<String>,
    /// The task type the tracker has for create_task (None: the default).
    task_type: Option<&'static str>,
    /// Whether the tracker keeps labels / story points on a task.
    labels: bool,
    points: bool,
}

impl Provider {
    fn id(&self, native: &str) -> String {
        format!("{}:{native}", self.conn)
    }
    fn can(&self, tool: &str) -> bool {
        !self.unsupported.contains(&tool)
    }
}

/// A prompt each SDK asks for after the plan's steps, and what its text and the resources it
/// links (each read too, as Markdown and JSON) must say.
struct Read {
    prompt: &'static str,
    arguments: Value,
    text: &'static str,
    /// What each linked resource's text holds; None: the prompt links none.
    link_text: Option<&'static str>,
}

fn reads(p: &Provider) -> Vec<Read> {
    let mut out = vec![
        // The stand-up reads the caller's tasks on the server, through the tracker.
        Read {
            prompt: "standup",
            arguments: json!({}),
            text: "Prepare my stand-up",
            link_text: None,
        },
        Read {
            prompt: "triage",
            arguments: json!({ "project_id": p.project }),
            text: "Triage project ",
            link_text: Some("\"project\""),
        },
    ];
    if p.can("create_sprint") {
        out.push(Read {
            prompt: "sprint_review",
            arguments: json!({ "sprint_id": "${sprint}" }),
            text: "sprint_report (sprint_id ",
            link_text: Some("# Sprint: "),
        });
    }
    out
}

/// The problems of one run's reads (an empty list: all asked, answered and parsed by the SDK).
fn judge_reads(want: &[Read], got: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, r) in want.iter().enumerate() {
        let Some(line) = got.iter().find(|l| l["read"].as_u64() == Some(i as u64)) else {
            problems.push(format!("prompt {}: no outcome", r.prompt));
            continue;
        };
        let text = line["text"].as_str().unwrap_or_default();
        // A prompt that read the trackers names any that failed: none may have.
        if line["outcome"] != "ok" || !text.contains(r.text) || text.contains("Could not read") {
            problems.push(format!("prompt {}: {} {text}", r.prompt, line["outcome"]));
            continue;
        }
        let links = line["links"].as_array().cloned().unwrap_or_default();
        match r.link_text {
            None if links.is_empty() => {}
            None => problems.push(format!("prompt {}: links {links:?}", r.prompt)),
            Some(_) if links.is_empty() => {
                problems.push(format!("prompt {}: links no resource", r.prompt));
            }
            Some(want_text) => {
                for l in links {
                    let ok = l["outcome"] == "ok"
                        && l["mime"] == json!(["text/markdown", "application/json"])
                        && l["text"].as_str().is_some_and(|t| t.contains(want_text));
                    if !ok {
                        problems.push(format!("resource {} ({}): {l}", l["uri"], r.prompt));
                    }
                }
            }
        }
    }
    problems
}

/// Every tool's happy path and failing inputs, in an order where each write works on an item the
/// plan created and is read back with the matching get_ tool.
fn plan(p: &Provider) -> Vec<Step> {
    let mut s = Vec::new();
    let c = p.conn;
    let proj = p.project.clone();
    let no_task = p.id(p.no_task);
    let no_project = p.id(p.no_project);
    let no_sprint = p.id(p.no_sprint);
    let no_user = p.id(p.no_user);
    let me = format!("{c}:${{me}}");
    // A tool the tracker cannot do answers "unsupported" to every well-formed call, and a
    // JSON-RPC refusal to a malformed one.
    let call = |tool: &'static str, args: Value| -> Step {
        if p.can(tool) {
            step(tool, args)
        } else {
            step(tool, args).unsupported(p.name)
        }
    };
    let unknown = |tool: &'static str, args: Value| -> Step {
        if p.can(tool) {
            step(tool, args).not_found()
        } else {
            step(tool, args).unsupported(p.name)
        }
    };

    // Connections.
    s.push(step("configure_pm_provider", p.bad_configure.clone()).fails("nothing was stored"));
    s.push(step("configure_pm_provider", json!({})).invalid());
    s.push(
        step("configure_pm_provider", p.configure.clone())
            .check("/test/ok", json!(true))
            .check("/connection/name", json!(c)),
    );
    s.push(step("list_providers", json!({})).check("/connections/0/name", json!(c)));
    s.push(step("list_providers", json!({ "provider_type": 7 })).invalid());
    s.push(step("test_pm_provider", json!({ "provider_id": c })).check("/test/ok", json!(true)));
    s.push(step("test_pm_provider", json!({ "provider_id": "nope" })).fails("nope"));
    s.push(step("get_current_user", json!({})).save("me", "/provider_account/account/id"));
    s.push(step("get_current_user", json!({ "provider_id": "nope" })).fails("nope"));

    // Users.
    s.push(step("list_users", json!({ "limit": 5 })).check("/users", nonempty()));
    s.push(step("list_users", json!({ "limit": "five" })).invalid());
    s.push(step("get_user", json!({ "user_id": me })).check("/user/id", json!(me)));
    s.push(step("get_user", json!({ "user_id": no_user })).not_found());

    // Projects: a throwaway one through its whole life; the work happens in `p.project`.
    s.push(step("list_projects", json!({ "limit": 2 })).check("/projects", nonempty()));
    s.push(step("list_projects", json!({ "limit": "2" })).invalid());
    s.push(
        step("search_projects", json!({ "query": p.project_query }))
            .check("/projects", has_id(&proj)),
    );
    s.push(step("search_projects", json!({})).invalid());
    s.push(step("get_project", json!({ "project_id": proj })).check("/project/id", json!(proj)));
    s.push(step("get_project", json!({ "project_id": no_project })).not_found());
    let mut np = p.new_project.clone();
    np["name"] = json!("Matrix ${sdk} ${tag}");
    s.push(
        call("create_project", np)
            .save("newproj", "/project/id")
            .check("/project/name", json!("Matrix ${sdk} ${tag}")),
    );
    s.push(step("create_project", json!({ "description": "no name" })).invalid());
    s.push(
        call(
            "update_project",
            json!({ "project_id": "${newproj}", "name": "Matrix ${sdk} ${tag} renamed" }),
        )
        .check("/project/name", json!("Matrix ${sdk} ${tag} renamed")),
    );
    s.push(
        step("get_project", json!({ "project_id": "${newproj}" }))
            .verifies("update_project")
            .check("/project/name", json!("Matrix ${sdk} ${tag} renamed")),
    );
    s.push(unknown(
        "update_project",
        json!({ "project_id": no_project, "name": "x" }),
    ));

    // Tasks.
    let mut new_task = json!({
        "project_id": proj, "title": "Matrix task ${sdk}", "description": "## Steps\n\n1. open **checkout**",
        "due_date": day(10), "priority": "High"
    });
    if let Some(t) = p.task_type {
        new_task["task_type"] = json!(t);
    }
    s.push(
        step("create_task", new_task.clone())
            .save("task", "/task/id")
            .check("/task/title", json!("Matrix task ${sdk}")),
    );
    let mut second = new_task.clone();
    second["title"] = json!("Matrix second ${sdk}");
    s.push(step("create_task", second).save("task2", "/task/id"));
    // The project's words: its in-progress status with its category, priorities, a default task
    // type; with the new task, where it can move (the plan moves it to `in_progress` later).
    s.push(
        step("get_project_vocabulary", json!({ "project_id": proj }))
            .check("/project_id", json!(proj))
            .check(
                "/statuses",
                has(json!({ "name": p.in_progress, "category": "in_progress" })),
            )
            .check("/priorities", nonempty())
            .check("/task_types", has(json!({ "is_default": true })))
            .check("/transitions", Value::Null),
    );
    s.push(
        step(
            "get_project_vocabulary",
            json!({ "project_id": proj, "task_id": "${task}" }),
        )
        .label("a task's moves")
        .check("/transitions", has(json!({ "to_status": p.in_progress }))),
    );
    s.push(
        step(
            "get_project_vocabulary",
            json!({ "project_id": no_project }),
        )
        .not_found(),
    );
    s.push(
        step(
            "get_project_vocabulary",
            json!({ "project_id": proj, "task_id": no_task }),
        )
        .label("unknown task")
        .not_found(),
    );
    s.push(step("get_project_vocabulary", json!({ "task_id": "${task}" })).invalid());
    // Labels and story points: kept as asked, or refused before anything is written.
    let mut labelled = new_task.clone();
    labelled["title"] = json!("Matrix labelled ${sdk}");
    labelled["labels"] = json!(["matrix"]);
    if p.labels {
        s.push(
            step("create_task", labelled)
                .label("with labels")
                .save("labelled", "/task/id")
                .check("/task/labels", json!(["matrix"])),
        );
        s.push(
            step("get_task", json!({ "task_id": "${labelled}" }))
                .verifies("create_task")
                .label("labels read back")
                .check("/task/labels", json!(["matrix"])),
        );
    } else {
        s.push(
            step("create_task", labelled)
                .label("with labels")
                .unsupported(p.name),
        );
        s.push(
            step(
                "search_tasks",
                json!({ "query": "Matrix labelled ${sdk}", "project_id": proj }),
            )
            .verifies("create_task")
            .label("a refused create wrote nothing")
            .check("/tasks", json!([])),
        );
    }
    let mut pointed = new_task.clone();
    pointed["title"] = json!("Matrix pointed ${sdk}");
    pointed["story_points"] = json!(3);
    if p.points {
        s.push(
            step("create_task", pointed)
                .label("with story points")
                .save("pointed", "/task/id")
                .check("/task/story_points", json!(3.0)),
        );
        s.push(
            step("get_task", json!({ "task_id": "${pointed}" }))
                .verifies("create_task")
                .label("story points read back")
                .check("/task/story_points", json!(3.0)),
        );
    } else {
        s.push(
            step("create_task", pointed)
                .label("with story points")
                .unsupported(p.name),
        );
        s.push(
            step(
                "search_tasks",
                json!({ "query": "Matrix pointed ${sdk}", "project_id": proj }),
            )
            .verifies("create_task")
            .label("a refused create wrote nothing")
            .check("/tasks", json!([])),
        );
    }
    s.push(
        step(
            "create_task",
            json!({ "project_id": no_project, "title": "x" }),
        )
        .fails_any(&["not found", "valid project"]),
    );
    s.push(
        step("get_task", json!({ "task_id": "${task}" }))
            .verifies("create_task")
            .check("/task/title", json!("Matrix task ${sdk}"))
            .check("/task/due_date", json!(day(10)))
            .check("/task/priority", ieq("High")),
    );
    s.push(step("get_task", json!({ "task_id": no_task })).not_found());
    s.push(step("update_task", json!({ "task_id": "${task}", "title": "Matrix task ${sdk} (edited)", "due_date": day(12) })).check("/task/title", json!("Matrix task ${sdk} (edited)")));
    s.push(
        step("get_task", json!({ "task_id": "${task}" }))
            .verifies("update_task")
            .check("/task/title", json!("Matrix task ${sdk} (edited)"))
            .check("/task/due_date", json!(day(12))),
    );
    s.push(step("update_task", json!({ "task_id": no_task, "title": "x" })).not_found());
    s.push(
        step(
            "update_task_status",
            json!({ "task_id": "${task}", "status": p.in_progress }),
        )
        .check("/task/status/category", json!("in_progress")),
    );
    s.push(
        step("get_task", json!({ "task_id": "${task}" }))
            .verifies("update_task_status")
            .check("/task/status/category", json!("in_progress")),
    );
    s.push(
        step(
            "update_task_status",
            json!({ "task_id": "${task}", "status": "No Such Status" }),
        )
        .fails("No Such Status"),
    );
    s.push(
        step(
            "update_task_status",
            json!({ "task_id": no_task, "status": p.in_progress }),
        )
        .not_found(),
    );
    s.push(step(
        "assign_task",
        json!({ "task_id": "${task}", "assignee_id": me }),
    ));
    s.push(
        step("get_task", json!({ "task_id": "${task}" }))
            .verifies("assign_task")
            .check("/task/assignee/id", json!(me)),
    );
    s.push(
        step(
            "assign_task",
            json!({ "task_id": no_task, "assignee_id": me }),
        )
        .not_found(),
    );
    s.push(
        step("list_tasks", json!({ "project_id": proj, "limit": 100 }))
            .check("/tasks", has_id("${task}")),
    );
    s.push(step("list_tasks", json!({ "project_id": no_project })).not_found());
    s.push(
        step("list_my_tasks", json!({ "limit": 100, "project_id": proj }))
            .check("/tasks", has_id("${task}")),
    );
    s.push(step("list_my_tasks", json!({ "limit": "all" })).invalid());
    s.push(
        step(
            "list_tasks_by_assignee",
            json!({ "assignee_id": me, "project_id": proj, "limit": 100 }),
        )
        .check("/tasks", has_id("${task}")),
    );
    s.push(step("list_tasks_by_assignee", json!({})).invalid());
    s.push(
        step(
            "list_unassigned_tasks",
            json!({ "project_id": proj, "limit": 100 }),
        )
        .check("/tasks", has_id("${task2}")),
    );
    s.push(step("list_unassigned_tasks", json!({ "project_id": no_project })).not_found());
    s.push(
        step(
            "search_tasks",
            json!({ "query": "Matrix second", "project_id": proj, "limit": 100 }),
        )
        .check("/tasks", has_id("${task2}")),
    );
    s.push(step("search_tasks", json!({})).invalid());
    s.push(
        step(
            "bulk_update_tasks",
            json!({ "task_ids": ["${task}", "${task2}"], "priority": "Low" }),
        )
        .check("/failed", json!([])),
    );
    s.push(
        step("get_task", json!({ "task_id": "${task2}" }))
            .verifies("bulk_update_tasks")
            .check("/task/priority", ieq("Low")),
    );
    s.push(
        step(
            "bulk_update_tasks",
            json!({ "task_ids": [no_task], "priority": "Low" }),
        )
        .label("an unknown id is reported, not fatal")
        .check("/updated", json!([]))
        .check("/failed/0/error", contains("not found")),
    );
    s.push(step("bulk_update_tasks", json!({ "priority": "Low" })).invalid());
    s.push(step(
        "link_related_tasks",
        json!({ "task_id": "${task}", "related_task_id": "${task2}" }),
    ));
    s.push(
        step(
            "link_related_tasks",
            json!({ "task_id": "${task}", "related_task_id": no_task }),
        )
        .not_found(),
    );
    s.push(
        step(
            "add_task_comment",
            json!({ "task_id": "${task}", "comment": "Reproduced on **Safari**" }),
        )
        .check("/comment/body", json!("Reproduced on **Safari**")),
    );
    s.push(
        step(
            "add_task_comment",
            json!({ "task_id": no_task, "comment": "x" }),
        )
        .not_found(),
    );
    s.push(
        step("get_task_comments", json!({ "task_id": "${task}" }))
            .check("/comments/0/body", json!("Reproduced on **Safari**")),
    );
    s.push(step("get_task_comments", json!({ "task_id": no_task })).not_found());
    s.push(step(
        "add_task_watcher",
        json!({ "task_id": "${task}", "user_id": me }),
    ));
    s.push(
        step(
            "add_task_watcher",
            json!({ "task_id": no_task, "user_id": me }),
        )
        .not_found(),
    );

    // Worklogs.
    s.push(
        step(
            "log_work",
            json!({ "task_id": "${task}", "hours": 1.5, "date": day(-1), "comment": "matrix" }),
        )
        .check("/worklog/seconds", json!(5400)),
    );
    s.push(step("log_work", json!({ "task_id": "${task}", "hours": -2 })).fails("more than 0"));
    s.push(
        step("list_worklogs", json!({ "task_id": "${task}" })).check("/total_hours", json!(1.5)),
    );
    s.push(step("list_worklogs", json!({ "task_id": no_task })).not_found());

    // Sprints: one of the plan's own, into which a task moves; a second, empty, to delete.
    let mut new_sprint = json!({ "project_id": proj, "name": "Matrix sprint ${sdk}", "end_date": day(14), "goal": "Cover every tool" });
    if let Some(start) = &p.sprint_start {
        new_sprint["start_date"] = json!(start);
    }
    s.push(
        step("create_sprint", new_sprint.clone())
            .save("sprint", "/sprint/id")
            .check("/sprint/name", json!("Matrix sprint ${sdk}")),
    );
    s.push(step("create_sprint", json!({ "project_id": proj })).invalid());
    let mut got = step("get_sprint", json!({ "sprint_id": "${sprint}" }))
        .verifies("create_sprint")
        .check("/sprint/goal", json!("Cover every tool"));
    if let Some(start) = &p.sprint_start {
        got = got.check("/sprint/start_date", contains(start));
    }
    s.push(got);
    s.push(step("get_sprint", json!({ "sprint_id": no_sprint })).not_found());
    s.push(
        step("list_sprints", json!({ "project_id": proj, "limit": 100 }))
            .check("/sprints", has_id("${sprint}")),
    );
    s.push(step("list_sprints", json!({ "project_id": no_project })).not_found());
    s.push(
        step(
            "update_sprint",
            json!({ "sprint_id": "${sprint}", "goal": "Cover every tool twice" }),
        )
        .check("/sprint/goal", json!("Cover every tool twice")),
    );
    s.push(
        step("get_sprint", json!({ "sprint_id": "${sprint}" }))
            .verifies("update_sprint")
            .check("/sprint/goal", json!("Cover every tool twice")),
    );
    s.push(
        step(
            "update_sprint",
            json!({ "sprint_id": no_sprint, "goal": "x" }),
        )
        .not_found(),
    );
    s.push(
        step(
            "update_task",
            json!({ "task_id": "${task}", "sprint_id": "${sprint}" }),
        )
        .label("into the sprint"),
    );
    s.push(
        step("list_tasks_in_sprint", json!({ "sprint_id": "${sprint}" }))
            .check("/tasks", has_id("${task}")),
    );
    s.push(step("list_tasks_in_sprint", json!({ "sprint_id": no_sprint })).not_found());
    s.push(
        step("get_sprint_tasks", json!({ "sprint_id": "${sprint}" }))
            .check("/tasks", has_id("${task}"))
            .check("/sprint/id", json!("${sprint}")),
    );
    s.push(step("get_sprint_tasks", json!({ "sprint_id": no_sprint })).not_found());
    if p.can("start_sprint") {
        s.push(
            step(
                "start_sprint",
                json!({ "sprint_id": "${sprint}", "end_date": day(14) }),
            )
            .check("/sprint/state", json!("active")),
        );
        s.push(
            step("get_sprint", json!({ "sprint_id": "${sprint}" }))
                .verifies("start_sprint")
                .check("/sprint/state", json!("active")),
        );
    } else {
        s.push(call("start_sprint", json!({ "sprint_id": "${sprint}" })));
    }
    s.push(unknown("start_sprint", json!({ "sprint_id": no_sprint })));
    s.push(step("start_sprint", json!({})).invalid());
    // Analytics on seeded history (or the plan's own sprint, before it closes).
    let hist_sprint = p
        .seeded_sprint
        .clone()
        .unwrap_or_else(|| "${sprint}".into());
    s.push(
        step(
            "burndown_chart",
            json!({ "sprint_id": hist_sprint, "chart": true }),
        )
        .check("/sprint_id", json!(hist_sprint)),
    );
    s.push(step("burndown_chart", json!({ "sprint_id": no_sprint })).not_found());
    s.push(step("sprint_report", json!({ "sprint_id": hist_sprint })));
    s.push(step("sprint_report", json!({ "sprint_id": no_sprint })).not_found());
    s.push(step(
        "work_distribution_chart",
        json!({ "sprint_id": hist_sprint, "chart": true }),
    ));
    s.push(step(
        "work_distribution_chart",
        json!({ "project_id": proj, "by": "status" }),
    ));
    s.push(step("work_distribution_chart", json!({})).fails("sprint_id"));
    if p.can("complete_sprint") {
        s.push(
            step("complete_sprint", json!({ "sprint_id": "${sprint}" }))
                .check("/sprint/state", json!("closed")),
        );
        s.push(
            step("get_sprint", json!({ "sprint_id": "${sprint}" }))
                .verifies("complete_sprint")
                .check("/sprint/state", json!("closed")),
        );
    } else {
        s.push(call("complete_sprint", json!({ "sprint_id": "${sprint}" })));
    }
    s.push(unknown(
        "complete_sprint",
        json!({ "sprint_id": no_sprint }),
    ));
    s.push(step("complete_sprint", json!({})).invalid());
    for tool in [
        "velocity_chart",
        "project_health",
        "cfd_chart",
        "cycle_time_chart",
        "issue_trend_chart",
        "capacity_chart",
    ] {
        let args = match tool {
            "project_health" => json!({ "project_id": proj }),
            _ => json!({ "project_id": proj, "chart": true }),
        };
        s.push(step(tool, args));
        s.push(step(tool, json!({ "project_id": no_project })).not_found());
    }
    let mut empty_sprint = new_sprint;
    empty_sprint["name"] = json!("Matrix empty sprint ${sdk}");
    if p.sprint_start.is_some() {
        empty_sprint["start_date"] = json!(day(20));
        empty_sprint["end_date"] = json!(day(30));
    }
    s.push(
        step("create_sprint", empty_sprint)
            .label("a second, empty sprint")
            .save("sprint2", "/sprint/id"),
    );
    s.push(step("delete_sprint", json!({ "sprint_id": "${sprint2}" })));
    s.push(
        step("get_sprint", json!({ "sprint_id": "${sprint2}" }))
            .verifies("delete_sprint")
            .not_found(),
    );
    s.push(step("delete_sprint", json!({ "sprint_id": no_sprint })).not_found());

    // Epics (on Redmine, which has no epic type, a parent task stands in).
    s.push(call("list_epics", json!({ "project_id": proj })));
    s.push(step("list_epics", json!({})).invalid());
    s.push(call("create_epic", json!({ "project_id": proj, "title": "Matrix epic ${sdk}", "description": "Everything" })).save("epic", "/epic/id").check("/epic/title", json!("Matrix epic ${sdk}")));
    if !p.can("create_epic") {
        let mut parent = json!({ "project_id": proj, "title": "Matrix epic ${sdk}" });
        if let Some(t) = p.task_type {
            parent["task_type"] = json!(t);
        }
        s.push(
            step("create_task", parent)
                .label("a parent task as the epic")
                .save("epic", "/task/id"),
        );
    }
    if p.can("create_epic") {
        s.push(
            step(
                "create_epic",
                json!({ "project_id": no_project, "title": "x" }),
            )
            .fails_any(&["not found", "valid project"]),
        );
    } else {
        s.push(step("create_epic", json!({ "title": "x" })).invalid());
    }
    if p.can("get_epic") {
        s.push(
            step("get_epic", json!({ "epic_id": "${epic}" }))
                .check("/epic/title", json!("Matrix epic ${sdk}")),
        );
        s.push(step("get_epic", json!({ "epic_id": no_task })).not_found());
        s.push(
            step("get_epic", json!({ "epic_id": "${task2}" }))
                .label("a task is not an epic")
                .fails("not an epic"),
        );
    } else {
        s.push(call("get_epic", json!({ "epic_id": "${epic}" })));
        s.push(call("get_epic", json!({ "epic_id": no_task })));
        s.push(step("get_epic", json!({})).invalid());
    }
    if p.can("update_epic") {
        s.push(
            step(
                "update_epic",
                json!({ "epic_id": "${epic}", "title": "Matrix epic ${sdk} (edited)" }),
            )
            .check("/epic/title", json!("Matrix epic ${sdk} (edited)")),
        );
        s.push(
            step("get_epic", json!({ "epic_id": "${epic}" }))
                .verifies("update_epic")
                .check("/epic/title", json!("Matrix epic ${sdk} (edited)")),
        );
        s.push(step("update_epic", json!({ "epic_id": no_task, "title": "x" })).not_found());
        s.push(
            step(
                "update_epic",
                json!({ "epic_id": "${task2}", "title": "Renamed" }),
            )
            .label("a task is not an epic")
            .fails("not an epic"),
        );
        s.push(
            step("get_task", json!({ "task_id": "${task2}" }))
                .verifies("update_epic")
                .label("update_epic left the task alone")
                .check("/task/id", json!("${task2}")),
        );
    } else {
        s.push(call(
            "update_epic",
            json!({ "epic_id": "${epic}", "title": "Matrix epic ${sdk} (edited)" }),
        ));
        s.push(step("update_epic", json!({})).invalid());
    }
    s.push(step(
        "link_task_to_epic",
        json!({ "task_id": "${task}", "epic_id": "${epic}" }),
    ));
    s.push(
        step("get_task", json!({ "task_id": "${task}" }))
            .verifies("link_task_to_epic")
            .check("/task/parent_id", json!("${epic}")),
    );
    s.push(
        step(
            "link_task_to_epic",
            json!({ "task_id": no_task, "epic_id": "${epic}" }),
        )
        .not_found(),
    );
    if p.can("unlink_task_from_epic") {
        s.push(step(
            "unlink_task_from_epic",
            json!({ "task_id": "${task}" }),
        ));
        s.push(
            step("get_task", json!({ "task_id": "${task}" }))
                .verifies("unlink_task_from_epic")
                .check("/task/parent_id", Value::Null),
        );
    } else {
        s.push(call(
            "unlink_task_from_epic",
            json!({ "task_id": "${task}" }),
        ));
    }
    s.push(unknown(
        "unlink_task_from_epic",
        json!({ "task_id": no_task }),
    ));
    s.push(step("unlink_task_from_epic", json!({})).invalid());
    if p.can("delete_epic") {
        s.push(step("delete_epic", json!({ "epic_id": "${epic}" })));
        s.push(
            step("get_epic", json!({ "epic_id": "${epic}" }))
                .verifies("delete_epic")
                .not_found(),
        );
        s.push(step("delete_epic", json!({ "epic_id": no_task })).not_found());
        let mut third = new_task;
        third["title"] = json!("Matrix third ${sdk}");
        s.push(
            step("create_task", third)
                .label("a task that delete_epic must refuse")
                .save("task3", "/task/id"),
        );
        s.push(
            step("delete_epic", json!({ "epic_id": "${task3}" }))
                .label("a task is not an epic")
                .fails("not an epic"),
        );
        s.push(
            step("get_task", json!({ "task_id": "${task3}" }))
                .verifies("delete_epic")
                .label("delete_epic left the task alone")
                .check("/task/id", json!("${task3}")),
        );
    } else {
        s.push(call("delete_epic", json!({ "epic_id": "${epic}" })));
        s.push(
            step("get_task", json!({ "task_id": "${epic}" }))
                .verifies("delete_epic")
                .label("the refused delete_epic left the parent alone")
                .check("/task/id", json!("${epic}")),
        );
        s.push(step("delete_epic", json!({})).invalid());
    }

    // Deletes, each read back.
    s.push(step("delete_task", json!({ "task_id": "${task2}" })));
    s.push(
        step("get_task", json!({ "task_id": "${task2}" }))
            .verifies("delete_task")
            .not_found(),
    );
    s.push(step("delete_task", json!({ "task_id": no_task })).not_found());
    s.push(call(
        "delete_project",
        json!({ "project_id": "${newproj}" }),
    ));
    if p.can("delete_project") {
        s.push(
            step("get_project", json!({ "project_id": "${newproj}" }))
                .verifies("delete_project")
                .not_found(),
        );
    }
    s.push(unknown(
        "delete_project",
        json!({ "project_id": no_project }),
    ));

    // The connection goes last.
    s.push(step("remove_pm_provider", json!({ "provider_id": c })));
    s.push(
        step("list_providers", json!({}))
            .verifies("remove_pm_provider")
            .check("/connections", json!([])),
    );
    s.push(step("remove_pm_provider", json!({ "provider_id": c })).fails(c));
    s
}

/// One call's outcome as a driver reported it.
#[derive(Debug, Clone)]
struct Outcome {
    step: usize,
    outcome: String,
    rpc_code: Option<i64>,
    text: String,
    values: serde_json::Map<String, Value>,
}

/// Whether `o` is what `s` expects; the reason when not.
fn judge(s: &Step, o: &Outcome) -> Result<(), String> {
    let want = match s.expect {
        Expect::Ok => "ok",
        Expect::Unsupported => "unsupported",
        Expect::Error => "error",
    };
    if o.outcome != want {
        return Err(format!("expected {want}, got {}: {}", o.outcome, o.text));
    }
    let lower = o.text.to_lowercase();
    if !s.expect_text.is_empty()
        && !s
            .expect_text
            .iter()
            .any(|t| lower.contains(&t.to_lowercase()))
    {
        return Err(format!("text lacks {:?}: {}", s.expect_text, o.text));
    }
    if let Some(code) = s.expect_code
        && o.rpc_code != Some(code)
    {
        return Err(format!(
            "expected JSON-RPC {code}, got {:?}: {}",
            o.rpc_code, o.text
        ));
    }
    for (pointer, want) in s.check.iter().filter(|_| s.expect == Expect::Ok) {
        let got = o.values.get(pointer).cloned().unwrap_or(Value::Null);
        if !matches(want, &got) {
            return Err(format!("{pointer}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

/// Replaces `${var}` in expected values with what the run saved; the drivers report raw values.
fn resolve(v: &Value, vars: &BTreeMap<String, Value>) -> Value {
    match v {
        Value::String(s) if s.contains("${") => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && let Some(val) = vars.get(name)
            {
                return val.clone();
            }
            let mut out = s.clone();
            for (k, val) in vars {
                let text = val.as_str().map_or_else(|| val.to_string(), str::to_string);
                out = out.replace(&format!("${{{k}}}"), &text);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, vars)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Sdk {
    Python,
    TypeScript,
}

impl Sdk {
    fn short(self) -> &'static str {
        match self {
            Sdk::Python => "py",
            Sdk::TypeScript => "ts",
        }
    }
}

/// Runs a plan through one SDK's driver; returns the listed tools, the outcomes and the reads.
async fn drive(sdk: Sdk, dir: &Path, plan_path: &Path) -> Listed {
    let (program, script) = match sdk {
        Sdk::Python => (dir.join("venv/bin/python"), "matrix.py"),
        Sdk::TypeScript => (dir.join("node_modules/node/bin/node"), "matrix.mjs"),
    };
    let run = tokio::process::Command::new(&program)
        .arg(script)
        .arg(plan_path)
        .current_dir(dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .map_err(|_| format!("{script} did not finish within 10 min"))?
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || !stdout.contains("{\"done\": true}") && !stdout.contains("{\"done\":true}")
    {
        return Err(format!(
            "{script} exited {:?}: {}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            stdout.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        ));
    }
    let mut tools = Vec::new();
    let mut outcomes = Vec::new();
    let mut reads = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        if let Some(t) = v.get("tools").and_then(Value::as_array) {
            tools = t
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        } else if let Some(n) = v.get("step").and_then(Value::as_u64) {
            outcomes.push(Outcome {
                step: usize::try_from(n).map_err(|e| e.to_string())?,
                outcome: v["outcome"].as_str().unwrap_or("?").to_string(),
                rpc_code: v.get("rpc_code").and_then(Value::as_i64),
                text: v["text"].as_str().unwrap_or("").to_string(),
                values: v["values"].as_object().cloned().unwrap_or_default(),
            });
        } else if v.get("read").is_some() {
            reads.push(v);
        }
    }
    Ok((tools, outcomes, reads))
}

type Job<'a> = (Sdk, &'a Provider, Vec<Step>, PathBuf);
type Listed = Result<(Vec<String>, Vec<Outcome>, Vec<Value>), String>;

async fn run_job<'a>(
    dir: &Path,
    (sdk, p, steps, path): Job<'a>,
) -> (Sdk, &'a Provider, Vec<Step>, Listed) {
    let result = drive(sdk, dir, &path).await;
    (sdk, p, steps, result)
}

/// The cell of one tool × provider × SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Pass,
    Unsupported,
    Missing,
    Gap,
    /// A listed gap that passes now.
    GapFixed,
    Fail(Vec<String>),
}

impl Cell {
    fn word(&self) -> &'static str {
        match self {
            Cell::Pass => "pass",
            Cell::Unsupported => "unsupported",
            Cell::Missing => "missing",
            Cell::Gap => "gap",
            Cell::GapFixed => "GAP-FIXED",
            Cell::Fail(_) => "FAIL",
        }
    }
}

/// Judges every step of a tool; applies KNOWN_GAPS.
fn cell(tool: &str, provider: &Provider, steps: &[Step], outcomes: &[Outcome]) -> Cell {
    cell_with(KNOWN_GAPS, tool, provider, steps, outcomes)
}

/// `cell` against a given list of gaps (the judge's own tests use one of their own).
fn cell_with(
    known: &[Gap],
    tool: &str,
    provider: &Provider,
    steps: &[Step],
    outcomes: &[Outcome],
) -> Cell {
    let mine: Vec<(usize, &Step)> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.credit == tool)
        .collect();
    let gaps: Vec<&Gap> = known
        .iter()
        .filter(|g| g.tool == tool && g.provider == provider.col)
        .collect();
    if mine.is_empty() {
        return Cell::Missing;
    }
    let mut problems = Vec::new();
    for (i, s) in &mine {
        let Some(o) = outcomes.iter().find(|o| o.step == *i) else {
            problems.push(format!("step {i} ({}) has no outcome", s.label));
            continue;
        };
        if let Err(e) = judge(s, o) {
            let label = if s.label.is_empty() {
                format!("{}", s.arguments)
            } else {
                s.label.clone()
            };
            problems.push(format!("#{i} {label}: {e}"));
        }
    }
    if !mine.iter().any(|(_, s)| s.expect == Expect::Error) {
        problems.push("no failing input is tried".into());
    }
    let covered = |p: &String, g: &Gap| g.observed.iter().any(|o| p.contains(o));
    if problems.is_empty() {
        if !gaps.is_empty() {
            return Cell::GapFixed;
        }
        let happy = mine.iter().filter(|(_, s)| s.expect != Expect::Error);
        return if happy.clone().count() > 0
            && happy
                .into_iter()
                .all(|(_, s)| s.expect == Expect::Unsupported)
        {
            Cell::Unsupported
        } else {
            Cell::Pass
        };
    }
    // A gap holds while every problem is a listed one and every listed one is still seen.
    let uncovered: Vec<String> = problems
        .iter()
        .filter(|p| !gaps.iter().any(|g| covered(p, g)))
        .cloned()
        .collect();
    let stale: Vec<String> = gaps
        .iter()
        .filter(|g| !problems.iter().any(|p| covered(p, g)))
        .map(|g| {
            format!(
                "KNOWN_GAPS entry no longer seen (remove it): {:?}",
                g.observed
            )
        })
        .collect();
    if gaps.is_empty() || !uncovered.is_empty() || !stale.is_empty() {
        return Cell::Fail(uncovered.into_iter().chain(stale).collect());
    }
    Cell::Gap
}

/// The variable's value; without it the part is skipped with one line — unless `CI` (or the
/// part's own require flag, such as `PM_MCP_REQUIRE_REDMINE=1`) says it must run.
fn required(var: &str, require_flag: Option<&str>, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) => Some(v),
        Err(_) => {
            assert!(
                !pm_testkit::under_ci(),
                "{var} is not set under CI: {what} must run there"
            );
            if let Some(flag) = require_flag {
                assert!(
                    std::env::var(flag).as_deref() != Ok("1"),
                    "{flag}=1 but {var} is not set: {what} must run"
                );
            }
            eprintln!("{var} not set: {what} skipped (scripts/test sets it)");
            None
        }
    }
}

/// The real Redmine's own API, for the set-up the tools rightly cannot do (a membership).
struct RedmineAdmin {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl RedmineAdmin {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.url.trim_end_matches('/')))
            .header("x-redmine-api-key", &self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("redmine");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A project of the run's own with the admin as a member (so tasks can be assigned to them).
    async fn project(&self, identifier: &str) {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "projects.json",
                Some(json!({ "project": { "name": format!("Matrix {identifier}"), "identifier": identifier, "is_public": false } })),
            )
            .await;
        assert_eq!(status, 201, "create project {identifier}: {body}");
        let roles = self.send(reqwest::Method::GET, "roles.json", None).await.1;
        let role = roles["roles"][0]["id"].as_u64().expect("a role");
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                &format!("projects/{identifier}/memberships.json"),
                Some(json!({ "membership": { "user_id": 1, "role_ids": [role] } })),
            )
            .await;
        assert_eq!(status, 201, "membership: {body}");
    }

    /// What the plan wrote, read back from Redmine's own API: the edited task (title, due date,
    /// priority, status, assignee, watcher, comment, time), the sprint's goal and state, the
    /// deleted items gone.
    /// Returns the differences.
    async fn read_back(&self, tag: &str, sdk: &str) -> Vec<String> {
        use reqwest::Method;
        let mut bad = Vec::new();
        let mut expect = |what: &str, got: Value, want: Value| {
            if !matches(&want, &got) {
                bad.push(format!(
                    "redmine {sdk}: {what}: expected {want}, Redmine has {got}"
                ));
            }
        };
        let project = format!("mx-{tag}-{sdk}");
        let (_, issues) = self
            .send(
                Method::GET,
                &format!("issues.json?project_id={project}&status_id=*&limit=100&sort=id"),
                None,
            )
            .await;
        let list = issues["issues"].as_array().cloned().unwrap_or_default();
        let title = format!("Matrix task {sdk} (edited)");
        let Some(task) = list.iter().find(|i| i["subject"] == json!(title)) else {
            return vec![format!("redmine {sdk}: no issue {title:?} in {project}")];
        };
        let id = task["id"].as_u64().unwrap_or_default();
        let (_, one) = self
            .send(
                Method::GET,
                &format!("issues/{id}.json?include=journals,relations,watchers"),
                None,
            )
            .await;
        let issue = &one["issue"];
        expect("due_date", issue["due_date"].clone(), json!(day(12)));
        expect("priority", issue["priority"]["name"].clone(), json!("Low"));
        expect(
            "status",
            issue["status"]["name"].clone(),
            json!("In Progress"),
        );
        expect("assignee", issue["assigned_to"]["id"].clone(), json!(1));
        expect("parent (unlinked)", issue["parent"].clone(), Value::Null);
        expect(
            "comment",
            Value::Array(
                issue["journals"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|j| j["notes"].clone())
                    .collect(),
            ),
            contains("Safari"),
        );
        expect("watchers", issue["watchers"].clone(), nonempty());
        let (_, times) = self
            .send(
                Method::GET,
                &format!("time_entries.json?issue_id={id}"),
                None,
            )
            .await;
        expect(
            "time entry",
            times["time_entries"][0]["hours"].clone(),
            json!(1.5),
        );
        expect(
            "deleted task",
            json!(
                list.iter()
                    .any(|i| i["subject"] == json!(format!("Matrix second {sdk}")))
            ),
            json!(false),
        );
        let (_, versions) = self
            .send(
                Method::GET,
                &format!("projects/{project}/versions.json"),
                None,
            )
            .await;
        let names: Vec<Value> = versions["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v["name"].clone())
            .collect();
        expect(
            "sprints left",
            Value::Array(names),
            json!([format!("Matrix sprint {sdk}")]),
        );
        let sprint = versions["versions"][0].clone();
        // The goal, and the start date pm-mcp keeps on its last line (versions have no start).
        let description = sprint["description"].as_str().unwrap_or_default();
        let (goal, kept_start) = description
            .split_once("[pm-mcp] start: ")
            .unwrap_or((description, ""));
        expect(
            "sprint goal",
            json!(goal.trim()),
            json!("Cover every tool twice"),
        );
        expect(
            "sprint start kept",
            json!(chrono::NaiveDate::parse_from_str(kept_start.trim(), "%Y-%m-%d").is_ok()),
            json!(true),
        );
        expect("sprint closed", sprint["status"].clone(), json!("closed"));
        let (status, _) = self
            .send(
                Method::GET,
                &format!("projects/mxnew-{tag}-{sdk}.json"),
                None,
            )
            .await;
        expect("deleted project", json!(status), json!(404));
        bad
    }

    async fn delete_project(&self, identifier: &str) {
        let _ = self
            .send(
                reqwest::Method::DELETE,
                &format!("projects/{identifier}.json"),
                None,
            )
            .await;
    }
}

#[tokio::test]
async fn every_tool_on_every_provider_through_real_sdks() {
    let Some(dir) = required("PM_MCP_CLIENTS_DIR", None, "the tool × provider matrix") else {
        return;
    };
    let dir = std::fs::canonicalize(PathBuf::from(dir)).expect("clients dir");
    let started = std::time::Instant::now();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();

    let redmine = required(
        "PM_MCP_REDMINE_URL",
        Some("PM_MCP_REQUIRE_REDMINE"),
        "the Redmine column of the matrix",
    )
    .map(|url| {
        let key = std::env::var("PM_MCP_REDMINE_KEY")
            .unwrap_or_else(|_| "0123456789abcdef0123456789abcdef01234567".into());
        RedmineAdmin {
            http: reqwest::Client::new(),
            url,
            key,
        }
    });

    // In turn with the other real-Redmine tests of this binary, for the whole run (projects are
    // made, written, read back and deleted on it).
    let _turn = match &redmine {
        Some(_) => Some(real_redmine_turn().await),
        None => None,
    };
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let mut flags: Vec<String> = LOCAL_UPSTREAM.iter().map(|s| s.to_string()).collect();
    if let Some(r) = &redmine {
        let host = url::Url::parse(&r.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .expect("PM_MCP_REDMINE_URL has a host");
        flags.extend(["--allow-upstream".to_string(), host]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = env.serve(&flags).await;

    // Fresh fakes for each SDK's run (the runs are independent and go in parallel); the real
    // Redmine is shared, each run in a project of its own.
    let mut keep_alive: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut sdk_providers: Vec<(Sdk, Vec<Provider>)> = Vec::new();
    for sdk in [Sdk::Python, Sdk::TypeScript] {
        // The trackers.
        let jira_token = "ATATT-matrix-0001";
        let Some(_jira_fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", jira_token),
        ))
        .await
        else {
            return;
        };
        let jira = _jira_fake.url.clone();
        let dc_pat = "NDc4MTQ5-matrix-pat";
        let Some(_dc_fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::dc(
            &format!("Bearer {dc_pat}"),
        ))
        .await
        else {
            return;
        };
        let jira_dc = _dc_fake.url.clone();
        let op_key = "op-matrix-apikey-0001";
        let _op_fake = pm_testkit::fake_openproject::spawn(
            pm_testkit::fake_openproject::Options::new(op_key, "/openproject", "13.4.1"),
        )
        .await;
        let op = _op_fake.url.clone();
        let cu_token = "pk_81818_MATRIXCLICKUPTOKEN";
        let Some(_cu_fake) =
            pm_testkit::fake_clickup::spawn(pm_testkit::fake_clickup::Options::token(cu_token))
                .await
        else {
            return;
        };
        let cu = _cu_fake.url.clone();
        keep_alive.push(Box::new((_jira_fake, _dc_fake, _op_fake, _cu_fake)));
        let dc_wrong = "wrong-pat";
        let mut providers = vec![
            Provider {
                col: "jira_cloud",
                name: "Jira Cloud",
                conn: "jc",
                configure: json!({ "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": jira_token, "name": "jc" }),
                bad_configure: json!({ "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": "wrong", "name": "jc" }),
                project: "jc:EX".into(),
                project_query: "exam".into(),
                new_project: json!({ "key": "MX${SDK}" }),
                seeded_sprint: Some("jc:7".into()),
                in_progress: "In Progress",
                no_task: "EX-9404",
                no_project: "NOPE",
                no_sprint: "9404",
                no_user: "no-such-account-9404",
                unsupported: &[],
                sprint_start: Some(day(1)),
                task_type: None,
                labels: true,
                points: true,
            },
            Provider {
                col: "jira_dc",
                name: "Jira Data Center",
                conn: "dc",
                configure: json!({ "provider_type": "jira_data_center", "base_url": jira_dc, "api_token": dc_pat, "name": "dc" }),
                bad_configure: json!({ "provider_type": "jira_data_center", "base_url": jira_dc, "api_token": dc_wrong, "name": "dc" }),
                project: "dc:EX".into(),
                project_query: "exam".into(),
                new_project: json!({ "key": "MX${SDK}" }),
                seeded_sprint: Some("dc:7".into()),
                in_progress: "In Progress",
                no_task: "EX-9404",
                no_project: "NOPE",
                no_sprint: "9404",
                no_user: "nosuchuser9404",
                unsupported: &[],
                sprint_start: Some(day(1)),
                task_type: None,
                labels: true,
                points: true,
            },
            Provider {
                col: "openproject",
                name: "OpenProject",
                conn: "op",
                configure: json!({ "provider_type": "openproject", "base_url": op, "api_key": op_key, "name": "op" }),
                bad_configure: json!({ "provider_type": "openproject", "base_url": op, "api_key": "wrong-key", "name": "op" }),
                project: "op:1".into(),
                project_query: "Demo".into(),
                new_project: json!({ "key": "matrix-${sdk}" }),
                seeded_sprint: Some("op:2".into()),
                in_progress: "In progress",
                no_task: "99404",
                no_project: "99404",
                no_sprint: "99404",
                no_user: "99404",
                unsupported: &[],
                sprint_start: Some(day(1)),
                task_type: Some("Task"),
                labels: false,
                points: true,
            },
            Provider {
                col: "clickup",
                name: "ClickUp",
                conn: "cu",
                configure: json!({ "provider_type": "clickup", "base_url": cu, "api_token": cu_token, "name": "cu" }),
                bad_configure: json!({ "provider_type": "clickup", "base_url": cu, "api_token": "pk_wrong", "name": "cu" }),
                project: format!("cu:{}", pm_testkit::fake_clickup::SPACE),
                project_query: "Product".into(),
                new_project: json!({}),
                seeded_sprint: Some(format!("cu:{}", pm_testkit::fake_clickup::SPRINT_NOW)),
                in_progress: "in progress",
                no_task: "zz9404",
                no_project: "99404",
                no_sprint: "99404",
                no_user: "99404",
                unsupported: &["start_sprint", "complete_sprint", "unlink_task_from_epic"],
                sprint_start: None,
                task_type: None,
                labels: true,
                points: true,
            },
        ];
        if redmine.is_some() {
            providers.push(Provider {
            col: "redmine",
            name: "Redmine",
            conn: "rm",
            configure: json!({ "provider_type": "redmine", "base_url": redmine.as_ref().map(|r| r.url.clone()), "api_key": redmine.as_ref().map(|r| r.key.clone()), "name": "rm" }),
            bad_configure: json!({ "provider_type": "redmine", "base_url": redmine.as_ref().map(|r| r.url.clone()), "api_key": "0000000000000000000000000000000000000000", "name": "rm" }),
            project: format!("rm:mx-{tag}-${{sdk}}"),
            project_query: format!("Matrix mx-{tag}-${{sdk}}"),
            new_project: json!({ "key": format!("mxnew-{tag}-${{sdk}}") }),
            seeded_sprint: None,
            in_progress: "In Progress",
            no_task: "99999404",
            no_project: "no-such-project-9404",
            no_sprint: "99999404",
            no_user: "99999404",
            unsupported: &["list_epics", "create_epic", "get_epic", "update_epic", "delete_epic"],
            sprint_start: Some(day(1)),
            task_type: Some("Feature"),
            labels: false,
            points: false,
        });
        }
        sdk_providers.push((sdk, providers));
    }
    if let Some(r) = &redmine {
        for sdk in ["py", "ts"] {
            r.project(&format!("mx-{tag}-{sdk}")).await;
        }
    }

    // One plan per provider; each SDK runs it with its own pm-mcp user and key, all in parallel.
    let work = env.dir.path().to_path_buf();
    let mut jobs = Vec::new();
    for (sdk, providers) in &sdk_providers {
        for p in providers {
            let steps = plan(p);
            let email = format!("{}-{}@matrix.test", sdk.short(), p.col.replace('_', "-"));
            env.add_user(&email);
            let key = env.create_key(&email, "read,write");
            let path = work.join(format!("plan-{}-{}.json", p.col, sdk.short()));
            let plan = json!({
                "url": server.mcp_url(),
                "key": key,
                "vars": { "tag": tag, "SDK": sdk.short().to_uppercase() },
                "steps": steps.iter().map(Step::to_json).collect::<Vec<_>>(),
                "reads": reads(p).iter().map(|r| json!({ "prompt": r.prompt, "arguments": r.arguments })).collect::<Vec<_>>(),
                // Before the deletes, while the sprint, the project and the connection exist.
                "reads_before": steps.iter().position(|s| s.tool == "delete_task").unwrap_or(steps.len()),
            });
            std::fs::write(&path, plan.to_string()).expect("write plan");
            jobs.push((*sdk, p, steps, path));
        }
    }
    // The fakes' runs go in parallel; the two runs on the shared Redmine one after the other
    // (a Redmine on SQLite answers 500 to concurrent writes).
    let (shared, fakes): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|j| j.1.col == "redmine");
    let (mut results, serial) = futures::join!(
        futures::future::join_all(fakes.into_iter().map(|j| run_job(&dir, j))),
        async {
            let mut out = Vec::new();
            for job in shared {
                out.push(run_job(&dir, job).await);
            }
            out
        }
    );
    results.extend(serial);

    // Judge, print, assert.
    let mut all_tools = BTreeSet::new();
    let mut broken_runs = Vec::new();
    let mut cells: BTreeMap<(String, &str, Sdk), Cell> = BTreeMap::new();
    let mut log = String::new();
    for (sdk, p, steps, result) in &results {
        {
            let (tools, outcomes, read_lines) = match result {
                Ok(r) => r,
                Err(e) => {
                    broken_runs.push(format!("{} / {:?}: {e}", p.col, sdk));
                    continue;
                }
            };
            // Expected values that name saved ids are resolved with the ids the run reported.
            let vars = saved_vars(steps, outcomes, sdk.short(), &tag);
            let p: &Provider = p;
            let resolved: Vec<Step> = steps
                .iter()
                .map(|s| Step {
                    tool: s.tool,
                    credit: s.credit,
                    label: s.label.clone(),
                    arguments: resolve(&s.arguments, &vars),
                    expect: s.expect,
                    expect_text: s
                        .expect_text
                        .iter()
                        .map(|t| {
                            resolve(&Value::String(t.clone()), &vars)
                                .as_str()
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect(),
                    expect_code: s.expect_code,
                    check: s
                        .check
                        .iter()
                        .map(|(k, v)| (k.clone(), resolve(v, &vars)))
                        .collect(),
                    save: s.save.clone(),
                })
                .collect();
            for o in outcomes {
                log.push_str(&format!(
                    "{} {} #{} {} {} {}\n",
                    p.col,
                    sdk.short(),
                    o.step,
                    steps[o.step].tool,
                    o.outcome,
                    o.text.chars().take(300).collect::<String>()
                ));
            }
            let listed: BTreeSet<String> = tools.iter().cloned().collect();
            for s in steps {
                if !listed.contains(s.tool) {
                    broken_runs.push(format!(
                        "{} / {:?}: the plan calls {}, which tools/list does not offer",
                        p.col, sdk, s.tool
                    ));
                }
            }
            for t in tools {
                all_tools.insert(t.clone());
                cells.insert((t.clone(), p.col, *sdk), cell(t, p, &resolved, outcomes));
            }
            for problem in judge_reads(&reads(p), read_lines) {
                broken_runs.push(format!("{} ({sdk:?}): {problem}", p.col));
            }
        }
    }
    let log_path = std::env::temp_dir().join(format!("pm-mcp-matrix-{tag}.log"));
    let _ = std::fs::write(&log_path, &log);

    let cols: Vec<&str> = sdk_providers[0].1.iter().map(|p| p.col).collect();
    let mut table = format!("{:<26}", "tool");
    for c in &cols {
        table.push_str(&format!(" {c:<14}"));
    }
    table.push('\n');
    let mut failures = Vec::new();
    for t in &all_tools {
        table.push_str(&format!("{t:<26}"));
        for c in &cols {
            let py = cells.get(&(t.clone(), *c, Sdk::Python));
            let ts = cells.get(&(t.clone(), *c, Sdk::TypeScript));
            let word = match (py, ts) {
                (Some(a), Some(b)) if a.word() == b.word() => a.word().to_string(),
                (a, b) => format!(
                    "py:{} ts:{}",
                    a.map_or("-", Cell::word),
                    b.map_or("-", Cell::word)
                ),
            };
            table.push_str(&format!(" {word:<14}"));
            for (sdk, cell) in [(Sdk::Python, py), (Sdk::TypeScript, ts)] {
                match cell {
                    Some(Cell::Fail(problems)) => {
                        for pr in problems {
                            failures
                                .push(format!("{t} × {c} ({sdk:?}): {}", pr.replace('\n', " ")));
                        }
                    }
                    Some(Cell::Missing) => failures.push(format!("{t} × {c} ({sdk:?}): missing")),
                    Some(Cell::GapFixed) => failures.push(format!(
                        "{t} × {c} ({sdk:?}): passes now; remove it from KNOWN_GAPS"
                    )),
                    _ => {}
                }
            }
        }
        table.push('\n');
    }
    table.push_str("\ncounts (python / typescript):\n");
    for c in &cols {
        for sdk in [Sdk::Python, Sdk::TypeScript] {
            let mut n: BTreeMap<&str, usize> = BTreeMap::new();
            for t in &all_tools {
                if let Some(cell) = cells.get(&(t.clone(), *c, sdk)) {
                    *n.entry(cell.word()).or_default() += 1;
                }
            }
            table.push_str(&format!("  {c:<12} {:<10} {n:?}\n", format!("{sdk:?}")));
        }
    }
    eprintln!("\n{table}");
    for g in KNOWN_GAPS {
        eprintln!(
            "known gap: {} × {}: {:?} — {}",
            g.tool, g.provider, g.observed, g.reason
        );
    }
    eprintln!(
        "matrix: {} tools × {} providers × 2 SDKs in {:.1} s (call log: {})",
        all_tools.len(),
        cols.len(),
        started.elapsed().as_secs_f64(),
        log_path.display()
    );
    if let Some(r) = &redmine {
        for sdk in ["py", "ts"] {
            failures.extend(r.read_back(&tag, sdk).await);
        }
        for sdk in ["py", "ts"] {
            r.delete_project(&format!("mx-{tag}-{sdk}")).await;
            r.delete_project(&format!("mxnew-{tag}-{sdk}")).await;
        }
    }
    server.stop().await;
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    for b in &broken_runs {
        eprintln!("BROKEN {b}");
    }
    assert!(
        failures.is_empty() && broken_runs.is_empty(),
        "{} failing pair checks, {} broken runs (see above)",
        failures.len(),
        broken_runs.len()
    );
}

/// The variables a run saved, recomputed from the plan: the driver reports values at check
/// pointers only, so a saved id is taken from a step that checks or saves it.
fn saved_vars(
    steps: &[Step],
    outcomes: &[Outcome],
    sdk: &str,
    tag: &str,
) -> BTreeMap<String, Value> {
    let mut vars = BTreeMap::new();
    vars.insert("sdk".to_string(), json!(sdk));
    vars.insert("SDK".to_string(), json!(sdk.to_uppercase()));
    vars.insert("tag".to_string(), json!(tag));
    for o in outcomes {
        for (var, pointer) in &steps[o.step].save {
            if let Some(v) = o.values.get(pointer)
                && v.get("$missing").is_none()
            {
                vars.insert(var.clone(), v.clone());
            }
        }
    }
    vars
}

#[cfg(test)]
mod judging {
    use super::*;

    fn provider(col: &'static str) -> Provider {
        Provider {
            col,
            name: "Test",
            conn: "t",
            configure: json!({}),
            bad_configure: json!({}),
            project: "t:P".into(),
            project_query: "P".into(),
            new_project: json!({}),
            seeded_sprint: None,
            in_progress: "Doing",
            no_task: "0",
            no_project: "0",
            no_sprint: "0",
            no_user: "0",
            unsupported: &[],
            sprint_start: None,
            task_type: None,
            labels: true,
            points: true,
        }
    }

    fn outcome(step: usize, outcome: &str, text: &str, values: Value) -> Outcome {
        Outcome {
            step,
            outcome: outcome.into(),
            rpc_code: None,
            text: text.into(),
            values: values.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn a_pair_passes_only_with_its_happy_path_and_a_failing_input() {
        let steps = vec![
            step("get_task", json!({})).check("/task/id", json!("t:1")),
            step("get_task", json!({})).not_found(),
        ];
        let good = [
            outcome(0, "ok", "", json!({ "/task/id": "t:1" })),
            outcome(1, "error", "Task 0 was not found", json!({})),
        ];
        assert_eq!(cell("get_task", &provider("x"), &steps, &good), Cell::Pass);
        // A wrong value read back, an error without the words, a result the SDK rejected.
        let wrong = [
            outcome(0, "ok", "", json!({ "/task/id": "t:2" })),
            outcome(1, "error", "Forbidden", json!({})),
        ];
        assert!(
            matches!(cell("get_task", &provider("x"), &steps, &wrong), Cell::Fail(p) if p.len() == 2)
        );
        let rejected = [
            outcome(0, "rejected", "Invalid structured content", json!({})),
            good[1].clone(),
        ];
        assert!(matches!(
            cell("get_task", &provider("x"), &steps, &rejected),
            Cell::Fail(_)
        ));
        // No failing input tried: not a pass.
        assert!(
            matches!(cell("get_task", &provider("x"), &steps[..1], &good[..1]), Cell::Fail(p) if p[0].contains("no failing input"))
        );
        // A tool with no step at all.
        assert_eq!(
            cell("get_user", &provider("x"), &steps, &good),
            Cell::Missing
        );
    }

    #[test]
    fn a_listed_gap_fails_once_it_passes_or_stops_being_seen() {
        // A list naming velocity_chart × redmine with a schema refusal.
        let known = [gap(
            "velocity_chart",
            "redmine",
            &["in schema['properties']['trend']"],
            "for this test",
        )];
        let steps = vec![
            step("velocity_chart", json!({})),
            step("velocity_chart", json!({})).not_found(),
        ];
        let seen = [
            outcome(
                0,
                "rejected",
                "RuntimeError: 'x' is not of type 'object'  Failed validating 'type' in schema['properties']['trend']",
                json!({}),
            ),
            outcome(1, "error", "project 0 was not found", json!({})),
        ];
        assert_eq!(
            cell_with(
                &known,
                "velocity_chart",
                &provider("redmine"),
                &steps,
                &seen
            ),
            Cell::Gap
        );
        let fixed = [outcome(0, "ok", "", json!({})), seen[1].clone()];
        assert_eq!(
            cell_with(
                &known,
                "velocity_chart",
                &provider("redmine"),
                &steps,
                &fixed
            ),
            Cell::GapFixed
        );
        // Failing for another reason than the listed one: a FAIL naming both.
        let other = [
            outcome(0, "error", "Redmine failed (HTTP 500)", json!({})),
            seen[1].clone(),
        ];
        assert!(
            matches!(cell_with(&known, "velocity_chart", &provider("redmine"), &steps, &other), Cell::Fail(p) if p.len() == 2 && p[1].contains("no longer seen"))
        );
    }

    #[test]
    fn every_gap_names_a_tool_and_a_provider_of_the_matrix() {
        let cols = ["jira_cloud", "jira_dc", "openproject", "clickup", "redmine"];
        let tools: Vec<&str> = plan(&provider("x")).iter().map(|s| s.tool).collect();
        for g in KNOWN_GAPS {
            assert!(cols.contains(&g.provider), "{}", g.provider);
            assert!(tools.contains(&g.tool), "{}", g.tool);
            assert!(!g.observed.is_empty() && !g.reason.is_empty());
        }
    }
}
