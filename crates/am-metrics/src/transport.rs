//! Exact W1 and W2 between weighted clouds of any sizes, on top of `am_core::ot::transport`
//! (network simplex).

pub use am_core::ot::{transport, TransportPlan};

use crate::Result;
use am_core::{DType, Tensor};

/// The ground cost c(x, y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroundCost {
    /// ‖x − y‖² (W2 = √OT).
    SquaredEuclidean,
    /// ‖x − y‖ (W1 = OT).
    Euclidean,
}

/// The cost matrix of two clouds on the host (f64), row-major `N × M`.
pub fn cost_matrix(x: &Tensor, y: &Tensor, ground: GroundCost) -> Result<(usize, usize, Vec<f64>)> {
    let (n, m, dx) = crate::clouds::check_clouds(x, y)?;
    let a: Vec<f64> = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let b: Vec<f64> = y.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mut c = am_core::ot::squared_distances(&a, &b, dx)?;
    if ground == GroundCost::Euclidean {
        c.iter_mut().for_each(|v| *v = v.sqrt());
    }
    Ok((n, m, c))
}

/// Exact W1 between weighted clouds of any sizes: OT with the Euclidean ground cost (`ot.emd2`
/// with `metric='euclidean'`; NLSB's convention). Uniform weights when `None`.
pub fn w1(x: &Tensor, y: &Tensor, a: Option<&Tensor>, b: Option<&Tensor>) -> Result<f64> {
    let (n, m, c) = cost_matrix(x, y, GroundCost::Euclidean)?;
    Ok(transport(
        &crate::clouds::normalized_weights("a", a, n)?,
        &crate::clouds::normalized_weights("b", b, m)?,
        &c,
    )?
    .cost)
}

/// Exact W2 between weighted clouds of any sizes: √OT with the squared Euclidean ground cost
/// (√`ot.emd2` on `sqeuclidean`; TrajectoryNet/torchcfm's convention). Uniform weights when `None`.
pub fn w2(x: &Tensor, y: &Tensor, a: Option<&Tensor>, b: Option<&Tensor>) -> Result<f64> {
    let (n, m, c) = cost_matrix(x, y, GroundCost::SquaredEuclidean)?;
    Ok(transport(
        &crate::clouds::normalized_weights("a", a, n)?,
        &crate::clouds::normalized_weights("b", b, m)?,
        &c,
    )?
    .cost
    .max(0.0)
    .sqrt())
}
