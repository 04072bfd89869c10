//! The jet kernel (entropic AM): ∇θ of an integrand that reads the forward jet's outputs
//! (s, ∂t s, ∇x s and the second-order channel Δs or vᵀ∇²s v), by one reverse pass through the
//! stacked jet. Per hidden layer, with σ′, σ″, σ‴ at z and the adjoints ā, ǡ_k, ǟ of the layer's
//! output rows (value, tangent k, second order; S the directions summed in second order):
//!
//! - z̈̄ = σ′⊙ǟ
//! - ż̄_k = σ′⊙ǡ_k + [k ∈ S]·2σ″⊙ż_k⊙ǟ
//! - z̄ = σ′⊙ā + σ″⊙(Σ_k ż_k⊙ǡ_k + z̈⊙ǟ) + σ‴⊙(Σ_{k∈S} ż_k²)⊙ǟ
//!
//! and W̄_l = [a; ȧ_k; ä]ᵀ[z̄; ż̄_k; z̈̄] over all rows in one product.

use super::blocks::{bounds, par_mul, run, simd, split, split_mut};
use super::forward::JetShape;
use super::matmul::{matmul, plain, trans};
use super::workspace::{room, Workspace};
use super::{FusedMlp, Real};

impl<T: Real> FusedMlp<T> {
    /// Backward through the jet whose output adjoints are in `w.bar[L−1]` (same row layout as
    /// the forward: `r` value rows, the last `n` at times t_i, then `n` jet blocks); ∇θ into `grad`.
    pub(crate) fn backward_jet(
        &self,
        w: &mut Workspace<T>,
        grad: &mut [T],
        r: usize,
        n: usize,
        shape: JetShape,
    ) {
        let jr = shape.rows();
        let p = r + n * jr;
        let th = w.threads;
        for l in (0..self.num_layers()).rev() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            self.layer_gradient(w, grad, l, p, r);
            if l > 0 {
                let (wl, _) = self.layer(l);
                let abar = room(&mut w.scratch, p * i);
                matmul(
                    abar,
                    (p, i, o),
                    plain(&w.bar[l][..p * o]),
                    trans(wl),
                    false,
                    th,
                );
                let bar = room(&mut w.bar[l - 1], p * i);
                let (bv, bj) = bar.split_at_mut(r * i);
                let (boundary, bx) = bv.split_at_mut((r - n) * i);
                let abar = &w.scratch[..p * i];
                let (d1, d2, d3) = (&w.d1[l - 1], &w.d2[l - 1], &w.d3[l - 1]);
                par_mul(boundary, abar, 0, d1, 0, r - n, i, th);
                let bx_bounds = bounds(n, th);
                let x0 = (r - n) * i;
                let jobs: Vec<_> = split_mut(bx, 0, i, &bx_bounds)
                    .into_iter()
                    .zip(split_mut(bj, 0, jr * i, &bx_bounds))
                    .zip(split(abar, x0, i, &bx_bounds))
                    .zip(split(abar, r * i, jr * i, &bx_bounds))
                    .zip(split(&w.z[l - 1], r * i, jr * i, &bx_bounds))
                    .zip(split(d1, x0, i, &bx_bounds))
                    .zip(split(d2, x0, i, &bx_bounds))
                    .zip(split(d3, x0, i, &bx_bounds))
                    .collect();
                run(jobs, |(((((((ov, oj), av), aj), zj), d1), d2), d3)| {
                    simd(|| jet_adjoint(ov, oj, av, aj, zj, d1, d2, d3, i, shape))
                });
            }
        }
    }
}

/// The adjoint formulas of the module docs for one block of samples.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn jet_adjoint<T: Real>(
    ov: &mut [T],
    oj: &mut [T],
    av: &[T],
    aj: &[T],
    zj: &[T],
    d1: &[T],
    d2: &[T],
    d3: &[T],
    o: usize,
    shape: JetShape,
) {
    let jr = shape.rows();
    let k = shape.k;
    let (s0, sn) = shape.second;
    let in_s = |j: usize| j >= s0 && j < s0 + sn;
    let two = T::of(2.0);
    for s in 0..ov.len() / o {
        let v = s * o..(s + 1) * o;
        let (d1, d2, d3) = (&d1[v.clone()], &d2[v.clone()], &d3[v.clone()]);
        let blk = s * jr * o..(s + 1) * jr * o;
        let (aj, zj, oj) = (&aj[blk.clone()], &zj[blk.clone()], &mut oj[blk]);
        let a_sec = &aj[k * o..];
        let z_sec = &zj[k * o..];
        // value row: σ′⊙ā + σ″⊙z̈⊙ǟ, then the sums over k
        let out = &mut ov[v.clone()];
        for (((((o, a), d1), d2), zs), asec) in out
            .iter_mut()
            .zip(&av[v.clone()])
            .zip(d1)
            .zip(d2)
            .zip(z_sec)
            .zip(a_sec)
        {
            *o = *d1 * *a + *d2 * *zs * *asec;
        }
        for j in 0..k {
            let (zk, ak) = (&zj[j * o..(j + 1) * o], &aj[j * o..(j + 1) * o]);
            if in_s(j) {
                for (((((o, z), a), d2), d3), asec) in
                    out.iter_mut().zip(zk).zip(ak).zip(d2).zip(d3).zip(a_sec)
                {
                    *o += *d2 * *z * *a + *d3 * *z * *z * *asec;
                }
            } else {
                for (((o, z), a), d2) in out.iter_mut().zip(zk).zip(ak).zip(d2) {
                    *o += *d2 * *z * *a;
                }
            }
        }
        // tangent rows and the second-order row
        for j in 0..k {
            let (zk, ak) = (&zj[j * o..(j + 1) * o], &aj[j * o..(j + 1) * o]);
            let ok = &mut oj[j * o..(j + 1) * o];
            if in_s(j) {
                for (((((o, a), z), d1), d2), asec) in
                    ok.iter_mut().zip(ak).zip(zk).zip(d1).zip(d2).zip(a_sec)
                {
                    *o = *d1 * *a + two * *d2 * *z * *asec;
                }
            } else {
                for ((o, a), d1) in ok.iter_mut().zip(ak).zip(d1) {
                    *o = *d1 * *a;
                }
            }
        }
        for ((o, a), d1) in oj[k * o..(k + 1) * o].iter_mut().zip(a_sec).zip(d1) {
            *o = *d1 * *a;
        }
    }
}
