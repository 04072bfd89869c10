//! Adaptive Dormand–Prince 5(4) with an embedded error estimate (the reference code's evaluation
//! sampler: rtol = atol = 1e-5).

use crate::ode::{check_state, ensure_finite, marks, velocity_rhs, Rhs, Trajectory};
use crate::{Error, Result};
use am_core::{Error as CoreError, Tensor, VelocityField};

/// Tolerances and step-size control of [`integrate_adaptive`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dopri5Config {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Safety factor on the optimal step (0 < safety < 1).
    pub safety: f64,
    /// Smallest step-size ratio between two steps.
    pub min_factor: f64,
    /// Largest step-size ratio between two steps.
    pub max_factor: f64,
    /// A step smaller than this fails with [`Error::StepUnderflow`].
    pub min_step: f64,
    /// At most this many steps (accepted + rejected).
    pub max_steps: usize,
}

impl Default for Dopri5Config {
    fn default() -> Self {
        Self {
            rtol: 1e-5,
            atol: 1e-5,
            safety: 0.9,
            min_factor: 0.2,
            max_factor: 10.0,
            min_step: 1e-12,
            max_steps: 100_000,
        }
    }
}

impl Dopri5Config {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("rtol", self.rtol),
            ("atol", self.atol),
            ("min_step", self.min_step),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(
                    CoreError::config(field, format!("must be finite and > 0, got {v}")).into(),
                );
            }
        }
        if !(self.safety > 0.0 && self.safety < 1.0) {
            return Err(CoreError::config(
                "safety",
                format!("must lie in (0, 1), got {}", self.safety),
            )
            .into());
        }
        if !(self.min_factor > 0.0
            && self.min_factor < 1.0
            && self.max_factor > 1.0
            && self.max_factor.is_finite())
        {
            return Err(CoreError::config(
                "min_factor",
                "need 0 < min_factor < 1 < max_factor < ∞",
            )
            .into());
        }
        if self.max_steps == 0 {
            return Err(CoreError::config("max_steps", "must be ≥ 1").into());
        }
        Ok(())
    }
}

// Dormand–Prince tableau: nodes, stages, 5th-order weights (FSAL), and b − b̂ for the error.
const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];
const A: [&[f64]; 7] = [
    &[],
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

fn combine(y: &Tensor, ks: &[Tensor], coef: &[f64], h: f64) -> Result<Tensor> {
    let mut acc = y.clone();
    for (k, &a) in ks.iter().zip(coef) {
        if a != 0.0 {
            acc = (acc + (k * (a * h))?)?;
        }
    }
    Ok(acc)
}

/// RMS over all elements of e / (atol + rtol·max(|y₀|, |y₁|)).
fn error_norm(err: &Tensor, y0: &Tensor, y1: &Tensor, c: &Dopri5Config) -> Result<f64> {
    let scale = (y0.abs()?.maximum(&y1.abs()?)? * c.rtol)?.affine(1.0, c.atol)?;
    let r = (err / scale)?
        .sqr()?
        .mean_all()?
        .to_dtype(am_core::DType::F64)?
        .to_scalar::<f64>()?;
    Ok(r.sqrt())
}

/// Hairer, Nørsett & Wanner's starting step (Solving ODEs I, II.4).
fn initial_step(
    rhs: &Rhs<'_>,
    t0: f64,
    y0: &Tensor,
    f0: &Tensor,
    dir: f64,
    c: &Dopri5Config,
) -> Result<(f64, usize)> {
    let scale = (y0.abs()? * c.rtol)?.affine(1.0, c.atol)?;
    let rms = |v: &Tensor| -> Result<f64> {
        Ok((v / &scale)?
            .sqr()?
            .mean_all()?
            .to_dtype(am_core::DType::F64)?
            .to_scalar::<f64>()?
            .sqrt())
    };
    let (d0, d1) = (rms(y0)?, rms(f0)?);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let y1 = (y0 + (f0 * (dir * h0))?)?;
    let f1 = rhs(t0 + dir * h0, &y1)?;
    let d2 = rms(&(f1 - f0)?)? / h0;
    let h1 = if d1.max(d2) <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(0.2)
    };
    Ok(((100.0 * h0).min(h1), 1))
}

/// Adaptive Dormand–Prince 5(4) on a right-hand side: one step size for the whole batch,
/// steps clipped to land on every saved time.
pub(crate) fn run_adaptive(
    rhs: &Rhs<'_>,
    y0: &Tensor,
    t0: f64,
    t1: f64,
    c: &Dopri5Config,
    save_at: &[f64],
) -> Result<Trajectory> {
    c.validate()?;
    let marks = marks(t0, t1, save_at)?;
    let dir = (t1 - t0).signum();
    let mut y = y0.detach();
    let mut t = t0;
    let mut f = rhs(t, &y)?.detach();
    let (mut h, extra) = initial_step(rhs, t0, &y, &f, dir, c)?;
    let (mut nfe, mut accepted, mut rejected) = (1 + extra, 0usize, 0usize);
    let mut saved = Vec::with_capacity(marks.len());
    for &mark in &marks {
        while (mark - t) * dir > 0.0 {
            if accepted + rejected >= c.max_steps {
                return Err(CoreError::config(
                    "max_steps",
                    format!("exceeded {} steps at t = {t}", c.max_steps),
                )
                .into());
            }
            let remaining = (mark - t).abs();
            let hs = h.min(remaining);
            if hs < c.min_step && hs < remaining {
                return Err(Error::StepUnderflow { t, h: hs });
            }
            let hd = dir * hs;
            let mut ks = vec![f.clone()];
            for s in 1..7 {
                let ys = combine(&y, &ks, A[s], hd)?;
                ks.push(rhs(t + C[s] * hd, &ys)?.detach());
            }
            nfe += 6;
            let y_new = combine(&y, &ks[..6], A[6], hd)?.detach();
            let err = combine(&y.zeros_like()?, &ks, &E, hd)?;
            let en = error_norm(&err, &y, &y_new, c)?;
            if en.is_finite() && en <= 1.0 {
                t = if hs == remaining { mark } else { t + hd };
                y = y_new;
                f = ks.pop().expect("seven stages");
                accepted += 1;
                let factor = if en == 0.0 {
                    c.max_factor
                } else {
                    (c.safety * en.powf(-0.2)).clamp(c.min_factor, c.max_factor)
                };
                // do not let the clipped last step shrink the next one
                h = (if hs < h { h } else { hs }) * factor;
            } else {
                rejected += 1;
                let factor = if en.is_finite() {
                    (c.safety * en.powf(-0.2)).clamp(c.min_factor, 1.0)
                } else {
                    c.min_factor
                };
                h = hs * factor;
                if h < c.min_step {
                    if !en.is_finite() {
                        return Err(Error::NonFinite { t: t + hd });
                    }
                    return Err(Error::StepUnderflow { t, h });
                }
            }
        }
        ensure_finite(&y, t)?;
        saved.push(y.clone());
    }
    Ok(Trajectory {
        times: marks,
        states: Tensor::stack(&saved, 0)?,
        nfe,
        steps: accepted,
        rejected,
    })
}

/// Integrates dx/dt = v_t(x) with adaptive Dormand–Prince 5(4) from `t0` to `t1` (either
/// direction), saving the state at `save_at` (t₁ appended if absent). The error is measured as
/// the RMS over the whole batch of e/(atol + rtol·max(|x|, |x_new|)); a step is accepted when it
/// is ≤ 1 and the next step is h·clamp(safety·err^{−1/5}, min_factor, max_factor). Fails with
/// [`Error::StepUnderflow`] when the step would fall below `min_step`.
pub fn integrate_adaptive(
    field: &dyn VelocityField,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    config: Dopri5Config,
    save_at: &[f64],
) -> Result<Trajectory> {
    check_state(x0, field.dim())?;
    run_adaptive(&velocity_rhs(field), x0, t0, t1, &config, save_at)
}
