//! The diffusion schedule ε_t of entropic AM (the paper's σ_t in Eq. 10–13), shared by the
//! objectives (ε²/2·Δs, Eq. 13) and the SDE sampler (dx = ∇s dt + ε_t dW, Eq. 10).

use crate::{Result, Tensor};

/// The diffusion ε_t of entropic AM (the paper's σ_t in Eq. 10–13).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Diffusion {
    /// ε ≡ 0: deterministic AM.
    #[default]
    None,
    /// ε_t = ε.
    Constant {
        /// ε ≥ 0.
        eps: f64,
    },
    /// ε_t = ε·(1 − t).
    Decaying {
        /// ε ≥ 0.
        eps: f64,
    },
}

impl Diffusion {
    /// ε_t and dε/dt at a scalar t.
    pub fn at(&self, t: f64) -> (f64, f64) {
        match *self {
            Diffusion::None => (0.0, 0.0),
            Diffusion::Constant { eps } => (eps, 0.0),
            Diffusion::Decaying { eps } => (eps * (1.0 - t), -eps),
        }
    }

    /// True for ε ≢ 0.
    pub fn active(&self) -> bool {
        match *self {
            Diffusion::None => false,
            Diffusion::Constant { eps } | Diffusion::Decaying { eps } => eps != 0.0,
        }
    }

    /// ε_t²/2 as a tensor `(N, 1)` for times `t` `(N, 1)`.
    pub fn half_eps_sq(&self, t: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Diffusion::None => t.zeros_like()?,
            Diffusion::Constant { eps } => t.ones_like()?.affine(0.5 * eps * eps, 0.0)?,
            Diffusion::Decaying { eps } => {
                t.affine(-1.0, 1.0)?.sqr()?.affine(0.5 * eps * eps, 0.0)?
            }
        })
    }

    /// Checks ε ≥ 0 and finite.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Diffusion::None => Ok(()),
            Diffusion::Constant { eps } | Diffusion::Decaying { eps } => {
                crate::check::non_negative("eps", eps)
            }
        }
    }
}
