//! Euler–Maruyama for the SDE of entropic AM: dx = ∇s dt + ε_t dW (Eq. 10, 12).

use crate::ode::{check_state, ensure_finite, marks, Trajectory};
use crate::Result;
use am_core::{Diffusion, Error as CoreError, SeededRng, Tensor, VelocityField};

/// Simulates dx = v_t(x) dt + ε_t dW forward from `t0` to `t1 > t0` with `steps` Euler–Maruyama
/// steps over the interval, x ← x + v h + ε_t √h ξ, ξ ~ N(0, I) drawn from `rng` (seeded).
/// Saves at `save_at` (t₁ appended). Weak order 1 in h.
#[allow(clippy::too_many_arguments)]
pub fn euler_maruyama(
    field: &dyn VelocityField,
    diffusion: Diffusion,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    steps: usize,
    save_at: &[f64],
    rng: &mut SeededRng,
) -> Result<Trajectory> {
    check_state(x0, field.dim())?;
    diffusion.validate()?;
    if t1 <= t0 {
        return Err(CoreError::config("t1", "the SDE runs forward in time: need t1 > t0").into());
    }
    if steps == 0 {
        return Err(CoreError::config("steps", "must be ≥ 1").into());
    }
    let marks = marks(t0, t1, save_at)?;
    let mut x = x0.detach();
    let mut t = t0;
    let mut saved = Vec::with_capacity(marks.len());
    let (mut nfe, mut taken) = (0, 0);
    for &mark in &marks {
        let span = mark - t;
        if span > 0.0 {
            let n = ((steps as f64 * span / (t1 - t0)).round() as usize).max(1);
            let h = span / n as f64;
            for k in 0..n {
                let tk = t + k as f64 * h;
                let v = field.velocity(tk.clamp(0.0, 1.0), &x)?;
                let (eps, _) = diffusion.at(tk);
                let mut next = (&x + (v * h)?)?;
                if eps != 0.0 {
                    let xi = rng.normal_tensor(x.dims(), x.dtype(), x.device())?;
                    next = (next + (xi * (eps * h.sqrt()))?)?;
                }
                x = next.detach();
                nfe += 1;
                taken += 1;
                ensure_finite(&x, tk + h)?;
            }
            t = mark;
        }
        saved.push(x.clone());
    }
    Ok(Trajectory {
        times: marks,
        states: Tensor::stack(&saved, 0)?,
        nfe,
        steps: taken,
        rejected: 0,
    })
}
