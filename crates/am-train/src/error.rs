//! Errors of am-train: the leaf crates' errors, a diverged step, and checkpoints that cannot be
//! resumed (with what is wrong, typed).

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong in training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, files, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// An error of the objectives (batch, configuration).
    #[error(transparent)]
    Objective(#[from] am_objectives::Error),
    /// An error of the models.
    #[error(transparent)]
    Model(#[from] am_models::Error),
    /// An error of the data readers or paths (naming the file, key, row and column).
    #[error(transparent)]
    Data(#[from] am_paths::DataError),
    /// An error of the paths.
    #[error(transparent)]
    Path(#[from] am_paths::Error),
    /// An error of the solvers.
    #[error(transparent)]
    Solver(#[from] am_solvers::Error),
    /// An error of the metrics.
    #[error(transparent)]
    Metric(#[from] am_metrics::Error),
    /// An argument of a glue function is invalid.
    #[error("{arg}: {reason}")]
    Argument {
        /// The argument (or command-line option).
        arg: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A figure could not be drawn or written.
    #[error("figure `{path}`: {reason}")]
    Figure {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A caller's callback failed (e.g. the training run that `protocol::select_eps` calls):
    /// its message.
    #[error("{0}")]
    Callback(String),
    /// A step produced a non-finite loss or gradient: the parameters of the step before are kept.
    #[error("step {step}: the loss is {loss} and ‖∇θ‖ = {grad_norm}: training diverged; the parameters of step {} are kept{}", step - 1, checkpoint.as_ref().map(|p| format!("; the last good checkpoint is {p}")).unwrap_or_default())]
    NonFinite {
        /// The step that failed (1-based).
        step: u64,
        /// Its loss (NaN when only the gradient was non-finite and the loss was not reported).
        loss: f64,
        /// Its gradient norm.
        grad_norm: f64,
        /// The last checkpoint written, if any.
        checkpoint: Option<String>,
    },
    /// The processes of a data-parallel run cannot communicate or disagree (MPI missing,
    /// unequal settings across ranks).
    #[error("data-parallel training: {0}")]
    Collective(String),
    /// Another rank of a data-parallel run failed at this step (its own error is reported by
    /// that rank); every rank stops here, with parameters and moments of the step before.
    #[error("step {step}: {failed} of {ranks} ranks failed (see their own messages); every rank stops with the parameters of step {}", step - 1)]
    PeerFailed {
        /// The step that failed (1-based).
        step: u64,
        /// How many ranks failed.
        failed: usize,
        /// The number of ranks.
        ranks: usize,
    },
    /// A checkpoint cannot be resumed by this run.
    #[error("checkpoint `{path}`: {problem}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong.
        problem: CheckpointProblem,
    },
}

/// Why a checkpoint cannot be resumed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointProblem {
    /// It was written by another layout (or is not a trainer checkpoint at all).
    #[error("schema `{found}` is not `{expected}` (written by another version, or not a trainer checkpoint)")]
    Schema {
        /// The schema in the file (`none` when absent).
        found: String,
        /// The schema this build reads.
        expected: &'static str,
    },
    /// A part of the configuration differs from this run's.
    #[error("it was written by another {part} ({fields}):\n  checkpoint: {checkpoint}\n  this run:   {run}")]
    Mismatch {
        /// Which part: `training configuration`, `model`, `engine` or `run configuration`.
        part: &'static str,
        /// The fields that differ, e.g. `adam.lr: 0.001 → 0.01`.
        fields: String,
        /// The checkpoint's value.
        checkpoint: String,
        /// This run's value.
        run: String,
    },
    /// It was written by a data-parallel run of another number of ranks.
    #[error("it was written by a run of {saved} rank(s); this run has {now}: resume with {saved}")]
    Ranks {
        /// The number of ranks that wrote it.
        saved: usize,
        /// This run's.
        now: usize,
    },
    /// An entry is missing or malformed.
    #[error("{0}")]
    Corrupt(String),
}

impl Error {
    pub(crate) fn checkpoint(path: &str, problem: CheckpointProblem) -> Self {
        Error::Checkpoint {
            path: path.to_string(),
            problem,
        }
    }
}

impl From<am_core::candle::Error> for Error {
    fn from(e: am_core::candle::Error) -> Self {
        Error::Core(e.into())
    }
}
