//! Realistic sample inputs for the charts: synthetic tracker history, deterministic (a small
//! linear congruential generator, no randomness from outside), run through the real analytics.
#![allow(dead_code)]
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use pm_core::analytics::*;
use pm_core::domain::{Sprint, SprintState, Status, StatusCategory, User};
use pm_core::history::{History, HistorySource, ItemHistory, SprintMove, StatusChange};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn st(name: &str, category: StatusCategory) -> Status {
    Status {
        name: name.into(),
        category,
    }
}

pub fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap()
}

fn people() -> Vec<User> {
    [
        "Ann Example",
        "Bob Builder",
        "Chen Li",
        "Dana Okafor",
        "Eve Martin",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| User {
        id: format!("u{i}"),
        name: (*n).into(),
        email: None,
        active: true,
    })
    .collect()
}

/// `n` items created from `start` on, each moving to do → in progress → done at random
/// times (some never finish, a few are reopened), assigned to one of five people.
pub fn history(seed: u64, n: usize, start: DateTime<Utc>, days: i64, sprint_id: &str) -> History {
    let mut r = Lcg(seed);
    let people = people();
    let types = ["Story", "Bug", "Task", "Story", "Story"];
    let prios = ["High", "Medium", "Medium", "Low"];
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        // Most items exist before the window starts; some arrive during it.
        let created = if r.below(10) < 7 {
            start - Duration::hours(1 + r.below(72) as i64)
        } else {
            start + Duration::hours(r.below((days as u64) * 18) as i64)
        };
        let mut at = created;
        let mut status = st("To Do", StatusCategory::Todo);
        let mut changes = Vec::new();
        let step = |to: Status,
                    at: DateTime<Utc>,
                    status: &mut Status,
                    changes: &mut Vec<StatusChange>| {
            changes.push(StatusChange {
                at,
                from: Some(status.clone()),
                to: to.clone(),
            });
            *status = to;
        };
        if r.below(10) < 8 {
            at += Duration::hours(2 + r.below(72) as i64);
            step(
                st("In Progress", StatusCategory::InProgress),
                at,
                &mut status,
                &mut changes,
            );
            if r.below(10) < 7 {
                at += Duration::hours(4 + r.below(24 * 6) as i64);
                step(
                    st("Done", StatusCategory::Done),
                    at,
                    &mut status,
                    &mut changes,
                );
                if r.below(12) == 0 {
                    at += Duration::hours(5 + r.below(48) as i64);
                    step(
                        st("In Progress", StatusCategory::InProgress),
                        at,
                        &mut status,
                        &mut changes,
                    );
                }
            }
        } else if r.below(3) == 0 {
            at += Duration::hours(1 + r.below(96) as i64);
            step(
                st("Done", StatusCategory::Done),
                at,
                &mut status,
                &mut changes,
            );
        }
        let mut moves = Vec::new();
        if r.below(8) == 0 {
            moves.push(SprintMove {
                at: start + Duration::hours(20 + r.below(100) as i64),
                sprint_id: sprint_id.into(),
                added: true,
            });
        } else if r.below(15) == 0 {
            moves.push(SprintMove {
                at: start + Duration::hours(30 + r.below(100) as i64),
                sprint_id: sprint_id.into(),
                added: false,
            });
        }
        let points = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0][r.below(6) as usize];
        items.push(ItemHistory {
            id: format!("PROJ-{}", 100 + i),
            title: format!("Sample item {i}"),
            task_type: Some(types[r.below(5) as usize].into()),
            priority: Some(prios[r.below(4) as usize].into()),
            assignee: (r.below(7) != 0).then(|| people[r.below(5) as usize].clone()),
            created_at: Some(created),
            due_date: Some((start + Duration::days(r.below(30) as i64)).date_naive()),
            status,
            points: (r.below(9) != 0).then_some(points),
            estimate_seconds: (r.below(6) != 0).then(|| (1 + r.below(16) as i64) * 3600),
            blocked: r.below(15) == 0,
            status_changes: changes,
            sprint_moves: moves,
            points_changes: Vec::new(),
            estimate_changes: Vec::new(),
        });
    }
    History {
        items,
        source: HistorySource {
            history: "sample changelog".into(),
            points_field: Some("customfield_10016".into()),
            sprint_moves_known: true,
            estimate_changes_known: true,
        },
    }
}

pub fn sprint(n: i64) -> Sprint {
    let start = base() + Duration::weeks(2 * n);
    Sprint {
        id: format!("S{n}"),
        name: format!("Sprint {}", 20 + n),
        state: SprintState::Closed,
        goal: None,
        start_date: Some(start),
        end_date: Some(start + Duration::days(11) + Duration::hours(8)),
        completed_at: Some(start + Duration::days(11) + Duration::hours(9)),
        board_id: None,
        notes: Vec::new(),
    }
}

pub fn now() -> DateTime<Utc> {
    base() + Duration::days(40)
}

pub fn burndown_sample() -> Burndown {
    burndown(
        &sprint(0),
        &history(7, 30, base(), 12, "S0"),
        Metric::StoryPoints,
        now(),
    )
}

pub fn velocity_sample() -> Velocity {
    let sprints: Vec<(Sprint, History)> = (0..6)
        .map(|k| {
            let s = sprint(k);
            let h = history(
                100 + k as u64,
                18 + 3 * k as usize,
                s.start_date.unwrap_or_else(base),
                12,
                &s.id,
            );
            (s, h)
        })
        .collect();
    velocity(&sprints, Metric::StoryPoints)
}

fn window() -> (NaiveDate, NaiveDate) {
    (
        base().date_naive(),
        (base() + Duration::days(29)).date_naive(),
    )
}

pub fn flow_history() -> History {
    history(42, 120, base(), 30, "S0")
}

pub fn cfd_sample() -> Cfd {
    let (f, t) = window();
    cfd(&flow_history(), f, t)
}

pub fn cycle_sample() -> CycleTime {
    let (f, t) = window();
    cycle_time(&flow_history(), f, t)
}

pub fn trend_sample() -> IssueTrend {
    let (f, t) = window();
    issue_trend(&flow_history(), f, t)
}

pub fn distribution_sample() -> Distribution {
    work_distribution(&flow_history(), GroupBy::Assignee, Metric::StoryPoints)
}

pub fn capacity_sample() -> Capacity {
    let mut cfg = CapacityConfig {
        default_hours_per_week: 30.0,
        ..Default::default()
    };
    cfg.per_person.insert("u1".into(), 16.0);
    capacity(&flow_history(), &cfg, base().date_naive(), 4)
}

pub fn capacity_one_week_sample() -> Capacity {
    let cfg = CapacityConfig {
        default_hours_per_week: 20.0,
        ..Default::default()
    };
    capacity(&flow_history(), &cfg, base().date_naive(), 1)
}
