//! The figure of a snapshot fit: cells by time point and a simulation over them.

use super::{ramp, scatter_with_paths, tick, Group, Labels};
use crate::Result;
use std::path::Path;

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
