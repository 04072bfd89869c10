//! The first-order kernel (no Laplacian): ∇θ of ½‖∇x s‖² + ∂t s + λ/2·s² by reverse-over-forward.
//!
//! With g = ∇_u s and γ = ∂ζ/∂g held fixed, ∂θ(γᵀg) is ∂θ of the directional derivative of s
//! along γ: a tangent forward ż₀ = γW₀, ȧ_{l+1} = σ′(z_l)⊙ż_l, then one reverse pass over the
//! pair (z, ż) in which the adjoint of ż_l is exactly the reverse-sweep δ_l, and
//! z̄_l = σ′(z_l)⊙h̄_l + σ″(z_l)⊙ż_l⊙q_l with q_l = δ_{l+1}W_{l+1}ᵀ; finally
//! W̄_l = [a_l; ȧ_l]ᵀ[z̄_l; δ_l] in one product (docs/design-fused-step.md).

use super::blocks::{bounds, par_mul, run, simd, split, split_mut};
use super::matmul::{matmul, plain, trans};
use super::workspace::{room, Workspace};
use super::{FusedMlp, Real};

impl<T: Real> FusedMlp<T> {
    /// Reverse sweep over the `n` rows at times t_i (the last n of `r` value rows):
    /// δ_{L−1} = κ, q_{l−1} = δ_l W_lᵀ, δ_{l−1} = q_{l−1}⊙σ′(z_{l−1}); δ_l goes to rows
    /// r..r+n of `w.bar[l]`, and g = ∇_u s = δ₀W₀ᵀ `(n, F + D)` to `w.scratch`.
    pub(crate) fn reverse_sweep(&self, w: &mut Workspace<T>, r: usize, n: usize) {
        let layers = self.num_layers();
        let p = r + n;
        let kappa = T::of(self.config.output_scale);
        room(&mut w.bar[layers - 1], p)[r..p].fill(kappa);
        for l in (0..layers).rev() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (wl, _) = self.layer(l);
            let delta = &w.bar[l][r * o..p * o];
            if l == 0 {
                let g = room(&mut w.scratch, n * i);
                matmul(g, (n, i, o), plain(delta), trans(wl), false, w.threads);
                return;
            }
            let q = room(&mut w.q[l - 1], n * i);
            matmul(q, (n, i, o), plain(delta), trans(wl), false, w.threads);
            let bar = room(&mut w.bar[l - 1], p * i);
            par_mul(
                &mut bar[r * i..],
                &w.q[l - 1],
                0,
                &w.d1[l - 1],
                r - n,
                n,
                i,
                w.threads,
            );
        }
    }

    /// Tangent forward from γ (rows r..r+n of a₀): ż_l = ȧ_l W_l, ȧ_{l+1} = σ′(z_l)⊙ż_l.
    pub(crate) fn tangent_forward(&self, w: &mut Workspace<T>, r: usize, n: usize) {
        let p = r + n;
        for l in 0..self.num_layers() - 1 {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (wl, _) = self.layer(l);
            let zd = room(&mut w.zdot[l], n * o);
            matmul(
                zd,
                (n, o, i),
                plain(&w.a[l][r * i..p * i]),
                plain(wl),
                false,
                w.threads,
            );
            let next = room(&mut w.a[l + 1], p * o);
            par_mul(
                &mut next[r * o..],
                &w.zdot[l],
                0,
                &w.d1[l],
                r - n,
                n,
                o,
                w.threads,
            );
        }
    }

    /// The reverse pass over (z, ż): W̄_l, b̄_l for every layer into `grad`.
    pub(crate) fn backward_first_order(
        &self,
        w: &mut Workspace<T>,
        grad: &mut [T],
        r: usize,
        n: usize,
    ) {
        let p = r + n;
        let th = w.threads;
        for l in (0..self.num_layers()).rev() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            self.layer_gradient(w, grad, l, p, r);
            if l > 0 {
                let (wl, _) = self.layer(l);
                let h = room(&mut w.scratch, r * i);
                matmul(
                    h,
                    (r, i, o),
                    plain(&w.bar[l][..r * o]),
                    trans(wl),
                    false,
                    th,
                );
                let (bv, _) = w.bar[l - 1].split_at_mut(r * i);
                let (boundary, xt) = bv.split_at_mut((r - n) * i);
                let (hb, hx) = w.scratch[..r * i].split_at((r - n) * i);
                let (d1b, d1x) = w.d1[l - 1][..r * i].split_at((r - n) * i);
                // boundary rows: z̄ = σ′⊙h̄
                par_mul(boundary, hb, 0, d1b, 0, r - n, i, th);
                // rows at t_i: z̄ = σ′⊙h̄ + σ″⊙ż⊙q
                let bx = bounds(n, th);
                let jobs: Vec<_> = split_mut(xt, 0, i, &bx)
                    .into_iter()
                    .zip(split(hx, 0, i, &bx))
                    .zip(split(d1x, 0, i, &bx))
                    .zip(split(&w.d2[l - 1], (r - n) * i, i, &bx))
                    .zip(split(&w.zdot[l - 1], 0, i, &bx))
                    .zip(split(&w.q[l - 1], 0, i, &bx))
                    .collect();
                run(jobs, |(((((out, h), d1), d2), zd), q)| {
                    simd(|| hidden_adjoint(out, h, d1, d2, zd, q))
                });
            }
        }
    }
}

/// z̄ = σ′⊙h̄ + σ″⊙ż⊙q.
#[inline(always)]
fn hidden_adjoint<T: Real>(out: &mut [T], h: &[T], d1: &[T], d2: &[T], zd: &[T], q: &[T]) {
    for (((((o, h), d1), d2), zd), q) in out.iter_mut().zip(h).zip(d1).zip(d2).zip(zd).zip(q) {
        *o = *d1 * *h + *d2 * *zd * *q;
    }
}

impl<T: Real> FusedMlp<T> {
    /// W̄_l = a_lᵀ·bar_l over the first `p` rows (one product) and b̄_l = Σ bar_l over the `r`
    /// value rows, into `grad`.
    pub(crate) fn layer_gradient(
        &self,
        w: &Workspace<T>,
        grad: &mut [T],
        l: usize,
        p: usize,
        r: usize,
    ) {
        let (i, o) = (self.widths[l], self.widths[l + 1]);
        let (ow, ob) = self.offsets[l];
        matmul(
            &mut grad[ow..ob],
            (i, o, p),
            trans(&w.a[l][..p * i]),
            plain(&w.bar[l][..p * o]),
            false,
            w.threads,
        );
        column_sums(&w.bar[l][..r * o], o, &mut grad[ob..ob + o]);
    }
}

/// out_j = Σ_rows m[row, j] for a row-major `m` of width `o`.
pub(crate) fn column_sums<T: Real>(m: &[T], o: usize, out: &mut [T]) {
    out.fill(T::ZERO);
    for row in m.chunks_exact(o) {
        for (s, v) in out.iter_mut().zip(row) {
            *s += *v;
        }
    }
}
