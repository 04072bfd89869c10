//! Exact optimal transport, shared by the metrics (W1, W2) and the paths (OT-paired
//! interpolation between snapshots): the transportation problem min ⟨P, C⟩ s.t. P1 = a, Pᵀ1 = b,
//! P ≥ 0 by the network simplex method, and the linear assignment problem by shortest augmenting
//! paths.

pub mod assignment;
mod network_simplex;

pub use assignment::assignment;

use crate::Result;

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

/// Solves the transportation problem exactly (network simplex, see
/// the network simplex of this module) for supplies `a` (n) and demands `b` (m), each normalised to total
/// mass 1, and a row-major n × m cost matrix. Points of zero weight are left out. The returned
/// potentials certify optimality: C_ij − u_i − v_j ≥ 0 everywhere, = 0 on the support.
pub fn transport(a: &[f64], b: &[f64], cost: &[f64]) -> Result<TransportPlan> {
    let (n, m) = (a.len(), b.len());
    let sa = crate::check::weights("a", a)?;
    let sb = crate::check::weights("b", b)?;
    crate::check::cost_matrix(cost, n, m)?;
    // keep the points of positive mass, normalise, and put the rounding difference of the two
    // totals on the last demand so that both sum to the same number exactly
    let rows: Vec<usize> = (0..n).filter(|&i| a[i] > 0.0).collect();
    let cols: Vec<usize> = (0..m).filter(|&j| b[j] > 0.0).collect();
    let ar: Vec<f64> = rows.iter().map(|&i| a[i] / sa).collect();
    let mut br: Vec<f64> = cols.iter().map(|&j| b[j] / sb).collect();
    let diff = ar.iter().sum::<f64>() - br.iter().sum::<f64>();
    *br.last_mut()
        .expect("a positive total has a positive entry") += diff;
    // the cost matrix restricted to points of positive mass: only copied when some mass is zero
    let sub: std::borrow::Cow<[f64]> = if rows.len() == n && cols.len() == m {
        std::borrow::Cow::Borrowed(cost)
    } else {
        std::borrow::Cow::Owned(
            rows.iter()
                .flat_map(|&i| cols.iter().map(move |&j| cost[i * m + j]))
                .collect(),
        )
    };
    let TransportPlan {
        entries,
        cost: total,
        potentials: (us, vs),
    } = network_simplex::solve(&ar, &br, &sub)?;
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

/// The row-major `n × m` matrix of ‖x_i − y_j‖² between flat row-major clouds `x` (n × d) and
/// `y` (m × d), accumulated in f64.
pub fn squared_distances(x: &[f64], y: &[f64], d: usize) -> Result<Vec<f64>> {
    for (arg, c) in [("x", x), ("y", y)] {
        if d == 0 || c.is_empty() {
            return Err(crate::Error::Empty { arg });
        }
        if c.len() % d != 0 {
            return Err(crate::Error::Shape {
                arg,
                expected: format!("(N, {d}) flattened"),
                got: vec![c.len()],
            });
        }
    }
    let m = y.len() / d;
    let mut cost = Vec::with_capacity(x.len() / d * m);
    for xi in x.chunks_exact(d) {
        for yj in y.chunks_exact(d) {
            cost.push(xi.iter().zip(yj).map(|(p, q)| (p - q) * (p - q)).sum());
        }
    }
    Ok(cost)
}

/// The exact optimal plan between two uniform clouds `x` (n × d) and `y` (m × d), flat row-major,
/// with the squared Euclidean cost (the W2 coupling); `cost` is the mean squared distance.
pub fn squared_euclidean_plan(x: &[f64], y: &[f64], d: usize) -> Result<TransportPlan> {
    let cost = squared_distances(x, y, d)?;
    transport(&vec![1.0; x.len() / d], &vec![1.0; y.len() / d], &cost)
}
