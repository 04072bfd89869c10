//! gaussian: a learned action against the closed form, and Eq. 27 (AM's velocity has the least
//! kinetic energy of all fields with the same marginals).
//!
//! The path is the linear interpolant of independent endpoints x₀ ~ N(μ₀, Σ₀), x₁ ~ N(μ₁, Σ₁):
//! q_t = N((1 − t)μ₀ + tμ₁, (1 − t)²Σ₀ + t²Σ₁), with anisotropic covariances whose axes differ, so
//! that Σ₀ and Σ₁ do not commute. Everything about it is known in closed form:
//! - AM's target ∇s*_t(x) = μ̇_t + B_t(x − μ_t), B_t symmetric with B_tΣ_t + Σ_tB_t = Σ̇_t
//!   (`GaussianPath::exact_action`), and its kinetic energy K = ½∫E‖∇s*‖²dt;
//! - the conditional flow-matching field of the same interpolant (independent coupling),
//!   u_t(x) = E[x₁ − x₀ | x_t = x] = μ̇_t + A_t(x − μ_t), A_t = (tΣ₁ − (1 − t)Σ₀)Σ_t⁻¹: it has the
//!   same marginals (A_tΣ_t + Σ_tA_tᵀ = Σ̇_t) but A_t is not symmetric, so it is not a gradient;
//!   Eq. 27 says K_CFM ≥ K, with K_CFM − K = ½∫E‖u − ∇s*‖²dt (∇s* is the L²(q_t) projection).
//!
//! AM trains an MLP on samples of q_t; we report the action gap ½∫E‖∇s_θ − ∇s*‖²dt, √(GAP/K), the
//! learned kinetic energy, W2 of pushed particles, and the held-out AM loss, which equals
//! GAP − K (Sec. 2.2) and so tracks the gap during training without knowing s*.
//!
//! `cargo run --release --example gaussian` (≈ 1 min on 2 cores); `--quick` for a smoke run.

mod common;

use action_matching::core::{
    Action, DType, Derivatives, Device, GradientField, Marginals, SeededRng, Tensor, VelocityField,
};
use action_matching::metrics::w2_equal;
use action_matching::models::{FusedMlp, Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig, PathSample, QuasiRandomTime};
use action_matching::paths::quadrature::gauss_legendre;
use action_matching::paths::GaussianPath;
use action_matching::solvers::Trajectory;
use action_matching::solvers::{integrate, Method, OdeConfig};
use action_matching::train::figures::{self, Group, Labels, PathGroup, Rgb};
use action_matching::train::{Engine as _, EngineChoice, MlpEngine, TrainConfig, Trainer};
use common::trainer::{checkpoints, fit, mlp_trainer};
use nalgebra::{DMatrix, DVector};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "gaussian: AM against the closed form on an anisotropic Gaussian path; Eq. 27 against conditional flow matching

USAGE: cargo run --release --example gaussian -- [OPTIONS]

OPTIONS:
  --steps N             training steps (default 6000; --quick: 60)
  --batch N             samples per term and step (default 256)
  --seed N              random seed (default 0)
  --out DIR             output folder (default out/gaussian)
  --engine E            fused (default) or generic
  --eval-every N        steps between held-out evaluations (default 500)
  --checkpoint-every N  steps between checkpoints (default 2000)
  --resume              continue from the checkpoint in --out
  --quick               a smoke run of a few seconds (what CI runs)
  --help                this text";

fn rotation(deg: f64) -> DMatrix<f64> {
    let (s, c) = deg.to_radians().sin_cos();
    DMatrix::from_row_slice(2, 2, &[c, -s, s, c])
}

/// A Gaussian endpoint (μ, A) with Σ = AAᵀ.
type Endpoint = (DVector<f64>, DMatrix<f64>);

/// Endpoints: (μ₀, A₀) and (μ₁, A₁).
fn endpoints() -> (Endpoint, Endpoint) {
    let a0 = DMatrix::from_diagonal(&DVector::from_vec(vec![2f64.sqrt(), 0.2f64.sqrt()]));
    let a1 = rotation(60.0)
        * DMatrix::from_diagonal(&DVector::from_vec(vec![1.5f64.sqrt(), 0.1f64.sqrt()]));
    (
        (DVector::from_vec(vec![0.0, 0.0]), a0),
        (DVector::from_vec(vec![3.0, 1.0]), a1),
    )
}

/// q_t of the independent linear interpolant.
fn path() -> Result<GaussianPath, Box<dyn std::error::Error>> {
    let ((m0, a0), (m1, a1)) = endpoints();
    Ok(GaussianPath::interpolant(m0, a0, m1, a1)?)
}

/// The conditional flow-matching field u_t(x) = μ̇ + A_t(x − μ_t), A_t = (tΣ₁ − (1 − t)Σ₀)Σ_t⁻¹.
struct CfmField {
    path: GaussianPath,
    s0: DMatrix<f64>,
    s1: DMatrix<f64>,
}

impl CfmField {
    fn matrix(&self, t: f64) -> DMatrix<f64> {
        let m = self.path.moments(t);
        let inv = m
            .cov
            .value
            .clone()
            .try_inverse()
            .expect("Σ_t is positive definite");
        (&self.s1 * t - &self.s0 * (1.0 - t)) * inv
    }
}

impl VelocityField for CfmField {
    fn dim(&self) -> usize {
        2
    }

    fn velocity(&self, t: f64, x: &Tensor) -> action_matching::core::Result<Tensor> {
        let m = self.path.moments(t);
        let a = self.matrix(t);
        let xs: Vec<f64> = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
        let mut out = Vec::with_capacity(xs.len());
        for p in xs.chunks_exact(2) {
            let r = DVector::from_vec(vec![p[0] - m.mean.value[0], p[1] - m.mean.value[1]]);
            let v = &m.mean.dot + &a * r;
            out.extend([v[0], v[1]]);
        }
        Ok(Tensor::from_vec(out, x.dims(), x.device())?.to_dtype(x.dtype())?)
    }
}

/// The closed forms of the path and of the CFM field: K, K_CFM, ½∫E‖u − ∇s*‖²dt and the
/// continuity residual of u (Gauss–Legendre, 64 nodes).
struct ClosedForms {
    k_star: f64,
    k_cfm: f64,
    cross: f64,
    residual: f64,
}

fn closed_forms(path: &GaussianPath, cfm: &CfmField) -> ClosedForms {
    let exact = path.exact_action();
    let k_star = path.kinetic_energy(&exact, 64);
    // K_CFM = ½∫(‖μ̇‖² + tr(AΣAᵀ))dt
    let (mut k_cfm, mut cross, mut residual) = (0.0, 0.0, 0.0f64);
    for (t, w) in gauss_legendre(64) {
        let m = path.moments(t);
        let a = cfm.matrix(t);
        let b = exact.at(t).0.q.clone();
        k_cfm +=
            w * 0.5 * (m.mean.dot.norm_squared() + (&a * &m.cov.value * a.transpose()).trace());
        let d = &a - &b;
        cross += w * 0.5 * (&d * &m.cov.value * d.transpose()).trace();
        let r = &a * &m.cov.value + &m.cov.value * a.transpose() - &m.cov.dot;
        residual = residual.max(r.abs().max());
    }
    ClosedForms {
        k_star,
        k_cfm,
        cross,
        residual,
    }
}

/// The action gap ½∫E‖∇s_θ − ∇s*‖²dt and the kinetic energy ½∫E‖∇s_θ‖²dt of the learned
/// action, by Monte Carlo on a grid of 200 times × 100 samples.
fn gap_and_energy(path: &GaussianPath, fused: &FusedMlp<f32>, seed: u64) -> Res<(f64, f64)> {
    let mut mc = SeededRng::new(seed + 7);
    let (nt, per) = (200, 100);
    let t: Vec<f64> = (0..nt * per)
        .map(|i| ((i / per) as f64 + 0.5) / nt as f64)
        .collect();
    let x = path.sample(&t, &mut mc, DType::F32, &Device::Cpu)?;
    let tt = Tensor::from_vec(
        t.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        (t.len(), 1),
        &Device::Cpu,
    )?;
    let g = fused.eval(&tt, &x, &Derivatives::default())?.grad_x;
    let gs = path
        .exact_action()
        .eval(&tt, &x.to_dtype(DType::F64)?, &Derivatives::default())?
        .grad_x
        .to_dtype(DType::F32)?;
    let half_mean_sq = |v: &Tensor| -> Res<f64> {
        Ok(0.5 * v.sqr()?.sum_keepdim(1)?.mean_all()?.to_scalar::<f32>()? as f64)
    };
    Ok((half_mean_sq(&(&g - &gs)?)?, half_mean_sq(&g)?))
}

/// Trains the MLP in stages of `eval_every` steps, recording the held-out AM loss after each.
fn train(
    trainer: &mut Trainer<MlpEngine>,
    path: &GaussianPath,
    args: &common::args::Args,
    out: &Path,
    seed: u64,
) -> Res<Vec<(u64, f64)>> {
    let quick = args.flag("quick");
    let steps = trainer.config().steps;
    let eval_every: u64 = args.get("eval-every", if quick { 20 } else { 500 })?;
    if eval_every == 0 {
        return Err("--eval-every must be ≥ 1".into());
    }
    let options = checkpoints(
        out.join("checkpoint.safetensors"),
        args.get("checkpoint-every", 2000)?,
        args.flag("resume"),
    );
    // a held-out batch, never trained on: its AM loss is GAP − K
    let held_out = PathSample::draw(
        path,
        8192,
        &mut QuasiRandomTime::new(),
        &mut SeededRng::new(seed + 1000),
        DType::F32,
        &Device::Cpu,
    )?;
    let (mut curve, mut stage) = (Vec::new(), 0);
    while trainer.step_count() < steps {
        stage += eval_every;
        fit(trainer, path, stage, &options, "AM")?;
        let held = trainer.held_out_loss(&held_out, &mut SeededRng::new(0))?;
        curve.push((trainer.step_count(), held));
    }
    Ok(curve)
}

/// The held-out curve and the table of the learned action against the closed forms.
fn report(c: &ClosedForms, curve: &[(u64, f64)], gap: f64, k_theta: f64, w2: [f64; 3]) {
    let k_star = c.k_star;
    println!("held-out AM loss (8192 samples) + K = GAP estimate, during training:");
    for (k, l) in curve {
        println!(
            "  step {k:>6}: held-out loss {l:+.5}  → GAP ≈ {:.5}",
            l + k_star
        );
    }
    let best = curve
        .iter()
        .cloned()
        .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    println!(
        "  lowest held-out loss at step {} (model selection without s*)",
        best.0
    );
    println!("\n| quantity | learned AM | closed form |");
    println!("|---|---|---|");
    println!("| action gap ½∫E‖∇s_θ − ∇s*‖² (Monte Carlo, 20,000 points) | {gap:.5} | 0 |");
    println!("| √(GAP/K) | {:.4} | 0 |", (gap / k_star).sqrt());
    println!(
        "| held-out loss + K (≈ GAP, Sec. 2.2) | {:.5} | 0 |",
        curve.last().map_or(f64::NAN, |c| c.1) + k_star
    );
    println!("| kinetic energy ½∫E‖∇s‖² | {k_theta:.5} | K = {k_star:.5} |");
    println!(
        "| kinetic energy of the CFM field (same marginals) | — | {:.5} (≥ K: Eq. 27) |",
        c.k_cfm
    );
    println!(
        "| W2(pushed q₀, q₁), 1000 particles, RK4 100 | {:.4} | CFM field: {:.4}; noise floor {:.4} |",
        w2[0], w2[1], w2[2]
    );
}

/// q₀ and q₁ samples with the trajectories of the learned action and of the CFM field from the
/// same start points.
fn figure(
    file: &Path,
    x0: &Tensor,
    x1: &Tensor,
    learned: &Trajectory,
    cfm: &Trajectory,
    steps: u64,
) -> Res<()> {
    let title = format!("Gaussian path: AM (trained {steps} steps) against the CFM field");
    let labels = Labels {
        title: &title,
        x: "x₁",
        y: "x₂",
    };
    let groups = [
        Group {
            label: "samples of q₀".into(),
            points: figures::points(x0, (0, 1))?,
            color: Rgb(120, 120, 120),
        },
        Group {
            label: "samples of q₁".into(),
            points: figures::points(x1, (0, 1))?,
            color: Rgb(60, 160, 60),
        },
    ];
    let paths = [
        PathGroup {
            label: "conditional flow matching field (same marginals)".into(),
            paths: figures::trajectory_paths(cfm, (0, 1), 40)?,
            color: Rgb(215, 110, 30),
        },
        PathGroup {
            label: "learned AM action ∇s_θ (least kinetic energy)".into(),
            paths: figures::trajectory_paths(learned, (0, 1), 40)?,
            color: Rgb(30, 70, 200),
        },
    ];
    Ok(figures::scatter_with_path_groups(
        file, &labels, &groups, &paths,
    )?)
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume"])?;
        let quick = args.flag("quick");
        let steps: u64 = args.get("steps", if quick { 60 } else { 6000 })?;
        let batch: usize = args.get("batch", 256)?;
        let seed: u64 = args.get("seed", 0)?;
        let engine: EngineChoice = args.string("engine", "fused").parse()?;
        let out = PathBuf::from(args.string("out", "out/gaussian"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

        let path = path()?;
        let ((_, a0), (_, a1)) = endpoints();
        let cfm = CfmField {
            path: path.clone(),
            s0: &a0 * a0.transpose(),
            s1: &a1 * a1.transpose(),
        };
        let c = closed_forms(&path, &cfm);
        println!("Gaussian path: independent linear interpolant N((0,0), diag(2, 0.2)) → N((3,1), R60° diag(1.5, 0.1) R60°ᵀ), D = 2");
        println!("closed forms: K (AM) = {:.5}, K_CFM = {:.5}, ½∫E‖u − ∇s*‖² = {:.5} (K_CFM − K = {:.5}); CFM continuity residual {:.1e}", c.k_star, c.k_cfm, c.cross, c.k_cfm - c.k_star, c.residual);

        let mut rng = SeededRng::new(seed);
        let config = MlpConfig {
            dim: 2,
            hidden: vec![256, 256, 256],
            ..Default::default()
        };
        let model = Mlp::new(config, &mut rng, DType::F32, &Device::Cpu)?;
        let train_config = TrainConfig {
            seed: seed + 1,
            ..TrainConfig::new(steps, batch, 1e-3)
        };
        let objective = ActionMatching::new(AmConfig::deterministic())?;
        let mut trainer = mlp_trainer(model, objective, train_config, engine, "gaussian")?
            .with_run_config(r#"{"example":"gaussian"}"#);
        let started = std::time::Instant::now();
        let curve = train(&mut trainer, &path, &args, &out, seed)?;
        let seconds = started.elapsed().as_secs_f64();
        let fused = FusedMlp::<f32>::from_mlp(trainer.model()?)?;
        let (gap, k_theta) = gap_and_energy(&path, &fused, seed)?;

        // particles pushed from q₀ by RK4: learned AM and the CFM field
        let n = 1000;
        let mut prng = SeededRng::new(seed + 3);
        let x0 = path.sample(&vec![0.0; n], &mut prng, DType::F32, &Device::Cpu)?;
        let grid: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
        let ode = OdeConfig {
            method: Method::Rk4,
            steps: 100,
        };
        let learned = integrate(&GradientField::new(&fused), &x0, 0.0, 1.0, ode, &grid)?;
        let flow_cfm = integrate(&cfm, &x0, 0.0, 1.0, ode, &grid)?;
        let x1 = path.sample(&vec![1.0; n], &mut prng, DType::F32, &Device::Cpu)?;
        let x1b = path.sample(&vec![1.0; n], &mut prng, DType::F32, &Device::Cpu)?;
        let w2 = [
            w2_equal(&learned.last()?, &x1)?,
            w2_equal(&flow_cfm.last()?, &x1)?,
            w2_equal(&x1b, &x1)?,
        ];
        println!("\ntrained {steps} steps (batch {batch}, MLP 3 × 256 SiLU, engine {:?}) in {seconds:.1} s", trainer.engine().kind());
        report(&c, &curve, gap, k_theta, w2);
        let fig = out.join("trajectories.png");
        figure(&fig, &x0, &x1, &learned, &flow_cfm, steps)?;
        println!("\nwrote {} (learned AM and the CFM field from the same 40 start points: same marginals; AM's is the gradient field of least kinetic energy)", fig.display());
        Ok(())
    });
}
