//! The reverse sweep: ∂(u·h)/∂[e(t), x] = Jᵀu for a cotangent u, through the MLP's layers by
//! hand (δ_{l−1} = (δ_l W_lᵀ) ⊙ σ′(z_{l−1})), built from differentiable tensor ops so that a
//! single first-order backward of a loss in ∇x s, ∂t s yields ∇θ.

use crate::Mlp;
use am_core::candle::{Result, Tensor};

/// σ′(z_l) of every hidden layer, kept from the forward pass.
pub(crate) struct ReverseCache {
    slopes: Vec<Tensor>,
}

/// Forward pass keeping σ′ of each hidden layer; returns the output h `(N, m)`.
pub(crate) fn forward(mlp: &Mlp, u: &Tensor) -> Result<(Tensor, ReverseCache)> {
    let act = mlp.activation();
    let layers: Vec<_> = mlp.layers().collect();
    let last = layers.len() - 1;
    let mut a = u.clone();
    let mut slopes = Vec::with_capacity(last);
    for (l, (w, b)) in layers.iter().enumerate() {
        let z = a.matmul(w)?.broadcast_add(b)?;
        if l < last {
            let j = act.jet(&z, false)?;
            slopes.push(j.d1);
            a = j.value;
        } else {
            a = z;
        }
    }
    Ok(((a * mlp.config().output_scale)?, ReverseCache { slopes }))
}

/// Jᵀu `(N, F + D)` for the cotangent `u` `(N, m)` of the output h.
pub(crate) fn pullback(mlp: &Mlp, cache: &ReverseCache, u: &Tensor) -> Result<Tensor> {
    let layers: Vec<_> = mlp.layers().collect();
    let mut delta = (u * mlp.config().output_scale)?;
    for l in (0..layers.len()).rev() {
        let g = delta.matmul(&layers[l].0.t()?)?;
        if l == 0 {
            return Ok(g);
        }
        delta = (g * &cache.slopes[l - 1])?;
    }
    unreachable!("an MLP has at least one layer")
}
