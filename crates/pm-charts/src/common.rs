//! Shared look: palette, text sizes, the chart frame, the "No data" note, label helpers.
use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Area, ChartError, FAMILY, draw_err};

pub(crate) const C_BLUE: RGBColor = RGBColor(31, 119, 180);
pub(crate) const C_ORANGE: RGBColor = RGBColor(255, 127, 14);
pub(crate) const C_GREEN: RGBColor = RGBColor(44, 160, 44);
pub(crate) const C_RED: RGBColor = RGBColor(214, 39, 40);
pub(crate) const C_PURPLE: RGBColor = RGBColor(148, 103, 189);
pub(crate) const C_GREY: RGBColor = RGBColor(127, 127, 127);
pub(crate) const LIGHT_BLUE: RGBColor = RGBColor(158, 202, 225);
pub(crate) const LIGHT_GREY: RGBColor = RGBColor(199, 199, 199);
pub(crate) const TODO_COLOR: RGBColor = RGBColor(189, 201, 225);
pub(crate) const PROGRESS_COLOR: RGBColor = RGBColor(253, 174, 97);
pub(crate) const DONE_COLOR: RGBColor = RGBColor(102, 189, 99);

/// Distinct colours for series of people or groups, cycled.
pub(crate) const PALETTE: [RGBColor; 8] = [
    C_BLUE,
    C_ORANGE,
    C_GREEN,
    C_PURPLE,
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) const TITLE_SIZE: u32 = 22;
pub(crate) const AXIS_DESC_SIZE: u32 = 15;
pub(crate) const LABEL_SIZE: u32 = 13;
pub(crate) const LEGEND_SIZE: u32 = 13;

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// The title at the top and the area below it for the chart.
pub(crate) fn titled<'a>(root: &Area<'a>, title: &str) -> Result<Area<'a>, ChartError> {
    let title = shorten(title, 70);
    root.titled(
        &title,
        (FAMILY, TITLE_SIZE).into_font().style(FontStyle::Bold),
    )
    .map_err(draw_err)
}

/// Caps a label at `max` characters with an ellipsis.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A short day label, e.g. "Mar 05".
pub(crate) fn day_label(d: NaiveDate) -> String {
    d.format("%b %d").to_string()
}

/// A label formatter for an f64 axis of integer positions into `labels`; fractional
/// positions stay blank so categories are labelled once.
pub(crate) fn index_label(labels: &[String], x: f64) -> String {
    if (x - x.round()).abs() > 1e-6 || x < -0.5 {
        return String::new();
    }
    labels.get(x.round() as usize).cloned().unwrap_or_default()
}

/// An upper bound for a value axis with some headroom; at least 1.
pub(crate) fn headroom(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.12
    } else {
        1.0
    }
}

/// How many x labels to ask for over `n` categories so they do not overlap.
pub(crate) fn label_count(n: usize, width_per_label: usize) -> usize {
    let fit = (720 / width_per_label.max(1)).max(2);
    n.clamp(1, fit)
}

/// Draws the empty frame of a chart with the axis descriptions and a centred note.
pub(crate) fn no_data(
    root: &Area<'_>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    note: &str,
) -> Result<(), ChartError> {
    let area = titled(root, title)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(0)
        .y_labels(0)
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_err)?;
    centred_note(chart.plotting_area(), note)
}

pub(crate) fn centred_note<C>(
    area: &DrawingArea<BitMapBackend<'_>, C>,
    note: &str,
) -> Result<(), ChartError>
where
    C: plotters::coord::CoordTranslate,
{
    let (w, h) = area.dim_in_pixel();
    let shifted: DrawingArea<BitMapBackend<'_>, Shift> = area.strip_coord_spec();
    let style = font(18)
        .color(&C_GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    shifted
        .draw(&Text::new(
            note.to_string(),
            (w as i32 / 2, h as i32 / 2),
            style,
        ))
        .map_err(draw_err)
}

/// Formats a value for labels: integers without decimals, else one decimal.
pub(crate) fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    Line(RGBColor),
    Dashed(RGBColor),
    Box(RGBColor),
    Dot(RGBColor),
    Triangle(RGBColor),
}

pub(crate) const LEGEND_WIDTH: u32 = 165;

/// Splits the area under the title into the plot (left) and a legend column (right).
pub(crate) fn with_legend<'a>(area: &Area<'a>) -> (Area<'a>, Area<'a>) {
    let (w, _) = area.dim_in_pixel();
    area.split_horizontally(w.saturating_sub(LEGEND_WIDTH))
}

/// Draws legend entries, then notes (plain lines of text), in the legend column.
pub(crate) fn draw_legend(
    column: &Area<'_>,
    entries: &[(String, Key)],
    notes: &[String],
) -> Result<(), ChartError> {
    let mut y = 24;
    let x = 6;
    for (label, key) in entries {
        match key {
            Key::Line(c) => column
                .draw(&PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    c.stroke_width(3),
                ))
                .map_err(draw_err)?,
            Key::Dashed(c) => {
                for dx in [0, 8, 16] {
                    column
                        .draw(&PathElement::new(
                            vec![(x + dx, y), (x + dx + 5, y)],
                            c.stroke_width(2),
                        ))
                        .map_err(draw_err)?;
                }
            }
            Key::Box(c) => column
                .draw(&Rectangle::new(
                    [(x + 2, y - 6), (x + 18, y + 6)],
                    c.filled(),
                ))
                .map_err(draw_err)?,
            Key::Dot(c) => column
                .draw(&Circle::new((x + 10, y), 4, c.filled()))
                .map_err(draw_err)?,
            Key::Triangle(c) => column
                .draw(&TriangleMarker::new((x + 10, y), 6, c.filled()))
                .map_err(draw_err)?,
        }
        column
            .draw(&Text::new(
                shorten(label, 18),
                (x + 26, y),
                font(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
        y += 22;
    }
    y += 10;
    for note in notes {
        column
            .draw(&Text::new(
                shorten(note, 22),
                (x, y),
                font(LABEL_SIZE)
                    .color(&RGBColor(60, 60, 60))
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
        y += 18;
    }
    Ok(())
}

pub(crate) const MESH_LIGHT: RGBColor = RGBColor(238, 238, 238);
pub(crate) const MESH_BOLD: RGBColor = RGBColor(205, 205, 205);
