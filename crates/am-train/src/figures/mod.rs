//! PNG figures a reader can read: axes with ticks and labels, titles, legends, log scales where a
//! quantity spans decades. Drawn with plotters' bitmap backend and the DejaVu Sans font embedded
//! in the crate (`fonts/`, its licence beside it), so no system font is needed. The CLI and the
//! examples draw through these functions, so their figures match.
//!
//! - [`line_chart`] and [`panels`]: curves, markers and reference lines against x (log y optional);
//! - [`scatter_with_path_groups`] (and [`scatter_with_paths`]): point clouds with trajectories;
//! - [`snapshot_figure`]: the cells of a snapshot fit and a simulation over them;
//! - [`histogram`]: a (weighted) density as a step outline, to draw as a curve;
//! - [`image_grid`]: images (samples, data) as one PNG grid.

use crate::Error;
use plotters::prelude::*;
use std::path::Path;

/// The font, embedded.
static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) fn figure_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Figure {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

pub(crate) fn register_font() -> std::result::Result<(), String> {
    static ONCE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font does not parse".to_string())
    })
    .clone()
}

/// An RGB colour (plotters' own type, re-exported so callers need no plotters dependency).
pub use plotters::style::RGBColor as Rgb;

/// The colour of step k of K along a blue → red ramp (time order).
pub fn ramp(k: usize, count: usize) -> RGBColor {
    let u = if count > 1 {
        k as f64 / (count - 1) as f64
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * u).round() as u8;
    RGBColor(lerp(40.0, 215.0), lerp(90.0, 50.0), lerp(200.0, 40.0))
}

/// Axis labels and the title of a figure.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    /// What the figure shows and when.
    pub title: &'a str,
    /// The x axis, with units.
    pub x: &'a str,
    /// The y axis, with units.
    pub y: &'a str,
}

/// Tick labels: short decimals, or scientific notation outside [1e-3, 1e5).
pub(crate) fn tick(v: &f64) -> String {
    let v = *v;
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let text = format!("{v:.1e}");
        return text.replace(".0e", "e");
    }
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The axes of every figure: descriptions, short tick labels, the font, faint minor lines.
macro_rules! mesh {
    ($chart:expr, $labels:expr, $light:expr) => {
        $chart
            .configure_mesh()
            .x_desc($labels.x)
            .y_desc($labels.y)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style($light)
            .draw()
    };
}

/// The legend box of every figure.
macro_rules! legend {
    ($chart:expr, $position:expr) => {
        $chart
            .configure_series_labels()
            .position($position)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()
    };
}

pub(crate) fn bounds(points: impl Iterator<Item = (f64, f64)>, log_y: bool) -> Option<[f64; 4]> {
    let mut b = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) || (log_y && y <= 0.0) {
            continue;
        }
        b = [b[0].min(x), b[1].max(x), b[2].min(y), b[3].max(y)];
    }
    (b[0] <= b[1]).then_some(b)
}

pub(crate) fn pad(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let span = (hi - lo).max(1e-12);
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

mod chart;
mod grid;
mod histogram;
mod plane;
mod snapshot;

pub use chart::{line_chart, panels, Panel, Series, Style};
pub use grid::image_grid;
pub use histogram::histogram;
pub use plane::{
    points, scatter_in, scatter_with_path_groups, scatter_with_paths, trajectory_paths, Group,
    PathGroup,
};
pub use snapshot::snapshot_figure;
