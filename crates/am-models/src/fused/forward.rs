//! Forward passes: the input rows, the value forward (σ, σ′, σ″ and σ‴ kept in one pass) and
//! the stacked forward jet (value, tangents along t, x₁…x_D and the probe, second order).

use super::activation::derivatives;
use super::blocks::{bounds, run, simd, simd_kernel, split, split_mut};
use super::matmul::{matmul, plain};
use super::network::time_features;
use super::workspace::{room, Workspace};
use super::{FusedMlp, Real};
use crate::Activation;

pub(crate) const fn act_of(code: u8) -> Activation {
    match code {
        0 => Activation::Silu,
        1 => Activation::Tanh,
        2 => Activation::Softplus,
        _ => Activation::Gelu,
    }
}

pub(crate) fn code_of(act: Activation) -> u8 {
    match act {
        Activation::Silu => 0,
        Activation::Tanh => 1,
        Activation::Softplus => 2,
        Activation::Gelu => 3,
    }
}

/// The rows fed to the network: boundary samples at t = 0 and t = 1, then samples at times t_i.
pub(crate) struct Inputs<'a> {
    pub x0: &'a [f64],
    pub x1: &'a [f64],
    pub t: &'a [f64],
    pub xt: &'a [f64],
}

/// The direction set of a forward jet: tangents along t (k = 0), x₁…x_D (k = 1..=D) and
/// optionally the probe v (k = D + 1); the second-order row sums ∂² over `second` (x₁…x_D for
/// the exact Laplacian, v alone for Hutchinson).
#[derive(Clone, Copy)]
pub(crate) struct JetShape {
    /// K, the number of tangent rows per sample (the second-order row follows them).
    pub k: usize,
    pub second: (usize, usize),
}

impl JetShape {
    pub fn new(dim: usize, probe: bool) -> Self {
        if probe {
            Self {
                k: dim + 2,
                second: (dim + 1, 1),
            }
        } else {
            Self {
                k: dim + 1,
                second: (1, dim),
            }
        }
    }

    /// Tangents along t and x₁…x_D only: the second-order row is carried but sums nothing
    /// (non-scalar heads without a Laplacian).
    pub fn first_order(dim: usize) -> Self {
        Self {
            k: dim + 1,
            second: (1, 0),
        }
    }

    /// Rows per sample in the jet block (tangents + second order).
    pub fn rows(&self) -> usize {
        self.k + 1
    }
}

impl<T: Real> FusedMlp<T> {
    /// Writes the value rows [e(0), x0], [e(1), x1], [e(t_i), xt_i] of a₀ (room for `p` rows in
    /// all) and de/dt of the xt rows; returns R, the number of value rows.
    pub(crate) fn write_inputs(&self, w: &mut Workspace<T>, inp: &Inputs<'_>, p: usize) -> usize {
        let d = self.config.dim;
        let f = self.config.time_embedding.width();
        let width = f + d;
        let emb = self.config.time_embedding;
        let (n0, n1, n) = (inp.x0.len() / d, inp.x1.len() / d, inp.t.len());
        let r = n0 + n1 + n;
        w.layers(self.num_layers());
        let a0 = room(&mut w.a[0], p * width);
        let de = {
            w.de.resize(n * f, 0.0);
            &mut w.de
        };
        let mut e = vec![0.0; f];
        let mut scratch = vec![0.0; f];
        let mut row = 0;
        for (xs, time) in [(inp.x0, 0.0), (inp.x1, 1.0)] {
            time_features(emb, time, &mut e, &mut scratch);
            for x in xs.chunks_exact(d) {
                let dst = &mut a0[row * width..(row + 1) * width];
                dst[..f]
                    .iter_mut()
                    .zip(&e)
                    .for_each(|(o, v)| *o = T::of(*v));
                dst[f..].iter_mut().zip(x).for_each(|(o, v)| *o = T::of(*v));
                row += 1;
            }
        }
        for (i, x) in inp.xt.chunks_exact(d).enumerate() {
            time_features(emb, inp.t[i], &mut e, &mut de[i * f..(i + 1) * f]);
            let dst = &mut a0[row * width..(row + 1) * width];
            dst[..f]
                .iter_mut()
                .zip(&e)
                .for_each(|(o, v)| *o = T::of(*v));
            dst[f..].iter_mut().zip(x).for_each(|(o, v)| *o = T::of(*v));
            row += 1;
        }
        r
    }

    /// The value forward over the first `r` rows of a₀: z_l = a_l W_l + b_l, a_{l+1} = σ(z_l),
    /// keeping σ′ and σ″ (σ‴ only in the jet); leaves h = κ(a_{L−1}W + b) in `w.z[L−1][..r·m]`.
    pub(crate) fn forward_values(&self, w: &mut Workspace<T>, r: usize) {
        let layers = self.num_layers();
        for l in 0..layers {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (wl, bl) = self.layer(l);
            let z = room(&mut w.z[l], r * o);
            matmul(
                z,
                (r, o, i),
                plain(&w.a[l][..r * i]),
                plain(wl),
                false,
                w.threads,
            );
            if l + 1 < layers {
                let next = room(&mut w.a[l + 1], r * o);
                let d1 = room(&mut w.d1[l], r * o);
                let d2 = room(&mut w.d2[l], r * o);

                activate(
                    self.config.activation,
                    z,
                    bl,
                    next,
                    d1,
                    d2,
                    &mut [],
                    r,
                    o,
                    w.threads,
                );
            } else {
                finish_output(z, bl, o, T::of(self.config.output_scale));
            }
        }
    }

    /// The stacked forward jet. a₀ holds `r` value rows (the last `n` at times t_i) followed by
    /// `n` jet blocks of `shape.rows()` rows, sample-major; one matrix product per layer covers
    /// them all. Keeps z, σ′, σ″, σ‴ for the backward pass. At the output (row layout kept),
    /// `w.z[L−1]` holds s (value rows, κ and bias applied) and κ·ż_k, κ·z̈ (jet rows).
    pub(crate) fn forward_jet(&self, w: &mut Workspace<T>, r: usize, n: usize, shape: JetShape) {
        let layers = self.num_layers();
        let jr = shape.rows();
        let p = r + n * jr;
        let xt0 = r - n;
        for l in 0..layers {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (wl, bl) = self.layer(l);
            let z = room(&mut w.z[l], p * o);
            matmul(
                z,
                (p, o, i),
                plain(&w.a[l][..p * i]),
                plain(wl),
                false,
                w.threads,
            );
            if l + 1 < layers {
                let next = room(&mut w.a[l + 1], p * o);
                let d1 = room(&mut w.d1[l], r * o);
                let d2 = room(&mut w.d2[l], r * o);
                let d3 = room(&mut w.d3[l], r * o);
                let (zv, zj) = z.split_at_mut(r * o);
                let (nv, nj) = next.split_at_mut(r * o);
                activate(
                    self.config.activation,
                    zv,
                    bl,
                    nv,
                    d1,
                    d2,
                    d3,
                    r,
                    o,
                    w.threads,
                );
                // jet rows: ȧ_k = σ′⊙ż_k, ä = σ″⊙Σ_S ż_k² + σ′⊙z̈
                let b = bounds(n, w.threads);
                let jobs: Vec<_> = split(d1, xt0 * o, o, &b)
                    .into_iter()
                    .zip(split(d2, xt0 * o, o, &b))
                    .zip(split(zj, 0, jr * o, &b))
                    .zip(split_mut(nj, 0, jr * o, &b))
                    .collect();
                run(jobs, |(((d1, d2), zj), nj)| {
                    simd(|| jet_rows(d1, d2, zj, nj, o, shape))
                });
            } else {
                let kappa = T::of(self.config.output_scale);
                let (zv, zj) = z.split_at_mut(r * o);
                finish_output(zv, bl, o, kappa);
                zj.iter_mut().for_each(|v| *v *= kappa);
            }
        }
    }

    /// Fills the jet rows of a₀ for the `n` samples at times t_i (the last n value rows):
    /// tangent k = 0 is [de/dt, 0], k = 1..=D the unit vectors of x, k = D + 1 the probe;
    /// the second-order row is zero.
    pub(crate) fn write_jet_inputs(
        &self,
        w: &mut Workspace<T>,
        r: usize,
        n: usize,
        shape: JetShape,
        probe: Option<&[f64]>,
    ) {
        let d = self.config.dim;
        let f = self.config.time_embedding.width();
        let width = f + d;
        let jr = shape.rows();
        let a0 = &mut w.a[0][r * width..(r + n * jr) * width];
        a0.fill(T::ZERO);
        for i in 0..n {
            let blk = &mut a0[i * jr * width..(i + 1) * jr * width];
            for (o, v) in blk[..f].iter_mut().zip(&w.de[i * f..(i + 1) * f]) {
                *o = T::of(*v);
            }
            for j in 0..d {
                blk[(1 + j) * width + f + j] = T::ONE;
            }
            if let Some(v) = probe {
                let row = &mut blk[(d + 1) * width + f..(d + 2) * width];
                row.iter_mut()
                    .zip(&v[i * d..(i + 1) * d])
                    .for_each(|(o, x)| *o = T::of(*x));
            }
        }
    }
}

/// The output layer's value rows: h = κ(z + b), row by row (width `o`).
fn finish_output<T: Real>(z: &mut [T], b: &[T], o: usize, kappa: T) {
    for row in z.chunks_exact_mut(o) {
        for (v, b) in row.iter_mut().zip(b) {
            *v = kappa * (*v + *b);
        }
    }
}

/// z += b; a = σ(z); d1, d2 (and d3 when not empty) = σ′, σ″, σ‴, over `rows` rows of width `o`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn activate<T: Real>(
    act: Activation,
    z: &mut [T],
    b: &[T],
    a: &mut [T],
    d1: &mut [T],
    d2: &mut [T],
    d3: &mut [T],
    rows: usize,
    o: usize,
    threads: usize,
) {
    let bd = bounds(rows, threads);
    let d3_stride = if d3.is_empty() { 0 } else { o };
    let jobs: Vec<_> = split_mut(z, 0, o, &bd)
        .into_iter()
        .zip(split_mut(a, 0, o, &bd))
        .zip(split_mut(d1, 0, o, &bd))
        .zip(split_mut(d2, 0, o, &bd))
        .zip(split_mut(d3, 0, d3_stride, &bd))
        .collect();
    let code = code_of(act);
    run(jobs, |((((z, a), d1), d2), d3)| match code {
        0 => simd_kernel(Activate::<T, 0> {
            z,
            b,
            a,
            d1,
            d2,
            d3,
            o,
        }),
        1 => simd_kernel(Activate::<T, 1> {
            z,
            b,
            a,
            d1,
            d2,
            d3,
            o,
        }),
        2 => simd_kernel(Activate::<T, 2> {
            z,
            b,
            a,
            d1,
            d2,
            d3,
            o,
        }),
        _ => simd_kernel(Activate::<T, 3> {
            z,
            b,
            a,
            d1,
            d2,
            d3,
            o,
        }),
    });
}

/// The arguments of one block of [`activate`]; a struct (not a closure) so that its body is
/// compiled inside `pulp`'s target-feature function (a large closure would not be inlined).
struct Activate<'a, T, const A: u8> {
    z: &'a mut [T],
    b: &'a [T],
    a: &'a mut [T],
    d1: &'a mut [T],
    d2: &'a mut [T],
    d3: &'a mut [T],
    o: usize,
}

impl<T: Real, const A: u8> pulp::WithSimd for Activate<'_, T, A> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            z,
            b,
            a,
            d1,
            d2,
            d3,
            o,
        } = self;
        activate_block::<T, A>(z, b, a, d1, d2, d3, o);
    }
}

#[inline(always)]
fn activate_block<T: Real, const A: u8>(
    z: &mut [T],
    b: &[T],
    a: &mut [T],
    d1: &mut [T],
    d2: &mut [T],
    d3: &mut [T],
    o: usize,
) {
    let rows = z.len() / o;
    for r in 0..rows {
        let s = r * o..(r + 1) * o;
        let it = z[s.clone()]
            .iter_mut()
            .zip(&mut a[s.clone()])
            .zip(&mut d1[s.clone()])
            .zip(&mut d2[s.clone()])
            .zip(b);
        if d3.is_empty() {
            for ((((z, a), d1), d2), b) in it {
                let v = *z + *b;
                let [s0, s1, s2, _] = derivatives(act_of(A), v);
                *z = v;
                *a = s0;
                *d1 = s1;
                *d2 = s2;
            }
        } else {
            for (((((z, a), d1), d2), b), d3) in it.zip(&mut d3[s]) {
                let v = *z + *b;
                let [s0, s1, s2, s3] = derivatives(act_of(A), v);
                *z = v;
                *a = s0;
                *d1 = s1;
                *d2 = s2;
                *d3 = s3;
            }
        }
    }
}

/// The jet rows of one block of samples: ȧ_k = σ′⊙ż_k (k < K), ä = σ″⊙Σ_S ż_k² + σ′⊙z̈.
#[inline(always)]
fn jet_rows<T: Real>(d1: &[T], d2: &[T], zj: &[T], nj: &mut [T], o: usize, shape: JetShape) {
    let jr = shape.rows();
    let (s0, sn) = shape.second;
    for (i, (d1, d2)) in d1.chunks_exact(o).zip(d2.chunks_exact(o)).enumerate() {
        let zb = &zj[i * jr * o..(i + 1) * jr * o];
        let nb = &mut nj[i * jr * o..(i + 1) * jr * o];
        let (nt, ns) = nb.split_at_mut(shape.k * o);
        for (zk, nk) in zb.chunks_exact(o).zip(nt.chunks_exact_mut(o)) {
            for ((n, z), s) in nk.iter_mut().zip(zk).zip(d1) {
                *n = *s * *z;
            }
        }
        // second order: σ′⊙z̈, then + σ″⊙ż_k² for k ∈ S
        let zs = &zb[shape.k * o..];
        for ((n, z), s) in ns.iter_mut().zip(zs).zip(d1) {
            *n = *s * *z;
        }
        for k in s0..s0 + sn {
            let zk = &zb[k * o..(k + 1) * o];
            for ((n, z), s) in ns.iter_mut().zip(zk).zip(d2) {
                *n += *s * *z * *z;
            }
        }
    }
}
