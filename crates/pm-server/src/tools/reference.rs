//! The reference server's argument names, taken as pm-mcp's own: callers written for the Python
//! PM MCP server pm-mcp replaces keep working unchanged. This runs before argument validation and
//! only renames (and, where the reference spelled a value differently, re-spells) what the caller
//! sent; the tool then sees pm-mcp's names alone. A reference name given together with pm-mcp's
//! name for the same thing is refused when the two disagree. Parameters with a meaning of their
//! own (a sprint filter, a date range, …) are pm-mcp parameters in the tools' schemas, not here.
use pm_core::QualifiedId;
use rmcp::ErrorData;
use serde_json::{Map, Value};

/// One renamed argument: the reference's name, pm-mcp's, and how a value is re-spelt.
struct Rename {
    from: &'static str,
    to: &'static str,
    value: fn(&Value) -> Result<Value, String>,
}

fn same(v: &Value) -> Result<Value, String> {
    Ok(v.clone())
}

/// `burndown_chart.scope_type` {story_points, tasks, hours} → `metric`.
fn scope_type(v: &Value) -> Result<Value, String> {
    match v.as_str() {
        Some("story_points") | Some("hours") => Ok(v.clone()),
        Some("tasks") => Ok(Value::from("task_count")),
        _ => Err("is one of story_points, tasks, hours".into()),
    }
}

/// `list_sprints.status` (active, planned, closed; comma-separated) → `state` (future for planned).
fn sprint_status(v: &Value) -> Result<Value, String> {
    let Some(s) = v.as_str() else {
        return Err("is a sprint status: active, planned or closed".into());
    };
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        out.push(match part.to_ascii_lowercase().as_str() {
            "planned" | "future" => "future",
            "active" => "active",
            "closed" | "completed" => "closed",
            _ => return Err("is a sprint status: active, planned or closed".into()),
        });
    }
    if out.is_empty() {
        return Err("is a sprint status: active, planned or closed".into());
    }
    Ok(Value::from(out.join(",")))
}

const fn rename(from: &'static str, to: &'static str) -> Rename {
    Rename {
        from,
        to,
        value: same,
    }
}

const BURNDOWN: [Rename; 1] = [Rename {
    from: "scope_type",
    to: "metric",
    value: scope_type,
}];
const VELOCITY: [Rename; 1] = [rename("num_sprints", "sprints")];
const DISTRIBUTION: [Rename; 1] = [rename("dimension", "by")];
const SPRINTS: [Rename; 1] = [Rename {
    from: "status",
    to: "state",
    value: sprint_status,
}];
const EPIC: [Rename; 1] = [rename("name", "title")];
const LINK: [Rename; 1] = [rename("relationship_type", "link_type")];

fn renames(tool: &str) -> &'static [Rename] {
    match tool {
        "burndown_chart" => &BURNDOWN,
        "velocity_chart" => &VELOCITY,
        "work_distribution_chart" => &DISTRIBUTION,
        "list_sprints" => &SPRINTS,
        "create_epic" | "update_epic" => &EPIC,
        "link_related_tasks" => &LINK,
        _ => &[],
    }
}

/// Tools where the reference's `project_id` only picked the connection of another id: the id
/// argument it qualifies.
fn project_picks_connection_of(tool: &str) -> Option<&'static str> {
    match tool {
        "get_task" => Some("task_id"),
        "list_tasks_in_sprint" => Some("sprint_id"),
        _ => None,
    }
}

/// Rewrites the reference's argument names in place. An error names the argument the caller
/// sent and says what to send instead; nothing has run yet.
pub(crate) fn translate(
    tool: &str,
    args: &mut Option<Map<String, Value>>,
) -> Result<(), ErrorData> {
    let Some(map) = args.as_mut() else {
        return Ok(());
    };
    for rename in renames(tool) {
        let Some(given) = map.remove(rename.from) else {
            continue;
        };
        if given.is_null() {
            continue;
        }
        let value = (rename.value)(&given).map_err(|why| {
            refuse(
                tool,
                rename.from,
                format!(
                    "{} (the reference server's name for {}) {why}",
                    rename.from, rename.to
                ),
            )
        })?;
        match map.get(rename.to) {
            Some(ours) if !ours.is_null() && ours != &value => {
                return Err(refuse(
                    tool,
                    rename.from,
                    format!(
                        "{} and {} name the same argument and disagree ({} = {} means {} = {value}, \
                         but {} = {ours} was given too); send one of them",
                        rename.from, rename.to, rename.from, given, rename.to, rename.to
                    ),
                ));
            }
            _ => {
                map.insert(rename.to.to_string(), value);
            }
        }
    }
    if tool == "bulk_update_tasks" {
        flatten_updates(tool, map)?;
    }
    if let Some(target) = project_picks_connection_of(tool) {
        qualify_by_project(tool, target, map)?;
    }
    Ok(())
}

/// `bulk_update_tasks.updates` (an object of fields to set) → the same fields at the top level.
fn flatten_updates(tool: &str, map: &mut Map<String, Value>) -> Result<(), ErrorData> {
    let Some(updates) = map.remove("updates") else {
        return Ok(());
    };
    let Value::Object(fields) = updates else {
        return Err(refuse(
            tool,
            "updates",
            "updates is an object of the fields to set, e.g. {\"status\": \"Done\"}".into(),
        ));
    };
    for (name, value) in fields {
        if ["task_ids", "updates"].contains(&name.as_str()) {
            return Err(refuse(
                tool,
                "updates",
                format!("updates.{name} is not a field a task update sets"),
            ));
        }
        match map.get(&name) {
            Some(ours) if ours != &value => {
                return Err(refuse(
                    tool,
                    "updates",
                    format!(
                        "updates.{name} and {name} are both given and disagree; send the field once"
                    ),
                ));
            }
            _ => {
                map.insert(name, value);
            }
        }
    }
    Ok(())
}

/// The reference's `project_id` on a tool that takes its connection from another id: a bare id
/// takes the project's connection; ids on two different connections are refused; then the
/// argument has done its work and is dropped.
fn qualify_by_project(
    tool: &str,
    target: &str,
    map: &mut Map<String, Value>,
) -> Result<(), ErrorData> {
    if map.get(target).is_none_or(Value::is_null) {
        // Nothing to qualify: the project is the tool's own argument then (or unknown to it).
        return Ok(());
    }
    let Some(project) = map.remove("project_id") else {
        return Ok(());
    };
    let Some(project) = project.as_str() else {
        if project.is_null() {
            return Ok(());
        }
        return Err(refuse(
            tool,
            "project_id",
            "project_id is a project id such as \"acme-jira:PROJ\"".into(),
        ));
    };
    let Ok(project) = QualifiedId::parse(project) else {
        return Err(refuse(
            tool,
            "project_id",
            "project_id is a project id such as \"acme-jira:PROJ\"".into(),
        ));
    };
    let Some(project_conn) = project.connection else {
        return Ok(());
    };
    let Some(Value::String(id)) = map.get(target) else {
        return Ok(());
    };
    let Ok(parsed) = QualifiedId::parse(id) else {
        return Ok(());
    };
    match parsed.connection {
        None => {
            let qualified = QualifiedId::new(&project_conn, parsed.native).to_string();
            map.insert(target.to_string(), Value::from(qualified));
            Ok(())
        }
        Some(c) if c == project_conn => Ok(()),
        Some(_) => Err(refuse(
            tool,
            "project_id",
            format!("project_id and {target} name different connections; send ids of one"),
        )),
    }
}

/// Rewrites ids the reference's way (`<connection uuid>:<native>`, or the connection's external
/// id before the colon) to pm-mcp's (`<handle>:<native>`), in every string argument and list of
/// strings, for the caller's own connections only: an id naming another user's connection is left
/// as it is and answers like an unknown one. Tools then compare connections by handle alone.
pub(crate) fn canonical_ids(
    args: &mut Option<Map<String, Value>>,
    connections: &[pm_store::Connection],
) {
    let Some(map) = args.as_mut() else {
        return;
    };
    // A prefix that is already a handle stays; an id or external id becomes its handle.
    let handle_of = |prefix: &str| -> Option<&pm_core::ConnectionHandle> {
        crate::service::named(connections, prefix)
            .filter(|c| c.name.as_str() != prefix)
            .map(|c| &c.name)
    };
    let rewrite = |v: &mut Value| {
        if let Value::String(s) = v
            && let Some((prefix, native)) = s.split_once(':')
            && !native.is_empty()
            && let Some(handle) = handle_of(prefix.trim())
        {
            *s = format!("{handle}:{native}");
        }
    };
    for value in map.values_mut() {
        match value {
            Value::Array(items) => items.iter_mut().for_each(rewrite),
            other => rewrite(other),
        }
    }
}

/// Whether any argument looks like it might carry a reference-style id (a prefix before a colon
/// that is not a plain handle shape is cheap to rule out only by looking), so the caller's
/// connections are read only when there is something to rewrite.
pub(crate) fn may_hold_reference_ids(args: &Option<Map<String, Value>>) -> bool {
    let Some(map) = args.as_ref() else {
        return false;
    };
    let has = |v: &Value| v.as_str().is_some_and(|s| s.contains(':'));
    map.values().any(|v| match v {
        Value::Array(items) => items.iter().any(has),
        other => has(other),
    })
}

fn refuse(tool: &str, field: &str, why: String) -> ErrorData {
    ErrorData::invalid_params(
        format!("invalid arguments for {tool}: {why}"),
        Some(serde_json::json!({ "fields": [field] })),
    )
}

/// The reference server's meeting tools, which pm-mcp does not have (they are not about trackers).
pub(crate) fn is_reference_meeting_tool(name: &str) -> bool {
    matches!(
        name,
        "upload_meeting"
            | "process_meeting"
            | "analyze_transcript"
            | "get_meeting_summary"
            | "list_action_items"
            | "create_tasks_from_meeting"
            | "list_meetings"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(tool: &str, args: Value) -> Result<Value, String> {
        let mut map = match args {
            Value::Object(m) => Some(m),
            _ => None,
        };
        translate(tool, &mut map).map_err(|e| e.message.to_string())?;
        Ok(Value::Object(map.unwrap_or_default()))
    }

    #[test]
    fn reference_names_become_ours_with_their_values() {
        assert_eq!(
            run(
                "burndown_chart",
                json!({"sprint_id": "s", "scope_type": "tasks"})
            ),
            Ok(json!({"sprint_id": "s", "metric": "task_count"}))
        );
        assert_eq!(
            run(
                "velocity_chart",
                json!({"project_id": "p", "num_sprints": 15})
            ),
            Ok(json!({"project_id": "p", "sprints": 15}))
        );
        assert_eq!(
            run("work_distribution_chart", json!({"dimension": "priority"})),
            Ok(json!({"by": "priority"}))
        );
        assert_eq!(
            run("list_sprints", json!({"status": "planned, Active"})),
            Ok(json!({"state": "future,active"}))
        );
        assert_eq!(
            run(
                "create_epic",
                json!({"project_id": "p", "name": "Checkout"})
            ),
            Ok(json!({"project_id": "p", "title": "Checkout"}))
        );
        assert_eq!(
            run(
                "link_related_tasks",
                json!({"relationship_type": "depends_on"})
            ),
            Ok(json!({"link_type": "depends_on"}))
        );
    }

    #[test]
    fn both_names_must_agree() {
        assert_eq!(
            run("update_epic", json!({"name": "A", "title": "A"})),
            Ok(json!({"title": "A"}))
        );
        let e = run("update_epic", json!({"name": "A", "title": "B"})).unwrap_err();
        assert!(e.contains("disagree"), "{e}");
        let e = run(
            "burndown_chart",
            json!({"scope_type": "tasks", "metric": "hours"}),
        )
        .unwrap_err();
        assert!(e.contains("scope_type") && e.contains("metric"), "{e}");
        // The same meaning spelt both ways is fine.
        assert!(
            run(
                "burndown_chart",
                json!({"scope_type": "tasks", "metric": "task_count"})
            )
            .is_ok()
        );
    }

    #[test]
    fn values_the_reference_did_not_take_are_refused_by_its_name() {
        let e = run("burndown_chart", json!({"scope_type": "points"})).unwrap_err();
        assert!(e.contains("scope_type"), "{e}");
        let e = run("list_sprints", json!({"status": "someday"})).unwrap_err();
        assert!(e.contains("status"), "{e}");
    }

    #[test]
    fn bulk_updates_are_flattened() {
        assert_eq!(
            run(
                "bulk_update_tasks",
                json!({"task_ids": ["A-1"], "updates": {"status": "Done", "priority": "High"}})
            ),
            Ok(json!({"task_ids": ["A-1"], "status": "Done", "priority": "High"}))
        );
        assert!(run("bulk_update_tasks", json!({"updates": "Done"})).is_err());
        assert!(
            run(
                "bulk_update_tasks",
                json!({"status": "Open", "updates": {"status": "Done"}})
            )
            .is_err()
        );
    }

    #[test]
    fn a_project_id_picks_the_connection_of_a_bare_id() {
        assert_eq!(
            run(
                "get_task",
                json!({"task_id": "PROJ-1", "project_id": "acme:PROJ"})
            ),
            Ok(json!({"task_id": "acme:PROJ-1"}))
        );
        assert_eq!(
            run(
                "get_task",
                json!({"task_id": "acme:PROJ-1", "project_id": "acme:PROJ"})
            ),
            Ok(json!({"task_id": "acme:PROJ-1"}))
        );
        assert_eq!(
            run(
                "get_task",
                json!({"task_id": "PROJ-1", "project_id": "PROJ"})
            ),
            Ok(json!({"task_id": "PROJ-1"}))
        );
        let uuid = "2b1f0c6e-0d7a-4c51-9d7e-1f2a3b4c5d6e";
        assert_eq!(
            run(
                "list_tasks_in_sprint",
                json!({"sprint_id": "613", "project_id": format!("{uuid}:PROJ")})
            ),
            Ok(json!({"sprint_id": format!("{uuid}:613")}))
        );
        assert!(
            run(
                "get_task",
                json!({"task_id": "a:PROJ-1", "project_id": "b:PROJ"})
            )
            .is_err()
        );
    }

    #[test]
    fn a_lone_project_id_stays_where_no_id_needs_it() {
        // work_distribution_chart takes both ids itself (the project's sprint).
        assert_eq!(
            run(
                "work_distribution_chart",
                json!({"sprint_id": "current", "project_id": "acme:EX", "dimension": "type"})
            ),
            Ok(json!({"sprint_id": "current", "project_id": "acme:EX", "by": "type"}))
        );
        assert_eq!(
            run("list_tasks_in_sprint", json!({"project_id": "acme:EX"})),
            Ok(json!({"project_id": "acme:EX"}))
        );
    }

    #[test]
    fn other_tools_and_names_are_untouched() {
        let args = json!({"project_id": "p", "status": "x", "name": "n"});
        assert_eq!(run("list_tasks", args.clone()), Ok(args));
        assert_eq!(run("list_tasks", Value::Null), Ok(json!({})));
    }
}
