//! Errors of am-solvers.

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong while integrating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// The adaptive step size fell below its minimum.
    #[error("step size underflow at t = {t}: h = {h:e}")]
    StepUnderflow {
        /// The time reached.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// The velocity or the state became NaN or infinite.
    #[error("non-finite state after the step ending at t = {t}")]
    NonFinite {
        /// The time reached when it was detected.
        t: f64,
    },
}

impl From<am_core::candle::Error> for Error {
    fn from(e: am_core::candle::Error) -> Self {
        Error::Core(e.into())
    }
}
