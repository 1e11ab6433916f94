//! Agile analytics computed from history, not from a snapshot of today's statuses: burndown,
//! velocity, sprint report, project health, cumulative flow, cycle time, work distribution,
//! created-vs-resolved trend and capacity. Each tool reads the items it needs with their history
//! in one paged search per sprint (or two per project: open items, and items closed in the
//! window), computes with `pm_core::analytics` (pure), and — for the `*_chart` tools, unless
//! `chart: false` — adds a PNG rendered in-process by `pm_charts`. The numbers are always in
//! `structuredContent`.
use base64::Engine as _;
use chrono::{Duration, NaiveDate, Utc};
use pm_core::analytics::{self, CapacityConfig, GroupBy, Metric};
use pm_core::{History, PageRequest, QualifiedId, Sprint, SprintState};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::tool::{IntoCallToolResult, schema_for_output};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;
use crate::service::{Qualify, Tracker};

/// At most this many items feed one computation (a sprint, or a project's window).
const MAX_ITEMS: u32 = 2000;
/// Velocity looks back at most this many sprints.
const MAX_SPRINTS: u32 = 20;
/// Capacity looks ahead at most this many weeks.
const MAX_WEEKS: u32 = 52;
/// Windows are at most this many days.
const MAX_DAYS: u32 = 365;
/// Lists of items in a result are cut to this many (their totals still count every item), so a
/// large sprint or project does not flood the model's context.
const MAX_LISTED: usize = 100;

/// Cuts `list` to `MAX_LISTED` and says so in `notes`.
fn cap<T>(list: &mut Vec<T>, name: &str, notes: &mut Vec<String>) {
    if list.len() > MAX_LISTED {
        notes.push(format!(
            "{name} lists the first {MAX_LISTED} of {} items; the totals count them all",
            list.len()
        ));
        list.truncate(MAX_LISTED);
    }
}

/// A result with its numbers as `structuredContent` (and the same JSON as text), plus a PNG chart
/// when one was drawn.
pub struct Charted<T> {
    pub value: T,
    pub png: Option<Vec<u8>>,
}

impl<T: Serialize> IntoCallToolResult for Charted<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let value = serde_json::to_value(&self.value)
            .map_err(|e| rmcp::ErrorData::internal_error(e.to_string(), None))?;
        let mut result = CallToolResult::structured(value);
        if let Some(png) = self.png {
            result.content.push(ContentBlock::image(
                base64::engine::general_purpose::STANDARD.encode(png),
                "image/png",
            ));
        }
        Ok(result.into())
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SprintChartArgs {
    /// Sprint id (e.g. "acme-jira:42"), "current", "#42" or the sprint's name. Default: the
    /// project's current sprint.
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// Project (e.g. "acme-jira:PROJ"): whose current or named sprint.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Default: story_points where the items have them, else task_count.
    #[serde(default)]
    pub metric: Option<Metric>,
    /// Add a PNG chart (default true).
    #[serde(default)]
    pub chart: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SprintReportArgs {
    /// Sprint id (e.g. "acme-jira:42"), "current", "#42" or the sprint's name (with project_id).
    pub sprint_id: String,
    /// Project (e.g. "acme-jira:PROJ"): whose current or named sprint.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Default: story_points where the items have them, else task_count.
    #[serde(default)]
    pub metric: Option<Metric>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct VelocityArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    pub project_id: String,
    /// How many of the last closed sprints (default 6, at most 20).
    #[serde(default)]
    pub sprints: Option<u32>,
    #[serde(default)]
    pub metric: Option<Metric>,
    #[serde(default)]
    pub chart: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WindowArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    pub project_id: String,
    /// The last `days` days (default 30, at most 365).
    #[serde(default)]
    pub days: Option<u32>,
    #[serde(default)]
    pub chart: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FlowArgs {
    /// Project id, e.g. "acme-jira:PROJ".
    pub project_id: String,
    /// Only this sprint's items (id, "current", "#42" or name); its dates unless days is given.
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// The last `days` days (default 30, at most 365).
    #[serde(default)]
    pub days: Option<u32>,
    #[serde(default)]
    pub chart: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct HealthArgs {
    pub project_id: String,
    /// Items changed in the last `days` days count too (default 30).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DistributionArgs {
    /// A sprint's items (e.g. "acme-jira:42", or "current" or a name with project_id) ...
    #[serde(default)]
    pub sprint_id: Option<String>,
    /// ... or a project's open items and those changed in the last 30 days.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Default assignee.
    #[serde(default)]
    pub by: Option<GroupBy>,
    #[serde(default)]
    pub metric: Option<Metric>,
    #[serde(default)]
    pub chart: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CapacityArgs {
    pub project_id: String,
    /// Weeks from this one (default 4, at most 52).
    #[serde(default)]
    pub weeks: Option<u32>,
    /// Hours a person can work a week (default 40).
    #[serde(default)]
    pub hours_per_week: Option<f64>,
    /// Hours a week per tracker user id where it differs (e.g. {"acme-jira:5b10…": 20}).
    #[serde(default)]
    pub capacity: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(default)]
    pub chart: Option<bool>,
}

fn days(raw: Option<u32>, default: u32) -> Result<u32, ToolError> {
    let d = raw.unwrap_or(default);
    if d == 0 || d > MAX_DAYS {
        return Err(ToolError::new(format!(
            "days must be between 1 and {MAX_DAYS}"
        )));
    }
    Ok(d)
}

fn png<E: std::fmt::Display>(
    wanted: Option<bool>,
    render: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Option<Vec<u8>> {
    if !wanted.unwrap_or(true) {
        return None;
    }
    match render() {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!(error = %e, "a chart could not be drawn; the numbers are returned alone");
            None
        }
    }
}

/// Only the items in sprint `sprint_id` now. A sprint's history also holds the items taken out
/// of it mid-sprint (burndowns and reports count their scope leaving); a sprint's distribution
/// and flow are about its items, so they leave those out. Ids as in `h` (both native or both
/// qualified).
fn members_now(mut h: History, sprint_id: &str) -> History {
    h.items.retain(|i| {
        i.sprint_moves
            .iter()
            .filter(|m| m.sprint_id == sprint_id)
            .max_by_key(|m| m.at)
            .is_none_or(|m| m.added)
    });
    h
}

/// The metric asked for, or the one the items have (story points where they exist, else the task
/// count) with the sentence that says which was chosen.
fn metric_or_default<'a>(
    asked: Option<Metric>,
    histories: impl IntoIterator<Item = &'a History>,
) -> (Metric, Option<String>) {
    match asked {
        Some(m) => (m, None),
        None => {
            let (m, note) = analytics::default_metric(histories);
            (m, Some(note))
        }
    }
}

/// The last `days` days, today included.
fn window(days: u32) -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    (today - Duration::days(i64::from(days) - 1), today)
}

/// A sprint's days: from its start up to today, or (closed) up to when it was completed, at
/// most `MAX_DAYS` long; `None` when it has not started.
fn sprint_window(sprint: &Sprint, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let from = sprint.start_date?.date_naive();
    if from > today {
        return None;
    }
    let end = match sprint.state {
        SprintState::Closed => sprint.completed_at.or(sprint.end_date),
        _ => None,
    };
    let to = end
        .map(|d| d.date_naive())
        .filter(|e| *e < today && *e >= from)
        .unwrap_or(today);
    let from = from.max(to - Duration::days(i64::from(MAX_DAYS) - 1));
    Some((from, to))
}

impl PmServer {
    /// A sprint named by id, `current`, `#N` or name (see `sprint_ref`), read with its history.
    async fn sprint_and_history(
        &self,
        p: &Principal,
        sprint: Option<&str>,
        project: Option<&str>,
    ) -> Result<(Sprint, History), ToolError> {
        let r = self.resolve_sprint(p, sprint, project).await?;
        let (tracker, id) = (&r.tracker, r.id.as_str());
        let sprint = match r.sprint {
            Some(s) => s.qualify(tracker.name()),
            None => {
                tracker
                    .call(|t| async move { t.get_sprint(id).await })
                    .await?
            }
        };
        let history = tracker
            .call(|t| async move { t.sprint_history(id, MAX_ITEMS).await })
            .await?;
        Ok((sprint, history))
    }

    /// The items a flow chart reads and its window: a project's open and recent items over the
    /// last `days` days, or (with a sprint of that project) the sprint's items over its dates up
    /// to today unless `days` is given.
    async fn flow_items(
        &self,
        p: &Principal,
        a: &FlowArgs,
    ) -> Result<(History, NaiveDate, NaiveDate, Vec<String>), ToolError> {
        let d = days(a.days, 30)?;
        let Some(sprint_ref) = a.sprint_id.as_deref().filter(|s| !s.trim().is_empty()) else {
            let (_, _, history) = self.project_items(p, &a.project_id, d).await?;
            let (from, to) = window(d);
            return Ok((history, from, to, Vec::new()));
        };
        let r = self
            .resolve_sprint(p, Some(sprint_ref), Some(&a.project_id))
            .await?;
        let (tracker, id) = (&r.tracker, r.id.as_str());
        let sprint = match r.sprint {
            Some(s) => s,
            None => {
                // An id: it must be one of the project's sprints.
                let project = r.project.as_deref().unwrap_or_default();
                let (all, complete) = super::sprint_ref::all_sprints(tracker, project, &[]).await?;
                match all.into_iter().find(|s| s.id == r.id) {
                    Some(s) => s,
                    None if complete => {
                        return Err(ToolError::new(format!(
                            "sprint {} is not one of project {}'s sprints; list_sprints shows them",
                            tracker.qualified(id),
                            tracker.qualified(project),
                        )));
                    }
                    None => {
                        tracker
                            .call_native(|t| async move { t.get_sprint(id).await })
                            .await?
                    }
                }
            }
        };
        let history = tracker
            .call_native(|t| async move { t.sprint_history(id, MAX_ITEMS).await })
            .await?;
        let history = members_now(history, id).qualify(tracker.name());
        let shown = tracker.qualified(sprint.id.clone());
        let mut notes = vec![format!("items of sprint {shown} ({}) only", sprint.name)];
        let (from, to) = match (a.days, sprint_window(&sprint, Utc::now().date_naive())) {
            (None, Some(w)) => w,
            (None, None) => {
                notes.push(format!(
                    "sprint {shown} has not started, so the window is the last {d} days"
                ));
                window(d)
            }
            (Some(_), _) => window(d),
        };
        Ok((history, from, to, notes))
    }

    async fn project_items(
        &self,
        p: &Principal,
        project_id: &str,
        days: u32,
    ) -> Result<(Tracker, String, History), ToolError> {
        let (tracker, project) = self.tracker_of(p, project_id).await?;
        let since = Utc::now() - Duration::days(i64::from(days));
        let native = project.as_str();
        let history = tracker
            .call(|t| async move { t.project_history(native, since, MAX_ITEMS).await })
            .await?;
        Ok((tracker, project, history))
    }

    /// The last `n` closed sprints of a project, oldest first, each with its history.
    async fn closed_sprints(
        &self,
        tracker: &Tracker,
        project: &str,
        n: u32,
    ) -> Result<Vec<(Sprint, History)>, ToolError> {
        let mut closed: Vec<Sprint> = Vec::new();
        let mut cursor = None;
        for _ in 0..20 {
            let page = PageRequest::new(cursor, Some(100));
            let page = tracker
                .call_native(|t| async move {
                    t.list_sprints(project, &[SprintState::Closed], &page).await
                })
                .await?;
            closed.extend(page.items);
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
        closed.sort_by_key(|s| s.completed_at.or(s.end_date).or(s.start_date));
        let recent: Vec<Sprint> = closed.into_iter().rev().take(n as usize).rev().collect();
        let mut out = Vec::with_capacity(recent.len());
        for s in recent {
            let id = s.id.as_str();
            let h = tracker
                .call_native(|t| async move { t.sprint_history(id, MAX_ITEMS).await })
                .await?;
            out.push((s, h).qualify(tracker.name()));
        }
        Ok(out)
    }
}

/// The analytics toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Analytics,
        router: PmServer::analytics_router(),
        order: &[
            "burndown_chart",
            "velocity_chart",
            "sprint_report",
            "project_health",
            "cfd_chart",
            "cycle_time_chart",
            "work_distribution_chart",
            "issue_trend_chart",
            "capacity_chart",
        ],
    }
}

#[tool_router(router = analytics_router, vis = "pub(crate)")]
impl PmServer {
    /// Burndown of a sprint from its history: remaining work per day vs the ideal line, scope
    /// changes (added, removed, re-estimated after start) and what was assumed. Also a PNG
    /// unless chart is false.
    #[tool(
        name = "burndown_chart",
        output_schema = schema_for_output::<analytics::Burndown>(),
        annotations(
            title = "Sprint burndown",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn burndown_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintChartArgs>,
    ) -> Result<Charted<analytics::Burndown>, ToolError> {
        let (sprint, history) = self
            .sprint_and_history(&p, a.sprint_id.as_deref(), a.project_id.as_deref())
            .await?;
        let (metric, note) = metric_or_default(a.metric, [&history]);
        let mut value = analytics::burndown(&sprint, &history, metric, Utc::now());
        value.assumptions.splice(0..0, note);
        let png = png(a.chart, || pm_charts::burndown_png(&value));
        Ok(Charted { value, png })
    }

    /// Velocity over the last closed sprints: committed at start vs completed by the end, the
    /// mean and the trend. Also a PNG unless chart is false.
    #[tool(
        name = "velocity_chart",
        output_schema = schema_for_output::<analytics::Velocity>(),
        annotations(
            title = "Velocity",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn velocity_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<VelocityArgs>,
    ) -> Result<Charted<analytics::Velocity>, ToolError> {
        let n = a.sprints.unwrap_or(6);
        if n == 0 || n > MAX_SPRINTS {
            return Err(ToolError::new(format!(
                "sprints must be between 1 and {MAX_SPRINTS}"
            )));
        }
        let (tracker, project) = self.tracker_of(&p, &a.project_id).await?;
        let sprints = self.closed_sprints(&tracker, &project, n).await?;
        let (metric, note) = metric_or_default(a.metric, sprints.iter().map(|(_, h)| h));
        let mut value = analytics::velocity(&sprints, metric);
        value.assumptions.splice(0..0, note);
        let png = png(a.chart, || pm_charts::velocity_png(&value));
        Ok(Charted { value, png })
    }

    /// A sprint's report from its history: planned at start, completed, carried over, added and
    /// removed after start, completion rate, blocked items, by type and by assignee.
    #[tool(
        name = "sprint_report",
        output_schema = schema_for_output::<analytics::SprintReport>(),
        annotations(
            title = "Sprint report",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn sprint_report(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<SprintReportArgs>,
    ) -> Result<Charted<analytics::SprintReport>, ToolError> {
        let (sprint, history) = self
            .sprint_and_history(&p, Some(&a.sprint_id), a.project_id.as_deref())
            .await?;
        let (metric, note) = metric_or_default(a.metric, [&history]);
        let mut value = analytics::sprint_report(&sprint, &history, metric, Utc::now());
        value.assumptions.splice(0..0, note);
        Ok(Charted { value, png: None })
    }

    /// A project's health: progress, open bugs, overdue items, work in progress, stale items,
    /// the velocity trend of its last sprints (where it has sprints) and the risks they show.
    #[tool(
        name = "project_health",
        output_schema = schema_for_output::<analytics::ProjectHealth>(),
        annotations(
            title = "Project health",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn project_health(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<HealthArgs>,
    ) -> Result<Charted<analytics::ProjectHealth>, ToolError> {
        let d = days(a.days, 30)?;
        let (tracker, project, history) = self.project_items(&p, &a.project_id, d).await?;
        // A project without sprints (or a tracker without them) has no velocity; that is no error.
        let velocity = match self.closed_sprints(&tracker, &project, 3).await {
            Ok(s) if !s.is_empty() => {
                let (metric, _) = analytics::default_metric(s.iter().map(|(_, h)| h));
                Some(analytics::velocity(&s, metric))
            }
            _ => None,
        };
        let mut h = analytics::project_health(&history, velocity.as_ref(), Utc::now());
        let notes = &mut h.assumptions;
        cap(&mut h.open_bugs, "open_bugs", notes);
        cap(&mut h.overdue, "overdue", notes);
        cap(&mut h.wip, "wip", notes);
        cap(&mut h.stale_in_progress, "stale_in_progress", notes);
        cap(&mut h.blocked, "blocked", notes);
        Ok(Charted {
            value: h,
            png: None,
        })
    }

    /// Cumulative flow over the last `days` days: items in to do, in progress and done at the end
    /// of each day, from their status history. Also a PNG unless chart is false.
    #[tool(
        name = "cfd_chart",
        output_schema = schema_for_output::<analytics::Cfd>(),
        annotations(
            title = "Cumulative flow",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn cfd_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<FlowArgs>,
    ) -> Result<Charted<analytics::Cfd>, ToolError> {
        let (history, from, to, notes) = self.flow_items(&p, &a).await?;
        let mut value = analytics::cfd(&history, from, to);
        value.assumptions.splice(0..0, notes);
        let png = png(a.chart, || pm_charts::cfd_png(&value));
        Ok(Charted { value, png })
    }

    /// Cycle time of the items finished in the last `days` days: from first in progress to done,
    /// with p50/p85/p95 and outliers. Also a PNG unless chart is false.
    #[tool(
        name = "cycle_time_chart",
        output_schema = schema_for_output::<analytics::CycleTime>(),
        annotations(
            title = "Cycle time",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn cycle_time_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<FlowArgs>,
    ) -> Result<Charted<analytics::CycleTime>, ToolError> {
        let (history, from, to, notes) = self.flow_items(&p, &a).await?;
        let mut value = analytics::cycle_time(&history, from, to);
        value.assumptions.splice(0..0, notes);
        let png = png(a.chart, || pm_charts::cycle_time_png(&value));
        let notes = &mut value.assumptions;
        cap(&mut value.items, "items", notes);
        cap(
            &mut value.done_without_in_progress,
            "done_without_in_progress",
            notes,
        );
        Ok(Charted { value, png })
    }

    /// How work is spread: a sprint's items, or a project's open and recent items, by assignee,
    /// status, priority or type. Also a PNG unless chart is false.
    #[tool(
        name = "work_distribution_chart",
        output_schema = schema_for_output::<analytics::Distribution>(),
        annotations(
            title = "Work distribution",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn work_distribution_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<DistributionArgs>,
    ) -> Result<Charted<analytics::Distribution>, ToolError> {
        let history = match (&a.sprint_id, &a.project_id) {
            // With both, the sprint is the project's (its current one, a name, or an id).
            (Some(s), project) => {
                let (sprint, history) = self
                    .sprint_and_history(&p, Some(s), project.as_deref())
                    .await?;
                members_now(history, &sprint.id)
            }
            (None, Some(project)) => self.project_items(&p, project, 30).await?.2,
            (None, None) => {
                return Err(ToolError::new(
                    "give sprint_id (a sprint's items) or project_id (a project's items)".into(),
                ));
            }
        };
        let value = analytics::work_distribution(
            &history,
            a.by.unwrap_or(GroupBy::Assignee),
            a.metric.unwrap_or(Metric::TaskCount),
        );
        let png = png(a.chart, || pm_charts::distribution_png(&value));
        Ok(Charted { value, png })
    }

    /// Created vs resolved per day over the last `days` days, and the open backlog it leaves.
    /// Also a PNG unless chart is false.
    #[tool(
        name = "issue_trend_chart",
        output_schema = schema_for_output::<analytics::IssueTrend>(),
        annotations(
            title = "Created vs resolved",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn issue_trend_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<WindowArgs>,
    ) -> Result<Charted<analytics::IssueTrend>, ToolError> {
        let d = days(a.days, 30)?;
        let (_, _, history) = self.project_items(&p, &a.project_id, d).await?;
        let (from, to) = window(d);
        let value = analytics::issue_trend(&history, from, to);
        let png = png(a.chart, || pm_charts::issue_trend_png(&value));
        Ok(Charted { value, png })
    }

    /// Demand vs capacity per week and person ahead: the remaining estimates of open items
    /// against each person's hours (40 a week unless given). Also a PNG unless chart is false.
    #[tool(
        name = "capacity_chart",
        output_schema = schema_for_output::<analytics::Capacity>(),
        annotations(
            title = "Capacity",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn capacity_chart(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CapacityArgs>,
    ) -> Result<Charted<analytics::Capacity>, ToolError> {
        let weeks = a.weeks.unwrap_or(4);
        if weeks == 0 || weeks > MAX_WEEKS {
            return Err(ToolError::new(format!(
                "weeks must be between 1 and {MAX_WEEKS}"
            )));
        }
        let hours = a.hours_per_week.unwrap_or(40.0);
        if !(hours.is_finite() && (0.0..=168.0).contains(&hours)) {
            return Err(ToolError::new(
                "hours_per_week must be between 0 and 168".into(),
            ));
        }
        let mut per_person = std::collections::BTreeMap::new();
        for (user, h) in a.capacity.unwrap_or_default() {
            if !(h.is_finite() && (0.0..=168.0).contains(&h)) {
                return Err(ToolError::new(format!(
                    "capacity for {user} must be between 0 and 168 hours"
                )));
            }
            // People in results are qualified ids; a bare id names one on this connection.
            per_person.insert(user, h);
        }
        let (tracker, _, history) = self.project_items(&p, &a.project_id, 30).await?;
        let per_person = per_person
            .into_iter()
            .map(|(user, h)| match QualifiedId::parse(&user) {
                Ok(id) if id.connection.is_some() => (id.to_string(), h),
                _ => (tracker.qualified(user), h),
            })
            .collect();
        let config = CapacityConfig {
            default_hours_per_week: hours,
            per_person,
        };
        let value = analytics::capacity(&history, &config, Utc::now().date_naive(), weeks);
        let png = png(a.chart, || pm_charts::capacity_png(&value));
        Ok(Charted { value, png })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_and_say_so() {
        let mut notes = Vec::new();
        let mut short: Vec<u32> = (0..100).collect();
        cap(&mut short, "planned", &mut notes);
        assert_eq!((short.len(), notes.len()), (100, 0));
        let mut long: Vec<u32> = (0..250).collect();
        cap(&mut long, "planned", &mut notes);
        assert_eq!(long.len(), 100);
        assert_eq!(
            notes,
            ["planned lists the first 100 of 250 items; the totals count them all"]
        );
    }

    #[test]
    fn a_sprints_window_runs_from_its_start_to_today_or_its_completion() {
        let at = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .map(|t| t.and_utc())
        };
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("day");
        let today = day(2026, 12, 7);
        let mut s = Sprint {
            id: "7".into(),
            name: "Sprint 7".into(),
            state: SprintState::Active,
            goal: None,
            start_date: at(2026, 11, 16),
            end_date: at(2026, 11, 30),
            completed_at: None,
            board_id: None,
            notes: Vec::new(),
        };
        // Active past its planned end: up to today.
        assert_eq!(sprint_window(&s, today), Some((day(2026, 11, 16), today)));
        s.state = SprintState::Closed;
        s.completed_at = at(2026, 12, 1);
        assert_eq!(
            sprint_window(&s, today),
            Some((day(2026, 11, 16), day(2026, 12, 1)))
        );
        s.state = SprintState::Future;
        s.start_date = at(2026, 12, 20);
        assert_eq!(sprint_window(&s, today), None);
        s.start_date = at(2020, 1, 1);
        s.state = SprintState::Active;
        let (from, to) = sprint_window(&s, today).expect("window");
        assert_eq!(((to - from).num_days(), to), (364, today), "at most a year");
    }

    #[test]
    fn a_sprints_distribution_and_flow_keep_only_its_items_now() {
        let item = |id: &str, moves: &[(bool, i64)]| pm_core::ItemHistory {
            id: id.into(),
            title: id.into(),
            task_type: None,
            priority: None,
            assignee: None,
            created_at: None,
            due_date: None,
            blocked: false,
            status: pm_core::Status {
                name: "To Do".into(),
                category: pm_core::StatusCategory::Todo,
            },
            points: None,
            estimate_seconds: None,
            status_changes: Vec::new(),
            sprint_moves: moves
                .iter()
                .map(|(added, day)| pm_core::SprintMove {
                    at: chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default(),
                    sprint_id: "7".into(),
                    added: *added,
                })
                .collect(),
            points_changes: Vec::new(),
            estimate_changes: Vec::new(),
        };
        let h = History {
            items: vec![
                item("EX-1", &[]),
                item("EX-6", &[(true, 2)]),
                item("EX-7", &[(true, 0), (false, 2)]),
                item("EX-8", &[(false, 1), (true, 3)]),
            ],
            source: pm_core::HistorySource {
                history: "test".into(),
                points_field: None,
                sprint_moves_known: true,
                estimate_changes_known: true,
            },
        };
        let kept: Vec<String> = members_now(h, "7")
            .items
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(kept, ["EX-1", "EX-6", "EX-8"]);
    }

    #[test]
    fn windows_and_days_are_checked() {
        assert_eq!(days(None, 30).unwrap(), 30);
        assert!(days(Some(0), 30).is_err());
        assert!(days(Some(366), 30).is_err());
        let (from, to) = window(7);
        assert_eq!((to - from).num_days(), 6);
    }
}
