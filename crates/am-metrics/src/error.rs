//! Errors of am-metrics.

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong computing a metric.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// The two clouds live in different dimensions.
    #[error("clouds have different dimensions: {0} and {1}")]
    DimensionMismatch(usize, usize),
    /// The clouds must have the same number of points for this estimator.
    #[error("this metric needs equal-size clouds, got {0} and {1} points")]
    SizeMismatch(usize, usize),
    /// Too few points for the estimator.
    #[error("`{arg}` needs at least {need} points, got {got}")]
    TooFewPoints {
        /// The argument.
        arg: &'static str,
        /// Required.
        need: usize,
        /// Received.
        got: usize,
    },
    /// The Inception weight file is missing, altered or not the network's.
    #[error("Inception weights `{path}`: {problem}")]
    InceptionWeights {
        /// The file.
        path: String,
        /// What is wrong.
        problem: crate::inception::WeightsProblem,
    },
}

impl From<am_core::candle::Error> for Error {
    fn from(e: am_core::candle::Error) -> Self {
        Error::Core(e.into())
    }
}
