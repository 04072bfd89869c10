//! Errors of am-paths.

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong building or sampling a path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// A covariance that is not symmetric positive definite at some time.
    #[error("covariance at t = {t} is not positive definite")]
    NotPositiveDefinite {
        /// The time.
        t: f64,
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
            Error::NotPositiveDefinite { t } => {
                am_core::Error::config("covariance", format!("not positive definite at t = {t}"))
            }
        }
    }
}
