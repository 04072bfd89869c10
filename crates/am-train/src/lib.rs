//! # am-train: the glue that turns the leaf crates into a training run
//!
//! The leaf crates (paths, models, objectives, solvers, metrics) depend only on `am-core`;
//! this crate is the one place that joins them, so that a user's crate, the `am` CLI and the
//! examples run the same code:
//!
//! - [`Trainer`]: the loop — batches from any `Marginals` with the uniform, quasi-random or
//!   adaptive (Eq. 88) time sampler, warm-up and cosine decay, global-norm or per-element
//!   clipping, EMA of the parameters, the divergence watch as typed [`TrainEvent`]s (the library
//!   never prints), the held-out loss, and checkpoints that resume bit-exactly
//!   ([`checkpoint`], schema `am-train/1`);
//! - [`Engine`]: one trait over the fused host step ([`FusedEngine`]) and candle's autograd
//!   ([`AutogradEngine`], any [`TrainableAction`]); [`MlpEngine`] picks the fused step where it
//!   applies and says why when it falls back;
//! - [`TrainConfig`]: the run's validated configuration;
//! - [`snapshots`]: AM on time-course snapshots — preprocessing saved with the model,
//!   the path between time points, the fit that `am fit` runs;
//! - [`protocol`]: one-step and leave-one-out W1/W2 of a snapshot model against held-out
//!   cells, with the identity, mean-shift, OT-interpolation and OT-displacement baselines, and
//!   the choice of ε on held-out training cells;
//! - [`images`]: sampling images from noise (Dopri5 or fixed steps, with the NFE) and their bits
//!   per dimension by Eq. 9;
//! - [`figures`] (feature `figures`, on by default): PNG figures with axes, labels, legends and
//!   log scales, with an embedded font;
//! - [`parallel`]: data-parallel training and evaluation over processes — the [`Collective`]
//!   trait, one process, MPI (feature `mpi`); a run with `TrainConfig::shards` gives the same
//!   parameters on any number of ranks ([`data_parallel`]);
//! - [`LossLoop`]: a plain Adam loop over a loss the caller builds (the score- and flow-matching
//!   baselines).

pub mod checkpoint;
pub mod config;
pub mod data_parallel;
pub mod engine;
pub mod error;
#[cfg(feature = "figures")]
pub mod figures;
pub mod images;
pub mod loss_loop;
pub mod parallel;
pub mod protocol;
pub mod sampler;
pub mod snapshots;
pub mod trainer;
pub mod watch;

pub use config::{Decay, Schedule, TimeSamplerConfig, TrainConfig, WatchConfig};
pub use engine::{
    AutogradEngine, Engine, EngineChoice, EngineKind, FlowMatchingEngine, FusedEngine, MlpEngine,
    OptimizerState, Regression, RegressionEngine, ShardOutcome, StepOutcome, TrainableAction,
    TrainableField,
};
pub use error::{CheckpointProblem, Error, Result};
pub use loss_loop::LossLoop;
pub use parallel::{Collective, SingleProcess};
pub use sampler::Sampler;
pub use trainer::{RunOptions, RunSummary, StepReport, Trainer};
pub use watch::TrainEvent;

/// JSON of a serialisable value (the small entries of checkpoints and model files; these types
/// always serialise).
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
