//! The objectives of the baselines the paper compares Action Matching with, for any
//! [`VectorModel`] f_θ(t, x):
//!
//! - **score matching** for annealed Langevin dynamics (Table 2, App. E.1): Hyvärinen's implicit
//!   objective J(θ) = E_t E_{x∼q_t}[½‖f_θ(t, x)‖² + tr ∂f_θ/∂x] (Hyvärinen 2005, Thm. 1), equal to
//!   ½E‖f_θ − ∇log q_t‖² up to a constant of the data; the trace exact (D Jacobian-vector
//!   products) or, for sliced score matching (Song et al. 2020), one Rademacher probe vᵀ(∂f/∂x)v;
//! - **conditional flow matching** (the OT-CFM baseline of the EB experiment):
//!   E‖f_θ(t, x_t) − u_t‖² for pairs (x_t, u_t) of a conditional path, e.g. x_t = (1−t)x₀ + t·x₁,
//!   u_t = x₁ − x₀ with (x₀, x₁) from a minibatch optimal transport plan.
//!
//! Shapes: `t` `(N, 1)`, `x`, `u` `(N, D)`; the losses are scalars with the autograd graph.

use crate::{Error, Result};
use am_core::{check, SeededRng, Tensor, VectorModel};

/// How score matching computes tr ∂f/∂x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TraceEstimator {
    /// Σ_i (∂f/∂x · e_i)_i: D Jacobian-vector products (Hyvärinen's SM with the exact trace).
    Exact,
    /// vᵀ(∂f/∂x)v with one Rademacher v per sample (sliced score matching).
    Rademacher,
}

fn check_model(model: &dyn VectorModel, t: &Tensor, x: &Tensor) -> Result<usize> {
    let (n, d) = check::times_points(t, x)?;
    if d != model.dim() {
        return Err(Error::DimensionMismatch {
            arg: "x",
            action: model.dim(),
            batch: d,
        });
    }
    Ok(n)
}

/// The score-matching objective per sample, ½‖f‖² + tr ∂f/∂x `(N, 1)`, with the autograd graph.
pub fn score_matching_terms(
    model: &dyn VectorModel,
    t: &Tensor,
    x: &Tensor,
    trace: TraceEstimator,
    rng: &mut SeededRng,
) -> Result<Tensor> {
    let n = check_model(model, t, x)?;
    let d = model.dim();
    let (f, jvp, probe) = match trace {
        TraceEstimator::Exact => {
            let dirs = am_core::score::unit_directions(n, d, x.dtype(), x.device())?;
            let (f, j) = model.forward_jvp(t, x, Some(&dirs))?;
            (f, j, dirs)
        }
        TraceEstimator::Rademacher => {
            let v = rng.rademacher_tensor(&[1, n, d], x.dtype(), x.device())?;
            let (f, j) = model.forward_jvp(t, x, Some(&v))?;
            (f, j, v)
        }
    };
    let jvp = jvp.ok_or_else(|| {
        am_core::Error::Unsupported("the model returned no Jacobian-vector products".into())
    })?;
    // Σ_k v_kᵀ (J v_k): the exact trace for unit v_k, vᵀJv for one probe
    let tr = (jvp * probe)?.sum(2)?.sum(0)?.unsqueeze(1)?;
    Ok(((f.sqr()?.sum_keepdim(1)? * 0.5)? + tr)?)
}

/// The score-matching loss: the batch mean of [`score_matching_terms`].
pub fn score_matching_loss(
    model: &dyn VectorModel,
    t: &Tensor,
    x: &Tensor,
    trace: TraceEstimator,
    rng: &mut SeededRng,
) -> Result<Tensor> {
    Ok(score_matching_terms(model, t, x, trace, rng)?.mean_all()?)
}

/// The conditional flow-matching loss E‖f_θ(t, x_t) − u_t‖² (batch mean of the squared norm).
pub fn flow_matching_loss(
    model: &dyn VectorModel,
    t: &Tensor,
    x_t: &Tensor,
    u_t: &Tensor,
) -> Result<Tensor> {
    check_model(model, t, x_t)?;
    if u_t.dims() != x_t.dims() {
        return Err(am_core::Error::Shape {
            arg: "u_t",
            expected: format!("{:?} like x_t", x_t.dims()),
            got: u_t.dims().to_vec(),
        }
        .into());
    }
    let (f, _) = model.forward_jvp(t, x_t, None)?;
    Ok((f - u_t)?.sqr()?.sum_keepdim(1)?.mean_all()?)
}
