//! hydrogen: Action Matching on the Bohmian dynamics of a hydrogen atom (Sec. 4.2, App. E.1,
//! paper Table 2), against annealed Langevin dynamics (Algorithm 3) with the true scores and with
//! scores learned by implicit (Hyvärinen) and sliced score matching.
//!
//! State ψ = (ψ₃,₂,₋₁ + ψ₂,₁,₀)/√2 in the reference units (a₀ = 4π, T = 14,000); particles of
//! |ψ(·, 0)|² (Metropolis–Hastings) moved by v = ∇arg ψ (Euler, dt = 14) give the data, time
//! normalised to [0, 1]. AM learns s(t, x) = ½‖x − h(t, x)‖² (h: 4 × 256 SiLU) with Eq. 7;
//! its particles follow ∇s (Eq. 8, Euler, dt = 1/1000) from the test set's t = 0 particles.
//! The metric (docs/references.md): unbiased MMD² with k = Σ_{j=1..3} exp(−α‖x − x′‖²), α = 1e-4,
//! between those particles and the test set's true particles (coupled: same t = 0 points),
//! 5,000 each, at t = 0.1 … 1; "average MMD" = mean of |MMD²|. Beside it: the same against an
//! independent true set with its noise floor, and ‖∇s − T·v‖/‖T·v‖ (∇s* = T·∇arg ψ).
//!
//! `cargo run --release --example hydrogen` (reduced schedule: 20k steps, EMA 0.999, 1k
//! warm-up; ≈ 1 h on 2 cores with the baselines); `--full` for the reference 100k × EMA
//! 0.9999 × 5k warm-up (hours); `--quick` for a smoke run.

mod common;

use action_matching::core::train::{Clip, Warmup};
use action_matching::core::{
    DType, Device, GradientField, Marginals, ScoreField, SeededRng, Tensor, VelocityField,
};
use action_matching::metrics::{mmd2_estimates, Kernel, MmdEstimator};
use action_matching::models::{Activation, FusedMlp, Head, Mlp, MlpConfig, VectorMlp};
use action_matching::objectives::{score_matching_loss, ActionMatching, AmConfig, TraceEstimator};
use action_matching::paths::hydrogen::{
    sample_initial, trajectories, velocity, ExactScore, HydrogenData, Scheme, T_PHYSICAL,
};
use action_matching::solvers::{annealed_langevin, integrate, LangevinSchedule, Method, OdeConfig};
use action_matching::train::protocol::mean_sd;
use action_matching::train::{EngineChoice, Schedule, TrainConfig};
use common::trainer::{checkpoints, fit, mlp_trainer, train_vector};
use std::io::Write;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str =
    "hydrogen: Action Matching on the hydrogen atom's Bohmian dynamics (Sec. 4.2, Table 2)

USAGE: cargo run --release --example hydrogen -- [OPTIONS]

OPTIONS:
  --steps N            AM training steps (default 20000; --full: 100000; --quick: 30); a run
                       can be extended later with --resume and a larger --steps
  --full               the reference schedule: 100k steps, 5k warm-up, EMA 0.9999 (hours)
  --batch N            samples per term and step (default 1000)
  --lr R               Adam's learning rate after warm-up (default 1e-4, the reference)
  --warmup N           linear warm-up steps (default min(1000, steps/5); --full: 5000); a
                       run shorter than 5000 steps extends with --resume only if this is pinned
  --particles N        test particles (default 5000, the reference; --quick: 200)
  --eval-every N       steps between points of the MMD curve (default 2000; --quick: 15)
  --curve-particles N  particles for the curve (default 1000)
  --regenerate N       steps between fresh training data sets (default 5000, the reference)
  --baseline-steps N   training steps of each score model (default 3000; --quick: 10)
  --skip-baselines     skip the trained score baselines (SM, SSM); ALD with the true scores
                       (3 s, nothing to train) always runs
  --seed N             random seed (default 0)
  --out DIR            output folder (default out/hydrogen)
  --engine E           fused (default) or generic
  --checkpoint-every N steps between checkpoints (default 1000)
  --resume             continue AM from its checkpoint; reuse trained score models
  --quick              a smoke run of a few seconds (what CI runs)
  --help               this text";

/// Grid steps of the data (T / 1000 = 14 physical time units each).
const GRID: usize = 1000;
/// The evaluation times t = 0.1, …, 1.
const TIMES: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// The paper's Table 2 (average MMD, mean ± std over runs).
const PAPER: [(&str, f64, f64); 4] = [
    ("AM", 5.7e-4, 3.1e-4),
    ("ALD + SM", 4.8e-2, 4.8e-3),
    ("ALD + SSM", 4.7e-2, 4.0e-3),
    ("ALD + true scores", 3.6e-2, 4.1e-4),
];

/// Everything the run needs to know about its size.
struct Setup {
    particles: usize,
    mh_steps: usize,
    batch: usize,
    seed: u64,
    regenerate: u64,
}

/// A data set: `n` MH samples of |ψ(·, 0)|² pushed along the Bohmian velocity.
fn dataset(n: usize, mh_steps: usize, seed: u64) -> Res<HydrogenData> {
    let mut rng = SeededRng::new(seed);
    let mh = sample_initial(n, mh_steps, 7.0, &mut rng)?;
    let states = trajectories(&mh.points, GRID, Scheme::Euler)?;
    Ok(HydrogenData::new(states, n, GRID)?)
}

/// The seed of training data set number `chunk` (a fresh set every `--regenerate` steps).
fn chunk_seed(seed: u64, chunk: u64) -> u64 {
    1_000_003 * (seed + 1) + chunk
}

/// The training data: a fresh data set every `--regenerate` steps (seeded by its index, as an
/// uninterrupted run would draw it), kept until the next one is due.
struct DataStream<'a> {
    s: &'a Setup,
    current: Option<(u64, HydrogenData)>,
}

impl<'a> DataStream<'a> {
    fn new(s: &'a Setup) -> Self {
        Self { s, current: None }
    }

    /// The data set for 0-based step `step`.
    fn at_step(&mut self, step: u64) -> Res<&HydrogenData> {
        let chunk = step / self.s.regenerate;
        if self.current.as_ref().map(|d| d.0) != Some(chunk) {
            let s = self.s;
            let data = dataset(s.particles, s.mh_steps, chunk_seed(s.seed, chunk))?;
            self.current = Some((chunk, data));
        }
        Ok(&self.current.as_ref().expect("set above").1)
    }
}

/// Particles of `data` at grid index k as an f32 tensor, the first `n` of them.
fn at(data: &HydrogenData, k: usize, n: usize) -> Res<Tensor> {
    let v: Vec<f32> = data.at(k)?[..3 * n].iter().map(|&v| v as f32).collect();
    Ok(Tensor::from_vec(v, (n, 3), &Device::Cpu)?)
}

fn truth_at_times(data: &HydrogenData, n: usize) -> Res<Vec<Tensor>> {
    TIMES
        .iter()
        .map(|t| at(data, (t * GRID as f64).round() as usize, n))
        .collect()
}

/// An average over the times TIMES and its per-time values.
type Curve = (f64, Vec<f64>);

/// MMD² per time with the reference kernel (three α = 1e-4) for each of `estimators` (one pass
/// over the kernel sums per time), each as (mean over times, per-time values). `Unbiased` is the
/// reference's estimator, reported as |MMD²|; on coupled sets it keeps k(x_i, y_i) in the cross
/// term and is biased low by ≈ (2/n)(k(x, x) − E k). `Paired` leaves i = j out everywhere:
/// unbiased for coupled sets, signed, the exact dynamics score 0 ± noise.
fn mmd_curves(pred: &[Tensor], truth: &[Tensor], estimators: &[MmdEstimator]) -> Res<Vec<Curve>> {
    let kernel = Kernel::Alphas(vec![1e-4; 3]);
    let mut per_time = vec![Vec::with_capacity(pred.len()); estimators.len()];
    for (p, q) in pred.iter().zip(truth) {
        let values = mmd2_estimates(p, q, &kernel, estimators, 1024)?;
        for ((curve, e), v) in per_time.iter_mut().zip(estimators).zip(values) {
            curve.push(if *e == MmdEstimator::Paired {
                v
            } else {
                v.abs()
            });
        }
    }
    Ok(per_time
        .into_iter()
        .map(|v| (v.iter().sum::<f64>() / v.len() as f64, v))
        .collect())
}

/// The reference's average |MMD²| and its per-time values (see [`mmd_curves`]).
fn mmd_curve(pred: &[Tensor], truth: &[Tensor]) -> Res<Curve> {
    Ok(mmd_curves(pred, truth, &[MmdEstimator::Unbiased])?.remove(0))
}

/// The coupled curves of `pred` against its own true particles: (reference, paired).
fn coupled_curves(pred: &[Tensor], truth: &[Tensor]) -> Res<(Curve, Curve)> {
    let mut c = mmd_curves(pred, truth, &[MmdEstimator::Unbiased, MmdEstimator::Paired])?;
    let paired = c.pop().expect("two estimators");
    Ok((c.pop().expect("two estimators"), paired))
}

/// AM's particles at TIMES: x₀ pushed along ∇s with Euler, dt = 1/1000 (the reference sampler).
fn push_am(action: &FusedMlp<f32>, x0: &Tensor) -> Res<Vec<Tensor>> {
    let ode = OdeConfig {
        method: Method::Euler,
        steps: GRID,
    };
    let tr = integrate(&GradientField::new(action), x0, 0.0, 1.0, ode, &TIMES)?;
    (0..TIMES.len()).map(|k| Ok(tr.at(k)?)).collect()
}

/// ALD (Algorithm 3: ε = 15, 5 inner steps at each of the 1000 grid times) from x₀; the
/// particles at TIMES.
fn push_ald(score: &dyn ScoreField, x0: &Tensor, inner: usize, seed: u64) -> Res<Vec<Tensor>> {
    let times: Vec<f64> = (1..=GRID).map(|k| k as f64 / GRID as f64).collect();
    let mut rng = SeededRng::new(seed);
    let tr = annealed_langevin(
        score,
        x0,
        &times,
        LangevinSchedule::Constant { dt: 15.0 },
        inner,
        &mut rng,
    )?;
    TIMES
        .iter()
        .map(|t| {
            let k = (t * GRID as f64).round() as usize - 1;
            Ok(tr.states.get(k)?.to_dtype(DType::F32)?)
        })
        .collect()
}

/// Mean over TIMES of ‖f − g‖/‖g‖ over the true particles, f the field, g the exact one.
fn relative_error(
    field: impl Fn(f64, &Tensor) -> Res<Tensor>,
    exact: impl Fn([f64; 3], f64) -> [f64; 3],
    truth: &[Tensor],
) -> Res<f64> {
    let mut total = 0.0;
    for (t, x) in TIMES.iter().zip(truth) {
        let f: Vec<f32> = field(*t, x)?.flatten_all()?.to_vec1()?;
        let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let (mut num, mut den) = (0.0, 0.0);
        for (p, fv) in xs.chunks(3).zip(f.chunks(3)) {
            let g = exact([p[0] as f64, p[1] as f64, p[2] as f64], *t);
            for k in 0..3 {
                num += (fv[k] as f64 - g[k]).powi(2);
                den += g[k] * g[k];
            }
        }
        total += (num / den).sqrt();
    }
    Ok(total / TIMES.len() as f64)
}

/// One method's results.
struct Row {
    name: String,
    coupled: Curve,
    paired: f64,
    independent: Curve,
    field_error: Option<f64>,
    seconds: f64,
}

fn evaluate(
    name: &str,
    pred: Vec<Tensor>,
    truth: &[Tensor],
    other: &[Tensor],
    field_error: Option<f64>,
    seconds: f64,
) -> Res<(Row, Vec<Tensor>)> {
    let (coupled, paired) = coupled_curves(&pred, truth)?;
    Ok((
        Row {
            name: name.into(),
            coupled,
            paired: paired.0,
            independent: mmd_curve(&pred, other)?,
            field_error,
            seconds,
        },
        pred,
    ))
}

/// Trains a score model with score matching (`trace`: exact = SM, Rademacher = SSM) on the same
/// stream of data sets as AM; cached in `out` and reused with `--resume`.
fn train_score(
    label: &str,
    trace: TraceEstimator,
    steps: u64,
    s: &Setup,
    out: &Path,
    resume: bool,
) -> Res<(VectorMlp, f64)> {
    let config = MlpConfig {
        dim: 3,
        hidden: vec![256; 4],
        activation: Activation::Silu,
        output_scale: 1e-2,
        ..Default::default()
    };
    let net = VectorMlp::new(
        config,
        &mut SeededRng::new(s.seed + 7),
        DType::F32,
        &Device::Cpu,
    )?;
    let path = out.join(format!("{}.safetensors", label.replace(' ', "_")));
    if resume && path.exists() {
        net.load_parameters(&path)?;
        println!("{label}: reusing {}", path.display());
        return Ok((net, 0.0));
    }
    let mut rng = SeededRng::new(s.seed + 11);
    let mut stream = DataStream::new(s);
    let seconds = train_vector(
        action_matching::core::VectorModel::parameters(&net),
        steps,
        3e-4,
        label,
        &mut rng,
        |k, rng| {
            let d = stream.at_step(k - 1)?;
            // times snapped to the data grid, as the reference does
            let t: Vec<f64> = (0..s.batch)
                .map(|_| (rng.uniform() * GRID as f64).round() / GRID as f64)
                .collect();
            let x = d.sample(&t, rng, DType::F32, &Device::Cpu)?;
            let tt = Tensor::from_vec(
                t.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                (s.batch, 1),
                &Device::Cpu,
            )?;
            Ok(score_matching_loss(&net, &tt, &x, trace, rng)?)
        },
    )?;
    net.save(&path)?;
    println!(
        "{label}: {steps} steps in {seconds:.0} s ({:.1} ms/step)",
        1e3 * seconds / steps.max(1) as f64
    );
    Ok((net, seconds))
}

/// (step, the reference's average |MMD²|, the paired MMD²) of the training curve.
type CurvePoint = (u64, f64, f64);

/// One line `step,average_mmd[,paired_mmd2]` of `curve.csv`; the paired value is NaN in curves
/// written before it was recorded.
fn parse_curve_line(line: &str) -> Option<CurvePoint> {
    let mut it = line.split(',');
    let step = it.next()?.parse().ok()?;
    let reference = it.next()?.parse().ok()?;
    let paired = it.next().and_then(|c| c.parse().ok()).unwrap_or(f64::NAN);
    Some((step, reference, paired))
}

/// The EMA model, its curve and the training seconds.
type TrainedAm = (FusedMlp<f32>, Vec<CurvePoint>, f64);

/// The learned AM model: trains in stages between curve points (fresh data every
/// `--regenerate` steps), evaluating the EMA model's average MMD on `curve_x0` at each.
#[allow(clippy::too_many_arguments)]
fn train_am(
    args: &common::args::Args,
    s: &Setup,
    steps: u64,
    schedule: Warmup,
    ema: f64,
    out: &Path,
    curve_x0: &Tensor,
    curve_truth: &[Tensor],
    eval_every: u64,
) -> Res<TrainedAm> {
    let model = Mlp::new(
        MlpConfig {
            dim: 3,
            hidden: vec![256; 4],
            activation: Activation::Silu,
            head: Head::HalfSquaredDistance,
            ..Default::default()
        },
        &mut SeededRng::new(s.seed),
        DType::F32,
        &Device::Cpu,
    )?;
    let engine: EngineChoice = args.string("engine", "fused").parse()?;
    // the reference schedule: warm-up, then constant; clip at 1; EMA
    let train = TrainConfig {
        schedule: Schedule::constant(schedule.steps),
        clip: Clip::GlobalNorm(1.0),
        ema: Some(ema),
        seed: s.seed + 10,
        ..TrainConfig::new(steps, s.batch, schedule.lr)
    };
    let objective = ActionMatching::new(AmConfig::deterministic())?;
    // the steps are not part of the identity, so a run can be extended with --resume and a
    // larger --steps
    let mut trainer = mlp_trainer(model, objective, train, engine, "AM")?.with_run_config(format!(
        r#"{{"example":"hydrogen","regenerate":{},"particles":{}}}"#,
        s.regenerate, s.particles
    ));
    let ckpt = out.join("am.safetensors");
    let every: u64 = args.get("checkpoint-every", 1000)?;
    let options = checkpoints(ckpt.clone(), every, false);
    let curve_path = out.join("curve.csv");
    let mut curve: Vec<CurvePoint> = Vec::new();
    let mut seconds = 0.0;
    let mut stream = DataStream::new(s);
    if args.flag("resume") && ckpt.exists() {
        // restore first, then keep the curve points up to that step
        trainer.resume(&ckpt)?;
        println!(
            "AM: resumed from {} at step {}",
            ckpt.display(),
            trainer.step_count()
        );
        if let Ok(text) = std::fs::read_to_string(&curve_path) {
            let restored = text.lines().skip(1).filter_map(parse_curve_line);
            curve.extend(restored.filter(|p| p.0 <= trainer.step_count()));
        }
    }
    while trainer.step_count() < steps {
        let step = trainer.step_count();
        let chunk = step / s.regenerate;
        let next_eval = (step / eval_every + 1) * eval_every;
        let next_data = (chunk + 1) * s.regenerate;
        let stage_end = next_eval.min(next_data).min(steps);
        let d = stream.at_step(step)?;
        let report = fit(&mut trainer, d, stage_end, &options, "AM")?;
        seconds += report.seconds;
        if stage_end.is_multiple_of(eval_every) || stage_end == steps {
            let ema_model = FusedMlp::<f32>::from_mlp(&trainer.ema_model()?)?;
            let pushed = push_am(&ema_model, curve_x0)?;
            let ((avg, _), (paired, _)) = coupled_curves(&pushed, curve_truth)?;
            println!(
                "AM step {stage_end:>6}: average MMD {avg:.3e}, paired MMD² {paired:.2e} (EMA model, {} coupled particles); loss {:+.4}",
                curve_x0.dim(0)?,
                report.last_loss
            );
            curve.push((stage_end, avg, paired));
            let mut f = std::fs::File::create(&curve_path)
                .map_err(|e| format!("{}: {e}", curve_path.display()))?;
            writeln!(f, "step,average_mmd,paired_mmd2")?;
            for (k, v, p) in &curve {
                writeln!(f, "{k},{v:e},{p:e}")?;
            }
        }
    }
    let net = FusedMlp::<f32>::from_mlp(&trainer.ema_model()?)?;
    trainer.ema_model()?.save(&out.join("am_ema.safetensors"))?;
    Ok((net, curve, seconds))
}

/// The MMD curve of the EMA model against training steps (log scale), the reference estimator
/// and the paired one, with the baselines' final values as horizontal lines.
fn plot_curve(curve: &[CurvePoint], rows: &[Row], path: &Path) -> Res<()> {
    use action_matching::train::figures::{line_chart, Labels, Series, Style};
    use plotters_colors::*;
    let mut series = vec![
        Series {
            label: "AM (EMA), reference estimator (coupled)".into(),
            points: curve.iter().map(|c| (c.0 as f64, c.1)).collect(),
            color: BLUE,
            style: Style::LineAndMarkers,
        },
        Series {
            label: "AM (EMA), paired MMD² (unbiased for coupled sets)".into(),
            points: curve.iter().map(|c| (c.0 as f64, c.2)).collect(),
            color: ORANGE,
            style: Style::LineAndMarkers,
        },
    ];
    for (r, color) in rows
        .iter()
        .filter(|r| r.name != "AM")
        .zip([RED, GREEN, PURPLE])
    {
        series.push(Series {
            label: format!("{} (final, reference estimator)", r.name),
            points: vec![(0.0, r.coupled.0)],
            color,
            style: Style::Reference,
        });
    }
    let n = curve.last().map_or(0, |c| c.0);
    let title = format!("Hydrogen: average MMD² over t = 0.1 … 1 during training ({n} steps)");
    let labels = Labels {
        title: &title,
        x: "training step",
        y: "average MMD² (log scale)",
    };
    Ok(line_chart(path, &labels, &series, true)?)
}

/// Colours of the curve figure.
mod plotters_colors {
    pub use action_matching::train::figures::Rgb;
    pub const BLUE: Rgb = Rgb(30, 60, 200);
    pub const ORANGE: Rgb = Rgb(240, 140, 20);
    pub const RED: Rgb = Rgb(200, 40, 40);
    pub const GREEN: Rgb = Rgb(40, 150, 40);
    pub const PURPLE: Rgb = Rgb(150, 80, 200);
}

/// Particles at t = 1 in the (x, z) plane: truth, AM, and ALD with the true scores.
fn plot_particles(truth: &Tensor, am: &Tensor, ald: &Tensor, path: &Path) -> Res<()> {
    use action_matching::train::figures::{points, scatter_in, Group, Labels};
    use plotters_colors::*;
    // a square holding 99 % of the true particles' |x| and |z|
    let mut extent: Vec<f64> = points(truth, (0, 2))?
        .iter()
        .map(|p| p.0.abs().max(p.1.abs()))
        .collect();
    extent.sort_by(|a, b| a.total_cmp(b));
    let r = extent[(extent.len() * 99 / 100).min(extent.len() - 1)].max(1.0);
    let outside = |x: &Tensor| -> Res<usize> {
        Ok(points(x, (0, 2))?
            .iter()
            .filter(|p| p.0.abs() > r || p.1.abs() > r)
            .count())
    };
    let mut groups = vec![Group {
        label: "exact dynamics (Bohmian trajectories)".into(),
        points: points(truth, (0, 2))?,
        color: Rgb(120, 120, 120),
    }];
    groups.push(Group {
        label: format!(
            "ALD with the true scores ({} outside the square)",
            outside(ald)?
        ),
        points: points(ald, (0, 2))?,
        color: RED,
    });
    groups.push(Group {
        label: format!("AM (EMA; {} outside the square)", outside(am)?),
        points: points(am, (0, 2))?,
        color: BLUE,
    });
    let labels = Labels {
        title: "Hydrogen: particles at t = 1 in the (x, z) plane (99 % of the true ones)",
        x: "x",
        y: "z",
    };
    Ok(scatter_in(
        path,
        &labels,
        &groups,
        &[],
        Some([-r, r, -r, r]),
    )?)
}

/// The run's options and the AM schedule (reduced, or the reference's with `--full`).
struct Options {
    steps: u64,
    full: bool,
    setup: Setup,
    eval_every: u64,
    curve_n: usize,
    baseline_steps: u64,
    out: PathBuf,
    lr: f64,
    warm: u64,
    ema: f64,
}

impl Options {
    fn parse(args: &common::args::Args) -> Res<Self> {
        let quick = args.flag("quick");
        let full = args.flag("full");
        let default_steps = if quick {
            30
        } else if full {
            100_000
        } else {
            20_000
        };
        let steps: u64 = args.get("steps", default_steps)?;
        let setup = Setup {
            particles: args.get("particles", if quick { 200 } else { 5000 })?,
            mh_steps: if quick { 300 } else { 5000 },
            batch: args.get("batch", if quick { 64 } else { 1000 })?,
            seed: args.get("seed", 0)?,
            regenerate: args.get("regenerate", 5000)?,
        };
        let eval_every: u64 = args.get("eval-every", if quick { 15 } else { 2000 })?;
        if setup.particles < 10 || setup.batch < 2 || eval_every == 0 || setup.regenerate == 0 {
            return Err(
                "--particles ≥ 10, --batch ≥ 2, --eval-every ≥ 1 and --regenerate ≥ 1 are required"
                    .into(),
            );
        }
        let lr: f64 = args.get("lr", 1e-4)?;
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(format!("--lr must be finite and > 0, got {lr}").into());
        }
        let (warm, ema) = if full {
            (5000, 0.9999)
        } else {
            (1000.min(steps / 5).max(1), 0.999)
        };
        let out = PathBuf::from(args.string("out", "out/hydrogen"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(Options {
            steps,
            full,
            curve_n: args
                .get::<usize>("curve-particles", 1000)?
                .min(setup.particles),
            setup,
            eval_every,
            baseline_steps: args.get("baseline-steps", if quick { 10 } else { 3000 })?,
            out,
            lr,
            // the warm-up is part of the run's config: pin it to extend a short run with --resume
            warm: args.get("warmup", warm)?,
            ema,
        })
    }
}

/// The test set (coupled metric) and an independent true set (noise floor), at the evaluation
/// times, with the start particles.
struct TruthSets {
    x0: Tensor,
    truth: Vec<Tensor>,
    other: Vec<Tensor>,
}

/// ALD with the true scores, then (unless `--skip-baselines`) with scores learned by SM and SSM:
/// their rows, and the ALD particles with the true scores.
fn baselines(
    args: &common::args::Args,
    o: &Options,
    sets: &TruthSets,
) -> Res<(Vec<Row>, Vec<Tensor>)> {
    let started = std::time::Instant::now();
    let x0d = sets.x0.to_dtype(DType::F64)?;
    let pred = push_ald(&ExactScore, &x0d, 5, o.setup.seed + 21)?;
    let seconds = started.elapsed().as_secs_f64();
    let (row, ald_true) = evaluate(
        "ALD + true scores",
        pred,
        &sets.truth,
        &sets.other,
        Some(0.0),
        seconds,
    )?;
    let mut rows = vec![row];
    if args.flag("skip-baselines") {
        return Ok((rows, ald_true));
    }
    for (label, trace) in [
        ("ALD + SM", TraceEstimator::Exact),
        ("ALD + SSM", TraceEstimator::Rademacher),
    ] {
        let resume = args.flag("resume");
        let (net, train_s) = train_score(label, trace, o.baseline_steps, &o.setup, &o.out, resume)?;
        let score_err = relative_error(
            |t, x| Ok(net.score(t, x)?),
            |p, t| action_matching::paths::hydrogen::score(p, t * T_PHYSICAL),
            &sets.truth,
        )?;
        let started = std::time::Instant::now();
        let pred = push_ald(&net, &sets.x0, 5, o.setup.seed + 22)?;
        let seconds = train_s + started.elapsed().as_secs_f64();
        let (row, _) = evaluate(
            label,
            pred,
            &sets.truth,
            &sets.other,
            Some(score_err),
            seconds,
        )?;
        rows.push(row);
    }
    Ok((rows, ald_true))
}

/// The table of average |MMD²| (with the paper's Table 2 beside it) and the per-time values.
fn print_table(rows: &[Row], particles: usize, floor: f64, exact_coupled: f64, full: bool) {
    println!("\naverage |MMD²| over t = 0.1 … 1 (kernel Σ₃ exp(−1e-4‖x − x′‖²), unbiased, {particles} particles)");
    println!(
        "{:<18} | {:>10} {:>10} | {:>10} | {:>11} | {:>10} | {:>17} | {:>7}",
        "method", "coupled", "± std(t)", "paired", "independent", "field err", "paper", "time s"
    );
    for r in rows {
        let (_, sd) = mean_sd(&r.coupled.1);
        let paper = PAPER
            .iter()
            .find(|p| p.0 == r.name)
            .map(|p| format!("{:.1e} ± {:.1e}", p.1, p.2))
            .unwrap_or_default();
        println!(
            "{:<18} | {:>10.3e} {:>10.1e} | {:>10.2e} | {:>11.3e} | {:>10} | {:>17} | {:>7.0}",
            r.name,
            r.coupled.0,
            sd,
            r.paired,
            r.independent.0,
            r.field_error.map(|e| format!("{e:.3}")).unwrap_or_default(),
            paper,
            r.seconds
        );
    }
    println!(
        "{:<18} | {:>10} {:>10} | {:>10} | {:>11.3e} |",
        "noise floor", "", "", "", floor
    );
    println!(
        "{:<18} | {:>10.3e} {:>10} |  (the coupled metric of the exact dynamics: what a perfect model scores)",
        "exact dynamics", exact_coupled, ""
    );
    println!("(coupled: the reference metric, mean |MMD²|; paired: the same kernel with the i = j pairs left out of the cross term, signed, 0 ± noise for the exact dynamics)");
    println!("(field err: AM ‖∇s − T·∇arg ψ‖/‖T·∇arg ψ‖; SM/SSM ‖s_θ − ∇log q‖/‖∇log q‖; mean over t, at the true particles)");
    println!("\n|MMD²| per time, coupled:");
    print!("{:<18} |", "t");
    for t in TIMES {
        print!(" {t:>8.1}");
    }
    println!();
    for r in rows {
        print!("{:<18} |", r.name);
        for v in &r.coupled.1 {
            print!(" {v:>8.1e}");
        }
        println!();
    }
    if let Some(ald) = rows.iter().find(|r| r.name == "ALD + true scores") {
        let ratio = ald.coupled.0 / rows[0].coupled.0;
        println!("\naverage MMD of ALD with the true scores / AM's: {ratio:.2} (the paper's ratio: 3.6e-2 / 5.7e-4 = 63)");
    }
    if !full {
        println!("(reduced schedule: compare with the paper's AM band only after a --full run)");
    }
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "full", "skip-baselines"])?;
        let o = Options::parse(&args)?;
        let (setup, steps) = (&o.setup, o.steps);
        let schedule = Warmup {
            lr: o.lr,
            steps: o.warm,
            cosine_total: None,
            floor: 1.0,
        };
        println!("Hydrogen atom, ψ = (ψ₃,₂,₋₁ + ψ₂,₁,₀)/√2, a₀ = 4π, T = {T_PHYSICAL} (Sec. 4.2, App. E.1)");
        println!(
            "AM: s = ½‖x − h‖², h 4 × 256 SiLU; {steps} steps × batch {}, Adam {:e}, {}-step warm-up, clip 1, EMA {}; data: {} particles, fresh every {} steps{}",
            setup.batch, o.lr, o.warm, o.ema, setup.particles, setup.regenerate,
            if o.full { " (the reference schedule)" } else { " (reduced schedule; --full for the reference)" }
        );
        let started = std::time::Instant::now();
        let test = dataset(setup.particles, setup.mh_steps, 9_000_000 + setup.seed)?;
        let other = dataset(setup.particles, setup.mh_steps, 9_500_000 + setup.seed)?;
        let sets = TruthSets {
            x0: at(&test, 0, setup.particles)?,
            truth: truth_at_times(&test, setup.particles)?,
            other: truth_at_times(&other, setup.particles)?,
        };
        let (floor, _) = mmd_curve(&sets.other, &sets.truth)?;
        // the coupled metric of the exact dynamics: the unbiased estimator's cross term keeps the
        // i = j pairs, so coupled sets are biased low by ≈ (2/n)(k(x, x) − E k) and |MMD²| of a
        // perfect model is this, not 0
        let (exact_coupled, _) = mmd_curve(&sets.truth, &sets.truth)?;
        println!("test and independent sets: {} particles each, {:.1} s; noise floor (two independent true sets) {floor:.3e}", setup.particles, started.elapsed().as_secs_f64());
        let curve_x0 = at(&test, 0, o.curve_n)?;
        let curve_truth = truth_at_times(&test, o.curve_n)?;
        let (am, curve, am_seconds) = train_am(
            &args,
            setup,
            steps,
            schedule,
            o.ema,
            &o.out,
            &curve_x0,
            &curve_truth,
            o.eval_every,
        )?;
        let started = std::time::Instant::now();
        let am_particles = push_am(&am, &sets.x0)?;
        let field = GradientField::new(&am);
        let am_err = relative_error(
            |t, x| Ok(field.velocity(t, x)?),
            |p, t| velocity(p, t * T_PHYSICAL).map(|v| T_PHYSICAL * v),
            &sets.truth,
        )?;
        let seconds = am_seconds + started.elapsed().as_secs_f64();
        let (row, am_particles) = evaluate(
            "AM",
            am_particles,
            &sets.truth,
            &sets.other,
            Some(am_err),
            seconds,
        )?;
        let mut rows = vec![row];
        let (more, ald_true) = baselines(&args, &o, &sets)?;
        rows.extend(more);
        print_table(&rows, setup.particles, floor, exact_coupled, o.full);
        plot_curve(&curve, &rows, &o.out.join("mmd_curve.png"))?;
        plot_particles(
            &sets.truth[9],
            &am_particles[9],
            &ald_true[9],
            &o.out.join("particles_t1.png"),
        )?;
        println!("wrote {}/mmd_curve.png, particles_t1.png, curve.csv, am.safetensors (resumable), am_ema.safetensors", o.out.display());
        Ok(())
    })
}
