//! The validated configuration of a training run (linfa's style: plain fields, one `validate`
//! that names the field at fault before any tensor is touched).

use am_core::train::{AdamConfig, Clip, Warmup};
use am_core::Error as CoreError;
use am_objectives::{AdaptiveTime, QuasiRandomTime, UniformTime};
use serde::{Deserialize, Serialize};

/// Learning-rate schedule: linear warm-up from 0 to the peak `AdamConfig::lr` over `warmup`
/// steps, then constant or cosine decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Warm-up length in steps (0: none).
    pub warmup: u64,
    /// What follows the warm-up.
    pub decay: Decay,
}

/// The learning rate after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Decay {
    /// The peak rate (the reference runs).
    Constant,
    /// Cosine decay from the peak to `peak·floor` at step `total`, then constant.
    Cosine {
        /// The step where the decay ends.
        total: u64,
        /// The final fraction of the peak rate, in [0, 1].
        floor: f64,
    },
}

impl Schedule {
    /// Warm-up over min(200, `steps`) steps, then cosine decay to `floor` at `steps`.
    pub fn warmup_cosine(steps: u64, floor: f64) -> Self {
        Self {
            warmup: steps.min(200),
            decay: Decay::Cosine {
                total: steps,
                floor,
            },
        }
    }

    /// Warm-up over `warmup` steps, then the peak rate.
    pub fn constant(warmup: u64) -> Self {
        Self {
            warmup,
            decay: Decay::Constant,
        }
    }

    /// The learning rate at (1-based) step `k` for peak rate `lr`.
    pub fn lr_at(&self, lr: f64, k: u64) -> f64 {
        let (cosine_total, floor) = match self.decay {
            Decay::Constant => (None, 1.0),
            Decay::Cosine { total, floor } => (Some(total), floor),
        };
        Warmup {
            lr,
            steps: self.warmup,
            cosine_total,
            floor,
        }
        .lr_at(k)
    }

    fn validate(&self) -> am_core::Result<()> {
        if let Decay::Cosine { floor, .. } = self.decay {
            if !(0.0..=1.0).contains(&floor) {
                return Err(CoreError::config(
                    "schedule.decay.floor",
                    format!("must lie in [0, 1], got {floor}"),
                ));
            }
        }
        Ok(())
    }
}

/// The distribution p(t) of the times of the time integral.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum TimeSamplerConfig {
    /// t ~ U[0, 1] (Algorithm 1).
    Uniform,
    /// The √2 quasi-random sequence (uniform marginals, even coverage of each batch).
    QuasiRandom,
    /// The adaptive p(t) of App. C, Eq. 88, fed by each step's per-sample integrand.
    Adaptive {
        /// Grid points G (reference 100).
        grid: usize,
        /// Smoothing rate κ (reference 100).
        kappa: f64,
        /// EMA decay β of the moments (reference 0.99).
        beta: f64,
        /// Mixing weight α of the uniform density (reference 0.01).
        alpha: f64,
    },
}

impl TimeSamplerConfig {
    /// The reference setting of the adaptive sampler.
    pub fn adaptive() -> Self {
        TimeSamplerConfig::Adaptive {
            grid: 100,
            kappa: 100.0,
            beta: 0.99,
            alpha: 0.01,
        }
    }

    pub(crate) fn build(&self) -> am_core::Result<crate::sampler::Sampler> {
        use crate::sampler::Sampler;
        Ok(match *self {
            TimeSamplerConfig::Uniform => Sampler::Uniform(UniformTime),
            TimeSamplerConfig::QuasiRandom => Sampler::QuasiRandom(QuasiRandomTime::new()),
            TimeSamplerConfig::Adaptive {
                grid,
                kappa,
                beta,
                alpha,
            } => Sampler::Adaptive(Box::new(AdaptiveTime::with(grid, kappa, beta, alpha)?)),
        })
    }
}

/// The divergence watch: a step whose ‖∇θ‖ or −loss exceeds `factor` × their largest values
/// over the first `baseline` steps is reported once as [`crate::TrainEvent::Diverging`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WatchConfig {
    /// Steps that set the baseline.
    pub baseline: u64,
    /// The factor over the baseline that raises the event.
    pub factor: f64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            baseline: 100,
            factor: 100.0,
        }
    }
}

/// Everything that defines a training run besides the model, the objective and the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Total steps (a resumed run continues up to this count; the only field a resume may change).
    pub steps: u64,
    /// Samples per term (x₀, x₁ and x_t each) and step.
    pub batch: usize,
    /// Adam; its `lr` is the schedule's peak rate.
    pub adam: AdamConfig,
    /// Warm-up and decay of the learning rate.
    pub schedule: Schedule,
    /// Gradient clipping.
    pub clip: Clip,
    /// EMA decay of the parameters (`None`: no EMA).
    pub ema: Option<f64>,
    /// The time sampler.
    pub time: TimeSamplerConfig,
    /// The divergence watch (`None`: off).
    pub watch: Option<WatchConfig>,
    /// The seed of the trainer's random stream (batches, probes).
    pub seed: u64,
    /// Data-parallel batches: `Some(K)` splits every step's batch into K shards of batch/K
    /// samples, shard k drawn from its own stream of (seed, step, k), so that any number of
    /// ranks R ≤ K computes the same step (rank r takes shards r, r + R, …). `None`: one batch
    /// from the run's single stream (one process only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
}

impl TrainConfig {
    /// `steps` steps of `batch` samples at peak rate `lr`; warm-up over min(200, steps) steps and
    /// cosine decay to 2 % (the examples' schedule), no clipping, no EMA, the quasi-random
    /// sampler, the divergence watch on, seed 0.
    pub fn new(steps: u64, batch: usize, lr: f64) -> Self {
        Self {
            steps,
            batch,
            adam: AdamConfig {
                lr,
                ..Default::default()
            },
            schedule: Schedule::warmup_cosine(steps, 0.02),
            clip: Clip::None,
            ema: None,
            time: TimeSamplerConfig::QuasiRandom,
            watch: Some(WatchConfig::default()),
            seed: 0,
            shards: None,
        }
    }

    /// Checks every field, naming the one at fault.
    pub fn validate(&self) -> am_core::Result<()> {
        if self.batch == 0 {
            return Err(CoreError::config("batch", "must be ≥ 1"));
        }
        self.adam.validate()?;
        self.schedule.validate()?;
        self.clip.validate()?;
        if let Some(d) = self.ema {
            if !(0.0..1.0).contains(&d) {
                return Err(CoreError::config(
                    "ema",
                    format!("the decay must lie in [0, 1), got {d}"),
                ));
            }
        }
        if let Some(w) = self.watch {
            if w.baseline == 0 || !(w.factor > 1.0 && w.factor.is_finite()) {
                return Err(CoreError::config(
                    "watch",
                    format!(
                        "needs baseline ≥ 1 and a finite factor > 1, got {} and {}",
                        w.baseline, w.factor
                    ),
                ));
            }
        }
        if let Some(k) = self.shards {
            if k == 0 || !self.batch.is_multiple_of(k) {
                return Err(CoreError::config(
                    "shards",
                    format!("must be ≥ 1 and divide the batch ({}), got {k}", self.batch),
                ));
            }
        }
        self.time.build()?;
        Ok(())
    }

    /// The configuration as resumed runs must match it: everything but `steps`.
    pub(crate) fn identity(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("steps");
        }
        v.to_string()
    }
}
