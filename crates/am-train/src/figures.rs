//! PNG figures a reader can read: axes with ticks and labels, titles, legends, log scales where a
//! quantity spans decades. Drawn with plotters' bitmap backend and the DejaVu Sans font embedded
//! in the crate (`fonts/`, its licence beside it), so no system font is needed. The CLI and the
//! examples draw through these functions, so their figures match.

use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// The font, embedded.
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn figure_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Figure {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn register_font() -> std::result::Result<(), String> {
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

/// A line of a [`line_chart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// (x, y) in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Its colour.
    pub color: RGBColor,
    /// A horizontal reference line (drawn dashed-looking, thin) instead of a curve.
    pub reference: bool,
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
fn tick(v: &f64) -> String {
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

fn bounds(points: impl Iterator<Item = (f64, f64)>, log_y: bool) -> Option<[f64; 4]> {
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

fn pad(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let span = (hi - lo).max(1e-12);
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

/// Curves of y against x with a legend; `log_y` draws y on a log scale (non-positive values are
/// left out there). `reference` series are drawn as horizontal lines across the x range.
pub fn line_chart(path: &Path, labels: &Labels<'_>, series: &[Series], log_y: bool) -> Result<()> {
    register_font().map_err(|e| figure_error(path, e))?;
    let [x0, x1, y0, y1] = bounds(series.iter().flat_map(|s| s.points.iter().copied()), log_y)
        .ok_or_else(|| figure_error(path, "no finite points to draw"))?;
    let (x0, x1) = pad(x0, x1, false);
    let (y0, y1) = pad(y0, y1, log_y);
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| figure_error(path, e))?;
    let err = |e: DrawingAreaErrorKind<_>| figure_error(path, e);
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(labels.title, (FAMILY, 22))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(80);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            // plotters' minor lines crowd below each decade on a log axis
            let light = if log_y {
                WHITE
            } else {
                RGBColor(235, 235, 235)
            };
            mesh!(chart, labels, light).map_err(err)?;
            for s in series {
                let color = s.color;
                let pts: Vec<(f64, f64)> = if s.reference {
                    let y = s.points.first().map(|p| p.1).unwrap_or(f64::NAN);
                    vec![(x0, y), (x1, y)]
                } else {
                    s.points.clone()
                };
                let pts: Vec<(f64, f64)> = pts
                    .into_iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
                    .collect();
                let width = if s.reference { 1 } else { 2 };
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
                    .map_err(err)?
                    .label(s.label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                    });
                if !s.reference {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                        .map_err(err)?;
                }
            }
            legend!(chart, SeriesLabelPosition::UpperRight).map_err(err)?;
        }};
    }
    if log_y {
        draw!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(err)?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
    }
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}

/// A group of points of a [`scatter_with_paths`] figure (e.g. the cells of one time point).
#[derive(Debug, Clone)]
pub struct Group {
    /// The legend entry (e.g. `day 6 (200 cells)`).
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Their colour.
    pub color: RGBColor,
}

/// Point groups with a legend, and paths (e.g. trajectories) drawn over them in `path_color`,
/// with `path_label` in the legend.
pub fn scatter_with_paths(
    path: &Path,
    labels: &Labels<'_>,
    groups: &[Group],
    paths: &[Vec<(f64, f64)>],
    path_label: &str,
) -> Result<()> {
    register_font().map_err(|e| figure_error(path, e))?;
    let all = groups
        .iter()
        .flat_map(|g| g.points.iter().copied())
        .chain(paths.iter().flat_map(|p| p.iter().copied()));
    let [x0, x1, y0, y1] =
        bounds(all, false).ok_or_else(|| figure_error(path, "no finite points to draw"))?;
    let ((x0, x1), (y0, y1)) = (pad(x0, x1, false), pad(y0, y1, false));
    let root = BitMapBackend::new(path, (900, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| figure_error(path, e))?;
    let err = |e: DrawingAreaErrorKind<_>| figure_error(path, e);
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, (FAMILY, 22))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    mesh!(chart, labels, RGBColor(240, 240, 240)).map_err(err)?;
    for g in groups {
        let color = g.color;
        chart
            .draw_series(
                g.points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .map(|&p| Circle::new(p, 2, color.mix(0.45).filled())),
            )
            .map_err(err)?
            .label(g.label.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    let dark = RGBColor(40, 40, 40);
    for (i, p) in paths.iter().enumerate() {
        let s = chart
            .draw_series(LineSeries::new(p.clone(), dark.mix(0.55).stroke_width(1)))
            .map_err(err)?;
        if i == 0 {
            s.label(path_label.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], dark));
        }
    }
    legend!(chart, SeriesLabelPosition::UpperLeft).map_err(err)?;
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}

/// The figure of a snapshot fit: the cells of every time point (coloured by time, with a legend
/// of raw times and counts) in the plane of the first two dimensions — the first two principal
/// components of the standardised cells when D > 2 — and up to 60 trajectories of a simulation
/// from the first time point over them. `data` and `trajectory` are in model coordinates.
pub fn snapshot_figure(
    path: &Path,
    title: &str,
    data: &am_paths::Snapshots,
    preprocessing: &crate::snapshots::Preprocessing,
    trajectory: &am_solvers::Trajectory,
) -> Result<()> {
    let d = data.dim();
    let pca = if d > 2 {
        Some(am_paths::data::preprocess::Pca::fit(data, 2)?)
    } else {
        None
    };
    let plane = |p: &[f64]| -> Result<(f64, f64)> {
        Ok(match &pca {
            Some(pc) => {
                let y = pc.project(p)?;
                (y[0], y[1])
            }
            None => (p[0], if d > 1 { p[1] } else { 0.0 }),
        })
    };
    let k = data.times().len();
    let mut groups = Vec::with_capacity(k);
    for (j, (cells, &t)) in data.groups().zip(data.times()).enumerate() {
        groups.push(Group {
            label: format!(
                "t = {} ({} cells)",
                tick(&preprocessing.time_from_model(t)),
                cells.len() / d
            ),
            points: cells.chunks(d).map(plane).collect::<Result<_>>()?,
            color: ramp(j, k),
        });
    }
    let states = trajectory
        .states
        .to_dtype(am_core::DType::F64)?
        .to_vec3::<f64>()?;
    let n = states.first().map_or(0, |s| s.len());
    let mut paths = Vec::new();
    for i in (0..n).step_by(n.div_ceil(60).max(1)) {
        paths.push(
            states
                .iter()
                .map(|s| plane(&s[i]))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let (x, y) = match &pca {
        Some(pc) => (
            format!(
                "PC 1 of the standardised cells ({:.0} % of the variance)",
                100.0 * pc.explained[0]
            ),
            format!("PC 2 ({:.0} %)", 100.0 * pc.explained[1]),
        ),
        None => (
            "dimension 1 (standardised)".to_string(),
            "dimension 2 (standardised)".to_string(),
        ),
    };
    let labels = Labels {
        title,
        x: &x,
        y: &y,
    };
    scatter_with_paths(
        path,
        &labels,
        &groups,
        &paths,
        "trajectories from the first time point",
    )
}
