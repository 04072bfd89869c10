//! A scripted engine: each step returns the next (loss, ‖∇θ‖) of a list and moves every
//! parameter by −lr, so the trainer's own logic (schedule, EMA, watch, errors) is checked exactly.

use am_core::train::Clip;
use am_core::{DType, Device, SeededRng};
use am_objectives::{ActionMatching, PathSample};
use am_train::{Engine, EngineKind, Error, OptimizerState, Result, StepOutcome};

pub struct Scripted {
    pub params: Vec<f64>,
    pub script: Vec<(f64, f64)>,
    pub taken: usize,
    pub lrs: Vec<f64>,
    pub clips: Vec<Clip>,
}

impl Scripted {
    pub fn new(script: Vec<(f64, f64)>) -> Self {
        Self {
            params: vec![1.0, -2.0],
            script,
            taken: 0,
            lrs: Vec::new(),
            clips: Vec::new(),
        }
    }
}

impl Engine for Scripted {
    type Model = Vec<f64>;
    fn kind(&self) -> EngineKind {
        EngineKind::Autograd
    }
    fn placement(&self) -> (DType, Device) {
        (DType::F64, Device::Cpu)
    }
    fn describe(&self) -> String {
        r#"{"scripted":true}"#.into()
    }
    fn step(
        &mut self,
        _: &ActionMatching,
        batch: &PathSample,
        lr: f64,
        clip: Clip,
        _: &mut SeededRng,
    ) -> Result<StepOutcome> {
        let (loss, grad_norm) = self.script[self.taken];
        if !loss.is_finite() || !grad_norm.is_finite() {
            return Err(Error::NonFinite {
                step: 0,
                loss,
                grad_norm,
                checkpoint: None,
            });
        }
        self.taken += 1;
        self.lrs.push(lr);
        self.clips.push(clip);
        self.params.iter_mut().for_each(|p| *p -= lr);
        let n = batch.t.dim(0)?;
        Ok(StepOutcome {
            loss,
            grad_norm,
            integrand: vec![loss; n],
        })
    }
    fn loss(&mut self, _: &ActionMatching, _: &PathSample, _: &mut SeededRng) -> Result<f64> {
        Ok(self.params.iter().sum())
    }
    fn params_into(&mut self, out: &mut Vec<f64>) -> Result<()> {
        out.clone_from(&self.params);
        Ok(())
    }
    fn set_params(&mut self, flat: &[f64]) -> Result<()> {
        self.params = flat.to_vec();
        Ok(())
    }
    fn optimizer(&self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            m: vec![0.0; 2],
            v: vec![0.0; 2],
            step: self.taken as u64,
        })
    }
    fn restore_optimizer(&mut self, s: OptimizerState) -> Result<()> {
        self.taken = s.step as usize;
        Ok(())
    }
    fn model(&mut self) -> Result<&Vec<f64>> {
        Ok(&self.params)
    }
    fn model_with(&mut self, flat: &[f64]) -> Result<Vec<f64>> {
        Ok(flat.to_vec())
    }
}
