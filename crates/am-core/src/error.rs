//! The error type shared by the workspace. Every crate wraps it in its own enum.

/// Result with the workspace's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, naming the argument, field or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed inside candle.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// An argument had the wrong shape.
    #[error("argument `{arg}`: expected shape {expected}, got {got:?}")]
    Shape {
        /// The argument's name.
        arg: &'static str,
        /// What was expected, in words (e.g. "(N, 1)").
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// An argument held NaN or infinite values.
    #[error("argument `{arg}` holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// The argument's name.
        arg: &'static str,
        /// The offending value.
        value: f64,
        /// Flat index of the first offending element.
        index: usize,
    },
    /// A value was outside its allowed range.
    #[error("argument `{arg}` = {value} is outside {allowed}")]
    OutOfRange {
        /// The argument's name.
        arg: &'static str,
        /// The offending value.
        value: f64,
        /// The allowed range, in words (e.g. "[0, 1]").
        allowed: &'static str,
    },
    /// A batch or cloud had no rows.
    #[error("argument `{arg}` is empty")]
    Empty {
        /// The argument's name.
        arg: &'static str,
    },
    /// A configuration field was invalid; found by `validate()` before any tensor is touched.
    #[error("config field `{field}`: {reason}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// candle's second-order autograd is off or wrong on this thread (see [`crate::double_backward`]).
    #[error("double backward unavailable: {0}")]
    DoubleBackward(String),
    /// A feature the caller asked for is not supported by this object.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A file is not a usable model file; `problem` says what is missing or wrong.
    #[error("model file `{path}`: {problem}")]
    ModelFile {
        /// The file's path (empty for bytes in memory).
        path: String,
        /// What is wrong with it.
        problem: crate::model_file::ModelFileError,
    },
    /// Reading or writing a file failed.
    #[error("file `{path}`: {reason}")]
    File {
        /// The file's path.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}
