//! A minibatch of the path: boundary samples and intermediate samples at random times.

use crate::time::{TimeBatch, TimeSampler};
use crate::Result;
use am_core::{check, DType, Device, Error as CoreError, Marginals, SeededRng, Tensor};

/// Samples x₀ ~ q₀, x₁ ~ q₁, and (t_i, x_{t_i} ~ q_{t_i}) with optional importance weights.
#[derive(Debug, Clone)]
pub struct PathSample {
    /// `(N₀, D)` samples of q₀.
    pub x0: Tensor,
    /// `(N₁, D)` samples of q₁.
    pub x1: Tensor,
    /// `(N, 1)` times in [0, 1].
    pub t: Tensor,
    /// `(N, D)` samples x_{t_i} ~ q_{t_i}.
    pub xt: Tensor,
    /// `(N, 1)` importance weights 1/p(t_i) for the time term; `None` for p uniform.
    pub inv_p: Option<Tensor>,
}

impl PathSample {
    /// Validates and assembles a batch given by the caller (shapes, finiteness, t ∈ [0, 1],
    /// positive finite importance weights).
    pub fn new(
        x0: Tensor,
        x1: Tensor,
        t: Tensor,
        xt: Tensor,
        inv_p: Option<Tensor>,
    ) -> Result<Self> {
        let (_, d0) = check::points("x0", &x0)?;
        let (_, d1) = check::points("x1", &x1)?;
        check::points("xt", &xt)?;
        let (n, d) = check::times_points(&t, &xt)?;
        for (arg, dd) in [("x1", d1), ("xt", d)] {
            if dd != d0 {
                return Err(CoreError::Shape {
                    arg,
                    expected: format!("(·, {d0}) like x0"),
                    got: vec![dd],
                }
                .into());
            }
        }
        check::finite("x0", &x0)?;
        check::finite("x1", &x1)?;
        check::finite("xt", &xt)?;
        check::unit_interval("t", &t)?;
        if let Some(w) = &inv_p {
            if w.dims() != [n, 1] {
                return Err(CoreError::Shape {
                    arg: "inv_p",
                    expected: format!("({n}, 1)"),
                    got: w.dims().to_vec(),
                }
                .into());
            }
            check::finite("inv_p", w)?;
            let min = w.min_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if min <= 0.0 {
                return Err(CoreError::OutOfRange {
                    arg: "inv_p",
                    value: min,
                    allowed: "(0, ∞)",
                }
                .into());
            }
        }
        Ok(Self {
            x0,
            x1,
            t,
            xt,
            inv_p,
        })
    }

    /// Draws a batch from a path: `n` boundary samples at each end and `n` intermediate ones at
    /// times from `sampler` (Algorithm 1 / Algorithm 2).
    pub fn draw(
        marginals: &dyn Marginals,
        n: usize,
        sampler: &mut dyn TimeSampler,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        if n == 0 {
            return Err(CoreError::Empty { arg: "n" }.into());
        }
        let x0 = marginals.sample(&vec![0.0; n], rng, dtype, device)?;
        let x1 = marginals.sample(&vec![1.0; n], rng, dtype, device)?;
        let TimeBatch { t, inv_p } = sampler.sample(n, rng);
        let xt = marginals.sample(&t, rng, dtype, device)?;
        let tt = am_core::rng::tensor_from_f64(t, &[n, 1], dtype, device)?;
        let inv_p = match inv_p {
            Some(w) => Some(am_core::rng::tensor_from_f64(w, &[n, 1], dtype, device)?),
            None => None,
        };
        Ok(Self {
            x0,
            x1,
            t: tt,
            xt,
            inv_p,
        })
    }

    /// The times as host values (for the adaptive sampler).
    pub fn times(&self) -> Result<Vec<f64>> {
        Ok(self
            .t
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?)
    }
}
