//! The transportation problem by the primal network simplex method, on the bipartite graph of
//! sources (supplies a_i) and sinks (demands b_j) with uncapacitated arcs i → j of cost C_ij.
//!
//! The basis is a spanning tree rooted at an artificial node joined to every node by a costly
//! artificial arc (the initial, feasible basis). Each pivot prices a block of arcs by their reduced
//! cost C_ij + π_i − π_j (block search), closes the cycle through the lowest common ancestor, sends
//! the largest feasible flow round it, drops the blocking arc chosen to keep the tree strongly
//! feasible (no cycling), re-hangs the cut-off subtree below the entering arc and shifts its
//! potentials. Optimal when no arc has a negative reduced cost.

use super::TransportPlan;
use crate::{Error, Result};

const NONE: usize = usize::MAX;

/// A spanning tree stored by parent links, with children in doubly linked sibling lists.
struct Tree {
    parent: Vec<usize>,
    /// Arc joining the node to its parent: `< n·m` a real arc, else the artificial arc of the node.
    arc: Vec<usize>,
    /// True when that arc points from the node up to its parent.
    up: Vec<bool>,
    depth: Vec<usize>,
    first_child: Vec<usize>,
    next_sibling: Vec<usize>,
    prev_sibling: Vec<usize>,
}

impl Tree {
    fn detach(&mut self, v: usize) {
        let p = self.parent[v];
        let (prev, next) = (self.prev_sibling[v], self.next_sibling[v]);
        if prev == NONE {
            self.first_child[p] = next;
        } else {
            self.next_sibling[prev] = next;
        }
        if next != NONE {
            self.prev_sibling[next] = prev;
        }
        self.prev_sibling[v] = NONE;
        self.next_sibling[v] = NONE;
    }

    fn attach(&mut self, v: usize, p: usize) {
        self.parent[v] = p;
        let head = self.first_child[p];
        self.next_sibling[v] = head;
        self.prev_sibling[v] = NONE;
        if head != NONE {
            self.prev_sibling[head] = v;
        }
        self.first_child[p] = v;
    }
}

/// The smallest reduced cost c_k + π_i − π_k below `bound` in one row segment and its position:
/// eight independent running minima so the loop is not bound by one comparison chain. On x86-64
/// the same code is compiled once more for AVX-512 and chosen at run time.
fn row_argmin(row: &[f64], sink_pi: &[f64], pi_i: f64, bound: f64) -> Option<(f64, usize)> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            #[allow(unsafe_code)]
            return unsafe { row_argmin_avx512(row, sink_pi, pi_i, bound) };
        }
    }
    row_argmin_body(row, sink_pi, pi_i, bound)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn row_argmin_avx512(row: &[f64], sink_pi: &[f64], pi_i: f64, bound: f64) -> Option<(f64, usize)> {
    row_argmin_body(row, sink_pi, pi_i, bound)
}

#[inline(always)]
fn row_argmin_body(row: &[f64], sink_pi: &[f64], pi_i: f64, bound: f64) -> Option<(f64, usize)> {
    const L: usize = 8;
    let mut best = [bound; L];
    let mut at = [NONE; L];
    let chunks = row.len() / L;
    for c in 0..chunks {
        let (r8, p8) = (&row[c * L..c * L + L], &sink_pi[c * L..c * L + L]);
        for l in 0..L {
            let r = r8[l] + pi_i - p8[l];
            if r < best[l] {
                best[l] = r;
                at[l] = c * L + l;
            }
        }
    }
    let (mut b, mut k) = (bound, NONE);
    for l in 0..L {
        if best[l] < b || (best[l] == b && at[l] < k) {
            b = best[l];
            k = at[l];
        }
    }
    for t in chunks * L..row.len() {
        let r = row[t] + pi_i - sink_pi[t];
        if r < b {
            b = r;
            k = t;
        }
    }
    (k != NONE).then_some((b, k))
}

/// Potentials from scratch: π_root = 0 and every basic arc tight (C + π_source − π_target = 0),
/// then shifted so that π of the first source is 0 (reduced costs only see differences, and small
/// magnitudes keep rounding small).
fn recompute_potentials(tree: &Tree, pi: &mut [f64], cost: &[f64], n: usize, m: usize, big: f64) {
    let arcs = n * m;
    let root = n + m;
    pi[root] = 0.0;
    let mut stack = vec![root];
    while let Some(u) = stack.pop() {
        let mut v = tree.first_child[u];
        while v != NONE {
            let e = tree.arc[v];
            pi[v] = if e < arcs {
                let c = cost[e];
                // v is the source i (parent: sink) or the sink j (parent: source)
                if v < n {
                    pi[u] - c
                } else {
                    pi[u] + c
                }
            } else if v < n {
                pi[root] - big
            } else {
                pi[root] + big
            };
            stack.push(v);
            v = tree.next_sibling[v];
        }
    }
    let shift = pi[0];
    for x in pi.iter_mut() {
        *x -= shift;
    }
}

/// Optimal flows (i, j, f) with f > 0, the optimal cost and the potentials (u_i, v_j) such that
/// C_ij − u_i − v_j ≥ 0 with equality on the support. `a` and `b` must be positive with equal sums.
pub(crate) fn solve(a: &[f64], b: &[f64], cost: &[f64]) -> Result<TransportPlan> {
    let (n, m) = (a.len(), b.len());
    let nodes = n + m + 1;
    let root = n + m;
    let arcs = n * m;
    let cmax = cost.iter().fold(0.0f64, |acc, c| acc.max(c.abs()));
    let big = (cmax + 1.0) * (n + m) as f64;
    // a reduced cost counts as negative below −eps; potentials are recomputed from the tree
    // (exact up to one rounding per level) every `refresh` pivots, so drift stays far below eps
    let eps = 1e-10 * (cmax + 1.0);
    let refresh = 256usize;
    // flows: real arcs (dense), artificial arcs by node
    let mut flow = vec![0.0f64; arcs];
    let mut art_flow = vec![0.0f64; n + m];
    let mut pi = vec![0.0f64; nodes];
    let mut tree = Tree {
        parent: vec![NONE; nodes],
        arc: vec![NONE; nodes],
        up: vec![false; nodes],
        depth: vec![0; nodes],
        first_child: vec![NONE; nodes],
        next_sibling: vec![NONE; nodes],
        prev_sibling: vec![NONE; nodes],
    };
    for v in 0..n + m {
        tree.attach(v, root);
        tree.arc[v] = arcs + v;
        tree.depth[v] = 1;
        if v < n {
            // source v → root carries a_v; reduced cost big + π_v − 0 = 0
            tree.up[v] = true;
            art_flow[v] = a[v];
            pi[v] = -big;
        } else {
            // root → sink carries b_j
            tree.up[v] = false;
            art_flow[v] = b[v - n];
            pi[v] = big;
        }
    }
    let arc_flow =
        |flow: &[f64], art: &[f64], e: usize| if e < arcs { flow[e] } else { art[e - arcs] };
    // block of ½√(arcs) arcs: measured best among ¼, ½, 1, 2 × √(arcs) at n = 1,000 and 5,000
    let block = (((arcs as f64).sqrt() * 0.5) as usize).max(10).min(arcs);
    let (mut cur_i, mut cur_j) = (0usize, 0usize);
    let mut stack: Vec<usize> = Vec::new();
    let max_pivots = 200 * (n + m) * ((arcs as f64).sqrt() as usize + 1) + 10_000;
    let mut pivots = 0usize;
    let mut fresh = false;
    loop {
        // block-search pricing: the most negative reduced cost in the first block that has one;
        // arcs are scanned row by row from where the last search stopped (no index division)
        let mut best = -eps;
        let mut entering = NONE;
        let mut scanned = 0usize;
        let mut in_block = 0usize;
        let sink_pi = &pi[n..n + m];
        while scanned < arcs {
            let (i, j0) = (cur_i, cur_j);
            let len = (m - j0).min(block - in_block).min(arcs - scanned);
            let row = &cost[i * m + j0..i * m + j0 + len];
            if let Some((r, k)) = row_argmin(row, &sink_pi[j0..j0 + len], pi[i], best) {
                best = r;
                entering = i * m + j0 + k;
            }
            scanned += len;
            in_block += len;
            cur_j += len;
            if cur_j == m {
                cur_j = 0;
                cur_i = if cur_i + 1 == n { 0 } else { cur_i + 1 };
            }
            if in_block == block {
                if entering != NONE {
                    break;
                }
                in_block = 0;
            }
        }
        let in_tree = entering != NONE && {
            let (p, q) = (entering / m, n + entering % m);
            tree.arc[p] == entering || tree.arc[q] == entering
        };
        if entering == NONE || in_tree || pivots % refresh == refresh - 1 {
            // before stopping (or when rounding made a basic arc look negative), start again from
            // exact potentials
            if !fresh {
                recompute_potentials(&tree, &mut pi, cost, n, m, big);
                fresh = true;
                continue;
            }
            if entering == NONE {
                break;
            }
            if in_tree {
                return Err(Error::Unsupported(
                    "network simplex: a basic arc priced negative after refreshing the potentials"
                        .into(),
                ));
            }
        }
        fresh = false;
        pivots += 1;
        if pivots > max_pivots {
            return Err(Error::Unsupported(
                "network simplex: pivot limit reached".into(),
            ));
        }
        let (p, q) = (entering / m, n + entering % m);
        // the cycle: p → q along the entering arc, q up to the join, the join down to p
        let (mut x, mut y) = (p, q);
        while x != y {
            if tree.depth[x] >= tree.depth[y] {
                x = tree.parent[x];
            } else {
                y = tree.parent[y];
            }
        }
        let join = x;
        // blocking arcs: on the q-side those pointing down (their flow falls), on the p-side
        // those pointing up; ties go to the last arc of the cycle taken from the join
        let mut delta = f64::INFINITY;
        let mut leave = NONE;
        let mut leave_on_q = false;
        let mut v = p;
        while v != join {
            if tree.up[v] {
                let f = arc_flow(&flow, &art_flow, tree.arc[v]);
                if f < delta {
                    delta = f;
                    leave = v;
                }
            }
            v = tree.parent[v];
        }
        let mut v = q;
        while v != join {
            if !tree.up[v] {
                let f = arc_flow(&flow, &art_flow, tree.arc[v]);
                if f <= delta {
                    delta = f;
                    leave = v;
                    leave_on_q = true;
                }
            }
            v = tree.parent[v];
        }
        if leave == NONE {
            return Err(Error::Unsupported(
                "network simplex: unbounded cycle (negative cost cycle)".into(),
            ));
        }
        // push delta round the cycle
        if delta > 0.0 {
            flow[entering] += delta;
            let add = |e: usize, s: f64, flow: &mut [f64], art: &mut [f64]| {
                if e < arcs {
                    flow[e] += s;
                } else {
                    art[e - arcs] += s;
                }
            };
            let mut v = p;
            while v != join {
                add(
                    tree.arc[v],
                    if tree.up[v] { -delta } else { delta },
                    &mut flow,
                    &mut art_flow,
                );
                v = tree.parent[v];
            }
            let mut v = q;
            while v != join {
                add(
                    tree.arc[v],
                    if tree.up[v] { delta } else { -delta },
                    &mut flow,
                    &mut art_flow,
                );
                v = tree.parent[v];
            }
        }
        let leaving_arc = tree.arc[leave];
        if leaving_arc < arcs {
            flow[leaving_arc] = 0.0;
        } else {
            art_flow[leaving_arc - arcs] = 0.0;
        }
        // re-hang the subtree cut off below `leave`: its entering endpoint becomes its root
        let (a_end, b_end) = if leave_on_q { (q, p) } else { (p, q) };
        // reverse the path a_end … leave
        let mut child = a_end;
        let mut new_parent = b_end;
        let mut new_arc = entering;
        let mut new_up = a_end == p; // entering arc p → q points up from p to its new parent q
        loop {
            let old_parent = tree.parent[child];
            let (old_arc, old_up) = (tree.arc[child], tree.up[child]);
            tree.detach(child);
            tree.attach(child, new_parent);
            tree.arc[child] = new_arc;
            tree.up[child] = new_up;
            if child == leave {
                break;
            }
            new_parent = child;
            new_arc = old_arc;
            new_up = !old_up;
            child = old_parent;
        }
        // potentials and depths of the moved subtree: make the entering arc tight
        let r = cost[entering] + pi[p] - pi[q];
        let shift = if a_end == p { -r } else { r };
        stack.clear();
        stack.push(a_end);
        while let Some(v) = stack.pop() {
            pi[v] += shift;
            tree.depth[v] = tree.depth[tree.parent[v]] + 1;
            let mut c = tree.first_child[v];
            while c != NONE {
                stack.push(c);
                c = tree.next_sibling[c];
            }
        }
    }
    let mut entries = Vec::new();
    let mut total = 0.0;
    for (e, &f) in flow.iter().enumerate() {
        if f > 0.0 {
            entries.push((e / m, e % m, f));
            total += f * cost[e];
        }
    }
    // potentials in the u_i + v_j convention: C_ij − u_i − v_j = C_ij + π_i − π_j
    let u: Vec<f64> = pi[..n].iter().map(|x| -x).collect();
    let v: Vec<f64> = pi[n..n + m].to_vec();
    Ok(TransportPlan {
        entries,
        cost: total,
        potentials: (u, v),
    })
}
