//! The Action Matching objective (Eq. 7, 13, 20/69, Prop. B.2, Appendix C).

use crate::{AmConfig, Error, LaplacianEstimator, PathSample, Result};
use am_core::{
    Action, AmTerms, ConvexCost, DType, Derivatives, Error as CoreError, LaplacianMode, SeededRng,
    Tensor, TermsLaplacian,
};
use std::sync::Arc;

/// The loss of one batch and the per-sample time integrand.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// The scalar minibatch objective; `backward()` it for ∇θ.
    pub loss: Tensor,
    /// ζ_i = ω(t_i)(H(∇s) + ∂t s + ε²/2·Δs + λ/2·s²) + ω′(t_i)s, `(N, 1)`, detached, before the
    /// importance weight (the quantity whose spread defines p(t) in Eq. 88).
    pub integrand: Tensor,
}

/// The Action Matching objective; see the crate docs for the formula.
#[derive(Clone)]
pub struct ActionMatching {
    config: AmConfig,
    cost: Option<Arc<dyn ConvexCost>>,
}

impl std::fmt::Debug for ActionMatching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionMatching")
            .field("config", &self.config)
            .field("cost", &self.cost.as_ref().map(|c| c.name()))
            .finish()
    }
}

impl ActionMatching {
    /// Validates the configuration.
    pub fn new(config: AmConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config, cost: None })
    }

    /// Replaces H = ½‖a‖² by c*(a) of a convex cost (Sec. 3.3, Prop. B.2).
    pub fn with_cost(mut self, cost: Arc<dyn ConvexCost>) -> Self {
        self.cost = Some(cost);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AmConfig {
        &self.config
    }

    /// Whether a convex cost other than ½‖·‖² is set (then [`ActionMatching::terms`] is refused).
    pub fn has_convex_cost(&self) -> bool {
        self.cost.is_some()
    }

    fn check_dims(d: usize, batch: &PathSample) -> Result<()> {
        for (arg, x) in [("x0", &batch.x0), ("x1", &batch.x1), ("xt", &batch.xt)] {
            let got = x.dim(1)?;
            if got != d {
                return Err(Error::DimensionMismatch {
                    arg,
                    action: d,
                    batch: got,
                });
            }
        }
        am_core::check::times_points(&batch.t, &batch.xt)?;
        Ok(())
    }

    /// The minibatch objective
    /// ω(0)·mean s(0, x₀) − ω(1)·mean s(1, x₁) + mean_i ζ_i / p(t_i), with
    /// ζ = ω(t)(H(∇s) + ∂t s + ε_t²/2·Δs + λ/2·s²) + ω′(t)s:
    /// Eq. 7 (AM), Eq. 13 (entropic), Eq. 20/69 (unbalanced), Eq. 52 (convex cost, H = c*) and
    /// Eq. 84–87 (weighted, importance-sampled). `rng` draws the Hutchinson probe when used.
    pub fn loss(
        &self,
        action: &dyn Action,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<LossOutput> {
        Self::check_dims(action.dim(), batch)?;
        let c = &self.config;
        let (dtype, device) = (batch.xt.dtype(), batch.xt.device());
        // boundary terms (weighted action increment)
        let (w0, _) = c.weight.at(0.0)?;
        let (w1, _) = c.weight.at(1.0)?;
        let t0 = Tensor::zeros((batch.x0.dim(0)?, 1), dtype, device)?;
        let t1 = Tensor::ones((batch.x1.dim(0)?, 1), dtype, device)?;
        let s0 = action.value(&t0, &batch.x0)?.mean_all()?;
        let s1 = action.value(&t1, &batch.x1)?.mean_all()?;
        let boundary = ((s0 * w0)? - (s1 * w1)?)?;
        // time term (weighted smoothness)
        let laplacian = if c.diffusion.active() {
            match c.laplacian {
                LaplacianEstimator::Exact => LaplacianMode::Exact,
                LaplacianEstimator::Hutchinson => LaplacianMode::Hutchinson(
                    rng.rademacher_tensor(batch.xt.dims(), dtype, device)?,
                ),
            }
        } else {
            LaplacianMode::None
        };
        let e = action.eval(&batch.t, &batch.xt, &Derivatives { laplacian })?;
        let h = match &self.cost {
            Some(cost) => cost.conjugate(&e.grad_x)?,
            None => (e.grad_x.sqr()?.sum_keepdim(1)? * 0.5)?,
        };
        let mut inner = (h + &e.dt)?;
        if let Some(lap) = &e.laplacian {
            inner = (inner + (c.diffusion.half_eps_sq(&batch.t)? * lap)?)?;
        }
        if c.growth > 0.0 {
            inner = (inner + (e.s.sqr()? * (0.5 * c.growth))?)?;
        }
        let zeta = if c.weight.is_one() {
            inner
        } else {
            let (w, wd) = c.weight.tensors(&batch.t)?;
            ((w * inner)? + (wd * &e.s)?)?
        };
        let weighted = match &batch.inv_p {
            Some(ip) => (&zeta * ip)?,
            None => zeta.clone(),
        };
        let loss = (boundary + weighted.mean_all()?)?;
        Ok(LossOutput {
            loss,
            integrand: zeta.detach(),
        })
    }

    /// The same objective resolved per sample in host memory, for models that compute ∇θ by
    /// hand (the fused MLP step): identical batch, weights and — drawn from `rng` exactly as
    /// [`ActionMatching::loss`] draws it — Hutchinson probe, so both give the same loss.
    /// Convex costs other than ½‖·‖² are not expressible here and give `Unsupported`.
    pub fn terms(&self, dim: usize, batch: &PathSample, rng: &mut SeededRng) -> Result<AmTerms> {
        if let Some(cost) = &self.cost {
            return Err(CoreError::Unsupported(format!(
                "per-sample terms need the quadratic cost, not `{}`",
                cost.name()
            ))
            .into());
        }
        Self::check_dims(dim, batch)?;
        let c = &self.config;
        let host = |x: &Tensor| -> Result<Vec<f64>> {
            Ok(x.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
        };
        let t = host(&batch.t)?;
        let n = t.len();
        let laplacian = if c.diffusion.active() {
            match c.laplacian {
                LaplacianEstimator::Exact => TermsLaplacian::Exact,
                LaplacianEstimator::Hutchinson => TermsLaplacian::Hutchinson(host(
                    &rng.rademacher_tensor(batch.xt.dims(), batch.xt.dtype(), batch.xt.device())?,
                )?),
            }
        } else {
            TermsLaplacian::None
        };
        let weights = t
            .iter()
            .map(|&ti| c.weight.at(ti))
            .collect::<am_core::Result<Vec<_>>>()?;
        let (omega, omega_dot): (Vec<f64>, Vec<f64>) = weights.into_iter().unzip();
        let half_eps_sq = t
            .iter()
            .map(|&ti| {
                let (eps, _) = c.diffusion.at(ti);
                0.5 * eps * eps
            })
            .collect();
        let scale = match &batch.inv_p {
            Some(ip) => host(ip)?.into_iter().map(|w| w / n as f64).collect(),
            None => vec![1.0 / n as f64; n],
        };
        Ok(AmTerms {
            dim,
            x0: host(&batch.x0)?,
            x1: host(&batch.x1)?,
            xt: host(&batch.xt)?,
            t,
            boundary_weights: [c.weight.at(0.0)?.0, c.weight.at(1.0)?.0],
            omega,
            omega_dot,
            half_eps_sq,
            laplacian,
            growth: c.growth,
            scale,
        })
    }
}
