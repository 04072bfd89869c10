//! Quickstart: learn the dynamics of a 2-D path from samples of its marginals.
//!
//! The path moves N(0, I) into a ring of 8 Gaussians by the linear interpolant
//! x_t = (1 − t)x₀ + t·x₁ (independent x₀, x₁). Action Matching (Eq. 7) learns the one gradient
//! field ∇s_t whose flow reproduces every marginal q_t; we push fresh q₀ samples through it with RK4
//! and compare the particles with fresh samples of q_t (W2, MMD²), next to the untrained model and
//! to the noise floor (two independent true samples). A PNG of the trajectories is written.
//!
//! `cargo run --release --example quickstart` (≈ 7 s on 2 cores with the fused engine, ≈ 40 s with
//! `--engine generic`); `--quick` for a smoke run.

mod common;

use action_matching::core::{Action, DType, Device, GradientField, Marginals, SeededRng};
use action_matching::metrics::{mmd2, w2_equal, Kernel, MmdEstimator};
use action_matching::models::{FusedMlp, Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig};
use action_matching::paths::{GaussianMixture, LinearInterpolant, StandardNormal};
use action_matching::solvers::{integrate, Method, OdeConfig};
use action_matching::train::{Engine, EngineChoice, RunOptions, Schedule, TrainConfig};
use std::path::PathBuf;

const HELP: &str = "quickstart: Action Matching on N(0, I) → ring of 8 Gaussians (2-D)

USAGE: cargo run --release --example quickstart -- [OPTIONS]

OPTIONS:
  --steps N      training steps (default 3000; --quick: 60)
  --batch N      samples per term and step (default 256)
  --particles N  particles for evaluation (default 1000; --quick: 200)
  --seed N       random seed (default 0)
  --engine E     fused (hand-derived host step, default) or generic (candle autograd)
  --out DIR      output folder (default out/quickstart)
  --quick        a smoke run of a few seconds (what CI runs)
  --help         this text";

const TIMES: [f64; 4] = [0.25, 0.5, 0.75, 1.0];

struct Row {
    w2: f64,
    mmd: f64,
}

fn evaluate(
    model: &dyn Action,
    path: &dyn Marginals,
    n: usize,
    seed: u64,
) -> Result<(Vec<Row>, action_matching::solvers::Trajectory), Box<dyn std::error::Error>> {
    let mut rng = SeededRng::new(seed);
    let x0 = path.sample(&vec![0.0; n], &mut rng, DType::F32, &Device::Cpu)?;
    let grid: Vec<f64> = (1..=20).map(|k| k as f64 / 20.0).collect();
    let traj = integrate(
        &GradientField::new(model),
        &x0,
        0.0,
        1.0,
        OdeConfig {
            method: Method::Rk4,
            steps: 100,
        },
        &grid,
    )?;
    let kernel = Kernel::Bandwidths(vec![0.1, 1.0, 10.0]);
    let mut rows = Vec::new();
    for &t in &TIMES {
        let k = grid
            .iter()
            .position(|&g| (g - t).abs() < 1e-12)
            .expect("evaluation times lie on the grid");
        let pushed = traj.at(k)?;
        let truth = path.sample(&vec![t; n], &mut rng, DType::F32, &Device::Cpu)?;
        rows.push(Row {
            w2: w2_equal(&pushed, &truth)?,
            mmd: mmd2(&pushed, &truth, &kernel, MmdEstimator::Unbiased, 512)?,
        });
    }
    Ok((rows, traj))
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick"])?;
        let quick = args.flag("quick");
        let steps: u64 = args.get("steps", if quick { 60 } else { 3000 })?;
        let batch: usize = args.get("batch", 256)?;
        let particles: usize = args.get("particles", if quick { 200 } else { 1000 })?;
        let seed: u64 = args.get("seed", 0)?;
        let out = PathBuf::from(args.string("out", "out/quickstart"));
        let engine: EngineChoice = args.string("engine", "fused").parse()?;
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

        let ring = GaussianMixture::circle(8, 4.0, 0.3)?;
        let path = LinearInterpolant::new(StandardNormal { dim: 2 }, ring)?;
        let mut rng = SeededRng::new(seed);
        let model = Mlp::new(
            MlpConfig {
                dim: 2,
                hidden: vec![128, 128, 128],
                ..Default::default()
            },
            &mut rng,
            DType::F32,
            &Device::Cpu,
        )?;

        println!("Action Matching quickstart: N(0, I) → 8 Gaussians on a ring, linear interpolant, D = 2");
        println!(
            "model: MLP 3 × 128 SiLU on [t, x]; {steps} steps, batch {batch} per term, seed {seed}"
        );
        let (untrained, _) = evaluate(&model, &path, particles, seed + 1)?;

        let objective = ActionMatching::new(AmConfig::deterministic())?;
        let config = TrainConfig {
            schedule: Schedule {
                warmup: steps.min(100),
                ..Schedule::warmup_cosine(steps, 0.02)
            },
            seed: seed + 1,
            ..TrainConfig::new(steps, batch, 2e-3)
        };
        let mut trainer = common::trainer::mlp_trainer(model, objective, config, engine, "AM")?;
        println!("engine: {:?}", trainer.engine().kind());
        let report =
            common::trainer::fit(&mut trainer, &path, steps, &RunOptions::default(), "AM")?;
        println!(
            "trained in {:.1} s ({:.1} ms/step)",
            report.seconds,
            1e3 * report.seconds / steps as f64
        );

        // sampling through the fused forward (the same parameters, host kernels)
        let model = trainer.model()?;
        let fused = FusedMlp::<f32>::from_mlp(model)?;
        let (trained, traj) = evaluate(&fused, &path, particles, seed + 1)?;
        // the noise floor: two independent true samples
        let mut frng = SeededRng::new(seed + 2);
        let kernel = Kernel::Bandwidths(vec![0.1, 1.0, 10.0]);
        println!("\nparticles pushed from q₀ by RK4 (100 steps) vs fresh samples of q_t, {particles} each");
        println!("W2 = √(exact OT on squared Euclidean cost); MMD² unbiased, Gaussian kernels σ ∈ {{0.1, 1, 10}}");
        println!(
            "{:>5} | {:>10} {:>10} {:>10} | {:>11} {:>11} {:>11}",
            "t", "W2 untr.", "W2 AM", "W2 floor", "MMD² untr.", "MMD² AM", "MMD² floor"
        );
        for (i, &t) in TIMES.iter().enumerate() {
            let a = path.sample(&vec![t; particles], &mut frng, DType::F32, &Device::Cpu)?;
            let b = path.sample(&vec![t; particles], &mut frng, DType::F32, &Device::Cpu)?;
            let (fw, fm) = (
                w2_equal(&a, &b)?,
                mmd2(&a, &b, &kernel, MmdEstimator::Unbiased, 512)?,
            );
            println!(
                "{t:>5.2} | {:>10.4} {:>10.4} {fw:>10.4} | {:>11.2e} {:>11.2e} {fm:>11.2e}",
                untrained[i].w2, trained[i].w2, untrained[i].mmd, trained[i].mmd
            );
        }

        // picture: true q₀ and q₁ samples, the learned trajectories and where they end
        use action_matching::train::figures::{scatter_with_paths, Group, Labels, Rgb};
        let cloud =
            |t: f64, rng: &mut SeededRng| -> Result<Vec<(f64, f64)>, Box<dyn std::error::Error>> {
                let x = path.sample(&vec![t; 2000], rng, DType::F32, &Device::Cpu)?;
                Ok(x.to_vec2::<f32>()?
                    .iter()
                    .map(|p| (p[0] as f64, p[1] as f64))
                    .collect())
            };
        let states: Vec<Vec<Vec<f32>>> = traj.states.to_vec3()?;
        let x0: Vec<Vec<f32>> = path
            .sample(
                &vec![0.0; particles],
                &mut SeededRng::new(seed + 1),
                DType::F32,
                &Device::Cpu,
            )?
            .to_vec2()?;
        let show = particles.min(150);
        let paths: Vec<Vec<(f64, f64)>> = (0..show)
            .map(|j| {
                std::iter::once(&x0[j])
                    .chain(states.iter().map(|s| &s[j]))
                    .map(|p| (p[0] as f64, p[1] as f64))
                    .collect()
            })
            .collect();
        let ends: Vec<(f64, f64)> = paths.iter().filter_map(|p| p.last().copied()).collect();
        let groups = [
            Group {
                label: "q₀ = N(0, I) samples".into(),
                points: cloud(0.0, &mut frng)?,
                color: Rgb(150, 150, 150),
            },
            Group {
                label: "q₁ samples (ring of 8 Gaussians)".into(),
                points: cloud(1.0, &mut frng)?,
                color: Rgb(20, 20, 20),
            },
            Group {
                label: "learned particles at t = 1".into(),
                points: ends,
                color: Rgb(215, 50, 40),
            },
        ];
        let title = format!("Quickstart: trajectories of the learned flow after {steps} steps");
        let labels = Labels {
            title: &title,
            x: "x₁",
            y: "x₂",
        };
        let png = out.join("trajectories.png");
        scatter_with_paths(
            &png,
            &labels,
            &groups,
            &paths,
            "learned trajectories (RK4, t = 0 → 1)",
        )?;
        println!("\nwrote {}", png.display());
        Ok(())
    });
}
