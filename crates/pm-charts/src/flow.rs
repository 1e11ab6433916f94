//! Flow charts: cumulative flow, cycle time, created against resolved.
use chrono::Duration;
use plotters::prelude::*;
use pm_core::analytics::{Cfd, CycleTime, IssueTrend};

use crate::common::*;
use crate::{ChartError, draw_err, render};

/// Picks a stacked total out of a CFD day.
type Stack = fn(&pm_core::analytics::CfdDay) -> usize;

/// Cumulative flow: items done (bottom), in progress and to do (top) per day, stacked.
pub fn cfd_png(c: &Cfd) -> Result<Vec<u8>, ChartError> {
    let title = format!("Cumulative flow, {} to {}", c.from, c.to);
    render(|root| {
        if c.days.is_empty() || c.days.iter().all(|d| d.todo + d.in_progress + d.done == 0) {
            return no_data(
                root,
                &title,
                "Day (UTC)",
                "Items",
                "No data: no items in this window",
            );
        }
        let n = c.days.len();
        let labels: Vec<String> = c.days.iter().map(|d| day_label(d.date)).collect();
        let max = c
            .days
            .iter()
            .map(|d| (d.todo + d.in_progress + d.done) as f64)
            .fold(0.0, f64::max);
        let area = titled(root, &title)?;
        let (plot, legend) = with_legend(&area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..headroom(max))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(label_count(n, 64))
            .x_label_formatter(&|x| index_label(&labels, *x))
            .y_label_formatter(&|y| num(*y))
            .x_desc("Day (UTC, end of day)")
            .y_desc("Items")
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        let layers: [(RGBColor, Stack); 3] = [
            (TODO_COLOR, |d| d.todo + d.in_progress + d.done),
            (PROGRESS_COLOR, |d| d.in_progress + d.done),
            (DONE_COLOR, |d| d.done),
        ];
        for (color, f) in layers {
            let mut pts: Vec<(f64, f64)> = c
                .days
                .iter()
                .enumerate()
                .map(|(i, d)| (i as f64, f(d) as f64))
                .collect();
            if pts.len() == 1 {
                // One day: draw it as a band across the axis.
                pts.push((1.0, pts[0].1));
            }
            chart
                .draw_series(
                    AreaSeries::new(pts, 0.0, color.filled())
                        .border_style(color.mix(0.9).stroke_width(1)),
                )
                .map_err(draw_err)?;
        }
        let last = c.days.last();
        let entries = vec![
            ("To do".to_string(), Key::Box(TODO_COLOR)),
            ("In progress".to_string(), Key::Box(PROGRESS_COLOR)),
            ("Done".to_string(), Key::Box(DONE_COLOR)),
        ];
        let notes = last
            .map(|d| {
                vec![
                    format!("On {}:", day_label(d.date)),
                    format!("To do: {}", d.todo),
                    format!("In progress: {}", d.in_progress),
                    format!("Done: {}", d.done),
                ]
            })
            .unwrap_or_default();
        draw_legend(&legend, &entries, &notes)
    })
}

/// Cycle time: one dot per item at its done date, with the p50/p85/p95 lines; outliers in red.
pub fn cycle_time_png(c: &CycleTime) -> Result<Vec<u8>, ChartError> {
    let title = format!("Cycle time, {} to {}", c.from, c.to);
    render(|root| {
        if c.items.is_empty() {
            return no_data(
                root,
                &title,
                "Done date (UTC)",
                "Days",
                "No data: nothing finished in this window",
            );
        }
        let span = ((c.to - c.from).num_days() + 1).max(1) as f64;
        let origin = c.from;
        let max = c.items.iter().map(|i| i.days).fold(0.0, f64::max);
        let area = titled(root, &title)?;
        let (plot, legend) = with_legend(&area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..span, 0f64..headroom(max))
            .map_err(draw_err)?;
        let label = |x: &f64| -> String {
            if (x - x.round()).abs() > 1e-6 {
                return String::new();
            }
            day_label(origin + Duration::days(x.round() as i64))
        };
        chart
            .configure_mesh()
            .x_labels(label_count(span as usize, 64))
            .x_label_formatter(&label)
            .y_label_formatter(&|y| num(*y))
            .x_desc("Done date (UTC)")
            .y_desc("Days from first in progress to done")
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        let start = origin.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let x_of = |i: &pm_core::analytics::CycleItem| -> f64 {
            start.map_or(0.0, |s| (i.done_at - s).num_seconds() as f64 / 86_400.0)
        };
        let mut entries = vec![("Item".to_string(), Key::Dot(C_BLUE))];
        for (p, color, name) in [
            (c.p50, C_GREEN, "p50"),
            (c.p85, C_ORANGE, "p85"),
            (c.p95, C_RED, "p95"),
        ] {
            if let Some(v) = p {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(0.0, v), (span, v)],
                        8,
                        5,
                        color.stroke_width(2),
                    ))
                    .map_err(draw_err)?;
                entries.push((format!("{name} = {} d", num(v)), Key::Dashed(color)));
            }
        }
        chart
            .draw_series(
                c.items
                    .iter()
                    .filter(|i| !i.outlier)
                    .map(|i| Circle::new((x_of(i), i.days), 4, C_BLUE.mix(0.8).filled())),
            )
            .map_err(draw_err)?;
        if c.items.iter().any(|i| i.outlier) {
            chart
                .draw_series(
                    c.items
                        .iter()
                        .filter(|i| i.outlier)
                        .map(|i| Circle::new((x_of(i), i.days), 5, C_RED.filled())),
                )
                .map_err(draw_err)?;
            entries.push(("Outlier".to_string(), Key::Dot(C_RED)));
        }
        let mut notes = vec![format!("Items: {}", c.count)];
        if let Some(m) = c.mean {
            notes.push(format!("Mean: {} d", num(m)));
        }
        if let Some(t) = c.outlier_threshold {
            notes.push(format!("Outlier above {} d", num(t)));
        }
        if !c.done_without_in_progress.is_empty() {
            notes.push(format!(
                "Skipped progress: {}",
                c.done_without_in_progress.len()
            ));
        }
        draw_legend(&legend, &entries, &notes)
    })
}

/// Created against resolved per day (bars) and the open backlog (line, right axis).
pub fn issue_trend_png(t: &IssueTrend) -> Result<Vec<u8>, ChartError> {
    let title = format!("Created vs resolved, {} to {}", t.from, t.to);
    render(|root| {
        if t.days.is_empty() {
            return no_data(
                root,
                &title,
                "Day (UTC)",
                "Items per day",
                "No data: the window is empty",
            );
        }
        let n = t.days.len();
        let labels: Vec<String> = t.days.iter().map(|d| day_label(d.date)).collect();
        let max_bar = t
            .days
            .iter()
            .map(|d| d.created.max(d.resolved) as f64)
            .fold(0.0, f64::max);
        let max_backlog = t
            .days
            .iter()
            .map(|d| d.open_backlog as f64)
            .fold(0.0, f64::max);
        let area = titled(root, &title)?;
        let (plot, legend) = with_legend(&area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .right_y_label_area_size(56)
            .build_cartesian_2d(-0.6f64..(n as f64 - 0.4), 0f64..headroom(max_bar))
            .map_err(draw_err)?
            .set_secondary_coord(-0.6f64..(n as f64 - 0.4), 0f64..headroom(max_backlog));
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(label_count(n, 64))
            .x_label_formatter(&|x| index_label(&labels, *x))
            .y_label_formatter(&|y| num(*y))
            .x_desc("Day (UTC)")
            .y_desc("Items per day")
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(MESH_LIGHT)
            .bold_line_style(MESH_BOLD)
            .draw()
            .map_err(draw_err)?;
        chart
            .configure_secondary_axes()
            .y_desc("Open backlog")
            .y_label_formatter(&|y| num(*y))
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .draw()
            .map_err(draw_err)?;
        let w = 0.4;
        chart
            .draw_series(t.days.iter().enumerate().flat_map(|(i, d)| {
                let x = i as f64;
                [
                    Rectangle::new([(x - w, 0.0), (x, d.created as f64)], C_BLUE.filled()),
                    Rectangle::new([(x, 0.0), (x + w, d.resolved as f64)], C_GREEN.filled()),
                ]
            }))
            .map_err(draw_err)?;
        let backlog: Vec<(f64, f64)> = t
            .days
            .iter()
            .enumerate()
            .map(|(i, d)| (i as f64, d.open_backlog as f64))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(backlog.clone(), C_PURPLE.stroke_width(3)))
            .map_err(draw_err)?;
        if n <= 45 {
            chart
                .draw_secondary_series(
                    backlog
                        .iter()
                        .map(|&p| Circle::new(p, 3, C_PURPLE.filled())),
                )
                .map_err(draw_err)?;
        }
        let entries = vec![
            ("Created".to_string(), Key::Box(C_BLUE)),
            ("Resolved".to_string(), Key::Box(C_GREEN)),
            ("Open backlog".to_string(), Key::Line(C_PURPLE)),
        ];
        let notes = vec![
            format!("Created: {}", t.total_created),
            format!("Resolved: {}", t.total_resolved),
            format!("Reopened: {}", t.total_reopened),
            format!("Backlog: {} → {}", t.backlog_start, t.backlog_end),
        ];
        draw_legend(&legend, &entries, &notes)
    })
}
