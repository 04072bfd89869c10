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
//!   model of the training cells;
//! - **OT displacement**: a trajectory without a model: each cell of t_{k−1} moves by the
//!   barycentric OT displacement T(a) − a of its nearest training cell a, from the training cells
//!   of t_{k−1} to those of t_k (a fraction (t_k − t_{k−1})/(t_{k+1} − t_{k−1}) of the displacement
//!   to t_{k+1} when t_k is left out).
//!
//! [`markdown_table`] formats the results; [`select_eps`] chooses ε of entropic AM on a held-out
//! part of the training cells.
//!
//! One-step: every transition k = 1 … K − 1 of a model trained on all time points.
//! Leave-one-out: the transition into the time point k that a model trained without k left out.

mod baselines;
mod select;
mod table;

pub use baselines::baseline_scores;
pub use select::{select_eps, EpsSelection, EpsTrial};
pub use table::markdown_table;

use crate::snapshots::{Simulation, SnapshotModel};
use crate::{Error, Result};
use am_core::{DType, Device, Diffusion, GradientField, SeededRng, Tensor, VelocityField};
use am_metrics::{w1, w2};
use am_paths::Snapshots;

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

pub(crate) fn cells(s: &Snapshots, k: usize) -> Result<Tensor> {
    Ok(s.tensor(k, DType::F32, &Device::Cpu)?)
}

pub(crate) fn score(x: &Tensor, truth: &Tensor, weights: Option<&Tensor>) -> Result<Score> {
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

/// The prediction of transition k by any velocity field: the test cells of k − 1 pushed from
/// t_{k−1} to t_k by dX = v dt + ε_t dW (Euler–Maruyama, `config.repeats` repeats) or, for
/// ε ≡ 0, by dX = v dt (RK4, one run), `config.steps` steps each.
pub fn field_score(
    field: &dyn VelocityField,
    diffusion: Diffusion,
    test: &Snapshots,
    k: usize,
    config: &EvalConfig,
) -> Result<Score> {
    let tau = test.times();
    if k == 0 || k >= tau.len() {
        return Err(Error::Argument {
            arg: "k",
            reason: format!("transition into {k} of {} time points", tau.len()),
        });
    }
    let (x0, truth) = (cells(test, k - 1)?, cells(test, k)?);
    let stochastic = match diffusion {
        Diffusion::None => false,
        Diffusion::Constant { eps } | Diffusion::Decaying { eps } => eps > 0.0,
    };
    let repeats = if stochastic { config.repeats.max(1) } else { 1 };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..repeats {
        let (t0, t1) = (tau[k - 1], tau[k]);
        let x = if stochastic {
            let mut rng = SeededRng::new(config.seed + 100 * k as u64 + r as u64);
            am_solvers::euler_maruyama(field, diffusion, &x0, t0, t1, config.steps, &[], &mut rng)?
        } else {
            let ode = am_solvers::OdeConfig {
                method: am_solvers::Method::Rk4,
                steps: config.steps,
            };
            am_solvers::integrate(field, &x0, t0, t1, ode, &[])?
        }
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

/// The model's prediction of transition k (test cells of k − 1 pushed to t_k): its gradient
/// field with its ε (the SDE), or the ODE when `config.simulation` says so.
pub fn model_score(
    model: &SnapshotModel,
    test: &Snapshots,
    k: usize,
    config: &EvalConfig,
) -> Result<Score> {
    let fused = am_models::FusedMlp::<f32>::from_mlp(&model.mlp);
    let action: &dyn am_core::Action = match &fused {
        Ok(f) => f,
        Err(_) => &model.mlp,
    };
    let diffusion = match config.simulation {
        Simulation::Sde => model.diffusion(),
        Simulation::Ode => Diffusion::None,
    };
    field_score(&GradientField::new(action), diffusion, test, k, config)
}

/// Mean and sample standard deviation (n − 1; 0 for a single value) of repeated scores.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    (m, s)
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
