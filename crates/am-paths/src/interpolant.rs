//! Paths built by interpolating between a source and a target sampler.

use am_core::{DType, Device, Marginals, SeededRng, Tensor};

/// Something that draws i.i.d. points of ℝᴰ.
pub trait PointSampler: Send + Sync {
    /// The dimension D.
    fn dim(&self) -> usize;
    /// `n` points as row-major f64.
    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f64>;
}

/// N(0, I_D).
#[derive(Debug, Clone, Copy)]
pub struct StandardNormal {
    /// The dimension D.
    pub dim: usize,
}

impl PointSampler for StandardNormal {
    fn dim(&self) -> usize {
        self.dim
    }
    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f64> {
        rng.normal_vec(n * self.dim)
    }
}

/// An equal-weight mixture of isotropic Gaussians N(m_k, σ²I).
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    means: Vec<Vec<f64>>,
    std: f64,
}

impl GaussianMixture {
    /// From component means (all of one dimension) and a common standard deviation.
    pub fn new(means: Vec<Vec<f64>>, std: f64) -> am_core::Result<Self> {
        am_core::check::positive("std", std)?;
        let d = means
            .first()
            .map(Vec::len)
            .ok_or(am_core::Error::Empty { arg: "means" })?;
        if d == 0 || means.iter().any(|m| m.len() != d) {
            return Err(am_core::Error::config(
                "means",
                "every mean needs the same dimension ≥ 1",
            ));
        }
        Ok(Self { means, std })
    }

    /// `k` components evenly spaced on a circle of radius `radius` in 2-D.
    pub fn circle(k: usize, radius: f64, std: f64) -> am_core::Result<Self> {
        let means = (0..k)
            .map(|i| {
                let a = 2.0 * std::f64::consts::PI * i as f64 / k as f64;
                vec![radius * a.cos(), radius * a.sin()]
            })
            .collect();
        Self::new(means, std)
    }

    /// The component means.
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }
}

impl PointSampler for GaussianMixture {
    fn dim(&self) -> usize {
        self.means[0].len()
    }
    fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f64> {
        let d = self.dim();
        let mut out = Vec::with_capacity(n * d);
        for _ in 0..n {
            let m = &self.means[rng.below(self.means.len())];
            for &mj in m {
                out.push(mj + self.std * rng.normal());
            }
        }
        out
    }
}

/// The linear interpolant x_t = (1 − t)x₀ + t·x₁ with x₀ ~ source, x₁ ~ target independent
/// (Sec. 4.3): q₀ is the source, q₁ the target.
pub struct LinearInterpolant<S: PointSampler, T: PointSampler> {
    /// q₀.
    pub source: S,
    /// q₁.
    pub target: T,
}

impl<S: PointSampler, T: PointSampler> LinearInterpolant<S, T> {
    /// Fails unless source and target share a dimension.
    pub fn new(source: S, target: T) -> am_core::Result<Self> {
        if source.dim() != target.dim() {
            return Err(am_core::Error::config(
                "target",
                format!("dimension {} ≠ source's {}", target.dim(), source.dim()),
            ));
        }
        Ok(Self { source, target })
    }
}

impl<S: PointSampler, T: PointSampler> Marginals for LinearInterpolant<S, T> {
    fn dim(&self) -> usize {
        self.source.dim()
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let d = self.dim();
        let x0 = self.source.sample(t.len(), rng);
        let x1 = self.target.sample(t.len(), rng);
        let mut out = Vec::with_capacity(t.len() * d);
        for (i, &ti) in t.iter().enumerate() {
            for j in 0..d {
                out.push((1.0 - ti) * x0[i * d + j] + ti * x1[i * d + j]);
            }
        }
        am_core::rng::tensor_from_f64(out, &[t.len(), d], dtype, device)
    }
}
