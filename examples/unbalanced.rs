//! unbalanced: Unbalanced Action Matching on the moving mixture of App. E.3 (paper Fig. 7).
//!
//! q_t = α_t N(−5, 1) + (1 − α_t) N(5, 1), α_t = 0.2 + 0.6t (Eq. 116): mass moves from the right
//! mode to the left one. Unbalanced AM (Eq. 20, g_t = λ s_t with λ = 1) can model this by
//! re-weighting particles (Eq. 19) instead of carrying them across the empty gap; deterministic
//! AM (Eq. 7), trained with the same budget, must transport them. Both start from true t = 0
//! samples; at t = 0.25 … 1 we compare the (weighted) particles with fresh samples of q_t
//! (weighted W1, weighted MMD², the mass in the left mode against α_t), and the learned ŝ_t with
//! the 1-D oracle: the finite-volume solution of −(q ŝ′)′ + λ q ŝ = ∂t q (Eq. 69).
//!
//! `cargo run --release --example unbalanced` (≈ 1 min on 2 cores); `--quick` for a smoke run.

mod common;

use action_matching::core::{
    Action, DType, Derivatives, Device, GradientField, Marginals, SeededRng, Tensor,
};
use action_matching::metrics::{mmd2, mmd2_weighted, w1, Kernel, MmdEstimator};
use action_matching::models::{FusedMlp, Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig};
use action_matching::paths::{unbalanced_action_1d, Mixture1d};
use action_matching::solvers::{integrate, integrate_weighted, Method, OdeConfig};
use action_matching::train::figures::{self, Labels, Panel, Rgb, Series, Style};
use action_matching::train::{EngineChoice, Schedule, TrainConfig};
use common::trainer::{checkpoints, fit, mlp_trainer};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "unbalanced: Unbalanced Action Matching on q_t = α_t N(−5,1) + (1−α_t) N(5,1) (App. E.3, Fig. 7)

USAGE: cargo run --release --example unbalanced -- [OPTIONS]

OPTIONS:
  --steps N             training steps per model (default 4000; --quick: 40)
  --batch N             samples per term and step (default 256)
  --particles N         particles for evaluation (default 2000; --quick: 300)
  --lambda L            growth weight λ of unbalanced AM (default 1, the paper's g = s)
  --seed N              random seed (default 0)
  --out DIR             output folder (default out/unbalanced)
  --engine E            fused (default) or generic
  --checkpoint-every N  steps between checkpoints (default 1000)
  --resume              continue from the checkpoints in --out
  --quick               a smoke run of a few seconds (what CI runs)
  --help                this text";

const TIMES: [f64; 4] = [0.25, 0.5, 0.75, 1.0];

fn model(seed: u64) -> Result<Mlp, Box<dyn std::error::Error>> {
    Ok(Mlp::new(
        MlpConfig {
            dim: 1,
            hidden: vec![128, 128, 128],
            ..Default::default()
        },
        &mut SeededRng::new(seed),
        DType::F32,
        &Device::Cpu,
    )?)
}

/// Normalised weights from log-weights (a softmax), as a column.
fn weights(log_w: &Tensor) -> Result<Tensor, Box<dyn std::error::Error>> {
    let lw: Vec<f32> = log_w.flatten_all()?.to_vec1()?;
    let m = lw.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = lw.iter().map(|v| ((v - m) as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    let n = e.len();
    Ok(Tensor::from_vec(
        e.into_iter().map(|v| (v / s) as f32).collect::<Vec<_>>(),
        (n, 1),
        &Device::Cpu,
    )?)
}

fn left_mass(x: &Tensor, w: Option<&Tensor>) -> Result<f64, Box<dyn std::error::Error>> {
    let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let n = xs.len();
    let ws: Vec<f32> = match w {
        Some(w) => w.flatten_all()?.to_vec1()?,
        None => vec![1.0 / n as f32; n],
    };
    Ok(xs
        .iter()
        .zip(&ws)
        .filter(|(x, _)| **x < 0.0)
        .map(|(_, w)| *w as f64)
        .sum())
}

/// Trains uAM (Eq. 20) and AM (Eq. 7) with the same budget; returns them in that order.
fn train_both(
    args: &common::args::Args,
    path: &Mixture1d,
    out: &Path,
    lambda: f64,
) -> Res<Vec<FusedMlp<f32>>> {
    let quick = args.flag("quick");
    let steps: u64 = args.get("steps", if quick { 40 } else { 4000 })?;
    let batch: usize = args.get("batch", 256)?;
    let seed: u64 = args.get("seed", 0)?;
    let every: u64 = args.get("checkpoint-every", 1000)?;
    let engine: EngineChoice = args.string("engine", "fused").parse()?;
    println!("MLP 3 × 128 SiLU on [t, x]; {steps} steps per model, batch {batch}, seed {seed}, engine {engine:?}");
    let mut trained = Vec::new();
    for (label, config) in [
        ("uAM", AmConfig::unbalanced(lambda)),
        ("AM", AmConfig::deterministic()),
    ] {
        let train = TrainConfig {
            schedule: Schedule::warmup_cosine(steps, 0.05),
            seed: seed + 10,
            ..TrainConfig::new(steps, batch, 1e-3)
        };
        let objective = ActionMatching::new(config.clone())?;
        let mut trainer = mlp_trainer(model(seed)?, objective, train, engine, "unbalanced")?
            .with_run_config(format!(
                r#"{{"example":"unbalanced","model":"{label}","lambda":{lambda}}}"#
            ));
        let file = out.join(format!("{label}.safetensors"));
        let options = checkpoints(file, every, args.flag("resume"));
        let report = fit(&mut trainer, path, steps, &options, label)?;
        println!(
            "{label}: {} steps in {:.1} s ({:.2} ms/step), last loss {:+.4}",
            report.steps,
            report.seconds,
            1e3 * report.seconds / report.steps.max(1) as f64,
            report.last_loss
        );
        trained.push(FusedMlp::<f32>::from_mlp(trainer.model()?)?);
    }
    Ok(trained)
}

/// Particles at one of [`TIMES`]: uAM's positions and weights, AM's positions.
struct Pushed {
    t: f64,
    x_uam: Tensor,
    w_uam: Tensor,
    x_am: Tensor,
}

/// Pushes true t = 0 samples: weighted for uAM (Eq. 19), plain for AM, and prints the comparison
/// with fresh samples of q_t at each of [`TIMES`].
fn push_and_compare(
    path: &Mixture1d,
    uam: &FusedMlp<f32>,
    am: &FusedMlp<f32>,
    lambda: f64,
    particles: usize,
    seed: u64,
) -> Res<Vec<Pushed>> {
    let mut rng = SeededRng::new(seed + 1);
    let x0 = path.sample(&vec![0.0; particles], &mut rng, DType::F32, &Device::Cpu)?;
    let ode = OdeConfig {
        method: Method::Rk4,
        steps: 100,
    };
    let field_u = GradientField::new(uam).with_growth(lambda)?;
    let wt = integrate_weighted(&field_u, &x0, None, 0.0, 1.0, ode, &TIMES)?;
    let tr = integrate(&GradientField::new(am), &x0, 0.0, 1.0, ode, &TIMES)?;
    let kernel = Kernel::Bandwidths(vec![0.5, 1.0, 2.0, 5.0]);
    println!("\nparticles from q₀ ({particles}) vs fresh samples of q_t: W1 (exact, |x − y|), MMD² (weighted V-statistic for uAM, unbiased for AM and the floor; Gaussian kernels σ ∈ {{0.5, 1, 2, 5}})");
    println!(
        "{:>5} | {:>6} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>9} {:>9} {:>9} | {:>6}",
        "t",
        "α_t",
        "left uAM",
        "left AM",
        "W1 uAM",
        "W1 AM",
        "W1 floor",
        "MMD² uAM",
        "MMD² AM",
        "floor",
        "ESS"
    );
    let mut pushed = Vec::new();
    for (k, &t) in TIMES.iter().enumerate() {
        let xu = wt.x.get(k)?;
        let w = weights(&wt.log_w.get(k)?)?;
        let xa = tr.at(k)?;
        let truth = path.sample(&vec![t; particles], &mut rng, DType::F32, &Device::Cpu)?;
        let truth2 = path.sample(&vec![t; particles], &mut rng, DType::F32, &Device::Cpu)?;
        let uniform = Tensor::ones((particles, 1), DType::F32, &Device::Cpu)?;
        let v: Vec<f32> = w.flatten_all()?.to_vec1()?;
        let ess = 1.0 / v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        println!(
            "{t:>5.2} | {:>6.3} {:>8.3} {:>8.3} | {:>8.4} {:>8.4} {:>8.4} | {:>9.2e} {:>9.2e} {:>9.2e} | {:>6.0}",
            0.2 + 0.6 * t,
            left_mass(&xu, Some(&w))?,
            left_mass(&xa, None)?,
            w1(&xu, &truth, Some(&w), None)?,
            w1(&xa, &truth, None, None)?,
            w1(&truth2, &truth, None, None)?,
            mmd2_weighted(&xu, &truth, &w, &uniform, &kernel, 512)?,
            mmd2(&xa, &truth, &kernel, MmdEstimator::Unbiased, 512)?,
            mmd2(&truth2, &truth, &kernel, MmdEstimator::Unbiased, 512)?,
            ess
        );
        pushed.push(Pushed {
            t,
            x_uam: xu,
            w_uam: w,
            x_am: xa,
        });
    }
    Ok(pushed)
}

/// The learned ŝ_t on the oracle's grid, with the oracle: (t, grid, ŝ*, ŝ).
type Curve = (f64, Vec<f64>, Vec<f64>, Vec<f64>);

/// ŝ_t against the oracle of Eq. 69 on a grid, errors weighted by q_t (printed).
fn compare_with_oracle(path: &Mixture1d, uam: &FusedMlp<f32>, lambda: f64) -> Res<Vec<Curve>> {
    println!("\nlearned ŝ_t against the 1-D oracle (finite volumes, 2401 nodes on [−12, 12]); errors relative, weighted by q_t:");
    println!("{:>5} | {:>10} {:>12}", "t", "‖ŝ − ŝ*‖", "‖∂xŝ − ∂xŝ*‖");
    let mut curves = Vec::new();
    for &t in &[0.1, 0.3, 0.5, 0.7, 0.9] {
        let (grid, exact) = unbalanced_action_1d(
            |x| path.density(t, x),
            |x| path.density_dt(t, x),
            lambda,
            -12.0,
            12.0,
            2401,
        )?;
        let n = grid.len();
        let xg = Tensor::from_vec(
            grid.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            (n, 1),
            &Device::Cpu,
        )?;
        let tg = Tensor::full(t as f32, (n, 1), &Device::Cpu)?;
        let e = uam.eval(&tg, &xg, &Derivatives::default())?;
        let s: Vec<f32> = e.s.flatten_all()?.to_vec1()?;
        let g: Vec<f32> = e.grad_x.flatten_all()?.to_vec1()?;
        let h = grid[1] - grid[0];
        let (mut es, mut ns, mut eg, mut ng) = (0.0, 0.0, 0.0, 0.0);
        for i in 1..n - 1 {
            let q = path.density(t, grid[i]);
            let gx = (exact[i + 1] - exact[i - 1]) / (2.0 * h);
            es += q * (s[i] as f64 - exact[i]).powi(2);
            ns += q * exact[i].powi(2);
            eg += q * (g[i] as f64 - gx).powi(2);
            ng += q * gx.powi(2);
        }
        println!(
            "{t:>5.2} | {:>10.3} {:>12.3}",
            (es / ns).sqrt(),
            (eg / ng).sqrt()
        );
        curves.push((t, grid, exact, s.iter().map(|&v| v as f64).collect()));
    }
    Ok(curves)
}

/// One panel per time: the weighted uAM particles' and the AM particles' histograms against q_t.
fn histogram_figure(file: &Path, path: &Mixture1d, pushed: &[Pushed]) -> Res<()> {
    let (range, bins) = ((-10.0, 10.0), 60);
    let values =
        |x: &Tensor| -> Res<Vec<f64>> { Ok(x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?) };
    let titles: Vec<String> = pushed
        .iter()
        .map(|p| {
            format!(
                "t = {:.2}: α_t = {:.2} of the mass in the left mode",
                p.t,
                0.2 + 0.6 * p.t
            )
        })
        .collect();
    let mut panels = Vec::new();
    for (p, title) in pushed.iter().zip(&titles) {
        let density: Vec<(f64, f64)> = (0..=400)
            .map(|i| -10.0 + 20.0 * i as f64 / 400.0)
            .map(|x| (x, path.density(p.t, x)))
            .collect();
        let w = values(&p.w_uam)?;
        panels.push(Panel {
            labels: Labels {
                title,
                x: "x",
                y: "density",
            },
            series: vec![
                Series {
                    label: "q_t (exact)".into(),
                    points: density,
                    color: Rgb(0, 0, 0),
                    style: Style::Line,
                },
                Series {
                    label: "uAM: weighted particles (Eq. 19)".into(),
                    points: figures::histogram(&values(&p.x_uam)?, Some(&w), range, bins)?,
                    color: Rgb(40, 110, 220),
                    style: Style::Line,
                },
                Series {
                    label: "AM: transported particles (those inside [−10, 10])".into(),
                    points: figures::histogram(&values(&p.x_am)?, None, range, bins)?,
                    color: Rgb(230, 120, 30),
                    style: Style::Line,
                },
            ],
        });
    }
    Ok(figures::panels(
        file,
        "Unbalanced AM against AM on the moving mixture (App. E.3): particles from q₀",
        &panels,
        false,
    )?)
}

/// The learned ŝ_t (markers) against the oracle of Eq. 69 (lines), t = 0.1 … 0.9.
fn action_figure(file: &Path, curves: &[Curve]) -> Res<()> {
    let mut series = Vec::new();
    for (k, (t, grid, exact, s)) in curves.iter().enumerate() {
        let color = figures::ramp(k, curves.len());
        let inside = |i: &usize| grid[*i].abs() <= 10.0;
        let idx: Vec<usize> = (0..grid.len()).filter(inside).collect();
        series.push(Series {
            label: format!("t = {t}: oracle ŝ*_t"),
            points: idx.iter().map(|&i| (grid[i], exact[i])).collect(),
            color,
            style: Style::Line,
        });
        series.push(Series {
            label: format!("t = {t}: learned ŝ_t"),
            points: idx.iter().step_by(40).map(|&i| (grid[i], s[i])).collect(),
            color,
            style: Style::Markers,
        });
    }
    let labels = Labels {
        title: "Unbalanced AM: learned action ŝ_t against the 1-D oracle (Eq. 69)",
        x: "x",
        y: "ŝ_t(x)",
    };
    Ok(figures::line_chart(file, &labels, &series, false)?)
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume"])?;
        let quick = args.flag("quick");
        let particles: usize = args.get("particles", if quick { 300 } else { 2000 })?;
        let lambda: f64 = args.get("lambda", 1.0)?;
        let seed: u64 = args.get("seed", 0)?;
        let out = PathBuf::from(args.string("out", "out/unbalanced"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        if !(lambda > 0.0 && lambda.is_finite()) {
            return Err(format!("--lambda must be > 0, got {lambda}").into());
        }
        let path = Mixture1d::unbalanced_example();
        println!(
            "Unbalanced AM on q_t = α_t N(−5, 1) + (1 − α_t) N(5, 1), α_t = 0.2 + 0.6t (App. E.3)"
        );
        let trained = train_both(&args, &path, &out, lambda)?;
        let (uam, am) = (&trained[0], &trained[1]);
        let pushed = push_and_compare(&path, uam, am, lambda, particles, seed)?;
        let curves = compare_with_oracle(&path, uam, lambda)?;
        let (fig, fig2) = (out.join("histograms.png"), out.join("action.png"));
        histogram_figure(&fig, &path, &pushed)?;
        action_figure(&fig2, &curves)?;
        println!("\nwrote {} (a panel per time: uAM's weighted particles, AM's particles, exact q_t) and {} (oracle ŝ*_t and learned ŝ_t, t = 0.1 … 0.9)", fig.display(), fig2.display());
        Ok(())
    });
}
