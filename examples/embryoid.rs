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
//! The protocol, the baselines and the choice of ε are library code (`am_train::protocol`,
//! `am_train::snapshots`; `am eval` prints the same tables); this file trains the three models
//! and lays out the tables.
//!
//! `cargo run --release --example embryoid` (≈ 15 min on 2 cores); `--quick` for a smoke run;
//! `--data-dir ../shared/data/eb` reads the full 100-PC files instead of the embedded 5-PC copy
//! (the same numbers: standardisation is per dimension).

mod common;

use action_matching::core::{DType, Device, Diffusion, SeededRng, Tensor};
use action_matching::models::{MlpConfig, VectorMlp};
use action_matching::objectives::flow_matching_loss;
use action_matching::paths::{OtPairedPath, Snapshots};
use action_matching::train::protocol::{
    baseline_scores, field_score, markdown_table, model_score, select_eps, EvalConfig, Score,
    Transition,
};
use action_matching::train::snapshots::{FitConfig, Simulation, SnapshotFit, SnapshotModel};
use action_matching::train::{EngineChoice, TrainConfig};
use common::trainer::{checkpoints, train_vector};
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

/// The raw training (validation split) and test snapshots.
fn load(dir: Option<String>) -> Res<(Snapshots, Snapshots)> {
    Ok(match &dir {
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
    })
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
    repeats: usize,
    out: PathBuf,
}

impl Setup {
    /// The fit of an AM model: 5 standardised PCs, the OT-paired path with bridge noise ε.
    fn fit_config(&self, eps: f64, leave_out: Option<usize>) -> FitConfig {
        FitConfig {
            dims: Some(5),
            eps,
            hidden: self.hidden.clone(),
            model_seed: self.seed,
            leave_out,
            engine: self.engine,
            train: TrainConfig {
                seed: self.seed + 1,
                ..TrainConfig::new(self.steps, self.batch, self.lr)
            },
            ..FitConfig::new(self.steps)
        }
    }

    fn eval(&self) -> EvalConfig {
        EvalConfig {
            repeats: self.repeats,
            seed: self.seed,
            ..Default::default()
        }
    }
}

/// Runs a prepared fit with the progress display and a checkpoint named by `name`.
fn run_fit(fit: &mut SnapshotFit, s: &Setup, name: &str) -> Res<f64> {
    if let Some(n) = &fit.engine_note {
        println!("({name}: {n})");
    }
    let options = checkpoints(s.out.join(format!("{name}.safetensors")), 1000, s.resume);
    let (trainer, marginals) = (&mut fit.trainer, fit.marginals.as_ref());
    Ok(common::trainer::fit(trainer, marginals, s.steps, &options, name)?.seconds)
}

/// The learned models of one training set, in the coordinates of `data` (every training time
/// point, model coordinates).
struct Models {
    eam: SnapshotModel,
    am: SnapshotModel,
    cfm: VectorMlp,
    data: Snapshots,
    seconds: [f64; 3],
}

/// Trains eAM (Eq. 13, ε), AM (Eq. 7) and OT-CFM (the straight OT path's velocities) on `raw`,
/// without time point `leave_out` if given; `tag` names the checkpoints.
fn fit(raw: &Snapshots, s: &Setup, leave_out: Option<usize>, tag: &str) -> Res<Models> {
    let mut seconds = [0.0; 3];
    let mut eam = SnapshotFit::new(
        raw,
        s.fit_config(s.eps, leave_out),
        r#"{"example":"embryoid"}"#,
    )?;
    seconds[0] = run_fit(&mut eam, s, &format!("eAM_{tag}"))?;
    let mut am = SnapshotFit::new(
        raw,
        s.fit_config(0.0, leave_out),
        r#"{"example":"embryoid"}"#,
    )?;
    seconds[1] = run_fit(&mut am, s, &format!("AM_{tag}"))?;
    let config = MlpConfig {
        dim: 5,
        hidden: s.hidden.clone(),
        ..Default::default()
    };
    let cfm = VectorMlp::new(
        config,
        &mut SeededRng::new(s.seed),
        DType::F32,
        &Device::Cpu,
    )?;
    let saved = s.out.join(format!("OT-CFM_{tag}.safetensors"));
    if s.resume && saved.exists() {
        cfm.load_parameters(&saved)?;
    } else {
        let path = OtPairedPath::new(&eam.train_data)?;
        let mut rng = SeededRng::new(s.seed + 1);
        let vars = action_matching::core::VectorModel::parameters(&cfm);
        let label = format!("OT-CFM {tag}");
        seconds[2] = train_vector(vars, s.steps, s.lr, &label, &mut rng, |_, rng| {
            let t: Vec<f64> = (0..s.batch).map(|_| rng.uniform()).collect();
            let (x, u) = path.sample_with_velocity(&t, rng, DType::F32, &Device::Cpu)?;
            let t32: Vec<f32> = t.iter().map(|&v| v as f32).collect();
            let tt = Tensor::from_vec(t32, (s.batch, 1), &Device::Cpu)?;
            Ok(flow_matching_loss(&cfm, &tt, &x, &u)?)
        })?;
        cfm.save(&saved)?;
    }
    Ok(Models {
        eam: eam.model()?,
        am: am.model()?,
        data: eam.data.clone(),
        cfm,
        seconds,
    })
}

/// The transitions `ks` of the models against the test cells (raw), with the baselines.
fn evaluate(m: &Models, ks: &[usize], test_raw: &Snapshots, s: &Setup) -> Res<Vec<Transition>> {
    let test = m.eam.preprocessing.apply(test_raw)?;
    let config = s.eval();
    let mut out = Vec::new();
    for &k in ks {
        let left_out = m.eam.leave_out == Some(k);
        let mut scores = vec![
            (
                "entropic AM (ours)".to_string(),
                model_score(&m.eam, &test, k, &config)?,
            ),
            (
                "AM (ours)".to_string(),
                model_score(&m.am, &test, k, &config)?,
            ),
            (
                "OT-CFM (ours)".to_string(),
                field_score(&m.cfm, Diffusion::None, &test, k, &config)?,
            ),
        ];
        scores.extend(baseline_scores(&m.data, &test, k, left_out)?);
        let time = m.eam.preprocessing.time_from_model(test.times()[k]);
        out.push(Transition {
            k,
            time,
            left_out,
            scores,
        });
    }
    Ok(out)
}

/// Test cells by day bin (light) and eAM's one-step predictions (dark), standardised PCs 1–2.
fn plot(model: &SnapshotModel, test_raw: &Snapshots, path: &Path) -> Res<()> {
    use action_matching::train::figures::{points, ramp, scatter_with_paths, Group, Labels, Rgb};
    let test = model.preprocessing.apply(test_raw)?;
    let (tau, k) = (test.times(), test.times().len());
    let light = |c: Rgb| {
        let f = |v: u8| (v as f64 * 0.45 + 140.0) as u8;
        Rgb(f(c.0), f(c.1), f(c.2))
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
    for j in 1..k {
        let x0 = test.tensor(j - 1, DType::F32, &Device::Cpu)?;
        let x = model.simulate(
            &x0,
            tau[j - 1],
            tau[j],
            &[],
            100,
            Simulation::Sde,
            100 * j as u64,
        )?;
        groups.push(Group {
            label: format!("eAM from bin {} to bin {j}", j - 1),
            points: points(&x.last()?, (0, 1))?,
            color: ramp(j, k),
        });
    }
    let labels = Labels {
        title: "Embryoid body: eAM one-step predictions of held-out test cells",
        x: "PC 1 (standardised)",
        y: "PC 2 (standardised)",
    };
    Ok(scatter_with_paths(path, &labels, &groups, &[], "")?)
}

/// Chooses ε on a held-out 20 % of the training cells (`protocol::select_eps`), printing the trials.
fn choose_eps(val: &Snapshots, s: &Setup, candidates: &[f64]) -> Res<f64> {
    let base = s.fit_config(candidates[0], None);
    let mut eval = s.eval();
    eval.seed += 7;
    let selection = select_eps(
        val,
        &base,
        candidates,
        0.2,
        s.seed + 5,
        &eval,
        |fit, eps| {
            run_fit(fit, s, &format!("eAM_select_eps{eps}"))
                .map(|_| ())
                .map_err(|e| action_matching::train::Error::Argument {
                    arg: "select-eps",
                    reason: e.to_string(),
                })
        },
    )?;
    println!(
        "\nε chosen on a held-out 20 % of the training cells ({:?} cells per time point):",
        selection.held_counts
    );
    println!("| ε | mean W1, held-out one-step |\n|---|---|");
    for t in &selection.trials {
        println!("| {} | {:.4} |", t.eps, t.mean_w1);
    }
    println!("chosen: ε = {}", selection.chosen);
    Ok(selection.chosen)
}

/// Table 1: one-step, all time points trained, with the paper's rows (W1 only).
fn one_step(val: &Snapshots, test: &Snapshots, s: &Setup) -> Res<()> {
    let started = std::time::Instant::now();
    let models = fit(val, s, None, "all")?;
    println!(
        "trained in {:.0} / {:.0} / {:.0} s (eAM / AM / OT-CFM)",
        models.seconds[0], models.seconds[1], models.seconds[2]
    );
    let mut rows = evaluate(&models, &[1, 2, 3, 4], test, s)?;
    for (j, row) in rows.iter_mut().enumerate() {
        for (name, v) in PAPER {
            let published = Score {
                w1: v[j],
                w1_sd: 0.0,
                w2: f64::NAN,
            };
            row.scores.push((name.to_string(), published));
        }
    }
    println!("\n{}", markdown_table("Table 1, one-step (test cells of t_{k−1} pushed to t_k; W1 = exact EMD with Euclidean cost, mean ± sd over repeats; standardised units; paper rows: W1 from NLSB, no W2):", &rows));
    println!("(one-step table: {:.0} s)", started.elapsed().as_secs_f64());
    plot(&models.eam, test, &s.out.join("one_step.png"))
}

/// Table 2: leave t1, t2, t3 out in turn (TrajectoryNet/torchcfm's protocol).
fn leave_one_out(val: &Snapshots, test: &Snapshots, s: &Setup) -> Res<()> {
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    for k in [1usize, 2, 3] {
        let m = fit(val, s, Some(k), &format!("without_t{k}"))?;
        rows.extend(evaluate(&m, &[k], test, s)?);
    }
    println!("\n{}", markdown_table("Table 2, leave-one-out (trained without t_k; test cells of t_{k−1} pushed to t_k; not comparable with the paper):", &rows));
    println!(
        "(leave-one-out table: {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "no-leave-out"])?;
        let quick = args.flag("quick");
        let mut s = Setup {
            steps: args.get("steps", if quick { 20 } else { 3000 })?,
            batch: args.get("batch", 256)?,
            hidden: args.list("hidden", "256,256,256")?,
            lr: args.get("lr", 1e-3)?,
            eps: args.get("eps", 0.1)?,
            seed: args.get("seed", 0)?,
            engine: args.string("engine", "fused").parse()?,
            resume: args.flag("resume"),
            repeats: args.get("repeats", if quick { 2 } else { 10 })?,
            out: PathBuf::from(args.string("out", "out/embryoid")),
        };
        let default_candidates = if quick { "0.1,0.4" } else { "0.1,0.2,0.4,0.8" };
        let candidates: Vec<f64> = args.list("select-eps", default_candidates)?;
        if !(s.eps > 0.0 && s.eps.is_finite()) {
            return Err(
                format!("--eps must be finite and > 0 (entropic AM), got {}", s.eps).into(),
            );
        }
        if s.repeats == 0 || s.batch < 2 || candidates.is_empty() {
            return Err(
                "--repeats ≥ 1, --batch ≥ 2 and at least one --select-eps candidate are required"
                    .into(),
            );
        }
        std::fs::create_dir_all(&s.out).map_err(|e| format!("{}: {e}", s.out.display()))?;
        let (val, test) = load(args.values_get("data-dir"))?;
        if val.times().len() != 5 || test.times().len() != 5 {
            let (a, b) = (val.times().len(), test.times().len());
            return Err(format!("Table 1 has 5 time points; the splits have {a} and {b} (`am eval` takes any number)").into());
        }
        println!("Embryoid body (NLSB preparation): train on val {:?} cells, evaluate on test {:?}; 5 standardised PCs", val.counts(), test.counts());
        if args.values_get("eps").is_none() {
            s.eps = choose_eps(&val, &s, &candidates)?;
        }
        println!(
            "MLP {:?} SiLU; {} steps × batch {}, lr {}; ε = {}; {} SDE repeats; seed {}",
            s.hidden, s.steps, s.batch, s.lr, s.eps, s.repeats, s.seed
        );
        one_step(&val, &test, &s)?;
        if !args.flag("no-leave-out") {
            leave_one_out(&val, &test, &s)?;
        }
        println!(
            "wrote {}/one_step.png and the models' checkpoints",
            s.out.display()
        );
        Ok(())
    })
}
