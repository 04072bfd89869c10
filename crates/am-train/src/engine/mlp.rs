//! An MLP's engine: the fused step where it applies, candle's autograd otherwise.

use super::{AutogradEngine, Engine, EngineKind, FusedEngine, OptimizerState, StepOutcome};
use crate::Result;
use am_core::train::{AdamConfig, Clip};
use am_core::{DType, Device, SeededRng};
use am_models::Mlp;
use am_objectives::{ActionMatching, PathSample};

/// Which engine a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum EngineChoice {
    /// The fused step where the model, objective and device allow it, else autograd.
    #[default]
    Fused,
    /// candle's autograd (every model, cost and device).
    Autograd,
}

impl std::str::FromStr for EngineChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fused" => Ok(EngineChoice::Fused),
            "generic" | "autograd" => Ok(EngineChoice::Autograd),
            other => Err(format!(
                "`{other}` is neither `fused` nor `generic` (autograd)"
            )),
        }
    }
}

/// The engine chosen for an MLP; see the module docs.
#[derive(Debug)]
pub enum MlpEngine {
    /// The fused host step.
    Fused(Box<FusedEngine>),
    /// candle's autograd.
    Autograd(AutogradEngine<Mlp>),
}

impl MlpEngine {
    /// The engine for `model` and `objective`: with [`EngineChoice::Fused`] on a model, objective
    /// or device the fused step cannot take, the autograd engine and the reason (for the caller to
    /// show; the library does not print).
    pub fn new(
        model: Mlp,
        objective: &ActionMatching,
        adam: AdamConfig,
        choice: EngineChoice,
    ) -> Result<(Self, Option<String>)> {
        if choice == EngineChoice::Autograd {
            return Ok((Self::Autograd(AutogradEngine::new(model, adam)?), None));
        }
        let device = am_core::Action::parameters(&model)[0].device().clone();
        let why = if objective.has_convex_cost() {
            Some("the objective has a convex cost other than ½‖·‖²".to_string())
        } else if !device.is_cpu() {
            Some("the model lives on a GPU".to_string())
        } else {
            None
        };
        let why = match why {
            Some(w) => w,
            None => match FusedEngine::new(model.clone(), adam) {
                Ok(e) => return Ok((Self::Fused(Box::new(e)), None)),
                Err(e) => e.to_string(),
            },
        };
        Ok((
            Self::Autograd(AutogradEngine::new(model, adam)?),
            Some(format!(
                "fused engine unavailable ({why}); using the autograd one"
            )),
        ))
    }
}

macro_rules! both {
    ($self:ident, $e:ident => $body:expr) => {
        match $self {
            MlpEngine::Fused($e) => $body,
            MlpEngine::Autograd($e) => $body,
        }
    };
}

impl Engine for MlpEngine {
    type Model = Mlp;

    fn kind(&self) -> EngineKind {
        both!(self, e => e.kind())
    }

    fn placement(&self) -> (DType, Device) {
        both!(self, e => e.placement())
    }

    fn describe(&self) -> String {
        both!(self, e => e.describe())
    }

    fn step(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        rng: &mut SeededRng,
    ) -> Result<StepOutcome> {
        both!(self, e => e.step(objective, batch, lr, clip, rng))
    }

    fn accumulate(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        weight: f64,
        grad: &mut [f64],
        rng: &mut SeededRng,
    ) -> Result<super::ShardOutcome> {
        both!(self, e => e.accumulate(objective, batch, weight, grad, rng))
    }

    fn apply(&mut self, grad: &[f64], lr: f64) -> Result<()> {
        both!(self, e => e.apply(grad, lr))
    }

    fn loss(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<f64> {
        both!(self, e => e.loss(objective, batch, rng))
    }

    fn params_into(&mut self, out: &mut Vec<f64>) -> Result<()> {
        both!(self, e => e.params_into(out))
    }

    fn set_params(&mut self, flat: &[f64]) -> Result<()> {
        both!(self, e => e.set_params(flat))
    }

    fn optimizer(&self) -> Result<OptimizerState> {
        both!(self, e => e.optimizer())
    }

    fn restore_optimizer(&mut self, state: OptimizerState) -> Result<()> {
        both!(self, e => e.restore_optimizer(state))
    }

    fn model(&mut self) -> Result<&Mlp> {
        both!(self, e => e.model())
    }

    fn model_with(&mut self, flat: &[f64]) -> Result<Mlp> {
        both!(self, e => e.model_with(flat))
    }
}
