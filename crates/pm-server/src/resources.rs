//! MCP resources: a project, a sprint (with its tasks) and a task of any of the caller's
//! connections, at `pm://{connection}/projects/{project_id}`, `pm://{connection}/sprints/{sprint_id}`
//! and `pm://{connection}/tasks/{task_id}` (ids as the tracker has them, not qualified), each read
//! as Markdown and as JSON. `resources/list` lists the MCP Apps' views (`crate::apps`), then the
//! projects of every active connection, paged.
//!
//! A read is the matching tool's call (`get_project`, `get_sprint_tasks`, `get_task`) run for the
//! caller: the same key, scope, toolsets of the key and the server, argument check and audit
//! row. Only the default toolset narrowing does not apply (it keeps `tools/list` small, and a
//! resource is not listed among the tools).
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorData, ListResourceTemplatesResult,
    ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::server::PmServer;
use crate::tools::Toolset;
use crate::tools::across::{MAX_CALLS, Position, is_across_cursor};

/// The scheme of pm-mcp's resources.
pub const SCHEME: &str = "pm://";

/// Tasks a sprint resource shows (its tracker's first page of them).
const SPRINT_TASKS: u32 = 100;

/// What a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Project,
    Sprint,
    Task,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Project, Kind::Sprint, Kind::Task];

    /// The URI's path word.
    fn word(self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::Sprint => "sprints",
            Kind::Task => "tasks",
        }
    }

    /// The template's variable for the id.
    pub fn variable(self) -> &'static str {
        match self {
            Kind::Project => "project_id",
            Kind::Sprint => "sprint_id",
            Kind::Task => "task_id",
        }
    }

    fn template(self) -> ResourceTemplate {
        let (title, description) = match self {
            Kind::Project => (
                "Project",
                "A project of one of your connections: name, key, lead, description, link.",
            ),
            Kind::Sprint => (
                "Sprint",
                "A sprint: state, dates, goal, and its tasks with status, assignee and points.",
            ),
            Kind::Task => (
                "Task",
                "A task: status, type, priority, people, dates, labels and its description.",
            ),
        };
        ResourceTemplate::new(
            format!(
                "{SCHEME}{{connection}}/{}/{{{}}}",
                self.word(),
                self.variable()
            ),
            self.word().trim_end_matches('s'),
        )
        .with_title(title)
        .with_description(format!(
            "{description} Read as Markdown and as JSON. {{connection}} is a connection's name \
             (list_providers); the id is as the tracker has it, without the connection prefix."
        ))
        .with_mime_type("text/markdown")
    }
}

/// A parsed resource URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmUri {
    pub connection: String,
    pub kind: Kind,
    /// The tracker's own id (percent-decoded).
    pub id: String,
}

impl PmUri {
    pub fn parse(uri: &str) -> Result<Self, String> {
        let unknown = || {
            format!(
                "unknown resource {uri:?}: pm-mcp's resources are {}",
                Kind::ALL
                    .map(|k| format!("{SCHEME}{{connection}}/{}/{{id}}", k.word()))
                    .join(", ")
            )
        };
        let rest = uri.strip_prefix(SCHEME).ok_or_else(unknown)?;
        let mut parts = rest.splitn(3, '/');
        let (Some(connection), Some(word), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(unknown());
        };
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.word() == word)
            .ok_or_else(unknown)?;
        pm_core::ConnectionHandle::parse(connection)
            .map_err(|_| format!("{uri:?} does not name a connection ({connection:?})"))?;
        if id.is_empty() || id.contains('/') {
            return Err(unknown());
        }
        let id =
            decode(id).ok_or_else(|| format!("{uri:?}: the id is not percent-encoded UTF-8"))?;
        Ok(PmUri {
            connection: connection.to_string(),
            kind,
            id,
        })
    }

    /// The id qualified with its connection, as the tools take it.
    pub fn qualified(&self) -> String {
        format!("{}:{}", self.connection, self.id)
    }
}

/// The URI of `kind` `id` (the tracker's own id) on `connection`.
pub fn uri(connection: &str, kind: Kind, id: &str) -> String {
    format!("{SCHEME}{connection}/{}/{}", kind.word(), encode(id))
}

/// Percent-encodes all but RFC 3986's unreserved characters (as a template's `{id}` expands).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The resource templates.
pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(Kind::ALL.map(Kind::template).to_vec())
}

/// What a tool call of a resource request answered with, in the resource request's words.
/// The tracker's or the tool's words are kept; the code says whose the problem is: what does not
/// exist (the item, or a connection the caller does not have) is "resource not found"; what the
/// caller sent wrong, "invalid params"; what the key, the server or the tracker does not allow
/// the caller, "invalid request"; the rest (a tracker down, its sign-in refused), "internal".
pub(crate) fn refusal(text: String, kind: Option<&str>) -> ErrorData {
    match kind {
        Some("tracker_not_found" | "connection") => ErrorData::resource_not_found(text, None),
        Some("invalid_input" | "invalid_arguments" | "tracker_invalid" | "tracker_bad_input") => {
            ErrorData::invalid_params(text, None)
        }
        Some("scope" | "tracker_forbidden") => ErrorData::invalid_request(text, None),
        _ => ErrorData::internal_error(text, None),
    }
}

impl PmServer {
    /// Runs `tool` for the request's caller as a `tools/call` would, and gives its structured
    /// answer, or its refusal as an error of the request (see [`refusal`]).
    pub(crate) async fn run_for(
        &self,
        tool: &'static str,
        args: Value,
        context: &RequestContext<RoleServer>,
    ) -> Result<Value, ErrorData> {
        let Value::Object(args) = args else {
            return Err(ErrorData::internal_error(
                "arguments are not an object",
                None,
            ));
        };
        let request = CallToolRequestParams::new(tool).with_arguments(args);
        let (answer, kind) = self.run_tool(request, context.clone(), &Toolset::ALL).await;
        match answer {
            Ok(CallToolResponse::Complete(r)) if r.is_error != Some(true) => r
                .structured_content
                .ok_or_else(|| ErrorData::internal_error(format!("{tool} answered no data"), None)),
            Ok(CallToolResponse::Complete(r)) => {
                let text: Vec<&str> = r
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                    .collect();
                Err(refusal(text.join("\n"), kind))
            }
            Ok(_) => Err(ErrorData::internal_error(
                format!("{tool} did not answer at once"),
                None,
            )),
            Err(e) => Err(e),
        }
    }

    /// The caller's connections (see `Service::connections_of`), or the request's error.
    pub(crate) async fn connections_for(
        &self,
        principal: &crate::auth::Principal,
    ) -> Result<Vec<pm_store::Connection>, ErrorData> {
        self.state()
            .service
            .connections_of(principal.user.id)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }

    /// `resources/read` of a `pm://` URI: Markdown first, then the JSON it was written from.
    pub(crate) async fn read_pm_resource(
        &self,
        uri: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, ErrorData> {
        let target = PmUri::parse(uri)
            .map_err(|why| ErrorData::resource_not_found(why, Some(json!({ "uri": uri }))))?;
        let id = target.qualified();
        let (markdown, value) = match target.kind {
            Kind::Project => {
                let v = self
                    .run_for("get_project", json!({ "project_id": id }), context)
                    .await?;
                (markdown::project(&v["project"]), v)
            }
            Kind::Sprint => {
                let args = json!({ "sprint_id": id, "limit": SPRINT_TASKS });
                let v = self.run_for("get_sprint_tasks", args, context).await?;
                (markdown::sprint(&v), v)
            }
            Kind::Task => {
                let v = self
                    .run_for("get_task", json!({ "task_id": id }), context)
                    .await?;
                (markdown::task(&v), v)
            }
        };
        let json = serde_json::to_string_pretty(&value).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(markdown, uri).with_mime_type("text/markdown"),
            ResourceContents::text(json, uri).with_mime_type("application/json"),
        ]))
    }

    /// `resources/list`: the projects of every active connection of the caller (their default
    /// first, then by name), a page at a time. A connection whose tracker fails is passed over
    /// (a list has no place to say so; its resources still read, and fail in words).
    pub(crate) async fn list_pm_resources(
        &self,
        cursor: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let principal = self.principal(context).await?;
        let mut next = match cursor {
            Some(c) if is_across_cursor(Some(c)) => {
                Some(Position::decode(c).map_err(|e| ErrorData::invalid_params(e.0, None))?)
            }
            Some(_) => {
                return Err(ErrorData::invalid_params(
                    "cursor is not one this list gave; pass nextCursor unchanged",
                    None,
                ));
            }
            None => {
                let all = self.connections_for(&principal).await?;
                Position::start(&all)
            }
        };
        // The first page begins with the MCP Apps' views (`crate::apps`).
        let mut resources = match cursor {
            None => crate::apps::resources(),
            Some(_) => Vec::new(),
        };
        for _ in 0..MAX_CALLS {
            let Some(at) = next.take() else { break };
            let mut args = json!({ "provider_id": at.at, "limit": 100 });
            if let Some(c) = &at.cursor {
                args["cursor"] = json!(c);
            }
            match self.run_for("list_projects", args, context).await {
                Ok(page) => {
                    for p in page["projects"].as_array().into_iter().flatten() {
                        if let Some(r) = project_resource(&at.at, p) {
                            resources.push(r);
                        }
                    }
                    next = match page["next_cursor"].as_str() {
                        Some(c) => Some(at.at_page(c.to_string())),
                        None => at.advance(),
                    };
                }
                Err(e) => {
                    tracing::debug!(connection = %at.at, error = %e.message, "resources/list passes over a connection");
                    next = at.advance();
                }
            }
            if resources.len() >= 100 {
                break;
            }
        }
        let mut result = ListResourcesResult::with_all_items(resources);
        result.next_cursor = next.map(|n| n.encode());
        Ok(result)
    }
}

/// A project of `connection` (as `list_projects` answers it) as a resource.
fn project_resource(connection: &str, p: &Value) -> Option<Resource> {
    let qualified = p["id"].as_str()?;
    let native = qualified
        .strip_prefix(connection)
        .and_then(|s| s.strip_prefix(':'))
        .unwrap_or(qualified);
    let name = p["name"].as_str().unwrap_or(native);
    let mut r = Resource::new(uri(connection, Kind::Project, native), qualified)
        .with_title(name)
        .with_mime_type("text/markdown");
    if let Some(d) = p["description"].as_str().filter(|d| !d.trim().is_empty()) {
        r = r.with_description(first_line(d, 200));
    }
    Some(r)
}

fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The Markdown of each resource, from the tools' JSON answers.
pub(crate) mod markdown {
    use serde_json::Value;

    fn text(v: &Value) -> Option<&str> {
        v.as_str().filter(|s| !s.trim().is_empty())
    }

    /// A table cell: one line, pipes escaped.
    fn cell(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('|', "\\|")
            .replace(['\r', '\n'], " ")
    }

    fn person(v: &Value) -> Option<String> {
        text(&v["name"]).map(str::to_string)
    }

    fn number(v: &Value) -> Option<String> {
        v.as_f64().map(|n| {
            if n.fract() == 0.0 {
                format!("{n:.0}")
            } else {
                format!("{n}")
            }
        })
    }

    fn line(out: &mut String, label: &str, value: Option<String>) {
        if let Some(v) = value {
            out.push_str(&format!("- **{label}:** {v}\n"));
        }
    }

    fn heading(id: &Value, key: &Value, title: &str) -> String {
        match text(key).or(text(id)) {
            Some(k) => format!("# {k}: {title}\n\n"),
            None => format!("# {title}\n\n"),
        }
    }

    pub fn project(p: &Value) -> String {
        let name = text(&p["name"]).unwrap_or("(unnamed project)");
        let mut out = heading(&Value::Null, &p["key"], name);
        line(&mut out, "Id", text(&p["id"]).map(str::to_string));
        line(&mut out, "Lead", person(&p["lead"]));
        line(&mut out, "Link", text(&p["url"]).map(str::to_string));
        if let Some(d) = text(&p["description"]) {
            out.push_str(&format!("\n## Description\n\n{}\n", d.trim()));
        }
        out
    }

    pub fn task(answer: &Value) -> String {
        let t = &answer["task"];
        let title = text(&t["title"]).unwrap_or("(untitled)");
        let mut out = heading(&t["id"], &t["key"], title);
        line(&mut out, "Id", text(&t["id"]).map(str::to_string));
        let status = text(&t["status"]["name"]).map(|s| match text(&t["status"]["category"]) {
            Some(c) => format!("{s} ({c})"),
            None => s.to_string(),
        });
        line(&mut out, "Status", status);
        line(&mut out, "Type", text(&t["task_type"]).map(str::to_string));
        line(
            &mut out,
            "Priority",
            text(&t["priority"]).map(str::to_string),
        );
        line(&mut out, "Assignee", person(&t["assignee"]));
        line(&mut out, "Reporter", person(&t["reporter"]));
        line(&mut out, "Story points", number(&t["story_points"]));
        line(&mut out, "Due", text(&t["due_date"]).map(str::to_string));
        let labels: Vec<&str> = t["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        line(
            &mut out,
            "Labels",
            (!labels.is_empty()).then(|| labels.join(", ")),
        );
        line(
            &mut out,
            "Parent",
            text(&t["parent_id"]).map(str::to_string),
        );
        line(
            &mut out,
            "Project",
            text(&t["project_id"]).map(str::to_string),
        );
        line(
            &mut out,
            "Created",
            text(&t["created_at"]).map(str::to_string),
        );
        line(
            &mut out,
            "Updated",
            text(&t["updated_at"]).map(str::to_string),
        );
        line(&mut out, "Link", text(&t["url"]).map(str::to_string));
        if let Some(d) = text(&t["description"]) {
            out.push_str(&format!("\n## Description\n\n{}\n", d.trim()));
            if answer["description_cut"] == Value::Bool(true) {
                out.push_str("\n*(The description is cut here; the link has all of it.)*\n");
            }
        }
        out
    }

    pub fn sprint(answer: &Value) -> String {
        let s = &answer["sprint"];
        let name = text(&s["name"]).unwrap_or("(unnamed sprint)");
        let mut out = format!("# Sprint: {name}\n\n");
        line(&mut out, "Id", text(&s["id"]).map(str::to_string));
        line(&mut out, "State", text(&s["state"]).map(str::to_string));
        line(
            &mut out,
            "Starts",
            text(&s["start_date"]).map(str::to_string),
        );
        line(&mut out, "Ends", text(&s["end_date"]).map(str::to_string));
        line(
            &mut out,
            "Completed",
            text(&s["completed_at"]).map(str::to_string),
        );
        if let Some(goal) = text(&s["goal"]) {
            out.push_str(&format!("\n## Goal\n\n{}\n", goal.trim()));
        }
        let tasks: Vec<&Value> = answer["tasks"].as_array().into_iter().flatten().collect();
        out.push_str(&format!("\n## Tasks ({})\n\n", tasks.len()));
        if tasks.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| task | title | status | assignee | points |\n|---|---|---|---|---|\n");
            for t in tasks {
                let id = text(&t["key"]).or(text(&t["id"])).unwrap_or("");
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    cell(id),
                    cell(text(&t["title"]).unwrap_or("")),
                    cell(text(&t["status"]["name"]).unwrap_or("")),
                    cell(&person(&t["assignee"]).unwrap_or_default()),
                    number(&t["story_points"]).unwrap_or_default(),
                ));
            }
        }
        if text(&answer["next_cursor"]).is_some() {
            out.push_str(
                "\nThe sprint has more tasks than shown; get_sprint_tasks pages through all.\n",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_encode_and_refuse_in_words() {
        let u = PmUri::parse("pm://acme-jira/tasks/PROJ-42").expect("task");
        assert_eq!(
            (u.connection.as_str(), u.kind, u.id.as_str()),
            ("acme-jira", Kind::Task, "PROJ-42")
        );
        assert_eq!(u.qualified(), "acme-jira:PROJ-42");
        let odd = "a b/c:ü";
        let built = uri("team-op", Kind::Sprint, odd);
        assert_eq!(built, "pm://team-op/sprints/a%20b%2Fc%3A%C3%BC");
        assert_eq!(PmUri::parse(&built).expect("round trip").id, odd);
        for bad in [
            "pm://acme-jira/epics/1",
            "pm://acme-jira/tasks/",
            "pm://acme-jira/tasks",
            "pm://acme-jira/tasks/a/b",
            "https://acme-jira/tasks/1",
            "pm://Not A Handle/tasks/1",
            "pm://acme-jira/tasks/%zz",
            "pm://acme-jira/tasks/%ff",
        ] {
            assert!(PmUri::parse(bad).is_err(), "{bad}");
        }
        let templates = templates().resource_templates;
        assert_eq!(
            templates
                .iter()
                .map(|t| t.uri_template.as_str())
                .collect::<Vec<_>>(),
            [
                "pm://{connection}/projects/{project_id}",
                "pm://{connection}/sprints/{sprint_id}",
                "pm://{connection}/tasks/{task_id}"
            ]
        );
    }

    #[test]
    fn markdown_says_what_the_json_holds_and_keeps_tables_whole() {
        let task = json!({
            "task": {
                "id": "acme-jira:PROJ-1", "key": "PROJ-1", "title": "Fix | login",
                "status": { "name": "In Progress", "category": "in_progress" },
                "assignee": { "id": "u1", "name": "Ann" }, "story_points": 3.0,
                "labels": ["web", "auth"], "description": "Steps:\n1. open",
                "url": "https://acme.atlassian.net/browse/PROJ-1"
            },
            "description_cut": true
        });
        let md = markdown::task(&task);
        assert!(md.starts_with("# PROJ-1: Fix | login\n"), "{md}");
        for part in [
            "- **Status:** In Progress (in_progress)",
            "- **Assignee:** Ann",
            "- **Story points:** 3",
            "- **Labels:** web, auth",
            "## Description\n\nSteps:\n1. open",
            "the link has all of it",
        ] {
            assert!(md.contains(part), "{part} in {md}");
        }
        let sprint = json!({
            "sprint": { "id": "acme-jira:7", "name": "Sprint 7", "state": "active", "goal": "Ship" },
            "tasks": [ task["task"].clone() ],
            "next_cursor": "c2"
        });
        let md = markdown::sprint(&sprint);
        assert!(
            md.contains("| PROJ-1 | Fix \\| login | In Progress | Ann | 3 |"),
            "{md}"
        );
        assert!(
            md.contains("## Tasks (1)") && md.contains("more tasks than shown"),
            "{md}"
        );
        let project =
            markdown::project(&json!({ "id": "acme-jira:PROJ", "key": "PROJ", "name": "Web" }));
        assert!(project.starts_with("# PROJ: Web\n"), "{project}");
    }

    #[test]
    fn project_resources_carry_the_native_id_in_the_uri_and_the_qualified_one_as_name() {
        let r = project_resource(
            "acme-jira",
            &json!({ "id": "acme-jira:PROJ", "name": "Web", "description": "\nFirst line\nsecond" }),
        )
        .expect("resource");
        assert_eq!(r.uri, "pm://acme-jira/projects/PROJ");
        assert_eq!(r.name, "acme-jira:PROJ");
        assert_eq!(r.title.as_deref(), Some("Web"));
        assert_eq!(r.description.as_deref(), Some("First line"));
    }
}
