//! The variance-preserving SDE of the VP-SDE baseline (Song et al. 2020b; the paper's App. E.2):
//! β(τ) = β_min + (β_max − β_min)τ (0.1 + 19.9τ), α(τ) = exp(−½∫₀^τ β) with
//! ∫₀^τ β = β_min τ + ½(β_max − β_min)τ², σ(τ) = √(1 − α(τ)²), x_τ = α(τ)x₁ + σ(τ)ε.
//!
//! Its time τ runs from data (τ = 0) to noise (τ = 1); this project's time runs from noise
//! (t = 0) to data (t = 1), so τ = 1 − t wherever the two meet. The probability-flow ODE in τ is
//! dx/dτ = −½β(τ)(x + ∇log p_τ(x)), with ∇log p_τ(x) = −ε̂(x)/σ(τ) for a noise predictor ε̂.

use crate::{Error, Result};

/// β(τ) linear from `beta_min` at τ = 0 to `beta_max` at τ = 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpSchedule {
    /// β(0).
    pub beta_min: f64,
    /// β(1).
    pub beta_max: f64,
}

impl Default for VpSchedule {
    /// β(τ) = 0.1 + 19.9τ (App. E.2; Song et al.'s VP-SDE).
    fn default() -> Self {
        Self {
            beta_min: 0.1,
            beta_max: 20.0,
        }
    }
}

impl VpSchedule {
    /// Checks 0 ≤ β_min ≤ β_max, both finite, β_max > 0.
    pub fn validate(&self) -> Result<()> {
        let ok = self.beta_min.is_finite()
            && self.beta_max.is_finite()
            && self.beta_min >= 0.0
            && self.beta_max >= self.beta_min
            && self.beta_max > 0.0;
        if !ok {
            return Err(Error::config(
                "vp schedule",
                format!("needs 0 ≤ beta_min ≤ beta_max, beta_max > 0: {self:?}"),
            ));
        }
        Ok(())
    }

    /// β(τ).
    pub fn beta(&self, tau: f64) -> f64 {
        self.beta_min + (self.beta_max - self.beta_min) * tau
    }

    /// ∫₀^τ β = β_min τ + ½(β_max − β_min)τ².
    pub fn integral(&self, tau: f64) -> f64 {
        self.beta_min * tau + 0.5 * (self.beta_max - self.beta_min) * tau * tau
    }

    /// (α(τ), σ(τ)): the data's scale and the noise's standard deviation at τ.
    pub fn alpha_sigma(&self, tau: f64) -> (f64, f64) {
        let b = self.integral(tau);
        // σ² = 1 − e^{−∫β}, by expm1 so that small τ keeps its digits
        ((-0.5 * b).exp(), (-(-b).exp_m1()).max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_match_the_closed_form() {
        let s = VpSchedule::default();
        // ∫β at τ = 1 is 0.1 + 9.95 = 10.05, so α(1) = e^{−5.025}
        let (a, sig) = s.alpha_sigma(1.0);
        assert!((a - (-5.025f64).exp()).abs() < 1e-15);
        assert!((a * a + sig * sig - 1.0).abs() < 1e-14);
        let (a0, s0) = s.alpha_sigma(0.0);
        assert_eq!((a0, s0), (1.0, 0.0));
        // small τ: σ² ≈ β_min τ
        let (_, s_small) = s.alpha_sigma(1e-8);
        assert!((s_small * s_small / 1e-9 - 1.0).abs() < 1e-6);
        // dα/dτ = −½β α (finite differences)
        let h = 1e-6;
        let da = (s.alpha_sigma(0.3 + h).0 - s.alpha_sigma(0.3 - h).0) / (2.0 * h);
        assert!((da + 0.5 * s.beta(0.3) * s.alpha_sigma(0.3).0).abs() < 1e-8);
        assert!(VpSchedule {
            beta_min: 1.0,
            beta_max: 0.5
        }
        .validate()
        .is_err());
    }
}
