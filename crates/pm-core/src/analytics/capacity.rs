//! Demand against capacity per ISO week and person: the estimated hours of open work falling
//! in each week against the hours each person has.
use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::round2;
use crate::domain::StatusCategory;
use crate::history::History;

/// Longest horizon, in weeks; longer requests are cut and say so.
pub const MAX_WEEKS: u32 = 104;

/// Hours each person can work per week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CapacityConfig {
    /// Hours per week for anyone not listed in `per_person`.
    pub default_hours_per_week: f64,
    /// Hours per week by user id (the tracker's user id).
    #[serde(default)]
    pub per_person: BTreeMap<String, f64>,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        Self {
            default_hours_per_week: 40.0,
            per_person: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PersonWeek {
    pub person_id: String,
    pub name: String,
    pub demand_hours: f64,
    pub capacity_hours: f64,
    /// `demand / capacity`, when capacity is above 0.
    pub utilisation: Option<f64>,
    pub over_allocated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CapacityWeek {
    /// ISO week, e.g. "2025-W03".
    pub week: String,
    /// Its Monday.
    pub start: NaiveDate,
    /// One row per person, in the order of `Capacity::people`.
    pub people: Vec<PersonWeek>,
    /// Demand of open items without an assignee.
    pub unassigned_demand_hours: f64,
    pub total_demand_hours: f64,
    pub total_capacity_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CapacityPerson {
    pub id: String,
    pub name: String,
    pub hours_per_week: f64,
    /// Over the whole horizon.
    pub demand_hours: f64,
    pub capacity_hours: f64,
    pub utilisation: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OverAllocation {
    pub week: String,
    pub person_id: String,
    pub name: String,
    pub demand_hours: f64,
    pub capacity_hours: f64,
    pub excess_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Capacity {
    /// Monday of the first week.
    pub from: NaiveDate,
    pub weeks: Vec<CapacityWeek>,
    /// Everyone with demand in the horizon or a configured capacity, by name.
    pub people: Vec<CapacityPerson>,
    pub over_allocations: Vec<OverAllocation>,
    /// Open items without a time estimate (counted as 0 hours).
    pub items_without_estimate: Vec<String>,
    pub assumptions: Vec<String>,
}

fn iso_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn sane_hours(h: f64) -> f64 {
    if h.is_finite() && h > 0.0 { h } else { 0.0 }
}

pub fn capacity(
    history: &History,
    config: &CapacityConfig,
    from: NaiveDate,
    weeks: u32,
) -> Capacity {
    let mut assumptions = Vec::new();
    let monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let n_weeks = weeks.min(MAX_WEEKS) as usize;
    if weeks > MAX_WEEKS {
        assumptions.push(format!(
            "{weeks} weeks were asked for; only the first {MAX_WEEKS} are computed."
        ));
    }
    let horizon_end = monday + Duration::weeks(n_weeks as i64); // exclusive
    // demand[person key][week] and names; "" is the unassigned bucket.
    let mut demand: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut missing = Vec::new();
    let (mut overdue, mut later, mut spread) = (0usize, 0usize, 0usize);
    let mut later_hours = 0.0;
    for item in history
        .items
        .iter()
        .filter(|i| i.status.category != StatusCategory::Done)
    {
        let hours = match item.estimate_seconds {
            Some(s) if s > 0 => s as f64 / 3600.0,
            Some(_) => 0.0,
            None => {
                missing.push(item.id.clone());
                0.0
            }
        };
        if n_weeks == 0 {
            continue;
        }
        let key = match &item.assignee {
            Some(u) => {
                names.entry(u.id.clone()).or_insert_with(|| u.name.clone());
                u.id.clone()
            }
            None => String::new(),
        };
        let mut add = |row: &mut Vec<f64>| match item.due_date {
            Some(d) if d < monday => {
                overdue += 1;
                row[0] += hours;
            }
            Some(d) if d >= horizon_end => {
                later += 1;
                later_hours += hours;
            }
            Some(d) => {
                let w = ((d - monday).num_days() / 7) as usize;
                if let Some(x) = row.get_mut(w) {
                    *x += hours;
                }
            }
            None => {
                spread += 1;
                let share = hours / n_weeks as f64;
                row.iter_mut().for_each(|x| *x += share);
            }
        };
        add(demand.entry(key).or_insert_with(|| vec![0.0; n_weeks]));
    }
    for id in config.per_person.keys() {
        names.entry(id.clone()).or_insert_with(|| id.clone());
    }
    let hours_for = |id: &str| {
        sane_hours(
            config
                .per_person
                .get(id)
                .copied()
                .unwrap_or(config.default_hours_per_week),
        )
    };
    // People: everyone with an assignment or a configured capacity, by name.
    let mut people: Vec<(String, String)> = names.into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let zero = vec![0.0; n_weeks];
    let unassigned = demand.get("").unwrap_or(&zero);
    let mut out_weeks = Vec::with_capacity(n_weeks);
    let mut over = Vec::new();
    for w in 0..n_weeks {
        let start = monday + Duration::weeks(w as i64);
        let label = iso_label(start);
        let mut rows = Vec::with_capacity(people.len());
        for (id, name) in &people {
            let d = demand.get(id).map_or(0.0, |v| v[w]);
            let c = hours_for(id);
            let is_over = d > c + 1e-9;
            if is_over {
                over.push(OverAllocation {
                    week: label.clone(),
                    person_id: id.clone(),
                    name: name.clone(),
                    demand_hours: round2(d),
                    capacity_hours: round2(c),
                    excess_hours: round2(d - c),
                });
            }
            rows.push(PersonWeek {
                person_id: id.clone(),
                name: name.clone(),
                demand_hours: round2(d),
                capacity_hours: round2(c),
                utilisation: (c > 0.0).then(|| round2(d / c)),
                over_allocated: is_over,
            });
        }
        let un = unassigned[w];
        out_weeks.push(CapacityWeek {
            week: label,
            start,
            total_demand_hours: round2(rows.iter().map(|r| r.demand_hours).sum::<f64>() + un),
            total_capacity_hours: round2(rows.iter().map(|r| r.capacity_hours).sum()),
            unassigned_demand_hours: round2(un),
            people: rows,
        });
    }
    let people_out = people
        .iter()
        .map(|(id, name)| {
            let d: f64 = demand.get(id).map_or(0.0, |v| v.iter().sum());
            let c = hours_for(id) * n_weeks as f64;
            CapacityPerson {
                id: id.clone(),
                name: name.clone(),
                hours_per_week: hours_for(id),
                demand_hours: round2(d),
                capacity_hours: round2(c),
                utilisation: (c > 0.0).then(|| round2(d / c)),
            }
        })
        .collect();

    assumptions.push("Demand is the time estimate (original estimate, in hours) of every item not done now; trackers give no remaining estimate here, so work already spent is not subtracted.".to_string());
    assumptions.push(format!(
        "An item counts in the ISO week (Monday to Sunday) of its due date; items due before the first week ({overdue}) count in the first week; items due after the last week ({later}, {} h) are left out; items without a due date ({spread}) are spread evenly over the {n_weeks} week{}.",
        round2(later_hours),
        if n_weeks == 1 { "" } else { "s" }
    ));
    assumptions.push(format!(
        "Capacity is {} h per week per person unless configured for that person ({} configured); over-allocated means demand above capacity in that week. Unassigned demand is shown per week, not given to anyone.",
        round2(sane_hours(config.default_hours_per_week)),
        config.per_person.len()
    ));
    if !missing.is_empty() {
        assumptions.push(format!(
            "{} open item{} had no time estimate and counted as 0 hours.",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        ));
    }
    if !config.default_hours_per_week.is_finite()
        || config.default_hours_per_week < 0.0
        || config
            .per_person
            .values()
            .any(|h| !h.is_finite() || *h < 0.0)
    {
        assumptions.push("Negative or non-numeric capacities were taken as 0.".to_string());
    }
    if n_weeks == 0 {
        assumptions.push("No weeks were asked for.".to_string());
    }
    Capacity {
        from: monday,
        weeks: out_weeks,
        people: people_out,
        over_allocations: over,
        items_without_estimate: missing,
        assumptions,
    }
}
