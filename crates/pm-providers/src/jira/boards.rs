//! Jira boards: which board a project's sprints live on, and which field its story points are.
//!
//! `GET /rest/agile/1.0/board?projectKeyOrId=` lists every board whose filter names the project,
//! so a cross-project board located elsewhere may come first; a team-managed project has a
//! `simple` board, with sprints only when its Sprints feature is on. The board is chosen
//! deterministically: one located in the project (`location.projectKey` / `projectId`) before
//! one that only shows it, Scrum before simple, the lowest id first; the caller may name one
//! (`board_id`), and the choice is said in the result's notes. A project's story points field is
//! its board's estimation field (`GET /board/{id}/configuration`, `estimation.field.fieldId`),
//! else the site's (Jira Software's `jsw-story-points` type, else the field named "Story
//! Points", else "Story point estimate").
use pm_core::{Page, PageRequest, Provider, ProviderError, ProviderResult, Sprint, SprintState};

use super::{Jira, map, sprint_state, wire};
use crate::cursor;

/// A board chosen for a project, and what the caller should know about the choice.
pub(super) struct Chosen {
    pub board: wire::Board,
    pub note: Option<String>,
}

fn describe(b: &wire::Board) -> String {
    match b.name.as_deref() {
        Some(n) => format!("board {} ({n})", b.id),
        None => format!("board {}", b.id),
    }
}

impl Jira {
    /// Whether `b` is located in `project` (its key or id).
    fn located_in(b: &wire::Board, project: &str) -> bool {
        b.location.as_ref().is_some_and(|l| {
            l.project_key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(project))
                || l.project_id.as_ref().is_some_and(|id| {
                    id.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| id.to_string())
                        == project
                })
        })
    }

    /// The board of `project` that has its sprints, or the one the caller named.
    pub(super) async fn choose_board(
        &self,
        project: &str,
        explicit: Option<&str>,
    ) -> ProviderResult<Chosen> {
        if let Some(raw) = explicit.map(str::trim).filter(|b| !b.is_empty()) {
            let id: u64 = raw.parse().map_err(|_| {
                ProviderError::BadInput(format!(
                    "board_id {raw:?} is not a Jira board id (a number)"
                ))
            })?;
            let board: wire::Board = self
                .up
                .get(&format!("rest/agile/1.0/board/{id}"), &[])
                .await
                .map_err(|e| crate::ids::not_found(e, format!("Jira board {id}")))?;
            if board.kind.as_deref() == Some("kanban") {
                return Err(ProviderError::BadInput(format!(
                    "{} is a Kanban board, which has no sprints; leave board_id out to use the project's Scrum board",
                    describe(&board)
                )));
            }
            let note = (!Self::located_in(&board, project))
                .then(|| format!("{} is not located in project {project}", describe(&board)));
            return Ok(Chosen { board, note });
        }
        // One page of 50: a project is rarely on more than a handful of boards.
        let q = [
            ("projectKeyOrId", project.to_string()),
            ("maxResults", "50".to_string()),
        ];
        let page: wire::PageBean<wire::Board> = self.up.get("rest/agile/1.0/board", &q).await?;
        let more = page.is_last == Some(false);
        let boards = page.values;
        let rank = |b: &wire::Board| {
            let kind = match b.kind.as_deref() {
                Some("scrum") => 0,
                Some("simple") => 1,
                _ => 9,
            };
            (u8::from(!Self::located_in(b, project)), kind, b.id)
        };
        let mut candidates: Vec<&wire::Board> = boards.iter().filter(|b| rank(b).1 < 9).collect();
        candidates.sort_by_key(|b| rank(b));
        let Some(chosen) = candidates.first() else {
            // No board: an unknown project is a not-found that names it, not "no Scrum board".
            self.get_project(project).await?;
            return Err(ProviderError::BadInput(format!(
                "project {project} has no Scrum board, so it has no sprints; create one in Jira first (create_project makes projects with one)"
            )));
        };
        let mut notes = Vec::new();
        if !Self::located_in(chosen, project) {
            notes.push(format!(
                "{} shows project {project} but is located in another project",
                describe(chosen)
            ));
        }
        if candidates.len() > 1 {
            let others: Vec<String> = candidates[1..].iter().map(|b| describe(b)).collect();
            notes.push(format!(
                "project {project}'s sprints are those of {}; other boards with sprints: {} (board_id picks one)",
                describe(chosen),
                others.join(", ")
            ));
        }
        if more {
            notes.push(format!(
                "project {project} is on more than 50 boards; the first 50 were looked at"
            ));
        }
        Ok(Chosen {
            board: (*chosen).clone(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        })
    }

    /// A board's sprints; a board without them (Kanban, or a team-managed project with its
    /// Sprints feature off) is said in words.
    pub(super) async fn board_sprints(
        &self,
        chosen: Chosen,
        project: &str,
        states: &[SprintState],
        page: &PageRequest,
    ) -> ProviderResult<Page<Sprint>> {
        let board = chosen.board.id;
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let mut q = vec![
            ("startAt", start.to_string()),
            ("maxResults", page.limit.to_string()),
        ];
        if !states.is_empty() {
            let names: Vec<&str> = states.iter().map(|s| sprint_state(*s)).collect();
            q.push(("state", names.join(",")));
        }
        let bean: wire::PageBean<wire::Sprint> = self
            .up
            .get(&format!("rest/agile/1.0/board/{board}/sprint"), &q)
            .await
            .map_err(|e| no_sprints(e, &chosen.board, project))?;
        let got = bean.values.len() as u64;
        let last = bean.is_last.unwrap_or(got == 0)
            || bean.total.is_some_and(|t| bean.start_at + got >= t);
        let mut items: Vec<Sprint> = bean.values.into_iter().map(map::sprint).collect();
        if let (Some(first), Some(note)) = (items.first_mut(), chosen.note) {
            first.notes.push(note);
        }
        Ok(Page {
            items,
            next: (!last && got > 0).then(|| cursor::encode_offset(bean.start_at + got)),
        })
    }

    /// Every field that may hold story points, for reads (the site's candidates, the boards'
    /// estimation fields met so far), and Data Center's Epic Link.
    pub(super) fn points_fields(&self, epic_link: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = self
            .fields
            .get()
            .map(|f| f.points_candidates.clone())
            .unwrap_or_default();
        if let Ok(known) = self.project_points.lock() {
            for f in known.values().flatten() {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out.extend(epic_link.map(str::to_string));
        out
    }

    /// The story points field of an issue: its project's board's (when known), else the first
    /// candidate that holds a number, else the site's.
    pub(super) fn points_of_issue(&self, i: &wire::Issue, site: Option<&str>) -> Option<String> {
        let project = i.fields.project.as_ref().and_then(|p| p.key.clone());
        if let Some(Some(f)) = project.and_then(|p| {
            self.project_points
                .lock()
                .ok()?
                .get(&p.to_ascii_uppercase())
                .cloned()
        }) {
            return Some(f);
        }
        self.points_fields(None)
            .into_iter()
            .find(|f| {
                i.fields
                    .extra
                    .get(f)
                    .is_some_and(serde_json::Value::is_number)
            })
            .or_else(|| site.map(str::to_string))
    }

    /// Board `id`'s configuration (its estimation field and columns).
    async fn board_configuration(&self, id: u64) -> ProviderResult<wire::BoardConfiguration> {
        self.up
            .get(&format!("rest/agile/1.0/board/{id}/configuration"), &[])
            .await
    }

    /// The story points field of `project`: its board's estimation field, else the site's.
    pub(super) async fn points_field_for(&self, project: &str) -> ProviderResult<Option<String>> {
        let site = self.story_points_field().await?;
        let key = project.trim().to_ascii_uppercase();
        if let Some(known) = self
            .project_points
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(known.or(site));
        }
        let from_board = match self.choose_board(project, None).await {
            Ok(chosen) => {
                let config = self.board_configuration(chosen.board.id).await;
                let config = match config {
                    Ok(c) => Some(c),
                    // A board whose configuration this account may not read: the site's field.
                    Err(ProviderError::Forbidden { .. } | ProviderError::NotFound { .. }) => None,
                    Err(e) => {
                        tracing::warn!(error = %e, project, "cannot read the board's configuration; story points use the site's field");
                        return Ok(site);
                    }
                };
                config.and_then(|c| c.estimation).and_then(|e| {
                    (e.kind.as_deref() == Some("field"))
                        .then_some(e.field)
                        .flatten()
                        .and_then(|f| f.field_id)
                        .filter(|id| id.starts_with("customfield_"))
                })
            }
            // No board: the site's field, remembered.
            Err(ProviderError::BadInput(_) | ProviderError::Forbidden { .. }) => None,
            Err(e @ (ProviderError::Auth { .. } | ProviderError::NotFound { .. })) => {
                return Err(e);
            }
            // Anything passing (a rate limit, a timeout): the site's field this time only.
            Err(e) => {
                tracing::warn!(error = %e, project, "cannot read the project's board; story points use the site's field");
                return Ok(site);
            }
        };
        if let Ok(mut m) = self.project_points.lock() {
            if m.len() >= super::PROJECT_POINTS_KEPT {
                m.clear();
            }
            m.insert(key, from_board.clone());
        }
        Ok(from_board.or(site))
    }

    /// The unfinished issues of sprint `id` (how many, and the first keys).
    /// Unfinished means not in the last column of the sprint's board (`board`) with statuses
    /// mapped to it, which Jira Software treats as "Done" whatever the statuses' categories
    /// (Agile spec, board configuration); without a readable board, not in the Done category.
    pub(super) async fn unfinished(
        &self,
        id: u64,
        board: Option<&str>,
    ) -> ProviderResult<(u64, Vec<String>)> {
        let mut done: Vec<String> = Vec::new();
        if let Some(board) = board.and_then(|b| b.parse::<u64>().ok()) {
            match self.board_configuration(board).await {
                Ok(config) => {
                    done = config
                        .column_config
                        .map(|c| c.columns)
                        .unwrap_or_default()
                        .into_iter()
                        .rev()
                        .find(|c| !c.statuses.is_empty())
                        .map(|c| {
                            c.statuses
                                .into_iter()
                                .map(|s| s.id)
                                .filter(|id| {
                                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                }
                Err(e @ ProviderError::Auth { .. }) => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, board, "cannot read the sprint's board; unfinished means not in the Done category");
                }
            }
        }
        let jql = if done.is_empty() {
            "statusCategory != Done".to_string()
        } else {
            format!("status not in ({})", done.join(", "))
        };
        let q = [
            ("jql", jql),
            ("fields", "status".to_string()),
            ("maxResults", "10".to_string()),
        ];
        let found: wire::SprintIssues = self
            .up
            .get(&format!("rest/agile/1.0/sprint/{id}/issue"), &q)
            .await?;
        let keys: Vec<String> = found.issues.into_iter().map(|i| i.key).collect();
        Ok((found.total.unwrap_or(keys.len() as u64), keys))
    }
}

/// Jira's 400 for a board without sprints, in words.
fn no_sprints(e: ProviderError, board: &wire::Board, project: &str) -> ProviderError {
    match &e {
        ProviderError::Invalid { message, .. } if message.contains("does not support sprints") => {
            let why = match board.kind.as_deref() {
                Some("simple") => {
                    "a team-managed project has sprints once its Sprints feature is on (Project settings → Features in Jira)"
                }
                _ => "it is not a Scrum board",
            };
            ProviderError::BadInput(format!(
                "{} of project {project} has no sprints: {why}",
                describe(board)
            ))
        }
        _ => e,
    }
}
