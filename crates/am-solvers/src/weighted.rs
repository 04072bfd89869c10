//! Weighted particles of unbalanced AM: dx/dt = ∇s, d log w/dt = λ·s (Eq. 18–19 with the λ of
//! Eq. 69), log-weights kept in log space.

use crate::ode::{check_state, run_fixed, OdeConfig, Trajectory};
use crate::Result;
use am_core::{Error as CoreError, SeededRng, Tensor, VelocityField};

/// Positions and log-weights at the saved times.
#[derive(Debug, Clone)]
pub struct WeightedTrajectory {
    /// The saved times.
    pub times: Vec<f64>,
    /// `(K, N, D)` positions.
    pub x: Tensor,
    /// `(K, N, 1)` unnormalised log-weights.
    pub log_w: Tensor,
    /// Velocity (and growth) evaluations.
    pub nfe: usize,
}

/// Integrates the weighted ODE (Eq. 18–19) with a fixed-step scheme: the state [x, log w] moves by
/// [v_t(x), g_t(x)], g the field's growth rate (zero if it has none). `log_w0` defaults to 0.
pub fn integrate_weighted(
    field: &dyn VelocityField,
    x0: &Tensor,
    log_w0: Option<&Tensor>,
    t0: f64,
    t1: f64,
    config: OdeConfig,
    save_at: &[f64],
) -> Result<WeightedTrajectory> {
    check_state(x0, field.dim())?;
    let (n, d) = (x0.dim(0)?, x0.dim(1)?);
    let lw = match log_w0 {
        Some(w) if w.dims() == [n, 1] => w.to_dtype(x0.dtype())?,
        Some(w) => {
            return Err(CoreError::Shape {
                arg: "log_w0",
                expected: format!("({n}, 1)"),
                got: w.dims().to_vec(),
            }
            .into())
        }
        None => Tensor::zeros((n, 1), x0.dtype(), x0.device())?,
    };
    let y0 = Tensor::cat(&[x0, &lw], 1)?;
    let rhs = |t: f64, y: &Tensor| -> Result<Tensor> {
        let t = t.clamp(0.0, 1.0);
        let x = y.narrow(1, 0, d)?;
        let (v, g) = field.velocity_growth(t, &x)?;
        let g = match g {
            Some(g) => g,
            None => Tensor::zeros((y.dim(0)?, 1), y.dtype(), y.device())?,
        };
        Ok(Tensor::cat(&[&v, &g], 1)?)
    };
    let Trajectory {
        times, states, nfe, ..
    } = run_fixed(&rhs, &y0, t0, t1, config, save_at)?;
    Ok(WeightedTrajectory {
        times,
        x: states.narrow(2, 0, d)?,
        log_w: states.narrow(2, d, 1)?,
        nfe,
    })
}

/// Self-normalised weights w_i / Σ_j w_j `(N, 1)` from log-weights `(N, 1)`, computed stably;
/// an empty, misshapen or non-finite (NaN, +∞) input is an error.
pub fn normalized_weights(log_w: &Tensor) -> Result<Tensor> {
    check_log_weights(log_w, None)?;
    let m = log_w.max_keepdim(0)?;
    let w = log_w.broadcast_sub(&m)?.exp()?;
    Ok(w.broadcast_div(&w.sum_keepdim(0)?)?)
}

/// Effective sample size (Σw)² / Σw² of log-weights `(N, 1)`.
pub fn effective_sample_size(log_w: &Tensor) -> Result<f64> {
    let w = normalized_weights(log_w)?;
    let s2 = w
        .sqr()?
        .sum_all()?
        .to_dtype(am_core::DType::F64)?
        .to_scalar::<f64>()?;
    Ok(1.0 / s2)
}

/// Log-weights must be `(N, 1)` (N rows like the particles, when given), finite or −∞, with at
/// least one finite.
fn check_log_weights(log_w: &Tensor, rows: Option<usize>) -> Result<()> {
    let n = match log_w.dims() {
        [0, 1] => return Err(CoreError::Empty { arg: "log_w" }.into()),
        [n, 1] if rows.is_none_or(|r| r == *n) => *n,
        _ => {
            return Err(CoreError::Shape {
                arg: "log_w",
                expected: match rows {
                    Some(r) => format!("({r}, 1) like x"),
                    None => "(N, 1)".into(),
                },
                got: log_w.dims().to_vec(),
            }
            .into())
        }
    };
    let v: Vec<f64> = log_w
        .flatten_all()?
        .to_dtype(am_core::DType::F64)?
        .to_vec1()?;
    if let Some((index, &value)) = v
        .iter()
        .enumerate()
        .find(|(_, w)| w.is_nan() || **w == f64::INFINITY)
    {
        return Err(CoreError::NonFinite {
            arg: "log_w",
            value,
            index,
        }
        .into());
    }
    if v.iter().all(|w| *w == f64::NEG_INFINITY) || n == 0 {
        return Err(CoreError::config("log_w", "every weight is zero").into());
    }
    Ok(())
}

/// Systematic resampling (one uniform draw): returns the resampled particles and zero log-weights.
/// `x` `(N, D)` and `log_w` `(N, 1)` must match; empty or invalid input is an error.
pub fn systematic_resample(
    x: &Tensor,
    log_w: &Tensor,
    rng: &mut SeededRng,
) -> Result<(Tensor, Tensor)> {
    let (n, _) = am_core::check::points("x", x)?;
    check_log_weights(log_w, Some(n))?;
    let w: Vec<f64> = normalized_weights(log_w)?
        .to_dtype(am_core::DType::F64)?
        .flatten_all()?
        .to_vec1()?;
    let u0 = rng.uniform() / n as f64;
    let mut idx = Vec::with_capacity(n);
    let (mut c, mut j) = (w[0], 0usize);
    for i in 0..n {
        let u = u0 + i as f64 / n as f64;
        while u > c && j + 1 < n {
            j += 1;
            c += w[j];
        }
        idx.push(j as u32);
    }
    let ids = Tensor::from_vec(idx, n, x.device())?;
    Ok((
        x.index_select(&ids, 0)?,
        Tensor::zeros((n, 1), log_w.dtype(), log_w.device())?,
    ))
}
