//! Curves against x: one chart ([`line_chart`]) or a column of them sharing a title ([`panels`]).

use super::{bounds, figure_error, pad, register_font, tick, Labels, FAMILY};
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// How a [`Series`] is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A line through the points.
    Line,
    /// A line through the points, each point marked.
    LineAndMarkers,
    /// The points only (e.g. a learned function against an exact curve).
    Markers,
    /// A thin horizontal line across the whole x range at the first point's y (a baseline).
    Reference,
}

/// A line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend entry (an empty label leaves the series out of the legend).
    pub label: String,
    /// (x, y) in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Its colour.
    pub color: RGBColor,
    /// How it is drawn.
    pub style: Style,
}

/// One chart of a [`panels`] figure.
#[derive(Debug, Clone)]
pub struct Panel<'a> {
    /// Its own title and axes.
    pub labels: Labels<'a>,
    /// Its series.
    pub series: Vec<Series>,
}

/// Curves of y against x with a legend, 900 × 600 pixels; `log_y` draws y on a log scale
/// (non-positive values are left out there).
pub fn line_chart(path: &Path, labels: &Labels<'_>, series: &[Series], log_y: bool) -> Result<()> {
    register_font().map_err(|e| figure_error(path, e))?;
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| figure_error(path, e))?;
    chart_on(&root, labels, series, log_y, 22).map_err(|e| figure_error(path, e))?;
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}

/// A column of charts under one `title`, 900 pixels wide and 330 per panel (e.g. one panel per
/// time point); each panel has its own axes, title and legend.
pub fn panels(path: &Path, title: &str, panels: &[Panel<'_>], log_y: bool) -> Result<()> {
    register_font().map_err(|e| figure_error(path, e))?;
    if panels.is_empty() {
        return Err(figure_error(path, "no panels to draw"));
    }
    let height = 60 + 330 * panels.len() as u32;
    let root = BitMapBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| figure_error(path, e))?;
    let body = root
        .titled(title, (FAMILY, 24))
        .map_err(|e| figure_error(path, e))?;
    for (area, panel) in body.split_evenly((panels.len(), 1)).iter().zip(panels) {
        chart_on(area, &panel.labels, &panel.series, log_y, 18)
            .map_err(|e| figure_error(path, e))?;
    }
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}

/// Draws one chart with its axes and legend on `area`.
fn chart_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels<'_>,
    series: &[Series],
    log_y: bool,
    caption: u32,
) -> std::result::Result<(), String> {
    let [x0, x1, y0, y1] = bounds(series.iter().flat_map(|s| s.points.iter().copied()), log_y)
        .ok_or("no finite points to draw")?;
    let (x0, x1) = pad(x0, x1, false);
    let (y0, y1) = pad(y0, y1, log_y);
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(labels.title, (FAMILY, caption))
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
            let mut labelled = false;
            for s in series {
                let color = s.color;
                let pts: Vec<(f64, f64)> = if s.style == Style::Reference {
                    let y = s.points.first().map(|p| p.1).unwrap_or(f64::NAN);
                    vec![(x0, y), (x1, y)]
                } else {
                    s.points.clone()
                };
                let pts: Vec<(f64, f64)> = pts
                    .into_iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
                    .collect();
                let annotation = if s.style == Style::Markers {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                        .map_err(err)?
                } else {
                    if s.style == Style::LineAndMarkers {
                        chart
                            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                            .map_err(err)?;
                    }
                    let width = if s.style == Style::Reference { 1 } else { 2 };
                    chart
                        .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
                        .map_err(err)?
                };
                if !s.label.is_empty() {
                    labelled = true;
                    if s.style == Style::Markers {
                        annotation
                            .label(s.label.clone())
                            .legend(move |(x, y)| Circle::new((x + 12, y), 4, color.filled()));
                    } else {
                        annotation.label(s.label.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                        });
                    }
                }
            }
            if labelled {
                legend!(chart, SeriesLabelPosition::UpperRight).map_err(err)?;
            }
        }};
    }
    if log_y {
        draw!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(err)?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
    }
    Ok(())
}
