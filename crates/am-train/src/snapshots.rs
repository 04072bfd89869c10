//! Action Matching on time-course snapshots (cells sequenced at a few time points): the glue
//! shared by `am fit`, the snapshots example and a user's crate.
//!
//! - [`Preprocessing`]: raw cells → the model's coordinates (the first `dims` columns,
//!   standardised with the training cells' mean and standard deviation) and raw times → [0, 1]
//!   (first training time → 0, last → 1); saved in the model file, so that a model is used on
//!   raw data without the training set;
//! - [`SnapshotModel`]: the action s_θ(t, x), its preprocessing and the dynamics it was trained
//!   for (ε of entropic AM, Eq. 13; λ of unbalanced AM, Eq. 20/69), in one self-describing file;
//! - [`FitConfig`] and [`SnapshotFit`]: the path between time points (OT-paired with Brownian-
//!   bridge noise ε, or the mixture of neighbours), the objective, and a [`Trainer`] on them.

use crate::engine::{EngineChoice, MlpEngine};
use crate::{Error, Result, RunOptions, RunSummary, StepReport, TrainConfig, Trainer};
use am_core::{DType, Device, Diffusion, Marginals, SeededRng};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig, TimeWeight};
use am_paths::data::preprocess::Standardizer;
use am_paths::{MixturePath, OtPairedPath, Snapshots};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Raw data ↔ the model's coordinates; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Columns kept (the first `dims` of the raw data).
    pub dims: usize,
    /// Per-column mean of the training cells.
    pub mean: Vec<f64>,
    /// Per-column standard deviation of the training cells (population).
    pub std: Vec<f64>,
    /// The raw time mapped to 0.
    pub t_first: f64,
    /// The raw time mapped to 1.
    pub t_last: f64,
}

impl Preprocessing {
    /// Fits on `train` (all time points pooled), keeping the first `dims` columns (all by default).
    pub fn fit(train: &Snapshots, dims: Option<usize>) -> Result<Self> {
        let dims = dims.unwrap_or(train.dim());
        let kept = train.first_dims(dims)?;
        let s = Standardizer::fit(&kept)?;
        let times = train.times();
        if times.len() < 2 {
            return Err(Error::Argument {
                arg: "data",
                reason: format!(
                    "{} time point(s): Action Matching needs at least 2",
                    times.len()
                ),
            });
        }
        Ok(Self {
            dims,
            mean: s.mean,
            std: s.std,
            t_first: times[0],
            t_last: times[times.len() - 1],
        })
    }

    /// Checks the fields (lengths, finiteness, positive deviations, t_first < t_last), e.g. of a
    /// file's metadata.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::Argument {
            arg: "preprocessing",
            reason,
        };
        if self.dims == 0 || self.mean.len() != self.dims || self.std.len() != self.dims {
            return Err(bad(format!(
                "dims {} with {} means and {} deviations",
                self.dims,
                self.mean.len(),
                self.std.len()
            )));
        }
        if self.mean.iter().any(|v| !v.is_finite())
            || self.std.iter().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return Err(bad("non-finite mean or non-positive deviation".into()));
        }
        if !(self.t_first.is_finite() && self.t_last.is_finite() && self.t_first < self.t_last) {
            return Err(bad(format!(
                "times {} → 0 and {} → 1 do not span an interval",
                self.t_first, self.t_last
            )));
        }
        Ok(())
    }

    /// A raw time in model time.
    pub fn time_to_model(&self, t: f64) -> f64 {
        (t - self.t_first) / (self.t_last - self.t_first)
    }

    /// A model time in raw time.
    pub fn time_from_model(&self, u: f64) -> f64 {
        self.t_first + u * (self.t_last - self.t_first)
    }

    /// Raw snapshots (at least `dims` columns) in model coordinates and model time.
    pub fn apply(&self, raw: &Snapshots) -> Result<Snapshots> {
        if raw.dim() < self.dims {
            return Err(Error::Argument {
                arg: "data",
                reason: format!(
                    "{} has {} columns; the model needs the first {}",
                    raw.source(),
                    raw.dim(),
                    self.dims
                ),
            });
        }
        let s = Standardizer {
            mean: self.mean.clone(),
            std: self.std.clone(),
        };
        let kept = s.apply(&raw.first_dims(self.dims)?)?;
        let times: Vec<f64> = raw.times().iter().map(|&t| self.time_to_model(t)).collect();
        Ok(kept.with_time_values(&times)?)
    }

    /// Model coordinates back to raw ones, row-major `(N, dims)` in place.
    pub fn to_raw(&self, x: &mut [f64]) {
        for row in x.chunks_mut(self.dims) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
    }

    /// Raw rows `(N, ≥ dims)` with `columns` columns into model coordinates `(N, dims)`.
    pub fn rows_to_model(&self, x: &[f64], columns: usize) -> Result<Vec<f64>> {
        if columns < self.dims || columns == 0 || !x.len().is_multiple_of(columns) {
            return Err(Error::Argument {
                arg: "cells",
                reason: format!(
                    "{} values in rows of {columns}; the model needs at least {} columns",
                    x.len(),
                    self.dims
                ),
            });
        }
        Ok(x.chunks(columns)
            .flat_map(|r| {
                r[..self.dims]
                    .iter()
                    .zip(&self.mean)
                    .zip(&self.std)
                    .map(|((v, m), s)| (v - m) / s)
            })
            .collect())
    }
}

/// The dynamics a model was trained for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Dynamics {
    /// Diffusion ε of entropic AM (0: deterministic), in model units: dX = ∇s dt + ε dW.
    pub eps: f64,
    /// Growth weight λ of unbalanced AM (0: none).
    pub lambda: f64,
}

/// A trained action with its preprocessing and dynamics; see the module docs.
#[derive(Debug, Clone)]
pub struct SnapshotModel {
    /// The action s_θ(t, x) in model coordinates and time.
    pub mlp: Mlp,
    /// Raw data ↔ model coordinates.
    pub preprocessing: Preprocessing,
    /// What it was trained for.
    pub dynamics: Dynamics,
    /// The interior time point left out of training (leave-one-out), if any.
    pub leave_out: Option<usize>,
    /// Free description of the training run (data file, times, counts, steps), as JSON.
    pub trained_on: String,
}

const PREPROCESSING: &str = "preprocessing";
const DYNAMICS: &str = "dynamics";
const TRAINED_ON: &str = "trained_on";
const LEAVE_OUT: &str = "leave_out";

impl SnapshotModel {
    /// Writes the self-describing model file (kind `mlp`; preprocessing, dynamics and run in
    /// its `user.*` metadata).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut user = BTreeMap::new();
        user.insert(PREPROCESSING.to_string(), crate::json(&self.preprocessing));
        user.insert(DYNAMICS.to_string(), crate::json(&self.dynamics));
        user.insert(TRAINED_ON.to_string(), self.trained_on.clone());
        user.insert(LEAVE_OUT.to_string(), crate::json(&self.leave_out));
        self.mlp.save_with(path, &user)?;
        Ok(())
    }

    /// Reads a file written by [`SnapshotModel::save`]; a model file without the snapshot
    /// metadata (e.g. an `Mlp` saved alone) fails with a typed error naming what is missing.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let (mlp, user) = Mlp::load_with_metadata(path, device)?;
        let missing = |key: &'static str| am_core::ModelFileError::MissingKey(key).at(path);
        let parse = |key: &'static str| -> Result<&String> {
            user.get(key).ok_or_else(|| missing(key).into())
        };
        let bad = |key: &str, e: serde_json::Error| -> Error {
            am_core::ModelFileError::BadConfig(format!("`user.{key}`: {e}"))
                .at(path)
                .into()
        };
        let preprocessing: Preprocessing =
            serde_json::from_str(parse(PREPROCESSING)?).map_err(|e| bad(PREPROCESSING, e))?;
        preprocessing
            .validate()
            .map_err(|e| Error::from(am_core::ModelFileError::BadConfig(e.to_string()).at(path)))?;
        let dynamics: Dynamics =
            serde_json::from_str(parse(DYNAMICS)?).map_err(|e| bad(DYNAMICS, e))?;
        if preprocessing.dims != mlp.config().dim {
            return Err(am_core::ModelFileError::BadConfig(format!(
                "the preprocessing keeps {} columns, the model takes {}",
                preprocessing.dims,
                mlp.config().dim
            ))
            .at(path)
            .into());
        }
        let leave_out: Option<usize> =
            serde_json::from_str(parse(LEAVE_OUT)?).map_err(|e| bad(LEAVE_OUT, e))?;
        Ok(Self {
            mlp,
            preprocessing,
            dynamics,
            leave_out,
            trained_on: user.get(TRAINED_ON).cloned().unwrap_or_default(),
        })
    }

    /// The diffusion to simulate with (`None` for ε = 0).
    pub fn diffusion(&self) -> Diffusion {
        if self.dynamics.eps > 0.0 {
            Diffusion::Constant {
                eps: self.dynamics.eps,
            }
        } else {
            Diffusion::None
        }
    }
}

/// How particles are pushed through a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Simulation {
    /// dX = ∇s dt + ε dW (Euler–Maruyama) with the model's ε; the ODE when ε = 0.
    Sde,
    /// dX = ∇s dt (RK4), whatever ε the model was trained with.
    Ode,
}

impl SnapshotModel {
    /// [`SnapshotModel::simulate`] spread over the ranks of `collective`: the particles in
    /// fixed chunks of `chunk`, chunk c's SDE noise from `SeededRng::for_shard(seed, 0, c)`, so
    /// the trajectory is the same on any number of ranks (for the ODE, the same as `simulate`'s).
    /// Its `nfe` is that of this rank's last chunk (0 on a rank without one).
    #[allow(clippy::too_many_arguments)]
    pub fn simulate_in(
        &self,
        collective: &dyn crate::Collective,
        x0: &am_core::Tensor,
        t0: f64,
        t1: f64,
        save_at: &[f64],
        steps: usize,
        how: Simulation,
        seed: u64,
        chunk: usize,
    ) -> Result<am_solvers::Trajectory> {
        let (n, d) = x0.dims2()?;
        if n == 0 {
            return self.simulate(x0, t0, t1, save_at, steps, how, seed);
        }
        // the saved times, from one particle and one step
        let times = self
            .simulate(
                &x0.narrow(0, 0, 1)?,
                t0,
                t1,
                save_at,
                1,
                Simulation::Ode,
                seed,
            )?
            .times;
        let k = times.len();
        let mut nfe = 0;
        // per particle: its K saved states
        let flat = crate::parallel::map_chunks(collective, n, chunk, k * d, |c, r| {
            let mut rng = SeededRng::for_shard(seed, 0, c as u64);
            let part = self.simulate_with(
                &x0.narrow(0, r.start, r.len())?,
                t0,
                t1,
                save_at,
                steps,
                how,
                &mut rng,
            )?;
            nfe = part.nfe;
            Ok(part
                .states
                .transpose(0, 1)?
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?)
        })?;
        let states = am_core::Tensor::from_vec(flat, (n, k, d), &Device::Cpu)?
            .transpose(0, 1)?
            .contiguous()?
            .to_dtype(DType::F32)?;
        Ok(am_solvers::Trajectory {
            times,
            states,
            nfe,
            steps,
            rejected: 0,
        })
    }

    /// Pushes `x0` `(N, D)` (model coordinates) from model time `t0` to `t1` with `steps` steps,
    /// saving the particles at `save_at` (model times in (t0, t1], in order; t1 is appended when
    /// absent); the SDE draws from `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn simulate(
        &self,
        x0: &am_core::Tensor,
        t0: f64,
        t1: f64,
        save_at: &[f64],
        steps: usize,
        how: Simulation,
        seed: u64,
    ) -> Result<am_solvers::Trajectory> {
        self.simulate_with(x0, t0, t1, save_at, steps, how, &mut SeededRng::new(seed))
    }

    #[allow(clippy::too_many_arguments)]
    fn simulate_with(
        &self,
        x0: &am_core::Tensor,
        t0: f64,
        t1: f64,
        save_at: &[f64],
        steps: usize,
        how: Simulation,
        rng: &mut SeededRng,
    ) -> Result<am_solvers::Trajectory> {
        let fused = am_models::FusedMlp::<f32>::from_mlp(&self.mlp);
        let action: &dyn am_core::Action = match &fused {
            Ok(f) => f,
            Err(_) => &self.mlp,
        };
        let field = am_core::GradientField::new(action);
        let x0 = x0.to_dtype(DType::F32)?;
        Ok(match (how, self.diffusion()) {
            (Simulation::Sde, d @ Diffusion::Constant { .. }) => {
                am_solvers::euler_maruyama(&field, d, &x0, t0, t1, steps, save_at, rng)?
            }
            _ => am_solvers::integrate(
                &field,
                &x0,
                t0,
                t1,
                am_solvers::OdeConfig {
                    method: am_solvers::Method::Rk4,
                    steps,
                },
                save_at,
            )?,
        })
    }
}

/// The first time point's cells pushed through a model to every later one (how well it
/// reproduces the training marginals), on a grid fine enough to draw the trajectories.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Saved at `grid`: 50 even steps of [0, 1] and every time point.
    pub trajectory: am_solvers::Trajectory,
    /// The saved model times.
    pub grid: Vec<f64>,
    /// W2 between the pushed cells and the snapshot, for time points 1, 2, … (model units).
    pub w2: Vec<f64>,
}

impl SnapshotModel {
    /// Pushes the cells of time point 0 of `data` (model coordinates) to t = 1 with 300 steps of
    /// `how`, saving on [`Pushed::grid`], and measures W2 at every later time point.
    pub fn push_first(&self, data: &Snapshots, how: Simulation, seed: u64) -> Result<Pushed> {
        let tau = data.times();
        let x0 = data.tensor(0, DType::F32, &Device::Cpu)?;
        let mut grid: Vec<f64> = (1..=50)
            .map(|k| k as f64 / 50.0)
            .chain(tau[1..].iter().copied())
            .collect();
        grid.sort_by(|a, b| a.total_cmp(b));
        grid.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        let trajectory = self.simulate(&x0, 0.0, 1.0, &grid, 300, how, seed)?;
        let mut w2 = Vec::with_capacity(tau.len() - 1);
        for (k, &t) in tau.iter().enumerate().skip(1) {
            let g = grid
                .iter()
                .position(|&v| (v - t).abs() < 1e-12)
                .unwrap_or(0);
            let truth = data.tensor(k, DType::F32, &Device::Cpu)?;
            w2.push(am_metrics::w2(&trajectory.at(g)?, &truth, None, None)?);
        }
        Ok(Pushed {
            trajectory,
            grid,
            w2,
        })
    }
}

/// The path between the time points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PathKind {
    /// OT-paired neighbours joined by Brownian bridges of the run's ε (straight lines for ε = 0).
    #[default]
    Ot,
    /// The mixture (1 − s)·q_k + s·q_{k+1} of neighbouring snapshots.
    Mixture,
}

impl std::str::FromStr for PathKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ot" => Ok(PathKind::Ot),
            "mixture" => Ok(PathKind::Mixture),
            o => Err(format!("`{o}` is neither `ot` nor `mixture`")),
        }
    }
}

/// Per-time masses of unbalanced AM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Masses {
    /// The number of cells of each time point.
    Counts,
    /// Given masses (e.g. total cell numbers of the samples), one per time point.
    Values(Vec<f64>),
}

/// Everything `am fit` takes besides the data; [`FitConfig::validate`] names the field at fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Keep the first `dims` columns (all by default).
    pub dims: Option<usize>,
    /// Diffusion ε (0: deterministic AM, Eq. 7; > 0: entropic AM, Eq. 13).
    pub eps: f64,
    /// Growth weight λ (0: none; > 0: unbalanced AM, Eq. 20/69).
    pub lambda: f64,
    /// Per-time masses (needs λ > 0).
    pub masses: Option<Masses>,
    /// The path between time points.
    pub path: PathKind,
    /// Hidden widths of the MLP.
    pub hidden: Vec<usize>,
    /// The seed of the initial parameters.
    pub model_seed: u64,
    /// Train without interior time point k (leave-one-out).
    pub leave_out: Option<usize>,
    /// The engine.
    pub engine: EngineChoice,
    /// The training run.
    pub train: TrainConfig,
}

impl FitConfig {
    /// The snapshots tool's defaults: 3 × 256 SiLU, OT path, `steps` steps of 256, lr 1e-3.
    pub fn new(steps: u64) -> Self {
        Self {
            dims: None,
            eps: 0.0,
            lambda: 0.0,
            masses: None,
            path: PathKind::Ot,
            hidden: vec![256, 256, 256],
            model_seed: 0,
            leave_out: None,
            engine: EngineChoice::Fused,
            train: TrainConfig {
                seed: 1,
                ..TrainConfig::new(steps, 256, 1e-3)
            },
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        let arg = |arg: &'static str, reason: String| Err(Error::Argument { arg, reason });
        if !(self.eps >= 0.0 && self.eps.is_finite()) {
            return arg("eps", format!("must be finite and ≥ 0, got {}", self.eps));
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return arg(
                "lambda",
                format!("must be finite and ≥ 0, got {}", self.lambda),
            );
        }
        if self.masses.is_some() && self.lambda == 0.0 {
            return arg(
                "masses",
                "per-time masses need unbalanced AM: give lambda > 0 as well".into(),
            );
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return arg(
                "hidden",
                "needs at least one layer, each of width ≥ 1".into(),
            );
        }
        if self.dims == Some(0) {
            return arg("dims", "must be ≥ 1".into());
        }
        self.train.validate()?;
        Ok(())
    }

    /// The objective: AM, entropic, unbalanced, mass-weighted by the training data's masses.
    pub fn objective(&self, train: &Snapshots) -> Result<ActionMatching> {
        let config = AmConfig {
            diffusion: if self.eps > 0.0 {
                Diffusion::Constant { eps: self.eps }
            } else {
                Diffusion::None
            },
            growth: self.lambda,
            // per-time masses relative to the first training time point (Eq. 20 on ρ = m·q̂)
            weight: match train.masses() {
                Some(m) => TimeWeight::Mass {
                    times: train.times().to_vec(),
                    masses: m.iter().map(|v| v / m[0]).collect(),
                },
                None => TimeWeight::One,
            },
            ..Default::default()
        };
        Ok(ActionMatching::new(config)?)
    }
}

/// The path of `kind` between the time points of `data` (bridge noise `eps` on the OT path).
pub fn training_path(data: &Snapshots, kind: PathKind, eps: f64) -> Result<Box<dyn Marginals>> {
    Ok(match kind {
        PathKind::Ot => Box::new(OtPairedPath::new(data)?.with_bridge_noise(eps)?),
        PathKind::Mixture => Box::new(MixturePath::new(data)),
    })
}

/// A fit in progress: the prepared data, its path and the trainer; see the module docs.
pub struct SnapshotFit {
    /// The trainer (its model is in model coordinates).
    pub trainer: Trainer<MlpEngine>,
    /// The path it trains on.
    pub marginals: Box<dyn Marginals>,
    /// Raw → model coordinates.
    pub preprocessing: Preprocessing,
    /// Every time point in model coordinates (the left-out one included).
    pub data: Snapshots,
    /// What it trains on (without the left-out time point).
    pub train_data: Snapshots,
    /// Why the fused engine fell back, if it did.
    pub engine_note: Option<String>,
    config: FitConfig,
}

impl SnapshotFit {
    /// Prepares a fit of `raw` (any time values; at least 2 time points, 3 to leave one out).
    /// `run` describes the run in checkpoints (e.g. the data file and keys, as JSON).
    pub fn new(raw: &Snapshots, config: FitConfig, run: &str) -> Result<Self> {
        config.validate()?;
        let preprocessing = Preprocessing::fit(raw, config.dims)?;
        Self::with_preprocessing(raw, preprocessing, config, run)
    }

    /// Prepares a fit of `raw` in the coordinates of a given `preprocessing` (fitted on other
    /// cells, e.g. all training cells when only a part of them is trained on); its `dims` must
    /// match `config.dims` when that is set.
    pub fn with_preprocessing(
        raw: &Snapshots,
        preprocessing: Preprocessing,
        config: FitConfig,
        run: &str,
    ) -> Result<Self> {
        config.validate()?;
        preprocessing.validate()?;
        if config.dims.is_some_and(|d| d != preprocessing.dims) {
            return Err(Error::Argument {
                arg: "dims",
                reason: format!(
                    "the configuration keeps {:?} dimensions, the preprocessing {}",
                    config.dims, preprocessing.dims
                ),
            });
        }
        let mut data = preprocessing.apply(raw)?;
        if let Some(m) = &config.masses {
            let masses: Vec<f64> = match m {
                Masses::Counts => data.counts().iter().map(|&c| c as f64).collect(),
                Masses::Values(v) => v.clone(),
            };
            data = data.with_masses(&masses)?;
        }
        let train_data = match config.leave_out {
            Some(k) => data.leave_out(k)?.0,
            None => data.clone(),
        };
        let marginals = training_path(&train_data, config.path, config.eps)?;
        let objective = config.objective(&train_data)?;
        let model = Mlp::new(
            MlpConfig {
                dim: data.dim(),
                hidden: config.hidden.clone(),
                ..Default::default()
            },
            &mut SeededRng::new(config.model_seed),
            DType::F32,
            &Device::Cpu,
        )?;
        let (engine, engine_note) =
            MlpEngine::new(model, &objective, config.train.adam, config.engine)?;
        let identity = serde_json::json!({
            "run": serde_json::from_str::<serde_json::Value>(run).unwrap_or(run.into()),
            "fit": {
                "dims": config.dims, "eps": config.eps, "lambda": config.lambda,
                "masses": config.masses, "path": config.path, "leave_out": config.leave_out,
            },
        });
        let trainer = Trainer::new(engine, objective, config.train.clone())?
            .with_run_config(identity.to_string());
        Ok(Self {
            trainer,
            marginals,
            preprocessing,
            data,
            train_data,
            engine_note,
            config,
        })
    }

    /// Trains data-parallel in `collective`'s group (see [`Trainer::with_collective`]: needs
    /// `train.shards` when there is more than one rank).
    pub fn with_collective(
        mut self,
        collective: std::sync::Arc<dyn crate::Collective>,
    ) -> Result<Self> {
        self.trainer = self.trainer.with_collective(collective)?;
        Ok(self)
    }

    /// Trains to the configured steps (resuming and checkpointing as `options` say).
    pub fn run(
        &mut self,
        options: &RunOptions,
        on_step: impl FnMut(&StepReport),
    ) -> Result<RunSummary> {
        self.trainer.run(self.marginals.as_ref(), options, on_step)
    }

    /// The trained model with its preprocessing and dynamics (the EMA parameters when kept).
    pub fn model(&mut self) -> Result<SnapshotModel> {
        let mlp = self.trainer.ema_model()?;
        Ok(SnapshotModel {
            mlp,
            preprocessing: self.preprocessing.clone(),
            dynamics: Dynamics {
                eps: self.config.eps,
                lambda: self.config.lambda,
            },
            leave_out: self.config.leave_out,
            trained_on: self.trainer_run(),
        })
    }

    fn trainer_run(&self) -> String {
        serde_json::json!({
            "source": self.data.source(),
            "times": self.data.times().iter().map(|&u| self.preprocessing.time_from_model(u)).collect::<Vec<_>>(),
            "counts": self.data.counts(),
            "leave_out": self.config.leave_out,
            "steps": self.trainer.step_count(),
        })
        .to_string()
    }
}

/// Where snapshots come from: a file, read by its extension (`.npz`, `.csv`, `.h5ad` with the
/// `h5ad` feature), with the keys that name its arrays or columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSource {
    /// The file.
    pub path: std::path::PathBuf,
    /// npz: the samples array `(N, D)`.
    pub x_key: String,
    /// npz: the time labels `(N,)`; h5ad: the obs column.
    pub t_key: String,
    /// h5ad: samples from `obsm/<key>` instead of `X`.
    pub obsm: Option<String>,
    /// csv: the time column, by header name or 0-based index.
    pub time_column: String,
    /// csv: whether the first row is a header.
    pub header: bool,
}

impl SnapshotSource {
    /// A source with the default keys (`X`, `t`; csv column `t` with a header).
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self {
            path: path.into(),
            x_key: "X".into(),
            t_key: "t".into(),
            obsm: None,
            time_column: "t".into(),
            header: true,
        }
    }

    /// Reads and validates the snapshots (errors name the file, key, row and column).
    pub fn load(&self) -> Result<Snapshots> {
        let path = self.path.as_path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        Ok(match ext {
            "npz" => Snapshots::from_npz(path, &self.x_key, &self.t_key)?,
            "csv" => {
                use am_paths::data::csv::{read_csv, CsvSpec, TimeColumn};
                let time = match self.time_column.parse::<usize>() {
                    Ok(i) => TimeColumn::Index(i),
                    Err(_) => TimeColumn::Name(self.time_column.clone()),
                };
                let spec = CsvSpec {
                    header: self.header,
                    time,
                    drop_bad_rows: false,
                };
                read_csv(path, &spec)?.0
            }
            #[cfg(feature = "h5ad")]
            "h5ad" => {
                use am_paths::data::h5ad::{read_h5ad, H5adMatrix};
                let matrix = match &self.obsm {
                    Some(key) => H5adMatrix::Obsm(key.clone()),
                    None => H5adMatrix::X,
                };
                read_h5ad(path, &matrix, &self.t_key)?
            }
            #[cfg(not(feature = "h5ad"))]
            "h5ad" => {
                return Err(Error::Argument {
                    arg: "data",
                    reason: format!(
                        "{}: .h5ad needs the `h5ad` feature (and the system HDF5 library)",
                        path.display()
                    ),
                })
            }
            other => {
                return Err(Error::Argument {
                    arg: "data",
                    reason: format!(
                        "{}: unknown extension `{other}` (npz, csv or h5ad)",
                        path.display()
                    ),
                })
            }
        })
    }
}
