//! The worklogs toolset: log time on a task, read the time logged on a task or a project.
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use pm_core::{PageRequest, Worklog};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{date, given, native_of};
use super::{ToolError, scan};
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListWorklogsArgs {
    #[serde(default)]
    pub task_id: Option<String>,
    /// Only this user's entries.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub start_date: Option<String>,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LogWorkArgs {
    pub task_id: String,
    /// Hours worked, e.g. 1.5 (whole minutes are kept).
    pub hours: f64,
    /// The day the work was done, YYYY-MM-DD (default today, UTC).
    #[serde(default)]
    pub date: Option<String>,
    /// What was done (Markdown).
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorklogOut {
    pub worklog: Worklog,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorklogItem {
    #[serde(flatten)]
    pub worklog: Worklog,
    pub task_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorklogsOut {
    pub worklogs: Vec<WorklogItem>,
    pub total_hours: f64,
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How many of a project's tasks `list_worklogs` reads (the most recently changed first).
pub(crate) const WORKLOG_PROJECT_TASKS: usize = 200;

/// Tracker pages of one task's worklogs read when scanning a project.
const WORKLOG_PAGES_PER_TASK: usize = 10;

/// Which entries `list_worklogs` keeps: by author and by the day the work was done.
#[derive(Debug, Default, Clone)]
pub(crate) struct WorklogFilter {
    pub user: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl WorklogFilter {
    fn is_empty(&self) -> bool {
        self.user.is_none() && self.from.is_none() && self.to.is_none()
    }

    /// An entry with no author or no day does not match a filter on it.
    pub(crate) fn keeps(&self, w: &Worklog) -> bool {
        if let Some(u) = &self.user
            && w.author.as_ref().is_none_or(|a| &a.id != u)
        {
            return false;
        }
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let Some(day) = w.started_at.map(|t| t.date_naive()) else {
            return false;
        };
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

/// The worklogs toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Worklogs,
        router: PmServer::worklogs_router(),
        order: &["log_work", "list_worklogs"],
    }
}

#[tool_router(router = worklogs_router, vis = "pub(crate)")]
impl PmServer {
    /// Log time on a task: hours (e.g. 1.5), day (YYYY-MM-DD, default today), comment.
    #[tool(
        name = "log_work",
        annotations(
            title = "Log work",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn log_work(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<LogWorkArgs>,
    ) -> Result<Json<WorklogOut>, ToolError> {
        if !a.hours.is_finite() || a.hours <= 0.0 || a.hours > 24.0 {
            return Err(ToolError::new(format!(
                "hours must be more than 0 and at most 24 (got {})",
                a.hours
            )));
        }
        let day = match a.date.as_deref() {
            Some(d) => date(d, "date")?,
            None => Utc::now().date_naive(),
        };
        let started = Utc
            .from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()));
        let seconds = (a.hours * 3600.0 / 60.0).round() as i64 * 60;
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let comment = a.comment;
        // Worklogs come back as the tracker gives them (their authors' ids unqualified).
        let worklog = tracker
            .call_native(
                |t| async move { t.log_work(&id, seconds, started, comment.as_deref()).await },
            )
            .await?;
        Ok(Json(WorklogOut { worklog }))
    }

    /// Time logged on a task or a project, with the total in hours.
    #[tool(
        name = "list_worklogs",
        annotations(
            title = "Read logged work",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_worklogs(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<ListWorklogsArgs>,
    ) -> Result<Json<WorklogsOut>, ToolError> {
        let task = given(a.task_id.as_deref())?;
        let project = given(a.project_id.as_deref())?;
        let user = given(a.user_id.as_deref())?;
        let from = a
            .start_date
            .as_deref()
            .map(|d| date(d, "start_date"))
            .transpose()?;
        let to = a
            .end_date
            .as_deref()
            .map(|d| date(d, "end_date"))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ToolError::new(format!(
                "start_date {f} is after end_date {t}; nothing can match"
            )));
        }
        if task.is_none() && project.is_none() {
            return Err(ToolError::new(if user.is_some() {
                "list_worklogs needs task_id or project_id as well as user_id: a user's time \
                 across every project is not read; name the project (list_projects) or the task"
                    .into()
            } else {
                "list_worklogs needs task_id or project_id (with user_id, start_date and \
                 end_date to narrow it)"
                    .into()
            }));
        }
        let filter = WorklogFilter {
            user: native_of(&user),
            from,
            to,
        };
        let natives = (native_of(&task), native_of(&project));
        let ids = [
            ("task_id", task),
            ("project_id", project),
            ("user_id", user),
        ];
        let tracker = self.tracker_for(&p, None, &ids).await?;
        let (task, project) = natives;
        if let Some(task) = task.as_deref() {
            if let Some(project) = project.as_deref() {
                // The task's project may be named by id or by key: compare with both.
                let t = tracker
                    .call_native(|t| async move { t.get_task(task).await })
                    .await?;
                let belongs = match t.project_id.as_deref() {
                    None => false,
                    Some(id) if id == project => true,
                    Some(id) => {
                        let pr = tracker
                            .call_native(|t| async move { t.get_project(project).await })
                            .await?;
                        pr.id == id || pr.key.as_deref() == Some(id)
                    }
                };
                if !belongs {
                    return Err(ToolError::new(format!(
                        "task {task} is not in project {project}; drop one of task_id and project_id"
                    )));
                }
            }
            let task_ref = tracker.qualified(task);
            let page = if filter.is_empty() {
                let page = PageRequest::new(a.cursor, a.limit);
                tracker
                    .call_native(|t| async move { t.list_worklogs(task, &page).await })
                    .await?
            } else {
                let limit = PageRequest::new(None, a.limit).limit;
                let fetch = |cursor: Option<String>| {
                    let (tracker, page) =
                        (&tracker, PageRequest::new(cursor, Some(scan::SCAN_PAGE)));
                    async move {
                        tracker
                            .call_native(|t| async move { t.list_worklogs(task, &page).await })
                            .await
                    }
                };
                scan::scan(a.cursor.as_deref(), limit, fetch, |w| filter.keeps(w)).await?
            };
            let total_hours = hours(page.items.iter());
            return Ok(Json(WorklogsOut {
                worklogs: page
                    .items
                    .into_iter()
                    .map(|worklog| WorklogItem {
                        worklog,
                        task_id: task_ref.clone(),
                    })
                    .collect(),
                total_hours,
                next_cursor: page.next,
                notes: Vec::new(),
            }));
        }
        // A project: its most recently changed tasks, and each one's entries.
        let Some(project) = project else {
            return Err(ToolError::new("project_id is empty".into()));
        };
        if a.cursor.as_deref().is_some_and(|c| !c.trim().is_empty()) {
            return Err(ToolError::new(
                "a project's worklogs come in one answer; call again without cursor".into(),
            ));
        }
        let mut notes = Vec::new();
        let mut tasks = Vec::new();
        let mut cursor = None;
        loop {
            let query = pm_core::TaskQuery {
                project: Some(project.clone()),
                ..Default::default()
            };
            let page = PageRequest::new(cursor, Some(PageRequest::MAX_LIMIT));
            let page = tracker
                .call_native(|t| async move { t.search_tasks(&query, &page).await })
                .await?;
            tasks.extend(page.items);
            match page.next {
                Some(n) if tasks.len() < WORKLOG_PROJECT_TASKS => cursor = Some(n),
                Some(_) => {
                    notes.push(format!(
                        "the project has more than {WORKLOG_PROJECT_TASKS} tasks: only the \
                         {WORKLOG_PROJECT_TASKS} most recently changed were read; name a task_id \
                         for an older one"
                    ));
                    break;
                }
                None => break,
            }
        }
        tasks.truncate(WORKLOG_PROJECT_TASKS);
        let mut found = Vec::new();
        for t in &tasks {
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let (task, page) = (
                    t.id.as_str(),
                    PageRequest::new(cursor, Some(scan::SCAN_PAGE)),
                );
                let page = tracker
                    .call_native(|t| async move { t.list_worklogs(task, &page).await })
                    .await?;
                pages += 1;
                let task_ref = tracker.qualified(task);
                found.extend(
                    page.items
                        .into_iter()
                        .filter(|w| filter.keeps(w))
                        .map(|worklog| WorklogItem {
                            worklog,
                            task_id: task_ref.clone(),
                        }),
                );
                match page.next {
                    Some(n) if pages < WORKLOG_PAGES_PER_TASK => cursor = Some(n),
                    Some(_) => {
                        notes.push(format!(
                            "task {} has more than {} entries: only the first {} were read",
                            t.id,
                            WORKLOG_PAGES_PER_TASK as u32 * scan::SCAN_PAGE,
                            WORKLOG_PAGES_PER_TASK as u32 * scan::SCAN_PAGE
                        ));
                        break;
                    }
                    None => break,
                }
            }
        }
        found.sort_by_key(|w| std::cmp::Reverse(w.worklog.started_at));
        let total_hours = hours(found.iter().map(|w| &w.worklog));
        let limit = PageRequest::new(None, a.limit).limit as usize;
        if found.len() > limit {
            notes.push(format!(
                "{} entries match; the {limit} latest are listed (total_hours counts all; \
                 narrow by date or user, or raise limit)",
                found.len()
            ));
            found.truncate(limit);
        }
        Ok(Json(WorklogsOut {
            worklogs: found,
            total_hours,
            next_cursor: None,
            notes,
        }))
    }
}

fn hours<'a>(items: impl Iterator<Item = &'a Worklog>) -> f64 {
    items.map(|w| w.seconds).sum::<i64>() as f64 / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pm_core::User;

    fn log(author: Option<&str>, day: Option<(i32, u32, u32)>) -> Worklog {
        Worklog {
            id: "1".into(),
            author: author.map(|a| User {
                id: a.into(),
                name: a.into(),
                email: None,
                active: true,
            }),
            started_at: day.and_then(|(y, m, d)| Utc.with_ymd_and_hms(y, m, d, 23, 30, 0).single()),
            seconds: 60,
            comment: None,
        }
    }

    #[test]
    fn worklogs_are_kept_by_author_and_inclusive_days() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let f = WorklogFilter {
            user: Some("mia".into()),
            from: d(2026, 12, 1),
            to: d(2026, 12, 3),
        };
        assert!(f.keeps(&log(Some("mia"), Some((2026, 12, 1)))));
        assert!(
            f.keeps(&log(Some("mia"), Some((2026, 12, 3)))),
            "end_date is inclusive"
        );
        assert!(!f.keeps(&log(Some("mia"), Some((2026, 12, 4)))));
        assert!(!f.keeps(&log(Some("mia"), Some((2026, 11, 30)))));
        assert!(!f.keeps(&log(Some("ravi"), Some((2026, 12, 2)))));
        assert!(
            !f.keeps(&log(None, Some((2026, 12, 2)))),
            "no author, no match"
        );
        assert!(
            !f.keeps(&log(Some("mia"), None)),
            "no day, no match on dates"
        );
        let anyone = WorklogFilter {
            to: d(2026, 12, 3),
            ..Default::default()
        };
        assert!(anyone.keeps(&log(None, Some((2026, 1, 1)))));
        assert!(WorklogFilter::default().keeps(&log(None, None)));
        assert!(WorklogFilter::default().is_empty());
    }
}
