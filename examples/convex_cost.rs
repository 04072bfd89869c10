//! convex_cost: Action Matching with a convex kinetic cost (Sec. 3.3, Prop. B.2): the marginals
//! fix the dynamics only once the cost is chosen. On an anisotropic Gaussian path (on isotropic
//! Gaussian and on 1-D paths every cost gives the same velocity) we train AM with
//! c(v) = ½‖v‖² and with c(v) = ½vᵀMv, M = diag(4, ¼), and push the same particles with each
//! velocity v = ∇c*(∇s) = M⁻¹∇s (Eq. 22). Both reproduce the marginals (W2 against fresh samples
//! at the noise floor) while the trajectories differ; each learned velocity is checked against its
//! closed form (`GaussianPath::exact_convex_action`), and K_c of each is reported.
//!
//! Convex costs other than ½‖·‖² run on the generic engine (the fused step covers the quadratic
//! cost with M = I only).
//!
//! `cargo run --release --example convex_cost` (≈ 2 min on 2 cores); `--quick` for a smoke run.

mod common;

use action_matching::core::{
    Action, ConvexCost, DType, Derivatives, Device, GradientField, Marginals, QuadraticCost,
    SeededRng, Tensor,
};
use action_matching::metrics::w2_equal;
use action_matching::models::{Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig};
use action_matching::paths::GaussianPath;
use action_matching::solvers::Trajectory;
use action_matching::solvers::{integrate, Method, OdeConfig};
use action_matching::train::figures::{self, Labels, PathGroup, Rgb};
use action_matching::train::{Engine as _, EngineChoice, TrainConfig};
use common::trainer::{checkpoints, fit, mlp_trainer};
use nalgebra::{DMatrix, DVector};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const HELP: &str =
    "convex_cost: AM with c(v) = ½‖v‖² and c(v) = ½vᵀMv on an anisotropic Gaussian path

USAGE: cargo run --release --example convex_cost -- [OPTIONS]

OPTIONS:
  --steps N             training steps per cost (default 4000; --quick: 30)
  --batch N             samples per term and step (default 256)
  --seed N              random seed (default 0)
  --out DIR             output folder (default out/convex_cost)
  --engine E            fused (default; used where it applies) or generic
  --checkpoint-every N  steps between checkpoints (default 1000)
  --resume              continue from the checkpoints in --out
  --quick               a smoke run of a few seconds (what CI runs)
  --help                this text";

fn rotation(deg: f64) -> DMatrix<f64> {
    let (s, c) = deg.to_radians().sin_cos();
    DMatrix::from_row_slice(2, 2, &[c, -s, s, c])
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The path: N(0, diag(1.5, 0.2)) → N((2, 1), R45° diag(0.1, 1.2) R45°ᵀ), anisotropic and rotating.
fn path() -> Res<GaussianPath> {
    let a0 = DMatrix::from_diagonal(&DVector::from_vec(vec![1.5f64.sqrt(), 0.2f64.sqrt()]));
    let a1 = rotation(45.0)
        * DMatrix::from_diagonal(&DVector::from_vec(vec![0.1f64.sqrt(), 1.2f64.sqrt()]));
    Ok(GaussianPath::interpolant(
        DVector::from_vec(vec![0.0, 0.0]),
        a0,
        DVector::from_vec(vec![2.0, 1.0]),
        a1,
    )?)
}

/// A kinetic cost: its name, the cost object (None: ½‖v‖², the default), and M.
type Cost = (&'static str, Option<Arc<QuadraticCost>>, DMatrix<f64>);

fn costs() -> Res<Vec<Cost>> {
    Ok(vec![
        ("½‖v‖²", None, DMatrix::identity(2, 2)),
        (
            "½vᵀMv, M = diag(4, ¼)",
            Some(Arc::new(QuadraticCost::new(vec![4.0, 0.0, 0.0, 0.25], 2)?)),
            DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 0.25]),
        ),
    ])
}

/// A 2 × 2 matrix as a tensor (row-major).
fn tensor(m: &DMatrix<f64>) -> Res<Tensor> {
    let rows: Vec<f64> = m.transpose().iter().cloned().collect();
    Ok(Tensor::from_vec(rows, (2, 2), &Device::Cpu)?)
}

/// The learned velocity M⁻¹∇s_θ against the closed form M⁻¹∇s̄* (relative L² error over 10,000
/// points of the path), and K_c = ½∫E[vᵀMv] learned and exact.
fn velocity_check(path: &GaussianPath, model: &Mlp, m: &DMatrix<f64>, seed: u64) -> Res<[f64; 3]> {
    let oracle = path.exact_convex_action(m)?;
    let k_exact = path.convex_kinetic_energy(&oracle, 64);
    let mut mc = SeededRng::new(seed + 7);
    let (nt, per) = (100, 100);
    let t: Vec<f64> = (0..nt * per)
        .map(|i| ((i / per) as f64 + 0.5) / nt as f64)
        .collect();
    let x = path.sample(&t, &mut mc, DType::F64, &Device::Cpu)?;
    let tt = Tensor::from_vec(t.clone(), (t.len(), 1), &Device::Cpu)?;
    let f32s = (tt.to_dtype(DType::F32)?, x.to_dtype(DType::F32)?);
    let g = model
        .eval(&f32s.0, &f32s.1, &Derivatives::default())?
        .grad_x
        .to_dtype(DType::F64)?;
    let gs = oracle.action.eval(&tt, &x, &Derivatives::default())?.grad_x;
    // row vectors: v = ∇s M⁻ᵀ (M symmetric)
    let minv = tensor(&m.clone().try_inverse().ok_or("M is singular")?.transpose())?;
    let (v, vs) = (g.matmul(&minv)?, gs.matmul(&minv)?);
    let err = ((&v - &vs)?.sqr()?.sum_all()?.to_scalar::<f64>()?
        / vs.sqr()?.sum_all()?.to_scalar::<f64>()?)
    .sqrt();
    let k_learned = 0.5
        * (v.matmul(&tensor(&m.transpose())?)? * &v)?
            .sum_keepdim(1)?
            .mean_all()?
            .to_scalar::<f64>()?;
    Ok([err, k_learned, k_exact])
}

/// W2 of pushed particles against fresh samples of q_t at t = 0.5 and 1, and the noise floor at 1.
fn marginal_check(path: &GaussianPath, flow: &Trajectory, n: usize, seed: u64) -> Res<[f64; 3]> {
    let mut rng = SeededRng::new(seed + 5);
    let mut w = |t: f64, x: &Tensor| -> Res<f64> {
        let truth = path.sample(&vec![t; n], &mut rng, DType::F32, &Device::Cpu)?;
        Ok(w2_equal(x, &truth)?)
    };
    let half = w(0.5, &flow.at(10)?)?;
    let one = w(1.0, &flow.last()?)?;
    let other = path.sample(
        &vec![1.0; n],
        &mut SeededRng::new(seed + 6),
        DType::F32,
        &Device::Cpu,
    )?;
    Ok([half, one, w(1.0, &other)?])
}

/// The two flows from the same start points.
fn figure(file: &Path, flows: &[Trajectory], steps: u64) -> Res<()> {
    let title =
        format!("AM with two kinetic costs: same marginals, different flows ({steps} steps each)");
    let labels = Labels {
        title: &title,
        x: "x₁",
        y: "x₂",
    };
    let groups = [
        PathGroup {
            label: "c(v) = ½‖v‖²".into(),
            paths: figures::trajectory_paths(&flows[0], (0, 1), 100)?,
            color: Rgb(40, 90, 220),
        },
        PathGroup {
            label: "c(v) = ½vᵀMv, M = diag(4, ¼)".into(),
            paths: figures::trajectory_paths(&flows[1], (0, 1), 100)?,
            color: Rgb(220, 80, 40),
        },
    ];
    Ok(figures::scatter_with_path_groups(
        file,
        &labels,
        &[],
        &groups,
    )?)
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume"])?;
        let quick = args.flag("quick");
        let steps: u64 = args.get("steps", if quick { 30 } else { 4000 })?;
        let batch: usize = args.get("batch", 256)?;
        let seed: u64 = args.get("seed", 0)?;
        let every: u64 = args.get("checkpoint-every", 1000)?;
        let engine: EngineChoice = args.string("engine", "fused").parse()?;
        let out = PathBuf::from(args.string("out", "out/convex_cost"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let path = path()?;
        println!("AM with two kinetic costs on an anisotropic Gaussian path (D = 2); {steps} steps each, batch {batch}, seed {seed}");

        let n = 1000;
        let x0 = path.sample(
            &vec![0.0; n],
            &mut SeededRng::new(seed + 3),
            DType::F32,
            &Device::Cpu,
        )?;
        let grid: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
        let ode = OdeConfig {
            method: Method::Rk4,
            steps: 100,
        };
        let mut flows = Vec::new();
        println!("\n| cost | W2 at t = 0.5 | W2 at t = 1 | noise floor (t = 1) | rel. error of v vs closed form | K_c learned | K_c exact | time |");
        println!("|---|---|---|---|---|---|---|---|");
        for (k, (name, cost, m)) in costs()?.iter().enumerate() {
            let config = MlpConfig {
                dim: 2,
                hidden: vec![128, 128, 128],
                ..Default::default()
            };
            let model = Mlp::new(config, &mut SeededRng::new(seed), DType::F32, &Device::Cpu)?;
            let mut objective = ActionMatching::new(AmConfig::deterministic())?;
            if let Some(c) = cost {
                objective = objective.with_cost(c.clone());
            }
            let train = TrainConfig {
                seed: seed + 1,
                ..TrainConfig::new(steps, batch, 1e-3)
            };
            let mut trainer = mlp_trainer(model, objective, train, engine, "convex_cost")?
                .with_run_config(format!(r#"{{"example":"convex_cost","cost":{k}}}"#));
            let file = out.join(format!("cost{k}.safetensors"));
            let options = checkpoints(file, every, args.flag("resume"));
            let report = fit(&mut trainer, &path, steps, &options, &format!("cost {k}"))?;
            let model = trainer.model()?;
            let field = match cost {
                Some(c) => GradientField::new(model).with_cost(c.as_ref() as &dyn ConvexCost),
                None => GradientField::new(model),
            };
            let flow = integrate(&field, &x0, 0.0, 1.0, ode, &grid)?;
            let [w_half, w_one, floor] = marginal_check(&path, &flow, n, seed)?;
            let [err, k_learned, k_exact] = velocity_check(&path, model, m, seed)?;
            println!(
                "| {name} | {w_half:.4} | {w_one:.4} | {floor:.4} | {err:.3} | {k_learned:.4} | {k_exact:.4} | {:.1} s ({:?}) |",
                report.seconds,
                trainer.engine().kind()
            );
            flows.push(flow);
        }
        let (a, b) = (flows[0].at(10)?, flows[1].at(10)?);
        let gap = (a - b)?
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .mean_all()?
            .to_scalar::<f32>()?;
        println!("\nsame start points, different costs: mean distance between the two particle positions at t = 0.5: {gap:.3} (while both match q_0.5)");
        let fig = out.join("trajectories.png");
        figure(&fig, &flows, steps)?;
        println!(
            "wrote {} (100 of the same start points pushed by each velocity)",
            fig.display()
        );
        Ok(())
    });
}
