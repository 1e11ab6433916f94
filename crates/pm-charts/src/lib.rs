//! pm-charts: analytics results drawn as 800×450 PNG images, in-process.
//!
//! Drawing is plotters' bitmap backend into an RGB buffer; text goes through `ab_glyph` with
//! DejaVu Sans embedded in the binary (no system font lookup, no browser, no network); the
//! buffer is encoded with the `png` crate. Every chart draws something for empty input: its
//! frame and a "No data" note, never an error.
#![forbid(unsafe_code)]

use std::fmt::Display;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

mod common;
mod flow;
mod sprint;
mod work;

pub use flow::{cfd_png, cycle_time_png, issue_trend_png};
pub use sprint::{burndown_png, velocity_png};
pub use work::{MAX_BARS, capacity_png, distribution_png};

/// Image width in pixels.
pub const WIDTH: u32 = 800;
/// Image height in pixels.
pub const HEIGHT: u32 = 450;

/// DejaVu Sans (Bitstream Vera licence; see `fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// The family name charts ask for; the embedded font is registered under it.
pub(crate) const FAMILY: &str = "sans-serif";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(String),
}

pub(crate) fn draw_err<E: Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Registers the embedded font once per process.
fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold]
            .into_iter()
            .all(|style| plotters::style::register_font(FAMILY, style, FONT).is_ok())
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws onto a white 800×450 canvas and returns it as PNG bytes.
pub(crate) fn render(
    draw: impl FnOnce(&Area<'_>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    ensure_font()?;
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    encode_png(&rgb)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Balanced);
        let mut writer = enc
            .write_header()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
    }
    Ok(out)
}
