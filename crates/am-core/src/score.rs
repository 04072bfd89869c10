//! Score fields ∇x log q_t(x): what annealed Langevin dynamics (Algorithms 3–4) and score-matching
//! baselines speak.

use crate::{DType, Device, Result, Tensor};

/// A time-dependent score ∇x log q_t(x).
pub trait ScoreField {
    /// The space dimension D.
    fn dim(&self) -> usize;
    /// ∇x log q_t(x) `(N, D)` at the scalar time `t` for points `x` `(N, D)`; no autograd graph.
    fn score(&self, t: f64, x: &Tensor) -> Result<Tensor>;
}

/// A trainable vector field f_θ(t, x) ∈ ℝᴰ — a score model for score matching or a velocity
/// model for flow matching — that returns its directional derivatives in x from the same forward
/// pass, so that the trace of ∂f/∂x (Hyvärinen's implicit score matching) or vᵀ(∂f/∂x)v (sliced
/// score matching) costs one pass and one first-order `backward()` for ∇θ.
pub trait VectorModel {
    /// The space dimension D.
    fn dim(&self) -> usize;
    /// f_θ(t, x) `(N, D)` for times `t` `(N, 1)` and points `x` `(N, D)`, and, when `directions`
    /// `(K, N, D)` are given, the Jacobian-vector products (∂f/∂x)·v_k `(K, N, D)`; both carry
    /// the autograd graph through θ.
    fn forward_jvp(
        &self,
        t: &Tensor,
        x: &Tensor,
        directions: Option<&Tensor>,
    ) -> Result<(Tensor, Option<Tensor>)>;
    /// The trainable parameters.
    fn parameters(&self) -> Vec<crate::Var>;
}

/// The D unit directions e_i repeated for N points, `(D, N, D)`: the directions whose
/// Jacobian-vector products give the exact trace of ∂f/∂x.
pub fn unit_directions(n: usize, d: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    Ok(Tensor::eye(d, dtype, device)?
        .unsqueeze(1)?
        .broadcast_as((d, n, d))?
        .contiguous()?)
}
