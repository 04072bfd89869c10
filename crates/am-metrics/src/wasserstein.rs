//! Exact Wasserstein distances between equal-size uniform clouds.

use crate::{Error, Result};
use am_core::{check, Tensor};

fn equal_sizes(x: &Tensor, y: &Tensor) -> Result<()> {
    let (n, _) = check::points("x", x)?;
    let (m, _) = check::points("y", y)?;
    if n != m {
        return Err(Error::SizeMismatch(n, m));
    }
    Ok(())
}

/// W2 between equal-size uniform clouds: √(min_σ (1/N) Σ_i ‖x_i − y_σ(i)‖²), i.e. √`ot.emd2`
/// with the squared Euclidean ground cost (TrajectoryNet/torchcfm's convention). Fails unless the
/// clouds have the same size; [`crate::w2`] takes any sizes and weights. (With equal sizes and
/// uniform weights an optimal plan is a permutation; the network simplex finds it faster than the
/// assignment solver [`crate::assignment`], which remains for callers that need the permutation.)
pub fn w2_equal(x: &Tensor, y: &Tensor) -> Result<f64> {
    equal_sizes(x, y)?;
    crate::w2(x, y, None, None)
}

/// W1 between equal-size uniform clouds: min_σ (1/N) Σ_i ‖x_i − y_σ(i)‖, i.e. `ot.emd2` with the
/// unsquared Euclidean ground cost (NLSB's convention, the paper's Table 1 column).
pub fn w1_equal(x: &Tensor, y: &Tensor) -> Result<f64> {
    equal_sizes(x, y)?;
    crate::w1(x, y, None, None)
}
