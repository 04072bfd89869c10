//! snapshots: learn the dynamics of your own time-course data (cells sequenced at a few time
//! points, or any samples of time marginals) with (entropic) Action Matching.
//!
//! `--data cells.npz --x-key X --t-key day`, `--data cells.csv --time-column day` or (built with
//! `--features h5ad`) `--data cells.h5ad --obsm X_pca --t-key day` loads the snapshots (errors name the file, key, row and column); `--dims K` keeps the first K dimensions
//! (e.g. PCs); the data are standardised with their own mean and standard deviation. Between the
//! time points the path is the OT-paired path (with Brownian-bridge noise of the same ε when
//! ε > 0) or, with `--path mixture`, the mixture of neighbouring snapshots. The training loop
//! watches for divergence (an objective running off to −∞ when neighbouring snapshots barely
//! overlap) and says so plainly. Outputs in `--out`:
//! - `trajectories.npz`: `times` (K), `x` (K, N, D) — the first time point's cells pushed through
//!   the learned dynamics (SDE when ε > 0), in the standardised coordinates, with `mean` and
//!   `std` to map back (x·std + mean);
//! - `trajectories.png`: the first two dimensions, snapshots coloured by time, and trajectories;
//! - `model.safetensors`: the self-describing model file (configuration, standardisation, time
//!   mapping and ε in its metadata), which `SnapshotModel::load` and `Mlp::load` rebuild alone;
//! - `checkpoint.safetensors`: the training state, which `--resume` continues.
//!
//! `--leave-out k` trains without the interior time point k and predicts it from time point
//! k − 1 (W1 and W2 against the held-out cells). Without `--data` the tool runs on built-in
//! synthetic snapshots (a branching process, 5 time points), so `--quick` works anywhere.

mod common;

use action_matching::core::{DType, Device, GradientField};
use action_matching::metrics::{w1, w2};
use action_matching::models::FusedMlp;
use action_matching::paths::branching::{branching_snapshots, BranchingConfig};
use action_matching::paths::data::npy::write_npz;
use action_matching::paths::Snapshots;
use action_matching::solvers::{integrate_weighted, Method, OdeConfig};
use action_matching::train::snapshots::{
    FitConfig, Masses, Simulation, SnapshotFit, SnapshotSource,
};
use std::path::{Path, PathBuf};

const HELP: &str = "snapshots: Action Matching on your own time-course snapshots

USAGE: cargo run --release --example snapshots -- [OPTIONS]

DATA:
  --data FILE           .npz, .csv or .h5ad (h5ad: build with --features h5ad)
                        (default: built-in synthetic branching snapshots)
  --x-key K             npz: the samples array, (N, D) (default X)
  --t-key K             npz: the time labels, (N,); h5ad: the obs column (default t)
  --obsm K              h5ad: samples from obsm/K (e.g. X_pca) instead of X
  --time-column C       csv: the time column, by header name or 0-based index (default t)
  --no-header           csv: the first row is data
  --dims K              keep the first K dimensions (default: all)
  --leave-out K         train without interior time point K and predict it from K − 1

MODEL AND TRAINING:
  --eps E               diffusion ε (default 0: deterministic AM; > 0: entropic AM)
  --lambda L            growth weight λ of unbalanced AM (default 0)
  --masses M            per-time masses for unbalanced AM (needs --lambda > 0): `counts` (cells
                        per time point) or m0,m1,... (e.g. total cell numbers of the samples)
  --path P              ot (default) or mixture
  --hidden W,W,...      hidden widths (default 256,256,256)
  --steps N             training steps (default 4000; --quick: 30)
  --batch N             samples per term and step (default 256)
  --lr R                learning rate (default 1e-3)
  --seed N              random seed (default 0)
  --engine E            fused (default) or generic
  --out DIR             output folder (default out/snapshots)
  --resume              continue from the checkpoint in --out
  --quick               a smoke run of a few seconds (what CI runs)
  --help                this text";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn load(args: &common::args::Args) -> Res<Snapshots> {
    let Some(file) = args.values_get("data") else {
        println!("no --data: using synthetic branching snapshots (5 time points × 200 cells)");
        return Ok(branching_snapshots(BranchingConfig::default(), 7)?);
    };
    let source = SnapshotSource {
        x_key: args.string("x-key", "X"),
        t_key: args.string("t-key", "t"),
        obsm: args.values_get("obsm"),
        time_column: args.string("time-column", "t"),
        header: !args.flag("no-header"),
        ..SnapshotSource::new(file)
    };
    Ok(source.load()?)
}

fn fit_config(args: &common::args::Args, quick: bool) -> Res<FitConfig> {
    let steps: u64 = args.get("steps", if quick { 30 } else { 4000 })?;
    let mut c = FitConfig::new(steps);
    c.eps = args.get("eps", 0.0)?;
    c.lambda = args.get("lambda", 0.0)?;
    c.path = args
        .string("path", "ot")
        .parse()
        .map_err(|e| format!("--path: {e}"))?;
    c.hidden = args.list("hidden", "256,256,256")?;
    c.engine = args
        .string("engine", "fused")
        .parse()
        .map_err(|e| format!("--engine: {e}"))?;
    c.dims = args
        .values_get("dims")
        .map(|k| k.parse())
        .transpose()
        .map_err(|_| "--dims: not a count")?;
    c.leave_out = args
        .values_get("leave-out")
        .map(|k| k.parse())
        .transpose()
        .map_err(|_| "--leave-out: not an index")?;
    c.masses = match args.values_get("masses") {
        Some(m) if m == "counts" => Some(Masses::Counts),
        Some(_) => Some(Masses::Values(args.list("masses", "")?)),
        None => None,
    };
    c.model_seed = args.get("seed", 0)?;
    c.train.seed = c.model_seed + 1;
    c.train.batch = args.get("batch", 256)?;
    c.train.adam.lr = args.get("lr", 1e-3)?;
    c.validate()?;
    Ok(c)
}

fn main() {
    common::run(|| {
        let args = common::args::Args::parse(HELP, &["quick", "resume", "no-header"])?;
        let config = fit_config(&args, args.flag("quick"))?;
        let out = PathBuf::from(args.string("out", "out/snapshots"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let raw = load(&args)?;
        let run = format!(
            r#"{{"data":{:?}}}"#,
            args.values_get("data").unwrap_or_default()
        );
        let (eps, lambda, seed) = (config.eps, config.lambda, config.model_seed);
        let mut fit = SnapshotFit::new(&raw, config.clone(), &run)?;
        if let Some(n) = &fit.engine_note {
            println!("({n})");
        }
        let (data, d) = (fit.data.clone(), fit.data.dim());
        println!(
            "{} time points {:?}, cells {:?}, D = {d}; ε = {eps}, λ = {lambda}, path {:?}, {} steps, engine {:?}",
            raw.times().len(), raw.times(), data.counts(), config.path, config.train.steps,
            action_matching::train::Engine::kind(fit.trainer.engine())
        );
        let options = common::trainer::checkpoints(
            out.join("checkpoint.safetensors"),
            1000,
            args.flag("resume"),
        );
        let report = common::trainer::fit(
            &mut fit.trainer,
            fit.marginals.as_ref(),
            config.train.steps,
            &options,
            "AM",
        )?;
        println!(
            "trained {} steps in {:.1} s ({:.1} ms/step), last loss {:+.4}",
            report.steps,
            report.seconds,
            1e3 * report.seconds / report.steps.max(1) as f64,
            report.last_loss
        );
        let model = fit.model()?;
        model.save(&out.join("model.safetensors"))?;

        // the first time point's cells pushed to every later one (SDE when ε > 0)
        let tau = data.times().to_vec();
        let x0 = data.tensor(0, DType::F32, &Device::Cpu)?;
        let pushed = model.push_first(&data, Simulation::Sde, seed + 2)?;
        println!("\n| time | W2 (pushed from the first time point vs the snapshot) |\n|---|---|");
        for (w, &t) in pushed.w2.iter().zip(&tau[1..]) {
            println!("| {:.3} | {w:.4} |", model.preprocessing.time_from_model(t));
        }
        if let Some(k) = config.leave_out {
            let prev = data.tensor(k - 1, DType::F32, &Device::Cpu)?;
            let pushed = model
                .simulate(
                    &prev,
                    tau[k - 1],
                    tau[k],
                    &[],
                    100,
                    Simulation::Sde,
                    seed + 3,
                )?
                .last()?;
            let truth = data.tensor(k, DType::F32, &Device::Cpu)?;
            println!(
                "\nleave-out: time point {k} (t = {:.3}) predicted from time point {}: W1 = {:.4}, W2 = {:.4} (standardised units)",
                raw.times()[k], k - 1, w1(&pushed, &truth, None, None)?, w2(&pushed, &truth, None, None)?
            );
        }
        if let Some(m) = data.masses() {
            // the mass carried by weighted particles (Eq. 18–19, ODE) against the given masses
            let fused = FusedMlp::<f32>::from_mlp(&model.mlp)?;
            let growth = GradientField::new(&fused).with_growth(lambda)?;
            let ode = OdeConfig {
                method: Method::Rk4,
                steps: 100,
            };
            let wt = integrate_weighted(&growth, &x0, None, 0.0, 1.0, ode, &tau[1..])?;
            println!("\n| time | given mass m_k/m_0 | weighted particles' mass (mean w){} |\n|---|---|---|",
                if eps > 0.0 { " (ODE: weights without the noise)" } else { "" });
            for (k, &t) in tau.iter().enumerate().skip(1) {
                let lw: Vec<f32> = wt.log_w.get(k - 1)?.flatten_all()?.to_vec1()?;
                let mass = lw.iter().map(|v| (*v as f64).exp()).sum::<f64>() / lw.len() as f64;
                println!("| {t:.3} | {:.3} | {mass:.3} |", m[k] / m[0]);
            }
        }
        write_outputs(&out, &data, &model.preprocessing, &pushed.trajectory)
    });
}

/// trajectories.npz and trajectories.png.
fn write_outputs(
    out: &Path,
    data: &Snapshots,
    pre: &action_matching::train::snapshots::Preprocessing,
    traj: &action_matching::solvers::Trajectory,
) -> Res<()> {
    let d = data.dim();
    // the saved times, raw
    let times_all: Vec<f32> = traj
        .times
        .iter()
        .map(|&u| pre.time_from_model(u) as f32)
        .collect();
    let states: Vec<f32> = traj.states.flatten_all()?.to_vec1()?;
    let (kk, nn) = (traj.states.dim(0)?, traj.states.dim(1)?);
    let mean: Vec<f32> = pre.mean.iter().map(|&v| v as f32).collect();
    let std: Vec<f32> = pre.std.iter().map(|&v| v as f32).collect();
    let npz = out.join("trajectories.npz");
    write_npz(
        &npz,
        &[
            ("times", vec![kk], &times_all),
            ("x", vec![kk, nn, d], &states),
            ("mean", vec![d], &mean),
            ("std", vec![d], &std),
        ],
    )?;
    // the figure: PCs 1–2 of the standardised cells for D > 2, with axes, legend and title
    let title = format!("{}: snapshots and learned trajectories", data.source());
    action_matching::train::figures::snapshot_figure(
        &out.join("trajectories.png"),
        &title,
        data,
        pre,
        traj,
    )?;
    println!(
        "\nwrote {} (times: raw, x: (K, N, D) standardised; mean, std to map back), {}/trajectories.png, the model {}/model.safetensors and the checkpoint",
        npz.display(), out.display(), out.display()
    );
    Ok(())
}
