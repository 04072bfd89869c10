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
use action_matching::solvers::{integrate, Method, OdeConfig};
use action_matching::train::{Engine as _, EngineChoice, TrainConfig};
use common::plot::Canvas;
use common::trainer::{checkpoints, fit, mlp_trainer};
use nalgebra::{DMatrix, DVector};
use std::path::PathBuf;
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

        // an anisotropic, rotating Gaussian path: N(0, diag(1.5, 0.2)) → N((2, 1), R45° diag(0.1, 1.2) R45°ᵀ)
        let a0 = DMatrix::from_diagonal(&DVector::from_vec(vec![1.5f64.sqrt(), 0.2f64.sqrt()]));
        let a1 = rotation(45.0)
            * DMatrix::from_diagonal(&DVector::from_vec(vec![0.1f64.sqrt(), 1.2f64.sqrt()]));
        let path = GaussianPath::interpolant(
            DVector::from_vec(vec![0.0, 0.0]),
            a0,
            DVector::from_vec(vec![2.0, 1.0]),
            a1,
        )?;
        let m = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 0.25]);
        type Costs<'a> = Vec<(&'a str, Option<Arc<QuadraticCost>>, DMatrix<f64>)>;
        let costs: Costs = vec![
            ("½‖v‖²", None, DMatrix::identity(2, 2)),
            (
                "½vᵀMv, M = diag(4, ¼)",
                Some(Arc::new(QuadraticCost::new(vec![4.0, 0.0, 0.0, 0.25], 2)?)),
                m,
            ),
        ];
        println!("AM with two kinetic costs on an anisotropic Gaussian path (D = 2); {steps} steps each, batch {batch}, seed {seed}");

        let n = 1000;
        let mut prng = SeededRng::new(seed + 3);
        let x0 = path.sample(&vec![0.0; n], &mut prng, DType::F32, &Device::Cpu)?;
        let grid: Vec<f64> = (1..=20).map(|k| k as f64 / 20.0).collect();
        let ode = OdeConfig {
            method: Method::Rk4,
            steps: 100,
        };
        let mut flows = Vec::new();
        println!("\n| cost | W2 at t = 0.5 | W2 at t = 1 | noise floor (t = 1) | rel. error of v vs closed form | K_c learned | K_c exact | time |");
        println!("|---|---|---|---|---|---|---|---|");
        for (k, (name, cost, mat)) in costs.iter().enumerate() {
            let model = Mlp::new(
                MlpConfig {
                    dim: 2,
                    hidden: vec![128, 128, 128],
                    ..Default::default()
                },
                &mut SeededRng::new(seed),
                DType::F32,
                &Device::Cpu,
            )?;
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
            let label = format!("cost {k}");
            let options = checkpoints(
                out.join(format!("cost{k}.safetensors")),
                every,
                args.flag("resume"),
            );
            let report = fit(&mut trainer, &path, steps, &options, &label)?;
            let model = trainer.model()?;
            let field = match cost {
                Some(c) => GradientField::new(model).with_cost(c.as_ref() as &dyn ConvexCost),
                None => GradientField::new(model),
            };
            let flow = integrate(&field, &x0, 0.0, 1.0, ode, &grid)?;
            let mut frng = SeededRng::new(seed + 5);
            let w = |t: f64,
                     x: &Tensor,
                     rng: &mut SeededRng|
             -> Result<f64, Box<dyn std::error::Error>> {
                let truth = path.sample(&vec![t; n], rng, DType::F32, &Device::Cpu)?;
                Ok(w2_equal(x, &truth)?)
            };
            let w_half = w(0.5, &flow.at(9)?, &mut frng)?;
            let w_one = w(1.0, &flow.last()?, &mut frng)?;
            let floor = {
                let a = path.sample(&vec![1.0; n], &mut frng, DType::F32, &Device::Cpu)?;
                w(1.0, &a, &mut frng)?
            };
            // the learned velocity M⁻¹∇s_θ against the closed form M⁻¹∇s̄*, and K_c = ½∫E[vᵀMv]
            let oracle = path.exact_convex_action(mat)?;
            let k_exact = path.convex_kinetic_energy(&oracle, 64);
            let mut mc = SeededRng::new(seed + 7);
            let (nt, per) = (100, 100);
            let t: Vec<f64> = (0..nt * per)
                .map(|i| ((i / per) as f64 + 0.5) / nt as f64)
                .collect();
            let x = path.sample(&t, &mut mc, DType::F64, &Device::Cpu)?;
            let tt = Tensor::from_vec(t.clone(), (t.len(), 1), &Device::Cpu)?;
            let g = model
                .eval(
                    &tt.to_dtype(DType::F32)?,
                    &x.to_dtype(DType::F32)?,
                    &Derivatives::default(),
                )?
                .grad_x
                .to_dtype(DType::F64)?;
            let gs = oracle.action.eval(&tt, &x, &Derivatives::default())?.grad_x;
            let minv = Tensor::from_vec(
                mat.clone()
                    .try_inverse()
                    .ok_or("M is singular")?
                    .transpose()
                    .iter()
                    .cloned()
                    .collect::<Vec<f64>>(),
                (2, 2),
                &Device::Cpu,
            )?;
            let mt = Tensor::from_vec(
                mat.transpose().iter().cloned().collect::<Vec<f64>>(),
                (2, 2),
                &Device::Cpu,
            )?;
            let v = g.matmul(&minv)?;
            let vs = gs.matmul(&minv)?;
            let err = ((&v - &vs)?.sqr()?.sum_all()?.to_scalar::<f64>()?
                / vs.sqr()?.sum_all()?.to_scalar::<f64>()?)
            .sqrt();
            let k_learned = 0.5
                * (v.matmul(&mt)? * &v)?
                    .sum_keepdim(1)?
                    .mean_all()?
                    .to_scalar::<f64>()?;
            println!(
                "| {name} | {w_half:.4} | {w_one:.4} | {floor:.4} | {err:.3} | {k_learned:.4} | {k_exact:.4} | {:.1} s ({:?}) |",
                report.seconds,
                trainer.engine().kind()
            );
            flows.push(flow);
        }
        // the two flows from the same particles
        let (a, b) = (
            flows[0].states.to_vec3::<f32>()?,
            flows[1].states.to_vec3::<f32>()?,
        );
        let mut gap = 0.0;
        let mid = a.len() / 2;
        for i in 0..n {
            gap += ((a[mid][i][0] - b[mid][i][0]).powi(2) + (a[mid][i][1] - b[mid][i][1]).powi(2))
                .sqrt() as f64;
        }
        println!(
            "\nsame start points, different costs: mean distance between the two particle positions at t = 0.5: {:.3} (while both match q_0.5)",
            gap / n as f64
        );
        let mut canvas = Canvas::new(800, 700, [-3.5, 4.5, -2.5, 3.5]);
        for i in (0..n).step_by(10) {
            canvas.trajectory(&a, i, |_| [40, 90, 220], 0.7);
            canvas.trajectory(&b, i, |_| [220, 80, 40], 0.7);
        }
        let fig = out.join("trajectories.png");
        canvas.save(&fig)?;
        println!(
            "wrote {} (blue: ½‖v‖², orange: ½vᵀMv; same start points)",
            fig.display()
        );
        Ok(())
    });
}
