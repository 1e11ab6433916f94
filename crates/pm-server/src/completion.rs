//! `completion/complete` for the resource templates' and the prompts' arguments: connections
//! by name, projects, sprints and tasks from the caller's own trackers (through the same tool
//! calls as any other read). The resource templates take the tracker's own ids
//! (`{connection}` is given apart); the prompts take qualified ones (`acme-jira:PROJ`).
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, ErrorData, Reference};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::server::PmServer;

/// Connections asked for projects when a prompt's project is completed without one named.
const MAX_CONNECTIONS: usize = 5;

/// One candidate: the value to complete to, and a name it may also be found by.
struct Candidate {
    value: String,
    name: String,
}

/// The candidates matching what was typed (any case; the value's start first, then the value
/// or name containing it), at most [`CompletionInfo::MAX_VALUES`], and whether more matched
/// (`unread`: the trackers had more than was read, so the total is not known).
fn matching(candidates: Vec<Candidate>, typed: &str, unread: bool) -> CompletionInfo {
    let typed = typed.trim().to_lowercase();
    let (mut first, mut then) = (Vec::new(), Vec::new());
    for c in candidates {
        let value = c.value.to_lowercase();
        if value.starts_with(&typed) {
            first.push(c.value);
        } else if value.contains(&typed) || c.name.to_lowercase().contains(&typed) {
            then.push(c.value);
        }
    }
    first.extend(then);
    // A sprint two boards share is listed twice.
    let mut seen = std::collections::HashSet::new();
    first.retain(|v| seen.insert(v.clone()));
    let total = first.len();
    first.truncate(CompletionInfo::MAX_VALUES);
    let more = unread || total > first.len();
    let total = (!unread).then(|| u32::try_from(total).ok()).flatten();
    CompletionInfo::with_pagination(first, total, more).unwrap_or_default()
}

/// `qualified` without its connection's prefix.
fn native(qualified: &str) -> String {
    match qualified.split_once(':') {
        Some((_, n)) => n.to_string(),
        None => qualified.to_string(),
    }
}

/// The items of `list` (an answer's array field) as candidates: `id` and `name` (or `title`).
fn candidates(answer: &Value, list: &str, native_ids: bool) -> Vec<Candidate> {
    answer[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let id = item["id"].as_str()?;
            let name = item["name"]
                .as_str()
                .or(item["title"].as_str())
                .or(item["key"].as_str())
                .unwrap_or_default();
            Some(Candidate {
                value: if native_ids {
                    native(id)
                } else {
                    id.to_string()
                },
                name: name.to_string(),
            })
        })
        .collect()
}

impl PmServer {
    /// `completion/complete`.
    pub(crate) async fn complete_pm(
        &self,
        request: &CompleteRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let principal = self.principal(context).await?;
        let argument = request.argument.name.as_str();
        let typed = request.argument.value.as_str();
        let given = |name: &str| {
            request
                .context
                .as_ref()
                .and_then(|c| c.get_argument(name))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (known, native_ids) = match &request.r#ref {
            Reference::Resource(r) => {
                let known = ["connection", "project_id", "sprint_id", "task_id"];
                let in_template = r.uri.contains(&format!("{{{argument}}}"));
                (
                    r.uri.starts_with(crate::resources::SCHEME)
                        && in_template
                        && known.contains(&argument),
                    true,
                )
            }
            Reference::Prompt(p) => {
                let args = crate::prompts::arguments_of(&p.name).ok_or_else(|| {
                    ErrorData::invalid_params(format!("unknown prompt {:?}", p.name), None)
                })?;
                (args.contains(&argument), false)
            }
            _ => (false, false),
        };
        if !known {
            return Err(ErrorData::invalid_params(
                format!("no completion for argument {argument:?} of this reference"),
                None,
            ));
        }
        // The connection: given apart (templates, whose ids are the tracker's own and may hold a
        // `:`), or the prefix of what is typed (prompts, whose ids are qualified).
        let connection = given("connection")
            .or_else(|| given("provider_id"))
            .or_else(|| {
                (!native_ids)
                    .then(|| typed.split_once(':').map(|(c, _)| c.to_string()))
                    .flatten()
            });
        let typed_native = if native_ids {
            typed.to_string()
        } else {
            native(typed)
        };
        // Whether a tracker had more than the page read (then `hasMore`, and no `total`).
        let mut more = false;
        let found = match argument {
            "connection" | "provider_id" => {
                let all = self.connections_for(&principal).await?;
                let list = all
                    .iter()
                    .filter(|c| c.is_active)
                    .map(|c| Candidate {
                        value: c.name.as_str().to_string(),
                        name: c.display_name.clone().unwrap_or_default(),
                    })
                    .collect();
                return Ok(CompleteResult::new(matching(list, typed, false)));
            }
            "project_id" => {
                let connections: Vec<String> = match &connection {
                    Some(c) => vec![c.clone()],
                    None => {
                        let all = self.connections_for(&principal).await?;
                        // The caller's default first, then by name, as listings go.
                        crate::tools::across::ordered(&all)
                    }
                };
                let mut list = Vec::new();
                for c in connections.into_iter().take(MAX_CONNECTIONS) {
                    // The first 100 of each, matched here by key and name alike (the
                    // tool's own search reads names and descriptions, not keys).
                    let args = json!({ "provider_id": c, "limit": 100 });
                    if let Ok(answer) = self.run_for("list_projects", args, context).await {
                        more |= answer["next_cursor"].is_string();
                        list.extend(candidates(&answer, "projects", native_ids));
                    }
                }
                list
            }
            "sprint_id" => {
                let project = given("project_id").map(|p| match (&connection, native_ids) {
                    (Some(c), true) => format!("{c}:{p}"),
                    _ => p,
                });
                let args = match (project, &connection) {
                    (Some(p), _) => json!({ "project_id": p, "limit": 100 }),
                    (None, Some(c)) => json!({ "provider_id": c, "limit": 100 }),
                    (None, None) => json!({ "limit": 100 }),
                };
                match self.run_for("list_sprints", args, context).await {
                    Ok(answer) => {
                        more |= answer["next_cursor"].is_string();
                        candidates(&answer, "sprints", native_ids)
                    }
                    Err(_) => Vec::new(),
                }
            }
            "task_id" => {
                let mut args = json!({ "limit": 50 });
                if let Some(c) = &connection {
                    args["provider_id"] = json!(c);
                }
                let answer = if typed_native.trim().is_empty() {
                    self.run_for("list_my_tasks", args, context).await
                } else {
                    args["query"] = json!(typed_native.trim());
                    self.run_for("search_tasks", args, context).await
                };
                match answer {
                    // A search finds words, not ids: every task it found is a candidate.
                    Ok(answer) => {
                        let list = candidates(&answer, "tasks", native_ids);
                        let more = answer["next_cursor"].is_string();
                        return Ok(CompleteResult::new(matching(list, "", more)));
                    }
                    Err(_) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        Ok(CompleteResult::new(matching(found, typed, more)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_starting_with_what_is_typed_come_first_and_names_match_too() {
        let c = |v: &str, n: &str| Candidate {
            value: v.into(),
            name: n.into(),
        };
        let info = matching(
            vec![
                c("WEB", "Website"),
                c("API", "Web API"),
                c("OPS", "Operations"),
            ],
            "we",
            false,
        );
        assert_eq!(info.values, ["WEB", "API"]);
        assert_eq!((info.total, info.has_more), (Some(2), Some(false)));
        let many: Vec<Candidate> = (0..150).map(|i| c(&format!("P{i}"), "")).collect();
        let info = matching(many, "p", false);
        assert_eq!(info.values.len(), 100);
        assert_eq!((info.total, info.has_more), (Some(150), Some(true)));
        let unread = matching(vec![c("A", "")], "", true);
        assert_eq!((unread.total, unread.has_more), (None, Some(true)));
        assert_eq!(native("acme-jira:PROJ"), "PROJ");
        let answer = json!({ "projects": [ { "id": "acme-jira:PROJ", "name": "Web" } ] });
        let native_ids = candidates(&answer, "projects", true);
        assert_eq!(native_ids[0].value, "PROJ");
        assert_eq!(
            candidates(&answer, "projects", false)[0].value,
            "acme-jira:PROJ"
        );
    }
}
