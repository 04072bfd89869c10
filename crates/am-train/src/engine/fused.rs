//! The fused host step of an MLP (`am_models::FusedMlp`): forward, input derivatives and the
//! hand-derived ∇θ of the objective in one pass over host slices, then the fused Adam update.
//! f32 on the CPU (f64 with [`FusedEngine::with_precision`], for exactness tests); scalar or
//! ½‖x − h‖² heads; the quadratic cost.

use super::{Engine, EngineKind, OptimizerState, ShardOutcome, StepOutcome};
use crate::{Error, Result};
use am_core::train::{AdamConfig, Clip};
use am_core::{DType, Device, Error as CoreError, SeededRng};
use am_models::fused::Real;
use am_models::{FusedAdam, FusedMlp, Mlp};
use am_objectives::{ActionMatching, PathSample};

/// The fused engine; see the module docs.
pub struct FusedEngine<T: Real = f32> {
    net: FusedMlp<T>,
    adam: FusedAdam<T>,
    /// The candle model, written from `net` when asked for.
    model: Mlp,
    stale: bool,
}

impl<T: Real> std::fmt::Debug for FusedEngine<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FusedEngine")
            .field("config", self.model.config())
            .field("adam_steps", &self.adam.step_count())
            .finish()
    }
}

impl FusedEngine {
    /// An engine for `model` (copied to host memory, f32) with a fresh Adam; an unsupported
    /// model is `Unsupported` (see [`FusedMlp::supports`]).
    pub fn new(model: Mlp, adam: AdamConfig) -> Result<Self> {
        Self::with_precision(model, adam)
    }
}

impl<T: Real> FusedEngine<T> {
    /// [`FusedEngine::new`] computing in `T` (f32 or f64).
    pub fn with_precision(model: Mlp, adam: AdamConfig) -> Result<Self> {
        let net = FusedMlp::<T>::from_mlp(&model)?;
        let adam = FusedAdam::new(net.params().len(), adam)?;
        Ok(Self {
            net,
            adam,
            model,
            stale: false,
        })
    }

    /// The host network (e.g. to sample with it: it implements `Action` fast).
    pub fn net(&self) -> &FusedMlp<T> {
        &self.net
    }
}

impl<T: Real> Engine for FusedEngine<T> {
    type Model = Mlp;

    fn kind(&self) -> EngineKind {
        EngineKind::Fused
    }

    fn placement(&self) -> (DType, Device) {
        (T::DTYPE, Device::Cpu)
    }

    fn describe(&self) -> String {
        serde_json::to_string(self.model.config()).unwrap_or_default()
    }

    fn step(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        rng: &mut SeededRng,
    ) -> Result<StepOutcome> {
        let terms = objective.terms(self.model.config().dim, batch, rng)?;
        let step = self.adam.step_count() + 1;
        let out = self
            .net
            .train_step_clip(&terms, &mut self.adam, lr, clip)
            .map_err(|e| match e {
                CoreError::NonFinite { arg, value, .. } => Error::NonFinite {
                    step,
                    loss: if arg == "loss" { value } else { f64::NAN },
                    grad_norm: if arg == "loss" { f64::NAN } else { value },
                    checkpoint: None,
                },
                e => e.into(),
            })?;
        self.stale = true;
        Ok(StepOutcome {
            loss: out.loss,
            grad_norm: out.grad_norm,
            integrand: out.integrand,
        })
    }

    fn accumulate(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        weight: f64,
        grad: &mut [f64],
        rng: &mut SeededRng,
    ) -> Result<ShardOutcome> {
        let terms = objective.terms(self.model.config().dim, batch, rng)?;
        let out = self.net.loss_and_grad(&terms)?;
        if grad.len() != self.net.grad().len() {
            return Err(CoreError::Shape {
                arg: "grad",
                expected: format!("({},)", self.net.grad().len()),
                got: vec![grad.len()],
            }
            .into());
        }
        for (o, g) in grad.iter_mut().zip(self.net.grad()) {
            *o += weight * g.f64();
        }
        Ok(ShardOutcome {
            loss: out.loss,
            integrand: out.integrand,
        })
    }

    fn apply(&mut self, grad: &[f64], lr: f64) -> Result<()> {
        let g: Vec<T> = grad.iter().map(|&x| T::of(x)).collect();
        self.net.apply_gradient(&mut self.adam, &g, lr)?;
        self.stale = true;
        Ok(())
    }

    fn loss(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<f64> {
        let terms = objective.terms(self.model.config().dim, batch, rng)?;
        Ok(self.net.loss_and_grad(&terms)?.loss)
    }

    fn params_into(&mut self, out: &mut Vec<f64>) -> Result<()> {
        out.clear();
        out.extend(self.net.params().iter().map(|&p| p.f64()));
        Ok(())
    }

    fn set_params(&mut self, flat: &[f64]) -> Result<()> {
        let p: Vec<T> = flat.iter().map(|&v| T::of(v)).collect();
        self.net.set_params(&p)?;
        self.stale = true;
        Ok(())
    }

    fn optimizer(&self) -> Result<OptimizerState> {
        let (m, v) = self.adam.moments();
        Ok(OptimizerState {
            m: m.iter().map(|&x| x.f64()).collect(),
            v: v.iter().map(|&x| x.f64()).collect(),
            step: self.adam.step_count(),
        })
    }

    fn restore_optimizer(&mut self, state: OptimizerState) -> Result<()> {
        let f = |v: Vec<f64>| v.into_iter().map(T::of).collect();
        self.adam.restore(f(state.m), f(state.v), state.step)?;
        Ok(())
    }

    fn model(&mut self) -> Result<&Mlp> {
        if self.stale {
            self.net.write_into(&self.model)?;
            self.stale = false;
        }
        Ok(&self.model)
    }

    fn model_with(&mut self, flat: &[f64]) -> Result<Mlp> {
        // the fused layout is the order of `Mlp::parameters` (fused = generic gradients are
        // compared in it), so the flat vector goes straight into a copy's variables
        let model = super::TrainableAction::deep_copy(self.model()?)?;
        let vars = am_core::Action::parameters(&model);
        for (v, t) in vars.iter().zip(super::unflatten(&vars, flat)?) {
            v.set(&t)?;
        }
        Ok(model)
    }
}
