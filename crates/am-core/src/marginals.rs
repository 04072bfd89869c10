//! The [`Marginals`] trait: a source of samples x ~ q_t for any t ∈ [0, 1].

use crate::{DType, Device, Result, SeededRng, Tensor};

/// A path of marginal distributions q_t, t ∈ [0, 1], that can be sampled.
pub trait Marginals {
    /// The space dimension D.
    fn dim(&self) -> usize;

    /// One sample x_i ~ q_{t_i} per requested time: returns `(t.len(), D)`.
    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor>;
}
