//! Fixed-step ODE integrators over particle batches.

use crate::{Error, Result};
use am_core::{check, Error as CoreError, Tensor, VelocityField};

/// A fixed-step scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// Explicit Euler, order 1, 1 evaluation per step.
    Euler,
    /// Heun (explicit trapezoid), order 2, 2 evaluations per step.
    Heun,
    /// Classical Runge–Kutta, order 4, 4 evaluations per step.
    #[default]
    Rk4,
}

impl Method {
    /// Velocity evaluations per step.
    pub fn evaluations_per_step(&self) -> usize {
        match self {
            Method::Euler => 1,
            Method::Heun => 2,
            Method::Rk4 => 4,
        }
    }
}

/// Scheme and resolution: `steps` steps over the whole interval [t₀, t₁].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OdeConfig {
    /// The scheme.
    pub method: Method,
    /// Steps over |t₁ − t₀| (segments between saved times get their share, at least one).
    pub steps: usize,
}

impl Default for OdeConfig {
    fn default() -> Self {
        Self {
            method: Method::Rk4,
            steps: 100,
        }
    }
}

/// States at the saved times.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// The saved times, in integration order.
    pub times: Vec<f64>,
    /// `(K, N, D)`: the particles at each saved time.
    pub states: Tensor,
    /// Velocity evaluations spent.
    pub nfe: usize,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps (adaptive methods only).
    pub rejected: usize,
}

/// The right-hand side f(t, y) of dy/dt = f(t, y) for a batch state y `(N, K)`.
pub(crate) type Rhs<'a> = dyn Fn(f64, &Tensor) -> Result<Tensor> + 'a;

impl Trajectory {
    /// The particles `(N, D)` at saved time index `k`.
    pub fn at(&self, k: usize) -> Result<Tensor> {
        Ok(self.states.get(k)?)
    }

    /// The particles at the last saved time.
    pub fn last(&self) -> Result<Tensor> {
        self.at(self.times.len() - 1)
    }
}

pub(crate) fn step(v: &Rhs<'_>, method: Method, t: f64, h: f64, x: &Tensor) -> Result<Tensor> {
    Ok(match method {
        Method::Euler => (x + (v(t, x)? * h)?)?,
        Method::Heun => {
            let k1 = v(t, x)?;
            let k2 = v(t + h, &(x + (&k1 * h)?)?)?;
            (x + ((k1 + k2)? * (0.5 * h))?)?
        }
        Method::Rk4 => {
            let k1 = v(t, x)?;
            let k2 = v(t + 0.5 * h, &(x + (&k1 * (0.5 * h))?)?)?;
            let k3 = v(t + 0.5 * h, &(x + (&k2 * (0.5 * h))?)?)?;
            let k4 = v(t + h, &(x + (&k3 * h)?)?)?;
            let sum = (((k1 + (k2 * 2.0)?)? + (k3 * 2.0)?)? + k4)?;
            (x + (sum * (h / 6.0))?)?
        }
    })
}

/// The saved times for an integration from `t0` to `t1`: `save_at` checked to lie between them in
/// integration order, with t₁ appended if absent.
pub(crate) fn marks(t0: f64, t1: f64, save_at: &[f64]) -> Result<Vec<f64>> {
    for (arg, t) in [("t0", t0), ("t1", t1)] {
        if !(0.0..=1.0).contains(&t) {
            return Err(CoreError::OutOfRange {
                arg,
                value: t,
                allowed: "[0, 1]",
            }
            .into());
        }
    }
    if t0 == t1 {
        return Err(CoreError::config("t1", "must differ from t0").into());
    }
    let dir = (t1 - t0).signum();
    let mut marks: Vec<f64> = save_at.to_vec();
    for (i, &s) in marks.iter().enumerate() {
        let inside = (s - t0) * dir >= 0.0 && (t1 - s) * dir >= 0.0;
        if !s.is_finite() || !inside {
            return Err(CoreError::OutOfRange {
                arg: "save_at",
                value: s,
                allowed: "between t0 and t1",
            }
            .into());
        }
        if i > 0 && (s - marks[i - 1]) * dir < 0.0 {
            return Err(CoreError::config("save_at", "times must be in integration order").into());
        }
    }
    if marks.last().is_none_or(|&s| s != t1) {
        marks.push(t1);
    }
    Ok(marks)
}

/// Checks that the initial state matches the field's dimension.
pub(crate) fn check_state(x0: &Tensor, dim: usize) -> Result<()> {
    let (_, d) = check::points("x0", x0)?;
    if d != dim {
        return Err(CoreError::Shape {
            arg: "x0",
            expected: format!("(N, {dim})"),
            got: x0.dims().to_vec(),
        }
        .into());
    }
    Ok(())
}

/// Fails with [`Error::NonFinite`] when `y` holds NaN or ±∞ (one reduction, no copy).
pub(crate) fn ensure_finite(y: &Tensor, t: f64) -> Result<()> {
    let norm = y
        .sqr()?
        .sum_all()?
        .to_dtype(am_core::DType::F64)?
        .to_scalar::<f64>()?;
    if norm.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite { t })
    }
}

/// The velocity of a field as a right-hand side (time clamped into [0, 1] against rounding).
pub(crate) fn velocity_rhs(
    field: &dyn VelocityField,
) -> impl Fn(f64, &Tensor) -> Result<Tensor> + '_ {
    move |t, x| Ok(field.velocity(t.clamp(0.0, 1.0), x)?)
}

/// Fixed-step integration of a right-hand side with saved states.
pub(crate) fn run_fixed(
    rhs: &Rhs<'_>,
    y0: &Tensor,
    t0: f64,
    t1: f64,
    config: OdeConfig,
    save_at: &[f64],
) -> Result<Trajectory> {
    if config.steps == 0 {
        return Err(CoreError::config("steps", "must be ≥ 1").into());
    }
    let marks = marks(t0, t1, save_at)?;
    let total = (t1 - t0).abs();
    let mut y = y0.detach();
    let mut t = t0;
    let mut saved = Vec::with_capacity(marks.len());
    let (mut nfe, mut steps) = (0, 0);
    for &mark in &marks {
        let span = mark - t;
        if span != 0.0 {
            let n = ((config.steps as f64 * span.abs() / total).round() as usize).max(1);
            let h = span / n as f64;
            for k in 0..n {
                let tk = t + k as f64 * h;
                y = step(rhs, config.method, tk, h, &y)?.detach();
                nfe += config.method.evaluations_per_step();
                steps += 1;
                ensure_finite(&y, tk + h)?;
            }
            t = mark;
        }
        saved.push(y.clone());
    }
    Ok(Trajectory {
        times: marks,
        states: Tensor::stack(&saved, 0)?,
        nfe,
        steps,
        rejected: 0,
    })
}

/// Integrates dx/dt = v_t(x) (Eq. 1; Eq. 8 with v = ∇s) from `t0` to `t1` (either direction)
/// starting at `x0` `(N, D)`, saving the state at each time of `save_at` (between t₀ and t₁, in
/// integration order; t₁ is saved if absent). Fails with [`Error::NonFinite`] naming the time when
/// the state stops being finite.
pub fn integrate(
    field: &dyn VelocityField,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    config: OdeConfig,
    save_at: &[f64],
) -> Result<Trajectory> {
    check_state(x0, field.dim())?;
    run_fixed(&velocity_rhs(field), x0, t0, t1, config, save_at)
}
