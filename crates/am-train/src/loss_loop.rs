//! A plain Adam loop over a loss the caller builds each step (the baselines' score-matching and
//! flow-matching objectives, any `VectorModel`): warm-up and decay, clipping, a non-finite loss
//! refused before the update, reports handed to a callback.

use crate::{Error, Result, Schedule, StepReport};
use am_core::train::{grad_norm, Adam, AdamConfig, Clip};
use am_core::{DType, SeededRng, Tensor, Var};

/// The loop's settings; see the module docs.
#[derive(Debug)]
pub struct LossLoop {
    vars: Vec<Var>,
    steps: u64,
    adam: AdamConfig,
    /// The learning-rate schedule (default: warm-up over min(200, steps), cosine to 5 %).
    pub schedule: Schedule,
    /// Clipping (default: global norm 1, as the reference score models).
    pub clip: Clip,
}

impl LossLoop {
    /// `steps` Adam steps at peak rate `lr` on `vars`.
    pub fn new(vars: Vec<Var>, steps: u64, lr: f64) -> Result<Self> {
        let adam = AdamConfig {
            lr,
            ..Default::default()
        };
        adam.validate()?;
        if vars.is_empty() {
            return Err(am_core::Error::Empty { arg: "vars" }.into());
        }
        Ok(Self {
            vars,
            steps,
            adam,
            schedule: Schedule::warmup_cosine(steps, 0.05),
            clip: Clip::GlobalNorm(1.0),
        })
    }

    /// Runs the steps; `loss(k, rng)` builds the (1-based) step k's scalar loss. Returns the
    /// seconds spent. A non-finite loss or gradient ends the loop with [`Error::NonFinite`]
    /// before the update.
    pub fn run<Er: From<Error>>(
        &self,
        rng: &mut SeededRng,
        mut loss: impl FnMut(u64, &mut SeededRng) -> std::result::Result<Tensor, Er>,
        mut on_step: impl FnMut(&StepReport),
    ) -> std::result::Result<f64, Er> {
        self.clip.validate().map_err(Error::from)?;
        let started = std::time::Instant::now();
        let mut adam = Adam::new(self.vars.clone(), self.adam).map_err(Error::from)?;
        for k in 1..=self.steps {
            let l = loss(k, rng)?;
            let step = |l: &Tensor, adam: &mut Adam| -> Result<StepReport> {
                let value = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                let mut grads = l.backward()?;
                let norm = grad_norm(&grads, &self.vars)?;
                if !value.is_finite() || !norm.is_finite() {
                    return Err(Error::NonFinite {
                        step: k,
                        loss: value,
                        grad_norm: norm,
                        checkpoint: None,
                    });
                }
                self.clip.apply(&mut grads, &self.vars, norm)?;
                let lr = self.schedule.lr_at(self.adam.lr, k);
                adam.step(&grads, lr)?;
                Ok(StepReport {
                    step: k,
                    lr,
                    loss: value,
                    grad_norm: norm,
                    events: Vec::new(),
                })
            };
            on_step(&step(&l, &mut adam)?);
        }
        Ok(started.elapsed().as_secs_f64())
    }
}
