//! branching: entropic Action Matching on a branching time course observed at 5, 10 and 15 time
//! points (the setting of paper Fig. 2; the paper's MIOFlow data are not available, so this runs
//! on our simulator `am_paths::branching` and compares with nothing but itself and the noise floor).
//!
//! Cells follow dX = b(t, X)dt + σdW (σ = 0.1): they drift right, split into two branches and
//! merge again. Each time point observes a fresh population (snapshots, not trajectories). For each
//! number of time points we train entropic AM (Eq. 13, ε = σ) on the path between snapshots, push
//! the held-out cells of t = 0 with Euler–Maruyama and compare them with held-out cells of every
//! later time point (W2, MMD²; held-out populations 5× the training size), next to the noise
//! floor (two independent held-out populations). The claim
//! to check: the error does not grow with the number of time points.
//!
//! Between snapshots the path is `--path ot` (default: optimally paired cells joined by Brownian
//! bridges of the same ε, `OtPairedPath::with_bridge_noise`; without the noise the marginals
//! between snapshots are atomic and the entropic objective runs off to −∞ at 15 time points) or
//! `--path mixture` (the mixture of the neighbours, Sec. 4.1);
//! the mixture's kinetic energy is unbounded when neighbouring snapshots barely overlap, which is
//! the case here at 5 time points (see the README of the snapshots tool).
//!
//! The held-out AM loss (a held-out population's path, every `--eval-every` steps) is reported;
//! `--early-stop` evaluates the model with the lowest one instead of the last one.
//!
//! `cargo run --release --example branching` (≈ 3 min on 2 cores); `--quick` for a smoke run.

mod common;

use action_matching::core::{
    DType, Device, Diffusion, GradientField, Marginals, SeededRng, Tensor,
};
use action_matching::metrics::{mmd2, w2_equal, Kernel, MmdEstimator};
use action_matching::models::{FusedMlp, Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig, PathSample, QuasiRandomTime};
use action_matching::paths::branching::{branching_snapshots, BranchingConfig};
use action_matching::paths::Snapshots;
use action_matching::solvers::euler_maruyama;
use action_matching::train::figures::{self, ramp, Group, Labels};
use action_matching::train::snapshots::training_path;
use action_matching::train::{EngineChoice, TrainConfig};
use action_matching::train::{MlpEngine, Trainer};
use common::trainer::{checkpoints, fit, mlp_trainer};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "branching: entropic AM on a branching time course with 5, 10 and 15 time points (Fig. 2 setting)

USAGE: cargo run --release --example branching -- [OPTIONS]

OPTIONS:
  --steps N             training steps per model (default 5000; --quick: 30)
  --batch N             samples per term and step (default 256)
  --cells N             cells per time point (default 200; --quick: 60)
  --eps E               diffusion ε of entropic AM and of the sampler (default 0.1 = the data's σ)
  --path P              ot (default) or mixture: the path between snapshots
  --seed N              random seed (default 0)
  --out DIR             output folder (default out/branching)
  --engine E            fused (default) or generic
  --checkpoint-every N  steps between checkpoints (default 1000)
  --eval-every N        steps between held-out evaluations (default 500)
  --early-stop          evaluate the model with the lowest held-out loss, not the last one
  --resume              continue from the checkpoints in --out
  --quick               a smoke run of a few seconds (what CI runs)
  --help                this text";

/// The options shared by the three runs.
struct Setup {
    steps: u64,
    batch: usize,
    cells: usize,
    eps: f64,
    path_kind: String,
    seed: u64,
    every: u64,
    eval_every: u64,
    early_stop: bool,
    resume: bool,
    engine: EngineChoice,
    out: PathBuf,
}

impl Setup {
    fn parse() -> Res<Self> {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "early-stop"])?;
        let quick = args.flag("quick");
        let s = Setup {
            steps: args.get("steps", if quick { 30 } else { 5000 })?,
            batch: args.get("batch", 256)?,
            cells: args.get("cells", if quick { 60 } else { 200 })?,
            eps: args.get("eps", 0.1)?,
            path_kind: args.string("path", "ot"),
            seed: args.get("seed", 0)?,
            every: args.get("checkpoint-every", 1000)?,
            eval_every: args.get("eval-every", if quick { 10 } else { 500 })?,
            early_stop: args.flag("early-stop"),
            resume: args.flag("resume"),
            engine: args.string("engine", "fused").parse()?,
            out: PathBuf::from(args.string("out", "out/branching")),
        };
        if s.eval_every == 0 {
            return Err("--eval-every must be ≥ 1".into());
        }
        if !(s.eps >= 0.0 && s.eps.is_finite()) {
            return Err(format!("--eps must be ≥ 0, got {}", s.eps).into());
        }
        if s.path_kind != "ot" && s.path_kind != "mixture" {
            return Err(format!("--path: `{}` is neither `ot` nor `mixture`", s.path_kind).into());
        }
        std::fs::create_dir_all(&s.out).map_err(|e| format!("{}: {e}", s.out.display()))?;
        Ok(s)
    }
}

/// What training reports: the model evaluated, the step it comes from, the lowest held-out loss
/// and its step, and the seconds spent.
struct Trained {
    fused: FusedMlp<f32>,
    used_step: u64,
    best: (u64, f64),
    seconds: f64,
}

/// Trains entropic AM on the path between the snapshots of `data`, evaluating the held-out AM
/// loss on a held-out population's path every `eval_every` steps (Sec. 2.2: it is the gap up to a
/// constant of the data); with `--early-stop` the parameters with the lowest one are returned.
fn train(s: &Setup, data: &Snapshots, config: BranchingConfig, points: usize) -> Res<Trained> {
    let marginals: Box<dyn Marginals> = training_path(data, s.path_kind.parse()?, s.eps)?;
    let mlp = MlpConfig {
        dim: 2,
        hidden: vec![256, 256, 256],
        ..Default::default()
    };
    let model = Mlp::new(mlp, &mut SeededRng::new(s.seed), DType::F32, &Device::Cpu)?;
    let train = TrainConfig {
        seed: s.seed + 1,
        ..TrainConfig::new(s.steps, s.batch, 1e-3)
    };
    let objective = ActionMatching::new(AmConfig::entropic(s.eps))?;
    let mut trainer: Trainer<MlpEngine> =
        mlp_trainer(model, objective, train, s.engine, "branching")?.with_run_config(format!(
            r#"{{"example":"branching","points":{points},"cells":{},"eps":{},"path":"{}"}}"#,
            s.cells, s.eps, s.path_kind
        ));
    let held_pop: Snapshots = branching_snapshots(config, s.seed + 3000)?;
    let held_path: Box<dyn Marginals> = training_path(&held_pop, s.path_kind.parse()?, s.eps)?;
    let held_out = PathSample::draw(
        held_path.as_ref(),
        4096,
        &mut QuasiRandomTime::new(),
        &mut SeededRng::new(s.seed + 4000),
        DType::F32,
        &Device::Cpu,
    )?;
    let mut best: Option<(u64, f64, std::collections::HashMap<String, Tensor>)> = None;
    let started = std::time::Instant::now();
    let options = checkpoints(
        s.out.join(format!("t{points}.safetensors")),
        s.every,
        s.resume,
    );
    let mut stage = 0;
    while trainer.step_count() < s.steps {
        stage += s.eval_every;
        fit(
            &mut trainer,
            marginals.as_ref(),
            stage,
            &options,
            &format!("T={points}"),
        )?;
        let held = trainer.held_out_loss(&held_out, &mut SeededRng::new(0))?;
        if best.as_ref().is_none_or(|b| held < b.1) {
            best = Some((
                trainer.step_count(),
                held,
                trainer.model()?.named_tensors()?,
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (best_step, best_loss, best_params) = best.ok_or("no training step was taken")?;
    let (used_step, used) = if s.early_stop {
        (best_step, best_params)
    } else {
        (trainer.step_count(), trainer.model()?.named_tensors()?)
    };
    let chosen = Mlp::new(
        trainer.model()?.config().clone(),
        &mut SeededRng::new(0),
        DType::F32,
        &Device::Cpu,
    )?;
    chosen.load_named_tensors(&used)?;
    Ok(Trained {
        fused: FusedMlp::<f32>::from_mlp(&chosen)?,
        used_step,
        best: (best_step, best_loss),
        seconds,
    })
}

/// Per later time point: W2 and MMD² of the pushed held-out t = 0 cells against held-out cells,
/// and the noise floor (W2 between two independent held-out populations).
fn evaluate(
    s: &Setup,
    fused: &FusedMlp<f32>,
    test: &Snapshots,
    floor: &Snapshots,
) -> Res<[Vec<f64>; 3]> {
    let points = test.times().len();
    let kernel = Kernel::Bandwidths(vec![0.01, 0.1, 1.0, 10.0, 100.0]);
    let tau: Vec<f64> = (0..points)
        .map(|k| k as f64 / (points - 1) as f64)
        .collect();
    let x0 = test.tensor(0, DType::F32, &Device::Cpu)?;
    let field = GradientField::new(fused);
    let diffusion = Diffusion::Constant { eps: s.eps };
    let mut rng = SeededRng::new(s.seed + 3);
    let traj = euler_maruyama(&field, diffusion, &x0, 0.0, 1.0, 300, &tau[1..], &mut rng)?;
    let (mut w, mut m, mut wf) = (Vec::new(), Vec::new(), Vec::new());
    for k in 1..points {
        let pushed = traj.at(k - 1)?;
        let truth = test.tensor(k, DType::F32, &Device::Cpu)?;
        let other = floor.tensor(k, DType::F32, &Device::Cpu)?;
        w.push(w2_equal(&pushed, &truth)?);
        m.push(mmd2(&pushed, &truth, &kernel, MmdEstimator::Unbiased, 512)?);
        wf.push(w2_equal(&other, &truth)?);
    }
    Ok([w, m, wf])
}

/// The training snapshots coloured by time and 50 SDE trajectories of held-out t = 0 cells.
fn figure(s: &Setup, file: &Path, data: &Snapshots, fused: &FusedMlp<f32>, x0: &Tensor) -> Res<()> {
    let points = data.times().len();
    let mut groups = Vec::new();
    for k in 0..points {
        let cells = data.group(k)?;
        groups.push(Group {
            label: format!("t = {:.3} ({} cells)", data.times()[k], cells.len() / 2),
            points: cells.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            color: ramp(k, points),
        });
    }
    let grid: Vec<f64> = (0..=60).map(|k| k as f64 / 60.0).collect();
    let diffusion = Diffusion::Constant { eps: s.eps };
    let mut rng = SeededRng::new(s.seed + 4);
    let dense = euler_maruyama(
        &GradientField::new(fused),
        diffusion,
        x0,
        0.0,
        1.0,
        300,
        &grid,
        &mut rng,
    )?;
    let title = format!(
        "Branching cells, {points} time points: entropic AM (ε = {}, {} steps)",
        s.eps, s.steps
    );
    let labels = Labels {
        title: &title,
        x: "x (drift direction)",
        y: "y (branch coordinate)",
    };
    let paths = figures::trajectory_paths(&dense, (0, 1), 50)?;
    Ok(figures::scatter_with_paths(
        file,
        &labels,
        &groups,
        &paths,
        "SDE trajectories of held-out t = 0 cells",
    )?)
}

fn main() {
    common::run(|| {
        let s = Setup::parse()?;
        println!(
            "branching time course, σ = 0.1, {} cells per time point; entropic AM ε = {}, path `{}`, {} steps, engine {:?}",
            s.cells, s.eps, s.path_kind, s.steps, s.engine
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut summary = Vec::new();
        for points in [5usize, 10, 15] {
            let config = BranchingConfig {
                times: points,
                cells: s.cells,
                ..Default::default()
            };
            let data: Snapshots = branching_snapshots(config, s.seed)?;
            // held-out populations 5× larger than the training ones: the branch proportions of
            // 200 cells vary by ±3.5 %, which alone moves W2 by ≈ 0.3 between the branches
            let big = BranchingConfig {
                cells: 5 * s.cells,
                ..config
            };
            let test: Snapshots = branching_snapshots(big, s.seed + 1000)?;
            let floor: Snapshots = branching_snapshots(big, s.seed + 2000)?;
            let t = train(&s, &data, config, points)?;
            let [w, m, wf] = evaluate(&s, &t.fused, &test, &floor)?;
            println!(
                "T = {points:>2}: {} steps in {:.1} s; lowest held-out loss {:+.4} at step {}; model of step {} used; W2 per time point: {}",
                s.steps, t.seconds, t.best.1, t.best.0, t.used_step,
                w.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" ")
            );
            summary.push((points, mean(&w), w[w.len() - 1], mean(&m), mean(&wf)));
            let x0 = test.tensor(0, DType::F32, &Device::Cpu)?;
            figure(
                &s,
                &s.out.join(format!("trajectories_t{points}.png")),
                &data,
                &t.fused,
                &x0,
            )?;
        }
        println!("\n| time points | mean W2 over t > 0 | W2 at t = 1 | mean MMD² | noise floor (mean W2 between two populations) |");
        println!("|---|---|---|---|---|");
        for (p, w, w1, m, f) in &summary {
            println!("| {p} | {w:.4} | {w1:.4} | {m:.2e} | {f:.4} |");
        }
        println!(
            "\nwrote {}/trajectories_t{{5,10,15}}.png (training snapshots coloured by time; lines: SDE trajectories of held-out t = 0 cells)",
            s.out.display()
        );
        Ok(())
    });
}
