//! Exact Wasserstein distances between equal-size uniform clouds (an assignment problem).

use crate::{assignment, Error, Result};
use am_core::{check, DType, Tensor};

fn host_rows(arg: &'static str, x: &Tensor) -> Result<(usize, usize, Vec<f64>)> {
    let (n, d) = check::points(arg, x)?;
    check::finite(arg, x)?;
    Ok((
        n,
        d,
        x.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
    ))
}

fn cost_matrix(x: &Tensor, y: &Tensor, squared: bool) -> Result<(usize, Vec<f64>)> {
    let (n, dx, a) = host_rows("x", x)?;
    let (m, dy, b) = host_rows("y", y)?;
    if dx != dy {
        return Err(Error::DimensionMismatch(dx, dy));
    }
    if n != m {
        return Err(Error::SizeMismatch(n, m));
    }
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let d2: f64 = (0..dx)
                .map(|k| (a[i * dx + k] - b[j * dx + k]).powi(2))
                .sum();
            c[i * n + j] = if squared { d2 } else { d2.sqrt() };
        }
    }
    Ok((n, c))
}

/// W2 between equal-size uniform clouds: √(min_σ (1/N) Σ_i ‖x_i − y_σ(i)‖²), i.e. √`ot.emd2`
/// with the squared Euclidean ground cost (TrajectoryNet/torchcfm's convention).
pub fn w2_equal(x: &Tensor, y: &Tensor) -> Result<f64> {
    let (n, c) = cost_matrix(x, y, true)?;
    let (_, total) = assignment(&c, n)?;
    Ok((total / n as f64).max(0.0).sqrt())
}

/// W1 between equal-size uniform clouds: min_σ (1/N) Σ_i ‖x_i − y_σ(i)‖, i.e. `ot.emd2` with the
/// unsquared Euclidean ground cost (NLSB's convention, the paper's Table 1 column).
pub fn w1_equal(x: &Tensor, y: &Tensor) -> Result<f64> {
    let (n, c) = cost_matrix(x, y, false)?;
    let (_, total) = assignment(&c, n)?;
    Ok(total / n as f64)
}
