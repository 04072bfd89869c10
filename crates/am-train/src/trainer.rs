//! The training loop as a library: a [`Trainer`] drives any [`Engine`] on batches drawn from a
//! path's marginals with the configured time sampler (the adaptive p(t) of Eq. 88 is fed each
//! step's per-sample integrand), schedules the learning rate, clips, keeps an EMA of the
//! parameters, watches for divergence, and checkpoints and resumes bit-exactly
//! ([`crate::checkpoint`] holds the schema). It never prints: each step returns a
//! [`StepReport`] with its [`TrainEvent`]s, and [`Trainer::run`] hands them to a callback.
//!
//! Bit-exact resumption needs the same number of threads (the fused step splits the batch into
//! one row block per thread, which fixes the order in which the gradient is summed); with
//! another count a resumed run agrees to rounding (≈ 1e-7 relative in f32).

use crate::engine::Engine;
use crate::parallel::{Collective, SingleProcess};
use crate::sampler::Sampler;
use crate::watch::{TrainEvent, Watch};
use crate::{Error, Result, TrainConfig};
use am_core::{Marginals, SeededRng};
use am_objectives::{ActionMatching, PathSample, TimeSampler};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one step reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// The step just taken (1-based).
    pub step: u64,
    /// Its learning rate.
    pub lr: f64,
    /// The minibatch objective.
    pub loss: f64,
    /// ‖∇θ‖₂ before clipping.
    pub grad_norm: f64,
    /// What the caller should know (divergence, checkpoints written).
    pub events: Vec<TrainEvent>,
}

/// Where and how often [`Trainer::run`] writes checkpoints, and whether it resumes.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The checkpoint file (`None`: none written).
    pub checkpoint: Option<PathBuf>,
    /// Steps between checkpoints (0: only at the end).
    pub every: u64,
    /// Continue from `checkpoint` when it exists.
    pub resume: bool,
}

/// What [`Trainer::run`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Steps taken in this call.
    pub steps: u64,
    /// Seconds spent in this call.
    pub seconds: f64,
    /// The last minibatch loss (NaN when no step was taken).
    pub last_loss: f64,
    /// The step the run resumed from, if it did.
    pub resumed_from: Option<u64>,
}

/// A training run; see the module docs.
pub struct Trainer<E: Engine> {
    pub(crate) engine: E,
    pub(crate) objective: ActionMatching,
    pub(crate) config: TrainConfig,
    pub(crate) run: String,
    pub(crate) sampler: Sampler,
    pub(crate) rng: SeededRng,
    pub(crate) ema: Option<Vec<f64>>,
    pub(crate) watch: Watch,
    pub(crate) step: u64,
    pub(crate) collective: Arc<dyn Collective>,
    pub(crate) scratch: Vec<f64>,
    /// The flat gradient of data-parallel steps, kept between them.
    pub(crate) shard_grad: Vec<f64>,
    last_checkpoint: Option<String>,
}

impl<E: Engine> std::fmt::Debug for Trainer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("engine", &self.engine.kind())
            .field("step", &self.step)
            .field("config", &self.config)
            .finish()
    }
}

impl<E: Engine> Trainer<E> {
    /// A run of `objective` on `engine`'s model with a validated `config`; its random stream
    /// (batches, probes) is seeded by `config.seed`.
    pub fn new(mut engine: E, objective: ActionMatching, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let sampler = config.time.build()?;
        let ema = match config.ema {
            Some(_) => {
                let mut p = Vec::new();
                engine.params_into(&mut p)?;
                Some(p)
            }
            None => None,
        };
        Ok(Self {
            rng: SeededRng::new(config.seed),
            engine,
            objective,
            run: "{}".to_string(),
            sampler,
            ema,
            watch: Watch::default(),
            step: 0,
            collective: Arc::new(SingleProcess),
            scratch: Vec::new(),
            shard_grad: Vec::new(),
            last_checkpoint: None,
            config,
        })
    }

    /// Trains data-parallel in `collective`'s group of processes (every rank builds the same
    /// trainer and calls this): needs `config.shards = Some(K)` with K ≥ the number of ranks
    /// when there is more than one. Rank 0's parameters are broadcast to all (and restart the
    /// EMA), so every rank starts from the same model whatever its own initialisation.
    pub fn with_collective(mut self, collective: Arc<dyn Collective>) -> Result<Self> {
        let ranks = collective.size();
        if ranks > 1 {
            match self.config.shards {
                None => {
                    return Err(Error::Collective(format!(
                        "{} ranks, but the configuration has no shards: set `shards` (≥ {ranks})",
                        ranks
                    )))
                }
                Some(k) if k < ranks => {
                    return Err(Error::Collective(format!(
                        "{k} shards for {ranks} ranks: every rank needs at least one shard"
                    )))
                }
                _ => {}
            }
        }
        let mut p = Vec::new();
        self.engine.params_into(&mut p)?;
        // the same parameter count everywhere, then rank 0's values
        let mut count = [p.len() as f64];
        collective.all_reduce_sum_f64(&mut count)?;
        if count[0] != (p.len() * ranks) as f64 {
            return Err(Error::Collective(format!(
                "the ranks' models differ in size (this rank: {} parameters)",
                p.len()
            )));
        }
        collective.broadcast_f64(&mut p, 0)?;
        self.engine.set_params(&p)?;
        if self.ema.is_some() {
            self.ema = Some(p);
        }
        self.collective = collective;
        Ok(self)
    }

    /// The group of processes the run trains in.
    pub fn collective(&self) -> &Arc<dyn Collective> {
        &self.collective
    }

    /// Sets the caller's description of the run (e.g. the data file and options, as JSON): stored
    /// in checkpoints, and a resume with another one is refused.
    pub fn with_run_config(mut self, run: impl Into<String>) -> Self {
        self.run = run.into();
        self
    }

    /// Changes the total number of steps (the only setting a resumed run may change).
    pub fn set_steps(&mut self, steps: u64) {
        self.config.steps = steps;
    }

    /// Steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The objective.
    pub fn objective(&self) -> &ActionMatching {
        &self.objective
    }

    /// The engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The time sampler (e.g. to read the adaptive density).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// The learning rate of (1-based) step `k`.
    pub fn lr_at(&self, k: u64) -> f64 {
        self.config.schedule.lr_at(self.config.adam.lr, k)
    }

    /// Draws the next batch from `marginals` with the run's sampler and random stream.
    pub fn draw(&mut self, marginals: &dyn Marginals) -> Result<PathSample> {
        let (dtype, device) = self.engine.placement();
        Ok(PathSample::draw(
            marginals,
            self.config.batch,
            &mut self.sampler,
            &mut self.rng,
            dtype,
            &device,
        )?)
    }

    /// One step on a batch drawn from `marginals` (shard by shard when `config.shards` is set).
    pub fn step(&mut self, marginals: &dyn Marginals) -> Result<StepReport> {
        if let Some(shards) = self.config.shards {
            return self.step_sharded(marginals, shards);
        }
        let batch = self.draw(marginals)?;
        self.step_on(&batch)
    }

    /// One step on a batch the caller made (its times feed the adaptive sampler; its importance
    /// weights are the caller's to set). One process only: a data-parallel run draws its own
    /// shards ([`Trainer::step`]).
    pub fn step_on(&mut self, batch: &PathSample) -> Result<StepReport> {
        if self.collective.size() > 1 {
            return Err(Error::Collective(
                "a caller-made batch cannot be split across ranks: use `step` with the marginals"
                    .into(),
            ));
        }
        let k = self.step + 1;
        let lr = self.lr_at(k);
        let out = self
            .engine
            .step(&self.objective, batch, lr, self.config.clip, &mut self.rng)
            .map_err(|e| self.at_step(e, k))?;
        if self.sampler.is_adaptive() {
            self.sampler.observe(&batch.times()?, &out.integrand);
        }
        self.finish_step(k, lr, out.loss, out.grad_norm)
    }

    /// A diverged step's error with its step number and the last good checkpoint.
    pub(crate) fn at_step(&self, e: Error, k: u64) -> Error {
        match e {
            Error::NonFinite {
                loss, grad_norm, ..
            } => Error::NonFinite {
                step: k,
                loss,
                grad_norm,
                checkpoint: self.last_checkpoint.clone(),
            },
            e => e,
        }
    }

    /// After the update of step `k`: the EMA, the step count and the watch.
    pub(crate) fn finish_step(
        &mut self,
        k: u64,
        lr: f64,
        loss: f64,
        grad_norm: f64,
    ) -> Result<StepReport> {
        if let (Some(decay), Some(shadow)) = (self.config.ema, self.ema.as_mut()) {
            self.engine.params_into(&mut self.scratch)?;
            for (s, &c) in shadow.iter_mut().zip(&self.scratch) {
                *s = decay * *s + (1.0 - decay) * c;
            }
        }
        self.step = k;
        let mut events = Vec::new();
        if let Some(w) = &self.config.watch {
            events.extend(self.watch.observe(w, k, loss, grad_norm));
        }
        Ok(StepReport {
            step: k,
            lr,
            loss,
            grad_norm,
            events,
        })
    }

    /// Steps until `config.steps` on batches from `marginals`: resumes first when asked and the
    /// checkpoint exists, writes checkpoints every `every` steps and at the end, and hands every
    /// step's report to `on_step` (progress display is the caller's). A diverged step ends the
    /// run with [`Error::NonFinite`] naming the last good checkpoint.
    pub fn run(
        &mut self,
        marginals: &dyn Marginals,
        options: &RunOptions,
        on_step: impl FnMut(&StepReport),
    ) -> Result<RunSummary> {
        self.run_to(self.config.steps, marginals, options, on_step)
    }

    /// [`Trainer::run`] up to step `stop` (at most `config.steps`): a long run in segments, e.g.
    /// with a held-out evaluation between them. It resumes only when no step was taken yet, and
    /// writes a checkpoint at `stop`.
    pub fn run_to(
        &mut self,
        stop: u64,
        marginals: &dyn Marginals,
        options: &RunOptions,
        mut on_step: impl FnMut(&StepReport),
    ) -> Result<RunSummary> {
        let started = std::time::Instant::now();
        let stop = stop.min(self.config.steps);
        let mut resumed_from = None;
        if let Some(path) = options.checkpoint.as_deref() {
            if options.resume && self.step == 0 && path.exists() {
                self.resume(path)?;
                resumed_from = Some(self.step);
            }
        }
        if self.collective.size() > 1 {
            // every rank must have resumed the same step (one file, seen by all)
            let mut steps = [self.step as f64, (self.step * self.step) as f64];
            self.collective.all_reduce_mean_f64(&mut steps)?;
            if steps[0] != self.step as f64 || steps[1] != (self.step * self.step) as f64 {
                return Err(Error::Collective(format!(
                    "the ranks start at different steps (this rank: {}); every rank must see                      the same checkpoint file (a shared file system)",
                    self.step
                )));
            }
        }
        let first = self.step;
        let mut last = f64::NAN;
        while self.step < stop {
            let mut report = self.step(marginals)?;
            last = report.loss;
            let k = report.step;
            if let Some(path) = options.checkpoint.as_deref() {
                let due = (options.every > 0 && k % options.every == 0) || k == stop;
                if due && self.collective.is_root() {
                    self.save_checkpoint(path)?;
                    report.events.push(TrainEvent::Checkpoint {
                        step: k,
                        path: path.display().to_string(),
                    });
                }
            }
            on_step(&report);
        }
        Ok(RunSummary {
            steps: self.step - first,
            seconds: started.elapsed().as_secs_f64(),
            last_loss: last,
            resumed_from,
        })
    }

    /// The objective of `batch` under the current parameters, without a step: on held-out
    /// samples it is the action gap minus a constant of the data, so it ranks models (Sec. 2.2).
    /// `rng` draws the Hutchinson probe if one is used (not the run's stream).
    pub fn held_out_loss(&mut self, batch: &PathSample, rng: &mut SeededRng) -> Result<f64> {
        self.engine.loss(&self.objective, batch, rng)
    }

    /// The current model.
    pub fn model(&mut self) -> Result<&E::Model> {
        self.engine.model()
    }

    /// A copy of the model with the EMA parameters (with no EMA: of the current parameters).
    pub fn ema_model(&mut self) -> Result<E::Model> {
        match &self.ema {
            Some(shadow) => {
                let shadow = shadow.clone();
                self.engine.model_with(&shadow)
            }
            None => {
                self.engine.params_into(&mut self.scratch)?;
                let p = std::mem::take(&mut self.scratch);
                let m = self.engine.model_with(&p);
                self.scratch = p;
                m
            }
        }
    }

    /// The EMA of the flat parameters, if kept.
    pub fn ema_params(&self) -> Option<&[f64]> {
        self.ema.as_deref()
    }

    /// Writes the whole state to `path` atomically (see [`crate::checkpoint`]). In a
    /// data-parallel run only rank 0 writes (the state is the same on every rank); the others
    /// return at once.
    pub fn save_checkpoint(&mut self, path: &Path) -> Result<()> {
        if !self.collective.is_root() {
            return Ok(());
        }
        self.checkpoint()?.save(path)?;
        self.last_checkpoint = Some(path.display().to_string());
        Ok(())
    }

    /// Continues from a checkpoint written by the same configuration (checked part by part; a
    /// refused checkpoint leaves the trainer as it was).
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let ck = am_core::Checkpoint::load(path, &am_core::Device::Cpu)?;
        self.restore(&ck)?;
        self.last_checkpoint = Some(path.display().to_string());
        Ok(())
    }
}

use am_core::Checkpoint;

impl<E: Engine> Trainer<E> {
    /// The whole state: flat parameters, Adam, EMA, sampler, watch, random stream, step and the
    /// three parts of the configuration.
    pub fn checkpoint(&mut self) -> Result<Checkpoint> {
        crate::checkpoint::write(self)
    }

    /// Restores a state from [`Trainer::checkpoint`]; see [`Trainer::resume`].
    pub fn restore(&mut self, ck: &Checkpoint) -> Result<()> {
        crate::checkpoint::read(self, ck)
    }
}
