//! Exact optimal transport between weighted clouds of any sizes: the transportation problem
//! min ⟨P, C⟩ s.t. P1 = a, Pᵀ1 = b, P ≥ 0, solved by successive shortest augmenting paths with
//! dual potentials (the Hungarian method generalised to real supplies and demands).

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

/// Solves the transportation problem exactly for supplies `a` (n), demands `b` (m), both
/// normalised to total mass 1, and a row-major n × m cost matrix.
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
    let mut rem_a: Vec<f64> = a.iter().map(|v| v / sa).collect();
    let mut rem_b: Vec<f64> = b.iter().map(|v| v / sb).collect();
    // masses below this are rounding: the two normalised totals differ by a few ulps
    let tol = 1e-13;
    // potentials: reduced cost r_ij = c_ij − u_i − v_j ≥ 0
    let mut u = vec![0.0; n];
    let mut v: Vec<f64> = (0..m)
        .map(|j| {
            (0..n)
                .map(|i| cost[i * m + j])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    // flows by column: sources with positive flow into each sink
    let mut col: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m];
    let mut minv = vec![0.0; m];
    let mut way = vec![usize::MAX; m];
    let mut sink_done = vec![false; m];
    let mut src_dist = vec![f64::INFINITY; n];
    let mut src_pred = vec![usize::MAX; n];
    let mut settled_src: Vec<usize> = Vec::new();
    let mut settled_sink: Vec<usize> = Vec::new();
    let mut iterations = 0usize;
    let max_iterations = 50 * (n + m) + 1000;
    for root in 0..n {
        while rem_a[root] > tol {
            iterations += 1;
            if iterations > max_iterations {
                return Err(am_core::Error::Unsupported(
                    "transport: no convergence (degenerate input?)".into(),
                )
                .into());
            }
            // Dijkstra from `root` over reduced costs; sources are reached through tight reverse arcs
            minv.iter_mut().for_each(|x| *x = f64::INFINITY);
            for &j in &settled_sink {
                sink_done[j] = false;
            }
            for &i in &settled_src {
                src_dist[i] = f64::INFINITY;
                src_pred[i] = usize::MAX;
            }
            settled_sink.clear();
            settled_src.clear();
            let relax = |i: usize,
                         di: f64,
                         minv: &mut [f64],
                         way: &mut [usize],
                         sink_done: &[bool],
                         u: &[f64],
                         v: &[f64]| {
                let row = &cost[i * m..(i + 1) * m];
                let ui = u[i];
                for j in 0..m {
                    if !sink_done[j] {
                        let c = di + row[j] - ui - v[j];
                        if c < minv[j] {
                            minv[j] = c;
                            way[j] = i;
                        }
                    }
                }
            };
            src_dist[root] = 0.0;
            settled_src.push(root);
            relax(root, 0.0, &mut minv, &mut way, &sink_done, &u, &v);
            let (target, d_target) = loop {
                let mut best = f64::INFINITY;
                let mut jb = usize::MAX;
                for j in 0..m {
                    if !sink_done[j] && minv[j] < best {
                        best = minv[j];
                        jb = j;
                    }
                }
                if jb == usize::MAX {
                    break (usize::MAX, f64::INFINITY);
                }
                sink_done[jb] = true;
                settled_sink.push(jb);
                if rem_b[jb] > tol {
                    break (jb, best);
                }
                let reached: Vec<usize> = col[jb].iter().map(|e| e.0).collect();
                for i in reached {
                    if src_dist[i].is_infinite() {
                        src_dist[i] = best;
                        src_pred[i] = jb;
                        settled_src.push(i);
                        relax(i, best, &mut minv, &mut way, &sink_done, &u, &v);
                    }
                }
            };
            if target == usize::MAX {
                // every sink is full: what is left at the root is rounding
                rem_a[root] = 0.0;
                break;
            }
            // potentials: settled nodes shift so that the path becomes tight
            for &i in &settled_src {
                u[i] += d_target - src_dist[i];
            }
            for &j in &settled_sink {
                v[j] -= d_target - minv[j];
            }
            // bottleneck along the path target ← source ← sink ← … ← root
            let mut theta = rem_a[root].min(rem_b[target]);
            let mut j = target;
            loop {
                let i = way[j];
                if i == root {
                    break;
                }
                let jp = src_pred[i];
                let f = col[jp].iter().find(|e| e.0 == i).map_or(0.0, |e| e.1);
                theta = theta.min(f);
                j = jp;
            }
            // augment
            let mut j = target;
            loop {
                let i = way[j];
                match col[j].iter_mut().find(|e| e.0 == i) {
                    Some(e) => e.1 += theta,
                    None => col[j].push((i, theta)),
                }
                if i == root {
                    break;
                }
                let jp = src_pred[i];
                if let Some(k) = col[jp].iter().position(|e| e.0 == i) {
                    col[jp][k].1 -= theta;
                    if col[jp][k].1 <= tol {
                        col[jp].swap_remove(k);
                    }
                }
                j = jp;
            }
            rem_a[root] -= theta;
            rem_b[target] -= theta;
        }
    }
    let mut entries = Vec::new();
    let mut total = 0.0;
    for (j, list) in col.iter().enumerate() {
        for &(i, f) in list {
            if f > 0.0 {
                entries.push((i, j, f));
                total += f * cost[i * m + j];
            }
        }
    }
    entries.sort_by_key(|e| (e.0, e.1));
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
