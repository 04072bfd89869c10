//! Errors of the data readers: each names the file, key, row and column at fault.

/// What is wrong with a data file or its contents.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// The file is not in the expected format.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An array asked for is not in the archive.
    #[error("{path}: no array `{key}` (the archive holds: {available})")]
    MissingKey {
        /// The file.
        path: String,
        /// The key asked for.
        key: String,
        /// The keys present.
        available: String,
    },
    /// A value is NaN or infinite.
    #[error("{path}: `{key}` row {row}, column {column} is {value} (not finite)")]
    NonFinite {
        /// The file.
        path: String,
        /// The array or column name.
        key: String,
        /// The row (0-based; CSV: data row, header excluded).
        row: usize,
        /// The column (0-based).
        column: usize,
        /// The value.
        value: f64,
    },
    /// A CSV cell is not a number.
    #[error("{path}: row {row}, column {column}: `{value}` is not a number")]
    NonNumeric {
        /// The file.
        path: String,
        /// The data row (0-based, header excluded).
        row: usize,
        /// The column (0-based).
        column: usize,
        /// The cell's text.
        value: String,
    },
    /// A row has another number of columns than the first.
    #[error("{path}: row {row} has {got} columns, the first row has {expected}")]
    Ragged {
        /// The file.
        path: String,
        /// The data row (0-based).
        row: usize,
        /// The first row's width.
        expected: usize,
        /// This row's width.
        got: usize,
    },
    /// Shapes of the arrays do not fit together.
    #[error("{path}: {reason}")]
    Shape {
        /// The file.
        path: String,
        /// What does not fit.
        reason: String,
    },
    /// Fewer than two distinct time points.
    #[error("{path}: {found} distinct time point(s); trajectory inference needs at least 2")]
    TooFewTimes {
        /// The file.
        path: String,
        /// How many were found.
        found: usize,
    },
    /// A requested argument is out of range (a dimension count, a fraction, a time index).
    #[error("argument `{arg}`: {reason}")]
    Argument {
        /// The argument.
        arg: &'static str,
        /// Why.
        reason: String,
    },
}

impl DataError {
    /// The file the error concerns (`None` for an argument error).
    pub fn path(&self) -> Option<&str> {
        match self {
            DataError::Io { path, .. }
            | DataError::Format { path, .. }
            | DataError::MissingKey { path, .. }
            | DataError::NonFinite { path, .. }
            | DataError::NonNumeric { path, .. }
            | DataError::Ragged { path, .. }
            | DataError::Shape { path, .. }
            | DataError::TooFewTimes { path, .. } => Some(path),
            DataError::Argument { .. } => None,
        }
    }
}

impl From<DataError> for am_core::Error {
    /// Keeps the file: `File { path, reason }` with the reason after the path (an argument error
    /// becomes `InvalidConfig` naming the argument).
    fn from(e: DataError) -> Self {
        match e {
            DataError::Argument { arg, reason } => {
                am_core::Error::InvalidConfig { field: arg, reason }
            }
            e => {
                let path = e.path().unwrap_or_default().to_string();
                let text = e.to_string();
                let reason = text
                    .strip_prefix(&format!("{path}: "))
                    .unwrap_or(&text)
                    .to_string();
                am_core::Error::File { path, reason }
            }
        }
    }
}
