//! The examples' view of `am_train`: an MLP trainer with the engine's fallback note printed, and
//! the `am` command's progress display (a bar, or plain lines in a log) fed by the trainer's
//! step reports. The training loop itself lives in `am_train`.

use action_matching::core::{Marginals, SeededRng, Tensor, Var};
use action_matching::models::Mlp;
use action_matching::objectives::ActionMatching;
use action_matching::train::{
    Engine, EngineChoice, LossLoop, MlpEngine, RunOptions, RunSummary, TrainConfig, Trainer,
};
use am_cli::progress::Progress;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A trainer for `model`, printing why the fused engine fell back to autograd, if it did.
pub fn mlp_trainer(
    model: Mlp,
    objective: ActionMatching,
    config: TrainConfig,
    engine: EngineChoice,
    label: &str,
) -> Res<Trainer<MlpEngine>> {
    let (engine, note) = MlpEngine::new(model, &objective, config.adam, engine)?;
    if let Some(n) = note {
        println!("({label}: {n})");
    }
    Ok(Trainer::new(engine, objective, config)?)
}

/// Runs `trainer` to step `stop` on `marginals` with a progress display, saying when it resumed.
pub fn fit<E: Engine>(
    trainer: &mut Trainer<E>,
    marginals: &dyn Marginals,
    stop: u64,
    options: &RunOptions,
    label: &str,
) -> Res<RunSummary> {
    let progress = Progress::new(label, trainer.config().steps, trainer.step_count());
    let out = trainer.run_to(stop, marginals, options, |r| progress.show(r));
    progress.finish();
    let summary = out.map_err(|e| format!("{label}: {e}"))?;
    if let (Some(step), Some(path)) = (summary.resumed_from, &options.checkpoint) {
        println!("{label}: resumed from {} at step {step}", path.display());
    }
    Ok(summary)
}

/// Checkpoint options for `path`, every `every` steps, resuming when asked.
pub fn checkpoints(path: std::path::PathBuf, every: u64, resume: bool) -> RunOptions {
    RunOptions {
        checkpoint: Some(path),
        every,
        resume,
    }
}

/// Trains a vector-field model (a score or flow-matching baseline) on the minibatch loss that
/// `loss(step, rng)` builds, with `am_train::LossLoop` (warm-up, cosine decay, clipping at 1)
/// and a progress display. Returns the seconds spent.
pub fn train_vector(
    vars: Vec<Var>,
    steps: u64,
    lr: f64,
    label: &str,
    rng: &mut SeededRng,
    loss: impl FnMut(u64, &mut SeededRng) -> Res<Tensor>,
) -> Res<f64> {
    let progress = Progress::new(label, steps, 0);
    let out = LossLoop::new(vars, steps, lr)?.run(rng, loss, |r| progress.show(r));
    progress.finish();
    Ok(out.map_err(|e| format!("{label}: {e}"))?)
}
