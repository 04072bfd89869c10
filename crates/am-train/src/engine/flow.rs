//! The regression baselines of Table 3 through the same [`Trainer`] as AM, so all get the same
//! batches, schedule, clipping, EMA, time sampler and checkpoints. A step pairs the batch's q₀
//! and q₁ samples row by row (x₀ noise, x₁ data: the independent coupling) at its times t and
//! regresses a vector field f on a target ([`Regression`]); the AM objective and the batch's
//! x_t are not used:
//! - flow matching (I-CFM; Table 3's "flow matching"): f(t, x_t) ≈ x₁ − x₀ at
//!   x_t = (1 − t)x₀ + t x₁;
//! - the VP-SDE (Song et al. 2020b, App. E.2) by denoising score matching with ε-prediction
//!   (weight λ(τ) = σ(τ)²): at τ = τ_min + (1 − τ_min)(1 − t) and x = α(τ)x₁ + σ(τ)x₀,
//!   f(1 − τ, x) ≈ x₀, so that ∇log p_τ(x) ≈ −f/σ(τ);
//! - sliced score matching on the AM path (ALD + SSM, Song et al. 2020a): at t' = t_max·t and
//!   x = (1 − t')x₀ + t'x₁, (1 − t')²(½‖f(t', x)‖² + vᵀ(∂f/∂x)v) with one Rademacher v per image,
//!   vᵀ(∂f/∂x)v = v·∇x(v·f) by a backward that keeps its graph (candle's double backward, see
//!   `am_core::double_backward`), so f ≈ ∇log q_{t'}; (1 − t')² is the noise variance of q_{t'}
//!   (the NCSN weighting).
//!
//! [`Trainer`]: crate::Trainer

use super::{
    adam_restore, adam_state, add_gradients, apply_flat, backward_and_update, flatten, set_flat,
    Engine, EngineKind, OptimizerState, ShardOutcome, StepOutcome,
};
use crate::{Error, Result};
use am_core::train::{Adam, AdamConfig, Clip};
use am_core::{DType, Device, SeededRng, Tensor, Var, VectorModel, VpSchedule};
use am_objectives::{ActionMatching, PathSample};

/// What a [`RegressionEngine`] fits; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Regression {
    /// Flow matching (I-CFM): f(t, x_t) ≈ x₁ − x₀.
    FlowMatching,
    /// The VP-SDE's denoising score matching with ε-prediction.
    VpNoise {
        /// β(τ).
        schedule: VpSchedule,
        /// The smallest τ trained (Song et al.: 1e-5).
        tau_min: f64,
    },
    /// Sliced score matching of q_t on the linear path, for annealed Langevin dynamics.
    SlicedScore {
        /// The largest t trained (q_t's noise is 1 − t; the scores blow up at t = 1).
        t_max: f64,
    },
}

impl Regression {
    /// The VP-SDE target with β(τ) = 0.1 + 19.9τ and τ_min = 1e-5.
    pub fn vp_sde() -> Self {
        Regression::VpNoise {
            schedule: VpSchedule::default(),
            tau_min: 1e-5,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Regression::FlowMatching => Ok(()),
            Regression::VpNoise { schedule, tau_min } => {
                schedule.validate()?;
                if !(tau_min > 0.0 && tau_min < 1.0) {
                    return Err(am_core::Error::config("tau_min", "needs 0 < τ_min < 1").into());
                }
                Ok(())
            }
            Regression::SlicedScore { t_max } => {
                if !(t_max > 0.0 && t_max < 1.0) {
                    return Err(am_core::Error::config("t_max", "needs 0 < t_max < 1").into());
                }
                Ok(())
            }
        }
    }
}

/// Per-row f64 coefficients as an `(N, 1)` column like `like`.
fn column(values: Vec<f64>, like: &Tensor) -> Result<Tensor> {
    let n = values.len();
    Ok(am_core::rng::tensor_from_f64(
        values,
        &[n, 1],
        like.dtype(),
        like.device(),
    )?)
}

/// A vector-field model the flow-matching engine can train.
pub trait TrainableField: VectorModel + Sized {
    /// The configuration as JSON (stored in checkpoints, compared on resume).
    fn describe(&self) -> String;
    /// A deep copy: new variables with the same values.
    fn deep_copy(&self) -> am_core::Result<Self>;
    /// Training-only behaviour (dropout) on or off.
    fn set_training(&self, on: bool) {
        let _ = on;
    }
    /// Reseeds dropout for one shard of a data-parallel step (see `TrainableAction::reseed`).
    fn reseed(&self, seed: u64) {
        let _ = seed;
    }
}

impl TrainableField for am_models::UNetField {
    fn describe(&self) -> String {
        format!(
            r#"{{"flow_matching":{}}}"#,
            serde_json::to_string(self.net.config()).unwrap_or_default()
        )
    }

    fn deep_copy(&self) -> am_core::Result<Self> {
        Ok(am_models::UNetField {
            net: self.net.deep_copy()?,
        })
    }

    fn set_training(&self, on: bool) {
        self.net.set_training(on)
    }

    fn reseed(&self, seed: u64) {
        self.net.set_dropout_seed(seed)
    }
}

/// The regression engine; see the module docs.
#[derive(Debug)]
pub struct RegressionEngine<F> {
    model: F,
    adam: Adam,
    target: Regression,
}

/// The flow-matching engine: a [`RegressionEngine`] made by [`RegressionEngine::new`].
pub type FlowMatchingEngine<F> = RegressionEngine<F>;

impl<F: TrainableField> RegressionEngine<F> {
    /// A flow-matching engine for `model` with a fresh Adam.
    pub fn new(model: F, adam: AdamConfig) -> Result<Self> {
        Self::with_target(model, adam, Regression::FlowMatching)
    }

    /// An engine fitting `target`.
    /// Sliced score matching needs candle's double backward on the calling thread (checked by
    /// `am_core::double_backward::probe`).
    pub fn with_target(model: F, adam: AdamConfig, target: Regression) -> Result<Self> {
        target.validate()?;
        if matches!(target, Regression::SlicedScore { .. }) {
            am_core::double_backward::probe()?;
        }
        let vars = model.parameters();
        if vars.is_empty() {
            return Err(am_core::Error::Empty {
                arg: "model parameters",
            }
            .into());
        }
        Ok(Self {
            adam: Adam::new(vars, adam)?,
            model,
            target,
        })
    }

    /// What the engine fits.
    pub fn target(&self) -> Regression {
        self.target
    }

    /// The per-sample loss `(N, 1)` of the target (module docs); `rng` draws SSM's probes.
    fn per_sample(&self, batch: &PathSample, rng: &mut SeededRng) -> Result<Tensor> {
        let (x0, x1, t) = (&batch.x0, &batch.x1, &batch.t);
        if x0.dims() != x1.dims() || x0.dims()[0] != t.dims()[0] {
            return Err(Error::Argument {
                arg: "batch",
                reason: format!(
                    "flow matching pairs x₀ {:?} with x₁ {:?} at t {:?}: equal counts needed",
                    x0.dims(),
                    x1.dims(),
                    t.dims()
                ),
            });
        }
        match self.target {
            Regression::FlowMatching => {
                let xt = (x0.broadcast_mul(&(1.0 - t)?)? + x1.broadcast_mul(t)?)?;
                let (f, _) = self.model.forward_jvp(t, &xt, None)?;
                Ok((f - (x1 - x0)?)?.sqr()?.sum_keepdim(1)?)
            }
            Regression::VpNoise { schedule, tau_min } => {
                let tv: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
                let taus: Vec<f64> = tv
                    .iter()
                    .map(|ti| tau_min + (1.0 - tau_min) * (1.0 - ti))
                    .collect();
                let (a, s): (Vec<f64>, Vec<f64>) =
                    taus.iter().map(|&tau| schedule.alpha_sigma(tau)).unzip();
                let x =
                    (x1.broadcast_mul(&column(a, x1)?)? + x0.broadcast_mul(&column(s, x0)?)?)?;
                let net_t = column(taus.iter().map(|tau| 1.0 - tau).collect(), t)?;
                let (f, _) = self.model.forward_jvp(&net_t, &x, None)?;
                Ok((f - x0)?.sqr()?.sum_keepdim(1)?)
            }
            Regression::SlicedScore { t_max } => {
                let tt = (t * t_max)?;
                let x = (x0.broadcast_mul(&(1.0 - &tt)?)? + x1.broadcast_mul(&tt)?)?;
                let xv = Var::from_tensor(&x.detach())?;
                let (f, _) = self.model.forward_jvp(&tt, xv.as_tensor(), None)?;
                let v = rng.rademacher_tensor(x.dims(), x.dtype(), x.device())?;
                let grads = (&f * &v)?.sum_all()?.backward()?;
                let jt_v = grads.get(xv.as_tensor()).ok_or_else(|| {
                    am_core::Error::Unsupported("autograd returned no ∂(v·f)/∂x".into())
                })?;
                let quad = (jt_v * &v)?.sum_keepdim(1)?;
                let half_sq = (f.sqr()?.sum_keepdim(1)? * 0.5)?;
                let weight = (1.0 - &tt)?.sqr()?;
                Ok(((half_sq + quad)? * weight)?)
            }
        }
    }
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

impl<F: TrainableField> Engine for RegressionEngine<F> {
    type Model = F;

    fn kind(&self) -> EngineKind {
        EngineKind::Autograd
    }

    fn placement(&self) -> (DType, Device) {
        let v = &self.adam.vars()[0];
        (v.dtype(), v.device().clone())
    }

    fn describe(&self) -> String {
        match self.target {
            // unchanged for flow matching, so its earlier checkpoints still resume
            Regression::FlowMatching => self.model.describe(),
            target => format!(
                r#"{{"regression":{},"model":{}}}"#,
                serde_json::to_string(&target).unwrap_or_default(),
                self.model.describe()
            ),
        }
    }

    fn step(
        &mut self,
        _objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        rng: &mut SeededRng,
    ) -> Result<StepOutcome> {
        self.model.set_training(true);
        let per = self.per_sample(batch, rng);
        self.model.set_training(false);
        let per = per?;
        let mean = per.mean_all()?;
        let (loss, norm) = backward_and_update(&mut self.adam, &mean, lr, clip)?;
        Ok(StepOutcome {
            loss,
            grad_norm: norm,
            integrand: per.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
        })
    }

    fn accumulate(
        &mut self,
        _objective: &ActionMatching,
        batch: &PathSample,
        weight: f64,
        grad: &mut [f64],
        rng: &mut SeededRng,
    ) -> Result<ShardOutcome> {
        self.model.reseed(super::shard_seed(rng));
        self.model.set_training(true);
        let per = self.per_sample(batch, rng);
        self.model.set_training(false);
        let per = per?;
        let mean = per.mean_all()?;
        let loss = scalar(&mean)?;
        add_gradients(&mean.backward()?, self.adam.vars(), weight, grad)?;
        Ok(ShardOutcome {
            loss,
            integrand: per.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
        })
    }

    fn apply(&mut self, grad: &[f64], lr: f64) -> Result<()> {
        apply_flat(&mut self.adam, grad, lr)
    }

    fn loss(
        &mut self,
        _objective: &ActionMatching,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<f64> {
        scalar(&self.per_sample(batch, rng)?.mean_all()?)
    }

    fn params_into(&mut self, out: &mut Vec<f64>) -> Result<()> {
        Ok(flatten(self.adam.vars(), out)?)
    }

    fn set_params(&mut self, flat: &[f64]) -> Result<()> {
        set_flat(self.adam.vars(), flat)
    }

    fn optimizer(&self) -> Result<OptimizerState> {
        adam_state(&self.adam)
    }

    fn restore_optimizer(&mut self, state: OptimizerState) -> Result<()> {
        adam_restore(&mut self.adam, state)
    }

    fn model(&mut self) -> Result<&F> {
        Ok(&self.model)
    }

    fn model_with(&mut self, flat: &[f64]) -> Result<F> {
        let copy = self.model.deep_copy()?;
        set_flat(&copy.parameters(), flat)?;
        Ok(copy)
    }
}
