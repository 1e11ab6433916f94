//! Sprint charts: burndown and velocity.
use plotters::prelude::*;
use pm_core::analytics::{Burndown, Trend, Velocity};

use crate::common::*;
use crate::{ChartError, draw_err, render};

/// Burndown: remaining per day against the ideal line, with the scope and completed lines so
/// scope changes show.
pub fn burndown_png(b: &Burndown) -> Result<Vec<u8>, ChartError> {
    let title = format!("Burndown — {} ({})", b.sprint_name, b.unit);
    let unit = capitalised(&b.unit);
    render(|root| {
        if b.days.is_empty() {
            return no_data(
                root,
                &title,
                "Day",
                &unit,
                "No data: the sprint has no timeline",
            );
        }
        let labels: Vec<String> = b.days.iter().map(|d| day_label(d.date)).collect();
        let n = b.days.len();
        let max = b
            .days
            .iter()
            .flat_map(|d| [Some(d.ideal), d.scope, d.completed, d.remaining])
            .flatten()
            .fold(0.0, f64::max);
        let area = titled(root, &title)?;
        let (plot, legend) = with_legend(&area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.3f64..(n as f64 - 0.7).max(0.7), 0f64..headroom(max))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(label_count(n, 64))
            .x_label_formatter(&|x| index_label(&labels, *x))
            .y_label_formatter(&|y| num(*y))
            .x_desc("Day (UTC)")
            .y_desc(unit.as_str())
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        let pts = |f: &dyn Fn(&pm_core::analytics::BurndownDay) -> Option<f64>| -> Vec<(f64, f64)> {
            b.days
                .iter()
                .enumerate()
                .filter_map(|(i, d)| f(d).map(|v| (i as f64, v)))
                .collect()
        };
        let ideal = pts(&|d| Some(d.ideal));
        let scope = pts(&|d| d.scope);
        let completed = pts(&|d| d.completed);
        let remaining = pts(&|d| d.remaining);
        chart
            .draw_series(DashedLineSeries::new(ideal, 8, 6, C_GREY.stroke_width(2)))
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(scope, C_ORANGE.stroke_width(2)))
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(completed, C_GREEN.stroke_width(2)))
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(remaining.clone(), C_BLUE.stroke_width(3)))
            .map_err(draw_err)?;
        chart
            .draw_series(
                remaining
                    .iter()
                    .map(|&p| Circle::new(p, 4, C_BLUE.filled())),
            )
            .map_err(draw_err)?;
        // Days whose scope changed get an orange marker on the scope line.
        let changed: Vec<(f64, f64)> = b
            .days
            .iter()
            .enumerate()
            .filter(|(_, d)| b.scope_changes.iter().any(|c| c.at.date_naive() == d.date))
            .filter_map(|(i, d)| d.scope.map(|s| (i as f64, s)))
            .collect();
        chart
            .draw_series(
                changed
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, C_ORANGE.filled())),
            )
            .map_err(draw_err)?;
        let mut entries = vec![
            ("Remaining".to_string(), Key::Line(C_BLUE)),
            ("Ideal".to_string(), Key::Dashed(C_GREY)),
            ("Scope".to_string(), Key::Line(C_ORANGE)),
            ("Completed".to_string(), Key::Line(C_GREEN)),
        ];
        if !changed.is_empty() {
            entries.push(("Scope changed".to_string(), Key::Triangle(C_ORANGE)));
        }
        let notes = vec![
            format!("Committed: {}", num(b.committed)),
            format!("Scope now: {}", num(b.scope)),
            format!("Completed: {}", num(b.completed)),
            format!("Remaining: {}", num(b.remaining)),
            format!("Added: +{}", num(b.added)),
            format!("Removed: −{}", num(b.removed)),
        ];
        draw_legend(&legend, &entries, &notes)
    })
}

/// Velocity: committed against completed per sprint, with the mean and the trend line over
/// closed sprints.
pub fn velocity_png(v: &Velocity) -> Result<Vec<u8>, ChartError> {
    let title = format!("Velocity ({})", v.unit);
    let unit = capitalised(&v.unit);
    render(|root| {
        if v.sprints.is_empty() {
            return no_data(root, &title, "Sprint", &unit, "No data: no sprints");
        }
        let n = v.sprints.len();
        let labels: Vec<String> = v.sprints.iter().map(|s| shorten(&s.name, 14)).collect();
        let max = v
            .sprints
            .iter()
            .flat_map(|s| [s.committed, s.completed])
            .fold(0.0, f64::max);
        let area = titled(root, &title)?;
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
            .x_labels(n)
            .x_label_formatter(&|x| index_label(&labels, *x))
            .y_label_formatter(&|y| num(*y))
            .x_desc("Sprint (oldest first)")
            .y_desc(unit.as_str())
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        let w = 0.36;
        for (i, s) in v.sprints.iter().enumerate() {
            let x = i as f64;
            let done_color = if s.counted { C_BLUE } else { LIGHT_GREY };
            chart
                .draw_series([
                    Rectangle::new([(x - w, 0.0), (x, s.committed)], LIGHT_BLUE.filled()),
                    Rectangle::new([(x, 0.0), (x + w, s.completed)], done_color.filled()),
                ])
                .map_err(draw_err)?;
            if n <= 12 {
                chart
                    .draw_series([Text::new(
                        num(s.completed),
                        (x + w / 2.0, s.completed),
                        value_label(),
                    )])
                    .map_err(draw_err)?;
            }
        }
        let mut entries = vec![
            ("Committed".to_string(), Key::Box(LIGHT_BLUE)),
            ("Completed".to_string(), Key::Box(C_BLUE)),
        ];
        if v.sprints.iter().any(|s| !s.counted) {
            entries.push(("Open sprint".to_string(), Key::Box(LIGHT_GREY)));
        }
        if let Some(mean) = v.mean_completed {
            chart
                .draw_series(DashedLineSeries::new(
                    [(-0.5, mean), (n as f64 - 0.5, mean)],
                    8,
                    6,
                    C_GREY.stroke_width(2),
                ))
                .map_err(draw_err)?;
            entries.push((format!("Mean {}", num(mean)), Key::Dashed(C_GREY)));
            if let Some(slope) = v.trend_slope {
                let xs: Vec<f64> = v
                    .sprints
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.counted)
                    .map(|(i, _)| i as f64)
                    .collect();
                let m = xs.len() as f64;
                let line: Vec<(f64, f64)> = xs
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| (x, (mean + slope * (k as f64 - (m - 1.0) / 2.0)).max(0.0)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(line, C_RED.stroke_width(2)))
                    .map_err(draw_err)?;
                entries.push(("Trend".to_string(), Key::Line(C_RED)));
            }
        }
        let trend = match v.trend {
            Trend::Rising => "rising",
            Trend::Steady => "steady",
            Trend::Falling => "falling",
            Trend::InsufficientData => "too few sprints",
        };
        let mut notes = vec![format!("Trend: {trend}")];
        if let Some(s) = v.trend_slope {
            notes.push(format!("Slope: {s:+.1} / sprint"));
        }
        draw_legend(&legend, &entries, &notes)
    })
}

pub(crate) fn value_label() -> TextStyle<'static> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    font(11).pos(Pos::new(HPos::Center, VPos::Bottom))
}

pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
