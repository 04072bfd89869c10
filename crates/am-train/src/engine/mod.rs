//! The training engines behind one trait: [`FusedEngine`] (the fused host step of an MLP, ∇θ
//! derived by hand) and [`AutogradEngine`] (any [`TrainableAction`] through candle's autograd,
//! any device: the MLP, the U-Net). [`MlpEngine`] chooses between them for an MLP and says why
//! when the fused step cannot take the model or the objective. [`RegressionEngine`] trains
//! the regression baselines (flow matching, the VP-SDE, sliced score matching) through the same
//! trainer.

mod autograd;
mod flow;
mod fused;
mod mlp;

pub use autograd::AutogradEngine;
pub use flow::{FlowMatchingEngine, Regression, RegressionEngine, TrainableField};
pub use fused::FusedEngine;
pub use mlp::{EngineChoice, MlpEngine};

use crate::Result;
use am_core::train::Clip;
use am_core::{Action, DType, Device, SeededRng};
use am_objectives::{ActionMatching, PathSample};

/// Which implementation runs the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EngineKind {
    /// Hand-derived ∇θ on host slices (`am_models::fused`).
    Fused,
    /// candle tensors and autograd.
    Autograd,
}

/// What one step of an engine reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// The minibatch objective.
    pub loss: f64,
    /// ‖∇θ‖₂ before clipping.
    pub grad_norm: f64,
    /// The per-sample time integrand ζ_i (before 1/p(t_i)), for the adaptive sampler.
    pub integrand: Vec<f64>,
}

/// What one shard of a data-parallel step reports ([`Engine::accumulate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ShardOutcome {
    /// The shard's objective (its own mean, unweighted).
    pub loss: f64,
    /// The per-sample time integrand ζ_i of the shard (before 1/p(t_i)).
    pub integrand: Vec<f64>,
}

/// Adam's state, flat in the order of the engine's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState {
    /// First moments.
    pub m: Vec<f64>,
    /// Second moments.
    pub v: Vec<f64>,
    /// Steps taken.
    pub step: u64,
}

/// A trainable model and its optimiser: one step of the AM objective, and the flat state that
/// checkpoints and the EMA need.
pub trait Engine {
    /// The model it trains.
    type Model;
    /// The implementation.
    fn kind(&self) -> EngineKind;
    /// The dtype and device batches must have.
    fn placement(&self) -> (DType, Device);
    /// The model's configuration as JSON (compared when a run resumes).
    fn describe(&self) -> String;
    /// One step: the objective of `batch`, ∇θ, `clip`, the Adam update at `lr`. A non-finite loss
    /// or gradient is [`crate::Error::NonFinite`] and leaves parameters and moments unchanged.
    fn step(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        rng: &mut SeededRng,
    ) -> Result<StepOutcome>;
    /// One shard of a data-parallel step: ∇θ of `weight` × the objective of `batch` added into
    /// `grad` (flat, the layout of [`Engine::params_into`]), without an update. The default
    /// refuses: an engine that cannot split its step cannot train data-parallel.
    fn accumulate(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        weight: f64,
        grad: &mut [f64],
        rng: &mut SeededRng,
    ) -> Result<ShardOutcome> {
        let _ = (objective, batch, weight, grad, rng);
        Err(crate::Error::Argument {
            arg: "engine",
            reason: format!(
                "the {:?} engine of {} does not split its step into shards (data-parallel training)",
                self.kind(),
                self.describe()
            ),
        })
    }
    /// The Adam update at `lr` with the flat gradient `grad` (summed over shards and processes,
    /// already clipped). The default refuses, as [`Engine::accumulate`]'s does.
    fn apply(&mut self, grad: &[f64], lr: f64) -> Result<()> {
        let _ = (grad, lr);
        Err(crate::Error::Argument {
            arg: "engine",
            reason: format!(
                "the {:?} engine does not take a gradient from outside (data-parallel training)",
                self.kind()
            ),
        })
    }
    /// The objective of `batch` without an update (the held-out loss).
    fn loss(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<f64>;
    /// The parameters, flat, into `out` (resized).
    fn params_into(&mut self, out: &mut Vec<f64>) -> Result<()>;
    /// Overwrites the parameters from a flat vector of [`Engine::params_into`]'s layout.
    fn set_params(&mut self, flat: &[f64]) -> Result<()>;
    /// Adam's moments and step count.
    fn optimizer(&self) -> Result<OptimizerState>;
    /// Restores Adam's moments and step count.
    fn restore_optimizer(&mut self, state: OptimizerState) -> Result<()>;
    /// The current model.
    fn model(&mut self) -> Result<&Self::Model>;
    /// A separate copy of the model with the flat parameters `flat` (e.g. the EMA).
    fn model_with(&mut self, flat: &[f64]) -> Result<Self::Model>;
}

/// A model that [`AutogradEngine`] can train: an [`Action`] with parameters that can describe
/// and copy itself.
pub trait TrainableAction: Action + Sized {
    /// The configuration as JSON (stored in checkpoints, compared on resume).
    fn describe(&self) -> String;
    /// A deep copy: new variables with the same values, sharing nothing with `self`.
    fn deep_copy(&self) -> am_core::Result<Self>;
    /// Switches training-only behaviour (dropout) on for a step and off after it; models
    /// without any keep the default, which does nothing.
    fn set_training(&self, on: bool) {
        let _ = on;
    }
    /// Reseeds training-only randomness (dropout masks) for one shard of a data-parallel step,
    /// so that it depends on the shard and not on the rank; models without any keep the
    /// default, which does nothing.
    fn reseed(&self, seed: u64) {
        let _ = seed;
    }
}

impl TrainableAction for am_models::UNet {
    fn describe(&self) -> String {
        serde_json::to_string(self.config()).unwrap_or_default()
    }

    fn deep_copy(&self) -> am_core::Result<Self> {
        am_models::UNet::deep_copy(self)
    }

    fn set_training(&self, on: bool) {
        am_models::UNet::set_training(self, on)
    }

    fn reseed(&self, seed: u64) {
        self.set_dropout_seed(seed)
    }
}

impl TrainableAction for am_models::Mlp {
    fn describe(&self) -> String {
        serde_json::to_string(self.config()).unwrap_or_default()
    }

    fn deep_copy(&self) -> am_core::Result<Self> {
        let vars = self.parameters();
        let (dtype, device) = match vars.first() {
            Some(v) => (v.dtype(), v.device().clone()),
            None => (DType::F32, Device::Cpu),
        };
        let copy = am_models::Mlp::new(
            self.config().clone(),
            &mut SeededRng::new(0),
            dtype,
            &device,
        )?;
        copy.load_named_tensors(&self.named_tensors()?)?;
        Ok(copy)
    }
}

/// The end of an autograd step: ∇θ of the scalar `loss` tensor, the divergence check (a
/// non-finite loss or gradient leaves parameters and moments unchanged), `clip`, the Adam update
/// at `lr`; returns (loss, ‖∇θ‖ before clipping).
pub(crate) fn backward_and_update(
    adam: &mut am_core::train::Adam,
    loss: &am_core::Tensor,
    lr: f64,
    clip: Clip,
) -> Result<(f64, f64)> {
    let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let mut grads = loss.backward()?;
    let norm = am_core::train::grad_norm(&grads, adam.vars())?;
    if !value.is_finite() || !norm.is_finite() {
        return Err(crate::Error::NonFinite {
            step: adam.step_count() + 1,
            loss: value,
            grad_norm: norm,
            checkpoint: None,
        });
    }
    let vars = adam.vars().to_vec();
    clip.apply(&mut grads, &vars, norm)?;
    adam.step(&grads, lr)?;
    Ok((value, norm))
}

/// A 53-bit seed for a shard's dropout, drawn from the shard's stream.
pub(crate) fn shard_seed(rng: &mut SeededRng) -> u64 {
    (rng.uniform() * 9_007_199_254_740_992.0) as u64
}

/// Adds `weight` × the candle gradients of `vars` into the flat `out` (variables without a
/// gradient add nothing).
pub(crate) fn add_gradients(
    grads: &am_core::candle::backprop::GradStore,
    vars: &[am_core::Var],
    weight: f64,
    out: &mut [f64],
) -> Result<()> {
    let total: usize = vars.iter().map(|v| v.elem_count()).sum();
    if out.len() != total {
        return Err(am_core::Error::Shape {
            arg: "grad",
            expected: format!("({total},)"),
            got: vec![out.len()],
        }
        .into());
    }
    let mut at = 0;
    for v in vars {
        let n = v.elem_count();
        if let Some(g) = grads.get(v.as_tensor()) {
            let g = g.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
            for (o, x) in out[at..at + n].iter_mut().zip(g) {
                *o += weight * x;
            }
        }
        at += n;
    }
    Ok(())
}

/// Adam at `lr` with a flat gradient in the layout of `adam`'s variables.
pub(crate) fn apply_flat(adam: &mut am_core::train::Adam, grad: &[f64], lr: f64) -> Result<()> {
    let vars = adam.vars().to_vec();
    let grads = unflatten(&vars, grad)?;
    adam.step_with(&grads, lr)?;
    Ok(())
}

/// Adam's moments (flat, f64) and step count.
pub(crate) fn adam_state(adam: &am_core::train::Adam) -> Result<OptimizerState> {
    let (m, v) = adam.moments();
    let host = |ts: &[am_core::Tensor]| -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for t in ts {
            out.extend(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?);
        }
        Ok(out)
    };
    Ok(OptimizerState {
        m: host(m)?,
        v: host(v)?,
        step: adam.step_count(),
    })
}

/// Restores Adam's moments and step count from a flat state.
pub(crate) fn adam_restore(adam: &mut am_core::train::Adam, state: OptimizerState) -> Result<()> {
    let vars = adam.vars().to_vec();
    let m = unflatten(&vars, &state.m)?;
    let v = unflatten(&vars, &state.v)?;
    adam.restore(m, v, state.step)?;
    Ok(())
}

/// Sets `vars` from one flat vector of [`flatten`]'s layout.
pub(crate) fn set_flat(vars: &[am_core::Var], flat: &[f64]) -> Result<()> {
    for (v, t) in vars.iter().zip(unflatten(vars, flat)?) {
        v.set(&t)?;
    }
    Ok(())
}

/// The parameters of `vars` as one flat f64 vector.
pub(crate) fn flatten(vars: &[am_core::Var], out: &mut Vec<f64>) -> am_core::Result<()> {
    out.clear();
    for v in vars {
        out.extend(v.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?);
    }
    Ok(())
}

/// Splits a flat vector into tensors shaped like `vars` (their dtype and device).
pub(crate) fn unflatten(
    vars: &[am_core::Var],
    flat: &[f64],
) -> am_core::Result<Vec<am_core::Tensor>> {
    let total: usize = vars.iter().map(|v| v.elem_count()).sum();
    if flat.len() != total {
        return Err(am_core::Error::Shape {
            arg: "flat parameters",
            expected: format!("({total},)"),
            got: vec![flat.len()],
        });
    }
    let mut at = 0;
    let mut out = Vec::with_capacity(vars.len());
    for v in vars {
        let n = v.elem_count();
        out.push(
            am_core::Tensor::from_slice(&flat[at..at + n], v.dims(), &Device::Cpu)?
                .to_dtype(v.dtype())?
                .to_device(v.device())?,
        );
        at += n;
    }
    Ok(out)
}
