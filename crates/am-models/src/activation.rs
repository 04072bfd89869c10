//! Activations with their first and second derivatives as differentiable tensor expressions.
//!
//! The explicit derivative passes need σ(z), σ′(z) and, for the Laplacian, σ″(z); each is built
//! from ordinary candle ops so that autograd can differentiate them once more with respect to θ.

use am_core::candle::{Result, Tensor};
use am_core::candle_nn::ops::sigmoid;

/// Elementwise nonlinearity of the hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// σ(z) = z·sigmoid(z) (a.k.a. swish; the reference models' choice).
    #[default]
    Silu,
    /// σ(z) = tanh z.
    Tanh,
    /// σ(z) = log(1 + eᶻ).
    Softplus,
    /// σ(z) = z·Φ(z), the exact (erf) GELU.
    Gelu,
}

/// σ, σ′ and optionally σ″ evaluated at the same pre-activations.
pub(crate) struct ActivationJet {
    pub value: Tensor,
    pub d1: Tensor,
    pub d2: Option<Tensor>,
}

const INV_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

impl Activation {
    /// σ(z) with candle's own ops (used by `value` and the double-backward path; its derivatives
    /// come from candle's autograd).
    pub fn forward(&self, z: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Silu => z.silu(),
            Activation::Tanh => z.tanh(),
            Activation::Softplus => softplus(z),
            // z·Φ(z) from `erf`, not candle's fused `gelu_erf`: the latter's backward uses the
            // truncated constant 0.398942 for 1/√(2π), a 1e-6 relative error in ∇θ.
            Activation::Gelu => z * (z * INV_SQRT_2)?.erf()?.affine(0.5, 0.5)?,
        }
    }

    /// σ(z), σ′(z) and, if `second`, σ″(z), as differentiable expressions.
    pub(crate) fn jet(&self, z: &Tensor, second: bool) -> Result<ActivationJet> {
        match self {
            Activation::Silu => {
                // σ = z·g, σ′ = g(1 + z(1 − g)), σ″ = g(1 − g)(2 + z(1 − 2g)), g = sigmoid(z)
                let g = sigmoid(z)?;
                let one_minus_g = g.affine(-1.0, 1.0)?;
                let value = (z * &g)?;
                let d1 = (&g * (z * &one_minus_g)?.affine(1.0, 1.0)?)?;
                let d2 = if second {
                    let gg = (&g * &one_minus_g)?;
                    Some((gg * (z * g.affine(-2.0, 1.0)?)?.affine(1.0, 2.0)?)?)
                } else {
                    None
                };
                Ok(ActivationJet { value, d1, d2 })
            }
            Activation::Tanh => {
                // σ′ = 1 − tanh², σ″ = −2 tanh·σ′
                let th = z.tanh()?;
                let d1 = th.sqr()?.affine(-1.0, 1.0)?;
                let d2 = if second {
                    Some(((&th * &d1)? * -2.0)?)
                } else {
                    None
                };
                Ok(ActivationJet { value: th, d1, d2 })
            }
            Activation::Softplus => {
                // σ′ = sigmoid(z), σ″ = g(1 − g)
                let value = softplus(z)?;
                let g = sigmoid(z)?;
                let d2 = if second {
                    Some((&g * g.affine(-1.0, 1.0)?)?)
                } else {
                    None
                };
                Ok(ActivationJet { value, d1: g, d2 })
            }
            Activation::Gelu => {
                // Φ = ½(1 + erf(z/√2)), φ = e^{−z²/2}/√(2π); σ = zΦ, σ′ = Φ + zφ, σ″ = φ(2 − z²)
                let cdf = (z * INV_SQRT_2)?.erf()?.affine(0.5, 0.5)?;
                let z2 = z.sqr()?;
                let pdf = (z2.affine(-0.5, 0.0)?.exp()? * INV_SQRT_2PI)?;
                let value = (z * &cdf)?;
                let d1 = (&cdf + (z * &pdf)?)?;
                let d2 = if second {
                    Some((&pdf * z2.affine(-1.0, 2.0)?)?)
                } else {
                    None
                };
                Ok(ActivationJet { value, d1, d2 })
            }
        }
    }
}

/// Numerically stable softplus: max(z, 0) + log(1 + e^{−|z|}).
fn softplus(z: &Tensor) -> Result<Tensor> {
    z.relu()? + z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?
}
