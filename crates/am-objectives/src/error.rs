//! Errors of am-objectives.

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong configuring or evaluating an objective.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the shared core (shapes, values, candle).
    #[error(transparent)]
    Core(#[from] am_core::Error),
    /// The action and the batch disagree on the dimension.
    #[error("the action has dimension {action} but `{arg}` has {batch} columns")]
    DimensionMismatch {
        /// The batch field.
        arg: &'static str,
        /// The action's dimension.
        action: usize,
        /// The batch's.
        batch: usize,
    },
}

impl From<am_core::candle::Error> for Error {
    fn from(e: am_core::candle::Error) -> Self {
        Error::Core(e.into())
    }
}
