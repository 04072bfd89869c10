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
            for r in train.group(k).chunks(d) {
                for j in 0..d {
                    sum[j] += r[j];
                }
                n += 1;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        for k in 0..train.times().len() {
            for r in train.group(k).chunks(d) {
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
