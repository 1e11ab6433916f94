//! Work charts: distribution of work and demand against capacity.
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use pm_core::analytics::{Capacity, Distribution, GroupBy, Metric};

use crate::common::*;
use crate::sprint::{capitalised, value_label};
use crate::{ChartError, draw_err, render};

/// Most groups a distribution chart shows; the rest are summed into "Other".
pub const MAX_BARS: usize = 12;

/// Work distribution: one horizontal bar per group, largest on top, with its share.
pub fn distribution_png(d: &Distribution) -> Result<Vec<u8>, ChartError> {
    let by = match d.by {
        GroupBy::Assignee => "assignee",
        GroupBy::Status => "status",
        GroupBy::Priority => "priority",
        GroupBy::Type => "type",
    };
    let title = format!("Work by {by} ({})", d.unit);
    let unit = capitalised(&d.unit);
    render(|root| {
        if d.groups.is_empty() {
            return no_data(root, &title, &unit, by, "No data: no items");
        }
        let value = |g: &pm_core::analytics::DistributionGroup| {
            if d.metric == Metric::TaskCount {
                g.count as f64
            } else {
                g.value
            }
        };
        let mut bars: Vec<(String, f64, f64)> = d
            .groups
            .iter()
            .take(MAX_BARS)
            .map(|g| (shorten(&g.key, 18), value(g), g.share))
            .collect();
        if d.groups.len() > MAX_BARS {
            let rest = &d.groups[MAX_BARS..];
            bars.push((
                format!("Other ({})", rest.len()),
                rest.iter().map(value).sum(),
                rest.iter().map(|g| g.share).sum(),
            ));
        }
        let m = bars.len();
        // Largest on top: the first bar gets the highest y.
        let labels: Vec<String> = bars.iter().rev().map(|b| b.0.clone()).collect();
        let max = bars.iter().map(|b| b.1).fold(0.0, f64::max);
        let area = titled(root, &title)?;
        let (plot, legend) = with_legend(&area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d(0f64..headroom(max) * 1.08, -0.6f64..(m as f64 - 0.4))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(m)
            .y_label_formatter(&|y| index_label(&labels, *y))
            .x_label_formatter(&|x| num(*x))
            .x_desc(unit.as_str())
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        let h = 0.35;
        for (i, (_, v, share)) in bars.iter().enumerate() {
            let y = (m - 1 - i) as f64;
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series([Rectangle::new([(0.0, y - h), (*v, y + h)], color.filled())])
                .map_err(draw_err)?;
            chart
                .draw_series([Text::new(
                    format!(" {} ({:.0}%)", num(*v), share * 100.0),
                    (*v, y),
                    font(12).pos(Pos::new(HPos::Left, VPos::Center)),
                )])
                .map_err(draw_err)?;
        }
        let notes = vec![
            format!("Items: {}", d.total_count),
            format!("Total: {} {}", num(d.total_value), short_unit(d.metric)),
            format!("Groups: {}", d.groups.len()),
            if d.items_without_estimate.is_empty() {
                String::new()
            } else {
                format!("Unestimated: {}", d.items_without_estimate.len())
            },
        ];
        draw_legend(&legend, &[], &notes)
    })
}

fn short_unit(m: Metric) -> &'static str {
    match m {
        Metric::StoryPoints => "pts",
        Metric::TaskCount => "items",
        Metric::Hours => "h",
    }
}

/// Most people drawn with their own colour; the rest share one.
const MAX_PEOPLE: usize = 7;

/// Demand against capacity: per week, demand stacked by person beside the team's capacity;
/// for a single week, demand beside capacity per person.
pub fn capacity_png(c: &Capacity) -> Result<Vec<u8>, ChartError> {
    let title = if c.weeks.len() == 1 {
        format!("Demand vs capacity, week {}", c.weeks[0].week)
    } else {
        format!("Demand vs capacity per week from {}", c.from)
    };
    render(|root| {
        if c.weeks.is_empty() {
            return no_data(root, &title, "Week", "Hours", "No data: no weeks");
        }
        if c.weeks.len() == 1 {
            per_person(root, c, &title)
        } else {
            per_week(root, c, &title)
        }
    })
}

fn over_notes(c: &Capacity) -> Vec<String> {
    let mut notes = Vec::new();
    if c.over_allocations.is_empty() {
        notes.push("No one over capacity".to_string());
    } else {
        notes.push(format!("Over capacity: {}", c.over_allocations.len()));
        for o in c.over_allocations.iter().take(6) {
            let week = o.week.split('-').nth(1).unwrap_or(&o.week);
            notes.push(format!(
                "{} {week} +{}h",
                shorten(&o.name, 11),
                num(o.excess_hours)
            ));
        }
        if c.over_allocations.len() > 6 {
            notes.push("…".to_string());
        }
    }
    notes
}

fn per_week(root: &crate::Area<'_>, c: &Capacity, title: &str) -> Result<(), ChartError> {
    let n = c.weeks.len();
    let labels: Vec<String> = c
        .weeks
        .iter()
        .map(|w| w.week.split('-').nth(1).unwrap_or(&w.week).to_string())
        .collect();
    let max = c
        .weeks
        .iter()
        .flat_map(|w| [w.total_demand_hours, w.total_capacity_hours])
        .fold(0.0, f64::max);
    let area = titled(root, title)?;
    let (plot, legend) = with_legend(&area);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.6f64..(n as f64 - 0.4), 0f64..headroom(max))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(label_count(n, 48))
        .x_label_formatter(&|x| index_label(&labels, *x))
        .y_label_formatter(&|y| num(*y))
        .x_desc("ISO week")
        .y_desc("Hours")
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .light_line_style(MESH_LIGHT)
        .bold_line_style(MESH_BOLD)
        .draw()
        .map_err(draw_err)?;
    let w = 0.38;
    let people = c.people.len();
    for (i, week) in c.weeks.iter().enumerate() {
        let x = i as f64;
        let mut base = 0.0;
        let mut rects = Vec::new();
        for (k, p) in week.people.iter().enumerate() {
            if p.demand_hours <= 0.0 {
                continue;
            }
            let color = if k < MAX_PEOPLE {
                PALETTE[k % PALETTE.len()]
            } else {
                C_GREY
            };
            rects.push(Rectangle::new(
                [(x - w, base), (x, base + p.demand_hours)],
                color.filled(),
            ));
            base += p.demand_hours;
        }
        if week.unassigned_demand_hours > 0.0 {
            rects.push(Rectangle::new(
                [(x - w, base), (x, base + week.unassigned_demand_hours)],
                LIGHT_GREY.filled(),
            ));
        }
        rects.push(Rectangle::new(
            [(x, 0.0), (x + w, week.total_capacity_hours)],
            RGBColor(90, 90, 90).filled(),
        ));
        chart.draw_series(rects).map_err(draw_err)?;
        if week.total_demand_hours > week.total_capacity_hours {
            chart
                .draw_series([Text::new(
                    "!".to_string(),
                    (x - w / 2.0, week.total_demand_hours),
                    value_label().color(&C_RED),
                )])
                .map_err(draw_err)?;
        }
    }
    let mut entries: Vec<(String, Key)> = c
        .people
        .iter()
        .take(MAX_PEOPLE)
        .enumerate()
        .map(|(k, p)| (p.name.clone(), Key::Box(PALETTE[k % PALETTE.len()])))
        .collect();
    if people > MAX_PEOPLE {
        entries.push((format!("{} others", people - MAX_PEOPLE), Key::Box(C_GREY)));
    }
    if c.weeks.iter().any(|w| w.unassigned_demand_hours > 0.0) {
        entries.push(("Unassigned".to_string(), Key::Box(LIGHT_GREY)));
    }
    entries.push(("Capacity".to_string(), Key::Box(RGBColor(90, 90, 90))));
    draw_legend(&legend, &entries, &over_notes(c))
}

fn per_person(root: &crate::Area<'_>, c: &Capacity, title: &str) -> Result<(), ChartError> {
    let week = &c.weeks[0];
    let mut rows: Vec<(String, f64, f64, bool)> = week
        .people
        .iter()
        .map(|p| {
            (
                shorten(&p.name, 12),
                p.demand_hours,
                p.capacity_hours,
                p.over_allocated,
            )
        })
        .collect();
    if week.unassigned_demand_hours > 0.0 {
        rows.push((
            "Unassigned".to_string(),
            week.unassigned_demand_hours,
            -1.0,
            false,
        ));
    }
    if rows.is_empty() {
        return no_data(
            root,
            title,
            "Person",
            "Hours",
            "No data: no people and no demand",
        );
    }
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let max = rows.iter().flat_map(|r| [r.1, r.2]).fold(0.0, f64::max);
    let area = titled(root, title)?;
    let (plot, legend) = with_legend(&area);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.6f64..(n as f64 - 0.4), 0f64..headroom(max))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(label_count(n, 80))
        .x_label_formatter(&|x| index_label(&labels, *x))
        .y_label_formatter(&|y| num(*y))
        .x_desc("Person")
        .y_desc("Hours")
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .light_line_style(MESH_LIGHT)
        .bold_line_style(MESH_BOLD)
        .draw()
        .map_err(draw_err)?;
    let w = 0.38;
    for (i, (_, demand, cap, over)) in rows.iter().enumerate() {
        let x = i as f64;
        // Unassigned demand (capacity −1) has no capacity bar of its own.
        let color = if *cap < 0.0 {
            C_GREY
        } else if *over {
            C_RED
        } else {
            C_BLUE
        };
        chart
            .draw_series([
                Rectangle::new([(x - w, 0.0), (x, *demand)], color.filled()),
                Rectangle::new([(x, 0.0), (x + w, cap.max(0.0))], LIGHT_GREY.filled()),
            ])
            .map_err(draw_err)?;
    }
    let mut entries = vec![
        ("Demand".to_string(), Key::Box(C_BLUE)),
        ("Over capacity".to_string(), Key::Box(C_RED)),
        ("Capacity".to_string(), Key::Box(LIGHT_GREY)),
    ];
    if week.unassigned_demand_hours > 0.0 {
        entries.push(("Unassigned demand".to_string(), Key::Box(C_GREY)));
    }
    draw_legend(&legend, &entries, &over_notes(c))
}
