//! Time-labelled samples grouped by time point.

use super::npy::Npz;
use super::DataError;
use am_core::{DType, Device, Result as CoreResult, SeededRng, Tensor};
use std::path::Path;

/// Samples grouped by time point: group k holds the cells observed at `times()[k]`, row-major
/// `(N_k, D)`. Times are sorted and distinct; every group is non-empty; all values are finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshots {
    source: String,
    times: Vec<f64>,
    groups: Vec<Vec<f64>>,
    dim: usize,
    masses: Option<Vec<f64>>,
}

impl Snapshots {
    /// Groups rows `x` (row-major `(N, D)`) by their time labels, validating everything.
    /// `source` names the data in errors (a file, or "memory").
    pub fn from_rows(
        source: &str,
        x: &[f64],
        n: usize,
        d: usize,
        labels: &[f64],
    ) -> Result<Self, DataError> {
        if d == 0 || n == 0 {
            return Err(DataError::Shape {
                path: source.into(),
                reason: format!("no data: {n} rows × {d} columns"),
            });
        }
        if x.len() != n * d {
            return Err(DataError::Shape {
                path: source.into(),
                reason: format!("{} values for {n} rows × {d} columns", x.len()),
            });
        }
        if labels.len() != n {
            return Err(DataError::Shape {
                path: source.into(),
                reason: format!("{} time labels for {n} rows", labels.len()),
            });
        }
        for (k, &v) in x.iter().enumerate() {
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    path: source.into(),
                    key: "samples".into(),
                    row: k / d,
                    column: k % d,
                    value: v,
                });
            }
        }
        for (row, &v) in labels.iter().enumerate() {
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    path: source.into(),
                    key: "time labels".into(),
                    row,
                    column: 0,
                    value: v,
                });
            }
        }
        let mut times: Vec<f64> = labels.to_vec();
        times.sort_by(f64::total_cmp);
        times.dedup();
        if times.len() < 2 {
            return Err(DataError::TooFewTimes {
                path: source.into(),
                found: times.len(),
            });
        }
        let mut groups = vec![Vec::new(); times.len()];
        for (row, &l) in labels.iter().enumerate() {
            let k = times.partition_point(|&t| t < l);
            groups[k].extend_from_slice(&x[row * d..(row + 1) * d]);
        }
        Ok(Self {
            source: source.into(),
            times,
            groups,
            dim: d,
            masses: None,
        })
    }

    /// From one row-major array per time point, `(time, rows, n, d)`: times strictly increasing,
    /// every group non-empty, all of one dimension, all values finite (errors name the group).
    pub fn from_groups(
        source: &str,
        groups: Vec<(f64, Vec<f64>, usize, usize)>,
    ) -> Result<Self, DataError> {
        if groups.len() < 2 {
            return Err(DataError::TooFewTimes {
                path: source.into(),
                found: groups.len(),
            });
        }
        let dim = groups[0].3;
        let mut times = Vec::with_capacity(groups.len());
        let mut data = Vec::with_capacity(groups.len());
        for (k, (t, rows, n, d)) in groups.into_iter().enumerate() {
            if !t.is_finite() {
                return Err(DataError::NonFinite {
                    path: source.into(),
                    key: "time labels".into(),
                    row: k,
                    column: 0,
                    value: t,
                });
            }
            if let Some(&prev) = times.last() {
                if t <= prev {
                    return Err(DataError::Argument { arg: "groups", reason: format!("{source}: time of group {k} ({t}) is not after group {} ({prev}): times must be sorted and distinct", k - 1) });
                }
            }
            if n == 0 {
                return Err(DataError::Shape {
                    path: source.into(),
                    reason: format!("time point {t} (group {k}) has no cells"),
                });
            }
            if d != dim {
                return Err(DataError::Shape {
                    path: source.into(),
                    reason: format!(
                        "time point {t} (group {k}) has dimension {d}, group 0 has {dim}"
                    ),
                });
            }
            if rows.len() != n * d {
                return Err(DataError::Shape {
                    path: source.into(),
                    reason: format!("group {k}: {} values for {n} × {d}", rows.len()),
                });
            }
            if let Some(i) = rows.iter().position(|v| !v.is_finite()) {
                return Err(DataError::NonFinite {
                    path: source.into(),
                    key: format!("group {k} (t = {t})"),
                    row: i / d,
                    column: i % d,
                    value: rows[i],
                });
            }
            times.push(t);
            data.push(rows);
        }
        Ok(Self {
            source: source.into(),
            times,
            groups: data,
            dim,
            masses: None,
        })
    }

    /// Reads samples and time labels from a `.npz` archive, e.g. keys `X`/`ts` (the embryoid body
    /// files) or `pcs`/`sample_labels` (TrajectoryNet's).
    pub fn from_npz(path: &Path, x_key: &str, t_key: &str) -> Result<Self, DataError> {
        let p = path.display().to_string();
        let mut npz = Npz::open(path)?;
        let x = npz.array(x_key)?;
        let t = npz.array(t_key)?;
        let (n, d) = x.as_matrix().ok_or_else(|| DataError::Shape {
            path: p.clone(),
            reason: format!("`{x_key}` has shape {:?}, expected (N, D)", x.shape),
        })?;
        if t.data.len() != n {
            return Err(DataError::Shape {
                path: p,
                reason: format!(
                    "`{t_key}` has {} entries, `{x_key}` has {n} rows",
                    t.data.len()
                ),
            });
        }
        Self::from_rows(&p, &x.data, n, d, &t.data)
    }

    /// Replaces the time values of the groups (e.g. day bins 0..4 → days 0, 6, 12, 18, 24): they
    /// must be finite and strictly increasing, one per group.
    pub fn with_time_values(mut self, values: &[f64]) -> Result<Self, DataError> {
        if values.len() != self.times.len() {
            return Err(DataError::Shape {
                path: self.source.clone(),
                reason: format!(
                    "{} time values for {} time points (a time point without cells is empty)",
                    values.len(),
                    self.times.len()
                ),
            });
        }
        if let Some((k, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DataError::Argument {
                arg: "values",
                reason: format!("entry {k} = {v} is not finite"),
            });
        }
        for (k, w) in values.windows(2).enumerate() {
            if w[0] >= w[1] {
                return Err(DataError::Argument {
                    arg: "values",
                    reason: format!(
                        "time values must be strictly increasing: entry {} = {} ≥ entry {} = {}",
                        k,
                        w[0],
                        k + 1,
                        w[1]
                    ),
                });
            }
        }
        self.times = values.to_vec();
        Ok(self)
    }

    /// Attaches per-time masses (e.g. cell counts) for unbalanced AM: one positive finite value per
    /// time point.
    pub fn with_masses(mut self, masses: &[f64]) -> Result<Self, DataError> {
        if masses.len() != self.times.len() {
            return Err(DataError::Argument {
                arg: "masses",
                reason: format!(
                    "{} masses for {} time points",
                    masses.len(),
                    self.times.len()
                ),
            });
        }
        if let Some((k, m)) = masses
            .iter()
            .enumerate()
            .find(|(_, m)| !(m.is_finite() && **m > 0.0))
        {
            return Err(DataError::Argument {
                arg: "masses",
                reason: format!("entry {k} = {m} must be finite and > 0"),
            });
        }
        self.masses = Some(masses.to_vec());
        Ok(self)
    }

    /// Where the data came from.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The sorted, distinct time values.
    pub fn times(&self) -> &[f64] {
        &self.times
    }
    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Cells per time point.
    pub fn counts(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.len() / self.dim).collect()
    }
    /// Per-time masses, if attached.
    pub fn masses(&self) -> Option<&[f64]> {
        self.masses.as_deref()
    }
    /// Group k, row-major `(N_k, D)`; a k past the last time point is an error.
    pub fn group(&self, k: usize) -> Result<&[f64], DataError> {
        self.groups
            .get(k)
            .map(Vec::as_slice)
            .ok_or_else(|| DataError::Argument {
                arg: "k",
                reason: format!(
                    "time point {k} of {}, which has {} time points",
                    self.source,
                    self.times.len()
                ),
            })
    }

    /// Every group in time order, row-major `(N_k, D)`.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.groups.iter().map(Vec::as_slice)
    }

    /// Group k of a checked index (crate-internal: callers iterate over `times()`).
    pub(crate) fn cells(&self, k: usize) -> &[f64] {
        &self.groups[k]
    }

    /// Group k as a tensor `(N_k, D)`; a k past the last time point is an error.
    pub fn tensor(&self, k: usize, dtype: DType, device: &Device) -> CoreResult<Tensor> {
        let g = self.groups.get(k).ok_or(am_core::Error::OutOfRange {
            arg: "k",
            value: k as f64,
            allowed: "0..number of time points",
        })?;
        am_core::rng::tensor_from_f64(g.clone(), &[g.len() / self.dim, self.dim], dtype, device)
    }

    fn rebuild(
        &self,
        groups: Vec<Vec<f64>>,
        dim: usize,
        times: Vec<f64>,
        masses: Option<Vec<f64>>,
    ) -> Self {
        Self {
            source: self.source.clone(),
            times,
            groups,
            dim,
            masses,
        }
    }

    /// The same cells with times mapped affinely onto [0, 1] (first → 0, last → 1).
    pub fn times_to_unit(&self) -> Self {
        let (a, b) = (self.times[0], self.times[self.times.len() - 1]);
        let times = self.times.iter().map(|t| (t - a) / (b - a)).collect();
        self.rebuild(self.groups.clone(), self.dim, times, self.masses.clone())
    }

    /// Keeps the first `k` dimensions.
    pub fn first_dims(&self, k: usize) -> Result<Self, DataError> {
        if k == 0 || k > self.dim {
            return Err(DataError::Argument {
                arg: "k",
                reason: format!("must lie in 1..={}, got {k}", self.dim),
            });
        }
        let groups = self
            .groups
            .iter()
            .map(|g| g.chunks(self.dim).flat_map(|r| r[..k].to_vec()).collect())
            .collect();
        Ok(self.rebuild(groups, k, self.times.clone(), self.masses.clone()))
    }

    /// Leave-one-time-point-out: the snapshots without time point `k` (an interior point, so the
    /// remaining path still spans the same interval), and the held-out cells with their time.
    pub fn leave_out(&self, k: usize) -> Result<(Self, f64, Vec<f64>), DataError> {
        if k == 0 || k + 1 >= self.times.len() {
            return Err(DataError::Argument {
                arg: "k",
                reason: format!(
                    "only interior time points 1..={} can be left out, got {k}",
                    self.times.len().saturating_sub(2)
                ),
            });
        }
        let mut groups = self.groups.clone();
        let held = groups.remove(k);
        let mut times = self.times.clone();
        let t = times.remove(k);
        let masses = self.masses.clone().map(|mut m| {
            m.remove(k);
            m
        });
        Ok((self.rebuild(groups, self.dim, times, masses), t, held))
    }

    /// A seeded split of every time point: `test_fraction` of its cells (at least one, and at
    /// least one left for training) go to the test set.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self), DataError> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(DataError::Argument {
                arg: "test_fraction",
                reason: format!("must lie in (0, 1), got {test_fraction}"),
            });
        }
        let mut rng = SeededRng::new(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (k, g) in self.groups.iter().enumerate() {
            let n = g.len() / self.dim;
            if n < 2 {
                return Err(DataError::Argument {
                    arg: "test_fraction",
                    reason: format!("time point {} has {n} cell(s): cannot split", self.times[k]),
                });
            }
            let n_test = ((n as f64 * test_fraction).round() as usize).clamp(1, n - 1);
            let perm = rng.permutation(n);
            let pick = |rows: &[usize]| {
                rows.iter()
                    .flat_map(|&r| g[r * self.dim..(r + 1) * self.dim].to_vec())
                    .collect::<Vec<f64>>()
            };
            test.push(pick(&perm[..n_test]));
            train.push(pick(&perm[n_test..]));
        }
        Ok((
            self.rebuild(train, self.dim, self.times.clone(), self.masses.clone()),
            self.rebuild(test, self.dim, self.times.clone(), self.masses.clone()),
        ))
    }

    /// Replaces every group by `f(group)` (same sizes), for preprocessing.
    pub(crate) fn map_rows(&self, dim: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> Self {
        let groups = self
            .groups
            .iter()
            .map(|g| g.chunks(self.dim).flat_map(&f).collect())
            .collect();
        self.rebuild(groups, dim, self.times.clone(), self.masses.clone())
    }
}

/// The segment of sorted `times` holding t: the index k with τ_k ≤ t ≤ τ_{k+1} and the position
/// s = (t − τ_k)/(τ_{k+1} − τ_k) ∈ [0, 1] within it.
pub(crate) fn segment(times: &[f64], t: f64) -> (usize, f64) {
    let k = times.partition_point(|&s| s <= t).clamp(1, times.len() - 1) - 1;
    (k, (t - times[k]) / (times[k + 1] - times[k]))
}
