//! Sampling and likelihoods of Table 3's baselines from their trained fields:
//! - [`VpProbabilityFlow`]: the VP-SDE's probability-flow ODE from a noise predictor ε̂, as a
//!   velocity field in this project's time, so [`super::sample`] and [`super::bits_per_dim_of`]
//!   serve it unchanged;
//! - [`FieldScore`]: a trained score field f ≈ ∇log q_t read as a [`ScoreField`] for annealed
//!   Langevin dynamics (Algorithm 4, `am_solvers::annealed_langevin`).

use am_core::{Error, LaplacianMode, Result, ScoreField, Tensor, VelocityField, VpSchedule};

/// The probability-flow ODE of the VP-SDE with ∇log p_τ = −ε̂(1 − τ, x)/σ(τ), reparametrised to
/// u ∈ [0, 1] by τ(u) = 1 − u(1 − τ_end): u = 0 is the prior end τ = 1 (≈ N(0, I): α(1) =
/// e^{−5.025}), u = 1 stops at τ_end > 0 where σ > 0 (Song et al. sample to 1e-3 and evaluate
/// likelihoods to 1e-5). In u:
/// dx/du = ½(1 − τ_end)β(τ)(x − ε̂/σ(τ)), and its divergence is
/// ½(1 − τ_end)β(τ)(D − ∇·ε̂/σ(τ)) (with a probe v: vᵀv in place of D, so that Hutchinson's
/// estimate stays unbiased).
pub struct VpProbabilityFlow<'a> {
    /// The noise predictor ε̂(t, x), t = 1 − τ (trained with `Regression::VpNoise`).
    pub noise: &'a dyn VelocityField,
    /// β(τ).
    pub schedule: VpSchedule,
    /// Where the ODE stops, 0 < τ_end < 1.
    pub tau_end: f64,
}

impl VpProbabilityFlow<'_> {
    /// τ(u), the network's time 1 − τ, and the ODE's factor ½(1 − τ_end)β(τ) and σ(τ).
    fn at(&self, u: f64) -> Result<(f64, f64, f64)> {
        if !(self.tau_end > 0.0 && self.tau_end < 1.0) {
            return Err(Error::OutOfRange {
                arg: "tau_end",
                value: self.tau_end,
                allowed: "(0, 1)",
            });
        }
        let tau = 1.0 - u * (1.0 - self.tau_end);
        let (_, sigma) = self.schedule.alpha_sigma(tau);
        Ok((
            1.0 - tau,
            0.5 * (1.0 - self.tau_end) * self.schedule.beta(tau),
            sigma,
        ))
    }
}

impl VelocityField for VpProbabilityFlow<'_> {
    fn dim(&self) -> usize {
        self.noise.dim()
    }

    fn velocity(&self, u: f64, x: &Tensor) -> Result<Tensor> {
        let (t, c, sigma) = self.at(u)?;
        let eps = self.noise.velocity(t, x)?;
        Ok(((x - (eps / sigma)?)? * c)?)
    }

    fn velocity_divergence(
        &self,
        u: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> Result<(Tensor, Tensor)> {
        let (t, c, sigma) = self.at(u)?;
        let (eps, div_eps) = self.noise.velocity_divergence(t, x, mode)?;
        let v = ((x - (&eps / sigma)?)? * c)?;
        let identity = match mode {
            LaplacianMode::Hutchinson(probe) => probe.sqr()?.sum_keepdim(1)?,
            _ => Tensor::full(self.dim() as f64, div_eps.dims(), x.device())?
                .to_dtype(div_eps.dtype())?,
        };
        let div = ((identity - (div_eps / sigma)?)? * c)?;
        Ok((v, div))
    }
}

/// A vector field f(t, x) ≈ ∇log q_t(x) (trained with `Regression::SlicedScore`) as a score.
pub struct FieldScore<'a>(pub &'a dyn VelocityField);

impl ScoreField for FieldScore<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }

    fn score(&self, t: f64, x: &Tensor) -> Result<Tensor> {
        self.0.velocity(t, x)
    }
}

/// `n` images by annealed Langevin dynamics (Algorithm 4) with `score`: x₀ ~ N(0, I) (seeded),
/// levels t = dt, 2dt, …, < 1 (dt = 1e-2: 99 levels), `inner` steps per level with
/// α = α₁(1 − t)², then `final_steps` at the last level ([`LangevinSchedule::ImageLastLevel`]);
/// batches of `batch`. With inner = 10 and final_steps = 100: 1,090 NFE (Table 3).
///
/// [`LangevinSchedule::ImageLastLevel`]: am_solvers::LangevinSchedule::ImageLastLevel
pub fn sample_langevin(
    score: &dyn ScoreField,
    n: usize,
    batch: usize,
    alpha1: f64,
    (inner, final_steps): (usize, usize),
    seed: u64,
    dtype: am_core::DType,
) -> crate::Result<super::Samples> {
    if n == 0 || batch == 0 {
        return Err(crate::Error::Argument {
            arg: "n",
            reason: "need n ≥ 1 images in batches of ≥ 1".into(),
        });
    }
    let d = score.dim();
    let device = am_core::Device::Cpu;
    let mut rng = am_core::SeededRng::new(seed);
    let x0 = rng.normal_tensor(&[n, d], dtype, &device)?;
    let times: Vec<f64> = (1..100).map(|k| k as f64 / 100.0).collect();
    let schedule = am_solvers::LangevinSchedule::ImageLastLevel {
        alpha1,
        final_steps,
    };
    let (mut out, mut nfe) = (Vec::new(), 0);
    for start in (0..n).step_by(batch) {
        let x = x0.narrow(0, start, batch.min(n - start))?;
        let tr = am_solvers::annealed_langevin(score, &x, &times, schedule, inner, &mut rng)?;
        nfe = nfe.max(tr.nfe);
        out.push(tr.last()?);
    }
    Ok(super::Samples {
        images: Tensor::cat(&out, 0)?,
        nfe,
    })
}
