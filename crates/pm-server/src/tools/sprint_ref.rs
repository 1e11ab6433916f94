//! Naming a sprint the way people do: by id (`acme-jira:42` or bare `42`), as `current` (the
//! project's active sprint), as `#7` (an id with a leading `#`), or by its name ("Sprint 7",
//! matched case-insensitively among the project's sprints). `current` and names need a project;
//! every analytics and sprint tool that takes such a reference resolves it here.
use pm_core::{ConnectionHandle, PageRequest, Sprint, SprintState};

use super::ToolError;
use super::args::{native, native_of};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::Tracker;

/// At most this many pages of 100 sprints are read to find one by name or the current one.
const MAX_PAGES: usize = 20;

/// What a sprint reference names, its connection prefix set apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SprintRef {
    /// The tracker's own id.
    Id(String),
    /// The project's active sprint.
    Current,
    /// A sprint name, matched case-insensitively.
    Name(String),
}

/// Parses a sprint reference: `conn:rest` sets the connection apart (`rest` is itself a
/// reference), `current` is the active sprint, `#N` is the id `N`, an all-digit value is an id,
/// and anything else is a name.
pub(crate) fn parse(raw: &str) -> Result<(Option<ConnectionHandle>, SprintRef), ToolError> {
    let q = native(raw)?;
    let rest = q.native.trim();
    let r = if rest.eq_ignore_ascii_case("current") {
        SprintRef::Current
    } else if let Some(n) = rest.strip_prefix('#') {
        let n = n.trim();
        if n.is_empty() {
            return Err(ToolError::new(format!(
                "{raw:?} names no sprint; use a sprint id (e.g. 42 or \"#42\"), its name, or current"
            )));
        }
        SprintRef::Id(n.to_string())
    } else if rest.chars().all(|c| c.is_ascii_digit()) {
        SprintRef::Id(rest.to_string())
    } else {
        SprintRef::Name(rest.to_string())
    };
    Ok((q.connection, r))
}

/// The sprint `current` means among a project's active sprints: the one started most recently
/// (a sprint with no start date counts as the oldest).
pub(crate) fn pick_current(active: Vec<Sprint>) -> Option<Sprint> {
    active
        .into_iter()
        .filter(|s| s.state == SprintState::Active)
        .max_by(|a, b| a.start_date.cmp(&b.start_date).then(a.id.cmp(&b.id)))
}

/// The sprints whose name is `name`, ignoring case and surrounding spaces.
pub(crate) fn by_name(sprints: Vec<Sprint>, name: &str) -> Vec<Sprint> {
    let wanted = name.trim().to_lowercase();
    sprints
        .into_iter()
        .filter(|s| s.name.trim().to_lowercase() == wanted)
        .collect()
}

/// A sprint reference resolved: its tracker, the native sprint id, the sprint (native ids) when
/// it was read on the way, and the project (native id) when one was given.
pub(crate) struct Resolved {
    pub tracker: Tracker,
    pub id: String,
    pub sprint: Option<Sprint>,
    pub project: Option<String>,
}

impl PmServer {
    /// Resolves `sprint` (omitted: `current`) in `project` (needed for `current` and names).
    /// When both carry a connection prefix they must agree; a bare sprint id takes the project's
    /// connection.
    pub(crate) async fn resolve_sprint(
        &self,
        p: &Principal,
        sprint: Option<&str>,
        project: Option<&str>,
    ) -> Result<Resolved, ToolError> {
        let sprint = sprint.map(str::trim).filter(|s| !s.is_empty());
        let project = project.map(str::trim).filter(|s| !s.is_empty());
        let (sprint_id, reference) = match sprint {
            Some(s) => (Some(native(s)?), parse(s)?.1),
            None if project.is_some() => (None, SprintRef::Current),
            None => {
                return Err(ToolError::new(
                    "give sprint_id (e.g. \"acme-jira:42\", \"current\" or a sprint name) or project_id (its current sprint is used)".into(),
                ));
            }
        };
        let project = project.map(native).transpose()?;
        let project_native = native_of(&project);
        let ids = [("project_id", project), ("sprint_id", sprint_id)];
        let tracker = self.tracker_for(p, None, &ids).await?;
        let project = project_native;
        let (id, sprint) = match reference {
            SprintRef::Id(id) => (id, None),
            SprintRef::Current | SprintRef::Name(_) => {
                let Some(project) = project.as_deref() else {
                    let what = match &reference {
                        SprintRef::Current => "current".to_string(),
                        _ => format!("a sprint name ({:?})", sprint.unwrap_or_default()),
                    };
                    return Err(ToolError::new(format!(
                        "{what} needs project_id to say whose sprint (e.g. project_id \"acme-jira:PROJ\"), or give the sprint's id"
                    )));
                };
                let found = find(&tracker, project, &reference).await?;
                (found.id.clone(), Some(found))
            }
        };
        Ok(Resolved {
            tracker,
            id,
            sprint,
            project,
        })
    }
}

/// The project's sprints in `states` (all when empty), every page up to `MAX_PAGES`, and
/// whether that was all of them.
pub(crate) async fn all_sprints(
    tracker: &Tracker,
    project: &str,
    states: &[SprintState],
) -> Result<(Vec<Sprint>, bool), ToolError> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let page = PageRequest::new(cursor, Some(100));
        let page = tracker
            .call_native(|t| async move { t.list_sprints(project, states, &page).await })
            .await?;
        out.extend(page.items);
        cursor = page.next;
        if cursor.is_none() {
            return Ok((out, true));
        }
    }
    Ok((out, false))
}

/// The one sprint of `project` that `current` or a name means.
async fn find(
    tracker: &Tracker,
    project: &str,
    reference: &SprintRef,
) -> Result<Sprint, ToolError> {
    let shown = tracker.qualified(project);
    match reference {
        SprintRef::Current => {
            let (active, _) = all_sprints(tracker, project, &[SprintState::Active]).await?;
            pick_current(active).ok_or_else(|| {
                ToolError::new(format!(
                    "project {shown} has no active sprint, so there is no current one; list_sprints shows its sprints (give one's id or name)"
                ))
            })
        }
        SprintRef::Name(name) => {
            let (all, _) = all_sprints(tracker, project, &[]).await?;
            let mut matches = by_name(all, name);
            match matches.len() {
                0 => Err(ToolError::new(format!(
                    "project {shown} has no sprint named {name:?}; list_sprints shows its sprints"
                ))),
                1 => Ok(matches.remove(0)),
                _ => Err(ToolError::new(format!(
                    "{} sprints of project {shown} are named {name:?}: {}; give the id of one",
                    matches.len(),
                    matches
                        .iter()
                        .map(
                            |s| format!("{} ({:?})", tracker.qualified(s.id.clone()), s.state)
                                .to_lowercase()
                        )
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        SprintRef::Id(id) => Err(ToolError::new(format!("sprint {id} is an id, not a name"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn sprint(id: &str, name: &str, state: SprintState, start_day: Option<u32>) -> Sprint {
        Sprint {
            id: id.into(),
            name: name.into(),
            state,
            goal: None,
            start_date: start_day.map(|d| {
                Utc.with_ymd_and_hms(2026, 11, d, 9, 0, 0)
                    .single()
                    .expect("date")
            }),
            end_date: None,
            completed_at: None,
            board_id: None,
            notes: Vec::new(),
        }
    }

    fn handle(s: &str) -> Option<ConnectionHandle> {
        Some(ConnectionHandle::parse(s).expect("handle"))
    }

    #[test]
    fn references_are_ids_current_hashes_or_names() {
        let p = |s: &str| parse(s).map_err(|e| e.0).expect("parses");
        assert_eq!(p("42"), (None, SprintRef::Id("42".into())));
        assert_eq!(p("acme:42"), (handle("acme"), SprintRef::Id("42".into())));
        assert_eq!(p("#7"), (None, SprintRef::Id("7".into())));
        assert_eq!(p("acme:#7"), (handle("acme"), SprintRef::Id("7".into())));
        assert_eq!(p("current"), (None, SprintRef::Current));
        assert_eq!(p(" CURRENT "), (None, SprintRef::Current));
        assert_eq!(p("acme:current"), (handle("acme"), SprintRef::Current));
        assert_eq!(p("Sprint 7"), (None, SprintRef::Name("Sprint 7".into())));
        // A colon after something that is no handle is part of the name.
        assert_eq!(
            p("Sprint 7: Login"),
            (None, SprintRef::Name("Sprint 7: Login".into()))
        );
        assert!(parse("#").is_err());
        assert!(parse("  ").is_err());
    }

    #[test]
    fn current_is_the_active_sprint_started_last() {
        assert_eq!(pick_current(vec![]), None);
        let got = pick_current(vec![
            sprint("1", "A", SprintState::Active, Some(3)),
            sprint("2", "B", SprintState::Active, Some(10)),
            sprint("3", "C", SprintState::Active, None),
            sprint("4", "D", SprintState::Future, Some(20)),
        ]);
        assert_eq!(got.map(|s| s.id), Some("2".into()));
    }

    #[test]
    fn names_match_whole_and_ignoring_case() {
        let all = vec![
            sprint("1", "Sprint 7", SprintState::Closed, Some(1)),
            sprint("2", "Sprint 70", SprintState::Active, Some(2)),
            sprint("3", " sprint 7 ", SprintState::Future, None),
        ];
        let ids = |v: Vec<Sprint>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(by_name(all.clone(), "SPRINT 7")), ["1", "3"]);
        assert_eq!(ids(by_name(all.clone(), "sprint 70")), ["2"]);
        assert!(by_name(all, "Sprint").is_empty());
    }
}
