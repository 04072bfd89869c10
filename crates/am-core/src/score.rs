//! Score fields ∇x log q_t(x): what annealed Langevin dynamics (Algorithms 3–4) and score-matching
//! baselines speak.

use crate::{Result, Tensor};

/// A time-dependent score ∇x log q_t(x).
pub trait ScoreField {
    /// The space dimension D.
    fn dim(&self) -> usize;
    /// ∇x log q_t(x) `(N, D)` at the scalar time `t` for points `x` `(N, D)`; no autograd graph.
    fn score(&self, t: f64, x: &Tensor) -> Result<Tensor>;
}
