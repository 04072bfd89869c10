//! Adam over the flat parameter buffer, one streaming pass per layer (called by the backward
//! pass right after a layer's gradient is complete, while it is still in cache).

use super::Real;
use am_core::train::AdamConfig;
use am_core::{Error as CoreError, Result as CoreResult};
use std::ops::Range;

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

    /// Starts a step (advances the bias corrections).
    pub(crate) fn begin(&mut self) {
        self.step += 1;
    }

    /// The update of `range` (call [`FusedAdam::begin`] once per step first).
    pub(crate) fn update(&mut self, params: &mut [T], grad: &[T], range: Range<usize>, lr: f64) {
        let c = self.config;
        let k = self.step.min(i32::MAX as u64) as i32;
        let inv_bc1 = T::of(1.0 / (1.0 - c.beta1.powi(k)));
        let inv_bc2 = T::of(1.0 / (1.0 - c.beta2.powi(k)));
        let (b1, b2) = (T::of(c.beta1), T::of(c.beta2));
        let (c1, c2) = (T::of(1.0 - c.beta1), T::of(1.0 - c.beta2));
        let (eps, lr_t) = (T::of(c.eps), T::of(lr));
        let decay = T::of(1.0 - lr * c.weight_decay);
        let it = params[range.clone()]
            .iter_mut()
            .zip(&grad[range.clone()])
            .zip(&mut self.m[range.clone()])
            .zip(&mut self.v[range]);
        pulp::Arch::new().dispatch(|| {
            for (((p, g), m), v) in it {
                *m = b1 * *m + c1 * *g;
                *v = b2 * *v + c2 * *g * *g;
                let denom = (*v * inv_bc2).sqrt() + eps;
                *p = *p * decay - lr_t * (*m * inv_bc1) / denom;
            }
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
        self.begin();
        self.update(params, grad, 0..params.len(), lr);
        Ok(())
    }
}
