//! Small hand-computed examples for every analytics computation. Each expected number below is
//! worked out by hand in the comment next to it.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::{Sprint, SprintState, Status, StatusCategory, User};
use crate::history::{
    EstimateChange, History, HistorySource, ItemHistory, SprintMove, StatusChange,
};

/// 2025-03-`d` `h`:00 UTC.
fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap()
}
fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, d).unwrap()
}
fn st(name: &str, category: StatusCategory) -> Status {
    Status {
        name: name.into(),
        category,
    }
}
fn todo() -> Status {
    st("To Do", StatusCategory::Todo)
}
fn prog() -> Status {
    st("In Progress", StatusCategory::InProgress)
}
fn done() -> Status {
    st("Done", StatusCategory::Done)
}
fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        email: None,
        active: true,
    }
}

/// An item created 2025-03-01 00:00, to do, no estimate, no history.
fn item(id: &str) -> ItemHistory {
    ItemHistory {
        id: id.into(),
        title: format!("Item {id}"),
        task_type: None,
        priority: None,
        assignee: None,
        created_at: Some(t(1, 0)),
        due_date: None,
        status: todo(),
        points: None,
        estimate_seconds: None,
        blocked: false,
        status_changes: Vec::new(),
        sprint_moves: Vec::new(),
        points_changes: Vec::new(),
        estimate_changes: Vec::new(),
    }
}

/// Appends a status change and sets the current status to its target.
fn mv(mut i: ItemHistory, at: DateTime<Utc>, to: Status) -> ItemHistory {
    let from = i
        .status_changes
        .last()
        .map(|c| c.to.clone())
        .unwrap_or_else(|| i.status.clone());
    i.status_changes.push(StatusChange {
        at,
        from: Some(from),
        to: to.clone(),
    });
    i.status = to;
    i
}
fn pts(mut i: ItemHistory, p: f64) -> ItemHistory {
    i.points = Some(p);
    i
}
fn sprint_move(mut i: ItemHistory, at: DateTime<Utc>, added: bool) -> ItemHistory {
    i.sprint_moves.push(SprintMove {
        at,
        sprint_id: "S1".into(),
        added,
    });
    i
}
fn typed(mut i: ItemHistory, ty: &str) -> ItemHistory {
    i.task_type = Some(ty.into());
    i
}

fn source(moves_known: bool) -> HistorySource {
    HistorySource {
        history: "test changelog".into(),
        points_field: Some("customfield_10016".into()),
        sprint_moves_known: moves_known,
        estimate_changes_known: true,
    }
}

/// Sprint S1: Monday 2025-03-03 09:00 to Friday 2025-03-07 17:00, closed at 18:00.
fn sprint() -> Sprint {
    Sprint {
        id: "S1".into(),
        name: "Sprint 1".into(),
        state: SprintState::Closed,
        goal: Some("Ship it".into()),
        start_date: Some(t(3, 9)),
        end_date: Some(t(7, 17)),
        completed_at: Some(t(7, 18)),
        board_id: None,
        notes: Vec::new(),
    }
}

/// The main sprint scenario:
/// - A 3 pts, story: in progress 03-03 10:00, done 03-04 12:00.
/// - B 5 pts, bug: done 03-05 10:00, reopened (in progress) 03-06 09:00, never done again.
/// - C 2 pts, story: added to the sprint 03-04 09:00, done 03-06 15:00.
/// - D 8 pts: removed from the sprint 03-05 12:00.
/// - E no points, task, blocked: to do throughout.
/// - F story, 1 pt re-estimated to 3 on 03-04 14:00, done 03-07 16:00.
fn scenario() -> History {
    let a = typed(pts(item("A"), 3.0), "Story");
    let a = mv(mv(a, t(3, 10), prog()), t(4, 12), done());
    let b = typed(pts(item("B"), 5.0), "Bug");
    let b = mv(mv(b, t(5, 10), done()), t(6, 9), prog());
    let c = typed(pts(item("C"), 2.0), "Story");
    let c = mv(sprint_move(c, t(4, 9), true), t(6, 15), done());
    let d = sprint_move(pts(item("D"), 8.0), t(5, 12), false);
    let mut e = typed(item("E"), "Task");
    e.blocked = true;
    let mut f = typed(pts(item("F"), 3.0), "Story");
    f.points_changes.push(EstimateChange {
        at: t(4, 14),
        from: Some(1.0),
        to: Some(3.0),
    });
    let f = mv(f, t(7, 16), done());
    History {
        items: vec![a, b, c, d, e, f],
        source: source(true),
    }
}

fn now() -> DateTime<Utc> {
    t(20, 12)
}

fn has(assumptions: &[String], needle: &str) -> bool {
    assumptions.iter().any(|a| a.contains(needle))
}

// ---------------------------------------------------------------- burndown

#[test]
fn burndown_story_points_with_added_removed_reestimated_and_reopened() {
    let b = burndown(&sprint(), &scenario(), Metric::StoryPoints, now());
    // At the start: A3 + B5 + D8 + E0 + F1 (before its re-estimate) = 17.
    assert_eq!(b.committed, 17.0);
    // At the end: A3 + B5 + C2 + E0 + F3 = 13 (D left); done A3 + C2 + F3 = 8 (B reopened).
    assert_eq!((b.scope, b.completed, b.remaining), (13.0, 8.0, 5.0));
    assert_eq!((b.added, b.removed, b.re_estimated), (2.0, 8.0, 2.0));
    type Row = (NaiveDate, Option<f64>, Option<f64>, Option<f64>, f64);
    let rows: Vec<Row> = b
        .days
        .iter()
        .map(|d| (d.date, d.scope, d.completed, d.remaining, d.ideal))
        .collect();
    assert_eq!(
        rows,
        vec![
            // 03-03: nothing done yet.
            (day(3), Some(17.0), Some(0.0), Some(17.0), 17.0),
            // 03-04: C joins (+2), F 1 → 3 (+2); A done.
            (day(4), Some(21.0), Some(3.0), Some(18.0), 12.75),
            // 03-05: D leaves (−8); B done too.
            (day(5), Some(13.0), Some(8.0), Some(5.0), 8.5),
            // 03-06: B reopened, C done.
            (day(6), Some(13.0), Some(5.0), Some(8.0), 4.25),
            // 03-07: F done at 16:00, before the 18:00 close.
            (day(7), Some(13.0), Some(8.0), Some(5.0), 0.0),
        ]
    );
    let changes: Vec<(DateTime<Utc>, &str, ScopeChangeKind, f64)> = b
        .scope_changes
        .iter()
        .map(|c| (c.at, c.item_id.as_str(), c.change, c.delta))
        .collect();
    assert_eq!(
        changes,
        vec![
            (t(4, 9), "C", ScopeChangeKind::Added, 2.0),
            (t(4, 14), "F", ScopeChangeKind::ReEstimated, 2.0),
            (t(5, 12), "D", ScopeChangeKind::Removed, -8.0),
        ]
    );
    assert_eq!(b.items_without_estimate, vec!["E".to_string()]);
    assert!(has(&b.assumptions, "customfield_10016"));
    assert!(has(&b.assumptions, "status category is done"));
    assert!(has(
        &b.assumptions,
        "1 item had no story-point estimate and counted as 0 (E)"
    ));
    assert_eq!(b.start, Some(t(3, 9)));
    assert_eq!(b.as_of, Some(t(7, 18)));
}

#[test]
fn burndown_task_count() {
    let b = burndown(&sprint(), &scenario(), Metric::TaskCount, now());
    // Start: A B D E F = 5. End: A B C E F = 5, done A C F = 3.
    assert_eq!(
        (b.committed, b.scope, b.completed, b.remaining),
        (5.0, 5.0, 3.0, 2.0)
    );
    let remaining: Vec<Option<f64>> = b.days.iter().map(|d| d.remaining).collect();
    // 03-03 5−0; 03-04 6−1; 03-05 5−2 (A, B); 03-06 5−2 (A, C); 03-07 5−3.
    assert_eq!(
        remaining,
        vec![Some(5.0), Some(5.0), Some(3.0), Some(3.0), Some(2.0)]
    );
    // Task count has no re-estimates and no unestimated items.
    assert_eq!(b.re_estimated, 0.0);
    assert!(b.items_without_estimate.is_empty());
    assert_eq!((b.added, b.removed), (1.0, 1.0));
}

#[test]
fn burndown_hours_with_reestimate() {
    // 1 h estimate raised to 2 h mid-sprint; a second item of 30 min, done.
    let mut x = item("X");
    x.estimate_seconds = Some(7200);
    x.estimate_changes.push(EstimateChange {
        at: t(5, 9),
        from: Some(3600.0),
        to: Some(7200.0),
    });
    let mut y = item("Y");
    y.estimate_seconds = Some(1800);
    let y = mv(y, t(4, 9), done());
    let h = History {
        items: vec![x, y],
        source: source(true),
    };
    let b = burndown(&sprint(), &h, Metric::Hours, now());
    assert_eq!(b.committed, 1.5); // 1 + 0.5
    assert_eq!((b.scope, b.completed, b.remaining), (2.5, 0.5, 2.0));
    assert_eq!(b.re_estimated, 1.0);
    assert_eq!(b.unit, "hours");
    assert!(has(&b.assumptions, "original time estimate"));
}

#[test]
fn burndown_empty_sprint() {
    let h = History {
        items: vec![],
        source: source(true),
    };
    let b = burndown(&sprint(), &h, Metric::StoryPoints, now());
    assert_eq!(b.days.len(), 5);
    assert!(
        b.days
            .iter()
            .all(|d| d.scope == Some(0.0) && d.remaining == Some(0.0))
    );
    assert_eq!((b.committed, b.scope, b.completed), (0.0, 0.0, 0.0));
    assert!(b.scope_changes.is_empty());
    assert!(has(&b.assumptions, "no items"));
}

#[test]
fn burndown_active_sprint_stops_at_now() {
    let mut s = sprint();
    s.state = SprintState::Active;
    s.completed_at = None;
    let b = burndown(&s, &scenario(), Metric::StoryPoints, t(5, 11));
    assert_eq!(b.as_of, Some(t(5, 11)));
    // Days up to the planned end are listed; only those reached have figures.
    assert_eq!(b.days.len(), 5);
    assert_eq!(b.days[2].date, day(5));
    // 03-05 at 11:00: D not removed yet (12:00): scope 21, done A3 + B5 = 8.
    assert_eq!(
        (b.days[2].scope, b.days[2].completed),
        (Some(21.0), Some(8.0))
    );
    assert_eq!(b.days[3].scope, None);
    assert_eq!(b.days[4].remaining, None);
    assert_eq!(b.days[4].ideal, 0.0);
}

#[test]
fn burndown_sprint_without_dates_uses_first_move() {
    let mut s = sprint();
    s.state = SprintState::Active;
    s.start_date = None;
    s.end_date = None;
    s.completed_at = None;
    let a = sprint_move(pts(item("A"), 2.0), t(2, 10), true);
    let b = mv(pts(item("B"), 3.0), t(3, 12), done());
    let h = History {
        items: vec![a, b],
        source: source(true),
    };
    let bd = burndown(&s, &h, Metric::StoryPoints, t(4, 12));
    assert_eq!(bd.start, Some(t(2, 10)));
    assert!(has(&bd.assumptions, "no start date"));
    assert!(has(&bd.assumptions, "no planned end date"));
    // 03-02 .. 03-04, ideal over 2 days ending on the as-of day.
    let rows: Vec<(NaiveDate, Option<f64>, f64)> = bd
        .days
        .iter()
        .map(|d| (d.date, d.remaining, d.ideal))
        .collect();
    assert_eq!(
        rows,
        vec![
            (day(2), Some(5.0), 5.0),
            (day(3), Some(2.0), 2.5),
            (day(4), Some(2.0), 0.0)
        ]
    );
}

#[test]
fn burndown_sprint_without_any_date_is_explained_and_empty() {
    let mut s = sprint();
    s.start_date = None;
    s.end_date = None;
    s.completed_at = None;
    let mut i = item("A");
    i.created_at = None;
    let h = History {
        items: vec![i],
        source: source(true),
    };
    let b = burndown(&s, &h, Metric::StoryPoints, now());
    assert_eq!(b.start, None);
    assert!(b.days.is_empty());
    assert!(has(&b.assumptions, "no timeline to compute"));
}

#[test]
fn burndown_moves_unknown_item_created_mid_sprint_counts_as_added() {
    // Without recorded sprint moves, items are in the sprint since its start, or since
    // created when later.
    let old = pts(item("OLD"), 3.0);
    let mut new = pts(item("NEW"), 2.0);
    new.created_at = Some(t(5, 10));
    let h = History {
        items: vec![old, new],
        source: source(false),
    };
    let b = burndown(&sprint(), &h, Metric::StoryPoints, now());
    assert_eq!(b.committed, 3.0);
    assert_eq!(b.scope, 5.0);
    assert_eq!(b.scope_changes.len(), 1);
    assert_eq!(b.scope_changes[0].at, t(5, 10));
    assert_eq!(b.scope_changes[0].change, ScopeChangeKind::Added);
    assert!(has(&b.assumptions, "does not record sprint moves"));
}

#[test]
fn unsorted_changes_give_the_same_results() {
    let sorted = scenario();
    let mut shuffled = scenario();
    for i in &mut shuffled.items {
        i.status_changes.reverse();
        i.sprint_moves.reverse();
        i.points_changes.reverse();
    }
    // B has two changes, so reversing really reorders something.
    assert_ne!(
        sorted.items[1].status_changes,
        shuffled.items[1].status_changes
    );
    assert_eq!(
        burndown(&sprint(), &sorted, Metric::StoryPoints, now()),
        burndown(&sprint(), &shuffled, Metric::StoryPoints, now())
    );
    assert_eq!(
        sprint_report(&sprint(), &sorted, Metric::StoryPoints, now()),
        sprint_report(&sprint(), &shuffled, Metric::StoryPoints, now())
    );
    assert_eq!(
        cycle_time(&sorted, day(1), day(31)),
        cycle_time(&shuffled, day(1), day(31))
    );
}

// ---------------------------------------------------------------- sprint report

#[test]
fn sprint_report_scenario() {
    let r = sprint_report(&sprint(), &scenario(), Metric::StoryPoints, now());
    let ids = |v: &[ReportItem]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&r.planned), ["A", "B", "D", "E", "F"]);
    assert_eq!(ids(&r.completed), ["A", "C", "F"]);
    assert_eq!(ids(&r.not_completed), ["B", "E"]);
    assert_eq!(ids(&r.added_after_start), ["C"]);
    assert_eq!(ids(&r.removed_after_start), ["D"]);
    assert_eq!(ids(&r.blocked), ["E"]);
    assert!(r.carried_over);
    // Planned at start values: 3 + 5 + 8 + 0 + 1 = 17.
    assert_eq!(r.planned_value, 17.0);
    assert_eq!(r.completed_value, 8.0);
    assert_eq!(r.not_completed_value, 5.0);
    assert_eq!(r.added_value, 2.0);
    assert_eq!(r.removed_value, 8.0);
    // Planned and done at the end: A3 + F3 (its size now) = 6; 6 / 17 = 0.35.
    assert_eq!(r.planned_completed_value, 6.0);
    assert_eq!(r.planned_completion_rate, Some(0.35));
    // 8 / 13 = 0.615…
    assert_eq!(r.completion_rate, Some(0.62));
    assert_eq!(r.added_after_start[0].at, Some(t(4, 9)));
    assert_eq!(r.removed_after_start[0].at, Some(t(5, 12)));
    // B's status at the end is its reopened status.
    assert_eq!(r.not_completed[0].status, "In Progress");
    let by_type: Vec<(String, usize, usize, f64, f64)> = r
        .by_type
        .iter()
        .map(|b| {
            (
                b.key.clone(),
                b.items,
                b.completed_items,
                b.value,
                b.completed_value,
            )
        })
        .collect();
    assert_eq!(
        by_type,
        vec![
            ("Story".to_string(), 3, 3, 8.0, 8.0),
            ("Bug".to_string(), 1, 0, 5.0, 0.0),
            ("Task".to_string(), 1, 0, 0.0, 0.0),
        ]
    );
    assert_eq!(r.by_assignee.len(), 1);
    assert_eq!(r.by_assignee[0].key, "Unassigned");
    assert_eq!(r.items_without_estimate, vec!["E".to_string()]);
    assert!(has(&r.assumptions, "carried over"));
}

#[test]
fn item_added_then_removed_mid_sprint() {
    let g = pts(item("G"), 4.0);
    let g = sprint_move(sprint_move(g, t(4, 10), true), t(6, 10), false);
    let h = History {
        items: vec![pts(item("K"), 1.0), g],
        source: source(true),
    };
    let r = sprint_report(&sprint(), &h, Metric::StoryPoints, now());
    assert_eq!(r.added_after_start.len(), 1);
    assert_eq!(r.removed_after_start.len(), 1);
    assert_eq!(r.removed_after_start[0].at, Some(t(6, 10)));
    assert_eq!(r.not_completed.len(), 1);
    assert_eq!((r.added_value, r.removed_value), (4.0, 4.0));
    let b = burndown(&sprint(), &h, Metric::StoryPoints, now());
    let deltas: Vec<f64> = b.scope_changes.iter().map(|c| c.delta).collect();
    assert_eq!(deltas, vec![4.0, -4.0]);
    // 03-03: 1; 03-04 and 03-05: 5; 03-06 on: 1.
    let scope: Vec<Option<f64>> = b.days.iter().map(|d| d.scope).collect();
    assert_eq!(
        scope,
        vec![Some(1.0), Some(5.0), Some(5.0), Some(1.0), Some(1.0)]
    );
}

#[test]
fn sprint_report_without_dates_says_so() {
    let mut s = sprint();
    s.start_date = None;
    let h = History {
        items: vec![mv(pts(item("A"), 2.0), t(2, 9), done())],
        source: source(true),
    };
    let r = sprint_report(&s, &h, Metric::StoryPoints, now());
    // The earliest creation (03-01 00:00) stands in for the start.
    assert_eq!(r.start, Some(t(1, 0)));
    assert_eq!(r.planned.len(), 1);
    assert_eq!(r.completed_value, 2.0);
    assert!(has(&r.assumptions, "earliest creation date"));
}

#[test]
fn sprint_report_empty_sprint() {
    let h = History::default();
    let r = sprint_report(&sprint(), &h, Metric::TaskCount, now());
    assert!(r.planned.is_empty() && r.completed.is_empty());
    assert_eq!(r.completion_rate, None);
    assert_eq!(r.planned_completion_rate, None);
    assert!(has(&r.assumptions, "no items"));
}

// ---------------------------------------------------------------- velocity

/// A closed sprint of 03-`d`..03-`d+4` with one done item of `done_pts` and one open item of 2.
fn velocity_sprint(n: u32, done_pts: f64) -> (Sprint, History) {
    let d = 1 + (n - 1) * 7;
    let s = Sprint {
        id: format!("V{n}"),
        name: format!("V{n}"),
        state: SprintState::Closed,
        goal: None,
        start_date: Some(t(d, 9)),
        end_date: Some(t(d + 4, 17)),
        completed_at: Some(t(d + 4, 17)),
        board_id: None,
        notes: Vec::new(),
    };
    let mut x = mv(pts(item(&format!("X{n}")), done_pts), t(d + 1, 12), done());
    x.created_at = Some(t(1, 0));
    let y = pts(item(&format!("Y{n}")), 2.0);
    (
        s,
        History {
            items: vec![x, y],
            source: source(true),
        },
    )
}

#[test]
fn velocity_rising_with_open_sprint_not_counted() {
    let mut sprints = vec![
        velocity_sprint(1, 10.0),
        velocity_sprint(2, 20.0),
        velocity_sprint(3, 30.0),
    ];
    let mut open = velocity_sprint(4, 1.0);
    open.0.state = SprintState::Active;
    open.0.completed_at = None;
    sprints.push(open);
    let v = velocity(&sprints, Metric::StoryPoints);
    let rows: Vec<(f64, f64, Option<f64>, bool)> = v
        .sprints
        .iter()
        .map(|s| (s.committed, s.completed, s.completion_rate, s.counted))
        .collect();
    assert_eq!(
        rows,
        vec![
            (12.0, 10.0, Some(0.83)),
            (22.0, 20.0, Some(0.91)),
            (32.0, 30.0, Some(0.94)),
            (3.0, 1.0, Some(0.33)),
        ]
        .into_iter()
        .zip([true, true, true, false])
        .map(|((a, b, c), d)| (a, b, c, d))
        .collect::<Vec<_>>()
    );
    assert_eq!(v.mean_completed, Some(20.0));
    assert_eq!(v.mean_committed, Some(22.0));
    assert_eq!(v.trend_slope, Some(10.0));
    assert_eq!(v.trend, Trend::Rising);
}

#[test]
fn velocity_steady_falling_and_insufficient() {
    let v = velocity(
        &[
            velocity_sprint(1, 10.0),
            velocity_sprint(2, 10.4),
            velocity_sprint(3, 9.8),
        ],
        Metric::StoryPoints,
    );
    // Slope = ((−1)(10 − 10.067) + 0 + (1)(9.8 − 10.067)) / 2 = −0.1, within 5% of 10.07.
    assert_eq!(v.trend_slope, Some(-0.1));
    assert_eq!(v.trend, Trend::Steady);
    let v = velocity(
        &[
            velocity_sprint(1, 30.0),
            velocity_sprint(2, 20.0),
            velocity_sprint(3, 10.0),
        ],
        Metric::StoryPoints,
    );
    assert_eq!(v.trend, Trend::Falling);
    assert_eq!(v.trend_slope, Some(-10.0));
    let v = velocity(&[velocity_sprint(1, 5.0)], Metric::StoryPoints);
    assert_eq!(v.trend, Trend::InsufficientData);
    assert_eq!(v.mean_completed, Some(5.0));
    let v = velocity(&[], Metric::TaskCount);
    assert!(v.sprints.is_empty());
    assert_eq!(v.mean_completed, None);
    assert_eq!(v.trend, Trend::InsufficientData);
}

#[test]
fn velocity_orders_sprints_by_start() {
    let forward = velocity(
        &[
            velocity_sprint(1, 10.0),
            velocity_sprint(2, 20.0),
            velocity_sprint(3, 30.0),
        ],
        Metric::StoryPoints,
    );
    let backward = velocity(
        &[
            velocity_sprint(3, 30.0),
            velocity_sprint(2, 20.0),
            velocity_sprint(1, 10.0),
        ],
        Metric::StoryPoints,
    );
    assert_eq!(forward, backward);
    assert_eq!(backward.sprints[0].sprint_id, "V1");
    assert_eq!(backward.trend, Trend::Rising);
}

#[test]
fn velocity_uses_history_not_current_state() {
    // Done during the sprint, reopened after it closed: still completed in that sprint.
    let (s, mut h) = velocity_sprint(1, 4.0);
    h.items[0] = mv(h.items[0].clone(), t(10, 9), prog());
    let v = velocity(&[(s, h)], Metric::StoryPoints);
    assert_eq!(v.sprints[0].completed, 4.0);
}

// ---------------------------------------------------------------- project health

fn health_history() -> History {
    let ann = user("ann", "Ann");
    let mut i1 = typed(item("1"), "Bug");
    i1.assignee = Some(ann.clone());
    i1.due_date = Some(day(10));
    let i1 = mv(i1, t(1, 10), prog());
    let i2 = typed(item("2"), "Production bug");
    let i3 = mv(typed(pts(item("3"), 5.0), "Story"), t(5, 9), done());
    let mut i4 = typed(pts(item("4"), 3.0), "Story");
    i4.due_date = Some(day(25));
    i4.blocked = true;
    let i5 = mv(typed(item("5"), "Task"), t(15, 9), prog());
    let mut i6 = item("6");
    i6.created_at = Some(t(25, 0));
    History {
        items: vec![i1, i2, i3, i4, i5, i6],
        source: source(true),
    }
}

#[test]
fn project_health_counts_and_flags() {
    let h = project_health(&health_history(), None, now());
    assert_eq!((h.total_items, h.done_items, h.open_items), (5, 1, 4));
    assert_eq!(h.progress, Some(0.2));
    assert_eq!(
        (h.points_total, h.points_done, h.points_progress),
        (8.0, 5.0, Some(0.63))
    );
    let ids = |v: &[HealthItem]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&h.open_bugs), ["1", "2"]);
    assert_eq!(ids(&h.overdue), ["1"]);
    assert_eq!(h.overdue[0].days, Some(10));
    assert_eq!(ids(&h.wip), ["1", "5"]);
    assert_eq!(ids(&h.stale_in_progress), ["1"]);
    assert_eq!(h.stale_in_progress[0].days, Some(19));
    assert_eq!(ids(&h.blocked), ["4"]);
    assert_eq!(
        h.wip_by_assignee,
        vec![
            WipCount {
                assignee: "Ann".into(),
                count: 1
            },
            WipCount {
                assignee: "Unassigned".into(),
                count: 1
            },
        ]
    );
    let flags: Vec<(&str, Severity)> = h
        .risk_flags
        .iter()
        .map(|f| (f.code.as_str(), f.severity))
        .collect();
    assert_eq!(
        flags,
        vec![
            // 1 of 4 open = 25% > 20%.
            ("overdue_items", Severity::High),
            ("stale_in_progress", Severity::Medium),
            ("blocked_items", Severity::Medium),
            // 2 of 4 open = 50% > 25%.
            ("bug_heavy", Severity::Medium),
            ("unassigned_in_progress", Severity::Low),
        ]
    );
    assert_eq!(h.rating, HealthRating::Critical);
    assert!(h.risk_flags[0].reason.contains("1 of 4 open items"));
    assert!(has(&h.assumptions, "1 item created after"));
    assert!(has(&h.assumptions, "No velocity was given"));
}

#[test]
fn project_health_with_falling_velocity_and_empty_project() {
    let v = velocity(
        &[
            velocity_sprint(1, 30.0),
            velocity_sprint(2, 20.0),
            velocity_sprint(3, 10.0),
        ],
        Metric::StoryPoints,
    );
    let h = project_health(&History::default(), Some(&v), now());
    assert_eq!(h.total_items, 0);
    assert_eq!(h.progress, None);
    assert_eq!(h.velocity_trend, Some(Trend::Falling));
    assert_eq!(h.velocity_mean, Some(20.0));
    assert_eq!(h.risk_flags.len(), 1);
    assert_eq!(h.risk_flags[0].code, "velocity_falling");
    assert!(h.risk_flags[0].reason.contains("falling by 10"));
    assert_eq!(h.rating, HealthRating::AtRisk);
}

// ---------------------------------------------------------------- flow

/// P: created 03-01 08:00, in progress 03-02 10:00, done 03-04 10:00.
/// Q: created 03-02 12:00, to do.
/// R: created 03-01 00:00, done 03-03 09:00, reopened (in progress) 03-05 09:00.
/// S: created 03-10 (after the window).
fn flow_history() -> History {
    let mut p = item("P");
    p.created_at = Some(t(1, 8));
    let p = mv(mv(p, t(2, 10), prog()), t(4, 10), done());
    let mut q = item("Q");
    q.created_at = Some(t(2, 12));
    let r = mv(mv(item("R"), t(3, 9), done()), t(5, 9), prog());
    let mut s = item("S");
    s.created_at = Some(t(10, 0));
    History {
        items: vec![p, q, r, s],
        source: source(true),
    }
}

#[test]
fn cfd_counts_per_day_with_reopen_and_late_items() {
    let c = cfd(&flow_history(), day(1), day(5));
    let rows: Vec<(usize, usize, usize)> = c
        .days
        .iter()
        .map(|d| (d.todo, d.in_progress, d.done))
        .collect();
    assert_eq!(
        rows,
        vec![(2, 0, 0), (2, 1, 0), (1, 1, 1), (1, 0, 2), (1, 1, 1)]
    );
    assert_eq!(c.items, 3);
    assert!(has(
        &c.assumptions,
        "1 item created after 2025-03-05 is left out"
    ));
    let empty = cfd(&flow_history(), day(5), day(1));
    assert!(empty.days.is_empty());
    assert!(has(&empty.assumptions, "window is empty"));
}

#[test]
fn cfd_item_without_changes_is_in_its_current_status_since_created() {
    let mut d = item("D");
    d.status = done();
    d.created_at = Some(t(2, 12));
    let mut u = item("U");
    u.created_at = None;
    let c = cfd(
        &History {
            items: vec![d, u],
            source: source(true),
        },
        day(1),
        day(2),
    );
    let rows: Vec<(usize, usize, usize)> = c
        .days
        .iter()
        .map(|d| (d.todo, d.in_progress, d.done))
        .collect();
    assert_eq!(rows, vec![(1, 0, 0), (1, 0, 1)]);
    assert!(has(&c.assumptions, "no creation date"));
}

#[test]
fn issue_trend_created_resolved_reopened_backlog() {
    let tr = issue_trend(&flow_history(), day(1), day(5));
    let rows: Vec<(usize, usize, usize, i64, usize)> = tr
        .days
        .iter()
        .map(|d| (d.created, d.resolved, d.reopened, d.net, d.open_backlog))
        .collect();
    assert_eq!(
        rows,
        vec![
            (2, 0, 0, 2, 2),  // P, R created
            (1, 0, 0, 1, 3),  // Q created
            (0, 1, 0, -1, 2), // R done
            (0, 1, 0, -1, 1), // P done
            (0, 0, 1, 1, 2),  // R reopened
        ]
    );
    assert_eq!(tr.backlog_start, 0);
    assert_eq!(tr.backlog_end, 2);
    assert_eq!(
        (tr.total_created, tr.total_resolved, tr.total_reopened),
        (3, 2, 1)
    );
}

#[test]
fn issue_trend_backlog_follows_net() {
    // Whatever the mix, yesterday's backlog plus today's net is today's backlog.
    let mut h = scenario();
    h.items.extend(flow_history().items);
    let mut created_done = item("CD");
    created_done.status = done();
    created_done.created_at = Some(t(4, 8));
    h.items.push(created_done);
    let tr = issue_trend(&h, day(2), day(12));
    let mut backlog = tr.backlog_start as i64;
    for d in &tr.days {
        backlog += d.net;
        assert_eq!(backlog, d.open_backlog as i64, "on {}", d.date);
    }
}

#[test]
fn cycle_time_percentiles_outliers_and_separate_lists() {
    let c = |id: &str, start: DateTime<Utc>, end: DateTime<Utc>| {
        mv(mv(item(id), start, prog()), end, done())
    };
    let mut items = vec![
        c("c1", t(1, 0), t(2, 0)),
        c("c2", t(1, 0), t(3, 0)),
        c("c3", t(1, 0), t(4, 0)),
        c("c4", t(1, 0), t(5, 0)),
        c("c5", t(1, 0), t(21, 0)),
        // Straight to done: listed separately.
        mv(item("c6"), t(5, 0), done()),
        // Reopened and finished again: first in progress 03-01 to last done 03-06 = 5 days.
        mv(
            mv(
                mv(c("c7", t(1, 0), t(2, 0)), t(3, 0), todo()),
                t(4, 0),
                prog(),
            ),
            t(6, 0),
            done(),
        ),
        // Done before the window.
        {
            let mut i = c("c8", t(1, 0), t(1, 12));
            i.created_at = Some(Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap());
            i
        },
        // Done in the window, then reopened: not done at the end.
        mv(c("c9", t(2, 0), t(3, 0)), t(4, 0), prog()),
    ];
    items[7].status_changes[0].at = Utc.with_ymd_and_hms(2025, 2, 10, 0, 0, 0).unwrap();
    items[7].status_changes[1].at = Utc.with_ymd_and_hms(2025, 2, 20, 0, 0, 0).unwrap();
    let ct = cycle_time(
        &History {
            items,
            source: source(true),
        },
        day(1),
        day(31),
    );
    let mut days: Vec<(String, f64)> = ct.items.iter().map(|i| (i.id.clone(), i.days)).collect();
    days.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(
        days,
        vec![
            ("c1".to_string(), 1.0),
            ("c2".to_string(), 2.0),
            ("c3".to_string(), 3.0),
            ("c4".to_string(), 4.0),
            ("c7".to_string(), 5.0),
            ("c5".to_string(), 20.0),
        ]
    );
    assert_eq!(ct.count, 6);
    // Nearest rank over [1, 2, 3, 4, 5, 20]: p50 rank 3 → 3; p85 rank ⌈5.1⌉ = 6 → 20; p95 → 20.
    assert_eq!(
        (ct.p50, ct.p85, ct.p95),
        (Some(3.0), Some(20.0), Some(20.0))
    );
    // 35 / 6
    assert_eq!(ct.mean, Some(5.83));
    // Q1 rank ⌈1.5⌉ = 2 → 2; Q3 rank ⌈4.5⌉ = 5 → 5; 5 + 1.5 × 3 = 9.5.
    assert_eq!(ct.outlier_threshold, Some(9.5));
    assert_eq!(ct.outliers, vec!["c5".to_string()]);
    assert!(ct.items.iter().any(|i| i.id == "c5" && i.outlier));
    assert_eq!(ct.done_without_in_progress.len(), 1);
    assert_eq!(ct.done_without_in_progress[0].id, "c6");
    assert!(has(&ct.assumptions, "nearest-rank"));
    assert!(has(&ct.assumptions, "Q3 + 1.5 × IQR"));
}

#[test]
fn cycle_time_small_and_empty() {
    let one = mv(mv(item("a"), t(1, 0), prog()), t(1, 12), done());
    let ct = cycle_time(
        &History {
            items: vec![one],
            source: source(true),
        },
        day(1),
        day(2),
    );
    assert_eq!(
        (ct.p50, ct.p85, ct.p95, ct.mean),
        (Some(0.5), Some(0.5), Some(0.5), Some(0.5))
    );
    // Too few for the outlier rule.
    assert_eq!(ct.outlier_threshold, None);
    let empty = cycle_time(&History::default(), day(1), day(2));
    assert_eq!((empty.count, empty.p50, empty.mean), (0, None, None));
}

#[test]
fn nearest_rank_method() {
    let v = [15.0, 20.0, 35.0, 40.0, 50.0];
    // The textbook example: p30 → rank 2 → 20, p40 → 2 → 20, p50 → 3 → 35, p100 → 50.
    assert_eq!(flow::nearest_rank(&v, 30.0), Some(20.0));
    assert_eq!(flow::nearest_rank(&v, 40.0), Some(20.0));
    assert_eq!(flow::nearest_rank(&v, 50.0), Some(35.0));
    assert_eq!(flow::nearest_rank(&v, 100.0), Some(50.0));
    assert_eq!(flow::nearest_rank(&v, 0.0), Some(15.0));
    assert_eq!(flow::nearest_rank(&[], 50.0), None);
}

// ---------------------------------------------------------------- distribution

fn dist_history() -> History {
    let mut a1 = pts(item("a1"), 3.0);
    a1.assignee = Some(user("ann", "Ann"));
    a1.priority = Some("High".into());
    let mut a2 = pts(item("a2"), 5.0);
    a2.assignee = Some(user("ann", "Ann"));
    a2.status = done();
    let mut b1 = pts(item("b1"), 2.0);
    b1.assignee = Some(user("bob", "Bob"));
    b1.priority = Some("High".into());
    let u1 = item("u1");
    History {
        items: vec![a1, a2, b1, u1],
        source: source(true),
    }
}

#[test]
fn distribution_by_assignee_points_and_count() {
    let d = work_distribution(&dist_history(), GroupBy::Assignee, Metric::StoryPoints);
    let rows: Vec<(String, usize, usize, f64, f64)> = d
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.count, g.open_count, g.value, g.share))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Ann".to_string(), 2, 1, 8.0, 0.8),
            ("Bob".to_string(), 1, 1, 2.0, 0.2),
            ("Unassigned".to_string(), 1, 1, 0.0, 0.0),
        ]
    );
    assert_eq!((d.total_count, d.total_value), (4, 10.0));
    assert_eq!(d.items_without_estimate, vec!["u1".to_string()]);
    let d = work_distribution(&dist_history(), GroupBy::Priority, Metric::TaskCount);
    let rows: Vec<(String, usize, f64)> = d
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.count, g.share))
        .collect();
    assert_eq!(
        rows,
        vec![("High".to_string(), 2, 0.5), ("None".to_string(), 2, 0.5)]
    );
    let empty = work_distribution(&History::default(), GroupBy::Type, Metric::Hours);
    assert!(empty.groups.is_empty());
    assert_eq!(empty.total_value, 0.0);
}

// ---------------------------------------------------------------- capacity

#[test]
fn capacity_per_week_and_person() {
    let ann = user("ann", "Ann");
    let bob = user("bob", "Bob");
    let with = |id: &str, who: Option<&User>, hours: Option<i64>, due: Option<NaiveDate>| {
        let mut i = item(id);
        i.assignee = who.cloned();
        i.estimate_seconds = hours.map(|h| h * 3600);
        i.due_date = due;
        i
    };
    let mut done_item = with("d1", Some(&ann), Some(100), Some(day(5)));
    done_item.status = done();
    let h = History {
        items: vec![
            with("a1", Some(&ann), Some(8), Some(day(5))),
            with("a2", Some(&ann), Some(6), Some(day(1))), // overdue → first week
            with("a3", Some(&ann), Some(4), None),         // spread: 2 + 2
            with("b1", Some(&bob), Some(10), Some(day(12))),
            with("b2", Some(&bob), None, Some(day(12))), // no estimate
            with("u1", None, Some(5), Some(day(11))),
            with(
                "l1",
                Some(&ann),
                Some(3),
                NaiveDate::from_ymd_opt(2025, 4, 1),
            ), // after the horizon
            done_item,
        ],
        source: source(true),
    };
    let config = CapacityConfig {
        default_hours_per_week: 10.0,
        per_person: BTreeMap::from([("bob".to_string(), 20.0), ("carol".to_string(), 30.0)]),
    };
    // 2025-03-05 is a Wednesday: weeks start Monday 03-03 (W10) and 03-10 (W11).
    let c = capacity(&h, &config, day(5), 2);
    assert_eq!(c.from, day(3));
    let weeks: Vec<(String, f64, f64, f64)> = c
        .weeks
        .iter()
        .map(|w| {
            (
                w.week.clone(),
                w.total_demand_hours,
                w.total_capacity_hours,
                w.unassigned_demand_hours,
            )
        })
        .collect();
    assert_eq!(
        weeks,
        vec![
            ("2025-W10".to_string(), 16.0, 60.0, 0.0),
            ("2025-W11".to_string(), 17.0, 60.0, 5.0),
        ]
    );
    let w10: Vec<(&str, f64, f64, bool)> = c.weeks[0]
        .people
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.demand_hours,
                p.capacity_hours,
                p.over_allocated,
            )
        })
        .collect();
    assert_eq!(
        w10,
        vec![
            ("Ann", 16.0, 10.0, true),
            ("Bob", 0.0, 20.0, false),
            ("carol", 0.0, 30.0, false)
        ]
    );
    let w11: Vec<(&str, f64)> = c.weeks[1]
        .people
        .iter()
        .map(|p| (p.name.as_str(), p.demand_hours))
        .collect();
    assert_eq!(w11, vec![("Ann", 2.0), ("Bob", 10.0), ("carol", 0.0)]);
    assert_eq!(c.over_allocations.len(), 1);
    let o = &c.over_allocations[0];
    assert_eq!(
        (o.week.as_str(), o.person_id.as_str(), o.excess_hours),
        ("2025-W10", "ann", 6.0)
    );
    let people: Vec<(&str, f64, f64, Option<f64>)> = c
        .people
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.demand_hours,
                p.capacity_hours,
                p.utilisation,
            )
        })
        .collect();
    assert_eq!(
        people,
        vec![
            ("ann", 18.0, 20.0, Some(0.9)),
            ("bob", 10.0, 40.0, Some(0.25)),
            ("carol", 0.0, 60.0, Some(0.0)),
        ]
    );
    assert_eq!(c.items_without_estimate, vec!["b2".to_string()]);
    assert!(has(&c.assumptions, "items due before the first week (1)"));
    assert!(has(
        &c.assumptions,
        "items due after the last week (1, 3 h)"
    ));
    assert!(has(
        &c.assumptions,
        "items without a due date (1) are spread evenly over the 2 weeks"
    ));
}

#[test]
fn capacity_zero_weeks_and_bad_config() {
    let config = CapacityConfig {
        default_hours_per_week: f64::NAN,
        per_person: BTreeMap::new(),
    };
    let c = capacity(&History::default(), &config, day(5), 0);
    assert!(c.weeks.is_empty());
    assert!(has(&c.assumptions, "No weeks"));
    assert!(has(&c.assumptions, "taken as 0"));
}

#[test]
fn results_serialize_with_assumptions() {
    let b = burndown(&sprint(), &scenario(), Metric::StoryPoints, now());
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["metric"], "story_points");
    assert_eq!(v["scope_changes"][2]["change"], "removed");
    assert!(v["assumptions"].as_array().is_some_and(|a| !a.is_empty()));
    let m: Metric = serde_json::from_str("\"task_count\"").unwrap();
    assert_eq!(m, Metric::TaskCount);
    let g: GroupBy = serde_json::from_str("\"assignee\"").unwrap();
    assert_eq!(g, GroupBy::Assignee);
    let cfg: CapacityConfig = serde_json::from_str(r#"{"default_hours_per_week": 32}"#).unwrap();
    assert_eq!(cfg.default_hours_per_week, 32.0);
    // Every result type has a JSON schema.
    let s = schemars::schema_for!(Burndown);
    assert!(serde_json::to_string(&s).unwrap().contains("scope_changes"));
}

// ---------------------------------------------------------------- defaults and signs

#[test]
fn the_default_metric_is_one_the_items_have() {
    let (m, note) = default_metric([&scenario()]);
    assert_eq!(m, Metric::StoryPoints);
    assert!(note.contains("story points"), "{note}");
    let plain = History {
        items: vec![item("A"), mv(item("B"), t(4, 9), done())],
        source: source(true),
    };
    let (m, note) = default_metric([&plain]);
    assert_eq!(m, Metric::TaskCount);
    assert!(note.contains("task count"), "{note}");
    // Points only in the history (cleared since) still count as a tracker with points.
    let mut cleared = item("C");
    cleared.points_changes.push(EstimateChange {
        at: t(4, 9),
        from: Some(2.0),
        to: None,
    });
    let h = History {
        items: vec![cleared],
        source: source(true),
    };
    assert_eq!(default_metric([&plain, &h]).0, Metric::StoryPoints);
    assert_eq!(default_metric([]).0, Metric::TaskCount);
}

#[test]
fn no_figure_is_a_negative_zero() {
    // An empty sprint: every sum is over nothing (Rust's float sum of nothing is -0.0).
    let empty = History {
        items: vec![],
        source: source(true),
    };
    for metric in [Metric::StoryPoints, Metric::TaskCount, Metric::Hours] {
        let r = sprint_report(&sprint(), &empty, metric, now());
        let b = burndown(&sprint(), &empty, metric, now());
        let text = format!(
            "{}{}",
            serde_json::to_string(&r).unwrap_or_default(),
            serde_json::to_string(&b).unwrap_or_default()
        );
        assert!(
            !text.contains("-0.0") && !text.contains(":-0,") && !text.contains(":-0}"),
            "{text}"
        );
        assert!(r.removed_value.is_sign_positive() && b.removed.is_sign_positive());
    }
    // Capacity and distribution of nothing, and of items without estimates.
    let config = CapacityConfig {
        default_hours_per_week: 40.0,
        per_person: BTreeMap::new(),
    };
    let mut unestimated = item("U");
    unestimated.assignee = Some(user("u1", "Uma"));
    let some = History {
        items: vec![unestimated],
        source: source(true),
    };
    for h in [&empty, &some] {
        let c = capacity(h, &config, day(5), 2);
        let d = work_distribution(h, GroupBy::Assignee, Metric::Hours);
        let text = format!(
            "{}{}",
            serde_json::to_string(&c).unwrap_or_default(),
            serde_json::to_string(&d).unwrap_or_default()
        );
        for neg in ["-0.0", ":-0", "(-0", " -0 "] {
            assert!(!text.contains(neg), "{neg}: {text}");
        }
    }
    // And a scenario where items leave: removed is a positive number.
    let b = burndown(&sprint(), &scenario(), Metric::StoryPoints, now());
    assert!(b.removed > 0.0);
    assert_eq!(round2(-0.001), 0.0);
    assert!(round2(-0.001).is_sign_positive());
}

#[test]
fn an_unknown_start_after_the_end_is_said() {
    // No start date; the planned end is 03-07; the only item joined on 03-10.
    let mut s = sprint();
    s.start_date = None;
    s.state = SprintState::Active;
    s.completed_at = None;
    let late = sprint_move(pts(item("L"), 2.0), t(10, 9), true);
    let h = History {
        items: vec![late],
        source: source(true),
    };
    let r = sprint_report(&s, &h, Metric::StoryPoints, now());
    assert!(
        has(&r.assumptions, "real start is unknown"),
        "{:?}",
        r.assumptions
    );
    let b = burndown(&s, &h, Metric::StoryPoints, now());
    assert!(
        has(&b.assumptions, "real start is unknown"),
        "{:?}",
        b.assumptions
    );
    // A known start is never second-guessed.
    let known = sprint_report(&sprint(), &h, Metric::StoryPoints, now());
    assert!(!has(&known.assumptions, "real start is unknown"));
}
