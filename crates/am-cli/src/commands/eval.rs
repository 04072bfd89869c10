//! `am eval`: one-step and leave-one-out W1/W2 of saved models against held-out cells, with the
//! identity, mean-shift, OT-interpolation and OT-displacement baselines (`am_train::protocol`).

use super::data::DataArgs;
use crate::failure::{CliError, Failure};
use am_core::Device;
use am_train::protocol::{evaluate, markdown_table, EvalConfig, Transition};
use am_train::snapshots::{Simulation, SnapshotModel};
use clap::Args;
use std::path::PathBuf;

/// `am eval` options.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Model files (`am fit --out`); a model trained with --leave-out K is evaluated on the
    /// transition into K, one trained on all time points on every transition.
    #[arg(long, required = true, value_name = "FILE")]
    pub model: Vec<PathBuf>,
    /// The training cells (the baselines use them) — with --split, the same options as `fit`.
    #[command(flatten)]
    pub data: DataArgs,
    /// The held-out cells (same keys as --data); or use --split.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// SDE repeats per transition (models with ε > 0).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub repeats: usize,
    /// Integration steps per transition.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub steps: usize,
    /// The deterministic flow even for models trained with ε > 0.
    #[arg(long)]
    pub ode: bool,
    /// The seed of the SDE noise.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
}

fn print_table(name: &str, rows: &[Transition]) {
    println!("\n{}", markdown_table(name, rows));
}

/// Runs `am eval`.
pub fn run(a: EvalArgs) -> Result<(), CliError> {
    let (train_raw, split_test) = a.data.load()?;
    let test_raw = match (&a.test, split_test) {
        (Some(file), None) => a.data.source(file).load()?,
        (None, Some(t)) => t,
        (Some(_), Some(_)) => {
            return Err(CliError::new(
                Failure::Usage,
                "give either --test or --split, not both",
            ))
        }
        (None, None) => {
            return Err(CliError::new(
                Failure::Usage,
                "held-out cells are needed: --test FILE or --split FRACTION",
            ))
        }
    };
    if a.repeats == 0 || a.steps == 0 {
        return Err(CliError::new(
            Failure::Usage,
            "--repeats and --steps must be ≥ 1",
        ));
    }
    let config = EvalConfig {
        repeats: a.repeats,
        steps: a.steps,
        simulation: if a.ode {
            Simulation::Ode
        } else {
            Simulation::Sde
        },
        seed: a.seed,
    };
    println!(
        "train {} cells {:?}, test {:?}; W1 = exact EMD (Euclidean cost), W2 exact; in each model's standardised units",
        a.data.data.display(),
        train_raw.counts(),
        test_raw.counts()
    );
    let mut left_out = Vec::new();
    for path in &a.model {
        let model = SnapshotModel::load(path, &Device::Cpu)?;
        let train = model.preprocessing.apply(&train_raw)?;
        let test = model.preprocessing.apply(&test_raw)?;
        let rows = evaluate(&model, &train, &test, &config)?;
        let how = match (config.simulation, model.dynamics.eps > 0.0) {
            (Simulation::Sde, true) => format!(
                "SDE ε = {}, mean ± sd over {} repeats",
                model.dynamics.eps, a.repeats
            ),
            _ => "ODE".to_string(),
        };
        let kind = if model.leave_out.is_some() {
            "leave-one-out"
        } else {
            "one-step"
        };
        print_table(
            &format!(
                "{} — {kind}, test cells of t_(k−1) pushed to t_k ({how}):",
                path.display()
            ),
            &rows,
        );
        if model.leave_out.is_some() {
            left_out.extend(rows);
        }
    }
    if left_out.len() > 1 {
        left_out.sort_by_key(|r| r.k);
        print_table("leave-one-out, all models:", &left_out);
    }
    Ok(())
}
