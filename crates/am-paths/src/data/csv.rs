//! CSV snapshots: one cell per row, one column holding the time label, the others the features.

use super::{DataError, Snapshots};
use std::path::Path;

/// Which column holds the time label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeColumn {
    /// By header name (needs a header row).
    Name(String),
    /// By 0-based index.
    Index(usize),
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSpec {
    /// Whether the first row is a header.
    pub header: bool,
    /// The time column.
    pub time: TimeColumn,
    /// Drop rows with a non-numeric or non-finite cell instead of failing (the count is returned).
    pub drop_bad_rows: bool,
}

/// Reads snapshots from a CSV file; returns them and the number of rows dropped (0 unless
/// `drop_bad_rows`). Errors name the file, row (0-based, header excluded) and column.
pub fn read_csv(path: &Path, spec: &CsvSpec) -> Result<(Snapshots, usize), DataError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DataError::Io {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let split = |l: &str| {
        l.split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect::<Vec<_>>()
    };
    let header = if spec.header {
        lines.next().map(split)
    } else {
        None
    };
    let tcol = match (&spec.time, &header) {
        (TimeColumn::Index(i), _) => *i,
        (TimeColumn::Name(n), Some(h)) => {
            h.iter()
                .position(|c| c == n)
                .ok_or_else(|| DataError::MissingKey {
                    path: p.clone(),
                    key: n.clone(),
                    available: h.join(", "),
                })?
        }
        (TimeColumn::Name(n), None) => {
            return Err(DataError::Argument {
                arg: "time",
                reason: format!("column `{n}` given by name, but the spec says there is no header"),
            })
        }
    };
    let (mut x, mut labels, mut width, mut dropped) = (Vec::new(), Vec::new(), None, 0usize);
    for (row, line) in lines.enumerate() {
        let cells = split(line);
        let w = *width.get_or_insert(cells.len());
        if cells.len() != w {
            return Err(DataError::Ragged {
                path: p,
                row,
                expected: w,
                got: cells.len(),
            });
        }
        if tcol >= w {
            return Err(DataError::Argument {
                arg: "time",
                reason: format!("column {tcol} does not exist: rows have {w} columns"),
            });
        }
        let mut values = Vec::with_capacity(w);
        let mut bad = None;
        for (column, c) in cells.iter().enumerate() {
            match c.parse::<f64>() {
                Ok(v) if v.is_finite() => values.push(v),
                Ok(v) => {
                    bad = Some(DataError::NonFinite {
                        path: p.clone(),
                        key: header
                            .as_ref()
                            .map_or(format!("column {column}"), |h| h[column].clone()),
                        row,
                        column,
                        value: v,
                    });
                    break;
                }
                Err(_) => {
                    bad = Some(DataError::NonNumeric {
                        path: p.clone(),
                        row,
                        column,
                        value: c.clone(),
                    });
                    break;
                }
            }
        }
        if let Some(e) = bad {
            if spec.drop_bad_rows {
                dropped += 1;
                continue;
            }
            return Err(e);
        }
        labels.push(values[tcol]);
        x.extend(
            values
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != tcol)
                .map(|(_, v)| *v),
        );
    }
    let w = width.ok_or_else(|| DataError::Format {
        path: p.clone(),
        reason: "no data rows".into(),
    })?;
    if w < 2 {
        return Err(DataError::Shape {
            path: p,
            reason: "rows need a time column and at least one feature".into(),
        });
    }
    let n = labels.len();
    Ok((Snapshots::from_rows(&p, &x, n, w - 1, &labels)?, dropped))
}
