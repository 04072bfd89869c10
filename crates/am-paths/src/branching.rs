//! Synthetic time courses with branching and merging (for the paper's Fig. 2) and a petal set in
//! the spirit of MIOFlow's, both seeded.

use crate::data::{DataError, Snapshots};
use am_core::SeededRng;

/// Settings of [`branching_snapshots`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BranchingConfig {
    /// Observed time points, evenly spaced on [0, 1] (5, 10 or 15 in Fig. 2).
    pub times: usize,
    /// Cells observed per time point.
    pub cells: usize,
    /// Diffusion σ of both coordinates.
    pub sigma: f64,
    /// Euler–Maruyama steps over [0, 1].
    pub steps: usize,
}

impl Default for BranchingConfig {
    fn default() -> Self {
        Self {
            times: 5,
            cells: 200,
            sigma: 0.1,
            steps: 1000,
        }
    }
}

/// The drift of the branching process at (t, x, y): x moves right at speed 2; while t < 0.5 the
/// line y = 0 repels (y′ = 3·tanh(y/0.1)), splitting the population into two branches; from
/// t = 0.7 on every cell is pulled back (y′ = −6y), merging them again.
pub fn branching_drift(t: f64, _x: f64, y: f64) -> (f64, f64) {
    let vy = if t < 0.5 {
        3.0 * (y / 0.1).tanh()
    } else if t >= 0.7 {
        -6.0 * y
    } else {
        0.0
    };
    (2.0, vy)
}

/// Simulates dX = b(t, X)dt + σ dW from X₀ ~ N(0, 0.05² I) (Euler–Maruyama) and observes fresh,
/// independent cells at each of the evenly spaced times (a new population per time point, as in
/// single-cell snapshots).
pub fn branching_snapshots(config: BranchingConfig, seed: u64) -> Result<Snapshots, DataError> {
    if config.times < 2
        || config.cells == 0
        || config.steps < config.times
        || config.sigma.is_nan()
        || config.sigma < 0.0
    {
        return Err(DataError::Argument {
            arg: "config",
            reason: format!("need ≥ 2 times, ≥ 1 cell, steps ≥ times and σ ≥ 0: {config:?}"),
        });
    }
    let mut rng = SeededRng::new(seed);
    let obs: Vec<usize> = (0..config.times)
        .map(|k| (k * config.steps) / (config.times - 1))
        .collect();
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let h = 1.0 / config.steps as f64;
    for (k, &stop) in obs.iter().enumerate() {
        for _ in 0..config.cells {
            let (mut px, mut py) = (0.05 * rng.normal(), 0.05 * rng.normal());
            for s in 0..stop {
                let (vx, vy) = branching_drift(s as f64 * h, px, py);
                px += vx * h + config.sigma * h.sqrt() * rng.normal();
                py += vy * h + config.sigma * h.sqrt() * rng.normal();
            }
            x.push(px);
            x.push(py);
            labels.push(k as f64 / (config.times - 1) as f64);
        }
    }
    Snapshots::from_rows("branching simulator", &x, labels.len(), 2, &labels)
}

/// A petal set: `petals` petals at angles 2πk/petals, `per_petal` points each, radius r ~ U(0, 1)
/// along the petal with transverse spread `width`·r·(1 − r)·4; the time label is the radius band
/// (`times` nested bands of equal width), so cells flow outwards along every petal.
pub fn petals(
    petals: usize,
    per_petal: usize,
    width: f64,
    times: usize,
    seed: u64,
) -> Result<Snapshots, DataError> {
    if petals == 0 || per_petal == 0 || times < 2 || width.is_nan() || width < 0.0 {
        return Err(DataError::Argument {
            arg: "petals",
            reason: "need petals ≥ 1, points ≥ 1, times ≥ 2, width ≥ 0".into(),
        });
    }
    let mut rng = SeededRng::new(seed);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for p in 0..petals {
        let a = 2.0 * std::f64::consts::PI * p as f64 / petals as f64;
        let (c, s) = (a.cos(), a.sin());
        for _ in 0..per_petal {
            let r = rng.uniform();
            let off = width * 4.0 * r * (1.0 - r) * rng.normal();
            x.push(r * c - off * s);
            x.push(r * s + off * c);
            labels.push(((r * times as f64).floor() as usize).min(times - 1) as f64);
        }
    }
    Snapshots::from_rows("petals", &x, labels.len(), 2, &labels)
}
