//! The linear assignment problem by shortest augmenting paths with dual potentials
//! (Hungarian method in the Jonker–Volgenant form), O(n³) worst case, exact in f64.

use crate::{Error, Result};

/// Minimises Σ_i cost[i][σ(i)] over permutations σ for a row-major n × n cost matrix; returns
/// σ (row i goes to column σ[i]) and the optimal total cost.
pub fn assignment(cost: &[f64], n: usize) -> Result<(Vec<usize>, f64)> {
    crate::check::cost_matrix(cost, n, n)?;
    // potentials u (rows, 1-based with a virtual row 0) and v (columns); p[j] = row matched to column j
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    let mut minv = vec![inf; n + 1];
    let mut used = vec![false; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        minv.iter_mut().for_each(|m| *m = inf);
        used.iter_mut().for_each(|b| *b = false);
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let row = &cost[(i0 - 1) * n..i0 * n];
            let ui0 = u[i0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = row[j - 1] - ui0 - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut sigma = vec![0usize; n];
    for j in 1..=n {
        sigma[p[j] - 1] = j - 1;
    }
    let total = sigma
        .iter()
        .enumerate()
        .map(|(i, &j)| cost[i * n + j])
        .sum();
    if sigma.iter().collect::<std::collections::HashSet<_>>().len() != n {
        return Err(Error::Unsupported(
            "assignment did not produce a permutation".into(),
        ));
    }
    Ok((sigma, total))
}
