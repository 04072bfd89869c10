//! Adam over the flat parameter buffer: one streaming pass over parameters, gradient and moments.

use super::Real;
use am_core::train::AdamConfig;
use am_core::{Error as CoreError, Result as CoreResult};

/// Adam (the update of [`am_core::train::Adam`], same hyper-parameters) with moments in host
/// memory laid out like [`super::FusedMlp::params`].
#[derive(Debug, Clone)]
pub struct FusedAdam<T> {
    config: AdamConfig,
    m: Vec<T>,
    v: Vec<T>,
    step: u64,
}

impl<T: Real> FusedAdam<T> {
    /// Zero moments for `len` parameters; the configuration is validated.
    pub fn new(len: usize, config: AdamConfig) -> CoreResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            m: vec![T::ZERO; len],
            v: vec![T::ZERO; len],
            step: 0,
        })
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// First and second moments.
    pub fn moments(&self) -> (&[T], &[T]) {
        (&self.m, &self.v)
    }

    /// Restores moments and step count (lengths checked).
    pub fn restore(&mut self, m: Vec<T>, v: Vec<T>, step: u64) -> CoreResult<()> {
        if m.len() != self.m.len() || v.len() != self.v.len() {
            return Err(CoreError::Shape {
                arg: "moments",
                expected: format!("({},)", self.m.len()),
                got: vec![m.len(), v.len()],
            });
        }
        self.m = m;
        self.v = v;
        self.step = step;
        Ok(())
    }

    /// One update of `params` from `grad` (lengths checked by the callers), in chunks over
    /// rayon's threads, each one streaming pass over parameters, gradient and moments.
    pub(crate) fn step(&mut self, params: &mut [T], grad: &[T], lr: f64) {
        self.step += 1;
        let c = self.config;
        let k = self.step.min(i32::MAX as u64) as i32;
        let h = Hyper {
            inv_bc1: T::of(1.0 / (1.0 - c.beta1.powi(k))),
            inv_bc2: T::of(1.0 / (1.0 - c.beta2.powi(k))),
            b1: T::of(c.beta1),
            b2: T::of(c.beta2),
            c1: T::of(1.0 - c.beta1),
            c2: T::of(1.0 - c.beta2),
            eps: T::of(c.eps),
            lr: T::of(lr),
            decay: T::of(1.0 - lr * c.weight_decay),
        };
        let jobs: Vec<_> = params
            .chunks_mut(CHUNK)
            .zip(grad.chunks(CHUNK))
            .zip(self.m.chunks_mut(CHUNK))
            .zip(self.v.chunks_mut(CHUNK))
            .collect();
        super::blocks::run(jobs, |(((p, g), m), v)| {
            // long runs decay v of idle parameters into subnormals
            let _ftz = super::denormal::FlushDenormals::new();
            super::blocks::simd_kernel(AdamChunk { p, g, m, v, h })
        });
    }

    /// One full update of `params` from `grad` (for a gradient computed separately, e.g. clipped).
    pub fn apply(&mut self, params: &mut [T], grad: &[T], lr: f64) -> CoreResult<()> {
        if params.len() != self.m.len() || grad.len() != self.m.len() {
            return Err(CoreError::Shape {
                arg: "params",
                expected: format!("({},)", self.m.len()),
                got: vec![params.len(), grad.len()],
            });
        }
        self.step(params, grad, lr);
        Ok(())
    }
}

const CHUNK: usize = 1 << 14;

#[derive(Clone, Copy)]
struct Hyper<T> {
    inv_bc1: T,
    inv_bc2: T,
    b1: T,
    b2: T,
    c1: T,
    c2: T,
    eps: T,
    lr: T,
    decay: T,
}

/// One chunk of [`FusedAdam::step`], compiled under run-time SIMD dispatch.
struct AdamChunk<'a, T> {
    p: &'a mut [T],
    g: &'a [T],
    m: &'a mut [T],
    v: &'a mut [T],
    h: Hyper<T>,
}

impl<T: Real> pulp::WithSimd for AdamChunk<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { p, g, m, v, h } = self;
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = h.b1 * *m + h.c1 * *g;
            *v = h.b2 * *v + h.c2 * *g * *g;
            let denom = (*v * h.inv_bc2).sqrt() + h.eps;
            *p = *p * h.decay - h.lr * (*m * h.inv_bc1) / denom;
        }
    }
}

/// out = Σ parts; returns ‖out‖² (accumulated in f64).
pub(crate) fn sum_into<T: Real>(out: &mut [T], parts: &[&[T]]) -> f64 {
    out.copy_from_slice(parts[0]);
    for part in &parts[1..] {
        for (o, x) in out.iter_mut().zip(part.iter()) {
            *o += *x;
        }
    }
    out.iter().map(|g| g.f64() * g.f64()).sum()
}
