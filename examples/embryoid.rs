//! embryoid: entropic Action Matching on the embryoid-body scRNA-seq time course (Sec. 4.1, paper
//! Table 1), with NLSB's protocol, which produced the paper's column.
//!
//! Data: the NLSB preparation's validation split (1,000 cells, 200 per day bin) for training and
//! its test split (1,750 cells, 350 per bin) for evaluation; standardised with the validation
//! split's per-dimension mean and standard deviation, first 5 principal components kept; day bins
//! 0…4 mapped to t = 0, ¼, ½, ¾, 1. (The paper trained on the 13,069-cell training split, not
//! available here: our training set is ≈ 13× smaller.)
//!
//! Models, all MLPs on [t, x] trained on the OT-paired path between neighbouring snapshots:
//! - **eAM**: entropic AM (Eq. 13, constant ε) on the path with Brownian-bridge noise ε;
//!   particles follow dX = ∇s dt + ε dW (Eq. 12, Euler–Maruyama);
//! - **AM**: deterministic AM (Eq. 7) on the straight OT path; dX = ∇s dt;
//! - **OT-CFM**: conditional flow matching of the same straight path's velocities (x₁ − x₀)/Δτ;
//! - **OT interpolation**: no model. One-step: the validation cells of t_k themselves (what a
//!   model that memorised the training marginal would give; a floor set by the two splits'
//!   difference). Leave-one-out: McCann's interpolant between t_{k−1} and t_{k+1} at t_k;
//! - **OT displacement**: no model, but a trajectory: each test cell of t_{k−1} moves by the
//!   barycentric OT displacement of its nearest training cell (from t_{k−1} to t_k, or a fraction
//!   of the t_{k−1} → t_{k+1} displacement when t_k is left out).
//!
//! Table 1 ("one-step", all five time points trained): for k = 1…4 the test cells of t_{k−1} are
//! pushed to t_k, ≥ 10 SDE repeats; W1 (exact EMD, unsquared Euclidean cost: the paper's column,
//! labelled W2 there) as mean ± std over repeats, and W2 beside it. Table 2 (leave-one-out,
//! TrajectoryNet/torchcfm's protocol): t_k ∈ {t1, t2, t3} left out of training, predicted from
//! the test cells of t_{k−1}; not comparable with the paper.
//!
//! `cargo run --release --example embryoid` (≈ 15 min on 2 cores); `--quick` for a smoke run;
//! `--data-dir ../shared/data/eb` reads the full 100-PC files instead of the embedded 5-PC copy
//! (the same numbers: standardisation is per dimension).

mod common;

use action_matching::core::{
    DType, Device, Diffusion, GradientField, SeededRng, Tensor, VelocityField,
};
use action_matching::metrics::{w1, w2};
use action_matching::models::{FusedMlp, Mlp, MlpConfig, VectorMlp};
use action_matching::objectives::{flow_matching_loss, ActionMatching, AmConfig};
use action_matching::paths::data::preprocess::Standardizer;
use action_matching::paths::{OtPairedPath, Snapshots};
use action_matching::solvers::euler_maruyama;
use action_matching::train::protocol::mean_sd;
use action_matching::train::{EngineChoice, TrainConfig};
use common::trainer::{checkpoints, mlp_trainer, train_vector};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str =
    "embryoid: entropic AM on the embryoid-body time course (Sec. 4.1, Table 1; NLSB's protocol)

USAGE: cargo run --release --example embryoid -- [OPTIONS]

OPTIONS:
  --data-dir DIR     folder with val_rna.npz and test_rna.npz (100 PCs; default: the embedded
                     5-PC copy examples/data/eb_pc5.npz, which gives the same numbers)
  --eps E            diffusion ε of entropic AM and its path (default: chosen by --select-eps)
  --select-eps E,E,… candidates for ε, ranked on a held-out 20 % of the training cells
                     (default 0.1,0.2,0.4,0.8; --quick: 0.1,0.4)
  --steps N          training steps per model (default 3000; --quick: 20)
  --batch N          samples per term and step (default 256)
  --hidden W,W,...   hidden widths (default 256,256,256)
  --lr R             learning rate (default 1e-3)
  --repeats N        SDE repeats per prediction (default 10; --quick: 2)
  --no-leave-out     skip the leave-one-out table
  --seed N           random seed (default 0)
  --engine E         fused (default) or generic
  --out DIR          output folder (default out/embryoid)
  --resume           continue the AM models from their checkpoints; reuse saved OT-CFM models
  --quick            a smoke run of a few seconds (what CI runs)
  --help             this text";

/// The paper's Table 1 (from NLSB): W1 per predicted time point t1…t4.
const PAPER: [(&str, [f64; 4]); 6] = [
    ("OT-flow", [0.75, 0.93, 0.93, 0.88]),
    ("TrajectoryNet", [0.64, 0.87, 0.78, 0.89]),
    ("IPF", [0.65, 0.78, 0.76, 0.76]),
    ("Neural SDE", [0.62, 0.78, 0.77, 0.75]),
    ("NLSB", [0.63, 0.75, 0.75, 0.72]),
    ("entropic AM (paper)", [0.58, 0.77, 0.72, 0.74]),
];

/// Training and test snapshots, standardised with the training split's statistics, 5 PCs.
fn load(dir: Option<String>) -> Res<(Snapshots, Snapshots)> {
    let (val, test) = match &dir {
        Some(d) => {
            let d = Path::new(d);
            (
                Snapshots::from_npz(&d.join("val_rna.npz"), "X", "ts")?,
                Snapshots::from_npz(&d.join("test_rna.npz"), "X", "ts")?,
            )
        }
        None => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/eb_pc5.npz");
            (
                Snapshots::from_npz(&p, "val_X", "val_ts")?,
                Snapshots::from_npz(&p, "test_X", "test_ts")?,
            )
        }
    };
    let scaler = Standardizer::fit(&val)?;
    let val = scaler.apply(&val)?.first_dims(5)?.times_to_unit();
    let test = scaler.apply(&test)?.first_dims(5)?.times_to_unit();
    Ok((val, test))
}

/// What the models share.
struct Setup {
    steps: u64,
    batch: usize,
    hidden: Vec<usize>,
    lr: f64,
    eps: f64,
    seed: u64,
    engine: EngineChoice,
    resume: bool,
    out: PathBuf,
}

/// The learned models of one training set.
struct Models {
    eam: FusedMlp<f32>,
    am: FusedMlp<f32>,
    cfm: VectorMlp,
    seconds: [f64; 3],
}

/// The network of every model: [t, x] → widths `hidden` → output, SiLU.
fn net_config(s: &Setup) -> MlpConfig {
    MlpConfig {
        dim: 5,
        hidden: s.hidden.clone(),
        ..Default::default()
    }
}

fn mlp(s: &Setup) -> Res<Mlp> {
    Ok(Mlp::new(
        net_config(s),
        &mut SeededRng::new(s.seed),
        DType::F32,
        &Device::Cpu,
    )?)
}

/// Trains one AM model on the OT-paired path of `data` with bridge noise ε (entropic AM for
/// ε > 0, Eq. 13; deterministic AM for ε = 0, Eq. 7); `label` and `tag` name the checkpoint.
fn fit_am(
    data: &Snapshots,
    s: &Setup,
    label: &str,
    eps: f64,
    tag: &str,
) -> Res<(FusedMlp<f32>, f64)> {
    let path = OtPairedPath::new(data)?.with_bridge_noise(eps)?;
    let config = AmConfig {
        diffusion: if eps > 0.0 {
            Diffusion::Constant { eps }
        } else {
            Diffusion::None
        },
        ..Default::default()
    };
    let train = TrainConfig {
        seed: s.seed + 1,
        ..TrainConfig::new(s.steps, s.batch, s.lr)
    };
    let mut trainer = mlp_trainer(
        mlp(s)?,
        ActionMatching::new(config)?,
        train,
        s.engine,
        label,
    )?
    .with_run_config(format!(
        r#"{{"example":"embryoid","model":"{label}","set":"{tag}","eps":{eps}}}"#
    ));
    let name = format!("{label} {tag}");
    let options = checkpoints(
        s.out.join(format!("{label}_{tag}.safetensors")),
        1000,
        s.resume,
    );
    let report = common::trainer::fit(&mut trainer, &path, s.steps, &options, &name)?;
    Ok((FusedMlp::<f32>::from_mlp(trainer.model()?)?, report.seconds))
}

/// Chooses ε of entropic AM without touching the test split: for each candidate, eAM trained on
/// 80 % of the training cells of every time point pushes the held-out 20 % of t_{k−1} to t_k;
/// the candidate with the least mean W1 against the held-out cells of t_k wins. (The held-out AM
/// loss cannot rank ε: each ε defines its own objective, gap − K_ε, with a different constant.)
fn select_eps(val: &Snapshots, s: &Setup, candidates: &[f64], repeats: usize) -> Res<f64> {
    let (fit_part, held) = val.split(0.2, s.seed + 5)?;
    let tau = val.times().to_vec();
    println!(
        "\nchoosing ε on a held-out 20 % of the training cells ({:?} cells per time point):",
        held.counts()
    );
    println!("| ε | mean W1, held-out one-step |");
    println!("|---|---|");
    let mut best = (f64::INFINITY, candidates[0]);
    for &eps in candidates {
        let (m, _) = fit_am(&fit_part, s, "eAM", eps, &format!("select_eps{eps}"))?;
        let field = GradientField::new(&m);
        let mut total = 0.0;
        for k in 1..tau.len() {
            let x0 = held.tensor(k - 1, DType::F32, &Device::Cpu)?;
            let truth = held.tensor(k, DType::F32, &Device::Cpu)?;
            let (a, _, _) = predict(
                &field,
                Diffusion::Constant { eps },
                &x0,
                tau[k - 1],
                tau[k],
                &truth,
                repeats,
                s.seed + 7,
            )?;
            total += mean_sd(&a).0;
        }
        let score = total / (tau.len() - 1) as f64;
        println!("| {eps} | {score:.4} |");
        if score < best.0 {
            best = (score, eps);
        }
    }
    println!("chosen: ε = {}", best.1);
    Ok(best.1)
}

/// Trains eAM, AM and OT-CFM on `data`; `tag` names the checkpoints.
fn fit(data: &Snapshots, s: &Setup, tag: &str) -> Res<Models> {
    let mut seconds = [0.0; 3];
    let (eam, t0) = fit_am(data, s, "eAM", s.eps, tag)?;
    let (am, t1) = fit_am(data, s, "AM", 0.0, tag)?;
    seconds[0] = t0;
    seconds[1] = t1;
    // OT-CFM on the straight OT path
    let cfm = VectorMlp::new(
        net_config(s),
        &mut SeededRng::new(s.seed),
        DType::F32,
        &Device::Cpu,
    )?;
    let saved = s.out.join(format!("OT-CFM_{tag}.safetensors"));
    if s.resume && saved.exists() {
        cfm.load_parameters(&saved)?;
    } else {
        let path = OtPairedPath::new(data)?;
        let mut rng = SeededRng::new(s.seed + 1);
        seconds[2] = train_vector(
            action_matching::core::VectorModel::parameters(&cfm),
            s.steps,
            s.lr,
            &format!("OT-CFM {tag}"),
            &mut rng,
            |_, rng| {
                let t: Vec<f64> = (0..s.batch).map(|_| rng.uniform()).collect();
                let (x, u) = path.sample_with_velocity(&t, rng, DType::F32, &Device::Cpu)?;
                let tt = Tensor::from_vec(
                    t.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                    (s.batch, 1),
                    &Device::Cpu,
                )?;
                Ok(flow_matching_loss(&cfm, &tt, &x, &u)?)
            },
        )?;
        cfm.save(&saved)?;
    }
    Ok(Models {
        eam,
        am,
        cfm,
        seconds,
    })
}

/// Pushes `x0` from t0 to t1 with `diffusion` (100 Euler–Maruyama steps) `repeats` times;
/// W1 and W2 against `truth` per repeat.
#[allow(clippy::too_many_arguments)]
fn predict(
    field: &dyn VelocityField,
    diffusion: Diffusion,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    truth: &Tensor,
    repeats: usize,
    seed: u64,
) -> Res<(Vec<f64>, Vec<f64>, Tensor)> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut last = None;
    for r in 0..repeats {
        let mut rng = SeededRng::new(seed + r as u64);
        let x = euler_maruyama(field, diffusion, x0, t0, t1, 100, &[], &mut rng)?.last()?;
        a.push(w1(&x, truth, None, None)?);
        b.push(w2(&x, truth, None, None)?);
        last = Some(x);
    }
    Ok((a, b, last.expect("repeats ≥ 1")))
}

/// One table cell per method: (W1 mean, W1 std, W2 mean) per predicted time point.
type Table = Vec<(String, Vec<(f64, f64, f64)>)>;

fn print_table(title: &str, columns: &[String], rows: &Table) {
    println!("\n{title}");
    print!("| method |");
    for c in columns {
        print!(" {c} W1 | W2 |");
    }
    println!(" mean W1 |");
    print!("|---|");
    for _ in columns {
        print!("---|---|");
    }
    println!("---|");
    for (name, cells) in rows {
        print!("| {name} |");
        for (m, sd, w) in cells {
            let w = if w.is_nan() {
                "–".to_string()
            } else {
                format!("{w:.3}")
            };
            if *sd > 0.0 {
                print!(" {m:.3} ± {sd:.3} | {w} |");
            } else {
                print!(" {m:.3} | {w} |");
            }
        }
        let mean = cells.iter().map(|c| c.0).sum::<f64>() / cells.len() as f64;
        println!(" {mean:.3} |");
    }
}

/// Evaluates the models of one training set on the transitions `ks` (k: t_{k−1} → t_k); the
/// model-free rows come from `baselines`. Returns the table rows and eAM's predictions.
fn evaluate(
    m: &Models,
    ks: &[usize],
    test: &Snapshots,
    s: &Setup,
    repeats: usize,
    baselines: impl Fn(usize, &Tensor) -> Res<Vec<(&'static str, f64, f64)>>,
) -> Res<(Table, Vec<(usize, Tensor)>)> {
    let tau = test.times().to_vec();
    let dev = Device::Cpu;
    let (eam, am) = (GradientField::new(&m.eam), GradientField::new(&m.am));
    let methods: [(&str, &dyn VelocityField, Diffusion, usize); 3] = [
        (
            "entropic AM (ours)",
            &eam,
            Diffusion::Constant { eps: s.eps },
            repeats,
        ),
        ("AM (ours)", &am, Diffusion::None, 1),
        ("OT-CFM (ours)", &m.cfm, Diffusion::None, 1),
    ];
    let mut rows: Table = Vec::new();
    let mut shown = Vec::new();
    for (name, field, diffusion, reps) in methods {
        let mut cells = Vec::new();
        for &k in ks {
            let x0 = test.tensor(k - 1, DType::F32, &dev)?;
            let truth = test.tensor(k, DType::F32, &dev)?;
            let (a, b, last) = predict(
                field,
                diffusion,
                &x0,
                tau[k - 1],
                tau[k],
                &truth,
                reps,
                s.seed + 100 * k as u64,
            )?;
            let (m1, s1) = mean_sd(&a);
            cells.push((m1, s1, mean_sd(&b).0));
            if name.starts_with("entropic") {
                shown.push((k, last));
            }
        }
        rows.push((name.to_string(), cells));
    }
    for &k in ks {
        let truth = test.tensor(k, DType::F32, &dev)?;
        for (name, a, b) in baselines(k, &truth)? {
            match rows.iter_mut().find(|r| r.0 == name) {
                Some(r) => r.1.push((a, 0.0, b)),
                None => rows.push((name.to_string(), vec![(a, 0.0, b)])),
            }
        }
    }
    Ok((rows, shown))
}

/// The model-free trajectory baseline: each cell of `x0` `(N, 5)` moves by `fraction` of the
/// barycentric OT displacement T(a) − a of its nearest training cell a of `from` (exact OT,
/// squared Euclidean cost, from `from` to `to`, row-major 5-D cells).
fn ot_displacement(from: &[f64], to: &[f64], fraction: f64, x0: &Tensor) -> Res<Tensor> {
    let d = 5;
    let n = from.len() / d;
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| (u - v).powi(2)).sum::<f64>();
    let plan = action_matching::core::ot::squared_euclidean_plan(from, to, d)?;
    let mut target = vec![0.0; n * d];
    let mut mass = vec![0.0; n];
    for &(i, j, p) in &plan.entries {
        mass[i] += p;
        for a in 0..d {
            target[i * d + a] += p * to[j * d + a];
        }
    }
    let x: Vec<f64> = x0.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mut out = Vec::with_capacity(x.len());
    for p in x.chunks(d) {
        let nn = (0..n)
            .min_by(|&a, &b| {
                sq(p, &from[a * d..(a + 1) * d]).total_cmp(&sq(p, &from[b * d..(b + 1) * d]))
            })
            .ok_or("no training cells")?;
        for a in 0..d {
            let moved = target[nn * d + a] / mass[nn] - from[nn * d + a];
            out.push(p[a] + fraction * moved);
        }
    }
    let rows = out.len() / d;
    Ok(action_matching::core::rng::tensor_from_f64(
        out,
        &[rows, d],
        DType::F32,
        &Device::Cpu,
    )?)
}

/// Test cells by day bin (light) and eAM's one-step predictions (dark), standardised PCs 1–2.
fn plot(test: &Snapshots, shown: &[(usize, Tensor)], path: &Path) -> Res<()> {
    use action_matching::train::figures::{ramp, scatter_with_paths, Group, Labels, Rgb};
    let k = test.times().len();
    let light = |c: Rgb| {
        Rgb(
            (c.0 as f64 * 0.45 + 140.0) as u8,
            (c.1 as f64 * 0.45 + 140.0) as u8,
            (c.2 as f64 * 0.45 + 140.0) as u8,
        )
    };
    let mut groups: Vec<Group> = test
        .groups()
        .enumerate()
        .map(|(j, g)| Group {
            label: format!("test cells, day bin {j}"),
            points: g.chunks(5).map(|p| (p[0], p[1])).collect(),
            color: light(ramp(j, k)),
        })
        .collect();
    for (j, x) in shown {
        groups.push(Group {
            label: format!("eAM from bin {} to bin {j}", j - 1),
            points: x
                .to_vec2::<f32>()?
                .iter()
                .map(|p| (p[0] as f64, p[1] as f64))
                .collect(),
            color: ramp(*j, k),
        });
    }
    let labels = Labels {
        title: "Embryoid body: eAM one-step predictions of held-out test cells",
        x: "PC 1 (standardised)",
        y: "PC 2 (standardised)",
    };
    Ok(scatter_with_paths(path, &labels, &groups, &[], "")?)
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "no-leave-out"])?;
        let quick = args.flag("quick");
        let hidden: Vec<usize> = args.list("hidden", "256,256,256")?;
        let mut s = Setup {
            steps: args.get("steps", if quick { 20 } else { 3000 })?,
            batch: args.get("batch", 256)?,
            hidden,
            lr: args.get("lr", 1e-3)?,
            eps: args.get("eps", 0.1)?,
            seed: args.get("seed", 0)?,
            engine: args.string("engine", "fused").parse()?,
            resume: args.flag("resume"),
            out: PathBuf::from(args.string("out", "out/embryoid")),
        };
        let repeats: usize = args.get("repeats", if quick { 2 } else { 10 })?;
        let candidates: Vec<f64> = args.list(
            "select-eps",
            if quick { "0.1,0.4" } else { "0.1,0.2,0.4,0.8" },
        )?;
        if candidates.is_empty() || candidates.iter().any(|e| !(*e > 0.0 && e.is_finite())) {
            return Err("--select-eps: candidates must be finite and > 0".into());
        }
        if !(s.eps > 0.0 && s.eps.is_finite()) {
            return Err(
                format!("--eps must be finite and > 0 (entropic AM), got {}", s.eps).into(),
            );
        }
        if repeats == 0 || s.batch < 2 {
            return Err("--repeats ≥ 1 and --batch ≥ 2 are required".into());
        }
        std::fs::create_dir_all(&s.out).map_err(|e| format!("{}: {e}", s.out.display()))?;
        let (val, test) = load(args.values_get("data-dir"))?;
        if val.times().len() != 5 || test.times().len() != 5 {
            return Err(format!(
                "expected 5 time points in both splits, got {} and {}",
                val.times().len(),
                test.times().len()
            )
            .into());
        }
        println!("Embryoid body (NLSB preparation): train on val {:?} cells, evaluate on test {:?}; 5 standardised PCs", val.counts(), test.counts());
        if args.values_get("eps").is_none() {
            s.eps = select_eps(&val, &s, &candidates, repeats)?;
        }
        println!(
            "MLP {:?} SiLU; {} steps × batch {}, lr {}; ε = {}; {repeats} SDE repeats; seed {}",
            s.hidden, s.steps, s.batch, s.lr, s.eps, s.seed
        );

        // Table 1: one-step, all time points trained
        let started = std::time::Instant::now();
        let models = fit(&val, &s, "all")?;
        println!(
            "trained in {:.0} / {:.0} / {:.0} s (eAM / AM / OT-CFM)",
            models.seconds[0], models.seconds[1], models.seconds[2]
        );
        let ks = [1, 2, 3, 4];
        let (mut rows, shown) = evaluate(&models, &ks, &test, &s, repeats, |k, truth| {
            let x = val.tensor(k, DType::F32, &Device::Cpu)?;
            let x0 = test.tensor(k - 1, DType::F32, &Device::Cpu)?;
            let moved = ot_displacement(val.group(k - 1)?, val.group(k)?, 1.0, &x0)?;
            Ok(vec![
                (
                    "OT interpolation",
                    w1(&x, truth, None, None)?,
                    w2(&x, truth, None, None)?,
                ),
                (
                    "OT displacement",
                    w1(&moved, truth, None, None)?,
                    w2(&moved, truth, None, None)?,
                ),
            ])
        })?;
        for (name, v) in PAPER {
            rows.push((
                name.to_string(),
                v.iter().map(|&a| (a, 0.0, f64::NAN)).collect(),
            ));
        }
        let cols: Vec<String> = ks.iter().map(|k| format!("t{k}")).collect();
        print_table(
            "Table 1, one-step (test cells of t_{k−1} pushed to t_k; W1 = exact EMD with Euclidean cost, mean ± std over repeats; standardised units; paper rows: W1 from NLSB, no W2):",
            &cols,
            &rows,
        );
        let ours = |name: &str| {
            rows.iter()
                .find(|r| r.0 == name)
                .map(|r| r.1.iter().map(|c| c.0).sum::<f64>() / 4.0)
        };
        if let (Some(e), Some(a), Some(o)) = (
            ours("entropic AM (ours)"),
            ours("AM (ours)"),
            ours("OT interpolation"),
        ) {
            println!("mean W1: entropic AM {e:.3}, AM {a:.3}, OT interpolation {o:.3}");
        }
        println!("(one-step table: {:.0} s)", started.elapsed().as_secs_f64());
        plot(&test, &shown, &s.out.join("one_step.png"))?;

        // Table 2: leave one time point out
        if !args.flag("no-leave-out") {
            let started = std::time::Instant::now();
            let mut table: Table = Vec::new();
            for k in [1usize, 2, 3] {
                let (rest, t_k, _) = val.leave_out(k)?;
                let m = fit(&rest, &s, &format!("without_t{k}"))?;
                let interp = OtPairedPath::new(&rest)?;
                let tau = val.times();
                let fraction = (tau[k] - tau[k - 1]) / (tau[k + 1] - tau[k - 1]);
                let (rows, _) = evaluate(&m, &[k], &test, &s, repeats, |_, truth| {
                    let x0 = test.tensor(k - 1, DType::F32, &Device::Cpu)?;
                    let moved =
                        ot_displacement(val.group(k - 1)?, val.group(k + 1)?, fraction, &x0)?;
                    let (pts, mass) = interp.measure_at(t_k);
                    let n = mass.len();
                    let x = action_matching::core::rng::tensor_from_f64(
                        pts,
                        &[n, 5],
                        DType::F32,
                        &Device::Cpu,
                    )?;
                    let total: f64 = mass.iter().sum();
                    let w = action_matching::core::rng::tensor_from_f64(
                        mass.iter().map(|m| m / total).collect(),
                        &[n, 1],
                        DType::F32,
                        &Device::Cpu,
                    )?;
                    Ok(vec![
                        (
                            "OT interpolation",
                            w1(&x, truth, Some(&w), None)?,
                            w2(&x, truth, Some(&w), None)?,
                        ),
                        (
                            "OT displacement",
                            w1(&moved, truth, None, None)?,
                            w2(&moved, truth, None, None)?,
                        ),
                    ])
                })?;
                for (name, cells) in rows {
                    match table.iter_mut().find(|r| r.0 == name) {
                        Some(r) => r.1.extend(cells),
                        None => table.push((name, cells)),
                    }
                }
            }
            let cols: Vec<String> = [1, 2, 3].iter().map(|k| format!("t{k} left out")).collect();
            print_table(
                "Table 2, leave-one-out (trained without t_k; test cells of t_{k−1} pushed to t_k; not comparable with the paper):",
                &cols,
                &table,
            );
            println!(
                "(leave-one-out table: {:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
        println!(
            "wrote {}/one_step.png and the models' checkpoints",
            s.out.display()
        );
        Ok(())
    })
}
