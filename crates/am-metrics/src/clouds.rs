//! Input checks shared by every metric: two finite clouds of one dimension, and their weights.

use crate::{Error, Result};
use am_core::{check, DType, Tensor};

/// `x` `(N, D)` and `y` `(M, D)`: non-empty, finite, same D; returns (N, M, D).
pub(crate) fn check_clouds(x: &Tensor, y: &Tensor) -> Result<(usize, usize, usize)> {
    let (n, dx) = check::points("x", x)?;
    let (m, dy) = check::points("y", y)?;
    if dx != dy {
        return Err(Error::DimensionMismatch(dx, dy));
    }
    check::finite("x", x)?;
    check::finite("y", y)?;
    Ok((n, m, dx))
}

/// Weights of an `n`-point cloud normalised to total mass 1 (uniform when `None`), validated:
/// `n` entries, finite, ≥ 0, positive total.
pub(crate) fn normalized_weights(
    arg: &'static str,
    w: Option<&Tensor>,
    n: usize,
) -> Result<Vec<f64>> {
    let Some(w) = w else {
        return Ok(vec![1.0 / n as f64; n]);
    };
    let v: Vec<f64> = w.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    if v.len() != n {
        return Err(am_core::Error::Shape {
            arg,
            expected: format!("{n} weights"),
            got: w.dims().to_vec(),
        }
        .into());
    }
    let s = check::weights(arg, &v)?;
    Ok(v.into_iter().map(|x| x / s).collect())
}
