//! AnnData `.h5ad` files (feature `h5ad`, system HDF5 library): the cell matrix from `X` (dense
//! or CSR) or from `obsm/<key>` (e.g. `X_pca`), and time labels from a column of `obs` (numeric,
//! or categorical whose categories are numbers — else the category order).

use super::{DataError, Snapshots};
use hdf5_metno as hdf5;
use std::path::Path;

/// Where the samples come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum H5adMatrix {
    /// `X`, dense or CSR.
    X,
    /// `obsm/<key>`, e.g. `X_pca`.
    Obsm(String),
}

fn fmt_err(path: &str, what: impl std::fmt::Display) -> DataError {
    DataError::Format {
        path: path.to_string(),
        reason: what.to_string(),
    }
}

/// The most values a matrix may hold here (2 GiB as f64): a dataset declared larger (HDF5 lets a
/// tiny file declare a huge dataset of fill values) or a CSR shape beyond it is refused.
pub const MAX_VALUES: usize = 1 << 28;

fn read_f64(ds: &hdf5::Dataset, path: &str, name: &str) -> Result<Vec<f64>, DataError> {
    let size = ds.shape().iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    if size.is_none_or(|n| n > MAX_VALUES) {
        return Err(fmt_err(
            path,
            format!(
                "`{name}` declares shape {:?}, more than {MAX_VALUES} values",
                ds.shape()
            ),
        ));
    }
    ds.read_raw::<f64>()
        .map_err(|e| fmt_err(path, format!("`{name}`: {e}")))
}

fn read_i64(
    ds: hdf5::Result<hdf5::Dataset>,
    path: &str,
    name: &str,
) -> Result<Vec<i64>, DataError> {
    let ds = ds.map_err(|e| fmt_err(path, format!("`{name}`: {e}")))?;
    let size = ds.shape().iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    if size.is_none_or(|n| n > MAX_VALUES) {
        return Err(fmt_err(
            path,
            format!("`{name}` declares more than {MAX_VALUES} values"),
        ));
    }
    ds.read_raw::<i64>()
        .map_err(|e| fmt_err(path, format!("`{name}`: {e}")))
}

/// Reads snapshots from an `.h5ad` file: samples from `matrix`, time labels from `obs/<time_key>`.
pub fn read_h5ad(path: &Path, matrix: &H5adMatrix, time_key: &str) -> Result<Snapshots, DataError> {
    let p = path.display().to_string();
    let file = hdf5::File::open(path).map_err(|e| DataError::Io {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let (values, n, d) = match matrix {
        H5adMatrix::Obsm(key) => {
            let name = format!("obsm/{key}");
            let ds = file.dataset(&name).map_err(|_| DataError::MissingKey {
                path: p.clone(),
                key: name.clone(),
                available: file
                    .group("obsm")
                    .and_then(|g| g.member_names())
                    .unwrap_or_default()
                    .join(", "),
            })?;
            let shape = ds.shape();
            if shape.len() != 2 {
                return Err(DataError::Shape {
                    path: p,
                    reason: format!("`{name}` has shape {shape:?}, expected (N, D)"),
                });
            }
            (read_f64(&ds, &p, &name)?, shape[0], shape[1])
        }
        H5adMatrix::X => {
            if let Ok(ds) = file.dataset("X") {
                let shape = ds.shape();
                if shape.len() != 2 {
                    return Err(DataError::Shape {
                        path: p,
                        reason: format!("`X` has shape {shape:?}, expected (N, D)"),
                    });
                }
                (read_f64(&ds, &p, "X")?, shape[0], shape[1])
            } else {
                let g = file.group("X").map_err(|_| DataError::MissingKey {
                    path: p.clone(),
                    key: "X".into(),
                    available: file.member_names().unwrap_or_default().join(", "),
                })?;
                let enc: String = g
                    .attr("encoding-type")
                    .and_then(|a| a.read_scalar::<hdf5::types::VarLenUnicode>())
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                if enc != "csr_matrix" {
                    return Err(fmt_err(&p, format!("`X` is a group of encoding `{enc}`; dense arrays and csr_matrix are read")));
                }
                let shape: Vec<i64> = g
                    .attr("shape")
                    .and_then(|a| a.read_raw::<i64>())
                    .map_err(|e| fmt_err(&p, format!("`X` shape: {e}")))?;
                let (n, d) = match shape[..] {
                    [n, d] if n >= 0 && d > 0 => (n as usize, d as usize),
                    _ => {
                        return Err(DataError::Shape {
                            path: p,
                            reason: format!("`X` shape attribute {shape:?} is not (N, D)"),
                        })
                    }
                };
                if n.checked_mul(d).is_none_or(|v| v > MAX_VALUES) {
                    return Err(DataError::Shape {
                        path: p,
                        reason: format!(
                            "`X` is ({n}, {d}): more than {MAX_VALUES} values dense; read a reduction from obsm instead"
                        ),
                    });
                }
                let data = read_f64(
                    &g.dataset("data").map_err(|e| fmt_err(&p, e))?,
                    &p,
                    "X/data",
                )?;
                let indices = read_i64(g.dataset("indices"), &p, "X/indices")?;
                let indptr = read_i64(g.dataset("indptr"), &p, "X/indptr")?;
                let nnz = data.len() as i64;
                if indptr.len() != n + 1
                    || data.len() != indices.len()
                    || indptr.first() != Some(&0)
                    || indptr.last() != Some(&nnz)
                    || indptr.windows(2).any(|w| w[1] < w[0])
                {
                    return Err(DataError::Shape {
                        path: p,
                        reason: format!(
                            "CSR arrays do not fit shape ({n}, {d}): indptr must run from 0 to nnz = {nnz}, non-decreasing, with N + 1 entries"
                        ),
                    });
                }
                let mut dense = vec![0.0; n * d];
                for i in 0..n {
                    for k in indptr[i] as usize..indptr[i + 1] as usize {
                        let j = usize::try_from(indices[k]).unwrap_or(usize::MAX);
                        if j >= d {
                            return Err(DataError::Shape {
                                path: p,
                                reason: format!("CSR column index {j} ≥ {d} in row {i}"),
                            });
                        }
                        dense[i * d + j] = data[k];
                    }
                }
                (dense, n, d)
            }
        }
    };
    let name = format!("obs/{time_key}");
    let available = || {
        file.group("obs")
            .and_then(|g| g.member_names())
            .unwrap_or_default()
            .join(", ")
    };
    let labels: Vec<f64> = if let Ok(ds) = file.dataset(&name) {
        read_f64(&ds, &p, &name)?
    } else if let Ok(g) = file.group(&name) {
        let codes = read_i64(g.dataset("codes"), &p, &format!("{name}/codes"))?;
        let cats: Vec<String> = g
            .dataset("categories")
            .and_then(|s| s.read_raw::<hdf5::types::VarLenUnicode>())
            .map_err(|e| fmt_err(&p, format!("`{name}/categories`: {e}")))?
            .iter()
            .map(|s| s.to_string())
            .collect();
        let numeric: Option<Vec<f64>> = cats.iter().map(|c| c.trim().parse::<f64>().ok()).collect();
        codes
            .iter()
            .enumerate()
            .map(|(row, &c)| {
                if c < 0 || c as usize >= cats.len() {
                    return Err(DataError::Argument {
                        arg: "time_key",
                        reason: format!("{p}: `{name}` row {row} has no category (code {c})"),
                    });
                }
                Ok(numeric.as_ref().map_or(c as f64, |v| v[c as usize]))
            })
            .collect::<Result<_, _>>()?
    } else {
        return Err(DataError::MissingKey {
            path: p,
            key: name,
            available: available(),
        });
    };
    if labels.len() != n {
        return Err(DataError::Shape {
            path: p,
            reason: format!("`{name}` has {} entries for {n} cells", labels.len()),
        });
    }
    Snapshots::from_rows(&p, &values, n, d, &labels)
}
