//! Errors of am-models.

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong building, running, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// A parameter file (or a map of parameters, then `path` is empty) could not be used.
    #[error("{}", with_path(.path, .reason))]
    Checkpoint {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

impl From<am_core::candle::Error> for Error {
    fn from(e: am_core::candle::Error) -> Self {
        Error::Core(e.into())
    }
}

impl From<Error> for am_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(e) => e,
            Error::Checkpoint { path, reason } if path.is_empty() => {
                am_core::Error::InvalidConfig {
                    field: "parameters",
                    reason,
                }
            }
            Error::Checkpoint { path, reason } => am_core::Error::File { path, reason },
        }
    }
}

fn with_path(path: &str, reason: &str) -> String {
    if path.is_empty() {
        reason.to_string()
    } else {
        format!("file `{path}`: {reason}")
    }
}
