//! Bits per dimension from log-likelihoods, with the data mapping stated.

use crate::Result;

/// How 8-bit data k ∈ {0, …, 255} were mapped to the model's space; it fixes the offset between
/// a density in model space and a probability mass over pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataMapping {
    /// x = (k + u)/128 − 1 with u ~ U[0, 1) (uniform dequantisation): offset log₂ 128 = 7.
    Dequantized128,
    /// x = 2k/255 − 1: offset log₂ 127.5 ≈ 6.9944.
    TwoOver255,
    /// Data already in pixel units (no offset).
    Identity,
    /// x = 2(k + u)/L − 1 for L levels (uniform dequantisation): offset log₂(L/2) — 7 for
    /// L = 256, log₂ 8.5 ≈ 3.09 for the 8×8 digits (L = 17).
    Dequantized {
        /// The number of intensity levels L ≥ 2.
        levels: u32,
    },
}

impl DataMapping {
    /// log₂ of the per-dimension scale factor between pixel and model space.
    pub fn offset_bits(&self) -> f64 {
        match self {
            DataMapping::Dequantized128 => 7.0,
            DataMapping::TwoOver255 => 127.5f64.log2(),
            DataMapping::Identity => 0.0,
            DataMapping::Dequantized { levels } => (*levels as f64 / 2.0).log2(),
        }
    }
}

/// Bits per dimension −log q(x)/(D ln 2) + offset, for a log-likelihood in nats of one
/// D-dimensional point in model space.
pub fn bits_per_dim(log_likelihood: f64, dim: usize, mapping: DataMapping) -> Result<f64> {
    if dim == 0 {
        return Err(am_core::Error::config("dim", "must be ≥ 1").into());
    }
    if let DataMapping::Dequantized { levels } = mapping {
        if levels < 2 {
            return Err(am_core::Error::config("levels", format!("{levels} < 2")).into());
        }
    }
    if !log_likelihood.is_finite() {
        return Err(am_core::Error::NonFinite {
            arg: "log_likelihood",
            value: log_likelihood,
            index: 0,
        }
        .into());
    }
    Ok(-log_likelihood / (dim as f64 * std::f64::consts::LN_2) + mapping.offset_bits())
}
