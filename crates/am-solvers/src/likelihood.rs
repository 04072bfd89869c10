//! Log-likelihoods by the augmented ODE of Eq. 9: integrate x from t = 1 back to t = 0 along the
//! velocity while accumulating the divergence,
//! log q₁(x) = log q₀(x(0)) − ∫₀¹ (∇·v − g)(x(t)) dt,
//! with ∇·v = Δs for v = ∇s, tr(∇²c*(∇s)·∇²s) for convex costs and g = λs for weighted particles.
//! No autograd graph survives a step, so memory is flat in the number of steps.

use crate::adaptive::{run_adaptive, Dopri5Config};
use crate::ode::{check_state, run_fixed, OdeConfig, Trajectory};
use crate::Result;
use am_core::{check, DType, Error as CoreError, LaplacianMode, SeededRng, Tensor, VelocityField};

/// log q₀, the density at t = 0.
pub trait LogDensity {
    /// log q₀(x) `(N, 1)` for `x` `(N, D)`.
    fn log_density(&self, x: &Tensor) -> Result<Tensor>;
}

/// N(0, I_D).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardNormalDensity;

impl LogDensity for StandardNormalDensity {
    fn log_density(&self, x: &Tensor) -> Result<Tensor> {
        let (_, d) = check::points("x", x)?;
        let c = -0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
        Ok((x.sqr()?.sum_keepdim(1)? * -0.5)?.affine(1.0, c)?)
    }
}

/// N(μ, Σ) with a full covariance (row-major), checked positive definite.
#[derive(Debug, Clone)]
pub struct GaussianDensity {
    mean: Vec<f64>,
    /// Σ⁻¹, row-major.
    precision: Vec<f64>,
    log_norm: f64,
}

impl GaussianDensity {
    /// From μ and a row-major Σ.
    pub fn new(mean: Vec<f64>, cov: Vec<f64>) -> Result<Self> {
        let d = mean.len();
        // Cholesky gives both the inverse (through am_core's quadratic cost) and log det Σ
        let q = am_core::QuadraticCost::new(cov.clone(), d)?;
        let mut l = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                let s = cov[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
                l[i * d + j] = if i == j { s.sqrt() } else { s / l[j * d + j] };
            }
        }
        let logdet: f64 = (0..d).map(|i| 2.0 * l[i * d + i].ln()).sum();
        Ok(Self {
            mean,
            precision: q.inverse().to_vec(),
            log_norm: -0.5 * (logdet + d as f64 * (2.0 * std::f64::consts::PI).ln()),
        })
    }
}

impl LogDensity for GaussianDensity {
    fn log_density(&self, x: &Tensor) -> Result<Tensor> {
        let (_, d) = check::points("x", x)?;
        if d != self.mean.len() {
            return Err(CoreError::Shape {
                arg: "x",
                expected: format!("(N, {})", self.mean.len()),
                got: x.dims().to_vec(),
            }
            .into());
        }
        let mu = Tensor::from_vec(self.mean.clone(), (1, d), x.device())?.to_dtype(x.dtype())?;
        let p =
            Tensor::from_vec(self.precision.clone(), (d, d), x.device())?.to_dtype(x.dtype())?;
        let y = x.broadcast_sub(&mu)?;
        Ok(((y.matmul(&p)? * &y)?.sum_keepdim(1)? * -0.5)?.affine(1.0, self.log_norm)?)
    }
}

/// How the divergence is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// The exact trace (low dimension).
    Exact,
    /// Hutchinson's estimate with one fixed Rademacher probe per point, drawn once per call.
    Hutchinson,
}

/// The integrator of the augmented ODE.
#[derive(Debug, Clone, Copy)]
pub enum LikelihoodSolver {
    /// A fixed-step scheme.
    Fixed(OdeConfig),
    /// Adaptive Dormand–Prince (the reference evaluation used rtol = atol = 1e-5).
    Adaptive(Dopri5Config),
}

/// The log-likelihood of each point and where it came from.
#[derive(Debug, Clone)]
pub struct Likelihood {
    /// log q₁(x) `(N, 1)`.
    pub log_q1: Tensor,
    /// The points carried back to t = 0, `(N, D)`.
    pub x0: Tensor,
    /// −∫₀¹ (∇·v − g) dt `(N, 1)`, the change of log-density along the path.
    pub delta_log_q: Tensor,
    /// Evaluations of the augmented right-hand side.
    pub nfe: usize,
}

/// log q₁(x) for points `x1` `(N, D)` by Eq. 9 (with the growth term for weighted particles).
pub fn log_likelihood(
    field: &dyn VelocityField,
    x1: &Tensor,
    q0: &dyn LogDensity,
    divergence: Divergence,
    solver: LikelihoodSolver,
    rng: &mut SeededRng,
) -> Result<Likelihood> {
    check_state(x1, field.dim())?;
    check::finite("x1", x1)?;
    let (n, d) = (x1.dim(0)?, x1.dim(1)?);
    let mode = match divergence {
        Divergence::Exact => LaplacianMode::Exact,
        Divergence::Hutchinson => {
            LaplacianMode::Hutchinson(rng.rademacher_tensor(&[n, d], x1.dtype(), x1.device())?)
        }
    };
    let rhs = |t: f64, y: &Tensor| -> Result<Tensor> {
        let t = t.clamp(0.0, 1.0);
        let x = y.narrow(1, 0, d)?;
        let (v, div) = field.velocity_divergence(t, &x, &mode)?;
        let rate = match field.growth(t, &x)? {
            Some(g) => (div - g)?,
            None => div,
        };
        Ok(Tensor::cat(&[&v, &rate], 1)?)
    };
    let y1 = Tensor::cat(&[x1, &Tensor::zeros((n, 1), x1.dtype(), x1.device())?], 1)?;
    let Trajectory { states, nfe, .. } = match solver {
        LikelihoodSolver::Fixed(c) => run_fixed(&rhs, &y1, 1.0, 0.0, c, &[])?,
        LikelihoodSolver::Adaptive(c) => run_adaptive(&rhs, &y1, 1.0, 0.0, &c, &[])?,
    };
    let y0 = states.get(0)?;
    let x0 = y0.narrow(1, 0, d)?;
    // ℓ(0) = ℓ(1) + ∫₁⁰ (∇·v − g) dt = −∫₀¹ (∇·v − g) dt
    let delta = y0.narrow(1, d, 1)?;
    let log_q1 = (q0.log_density(&x0)? + &delta)?;
    let _ = DType::F64;
    Ok(Likelihood {
        log_q1,
        x0,
        delta_log_q: delta,
        nfe,
    })
}
