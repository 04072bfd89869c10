//! Validation helpers for public entry points: shapes, finiteness, ranges.
//!
//! Each returns a typed [`Error`] naming the argument, so libraries never panic on user input.

use crate::{Error, Result, Tensor};

/// `t` must be `(N, 1)` with N ≥ 1.
pub fn times(arg: &'static str, t: &Tensor) -> Result<usize> {
    match t.dims() {
        [n, 1] if *n > 0 => Ok(*n),
        [0, 1] => Err(Error::Empty { arg }),
        d => Err(Error::Shape {
            arg,
            expected: "(N, 1)".into(),
            got: d.to_vec(),
        }),
    }
}

/// `x` must be `(N, D)` with N, D ≥ 1; returns `(N, D)`.
pub fn points(arg: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    match x.dims() {
        [0, _] => Err(Error::Empty { arg }),
        [n, d] if *d > 0 => Ok((*n, *d)),
        d => Err(Error::Shape {
            arg,
            expected: "(N, D) with D ≥ 1".into(),
            got: d.to_vec(),
        }),
    }
}

/// `t` `(N, 1)` and `x` `(N, D)` with matching N; returns `(N, D)`.
pub fn times_points(t: &Tensor, x: &Tensor) -> Result<(usize, usize)> {
    let nt = times("t", t)?;
    let (n, d) = points("x", x)?;
    if nt != n {
        return Err(Error::Shape {
            arg: "t",
            expected: format!("({n}, 1) to match x"),
            got: t.dims().to_vec(),
        });
    }
    Ok((n, d))
}

/// Every element finite (copies to the host: use at entry points, not in inner loops).
pub fn finite(arg: &'static str, x: &Tensor) -> Result<()> {
    let v: Vec<f64> = x
        .flatten_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1()?;
    match v.iter().position(|a| !a.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            arg,
            value: v[index],
            index,
        }),
        None => Ok(()),
    }
}

/// Every element of `t` within `[0, 1]` (and finite).
pub fn unit_interval(arg: &'static str, t: &Tensor) -> Result<()> {
    let v: Vec<f64> = t
        .flatten_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1()?;
    for (index, &value) in v.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFinite { arg, value, index });
        }
        if !(0.0..=1.0).contains(&value) {
            return Err(Error::OutOfRange {
                arg,
                value,
                allowed: "[0, 1]",
            });
        }
    }
    Ok(())
}

/// A scalar that must be finite and ≥ 0.
pub fn non_negative(arg: &'static str, value: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(Error::NonFinite {
            arg,
            value,
            index: 0,
        });
    }
    if value < 0.0 {
        return Err(Error::OutOfRange {
            arg,
            value,
            allowed: "[0, ∞)",
        });
    }
    Ok(())
}

/// A scalar that must be finite and > 0.
pub fn positive(arg: &'static str, value: f64) -> Result<()> {
    non_negative(arg, value)?;
    if value == 0.0 {
        return Err(Error::OutOfRange {
            arg,
            value,
            allowed: "(0, ∞)",
        });
    }
    Ok(())
}

/// Weights must be finite, ≥ 0, and sum to a positive number; returns the sum.
pub fn weights(arg: &'static str, w: &[f64]) -> Result<f64> {
    if w.is_empty() {
        return Err(Error::Empty { arg });
    }
    for (index, &value) in w.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFinite { arg, value, index });
        }
        if value < 0.0 {
            return Err(Error::OutOfRange {
                arg,
                value,
                allowed: "[0, ∞)",
            });
        }
    }
    let s: f64 = w.iter().sum();
    if s <= 0.0 {
        return Err(Error::OutOfRange {
            arg,
            value: s,
            allowed: "a positive total mass",
        });
    }
    Ok(s)
}

/// Every time of a host slice within `[0, 1]` (the `t` of `Marginals::sample`).
pub fn unit_times(arg: &'static str, t: &[f64]) -> Result<()> {
    match t.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        Some(&value) => Err(Error::OutOfRange {
            arg,
            value,
            allowed: "[0, 1]",
        }),
        None => Ok(()),
    }
}

/// A row-major `n × m` cost matrix of finite values.
pub fn cost_matrix(cost: &[f64], n: usize, m: usize) -> Result<()> {
    if n == 0 || m == 0 {
        return Err(Error::Empty { arg: "cost" });
    }
    if cost.len() != n * m {
        return Err(Error::Shape {
            arg: "cost",
            expected: format!("{n}×{m}"),
            got: vec![cost.len()],
        });
    }
    match cost.iter().position(|c| !c.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            arg: "cost",
            value: cost[index],
            index,
        }),
        None => Ok(()),
    }
}
