//! q_t between snapshots as the mixture of its two neighbours (Sec. 4.1: "interpolate the data
//! using mixtures between given time steps").

use super::Snapshots;
use am_core::{DType, Device, Marginals, Result, SeededRng, Tensor};

/// For t between snapshot times τ_k ≤ t ≤ τ_{k+1} (mapped to [0, 1]), a sample is a uniformly drawn
/// cell of snapshot k+1 with probability (t − τ_k)/(τ_{k+1} − τ_k), else of snapshot k.
#[derive(Debug, Clone)]
pub struct MixturePath {
    data: Snapshots,
}

impl MixturePath {
    /// From snapshots; their times are mapped onto [0, 1].
    pub fn new(data: &Snapshots) -> Self {
        Self {
            data: data.times_to_unit(),
        }
    }

    /// The snapshot times on [0, 1].
    pub fn times(&self) -> &[f64] {
        self.data.times()
    }
}

impl Marginals for MixturePath {
    fn dim(&self) -> usize {
        self.data.dim()
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let d = self.data.dim();
        let times = self.data.times();
        let counts = self.data.counts();
        let mut out = Vec::with_capacity(t.len() * d);
        for &ti in t {
            let (k, p) = super::snapshots::segment(times, ti);
            let g = if rng.uniform() < p { k + 1 } else { k };
            let r = rng.below(counts[g]);
            out.extend_from_slice(&self.data.cells(g)[r * d..(r + 1) * d]);
        }
        am_core::rng::tensor_from_f64(out, &[t.len(), d], dtype, device)
    }
}
