//! `am fit`: everything the snapshots tool does, as a command.

use super::data::DataArgs;
use crate::failure::{CliError, Failure};
use crate::progress::Progress;
use am_core::train::Clip;
use am_train::protocol::{select_eps, EvalConfig};
use am_train::snapshots::{FitConfig, Masses, PathKind, Simulation, SnapshotFit};
use am_train::{Collective, Engine, EngineChoice, RunOptions, TimeSamplerConfig};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

/// The time sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeArg {
    /// The √2 quasi-random sequence.
    Quasi,
    /// t ~ U[0, 1].
    Uniform,
    /// The adaptive p(t) of App. C, Eq. 88.
    Adaptive,
}

/// `am fit` options.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// The snapshots.
    #[command(flatten)]
    pub data: DataArgs,
    /// Keep the first K columns (e.g. principal components).
    #[arg(long, value_name = "K")]
    pub dims: Option<usize>,
    /// Train without interior time point K (0-based), to evaluate with `am eval`.
    #[arg(long, value_name = "K")]
    pub leave_out: Option<usize>,
    /// Diffusion ε (0: deterministic AM, Eq. 7; > 0: entropic AM, Eq. 13).
    #[arg(long, default_value_t = 0.0, value_name = "E")]
    pub eps: f64,
    /// Choose ε among these candidates first: each is fitted on 80 % of the cells of every time
    /// point and pushes the other 20 % one step; the least mean W1 wins (overrides --eps).
    #[arg(long, value_delimiter = ',', value_name = "E,E,...")]
    pub select_eps: Vec<f64>,
    /// SDE repeats per transition when choosing ε.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub select_repeats: usize,
    /// Growth weight λ of unbalanced AM (Eq. 20/69).
    #[arg(long, default_value_t = 0.0, value_name = "L")]
    pub lambda: f64,
    /// Per-time masses for unbalanced AM (needs --lambda > 0): `counts` or m0,m1,...
    #[arg(long, value_name = "M")]
    pub masses: Option<String>,
    /// The path between time points: `ot` (OT-paired, Brownian bridges of ε) or `mixture`.
    #[arg(long, default_value = "ot", value_name = "P")]
    pub path: String,
    /// Hidden widths.
    #[arg(
        long,
        default_value = "256,256,256",
        value_delimiter = ',',
        value_name = "W,W,..."
    )]
    pub hidden: Vec<usize>,
    /// Training steps.
    #[arg(long, default_value_t = 4000, value_name = "N")]
    pub steps: u64,
    /// Samples per term and step.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub batch: usize,
    /// Peak learning rate (warm-up over 200 steps, cosine decay to 2 %).
    #[arg(long, default_value_t = 1e-3, value_name = "R")]
    pub lr: f64,
    /// Clip the gradient to this global norm.
    #[arg(long, value_name = "C")]
    pub clip: Option<f64>,
    /// EMA decay of the parameters; the model file then holds the EMA parameters.
    #[arg(long, value_name = "D")]
    pub ema: Option<f64>,
    /// The time sampler.
    #[arg(long, value_enum, default_value_t = TimeArg::Quasi)]
    pub time: TimeArg,
    /// Random seed (parameters; the training stream uses seed + 1).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Data-parallel shards per step (each drawn from its own stream; must divide --batch):
    /// the same K gives the same run on any number of processes. Default: the number of MPI
    /// ranks when started by `mpirun`/`srun` (build with `--features mpi`), else none.
    #[arg(long, value_name = "K")]
    pub shards: Option<usize>,
    /// `fused` (hand-derived host step) or `generic` (candle autograd).
    #[arg(long, default_value = "fused", value_name = "E")]
    pub engine: String,
    /// The model file to write.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// The training checkpoint (default: the model file's name with `.ckpt` before the extension).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub checkpoint_every: u64,
    /// Continue from the checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// The figure of the fit: cells by time point and trajectories (default: the model file's
    /// name with `.png`).
    #[arg(long, value_name = "FILE")]
    pub figure: Option<PathBuf>,
}

fn usage(arg: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Usage, format!("--{arg}: {e}"))
}

impl FitArgs {
    /// The library's configuration of these options.
    pub fn config(&self) -> Result<FitConfig, CliError> {
        let mut c = FitConfig::new(self.steps);
        c.dims = self.dims;
        c.leave_out = self.leave_out;
        c.eps = self.eps;
        c.lambda = self.lambda;
        c.masses = match self.masses.as_deref() {
            None => None,
            Some("counts") => Some(Masses::Counts),
            Some(list) => Some(Masses::Values(
                list.split(',')
                    .map(|v| v.trim().parse::<f64>().map_err(|e| usage("masses", e)))
                    .collect::<Result<_, _>>()?,
            )),
        };
        c.path = self
            .path
            .parse::<PathKind>()
            .map_err(|e| usage("path", e))?;
        c.hidden = self.hidden.clone();
        c.model_seed = self.seed;
        c.engine = self
            .engine
            .parse::<EngineChoice>()
            .map_err(|e| usage("engine", e))?;
        c.train.seed = self.seed + 1;
        c.train.batch = self.batch;
        c.train.adam.lr = self.lr;
        c.train.clip = self.clip.map(Clip::GlobalNorm).unwrap_or(Clip::None);
        c.train.ema = self.ema;
        c.train.shards = self.shards;
        c.train.time = match self.time {
            TimeArg::Quasi => TimeSamplerConfig::QuasiRandom,
            TimeArg::Uniform => TimeSamplerConfig::Uniform,
            TimeArg::Adaptive => TimeSamplerConfig::adaptive(),
        };
        c.validate()?;
        Ok(c)
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint.clone().unwrap_or_else(|| {
            let stem = self
                .out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into());
            self.out.with_file_name(format!("{stem}.ckpt.safetensors"))
        })
    }
}

fn options(a: &FitArgs) -> RunOptions {
    RunOptions {
        checkpoint: Some(a.checkpoint_path()),
        every: a.checkpoint_every,
        resume: a.resume,
    }
}

/// Chooses ε with `protocol::select_eps` (held-out 20 %, split seed + 5, noise seed + 7) and
/// prints the trials.
fn choose_eps(
    a: &FitArgs,
    train: &am_paths::Snapshots,
    config: &FitConfig,
) -> Result<f64, CliError> {
    if a.select_repeats == 0 {
        return Err(usage("select-repeats", "must be ≥ 1"));
    }
    let eval = EvalConfig {
        repeats: a.select_repeats,
        seed: a.seed + 7,
        ..Default::default()
    };
    // chosen on every transition, also for a --leave-out fit
    let all = FitConfig {
        leave_out: None,
        ..config.clone()
    };
    let selection = select_eps(
        train,
        &all,
        &a.select_eps,
        0.2,
        a.seed + 5,
        &eval,
        |fit, eps| {
            let progress = Progress::new(&format!("ε = {eps}"), config.train.steps, 0);
            let out = fit.run(&RunOptions::default(), |r| progress.show(r));
            progress.finish();
            out.map(|_| ())
        },
    )?;
    println!(
        "choosing ε on a held-out 20 % of the cells ({:?} per time point):\n| ε | mean W1, held-out one-step |\n|---|---|",
        selection.held_counts
    );
    for t in &selection.trials {
        println!("| {} | {:.4} |", t.eps, t.mean_w1);
    }
    println!("chosen: ε = {}", selection.chosen);
    Ok(selection.chosen)
}

/// Runs `am fit`: in one process, or on every rank of an MPI launch, where rank 0 alone prints
/// and writes, and a rank that fails outside the trainer's agreed errors ends the whole job.
pub fn run(a: FitArgs) -> Result<(), CliError> {
    let collective = am_train::parallel::from_environment()?;
    let out = fit(a, collective.clone());
    if let Err(e) = &out {
        if collective.size() > 1 {
            eprintln!("error (rank {}): {e}", collective.rank());
            collective.abort(e.failure as i32);
        }
    }
    out
}

fn fit(a: FitArgs, collective: Arc<dyn Collective>) -> Result<(), CliError> {
    let root = collective.is_root();
    let mut config = a.config()?;
    if collective.size() > 1 && config.train.shards.is_none() {
        config.train.shards = Some(collective.size());
        config.validate()?;
    }
    let (train, _) = a.data.load()?;
    if !a.select_eps.is_empty() {
        config.eps = choose_eps(&a, &train, &config)?;
    }
    let run = serde_json::json!({
        "data": a.data.data.display().to_string(),
        "x_key": a.data.x_key, "t_key": a.data.t_key, "obsm": a.data.obsm,
        "time_column": a.data.time_column, "split": a.data.split, "split_seed": a.data.split_seed,
    })
    .to_string();
    let mut fit =
        SnapshotFit::new(&train, config.clone(), &run)?.with_collective(collective.clone())?;
    if !root {
        // the same training as rank 0; its outputs are rank 0's to write
        fit.run(&options(&a), |_| {})?;
        return Ok(());
    }
    if let Some(n) = &fit.engine_note {
        eprintln!("({n})");
    }
    if collective.size() > 1 {
        println!(
            "data-parallel: {}, {} shards of {} samples per step",
            collective.describe(),
            config.train.shards.unwrap_or(1),
            config.train.batch / config.train.shards.unwrap_or(1)
        );
    }
    println!(
        "{}: {} time points {:?}, cells {:?}, D = {}; ε = {}, λ = {}, path {:?}, {} steps × {}, engine {:?}",
        a.data.data.display(),
        train.times().len(),
        train.times(),
        fit.data.counts(),
        fit.data.dim(),
        config.eps,
        config.lambda,
        config.path,
        config.train.steps,
        config.train.batch,
        fit.trainer.engine().kind()
    );
    let progress = Progress::new("am fit", config.train.steps, 0);
    let summary = fit.run(&options(&a), |r| progress.show(r));
    progress.finish();
    let summary = summary?;
    if let Some(step) = summary.resumed_from {
        println!(
            "resumed from {} at step {step}",
            a.checkpoint_path().display()
        );
    }
    println!(
        "trained {} steps in {:.1} s ({:.2} ms/step), last loss {:+.4}",
        summary.steps,
        summary.seconds,
        1e3 * summary.seconds / summary.steps.max(1) as f64,
        summary.last_loss
    );
    let model = fit.model()?;
    model.save(&a.out).map_err(|e| super::output(&a.out, e))?;
    // how well the training marginals are reproduced: the first time point pushed forward
    let data = &fit.data;
    let pushed = model.push_first(data, Simulation::Sde, a.seed + 2)?;
    println!("\n| time | cells | W2, first time point pushed by the model vs the snapshot (standardised units) |");
    println!("|---|---|---|");
    for (k, w) in pushed.w2.iter().enumerate().map(|(i, w)| (i + 1, w)) {
        let note = if config.leave_out == Some(k) {
            " (left out)"
        } else {
            ""
        };
        println!(
            "| {:.4} | {} | {w:.4}{note} |",
            model.preprocessing.time_from_model(data.times()[k]),
            data.counts()[k]
        );
    }
    let figure = a
        .figure
        .clone()
        .unwrap_or_else(|| a.out.with_extension("png"));
    let title = format!(
        "{}: cells and the learned dynamics (ε = {}, {} steps)",
        a.data
            .data
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        config.eps,
        summary.steps + summary.resumed_from.unwrap_or(0)
    );
    am_train::figures::snapshot_figure(
        &figure,
        &title,
        data,
        &model.preprocessing,
        &pushed.trajectory,
    )
    .map_err(|e| super::output(&figure, e))?;
    println!(
        "\nwrote the model {} (configuration, standardisation, time mapping and ε in its metadata; `am info` shows them), the checkpoint {} and the figure {}",
        a.out.display(),
        a.checkpoint_path().display(),
        figure.display()
    );
    Ok(())
}
