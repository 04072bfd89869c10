//! The time features e(t) fed to the network beside x.

use am_core::candle::{Result, Tensor};

/// How t enters the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TimeEmbedding {
    /// e(t) = t: one feature.
    #[default]
    Raw,
    /// e(t) = [t, sin(πkt), cos(πkt) for k = 1..=K]: 1 + 2K features.
    Sinusoidal {
        /// The number of frequencies K.
        frequencies: usize,
    },
}

impl TimeEmbedding {
    /// The number of features.
    pub fn width(&self) -> usize {
        match self {
            TimeEmbedding::Raw => 1,
            TimeEmbedding::Sinusoidal { frequencies } => 1 + 2 * frequencies,
        }
    }

    /// e(t) `(N, F)` and de/dt `(N, F)` for `t` `(N, 1)`.
    pub(crate) fn features(&self, t: &Tensor) -> Result<(Tensor, Tensor)> {
        match *self {
            TimeEmbedding::Raw => Ok((t.clone(), t.ones_like()?)),
            TimeEmbedding::Sinusoidal { frequencies } => {
                let mut e = vec![t.clone()];
                let mut de = vec![t.ones_like()?];
                for k in 1..=frequencies {
                    let w = std::f64::consts::PI * k as f64;
                    let wt = (t * w)?;
                    let (s, c) = (wt.sin()?, wt.cos()?);
                    de.push((&c * w)?);
                    de.push((&s * -w)?);
                    e.push(s);
                    e.push(c);
                }
                Ok((Tensor::cat(&e, 1)?, Tensor::cat(&de, 1)?))
            }
        }
    }
}
