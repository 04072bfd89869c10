//! The configuration of an Action Matching objective, validated before any tensor is touched.

pub use am_core::Diffusion;
use am_core::{Error as CoreError, Result as CoreResult, Tensor};

/// How Δs is estimated in entropic AM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LaplacianEstimator {
    /// The exact trace of the Hessian.
    #[default]
    Exact,
    /// One Rademacher probe per sample: εᵀ∇²s ε (unbiased).
    Hutchinson,
}

/// The time weight ω(t) ≥ 0 of Appendix C (Eq. 83–87).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum TimeWeight {
    /// ω ≡ 1.
    #[default]
    One,
    /// ω(t) = 1 − t (the reference image runs).
    OneMinusT,
    /// ω(t) = Σ_k c_k t^k.
    Polynomial(Vec<f64>),
    /// The total mass m(t) of an unnormalised path ρ_t = m(t)·q̂_t (per-time masses of snapshots,
    /// e.g. cell counts, for unbalanced AM): piecewise linear through (`times[k]`, `masses[k]`),
    /// constant outside. Eq. 20 applied to ρ weights the boundary and time terms by m and has
    /// **no** ω′ term (ρ carries the mass; the ω′s term of Eq. 84 belongs to re-weighting a
    /// normalised path), so [`TimeWeight::at`] reports ω′ = 0 for it.
    Mass {
        /// Increasing times in [0, 1].
        times: Vec<f64>,
        /// Positive finite masses, one per time.
        masses: Vec<f64>,
    },
}

impl TimeWeight {
    /// ω(t) and ω′(t) at a scalar t. A `Mass` weight without one mass per time (at least one)
    /// is an error; [`AmConfig::validate`] checks the rest (order, range, positivity).
    pub fn at(&self, t: f64) -> CoreResult<(f64, f64)> {
        if let TimeWeight::Mass { times, masses } = self {
            if times.is_empty() || times.len() != masses.len() {
                return Err(CoreError::config(
                    "weight",
                    format!(
                        "masses need one mass per time, got {} times and {} masses",
                        times.len(),
                        masses.len()
                    ),
                ));
            }
        }
        Ok(match self {
            TimeWeight::One => (1.0, 0.0),
            TimeWeight::OneMinusT => (1.0 - t, -1.0),
            TimeWeight::Polynomial(c) => {
                let (mut v, mut d) = (0.0, 0.0);
                for (k, ck) in c.iter().enumerate().rev() {
                    v = v * t + ck;
                    if k > 0 {
                        d = d * t + k as f64 * ck;
                    }
                }
                (v, d)
            }
            TimeWeight::Mass { times, masses } => (piecewise_linear(times, masses, t), 0.0),
        })
    }

    /// True for ω ≡ 1 (no tensor work needed).
    pub fn is_one(&self) -> bool {
        matches!(self, TimeWeight::One)
            || matches!(self, TimeWeight::Polynomial(c) if c.len() == 1 && c[0] == 1.0)
    }

    /// ω(t) and ω′(t) as tensors `(N, 1)`.
    pub fn tensors(&self, t: &Tensor) -> CoreResult<(Tensor, Tensor)> {
        Ok(match self {
            TimeWeight::One => (t.ones_like()?, t.zeros_like()?),
            TimeWeight::OneMinusT => (t.affine(-1.0, 1.0)?, t.ones_like()?.affine(-1.0, 0.0)?),
            TimeWeight::Polynomial(c) => {
                let mut v = t.zeros_like()?;
                let mut d = t.zeros_like()?;
                for (k, &ck) in c.iter().enumerate().rev() {
                    v = (v * t)?.affine(1.0, ck)?;
                    if k > 0 {
                        d = (d * t)?.affine(1.0, k as f64 * ck)?;
                    }
                }
                (v, d)
            }
            TimeWeight::Mass { .. } => {
                let tv: Vec<f64> = t.to_dtype(am_core::DType::F64)?.flatten_all()?.to_vec1()?;
                let n = tv.len();
                let v: Vec<f64> = tv
                    .iter()
                    .map(|&ti| self.at(ti).map(|w| w.0))
                    .collect::<CoreResult<_>>()?;
                (
                    am_core::rng::tensor_from_f64(v, &[n, 1], t.dtype(), t.device())?,
                    t.zeros_like()?,
                )
            }
        })
    }

    fn validate(&self) -> CoreResult<()> {
        if let TimeWeight::Mass { times, masses } = self {
            if times.len() < 2 || times.len() != masses.len() {
                return Err(CoreError::config(
                    "weight",
                    format!(
                        "masses need ≥ 2 times and one mass per time, got {} times and {} masses",
                        times.len(),
                        masses.len()
                    ),
                ));
            }
            if times.iter().any(|t| !(0.0..=1.0).contains(t))
                || times.windows(2).any(|w| w[1] <= w[0])
            {
                return Err(CoreError::config(
                    "weight",
                    "mass times must increase within [0, 1]",
                ));
            }
            if let Some((k, m)) = masses
                .iter()
                .enumerate()
                .find(|(_, m)| !(m.is_finite() && **m > 0.0))
            {
                return Err(CoreError::config(
                    "weight",
                    format!("mass {k} is {m}; masses must be finite and > 0"),
                ));
            }
        }
        if let TimeWeight::Polynomial(c) = self {
            if c.is_empty() || c.iter().any(|v| !v.is_finite()) {
                return Err(CoreError::config(
                    "weight",
                    "polynomial needs finite coefficients",
                ));
            }
            for i in 0..=1000 {
                let t = i as f64 / 1000.0;
                let w = self.at(t)?.0;
                if w < 0.0 {
                    return Err(CoreError::config("weight", format!("ω({t}) = {w} < 0")));
                }
            }
        }
        Ok(())
    }
}

/// Linear interpolation through (xs, ys), constant beyond the ends.
fn piecewise_linear(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    if x <= xs[0] {
        return ys[0];
    }
    let k = xs.partition_point(|&v| v <= x);
    if k >= xs.len() {
        return ys[ys.len() - 1];
    }
    let s = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
    (1.0 - s) * ys[k - 1] + s * ys[k]
}

/// Which Action Matching objective (see the crate docs).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AmConfig {
    /// Diffusion ε_t of entropic AM (Eq. 13); `None` for deterministic AM.
    pub diffusion: Diffusion,
    /// Estimator of Δs when the diffusion is active.
    pub laplacian: LaplacianEstimator,
    /// Growth weight λ ≥ 0 of unbalanced AM (Eq. 20 for λ = 1, Eq. 69 in general); 0: balanced.
    pub growth: f64,
    /// Time weight ω(t) (Appendix C).
    pub weight: TimeWeight,
}

impl AmConfig {
    /// Deterministic AM (Eq. 7).
    pub fn deterministic() -> Self {
        Self::default()
    }

    /// Entropic AM (Eq. 13) with constant ε and the exact Laplacian.
    pub fn entropic(eps: f64) -> Self {
        Self {
            diffusion: Diffusion::Constant { eps },
            ..Self::default()
        }
    }

    /// Unbalanced AM (Eq. 69) with growth weight λ.
    pub fn unbalanced(lambda: f64) -> Self {
        Self {
            growth: lambda,
            ..Self::default()
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> CoreResult<()> {
        self.diffusion.validate()?;
        am_core::check::non_negative("lambda", self.growth)?;
        self.weight.validate()
    }
}
