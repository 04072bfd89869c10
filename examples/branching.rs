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
use action_matching::train::snapshots::training_path;
use action_matching::train::{EngineChoice, TrainConfig};
use common::plot::{ramp, Canvas};
use common::trainer::{checkpoints, fit, mlp_trainer};
use std::path::PathBuf;

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

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "early-stop"])?;
        let quick = args.flag("quick");
        let steps: u64 = args.get("steps", if quick { 30 } else { 5000 })?;
        let batch: usize = args.get("batch", 256)?;
        let cells: usize = args.get("cells", if quick { 60 } else { 200 })?;
        let eps: f64 = args.get("eps", 0.1)?;
        let path_kind = args.string("path", "ot");
        let seed: u64 = args.get("seed", 0)?;
        let every: u64 = args.get("checkpoint-every", 1000)?;
        let eval_every: u64 = args.get("eval-every", if quick { 10 } else { 500 })?;
        let early_stop = args.flag("early-stop");
        if eval_every == 0 {
            return Err("--eval-every must be ≥ 1".into());
        }
        let engine: EngineChoice = args.string("engine", "fused").parse()?;
        let out = PathBuf::from(args.string("out", "out/branching"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(format!("--eps must be ≥ 0, got {eps}").into());
        }
        if path_kind != "ot" && path_kind != "mixture" {
            return Err(format!("--path: `{path_kind}` is neither `ot` nor `mixture`").into());
        }
        println!("branching time course, σ = 0.1, {cells} cells per time point; entropic AM ε = {eps}, path `{path_kind}`, {steps} steps, engine {engine:?}");
        let kernel = Kernel::Bandwidths(vec![0.01, 0.1, 1.0, 10.0, 100.0]);
        let mut summary = Vec::new();
        for points in [5usize, 10, 15] {
            let config = BranchingConfig {
                times: points,
                cells,
                ..Default::default()
            };
            let data: Snapshots = branching_snapshots(config, seed)?;
            // held-out populations 5× larger than the training ones: the branch proportions of
            // 200 cells vary by ±3.5 %, which alone moves W2 by ≈ 0.3 between the branches
            let big = BranchingConfig {
                cells: 5 * cells,
                ..config
            };
            let test: Snapshots = branching_snapshots(big, seed + 1000)?;
            let floor_pop: Snapshots = branching_snapshots(big, seed + 2000)?;
            let marginals: Box<dyn Marginals> = training_path(&data, path_kind.parse()?, eps)?;
            let model = Mlp::new(
                MlpConfig {
                    dim: 2,
                    hidden: vec![256, 256, 256],
                    ..Default::default()
                },
                &mut SeededRng::new(seed),
                DType::F32,
                &Device::Cpu,
            )?;
            let train = TrainConfig {
                seed: seed + 1,
                ..TrainConfig::new(steps, batch, 1e-3)
            };
            let mut trainer = mlp_trainer(
                model,
                ActionMatching::new(AmConfig::entropic(eps))?,
                train,
                engine,
                "branching",
            )?
            .with_run_config(format!(
                r#"{{"example":"branching","points":{points},"cells":{cells},"eps":{eps},"path":"{path_kind}"}}"#
            ));
            let label = format!("T={points}");
            // early stopping by the held-out AM loss (Sec. 2.2: it is the gap up to a constant of
            // the data): a held-out population gives the same kind of path, and the parameters
            // with the lowest held-out loss are the ones evaluated
            let held_pop: Snapshots = branching_snapshots(config, seed + 3000)?;
            let held_path: Box<dyn Marginals> = training_path(&held_pop, path_kind.parse()?, eps)?;
            let held_out = PathSample::draw(
                held_path.as_ref(),
                4096,
                &mut QuasiRandomTime::new(),
                &mut SeededRng::new(seed + 4000),
                DType::F32,
                &Device::Cpu,
            )?;
            let mut best: Option<(u64, f64, std::collections::HashMap<String, Tensor>)> = None;
            let started = std::time::Instant::now();
            let mut stage = 0;
            let options = checkpoints(
                out.join(format!("t{points}.safetensors")),
                every,
                args.flag("resume"),
            );
            while trainer.step_count() < steps {
                stage += eval_every;
                fit(&mut trainer, marginals.as_ref(), stage, &options, &label)?;
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
            let (used_step, used_params) = if early_stop {
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
            chosen.load_named_tensors(&used_params)?;
            let fused = FusedMlp::<f32>::from_mlp(&chosen)?;
            let tau: Vec<f64> = (0..points)
                .map(|k| k as f64 / (points - 1) as f64)
                .collect();
            let x0 = test.tensor(0, DType::F32, &Device::Cpu)?;
            let traj = euler_maruyama(
                &GradientField::new(&fused),
                Diffusion::Constant { eps },
                &x0,
                0.0,
                1.0,
                300,
                &tau[1..],
                &mut SeededRng::new(seed + 3),
            )?;
            let (mut w, mut m, mut wf) = (Vec::new(), Vec::new(), Vec::new());
            for k in 1..points {
                let pushed = traj.at(k - 1)?;
                let truth = test.tensor(k, DType::F32, &Device::Cpu)?;
                let other = floor_pop.tensor(k, DType::F32, &Device::Cpu)?;
                w.push(w2_equal(&pushed, &truth)?);
                m.push(mmd2(&pushed, &truth, &kernel, MmdEstimator::Unbiased, 512)?);
                wf.push(w2_equal(&other, &truth)?);
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            println!(
                "T = {points:>2}: {steps} steps in {seconds:.1} s; lowest held-out loss {best_loss:+.4} at step {best_step}; model of step {used_step} used; W2 per time point: {}",
                w.iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            summary.push((points, mean(&w), w[w.len() - 1], mean(&m), mean(&wf)));

            // trajectories over the data
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for k in 0..points {
                for p in data.group(k)?.chunks_exact(2) {
                    lo = lo.min(p[1]);
                    hi = hi.max(p[1]);
                }
            }
            let mut canvas = Canvas::new(900, 600, [-0.3, 2.4, lo - 0.1, hi + 0.1]);
            for k in 0..points {
                let c = ramp(k as f64 / (points - 1) as f64);
                for p in data.group(k)?.chunks_exact(2) {
                    canvas.point(p[0], p[1], 2.0, c, 0.35);
                }
            }
            let grid: Vec<f64> = (1..=60).map(|k| k as f64 / 60.0).collect();
            let dense = euler_maruyama(
                &GradientField::new(&fused),
                Diffusion::Constant { eps },
                &x0,
                0.0,
                1.0,
                300,
                &grid,
                &mut SeededRng::new(seed + 4),
            )?;
            let st = dense.states.to_vec3::<f32>()?;
            for i in (0..st[0].len()).step_by(st[0].len().div_ceil(50)) {
                canvas.trajectory(&st, i, |_| [40, 40, 40], 0.5);
            }
            canvas.save(&out.join(format!("trajectories_t{points}.png")))?;
        }
        println!("\n| time points | mean W2 over t > 0 | W2 at t = 1 | mean MMD² | noise floor (mean W2 between two populations) |");
        println!("|---|---|---|---|---|");
        for (p, w, w1, m, f) in &summary {
            println!("| {p} | {w:.4} | {w1:.4} | {m:.2e} | {f:.4} |");
        }
        println!(
            "\nwrote {}/trajectories_t{{5,10,15}}.png (dots: training snapshots, blue → red in time; lines: SDE trajectories of held-out t = 0 cells)",
            out.display()
        );
        Ok(())
    });
}
