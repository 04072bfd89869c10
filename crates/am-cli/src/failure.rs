//! Exit codes that say what failed.

/// What failed, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Anything else (1).
    Other = 1,
    /// Bad arguments (2, as clap's own usage errors).
    Usage = 2,
    /// An input data file is missing, malformed or invalid (3).
    Data = 3,
    /// A model file is missing, foreign or damaged (4).
    Model = 4,
    /// Training diverged: a non-finite loss or gradient (5).
    Diverged = 5,
    /// A checkpoint cannot be resumed by this run (6).
    Checkpoint = 6,
    /// Writing an output failed (7).
    Output = 7,
}

/// An error with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// What failed.
    pub failure: Failure,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    /// An error of the given kind.
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        Self {
            failure,
            message: message.into(),
        }
    }
}

fn core_failure(e: &am_core::Error) -> Failure {
    match e {
        am_core::Error::ModelFile { .. } => Failure::Model,
        am_core::Error::File { .. } => Failure::Data,
        _ => Failure::Other,
    }
}

impl From<am_train::Error> for CliError {
    fn from(e: am_train::Error) -> Self {
        use am_train::Error as E;
        let failure = match &e {
            E::Data(_) => Failure::Data,
            E::Argument { .. } => Failure::Usage,
            E::NonFinite { .. } => Failure::Diverged,
            E::Checkpoint { .. } => Failure::Checkpoint,
            E::Core(c) => core_failure(c),
            E::Model(m) => match m {
                am_models::Error::Core(c) => core_failure(c),
                _ => Failure::Model,
            },
            _ => Failure::Other,
        };
        Self::new(failure, e.to_string())
    }
}

impl From<am_paths::DataError> for CliError {
    fn from(e: am_paths::DataError) -> Self {
        Self::new(Failure::Data, e.to_string())
    }
}

impl From<am_core::Error> for CliError {
    fn from(e: am_core::Error) -> Self {
        Self::new(core_failure(&e), e.to_string())
    }
}

impl From<am_core::candle::Error> for CliError {
    fn from(e: am_core::candle::Error) -> Self {
        Self::new(Failure::Other, e.to_string())
    }
}

impl From<am_models::Error> for CliError {
    fn from(e: am_models::Error) -> Self {
        am_train::Error::from(e).into()
    }
}

impl From<am_metrics::Error> for CliError {
    fn from(e: am_metrics::Error) -> Self {
        Self::new(Failure::Other, e.to_string())
    }
}

impl From<am_solvers::Error> for CliError {
    fn from(e: am_solvers::Error) -> Self {
        Self::new(Failure::Other, e.to_string())
    }
}
