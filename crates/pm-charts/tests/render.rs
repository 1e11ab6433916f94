//! Every chart renders an 800×450 PNG that decodes, is not blank, and shows its series'
//! colours; empty inputs give a "No data" chart rather than an error.
use std::collections::HashSet;

use chrono::{NaiveDate, TimeZone, Utc};
use pm_core::analytics::*;
use pm_core::domain::{Sprint, SprintState};
use pm_core::history::History;

mod sample;

const BLUE: [u8; 3] = [31, 119, 180];
const GREEN: [u8; 3] = [44, 160, 44];
const ORANGE: [u8; 3] = [255, 127, 14];
const PURPLE: [u8; 3] = [148, 103, 189];
const DONE_COLOR: [u8; 3] = [102, 189, 99];
const PROGRESS_COLOR: [u8; 3] = [253, 174, 97];
const TODO_COLOR: [u8; 3] = [189, 201, 225];
const NOTE_GREY: [u8; 3] = [127, 127, 127];

struct Decoded {
    width: u32,
    height: u32,
    pixels: Vec<[u8; 3]>,
}

impl Decoded {
    fn colours(&self) -> HashSet<[u8; 3]> {
        self.pixels.iter().copied().collect()
    }
    fn count(&self, c: [u8; 3]) -> usize {
        self.pixels.iter().filter(|p| **p == c).count()
    }
    /// Pixels that are neither white nor near-white.
    fn ink(&self) -> usize {
        self.pixels
            .iter()
            .filter(|p| p.iter().any(|&v| v < 230))
            .count()
    }
}

fn decode(bytes: &[u8]) -> Decoded {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    Decoded {
        width: info.width,
        height: info.height,
        pixels,
    }
}

/// 800×450, many colours (antialiased text and lines), a fair amount drawn, and each of
/// `series` present over at least `min_px` pixels.
fn check(bytes: &[u8], series: &[[u8; 3]], min_px: usize) -> Decoded {
    let d = decode(bytes);
    assert_eq!((d.width, d.height), (800, 450));
    assert!(
        d.colours().len() >= 20,
        "only {} colours",
        d.colours().len()
    );
    assert!(d.ink() > 5_000, "only {} drawn pixels", d.ink());
    for c in series {
        assert!(
            d.count(*c) >= min_px,
            "colour {c:?} has {} pixels",
            d.count(*c)
        );
    }
    d
}

/// An empty chart: right size, a frame and text, the grey "No data" note, no series colour.
fn check_empty(bytes: &[u8]) {
    let d = decode(bytes);
    assert_eq!((d.width, d.height), (800, 450));
    assert!(d.colours().len() >= 5, "only {} colours", d.colours().len());
    assert!(d.ink() > 500, "nothing drawn");
    assert!(d.count(NOTE_GREY) > 20, "no note");
    for c in [BLUE, GREEN, ORANGE, DONE_COLOR] {
        assert_eq!(d.count(c), 0, "series colour {c:?} on an empty chart");
    }
}

#[test]
fn burndown_chart() {
    let b = sample::burndown_sample();
    assert!(!b.days.is_empty());
    check(
        &pm_charts::burndown_png(&b).unwrap(),
        &[BLUE, GREEN, ORANGE],
        200,
    );
}

#[test]
fn velocity_chart() {
    let v = sample::velocity_sample();
    assert_eq!(v.sprints.len(), 6);
    check(&pm_charts::velocity_png(&v).unwrap(), &[BLUE], 5_000);
}

#[test]
fn cfd_chart() {
    let c = sample::cfd_sample();
    check(
        &pm_charts::cfd_png(&c).unwrap(),
        &[DONE_COLOR, PROGRESS_COLOR, TODO_COLOR],
        2_000,
    );
}

#[test]
fn cycle_time_chart() {
    let c = sample::cycle_sample();
    assert!(c.count > 10);
    check(
        &pm_charts::cycle_time_png(&c).unwrap(),
        &[GREEN, ORANGE],
        200,
    );
}

#[test]
fn distribution_chart() {
    let d = sample::distribution_sample();
    check(
        &pm_charts::distribution_png(&d).unwrap(),
        &[BLUE, ORANGE, GREEN],
        2_000,
    );
}

#[test]
fn distribution_chart_folds_many_groups_into_other() {
    let mut h = sample::flow_history();
    for (i, item) in h.items.iter_mut().enumerate() {
        item.task_type = Some(format!("Type number {i}"));
    }
    let d = work_distribution(&h, GroupBy::Type, Metric::TaskCount);
    assert!(d.groups.len() > pm_charts::MAX_BARS);
    check(&pm_charts::distribution_png(&d).unwrap(), &[BLUE], 100);
}

#[test]
fn issue_trend_chart() {
    let t = sample::trend_sample();
    check(
        &pm_charts::issue_trend_png(&t).unwrap(),
        &[BLUE, GREEN, PURPLE],
        300,
    );
}

#[test]
fn capacity_charts() {
    let c = sample::capacity_sample();
    assert_eq!(c.weeks.len(), 4);
    check(&pm_charts::capacity_png(&c).unwrap(), &[BLUE, ORANGE], 500);
    let c = sample::capacity_one_week_sample();
    check(&pm_charts::capacity_png(&c).unwrap(), &[BLUE], 500);
}

#[test]
fn long_labels_and_a_single_day_render() {
    let mut s = sample::sprint(0);
    s.name = "A sprint with a very long name that goes on and on and on and on and on".into();
    s.end_date = s.start_date;
    s.completed_at = s.start_date;
    let b = burndown(&s, &History::default(), Metric::TaskCount, sample::now());
    assert_eq!(b.days.len(), 1);
    let d = decode(&pm_charts::burndown_png(&b).unwrap());
    assert_eq!((d.width, d.height), (800, 450));
    let day = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
    let c = cfd(&sample::flow_history(), day, day);
    check(&pm_charts::cfd_png(&c).unwrap(), &[TODO_COLOR], 1_000);
}

#[test]
fn empty_inputs_draw_a_no_data_chart() {
    let day = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
    let empty = History::default();
    let undated = Sprint {
        id: "S".into(),
        name: "Undated".into(),
        state: SprintState::Active,
        goal: None,
        start_date: None,
        end_date: None,
        completed_at: None,
        board_id: None,
        notes: Vec::new(),
    };
    let now = Utc.with_ymd_and_hms(2025, 3, 10, 0, 0, 0).unwrap();
    let b = burndown(&undated, &empty, Metric::StoryPoints, now);
    assert!(b.days.is_empty());
    check_empty(&pm_charts::burndown_png(&b).unwrap());
    check_empty(&pm_charts::velocity_png(&velocity(&[], Metric::StoryPoints)).unwrap());
    check_empty(&pm_charts::cfd_png(&cfd(&empty, day, day)).unwrap());
    check_empty(&pm_charts::cycle_time_png(&cycle_time(&empty, day, day)).unwrap());
    check_empty(
        &pm_charts::distribution_png(&work_distribution(&empty, GroupBy::Status, Metric::Hours))
            .unwrap(),
    );
    let before = day.pred_opt().unwrap();
    check_empty(&pm_charts::issue_trend_png(&issue_trend(&empty, day, before)).unwrap());
    check_empty(
        &pm_charts::capacity_png(&capacity(&empty, &CapacityConfig::default(), day, 0)).unwrap(),
    );
}

#[test]
fn rendering_is_deterministic() {
    let c = sample::cfd_sample();
    assert_eq!(
        pm_charts::cfd_png(&c).unwrap(),
        pm_charts::cfd_png(&c).unwrap()
    );
}
