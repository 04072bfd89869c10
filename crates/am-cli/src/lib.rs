//! # am-cli: the `am` command
//!
//! `am fit` trains (entropic / unbalanced) Action Matching on npz, csv or h5ad snapshots and
//! writes a self-describing model file; `am simulate` pushes cells through a saved model;
//! `am eval` runs the one-step and leave-one-out protocols with their baselines; `am info` says
//! what a model or checkpoint file holds. Everything it does is `am_train` library code; this
//! crate adds the arguments (clap), the progress bar (indicatif) and exit codes that say what
//! failed ([`Failure`]).

pub mod commands;
pub mod failure;
pub mod progress;

pub use failure::Failure;
