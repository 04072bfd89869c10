//! `am simulate`: cells pushed through a saved model to chosen times, written as npz.

use super::data::DataArgs;
use crate::failure::{CliError, Failure};
use am_core::rng::tensor_from_f64;
use am_core::{DType, Device};
use am_paths::data::npy::write_npz;
use am_train::snapshots::{Simulation, SnapshotModel};
use clap::Args;
use std::path::PathBuf;

/// `am simulate` options.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The model file (`am fit --out`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The snapshots.
    #[command(flatten)]
    pub data: DataArgs,
    /// The raw time whose cells start (default: the model's first training time).
    #[arg(long, value_name = "T")]
    pub from: Option<f64>,
    /// Raw times to save, after --from (default: the data's later time points).
    #[arg(long, value_delimiter = ',', value_name = "T,T,...")]
    pub to: Vec<f64>,
    /// The deterministic flow (RK4) even for a model trained with ε > 0.
    #[arg(long)]
    pub ode: bool,
    /// Integration steps from --from to the last time.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub steps: usize,
    /// The seed of the SDE noise.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// The npz to write: `times` (K,), `x` (K, N, D) in raw units (the kept columns), `x_model`
    /// (K, N, D) standardised, `start` (N, D) raw.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

fn usage(msg: String) -> CliError {
    CliError::new(Failure::Usage, msg)
}

/// Runs `am simulate`.
pub fn run(a: SimulateArgs) -> Result<(), CliError> {
    let model = SnapshotModel::load(&a.model, &Device::Cpu)?;
    let pre = &model.preprocessing;
    let (raw, _) = a.data.load()?;
    let from = a.from.unwrap_or(pre.t_first);
    let k0 = raw
        .times()
        .iter()
        .position(|&t| (t - from).abs() <= 1e-9 * (1.0 + t.abs()))
        .ok_or_else(|| {
            usage(format!(
                "--from {from}: {} has no cells at that time (its times: {:?})",
                a.data.data.display(),
                raw.times()
            ))
        })?;
    let to: Vec<f64> = if a.to.is_empty() {
        raw.times()[k0 + 1..].to_vec()
    } else {
        a.to.clone()
    };
    if to.is_empty() {
        return Err(usage(format!("--to: no time after --from {from}")));
    }
    let (lo, hi) = (pre.t_first, pre.t_last);
    let mut prev = from;
    for &t in &to {
        if !(t > prev && t >= lo && t <= hi) {
            return Err(usage(format!(
                "--to: {t} must increase after --from {from} and lie in the model's time span [{lo}, {hi}]"
            )));
        }
        prev = t;
    }
    if a.steps == 0 {
        return Err(usage("--steps must be ≥ 1".into()));
    }
    let d = pre.dims;
    let cells = pre.rows_to_model(raw.group(k0)?, raw.dim())?;
    let n = cells.len() / d;
    let x0 = tensor_from_f64(cells, &[n, d], DType::F32, &Device::Cpu)?;
    let marks: Vec<f64> = to.iter().map(|&t| pre.time_to_model(t)).collect();
    let how = if a.ode {
        Simulation::Ode
    } else {
        Simulation::Sde
    };
    let u0 = pre.time_to_model(from);
    let traj = model.simulate(
        &x0,
        u0,
        marks[marks.len() - 1],
        &marks,
        a.steps,
        how,
        a.seed,
    )?;
    let k = traj.times.len();
    let x_model: Vec<f64> = traj.states.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mut x_raw = x_model.clone();
    pre.to_raw(&mut x_raw);
    let mut start: Vec<f64> = raw
        .group(k0)?
        .chunks(raw.dim())
        .flat_map(|r| r[..d].to_vec())
        .collect();
    start.truncate(n * d);
    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let times: Vec<f32> = traj
        .times
        .iter()
        .map(|&u| pre.time_from_model(u) as f32)
        .collect();
    write_npz(
        &a.out,
        &[
            ("times", vec![k], &times),
            ("x", vec![k, n, d], &f(&x_raw)),
            ("x_model", vec![k, n, d], &f(&x_model)),
            ("start", vec![n, d], &f(&start)),
        ],
    )
    .map_err(|e| super::output(&a.out, e))?;
    let kind = match (how, model.dynamics.eps > 0.0) {
        (Simulation::Sde, true) => format!("SDE, ε = {}", model.dynamics.eps),
        _ => "ODE (RK4)".to_string(),
    };
    println!(
        "pushed {n} cells of t = {from} to t = {:?} ({kind}, {} steps); wrote {}",
        to,
        a.steps,
        a.out.display()
    );
    Ok(())
}
