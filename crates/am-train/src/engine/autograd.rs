//! Any trainable action through candle's autograd: the objective's tensor graph, one
//! first-order `backward()` (the MLP's input derivatives are explicit; other models may rely on
//! `am_core::double_backward`), clipping and Adam on candle tensors, on any device.

use super::{
    adam_restore, adam_state, add_gradients, apply_flat, backward_and_update, flatten, set_flat,
    Engine, EngineKind, OptimizerState, ShardOutcome, StepOutcome, TrainableAction,
};
use crate::Result;
use am_core::train::{Adam, AdamConfig, Clip};
use am_core::{DType, Device, SeededRng};
use am_objectives::{ActionMatching, PathSample};

/// The autograd engine; see the module docs.
#[derive(Debug)]
pub struct AutogradEngine<M> {
    model: M,
    adam: Adam,
}

impl<M: TrainableAction> AutogradEngine<M> {
    /// An engine for `model` with a fresh Adam.
    pub fn new(model: M, adam: AdamConfig) -> Result<Self> {
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
}

fn scalar(t: &am_core::Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

impl<M: TrainableAction> Engine for AutogradEngine<M> {
    type Model = M;

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
        objective: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        rng: &mut SeededRng,
    ) -> Result<StepOutcome> {
        // dropout (where the model has it) only inside the step
        self.model.set_training(true);
        let out = objective.loss(&self.model, batch, rng);
        self.model.set_training(false);
        let out = out?;
        let (loss, norm) = backward_and_update(&mut self.adam, &out.loss, lr, clip)?;
        Ok(StepOutcome {
            loss,
            grad_norm: norm,
            integrand: out
                .integrand
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?,
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
        self.model.reseed(super::shard_seed(rng));
        self.model.set_training(true);
        let out = objective.loss(&self.model, batch, rng);
        self.model.set_training(false);
        let out = out?;
        let loss = scalar(&out.loss)?;
        add_gradients(&out.loss.backward()?, self.adam.vars(), weight, grad)?;
        Ok(ShardOutcome {
            loss,
            integrand: out
                .integrand
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?,
        })
    }

    fn apply(&mut self, grad: &[f64], lr: f64) -> Result<()> {
        apply_flat(&mut self.adam, grad, lr)
    }

    fn loss(
        &mut self,
        objective: &ActionMatching,
        batch: &PathSample,
        rng: &mut SeededRng,
    ) -> Result<f64> {
        scalar(&objective.loss(&self.model, batch, rng)?.loss)
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

    fn model(&mut self) -> Result<&M> {
        Ok(&self.model)
    }

    fn model_with(&mut self, flat: &[f64]) -> Result<M> {
        let copy = self.model.deep_copy()?;
        set_flat(&copy.parameters(), flat)?;
        Ok(copy)
    }
}
