//! The subcommands; each takes its clap arguments and returns what failed, typed.

pub mod data;
pub mod eval;
pub mod fit;
pub mod info;
pub mod simulate;

use crate::failure::{CliError, Failure};
use clap::{Parser, Subcommand};

/// Action Matching on time-course snapshots: learn the dynamics from samples of the time
/// marginals (Neklyudov et al., ICML 2023).
#[derive(Debug, Parser)]
#[command(name = "am", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
// parsed once per process: the size of the largest variant does not matter
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Train (entropic / unbalanced) Action Matching on snapshots and write a model file.
    Fit(fit::FitArgs),
    /// Push cells through a saved model to chosen times (SDE or ODE) and write npz.
    Simulate(simulate::SimulateArgs),
    /// One-step or leave-one-out W1/W2 of saved models against held-out cells, with baselines.
    Eval(eval::EvalArgs),
    /// Say what a model or checkpoint file holds.
    Info(info::InfoArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Fit(a) => fit::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Info(a) => info::run(a),
    }
}

/// An output error naming the file.
pub(crate) fn output(path: &std::path::Path, e: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Output, format!("{}: {e}", path.display()))
}
