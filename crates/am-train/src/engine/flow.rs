//! The flow-matching baseline (I-CFM; Table 3's "flow matching") through the same [`Trainer`]
//! as AM, so both get the same batches, schedule, clipping, EMA, time sampler and checkpoints:
//! a step regresses the vector field f(t, x_t) on u = x₁ − x₀ with x_t = (1 − t)x₀ + t x₁,
//! pairing the batch's q₀ and q₁ samples row by row (x₀ noise, x₁ data: the independent
//! coupling) at its times t; the AM objective and the batch's x_t are not used.
//!
//! [`Trainer`]: crate::Trainer

use super::{
    adam_restore, adam_state, add_gradients, apply_flat, backward_and_update, flatten, set_flat,
    Engine, EngineKind, OptimizerState, ShardOutcome, StepOutcome,
};
use crate::{Error, Result};
use am_core::train::{Adam, AdamConfig, Clip};
use am_core::{DType, Device, SeededRng, Tensor, VectorModel};
use am_objectives::{ActionMatching, PathSample};

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

/// The flow-matching engine; see the module docs.
#[derive(Debug)]
pub struct FlowMatchingEngine<F> {
    model: F,
    adam: Adam,
}

impl<F: TrainableField> FlowMatchingEngine<F> {
    /// An engine for `model` with a fresh Adam.
    pub fn new(model: F, adam: AdamConfig) -> Result<Self> {
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
        })
    }

    /// The per-sample loss ‖f(t, x_t) − (x₁ − x₀)‖² `(N, 1)`.
    fn per_sample(&self, batch: &PathSample) -> Result<Tensor> {
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
        let xt = (x0.broadcast_mul(&(1.0 - t)?)? + x1.broadcast_mul(t)?)?;
        let (f, _) = self.model.forward_jvp(t, &xt, None)?;
        Ok((f - (x1 - x0)?)?.sqr()?.sum_keepdim(1)?)
    }
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

impl<F: TrainableField> Engine for FlowMatchingEngine<F> {
    type Model = F;

    fn kind(&self) -> EngineKind {
        EngineKind::Autograd
    }

    fn placement(&self) -> (DType, Device) {
        let v = &self.adam.vars()[0];
        (v.dtype(), v.device().clone())
    }

    fn describe(&self) -> String {
        self.model.describe()
    }

    fn step(
        &mut self,
        _objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        _rng: &mut SeededRng,
    ) -> Result<StepOutcome> {
        self.model.set_training(true);
        let per = self.per_sample(batch);
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
        let per = self.per_sample(batch);
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
        _rng: &mut SeededRng,
    ) -> Result<f64> {
        scalar(&self.per_sample(batch)?.mean_all()?)
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
