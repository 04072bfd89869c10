//! The exact actions of a Gaussian path (docs/oracles.md) and their energies.

use super::linalg::{solve_weighted_lyapunov, sym_sqrt};
use super::{GaussianPath, Quadratic, QuadraticAction};
use crate::quadrature::integrate;
use crate::Result;
use nalgebra::{DMatrix, DVector};

/// A time-dependent scalar with its derivative, e.g. the diffusion ε_t and ε̇_t.
pub type ScalarJet = std::sync::Arc<dyn Fn(f64) -> (f64, f64) + Send + Sync>;

/// The exact action of convex-cost AM for the quadratic cost c(v) = ½vᵀMv.
#[derive(Debug, Clone)]
pub struct ConvexOracle {
    /// The cost matrix M.
    pub cost: DMatrix<f64>,
    /// The exact action s̄*, with v* = M⁻¹∇s̄* (Eq. 22).
    pub action: QuadraticAction,
}

impl GaussianPath {
    /// Deterministic AM (Thm 2.1–2.2): s* = ½yᵀAy + μ̇ᵀy with AΣ + ΣA = Σ̇, and
    /// ∂t s* = ½yᵀȦy + (μ̈ − Aμ̇)ᵀy − |μ̇|² with ȦΣ + ΣȦ = Σ̈ − Σ̇A − AΣ̇ (constant c ≡ 0).
    pub fn exact_action(&self) -> QuadraticAction {
        let path = self.clone();
        QuadraticAction::new(self.dim(), move |t| {
            let m = path.moments(t);
            let (s, sd, sdd) = (&m.cov.value, &m.cov.dot, &m.cov.ddot);
            let a = solve_weighted_lyapunov(s, sd, |x, y| x + y);
            let a_dot = solve_weighted_lyapunov(s, &(sdd - sd * &a - &a * sd), |x, y| x + y);
            Quadratic::centred_with_dt(
                &a,
                &m.mean.dot,
                0.0,
                &a_dot,
                &m.mean.ddot,
                0.0,
                &m.mean.value,
                &m.mean.dot,
            )
        })
    }

    /// Entropic AM (Prop. 3.1–3.2) with diffusion ε_t (`eps(t) = (ε, ε̇)`):
    /// s̃* = s* + (ε²/2) log q_t, so ∇s̃* = (A − ½ε²Σ⁻¹)y + μ̇.
    pub fn exact_entropic_action(&self, eps: ScalarJet) -> QuadraticAction {
        let det = self.exact_action();
        let path = self.clone();
        let d = self.dim() as f64;
        QuadraticAction::new(self.dim(), move |t| {
            let (s, sd) = det.at(t);
            let m = path.moments(t);
            let sigma = &m.cov.value;
            let inv = sigma
                .clone()
                .try_inverse()
                .expect("Σ is positive definite on a Gaussian path");
            let logdet = sigma.determinant().ln();
            let two_pi = (2.0 * std::f64::consts::PI).ln();
            // log q_t = ½yᵀ(−Σ⁻¹)y − ½(log det Σ + D log 2π)
            let zero = DVector::zeros(path.dim());
            let p_dot = &inv * &m.cov.dot * &inv;
            let c_dot = -0.5 * (&inv * &m.cov.dot).trace();
            let (logq, logq_dt) = Quadratic::centred_with_dt(
                &(-&inv),
                &zero,
                -0.5 * (logdet + d * two_pi),
                &p_dot,
                &zero,
                c_dot,
                &m.mean.value,
                &m.mean.dot,
            );
            let (e, e_dot) = eps(t);
            let value = s.add_scaled(0.5 * e * e, &logq);
            let dt = sd
                .add_scaled(0.5 * e * e, &logq_dt)
                .add_scaled(e * e_dot, &logq);
            (value, dt)
        })
    }

    /// Unbalanced AM with growth weight λ (Prop. 3.3–3.4, Eq. 69): ŝ* = ½yᵀÂy + b̂ᵀy + ĉ with
    /// ΣÂ + ÂΣ + λΣÂΣ = Σ̇, b̂ = (I + λΣ)⁻¹μ̇ and the pinned constant ĉ = −½tr(ÂΣ).
    pub fn exact_unbalanced_action(&self, lambda: f64) -> QuadraticAction {
        let path = self.clone();
        let n = self.dim();
        QuadraticAction::new(n, move |t| {
            let m = path.moments(t);
            let (s, sd, sdd) = (&m.cov.value, &m.cov.dot, &m.cov.ddot);
            let w = |x: f64, y: f64| x + y + lambda * x * y;
            let a = solve_weighted_lyapunov(s, sd, w);
            let rhs = sdd - sd * &a - &a * sd - (sd * &a * s + s * &a * sd) * lambda;
            let a_dot = solve_weighted_lyapunov(s, &rhs, w);
            let g = (DMatrix::identity(n, n) + s * lambda)
                .try_inverse()
                .expect("I + λΣ is invertible");
            let b = &g * &m.mean.dot;
            let b_dot = &g * (&m.mean.ddot - sd * &b * lambda);
            let c = -0.5 * (&a * s).trace();
            let c_dot = -0.5 * ((&a_dot * s).trace() + (&a * sd).trace());
            Quadratic::centred_with_dt(&a, &b, c, &a_dot, &b_dot, c_dot, &m.mean.value, &m.mean.dot)
        })
    }

    /// Convex-cost AM for c(v) = ½vᵀMv (Sec. 3.3, App. B.2): AM in coordinates x′ = M^{1/2}x, i.e.
    /// s̄* = ½yᵀBy + (Mμ̇)ᵀy with B = M^{1/2}CM^{1/2}, CΣ′ + Σ′C = Σ̇′, Σ′ = M^{1/2}ΣM^{1/2}.
    pub fn exact_convex_action(&self, cost: &DMatrix<f64>) -> Result<ConvexOracle> {
        if cost.clone().cholesky().is_none() {
            return Err(am_core::Error::config("cost", "matrix is not positive definite").into());
        }
        let path = self.clone();
        let r = sym_sqrt(cost);
        let mm = cost.clone();
        let action = QuadraticAction::new(self.dim(), move |t| {
            let m = path.moments(t);
            let sp = &r * &m.cov.value * &r;
            let spd = &r * &m.cov.dot * &r;
            let spdd = &r * &m.cov.ddot * &r;
            let c = solve_weighted_lyapunov(&sp, &spd, |x, y| x + y);
            let c_dot = solve_weighted_lyapunov(&sp, &(spdd - &spd * &c - &c * &spd), |x, y| x + y);
            let b = &r * c * &r;
            let b_dot = &r * c_dot * &r;
            Quadratic::centred_with_dt(
                &b,
                &(&mm * &m.mean.dot),
                0.0,
                &b_dot,
                &(&mm * &m.mean.ddot),
                0.0,
                &m.mean.value,
                &m.mean.dot,
            )
        });
        Ok(ConvexOracle {
            cost: cost.clone(),
            action,
        })
    }

    /// ½∫E‖∇s‖²dt of any quadratic action on this path (K for s*, K_eAM for s̃*, K_uAM for ŝ*),
    /// with an `n`-point Gauss–Legendre rule.
    pub fn kinetic_energy(&self, action: &QuadraticAction, n: usize) -> f64 {
        let eye = DMatrix::identity(self.dim(), self.dim());
        integrate(n, |t| {
            let m = self.moments(t);
            0.5 * action
                .at(t)
                .0
                .grad_form_mean(&eye, &m.mean.value, &m.cov.value)
        })
    }

    /// (λ/2)∫E[s²]dt (G_uAM for ŝ*).
    pub fn growth_energy(&self, action: &QuadraticAction, lambda: f64, n: usize) -> f64 {
        integrate(n, |t| {
            let m = self.moments(t);
            0.5 * lambda * action.at(t).0.square_mean(&m.mean.value, &m.cov.value)
        })
    }

    /// K_cAM = ∫E[c(v*)]dt = ½∫E[(∇s̄*)ᵀM⁻¹(∇s̄*)]dt for the quadratic cost.
    pub fn convex_kinetic_energy(&self, oracle: &ConvexOracle, n: usize) -> f64 {
        let inv = oracle
            .cost
            .clone()
            .try_inverse()
            .expect("validated positive definite");
        integrate(n, |t| {
            let m = self.moments(t);
            0.5 * oracle
                .action
                .at(t)
                .0
                .grad_form_mean(&inv, &m.mean.value, &m.cov.value)
        })
    }
}
