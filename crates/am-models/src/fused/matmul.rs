//! The one matrix kernel of the fused step: `gemm` (AVX-512 microkernels chosen at run time)
//! called on contiguous row-major slices, behind a safe, bounds-checked wrapper.

use super::Real;

/// A row-major operand: `data` holds `rows × cols` (or, with `transposed`, the matrix is the
/// transpose of the stored `cols × rows` block).
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, T> {
    pub data: &'a [T],
    pub transposed: bool,
}

/// Stored as written.
pub(crate) fn plain<T>(data: &[T]) -> Operand<'_, T> {
    Operand {
        data,
        transposed: false,
    }
}

/// The transpose of the stored row-major block.
pub(crate) fn trans<T>(data: &[T]) -> Operand<'_, T> {
    Operand {
        data,
        transposed: true,
    }
}

/// out (m × n, row-major) = op(a) (m × k) · op(b) (k × n), added to `out` when `accumulate`.
/// `threads` > 1 splits the product over rayon's pool.
///
/// # Panics
/// When a slice is shorter than its shape needs (an internal invariant of the fused step, never
/// reachable from user input: every buffer is sized from the validated model and batch).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<T: Real>(
    out: &mut [T],
    (m, n, k): (usize, usize, usize),
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    accumulate: bool,
    threads: usize,
) {
    assert!(out.len() >= m * n, "gemm: output too short");
    assert!(a.data.len() >= m * k, "gemm: lhs too short");
    assert!(b.data.len() >= k * n, "gemm: rhs too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out[..m * n].fill(T::ZERO);
        }
        return;
    }
    // (column stride, row stride) of each operand
    let (a_cs, a_rs) = if a.transposed {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    let (b_cs, b_rs) = if b.transposed {
        (k as isize, 1)
    } else {
        (1, n as isize)
    };
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above guarantee that every index the strides reach lies inside its
    // slice: lhs reaches (m−1)·rs + (k−1)·cs = m·k − 1 in either layout, rhs k·n − 1 and the
    // output m·n − 1; `out` is borrowed mutably and cannot alias the shared inputs.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The f32 GFLOP/s of this kernel on an n × n × n product with `threads` threads (best of
/// `reps` timed runs after one warm-up): the peak that the fused step's throughput is quoted
/// against in `docs/performance.md`.
pub fn matmul_gflops(n: usize, threads: usize, reps: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i % 5) as f32 - 2.0) * 0.1).collect();
    let mut c = vec![0.0f32; n * n];
    let _ftz = super::denormal::FlushDenormals::new();
    matmul(&mut c, (n, n, n), plain(&a), plain(&b), false, threads);
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        matmul(&mut c, (n, n, n), plain(&a), plain(&b), false, threads);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    #[test]
    fn every_layout_matches_the_naive_product() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.71).cos()).collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let want = naive(&a, &b, m, k, n, ta, tb);
                let op = |d, t| if t { trans(d) } else { plain(d) };
                let mut out = vec![1.0; m * n];
                matmul(&mut out, (m, n, k), op(&a, ta), op(&b, tb), true, 1);
                for (o, w) in out.iter().zip(&want) {
                    assert!((o - 1.0 - w).abs() < 1e-13);
                }
                matmul(&mut out, (m, n, k), op(&a, ta), op(&b, tb), false, 2);
                for (o, w) in out.iter().zip(&want) {
                    assert!((o - w).abs() < 1e-13);
                }
            }
        }
    }
}
