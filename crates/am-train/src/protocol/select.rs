//! Choosing ε of entropic AM from the training cells alone.
//!
//! The held-out AM loss cannot rank ε: each ε defines its own objective (the gap minus K_ε, a
//! constant that depends on ε). What can be compared across ε is the protocol's own measure:
//! how well a model trained on part of the training cells pushes the rest of them one step.

use super::{model_score, EvalConfig};
use crate::snapshots::{FitConfig, Preprocessing, SnapshotFit};
use crate::{Error, Result};
use am_paths::Snapshots;

/// One candidate ε of [`select_eps`].
#[derive(Debug, Clone, PartialEq)]
pub struct EpsTrial {
    /// The candidate.
    pub eps: f64,
    /// W1 of each one-step transition k = 1 … K − 1 on the held-out cells (mean over repeats).
    pub w1: Vec<f64>,
    /// Their mean: the selection criterion.
    pub mean_w1: f64,
}

/// What [`select_eps`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct EpsSelection {
    /// Every candidate, in the order given.
    pub trials: Vec<EpsTrial>,
    /// The candidate with the least mean W1 (the first of equals).
    pub chosen: f64,
    /// Held-out cells per time point.
    pub held_counts: Vec<usize>,
}

/// Chooses ε of entropic AM (Eq. 13) without the test cells. The training cells `raw` of every
/// time point are split (`held_fraction` held out, by `split_seed`); the preprocessing is fitted
/// on all of them, so every candidate works in the same coordinates. For each candidate, `base`
/// with that ε is fitted on the rest — `train` runs the fit (the caller's progress display and
/// checkpoints; `SnapshotFit::run`; its failure passes through, e.g. as `Error::Callback`) — and
/// pushes the held-out cells of t_{k−1} to t_k for every
/// k as [`model_score`] does; the least mean W1 wins.
pub fn select_eps(
    raw: &Snapshots,
    base: &FitConfig,
    candidates: &[f64],
    held_fraction: f64,
    split_seed: u64,
    eval: &EvalConfig,
    mut train: impl FnMut(&mut SnapshotFit, f64) -> Result<()>,
) -> Result<EpsSelection> {
    let arg = |arg, reason: String| Error::Argument { arg, reason };
    if candidates.is_empty() {
        return Err(arg("candidates", "no candidate ε given".into()));
    }
    if let Some(bad) = candidates.iter().find(|e| !(e.is_finite() && **e > 0.0)) {
        return Err(arg(
            "candidates",
            format!("ε = {bad} is not finite and > 0"),
        ));
    }
    if base.leave_out.is_some() {
        return Err(arg(
            "leave_out",
            "ε is chosen on every transition: fit without leaving a time point out".into(),
        ));
    }
    if raw.times().len() < 2 {
        return Err(arg(
            "data",
            format!("{} time points: at least 2 are needed", raw.times().len()),
        ));
    }
    let preprocessing = Preprocessing::fit(raw, base.dims)?;
    let (fit_raw, held_raw) = raw.split(held_fraction, split_seed)?;
    let held = preprocessing.apply(&held_raw)?;
    let mut trials = Vec::with_capacity(candidates.len());
    for &eps in candidates {
        let config = FitConfig {
            eps,
            ..base.clone()
        };
        let run = serde_json::json!({
            "select_eps": eps, "held_fraction": held_fraction, "split_seed": split_seed,
        })
        .to_string();
        let mut fit =
            SnapshotFit::with_preprocessing(&fit_raw, preprocessing.clone(), config, &run)?;
        train(&mut fit, eps)?;
        let model = fit.model()?;
        let w1 = (1..held.times().len())
            .map(|k| Ok(model_score(&model, &held, k, eval)?.w1))
            .collect::<Result<Vec<f64>>>()?;
        let mean_w1 = w1.iter().sum::<f64>() / w1.len() as f64;
        trials.push(EpsTrial { eps, w1, mean_w1 });
    }
    let chosen = trials
        .iter()
        .min_by(|a, b| a.mean_w1.total_cmp(&b.mean_w1))
        .map_or(candidates[0], |t| t.eps);
    Ok(EpsSelection {
        trials,
        chosen,
        held_counts: held.counts(),
    })
}
