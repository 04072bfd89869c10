//! Annealed Langevin dynamics with a score model: the baseline sampler of the paper's Tables 2
//! and 3 (Algorithms 3 and 4).

use crate::ode::Trajectory;
use crate::Result;
use am_core::{check, Error as CoreError, ScoreField, SeededRng, Tensor};

/// The step size of the inner Langevin steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LangevinSchedule {
    /// Algorithm 3 (Schrödinger equation): a constant step `dt` at every time.
    Constant {
        /// The step size.
        dt: f64,
    },
    /// Algorithm 4 (images): α = α₁(1 − t)² at time t, then `final_steps` extra steps with α₁
    /// at t = 1.
    Image {
        /// α₁.
        alpha1: f64,
        /// Extra steps at t = 1.
        final_steps: usize,
    },
    /// Algorithm 4 with its final steps taken at the last time t_K of `times` with that time's
    /// step α₁(1 − t_K)²: the pseudocode's final α = α₁ at t = 1 is its largest step where q_t
    /// is sharpest (and a score model trained for t ≤ t_K is not defined at t = 1).
    ImageLastLevel {
        /// α₁.
        alpha1: f64,
        /// Extra steps at t_K.
        final_steps: usize,
    },
}

/// Runs, for each time t_k of `times` in order, `inner` Langevin steps
/// x ← x + (α/2)∇log q_{t_k}(x) + √α ξ and saves the particles (Algorithms 3–4).
pub fn annealed_langevin(
    score: &dyn ScoreField,
    x0: &Tensor,
    times: &[f64],
    schedule: LangevinSchedule,
    inner: usize,
    rng: &mut SeededRng,
) -> Result<Trajectory> {
    let (_, d) = check::points("x0", x0)?;
    if d != score.dim() {
        return Err(CoreError::Shape {
            arg: "x0",
            expected: format!("(N, {})", score.dim()),
            got: x0.dims().to_vec(),
        }
        .into());
    }
    if times.is_empty() {
        return Err(CoreError::Empty { arg: "times" }.into());
    }
    for &t in times {
        if !(0.0..=1.0).contains(&t) {
            return Err(CoreError::OutOfRange {
                arg: "times",
                value: t,
                allowed: "[0, 1]",
            }
            .into());
        }
    }
    if inner == 0 {
        return Err(CoreError::config("inner", "must be ≥ 1").into());
    }
    let alpha_at = |t: f64| match schedule {
        LangevinSchedule::Constant { dt } => dt,
        LangevinSchedule::Image { alpha1, .. }
        | LangevinSchedule::ImageLastLevel { alpha1, .. } => alpha1 * (1.0 - t).powi(2),
    };
    let base = match schedule {
        LangevinSchedule::Constant { dt } => dt,
        LangevinSchedule::Image { alpha1, .. }
        | LangevinSchedule::ImageLastLevel { alpha1, .. } => alpha1,
    };
    am_core::check::positive("step size", base)?;
    let mut x = x0.detach();
    let mut nfe = 0;
    let mut langevin = |x: &Tensor, t: f64, alpha: f64, nfe: &mut usize| -> Result<Tensor> {
        let s = score.score(t, x)?;
        *nfe += 1;
        let xi = rng.normal_tensor(x.dims(), x.dtype(), x.device())?;
        let next = ((x + (s * (0.5 * alpha))?)? + (xi * alpha.sqrt())?)?.detach();
        crate::ode::ensure_finite(&next, t)?;
        Ok(next)
    };
    let mut saved = Vec::with_capacity(times.len());
    for &t in times {
        let alpha = alpha_at(t);
        if alpha > 0.0 {
            for _ in 0..inner {
                x = langevin(&x, t, alpha, &mut nfe)?;
            }
        }
        saved.push(x.clone());
    }
    let last_t = times[times.len() - 1];
    let last = match schedule {
        LangevinSchedule::Constant { .. } => None,
        LangevinSchedule::Image {
            alpha1,
            final_steps,
        } => Some((1.0, alpha1, final_steps)),
        LangevinSchedule::ImageLastLevel { final_steps, .. } => {
            Some((last_t, alpha_at(last_t), final_steps))
        }
    };
    if let Some((t, alpha, steps)) = last {
        if alpha > 0.0 {
            for _ in 0..steps {
                x = langevin(&x, t, alpha, &mut nfe)?;
            }
        }
        if let Some(last) = saved.last_mut() {
            *last = x.clone();
        }
    }
    let steps = nfe;
    Ok(Trajectory {
        times: times.to_vec(),
        states: Tensor::stack(&saved, 0)?,
        nfe,
        steps,
        rejected: 0,
    })
}
