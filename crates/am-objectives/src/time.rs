//! Samplers of the times t_i of the time integral (Algorithm 1: uniform; Algorithm 2: p(t)).

use am_core::SeededRng;

/// Times and, for non-uniform samplers, the importance weights 1/p(t_i).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeBatch {
    /// t_i ∈ [0, 1].
    pub t: Vec<f64>,
    /// 1/p(t_i); `None` when p is uniform.
    pub inv_p: Option<Vec<f64>>,
}

/// A distribution p(t) on [0, 1] for the time integral, possibly learning from the integrand.
pub trait TimeSampler {
    /// `n` times.
    fn sample(&mut self, n: usize, rng: &mut SeededRng) -> TimeBatch;
    /// Feeds back the per-sample integrand ζ at the sampled times (adaptive samplers use it).
    fn observe(&mut self, t: &[f64], integrand: &[f64]) {
        let _ = (t, integrand);
    }
}

/// t ~ U[0, 1].
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformTime;

impl TimeSampler for UniformTime {
    fn sample(&mut self, n: usize, rng: &mut SeededRng) -> TimeBatch {
        TimeBatch {
            t: rng.uniform_vec(n, 0.0, 1.0),
            inv_p: None,
        }
    }
}

/// The quasi-random sequence u_k = (u₀ + k·√2) mod 1 with its state carried across batches:
/// each batch covers [0, 1] evenly, and the marginal of every t_i is uniform over a random start.
#[derive(Debug, Clone, Copy)]
pub struct QuasiRandomTime {
    state: Option<f64>,
}

impl QuasiRandomTime {
    /// Starts at a random u₀ drawn at the first batch.
    pub fn new() -> Self {
        Self { state: None }
    }

    /// Starts at a given u₀ ∈ [0, 1).
    pub fn starting_at(u0: f64) -> Self {
        Self {
            state: Some(u0.rem_euclid(1.0)),
        }
    }

    /// The last point drawn (`None` before the first batch): with [`QuasiRandomTime::starting_at`]
    /// it lets a checkpointed run continue the same sequence.
    pub fn position(&self) -> Option<f64> {
        self.state
    }
}

impl Default for QuasiRandomTime {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeSampler for QuasiRandomTime {
    fn sample(&mut self, n: usize, rng: &mut SeededRng) -> TimeBatch {
        let mut u = self.state.unwrap_or_else(|| rng.uniform());
        let mut t = Vec::with_capacity(n);
        for _ in 0..n {
            u = (u + std::f64::consts::SQRT_2).rem_euclid(1.0);
            t.push(u);
        }
        self.state = Some(u);
        TimeBatch { t, inv_p: None }
    }
}

/// The adaptive p(t) of Appendix C (Eq. 88), as the reference code builds it: a grid of G points
/// on [0, 1]; per-sample integrands smoothed onto the grid with weights exp(−κ|t_grid − t|);
/// exponential moving averages (β) of their mean and second moment; p ∝ √variance normalised by
/// the trapezoid rule and mixed with the uniform density, p = (1 − α)p + α; t drawn by the
/// inverse CDF of the piecewise-linear density; the time term divided by p(t).
/// Eq. 88 is the paper's heuristic: it reduces variance, and any p keeps the estimate unbiased.
#[derive(Debug, Clone)]
pub struct AdaptiveTime {
    grid: Vec<f64>,
    mean: Vec<f64>,
    second: Vec<f64>,
    density: Vec<f64>,
    cdf: Vec<f64>,
    beta: f64,
    alpha: f64,
    kappa: f64,
}

impl AdaptiveTime {
    /// The reference setting: G = 100, κ = 100, β = 0.99, α = 0.01.
    pub fn new() -> Self {
        Self::with(100, 100.0, 0.99, 0.01).expect("valid defaults")
    }

    /// A custom setting; G ≥ 2, κ > 0, β ∈ [0, 1), α ∈ (0, 1].
    pub fn with(grid: usize, kappa: f64, beta: f64, alpha: f64) -> am_core::Result<Self> {
        if grid < 2 {
            return Err(am_core::Error::config("grid", "needs at least 2 points"));
        }
        am_core::check::positive("kappa", kappa)?;
        if !(0.0..1.0).contains(&beta) {
            return Err(am_core::Error::config(
                "beta",
                format!("must lie in [0, 1), got {beta}"),
            ));
        }
        if !(alpha > 0.0 && alpha <= 1.0) {
            return Err(am_core::Error::config(
                "alpha",
                format!("must lie in (0, 1], got {alpha}"),
            ));
        }
        let g: Vec<f64> = (0..grid).map(|i| i as f64 / (grid - 1) as f64).collect();
        let mut s = Self {
            mean: vec![0.0; grid],
            second: vec![1.0; grid],
            density: vec![1.0; grid],
            cdf: vec![0.0; grid],
            grid: g,
            beta,
            alpha,
            kappa,
        };
        s.rebuild();
        Ok(s)
    }

    /// Everything that defines the sampler (settings and running moments), to save with a run.
    pub fn state(&self) -> AdaptiveState {
        AdaptiveState {
            grid: self.grid.len(),
            kappa: self.kappa,
            beta: self.beta,
            alpha: self.alpha,
            mean: self.mean.clone(),
            second: self.second.clone(),
        }
    }

    /// The sampler of a saved [`AdaptiveState`] (validated: settings, lengths, finiteness), so a
    /// resumed run draws the same times.
    pub fn from_state(state: &AdaptiveState) -> am_core::Result<Self> {
        let mut s = Self::with(state.grid, state.kappa, state.beta, state.alpha)?;
        for (field, v) in [("mean", &state.mean), ("second", &state.second)] {
            if v.len() != state.grid {
                return Err(am_core::Error::config(
                    field,
                    format!("has {} values for a grid of {}", v.len(), state.grid),
                ));
            }
            if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                return Err(am_core::Error::config(field, format!("holds {bad}")));
            }
        }
        s.mean = state.mean.clone();
        s.second = state.second.clone();
        s.rebuild();
        Ok(s)
    }

    /// The current density p on the grid (integrates to 1 by the trapezoid rule).
    pub fn density(&self) -> (&[f64], &[f64]) {
        (&self.grid, &self.density)
    }

    /// p(t) by linear interpolation.
    pub fn p(&self, t: f64) -> f64 {
        let g = self.grid.len();
        let x = t.clamp(0.0, 1.0) * (g - 1) as f64;
        let j = (x.floor() as usize).min(g - 2);
        let f = x - j as f64;
        self.density[j] * (1.0 - f) + self.density[j + 1] * f
    }

    fn rebuild(&mut self) {
        let g = self.grid.len();
        let h = 1.0 / (g - 1) as f64;
        let mut p: Vec<f64> = self
            .mean
            .iter()
            .zip(&self.second)
            .map(|(m, s)| (s - m * m).max(0.0).sqrt())
            .collect();
        let area: f64 = p.windows(2).map(|w| 0.5 * h * (w[0] + w[1])).sum();
        if area.is_nan() || area <= 0.0 || !area.is_finite() {
            p = vec![1.0; g];
        } else {
            for v in &mut p {
                *v = (1.0 - self.alpha) * *v / area + self.alpha;
            }
        }
        self.cdf[0] = 0.0;
        for j in 1..g {
            self.cdf[j] = self.cdf[j - 1] + 0.5 * h * (p[j - 1] + p[j]);
        }
        self.density = p;
    }

    fn inverse_cdf(&self, u: f64) -> f64 {
        let g = self.grid.len();
        let h = 1.0 / (g - 1) as f64;
        let u = u * self.cdf[g - 1];
        let j = match self.cdf.partition_point(|&c| c <= u) {
            0 => 0,
            k => (k - 1).min(g - 2),
        };
        let r = u - self.cdf[j];
        let (p0, p1) = (self.density[j], self.density[j + 1]);
        let slope = (p1 - p0) / h;
        let s = if slope.abs() < 1e-12 * p0.max(1e-300) {
            r / p0
        } else {
            (-p0 + (p0 * p0 + 2.0 * slope * r).max(0.0).sqrt()) / slope
        };
        (self.grid[j] + s.clamp(0.0, h)).clamp(0.0, 1.0)
    }
}

/// The saved form of an [`AdaptiveTime`]: G, κ, β, α and the running moments on the grid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdaptiveState {
    /// Grid points G.
    pub grid: usize,
    /// Smoothing rate κ.
    pub kappa: f64,
    /// EMA decay β.
    pub beta: f64,
    /// Uniform mixing weight α.
    pub alpha: f64,
    /// EMA of the integrand's mean on the grid.
    pub mean: Vec<f64>,
    /// EMA of its second moment on the grid.
    pub second: Vec<f64>,
}

impl Default for AdaptiveTime {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeSampler for AdaptiveTime {
    fn sample(&mut self, n: usize, rng: &mut SeededRng) -> TimeBatch {
        let t: Vec<f64> = (0..n).map(|_| self.inverse_cdf(rng.uniform())).collect();
        let inv_p = t.iter().map(|&ti| 1.0 / self.p(ti)).collect();
        TimeBatch {
            t,
            inv_p: Some(inv_p),
        }
    }

    fn observe(&mut self, t: &[f64], integrand: &[f64]) {
        if t.is_empty() || t.len() != integrand.len() || integrand.iter().any(|v| !v.is_finite()) {
            return;
        }
        for j in 0..self.grid.len() {
            let (mut wsum, mut m1, mut m2) = (0.0, 0.0, 0.0);
            for (&ti, &z) in t.iter().zip(integrand) {
                let w = (-self.kappa * (self.grid[j] - ti).abs()).exp();
                wsum += w;
                m1 += w * z;
                m2 += w * z * z;
            }
            if wsum > 1e-300 {
                self.mean[j] = self.beta * self.mean[j] + (1.0 - self.beta) * m1 / wsum;
                self.second[j] = self.beta * self.second[j] + (1.0 - self.beta) * m2 / wsum;
            }
        }
        self.rebuild();
    }
}
