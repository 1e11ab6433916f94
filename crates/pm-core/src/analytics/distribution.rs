//! How work is spread: items grouped by assignee, status, priority or type, with counts, size
//! and share.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::timeline::Timeline;
use super::{GroupBy, Metric, metric_assumption, round2, unestimated_assumption};
use crate::domain::StatusCategory;
use crate::history::History;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DistributionGroup {
    pub key: String,
    pub count: usize,
    /// Items in the group not done now.
    pub open_count: usize,
    /// Size in the metric (equal to `count` for task count).
    pub value: f64,
    /// `value / total_value` (0 to 1).
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Distribution {
    pub by: GroupBy,
    pub metric: Metric,
    pub unit: String,
    /// Largest value first, then by key.
    pub groups: Vec<DistributionGroup>,
    pub total_count: usize,
    pub total_value: f64,
    pub items_without_estimate: Vec<String>,
    pub assumptions: Vec<String>,
}

pub fn work_distribution(history: &History, by: GroupBy, metric: Metric) -> Distribution {
    let mut map: BTreeMap<String, (usize, usize, f64)> = BTreeMap::new();
    let mut missing = Vec::new();
    for item in &history.items {
        let key = match by {
            GroupBy::Assignee => item
                .assignee
                .as_ref()
                .map_or_else(|| "Unassigned".to_string(), |u| u.name.clone()),
            GroupBy::Status => item.status.name.clone(),
            GroupBy::Priority => item.priority.clone().unwrap_or_else(|| "None".to_string()),
            GroupBy::Type => item.task_type.clone().unwrap_or_else(|| "None".to_string()),
        };
        // Current values: the timeline at the far future is the item as it is now.
        let v = Timeline::new(item).value_at(metric, chrono::DateTime::<chrono::Utc>::MAX_UTC);
        if v.is_none() && metric != Metric::TaskCount {
            missing.push(item.id.clone());
        }
        let e = map.entry(key).or_default();
        e.0 += 1;
        if item.status.category != StatusCategory::Done {
            e.1 += 1;
        }
        e.2 += v.unwrap_or(0.0);
    }
    let total_value: f64 = map.values().map(|e| e.2).sum();
    let mut groups: Vec<DistributionGroup> = map
        .into_iter()
        .map(|(key, (count, open_count, value))| DistributionGroup {
            key,
            count,
            open_count,
            value: round2(value),
            share: if total_value > 0.0 {
                round2(value / total_value)
            } else {
                0.0
            },
        })
        .collect();
    groups.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut assumptions = vec![
        metric_assumption(metric, &history.source),
        format!(
            "Grouped by {} as it is now, over all {} items given (done ones included; open_count excludes them).",
            match by {
                GroupBy::Assignee => "current assignee (\"Unassigned\" for none)",
                GroupBy::Status => "current status",
                GroupBy::Priority => "priority (\"None\" for none)",
                GroupBy::Type => "type (\"None\" for none)",
            },
            history.items.len()
        ),
    ];
    assumptions.extend(unestimated_assumption(metric, &missing));
    if history.items.is_empty() {
        assumptions.push("There are no items.".to_string());
    }
    Distribution {
        by,
        metric,
        unit: metric.unit().to_string(),
        groups,
        total_count: history.items.len(),
        total_value: round2(total_value),
        items_without_estimate: missing,
        assumptions,
    }
}
