//! Training utilities: Adam with savable moments, EMA of parameters, linear warm-up and
//! gradient clipping (global norm and element-wise), as the reference runs use them.

use crate::{check, Error, Result, Tensor, Var};
use candle_core::backprop::GradStore;

/// Adam hyper-parameters (Kingma & Ba). The reference runs use Adam without weight decay.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Base learning rate (before warm-up).
    pub lr: f64,
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// ε in the denominator.
    pub eps: f64,
    /// Decoupled weight decay (AdamW); 0 gives plain Adam.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks every field before any tensor is touched.
    pub fn validate(&self) -> Result<()> {
        check::positive("lr", self.lr)
            .map_err(|_| Error::config("lr", format!("must be > 0, got {}", self.lr)))?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::config(name, format!("must lie in [0, 1), got {b}")));
            }
        }
        if self.eps.is_nan() || self.eps <= 0.0 {
            return Err(Error::config(
                "eps",
                format!("must be > 0, got {}", self.eps),
            ));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(Error::config(
                "weight_decay",
                format!("must be ≥ 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }
}

/// Adam over a list of variables, with moments that can be saved and restored.
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: u64,
    config: AdamConfig,
}

impl Adam {
    /// A fresh optimiser (zero moments).
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        config.validate()?;
        let m = vars
            .iter()
            .map(|v| v.zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = vars
            .iter()
            .map(|v| v.zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            vars,
            m,
            v,
            step: 0,
            config,
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

    /// The optimised variables.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// First and second moments, in the order of [`Adam::vars`].
    pub fn moments(&self) -> (&[Tensor], &[Tensor]) {
        (&self.m, &self.v)
    }

    /// Restores moments and step count saved from an identical optimiser.
    pub fn restore(&mut self, m: Vec<Tensor>, v: Vec<Tensor>, step: u64) -> Result<()> {
        if m.len() != self.vars.len() || v.len() != self.vars.len() {
            return Err(Error::config(
                "moments",
                "count differs from the number of variables",
            ));
        }
        for ((var, a), b) in self.vars.iter().zip(&m).zip(&v) {
            if a.dims() != var.dims() || b.dims() != var.dims() {
                return Err(Error::Shape {
                    arg: "moments",
                    expected: format!("{:?}", var.dims()),
                    got: a.dims().to_vec(),
                });
            }
        }
        self.m = m;
        self.v = v;
        self.step = step;
        Ok(())
    }

    /// One update with learning rate `lr` (e.g. from [`Warmup`]); variables without a gradient
    /// are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        let grads: Vec<Option<Tensor>> = self
            .vars
            .iter()
            .map(|v| grads.get(v.as_tensor()).map(Tensor::detach))
            .collect();
        self.update(&grads, lr)
    }

    /// One update with gradients given in the order of [`Adam::vars`], each shaped like its
    /// variable (e.g. gradients summed across processes by data-parallel training).
    pub fn step_with(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        if grads.len() != self.vars.len() {
            return Err(Error::Shape {
                arg: "grads",
                expected: format!("{} tensors (one per variable)", self.vars.len()),
                got: vec![grads.len()],
            });
        }
        for (var, g) in self.vars.iter().zip(grads) {
            if g.dims() != var.dims() {
                return Err(Error::Shape {
                    arg: "grads",
                    expected: format!("{:?}", var.dims()),
                    got: g.dims().to_vec(),
                });
            }
        }
        let grads: Vec<Option<Tensor>> = grads.iter().map(|g| Some(g.detach())).collect();
        self.update(&grads, lr)
    }

    fn update(&mut self, grads: &[Option<Tensor>], lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        for (((var, m), v), g) in self
            .vars
            .iter()
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
            .zip(grads)
        {
            let Some(g) = g else {
                continue;
            };
            *m = ((&*m * c.beta1)? + (g * (1.0 - c.beta1))?)?;
            *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let denom = ((&*v / bc2)?.sqrt()? + c.eps)?;
            let update = ((&*m / bc1)? / denom)?;
            let theta = var.as_tensor().detach();
            let theta = if c.weight_decay > 0.0 {
                (&theta * (1.0 - lr * c.weight_decay))?
            } else {
                theta
            };
            var.set(&(theta - (update * lr)?)?)?;
        }
        Ok(())
    }
}

/// Linear warm-up of the learning rate from 0 to `lr` over `steps` steps, then constant
/// (the reference schedule), optionally followed by cosine decay to `lr·floor` at `total`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Warmup {
    /// Peak learning rate.
    pub lr: f64,
    /// Warm-up length in steps (0: none).
    pub steps: u64,
    /// Total steps for cosine decay after warm-up; `None`: constant after warm-up.
    pub cosine_total: Option<u64>,
    /// Final fraction of `lr` reached by the cosine decay.
    pub floor: f64,
}

impl Warmup {
    /// Learning rate at (1-based) step `k`.
    pub fn lr_at(&self, k: u64) -> f64 {
        if self.steps > 0 && k <= self.steps {
            return self.lr * k as f64 / self.steps as f64;
        }
        match self.cosine_total {
            Some(total) if total > self.steps => {
                let p = ((k - self.steps) as f64 / (total - self.steps) as f64).min(1.0);
                let c = 0.5 * (1.0 + (std::f64::consts::PI * p).cos());
                self.lr * (self.floor + (1.0 - self.floor) * c)
            }
            _ => self.lr,
        }
    }
}

/// Gradient clipping before the optimiser step.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Clip {
    /// No clipping.
    #[default]
    None,
    /// Scale the whole gradient to global ℓ2 norm ≤ the value (PyTorch's convention: by
    /// max/(‖g‖ + 1e-6) when ‖g‖ exceeds it; the reference MLP runs clip at 1).
    GlobalNorm(f64),
    /// Clamp every element to [−c, c] (the reference image runs clip at 1).
    Value(f64),
}

impl Clip {
    /// Checks that the threshold is positive and finite.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Clip::None => Ok(()),
            Clip::GlobalNorm(c) | Clip::Value(c) => {
                if c > 0.0 && c.is_finite() {
                    Ok(())
                } else {
                    Err(Error::config(
                        "clip",
                        format!("the threshold must be finite and > 0, got {c}"),
                    ))
                }
            }
        }
    }

    /// Applies the clipping to a flat gradient whose global norm is `norm` (the same conventions
    /// as [`Clip::apply`]; e.g. a gradient summed across processes).
    pub fn apply_flat(&self, grad: &mut [f64], norm: f64) {
        match *self {
            Clip::None => {}
            Clip::GlobalNorm(c) => {
                if norm > c {
                    let scale = c / (norm + 1e-6);
                    grad.iter_mut().for_each(|g| *g *= scale);
                }
            }
            Clip::Value(c) => grad.iter_mut().for_each(|g| *g = g.clamp(-c, c)),
        }
    }

    /// Applies the clipping to candle gradients of `vars` whose global norm is `norm`.
    pub fn apply(&self, grads: &mut GradStore, vars: &[Var], norm: f64) -> Result<()> {
        match *self {
            Clip::None => Ok(()),
            Clip::GlobalNorm(c) => {
                if norm > c {
                    let scale = c / (norm + 1e-6);
                    for var in vars {
                        if let Some(g) = grads.get(var.as_tensor()) {
                            let g = (g * scale)?;
                            grads.insert(var.as_tensor(), g);
                        }
                    }
                }
                Ok(())
            }
            Clip::Value(c) => clip_grad_value(grads, vars, c),
        }
    }
}

/// Global ℓ2 norm of the gradients of `vars` (variables without a gradient count as zero).
pub fn grad_norm(grads: &GradStore, vars: &[Var]) -> Result<f64> {
    let mut total = 0.0;
    for var in vars {
        if let Some(g) = grads.get(var.as_tensor()) {
            total += g
                .sqr()?
                .sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()?;
        }
    }
    Ok(total.sqrt())
}

/// Scales all gradients so that their global norm is at most `max_norm`; returns the norm before
/// clipping. A non-finite norm is reported as an error, leaving the gradients untouched.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    check::positive("max_norm", max_norm)?;
    let norm = grad_norm(grads, vars)?;
    if !norm.is_finite() {
        return Err(Error::NonFinite {
            arg: "gradient norm",
            value: norm,
            index: 0,
        });
    }
    if norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for var in vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                let g = (g * scale)?;
                grads.insert(var.as_tensor(), g);
            }
        }
    }
    Ok(norm)
}

/// Clamps every gradient element to [−c, c] (the image runs' element-wise clipping).
pub fn clip_grad_value(grads: &mut GradStore, vars: &[Var], c: f64) -> Result<()> {
    check::positive("c", c)?;
    for var in vars {
        if let Some(g) = grads.get(var.as_tensor()) {
            let g = g.clamp(-c, c)?;
            grads.insert(var.as_tensor(), g);
        }
    }
    Ok(())
}

/// Exponential moving average of parameters: θ̄ ← β θ̄ + (1 − β) θ.
#[derive(Debug)]
pub struct Ema {
    decay: f64,
    shadow: Vec<Tensor>,
}

impl Ema {
    /// Starts the average at the current values of `vars`.
    pub fn new(vars: &[Var], decay: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&decay) {
            return Err(Error::config(
                "decay",
                format!("must lie in [0, 1), got {decay}"),
            ));
        }
        let shadow = vars
            .iter()
            .map(|v| v.as_tensor().detach().copy())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { decay, shadow })
    }

    /// Folds the current values of `vars` into the average.
    pub fn update(&mut self, vars: &[Var]) -> Result<()> {
        if vars.len() != self.shadow.len() {
            return Err(Error::config("vars", "count differs from the EMA's"));
        }
        for (s, v) in self.shadow.iter_mut().zip(vars) {
            *s = ((&*s * self.decay)? + (v.as_tensor().detach() * (1.0 - self.decay))?)?;
        }
        Ok(())
    }

    /// The averaged values, in the order of the variables.
    pub fn values(&self) -> &[Tensor] {
        &self.shadow
    }

    /// Restores averaged values saved earlier.
    pub fn restore(&mut self, values: Vec<Tensor>) -> Result<()> {
        if values.len() != self.shadow.len() {
            return Err(Error::config("values", "count differs from the EMA's"));
        }
        self.shadow = values;
        Ok(())
    }

    /// Copies the averaged values into `vars` (e.g. into a second model used for evaluation).
    pub fn copy_into(&self, vars: &[Var]) -> Result<()> {
        for (s, v) in self.shadow.iter().zip(vars) {
            v.set(s)?;
        }
        Ok(())
    }
}
