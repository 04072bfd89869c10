//! Buffers of the fused passes, allocated once and reused while batch sizes do not grow.

use super::Real;

/// Per-layer buffers (index l = affine layer) and scratch space; every kernel uses prefixes.
#[derive(Default)]
pub(crate) struct Workspace<T> {
    /// Layer inputs: value rows, then tangent (and second-order) rows; `(P, in_l)`.
    pub a: Vec<Vec<T>>,
    /// Pre-activations `(P, out_l)`.
    pub z: Vec<Vec<T>>,
    /// σ′, σ″, σ‴ at the value rows `(R, out_l)`.
    pub d1: Vec<Vec<T>>,
    pub d2: Vec<Vec<T>>,
    pub d3: Vec<Vec<T>>,
    /// First-order kernel: tangent pre-activations ż_l `(N, out_l)`.
    pub zdot: Vec<Vec<T>>,
    /// First-order kernel: q_l = δ_{l+1}W_{l+1}ᵀ, the adjoint of the tangent ȧ_{l+1} `(N, out_l)`.
    pub q: Vec<Vec<T>>,
    /// Adjoints of the pre-activations `(P, out_l)`.
    pub bar: Vec<Vec<T>>,
    /// Adjoints of a layer's input `(P, in_l)`.
    pub scratch: Vec<T>,
    /// de/dt per sample `(N, F)`.
    pub de: Vec<f64>,
    /// Threads this workspace's passes may use (1 inside a data-parallel shard).
    pub threads: usize,
}

impl<T: Real> Workspace<T> {
    /// Makes room for `layers` layers.
    pub fn layers(&mut self, layers: usize) {
        for v in [
            &mut self.a,
            &mut self.z,
            &mut self.d1,
            &mut self.d2,
            &mut self.d3,
            &mut self.zdot,
            &mut self.q,
            &mut self.bar,
        ] {
            if v.len() < layers {
                v.resize_with(layers, Vec::new);
            }
        }
    }
}

/// Grows `v` to at least `len` elements (never shrinks, never clears: kernels overwrite).
pub(crate) fn room<T: Real>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::ZERO);
    }
    &mut v[..len]
}
