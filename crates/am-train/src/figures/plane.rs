//! Points in a plane with trajectories over them: cells of each time point, particles, flows.

use super::{bounds, figure_error, pad, register_font, tick, Labels, FAMILY};
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// A group of points of a scatter figure (e.g. the cells of one time point).
#[derive(Debug, Clone)]
pub struct Group {
    /// The legend entry (e.g. `day 6 (200 cells)`).
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Their colour.
    pub color: RGBColor,
}

/// Paths of a scatter figure sharing one colour and legend entry (e.g. the trajectories of one
/// velocity field).
#[derive(Debug, Clone)]
pub struct PathGroup {
    /// The legend entry.
    pub label: String,
    /// The paths, each a polyline.
    pub paths: Vec<Vec<(f64, f64)>>,
    /// Their colour (drawn half transparent).
    pub color: RGBColor,
}

/// Point groups with a legend, and paths (e.g. trajectories) drawn over them in dark grey, with
/// `path_label` in the legend.
pub fn scatter_with_paths(
    path: &Path,
    labels: &Labels<'_>,
    groups: &[Group],
    paths: &[Vec<(f64, f64)>],
    path_label: &str,
) -> Result<()> {
    let dark = PathGroup {
        label: path_label.to_string(),
        paths: paths.to_vec(),
        color: RGBColor(40, 40, 40),
    };
    scatter_with_path_groups(path, labels, groups, &[dark])
}

/// Point groups and path groups with one legend, 900 × 760 pixels; the axes span every finite
/// point. Groups are drawn first, paths over them, in the order given.
pub fn scatter_with_path_groups(
    path: &Path,
    labels: &Labels<'_>,
    groups: &[Group],
    path_groups: &[PathGroup],
) -> Result<()> {
    scatter_in(path, labels, groups, path_groups, None)
}

/// [`scatter_with_path_groups`] on fixed axes `[x0, x1, y0, y1]` (points outside are left out;
/// `None`: axes spanning every finite point), e.g. to keep a few far outliers from squeezing
/// the bulk.
pub fn scatter_in(
    path: &Path,
    labels: &Labels<'_>,
    groups: &[Group],
    path_groups: &[PathGroup],
    axes: Option<[f64; 4]>,
) -> Result<()> {
    register_font().map_err(|e| figure_error(path, e))?;
    if let Some([x0, x1, y0, y1]) = axes {
        if !(x0 < x1 && y0 < y1 && [x0, x1, y0, y1].iter().all(|v| v.is_finite())) {
            return Err(figure_error(
                path,
                format!("axes {axes:?} are not finite lo < hi"),
            ));
        }
    }
    let all = groups.iter().flat_map(|g| g.points.iter().copied()).chain(
        path_groups
            .iter()
            .flat_map(|g| g.paths.iter().flat_map(|p| p.iter().copied())),
    );
    let [x0, x1, y0, y1] = match axes {
        Some(b) => b,
        None => {
            let [x0, x1, y0, y1] =
                bounds(all, false).ok_or_else(|| figure_error(path, "no finite points to draw"))?;
            let ((x0, x1), (y0, y1)) = (pad(x0, x1, false), pad(y0, y1, false));
            [x0, x1, y0, y1]
        }
    };
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
    let finite = |p: &&(f64, f64)| (x0..=x1).contains(&p.0) && (y0..=y1).contains(&p.1);
    for g in groups {
        let color = g.color;
        chart
            .draw_series(
                g.points
                    .iter()
                    .filter(finite)
                    .map(|&p| Circle::new(p, 2, color.mix(0.45).filled())),
            )
            .map_err(err)?
            .label(g.label.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    for g in path_groups {
        let color = g.color;
        for (i, p) in g.paths.iter().enumerate() {
            let line: Vec<(f64, f64)> = p.iter().filter(finite).copied().collect();
            let s = chart
                .draw_series(LineSeries::new(line, color.mix(0.55).stroke_width(1)))
                .map_err(err)?;
            if i == 0 && !g.label.is_empty() {
                s.label(g.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
            }
        }
    }
    legend!(chart, SeriesLabelPosition::UpperLeft).map_err(err)?;
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}

/// The rows of an (N, D) tensor as points in the plane of coordinates `axes` = (i, j).
pub fn points(x: &am_core::Tensor, axes: (usize, usize)) -> Result<Vec<(f64, f64)>> {
    let rows = x.to_dtype(am_core::DType::F64)?.to_vec2::<f64>()?;
    let d = rows.first().map_or(0, |r| r.len());
    check_axes(axes, d)?;
    Ok(rows.iter().map(|r| (r[axes.0], r[axes.1])).collect())
}

/// At most `max` particle paths of a trajectory (states (T, N, D)), every ⌈N / max⌉-th particle,
/// in the plane of coordinates `axes`.
pub fn trajectory_paths(
    trajectory: &am_solvers::Trajectory,
    axes: (usize, usize),
    max: usize,
) -> Result<Vec<Vec<(f64, f64)>>> {
    let states = trajectory
        .states
        .to_dtype(am_core::DType::F64)?
        .to_vec3::<f64>()?;
    let n = states.first().map_or(0, |s| s.len());
    let d = states
        .first()
        .and_then(|s| s.first())
        .map_or(0, |p| p.len());
    check_axes(axes, d)?;
    Ok((0..n)
        .step_by(n.div_ceil(max.max(1)).max(1))
        .map(|i| {
            states
                .iter()
                .map(|s| (s[i][axes.0], s[i][axes.1]))
                .collect()
        })
        .collect())
}

fn check_axes(axes: (usize, usize), d: usize) -> Result<()> {
    if axes.0 >= d || axes.1 >= d {
        return Err(crate::Error::Argument {
            arg: "axes",
            reason: format!("{axes:?} for points of dimension {d}"),
        });
    }
    Ok(())
}
