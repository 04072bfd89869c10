//! Exact optimal transport between weighted clouds of any sizes: the transportation problem
//! min ⟨P, C⟩ s.t. P1 = a, Pᵀ1 = b, P ≥ 0, solved by the network simplex method.

use crate::{Error, Result};
use am_core::{check, DType, Tensor};

/// The ground cost c(x, y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroundCost {
    /// ‖x − y‖² (W2 = √OT).
    SquaredEuclidean,
    /// ‖x − y‖ (W1 = OT).
    Euclidean,
}

/// An optimal plan: its non-zero entries (i, j, P_ij) and ⟨P, C⟩.
#[derive(Debug, Clone)]
pub struct TransportPlan {
    /// Non-zero entries (row, column, mass).
    pub entries: Vec<(usize, usize, f64)>,
    /// The optimal cost ⟨P, C⟩.
    pub cost: f64,
    /// Dual potentials (u, v) with C_ij − u_i − v_j ≥ 0, equal to 0 where P_ij > 0.
    pub potentials: (Vec<f64>, Vec<f64>),
}

/// Weights must be finite, ≥ 0, and sum to a positive number.
pub(crate) fn check_weights(arg: &'static str, w: &[f64]) -> Result<f64> {
    if w.is_empty() {
        return Err(am_core::Error::Empty { arg }.into());
    }
    for (index, &value) in w.iter().enumerate() {
        if !value.is_finite() {
            return Err(am_core::Error::NonFinite { arg, value, index }.into());
        }
        if value < 0.0 {
            return Err(am_core::Error::OutOfRange {
                arg,
                value,
                allowed: "[0, ∞)",
            }
            .into());
        }
    }
    let s: f64 = w.iter().sum();
    if s <= 0.0 {
        return Err(am_core::Error::OutOfRange {
            arg,
            value: s,
            allowed: "a positive total mass",
        }
        .into());
    }
    Ok(s)
}

/// Solves the transportation problem exactly (network simplex, see
/// [`crate::network_simplex`]) for supplies `a` (n) and demands `b` (m), each normalised to total
/// mass 1, and a row-major n × m cost matrix. Points of zero weight are left out. The returned
/// potentials certify optimality: C_ij − u_i − v_j ≥ 0 everywhere, = 0 on the support.
pub fn transport(a: &[f64], b: &[f64], cost: &[f64]) -> Result<TransportPlan> {
    let (n, m) = (a.len(), b.len());
    let sa = check_weights("a", a)?;
    let sb = check_weights("b", b)?;
    if cost.len() != n * m {
        return Err(am_core::Error::Shape {
            arg: "cost",
            expected: format!("{n}×{m}"),
            got: vec![cost.len()],
        }
        .into());
    }
    if let Some(index) = cost.iter().position(|c| !c.is_finite()) {
        return Err(am_core::Error::NonFinite {
            arg: "cost",
            value: cost[index],
            index,
        }
        .into());
    }
    // keep the points of positive mass, normalise, and put the rounding difference of the two
    // totals on the last demand so that both sum to the same number exactly
    let rows: Vec<usize> = (0..n).filter(|&i| a[i] > 0.0).collect();
    let cols: Vec<usize> = (0..m).filter(|&j| b[j] > 0.0).collect();
    let ar: Vec<f64> = rows.iter().map(|&i| a[i] / sa).collect();
    let mut br: Vec<f64> = cols.iter().map(|&j| b[j] / sb).collect();
    let diff = ar.iter().sum::<f64>() - br.iter().sum::<f64>();
    *br.last_mut()
        .expect("a positive total has a positive entry") += diff;
    let sub: Vec<f64> = rows
        .iter()
        .flat_map(|&i| cols.iter().map(move |&j| cost[i * m + j]))
        .collect();
    let TransportPlan {
        entries,
        cost: total,
        potentials: (us, vs),
    } = crate::network_simplex::solve(&ar, &br, &sub)?;
    // potentials of dropped points: the tightest values that keep dual feasibility
    let mut u = vec![f64::INFINITY; n];
    let mut v = vec![f64::INFINITY; m];
    for (k, &i) in rows.iter().enumerate() {
        u[i] = us[k];
    }
    for (k, &j) in cols.iter().enumerate() {
        v[j] = vs[k];
    }
    for j in 0..m {
        if v[j].is_infinite() {
            v[j] = rows
                .iter()
                .map(|&i| cost[i * m + j] - u[i])
                .fold(f64::INFINITY, f64::min);
        }
    }
    for i in 0..n {
        if u[i].is_infinite() {
            u[i] = (0..m)
                .map(|j| cost[i * m + j] - v[j])
                .fold(f64::INFINITY, f64::min);
        }
    }
    let entries = entries
        .into_iter()
        .map(|(i, j, f)| (rows[i], cols[j], f))
        .collect();
    Ok(TransportPlan {
        entries,
        cost: total,
        potentials: (u, v),
    })
}

/// The cost matrix of two clouds on the host (f64), row-major `N × M`.
pub fn cost_matrix(x: &Tensor, y: &Tensor, ground: GroundCost) -> Result<(usize, usize, Vec<f64>)> {
    let (n, dx) = check::points("x", x)?;
    let (m, dy) = check::points("y", y)?;
    if dx != dy {
        return Err(Error::DimensionMismatch(dx, dy));
    }
    check::finite("x", x)?;
    check::finite("y", y)?;
    let a: Vec<f64> = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let b: Vec<f64> = y.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        let xi = &a[i * dx..(i + 1) * dx];
        for j in 0..m {
            let yj = &b[j * dx..(j + 1) * dx];
            let d2: f64 = xi.iter().zip(yj).map(|(p, q)| (p - q) * (p - q)).sum();
            c[i * m + j] = match ground {
                GroundCost::SquaredEuclidean => d2,
                GroundCost::Euclidean => d2.sqrt(),
            };
        }
    }
    Ok((n, m, c))
}

fn host_weights(arg: &'static str, w: Option<&Tensor>, n: usize) -> Result<Vec<f64>> {
    match w {
        None => Ok(vec![1.0 / n as f64; n]),
        Some(w) => {
            let v: Vec<f64> = w.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
            if v.len() != n {
                return Err(am_core::Error::Shape {
                    arg,
                    expected: format!("{n} weights"),
                    got: w.dims().to_vec(),
                }
                .into());
            }
            Ok(v)
        }
    }
}

/// Exact W1 between weighted clouds of any sizes: OT with the Euclidean ground cost (`ot.emd2`
/// with `metric='euclidean'`; NLSB's convention). Uniform weights when `None`.
pub fn w1(x: &Tensor, y: &Tensor, a: Option<&Tensor>, b: Option<&Tensor>) -> Result<f64> {
    let (n, m, c) = cost_matrix(x, y, GroundCost::Euclidean)?;
    Ok(transport(&host_weights("a", a, n)?, &host_weights("b", b, m)?, &c)?.cost)
}

/// Exact W2 between weighted clouds of any sizes: √OT with the squared Euclidean ground cost
/// (√`ot.emd2` on `sqeuclidean`; TrajectoryNet/torchcfm's convention). Uniform weights when `None`.
pub fn w2(x: &Tensor, y: &Tensor, a: Option<&Tensor>, b: Option<&Tensor>) -> Result<f64> {
    let (n, m, c) = cost_matrix(x, y, GroundCost::SquaredEuclidean)?;
    Ok(
        transport(&host_weights("a", a, n)?, &host_weights("b", b, m)?, &c)?
            .cost
            .max(0.0)
            .sqrt(),
    )
}
