//! Closed-form values of the Action Matching objectives and gaps for quadratic actions on a
//! Gaussian path: the deterministic references of every estimator test.

use super::oracle::ScalarJet;
use super::{GaussianPath, QuadraticAction};
use crate::quadrature::integrate;
use nalgebra::DMatrix;
use std::sync::Arc;

/// Which objective: the terms of Eq. 7, 13, 20/69 and Prop. B.2 with the weight ω of Eq. 84.
#[derive(Clone)]
pub struct LossSpec {
    /// Diffusion ε_t and ε̇_t (entropic AM, Eq. 13), if any.
    pub eps: Option<ScalarJet>,
    /// Growth weight λ (unbalanced AM, Eq. 69); 0 for none.
    pub lambda: f64,
    /// The inverse M⁻¹ of a quadratic cost ½vᵀMv: H(a) = ½aᵀM⁻¹a (Prop. B.2); `None`: ½‖a‖².
    pub cost_inverse: Option<DMatrix<f64>>,
    /// ω(t) and ω′(t) (Appendix C, Eq. 84 with the boundary signs of Eq. 7).
    pub omega: ScalarJet,
}

impl LossSpec {
    /// Plain AM (Eq. 7).
    pub fn plain() -> Self {
        Self {
            eps: None,
            lambda: 0.0,
            cost_inverse: None,
            omega: Arc::new(|_| (1.0, 0.0)),
        }
    }
}

impl GaussianPath {
    fn metric(&self, spec: &LossSpec) -> DMatrix<f64> {
        spec.cost_inverse
            .clone()
            .unwrap_or_else(|| DMatrix::identity(self.dim(), self.dim()))
    }

    /// The gap ∫ω(t){E D_H[∇s : ∇s_ref] + (λ/2)E(s − s_ref)²}dt, with D_H = ½(a − a*)ᵀM⁻¹(a − a*).
    pub fn gap(
        &self,
        s: &QuadraticAction,
        reference: &QuadraticAction,
        spec: &LossSpec,
        n: usize,
    ) -> f64 {
        let w = self.metric(spec);
        integrate(n, |t| {
            let m = self.moments(t);
            let diff = s.at(t).0.sub(&reference.at(t).0);
            let kinetic = 0.5 * diff.grad_form_mean(&w, &m.mean.value, &m.cov.value);
            let growth = 0.5 * spec.lambda * diff.square_mean(&m.mean.value, &m.cov.value);
            (spec.omega)(t).0 * (kinetic + growth)
        })
    }
}

/// The objective L(s) = ω(0)E_{q0}[s₀] − ω(1)E_{q1}[s₁]
/// + ∫{ω(t)E[H(∇s) + ∂t s + (ε²/2)Δs + (λ/2)s²] + ω′(t)E[s]}dt, in closed form.
pub fn loss(path: &GaussianPath, s: &QuadraticAction, spec: &LossSpec, n: usize) -> f64 {
    let w = path.metric(spec);
    let boundary = |t: f64| {
        let m = path.moments(t);
        (spec.omega)(t).0 * s.at(t).0.mean(&m.mean.value, &m.cov.value)
    };
    let integral = integrate(n, |t| {
        let m = path.moments(t);
        let (mu, sigma) = (&m.mean.value, &m.cov.value);
        let (f, fd) = s.at(t);
        let (om, om_dot) = (spec.omega)(t);
        let mut inner = 0.5 * f.grad_form_mean(&w, mu, sigma) + fd.mean(mu, sigma);
        if let Some(eps) = &spec.eps {
            let e = eps(t).0;
            inner += 0.5 * e * e * f.laplacian();
        }
        inner += 0.5 * spec.lambda * f.square_mean(mu, sigma);
        om * inner + om_dot * f.mean(mu, sigma)
    });
    boundary(0.0) - boundary(1.0) + integral
}
