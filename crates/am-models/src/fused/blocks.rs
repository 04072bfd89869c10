//! Row blocks for the element-wise passes: one contiguous block of samples per thread, each run
//! under `pulp`'s run-time dispatch so that the loops are compiled for AVX-512 (or AVX2) where
//! present.

use super::Real;
use rayon::prelude::*;

/// Sample boundaries splitting `n` samples into at most `threads` blocks.
pub(crate) fn bounds(n: usize, threads: usize) -> Vec<usize> {
    let k = threads.clamp(1, n.max(1));
    (0..=k).map(|j| j * n / k).collect()
}

/// The blocks of `buf` holding samples `bounds[j]..bounds[j+1]`, each sample `stride` elements,
/// starting at element `offset`.
pub(crate) fn split_mut<'a, T>(
    buf: &'a mut [T],
    offset: usize,
    stride: usize,
    bounds: &[usize],
) -> Vec<&'a mut [T]> {
    let mut rest = &mut buf[offset + bounds[0] * stride..];
    let mut out = Vec::with_capacity(bounds.len() - 1);
    for w in bounds.windows(2) {
        let (head, tail) = rest.split_at_mut((w[1] - w[0]) * stride);
        out.push(head);
        rest = tail;
    }
    out
}

/// Shared-borrow twin of [`split_mut`].
pub(crate) fn split<'a, T>(
    buf: &'a [T],
    offset: usize,
    stride: usize,
    bounds: &[usize],
) -> Vec<&'a [T]> {
    bounds
        .windows(2)
        .map(|w| &buf[offset + w[0] * stride..offset + w[1] * stride])
        .collect()
}

/// Runs `f` on every job, in parallel when there are several. Wrap the body in [`simd`].
pub(crate) fn run<J: Send>(jobs: Vec<J>, f: impl Fn(J) + Sync + Send) {
    if jobs.len() <= 1 {
        jobs.into_iter().for_each(f);
    } else {
        jobs.into_par_iter().for_each(f);
    }
}

/// Runs `f` compiled for the best instruction set found at run time (AVX-512, AVX2+FMA, …).
/// `f` must call only `#[inline(always)]` kernels, so that they are compiled inside it.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Runs a kernel struct under run-time dispatch; its `with_simd` is `#[inline(always)]`, so the
/// whole body is compiled for the detected instruction set.
#[inline(always)]
pub(crate) fn simd_kernel<K: pulp::WithSimd>(k: K) -> K::Output {
    pulp::Arch::new().dispatch(k)
}

/// out = a ⊙ b over `rows` rows of width `o` (`a` from row `a0`, `b` from row `b0`), in row
/// blocks over `threads` threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn par_mul<T: Real>(
    out: &mut [T],
    a: &[T],
    a0: usize,
    b: &[T],
    b0: usize,
    rows: usize,
    o: usize,
    threads: usize,
) {
    let bd = bounds(rows, threads);
    let jobs: Vec<_> = split_mut(out, 0, o, &bd)
        .into_iter()
        .zip(split(a, a0 * o, o, &bd))
        .zip(split(b, b0 * o, o, &bd))
        .collect();
    run(jobs, |((out, a), b)| simd(|| mul_into(out, a, b)));
}

/// out = a ⊙ b.
#[inline(always)]
pub(crate) fn mul_into<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
        *o = *a * *b;
    }
}
