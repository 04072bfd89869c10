//! Preprocessing as in the reference protocols: statistics fitted on training cells only.

use super::{DataError, Snapshots};

/// Per-dimension standardisation x ↦ (x − mean)/std with statistics fitted on training cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per-dimension means.
    pub mean: Vec<f64>,
    /// Per-dimension standard deviations (population, ddof = 0, as scikit-learn's StandardScaler).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits on every cell of `train` (all time points pooled).
    pub fn fit(train: &Snapshots) -> Result<Self, DataError> {
        let d = train.dim();
        let (mut sum, mut sq, mut n) = (vec![0.0; d], vec![0.0; d], 0usize);
        for k in 0..train.times().len() {
            for r in train.cells(k).chunks(d) {
                for j in 0..d {
                    sum[j] += r[j];
                }
                n += 1;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        for k in 0..train.times().len() {
            for r in train.cells(k).chunks(d) {
                for j in 0..d {
                    sq[j] += (r[j] - mean[j]).powi(2);
                }
            }
        }
        let std: Vec<f64> = sq.iter().map(|s| (s / n as f64).sqrt()).collect();
        if let Some(j) = std.iter().position(|s| *s == 0.0) {
            return Err(DataError::Argument {
                arg: "train",
                reason: format!("dimension {j} is constant: cannot standardise"),
            });
        }
        Ok(Self { mean, std })
    }

    /// Applies the fitted transform to any snapshots of the same dimension.
    pub fn apply(&self, s: &Snapshots) -> Result<Snapshots, DataError> {
        if s.dim() != self.mean.len() {
            return Err(DataError::Argument {
                arg: "snapshots",
                reason: format!("dimension {} ≠ the fitted {}", s.dim(), self.mean.len()),
            });
        }
        Ok(s.map_rows(s.dim(), |r| {
            r.iter()
                .zip(&self.mean)
                .zip(&self.std)
                .map(|((x, m), sd)| (x - m) / sd)
                .collect()
        }))
    }
}

/// The mean and population covariance of every cell of `s`.
fn covariance(s: &Snapshots) -> (Vec<f64>, nalgebra::DMatrix<f64>) {
    let d = s.dim();
    let rows: Vec<&[f64]> = (0..s.times().len())
        .flat_map(|k| s.cells(k).chunks(d))
        .collect();
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = nalgebra::DMatrix::<f64>::zeros(d, d);
    for r in &rows {
        let y = nalgebra::DVector::from_iterator(d, r.iter().zip(&mean).map(|(a, m)| a - m));
        cov += &y * y.transpose();
    }
    cov /= n;
    (mean, cov)
}

/// Principal components of the pooled cells: the top-k eigenvectors of the population
/// covariance, for pictures of high-dimensional snapshots (x ↦ Vᵀ(x − μ)).
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// μ.
    pub mean: Vec<f64>,
    /// The k components, row-major `(k, D)`, by decreasing variance (sign: largest entry > 0).
    pub components: Vec<f64>,
    /// Their variances (eigenvalues).
    pub variances: Vec<f64>,
    /// The fraction of the total variance each explains.
    pub explained: Vec<f64>,
}

impl Pca {
    /// Fits k ≤ D components on every cell of `s`.
    pub fn fit(s: &Snapshots, k: usize) -> Result<Self, DataError> {
        let d = s.dim();
        if k == 0 || k > d {
            return Err(DataError::Argument {
                arg: "k",
                reason: format!("need 1 ≤ k ≤ D = {d}, got {k}"),
            });
        }
        let (mean, cov) = covariance(s);
        let total = cov.trace().max(f64::MIN_POSITIVE);
        let e = cov.symmetric_eigen();
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| e.eigenvalues[b].total_cmp(&e.eigenvalues[a]));
        let mut components = Vec::with_capacity(k * d);
        let mut variances = Vec::with_capacity(k);
        for &j in order.iter().take(k) {
            let v = e.eigenvectors.column(j);
            let big = v
                .iter()
                .cloned()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            components.extend(v.iter().map(|x| sign * x));
            variances.push(e.eigenvalues[j].max(0.0));
        }
        let explained = variances.iter().map(|v| v / total).collect();
        Ok(Self {
            mean,
            components,
            variances,
            explained,
        })
    }

    /// The k coordinates of one D-dimensional row.
    pub fn project(&self, row: &[f64]) -> Result<Vec<f64>, DataError> {
        let d = self.mean.len();
        if row.len() != d {
            return Err(DataError::Argument {
                arg: "row",
                reason: format!("{} values; the PCA was fitted on {d} dimensions", row.len()),
            });
        }
        Ok(self
            .components
            .chunks(d)
            .map(|c| {
                c.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(v, (x, m))| v * (x - m))
                    .sum()
            })
            .collect())
    }
}

/// Whitening x ↦ Σ^{−1/2}(x − μ) (ZCA) with μ and Σ (population covariance) fitted on training
/// cells, through a symmetric eigendecomposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitener {
    /// μ.
    pub mean: Vec<f64>,
    /// Σ^{−1/2}, row-major.
    pub transform: Vec<f64>,
}

impl Whitener {
    /// Fits on every cell of `train`; fails when Σ is singular (eigenvalue ≤ 1e-12·trace).
    pub fn fit(train: &Snapshots) -> Result<Self, DataError> {
        let (mean, cov) = covariance(train);
        let trace = cov.trace();
        let e = cov.symmetric_eigen();
        if let Some(l) = e.eigenvalues.iter().find(|l| **l <= 1e-12 * trace) {
            return Err(DataError::Argument {
                arg: "train",
                reason: format!("covariance is singular (eigenvalue {l:e}): cannot whiten"),
            });
        }
        let inv_sqrt = &e.eigenvectors
            * nalgebra::DMatrix::from_diagonal(&e.eigenvalues.map(|l| 1.0 / l.sqrt()))
            * e.eigenvectors.transpose();
        Ok(Self {
            mean,
            transform: inv_sqrt.transpose().as_slice().to_vec(),
        })
    }

    /// Applies the fitted transform.
    pub fn apply(&self, s: &Snapshots) -> Result<Snapshots, DataError> {
        let d = self.mean.len();
        if s.dim() != d {
            return Err(DataError::Argument {
                arg: "snapshots",
                reason: format!("dimension {} ≠ the fitted {d}", s.dim()),
            });
        }
        Ok(s.map_rows(d, |r| {
            (0..d)
                .map(|i| {
                    (0..d)
                        .map(|j| self.transform[i * d + j] * (r[j] - self.mean[j]))
                        .sum()
                })
                .collect()
        }))
    }
}
