//! The evaluation protocols of time-course models (Table 1; NLSB's protocol): test cells of
//! time point k − 1 pushed by a model to t_k and compared with the test cells of t_k by the
//! exact W1 (Euclidean cost) and W2, in the model's standardised coordinates, with model-free
//! baselines beside the model:
//!
//! - **identity**: the cells of t_{k−1} as they are;
//! - **mean shift**: the cells of t_{k−1} moved by the change of the training mean from t_{k−1}
//!   to t_k (interpolated linearly between t_{k−1} and t_{k+1} when t_k is left out);
//! - **OT interpolation**: the displacement interpolation (McCann) of the training cells of the
//!   neighbours at t_k, by the exact OT plan; when t_k is trained on, this is the training
//!   snapshot of t_k itself, so that row is the distance between the splits — a floor for any
//!   model of the training cells.
//!
//! One-step: every transition k = 1 … K − 1 of a model trained on all time points.
//! Leave-one-out: the transition into the time point k that a model trained without k left out.

use crate::snapshots::{Simulation, SnapshotModel};
use crate::{Error, Result};
use am_core::rng::tensor_from_f64;
use am_core::{DType, Device, Tensor};
use am_metrics::{w1, w2};
use am_paths::{OtPairedPath, Snapshots};

/// W1 and W2 of one prediction (mean and standard deviation over SDE repeats).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean W1.
    pub w1: f64,
    /// Standard deviation of W1 over repeats (0 for one draw).
    pub w1_sd: f64,
    /// Mean W2.
    pub w2: f64,
}

/// One evaluated transition t_{k−1} → t_k.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The target time point k.
    pub k: usize,
    /// Its raw time.
    pub time: f64,
    /// Whether the model was trained without it.
    pub left_out: bool,
    /// (method, score): the model first, then the baselines.
    pub scores: Vec<(String, Score)>,
}

/// How a model is pushed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalConfig {
    /// SDE repeats (1 for the ODE).
    pub repeats: usize,
    /// Integration steps per transition.
    pub steps: usize,
    /// SDE or ODE.
    pub simulation: Simulation,
    /// The seed of the SDE noise (repeat r of transition k uses seed + 100k + r).
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            repeats: 10,
            steps: 100,
            simulation: Simulation::Sde,
            seed: 0,
        }
    }
}

fn cells(s: &Snapshots, k: usize) -> Result<Tensor> {
    Ok(s.tensor(k, DType::F32, &Device::Cpu)?)
}

fn score(x: &Tensor, truth: &Tensor, weights: Option<&Tensor>) -> Result<Score> {
    Ok(Score {
        w1: w1(x, truth, weights, None)?,
        w1_sd: 0.0,
        w2: w2(x, truth, weights, None)?,
    })
}

/// Checks that train and test (model coordinates) share the model's dimension and time points.
fn check(model: &SnapshotModel, train: &Snapshots, test: &Snapshots) -> Result<()> {
    let d = model.mlp.config().dim;
    for (arg, s) in [("train", train), ("test", test)] {
        if s.dim() != d {
            return Err(Error::Argument {
                arg,
                reason: format!("{} has dimension {}, the model {d}", s.source(), s.dim()),
            });
        }
    }
    let (a, b) = (train.times(), test.times());
    if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-9) {
        return Err(Error::Argument {
            arg: "test",
            reason: format!(
                "its time points {:?} differ from the training data's {:?}",
                b.iter()
                    .map(|&u| model.preprocessing.time_from_model(u))
                    .collect::<Vec<_>>(),
                a.iter()
                    .map(|&u| model.preprocessing.time_from_model(u))
                    .collect::<Vec<_>>()
            ),
        });
    }
    if a.len() < 3 {
        return Err(Error::Argument {
            arg: "train",
            reason: format!("{} time points: the protocols need at least 3", a.len()),
        });
    }
    Ok(())
}

/// The model's prediction of transition k (test cells of k − 1 pushed to t_k).
pub fn model_score(
    model: &SnapshotModel,
    test: &Snapshots,
    k: usize,
    config: &EvalConfig,
) -> Result<Score> {
    let tau = test.times();
    let (x0, truth) = (cells(test, k - 1)?, cells(test, k)?);
    let stochastic = config.simulation == Simulation::Sde && model.dynamics.eps > 0.0;
    let repeats = if stochastic { config.repeats.max(1) } else { 1 };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..repeats {
        let seed = config.seed + 100 * k as u64 + r as u64;
        let x = model
            .simulate(
                &x0,
                tau[k - 1],
                tau[k],
                &[],
                config.steps,
                config.simulation,
                seed,
            )?
            .last()?;
        let s = score(&x, &truth, None)?;
        a.push(s.w1);
        b.push(s.w2);
    }
    let (w1, w1_sd) = mean_sd(&a);
    Ok(Score {
        w1,
        w1_sd,
        w2: mean_sd(&b).0,
    })
}

/// Mean and sample standard deviation (n − 1; 0 for a single value) of repeated scores.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    (m, s)
}

fn mean_of(s: &Snapshots, k: usize) -> Result<Vec<f64>> {
    let d = s.dim();
    let g = s.group(k)?;
    let n = (g.len() / d) as f64;
    Ok((0..d)
        .map(|j| g.chunks(d).map(|r| r[j]).sum::<f64>() / n)
        .collect())
}

/// The model-free baselines of transition k (see the module docs); `left_out`: t_k is not in
/// the training data the baselines may use.
pub fn baseline_scores(
    train: &Snapshots,
    test: &Snapshots,
    k: usize,
    left_out: bool,
) -> Result<Vec<(String, Score)>> {
    let d = train.dim();
    let tau = train.times();
    let truth = cells(test, k)?;
    let x0 = test.group(k - 1)?;
    let mut out = Vec::new();
    let n0 = x0.len() / d;
    let from = tensor_from_f64(x0.to_vec(), &[n0, d], DType::F32, &Device::Cpu)?;
    out.push(("identity".to_string(), score(&from, &truth, None)?));
    // the training mean at t_k (interpolated when t_k is left out)
    let (m0, mk) = if left_out {
        let (a, b) = (mean_of(train, k - 1)?, mean_of(train, k + 1)?);
        let f = (tau[k] - tau[k - 1]) / (tau[k + 1] - tau[k - 1]);
        let mk = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (1.0 - f) * x + f * y)
            .collect();
        (a, mk)
    } else {
        (mean_of(train, k - 1)?, mean_of(train, k)?)
    };
    let shifted: Vec<f64> = x0
        .chunks(d)
        .flat_map(|r| {
            r.iter()
                .zip(m0.iter().zip(&mk))
                .map(|(x, (a, b))| x + b - a)
                .collect::<Vec<_>>()
        })
        .collect();
    let shifted = tensor_from_f64(shifted, &[n0, d], DType::F32, &Device::Cpu)?;
    out.push(("mean shift".to_string(), score(&shifted, &truth, None)?));
    let interp = if left_out {
        let (rest, t_k, _) = train.leave_out(k)?;
        let (pts, mass) = OtPairedPath::new(&rest)?.measure_at(t_k);
        let n = mass.len();
        let total: f64 = mass.iter().sum();
        let x = tensor_from_f64(pts, &[n, d], DType::F32, &Device::Cpu)?;
        let w = tensor_from_f64(
            mass.iter().map(|m| m / total).collect(),
            &[n, 1],
            DType::F32,
            &Device::Cpu,
        )?;
        score(&x, &truth, Some(&w))?
    } else {
        score(&cells(train, k)?, &truth, None)?
    };
    out.push(("OT interpolation".to_string(), interp));
    Ok(out)
}

/// Evaluates `model` on `test` with the baselines from `train` (both in model coordinates, with
/// the model's time points): one-step on every transition if the model was trained on all time
/// points, or the transition into its left-out time point.
pub fn evaluate(
    model: &SnapshotModel,
    train: &Snapshots,
    test: &Snapshots,
    config: &EvalConfig,
) -> Result<Vec<Transition>> {
    check(model, train, test)?;
    let kt = train.times().len();
    let ks: Vec<usize> = match model.leave_out {
        Some(k) if k >= 1 && k + 1 < kt => vec![k],
        Some(k) => {
            return Err(Error::Argument {
                arg: "model",
                reason: format!(
                "it left out time point {k}, which the data's {kt} time points do not have inside"
            ),
            })
        }
        None => (1..kt).collect(),
    };
    let mut out = Vec::new();
    for k in ks {
        let left_out = model.leave_out == Some(k);
        let mut scores = vec![("model".to_string(), model_score(model, test, k, config)?)];
        scores.extend(baseline_scores(train, test, k, left_out)?);
        out.push(Transition {
            k,
            time: model.preprocessing.time_from_model(train.times()[k]),
            left_out,
            scores,
        });
    }
    Ok(out)
}
