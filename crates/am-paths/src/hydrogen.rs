//! The hydrogen atom of Sec. 4.2 / App. E.1 in the reference code's units (ħ = mₑ = e = ε₀ = 1,
//! so H = −½∇² − 1/(4π‖x‖), Bohr radius a₀ = 4π, E_n = −1/(2a₀²n²); the paper's Eq. 23 written
//! with a₀ = 1 would give a beat period of 90.5 instead of ≈ 14,287).
//!
//! State (Eq. 114–115) ψ(x, τ) = (ψ₃,₂,₋₁ e^{−iE₃τ} + ψ₂,₁,₀ e^{−iE₂τ})/√2 over physical time τ ∈ [0, T],
//! T = 14,000; normalised time t = τ/T. In Cartesian coordinates (r = ‖x‖):
//! ψ₂,₁,₀ = C₁·z·e^{−r/(2a₀)}, ψ₃,₂,₋₁ = C₂·z(x − iy)·e^{−r/(3a₀)}, with
//! C₁ = √(3/4π)/(√(24a₀³)·a₀) and C₂ = (4/(81√30))a₀^{−3/2}·√(15/8π)/a₀².
//! The Bohmian velocity is v = ∇ arg ψ = Im(∇ψ/ψ) per unit of τ, so in normalised time the exact
//! AM action is s*_t(x) = T·arg ψ(x, tT) and ∇s* = T·v.

use am_core::{check, DType, Device, Error, Marginals, Result, ScoreField, SeededRng, Tensor};
use std::f64::consts::PI;

/// Bohr radius in the reference units.
pub const A0: f64 = 4.0 * PI;
/// The simulated physical time span.
pub const T_PHYSICAL: f64 = 14_000.0;

/// E_n = −1/(2a₀²n²).
pub fn energy(n: u32) -> f64 {
    -1.0 / (2.0 * A0 * A0 * (n * n) as f64)
}

fn c1() -> f64 {
    (3.0 / (4.0 * PI)).sqrt() / ((24.0 * A0.powi(3)).sqrt() * A0)
}

fn c2() -> f64 {
    4.0 / (81.0 * 30f64.sqrt()) * A0.powf(-1.5) * (15.0 / (8.0 * PI)).sqrt() / (A0 * A0)
}

/// ψ and ∇ψ at (x, τ) as complex numbers (re, im): returns (ψ, [∂x ψ, ∂y ψ, ∂z ψ]).
pub fn psi_and_gradient(p: [f64; 3], tau: f64) -> ((f64, f64), [(f64, f64); 3]) {
    let [x, y, z] = p;
    let r = (x * x + y * y + z * z).sqrt().max(1e-12);
    let (e2, e3) = (energy(2), energy(3));
    // time phases e^{−iEτ}/√2
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let (p2r, p2i) = ((e2 * tau).cos() * s, -(e2 * tau).sin() * s);
    let (p3r, p3i) = ((e3 * tau).cos() * s, -(e3 * tau).sin() * s);
    // ψ210 = C1 z e^{−r/2a}: real
    let g2 = c1() * (-r / (2.0 * A0)).exp();
    let f2 = g2 * z;
    let mut d2 = [0.0; 3];
    for (k, &c) in [x, y, z].iter().enumerate() {
        d2[k] = f2 * (-c / (r * 2.0 * A0));
    }
    d2[2] += g2;
    // ψ32−1 = C2 z (x − iy) e^{−r/3a}: u = C2 e^{−r/3a}
    let u = c2() * (-r / (3.0 * A0)).exp();
    let (f3r, f3i) = (u * z * x, -u * z * y);
    let mut d3 = [(0.0, 0.0); 3];
    for (k, &c) in [x, y, z].iter().enumerate() {
        let du = -c / (r * 3.0 * A0); // ∂_k log u
        d3[k] = (f3r * du, f3i * du);
    }
    d3[0].0 += u * z;
    d3[1].1 += -u * z;
    d3[2].0 += u * x;
    d3[2].1 += -u * y;
    let mul = |(ar, ai): (f64, f64), (br, bi): (f64, f64)| (ar * br - ai * bi, ar * bi + ai * br);
    let psi = {
        let a = mul((f2, 0.0), (p2r, p2i));
        let b = mul((f3r, f3i), (p3r, p3i));
        (a.0 + b.0, a.1 + b.1)
    };
    let mut grad = [(0.0, 0.0); 3];
    for k in 0..3 {
        let a = mul((d2[k], 0.0), (p2r, p2i));
        let b = mul(d3[k], (p3r, p3i));
        grad[k] = (a.0 + b.0, a.1 + b.1);
    }
    (psi, grad)
}

/// |ψ(x, τ)|².
pub fn density(p: [f64; 3], tau: f64) -> f64 {
    let ((re, im), _) = psi_and_gradient(p, tau);
    re * re + im * im
}

/// The Bohmian velocity v = Im(∇ψ/ψ) at (x, τ), per unit of physical time.
pub fn velocity(p: [f64; 3], tau: f64) -> [f64; 3] {
    let ((re, im), g) = psi_and_gradient(p, tau);
    let n2 = (re * re + im * im).max(1e-300);
    // Im(g/ψ) = (g_im re − g_re im)/|ψ|²
    [0, 1, 2].map(|k| (g[k].1 * re - g[k].0 * im) / n2)
}

/// The score ∇log|ψ(x, τ)|² = 2·Re(∇ψ/ψ) at (x, τ): what annealed Langevin dynamics with the
/// true scores uses (Table 2's "ALD + true scores").
pub fn score(p: [f64; 3], tau: f64) -> [f64; 3] {
    let ((re, im), g) = psi_and_gradient(p, tau);
    let n2 = (re * re + im * im).max(1e-300);
    [0, 1, 2].map(|k| 2.0 * (g[k].0 * re + g[k].1 * im) / n2)
}

/// The true marginal scores ∇log q_t in normalised time t ∈ [0, 1] (q_t = |ψ(·, tT)|²), as a
/// [`ScoreField`] for the annealed Langevin baseline.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactScore;

impl ScoreField for ExactScore {
    fn dim(&self) -> usize {
        3
    }

    fn score(&self, t: f64, x: &Tensor) -> Result<Tensor> {
        let (n, d) = check::points("x", x)?;
        if d != 3 {
            return Err(Error::Shape {
                arg: "x",
                expected: "(N, 3)".into(),
                got: x.dims().to_vec(),
            });
        }
        check::unit_times("t", &[t])?;
        let xs: Vec<f64> = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
        let mut out = Vec::with_capacity(3 * n);
        for p in xs.chunks(3) {
            out.extend(score([p[0], p[1], p[2]], t * T_PHYSICAL));
        }
        am_core::rng::tensor_from_f64(out, &[n, 3], x.dtype(), x.device())
    }
}

/// The exact AM action in normalised time, s*_t(x) = T·arg ψ(x, tT) (principal branch; only its
/// gradient T·v is single-valued).
pub fn exact_action(p: [f64; 3], t: f64) -> f64 {
    let ((re, im), _) = psi_and_gradient(p, t * T_PHYSICAL);
    T_PHYSICAL * im.atan2(re)
}

/// Samples of |ψ(·, 0)|² by random-walk Metropolis–Hastings and what they say about themselves.
#[derive(Debug, Clone)]
pub struct MhSamples {
    /// The final state of every chain, row-major `(chains, 3)`.
    pub points: Vec<f64>,
    /// Accepted proposals / all proposals.
    pub acceptance: f64,
    /// Gelman–Rubin R̂ of r = ‖x‖ over the second halves of the chains (≈ 1 when mixed).
    pub r_hat: f64,
}

/// Random-walk Metropolis–Hastings for |ψ(x, 0)|²: `chains` chains started from 50·N(0, I₃), each
/// `steps` Gaussian proposals of standard deviation `proposal` (the reference: 5,000 chains,
/// 5,000 steps, σ ≈ 5–10).
pub fn sample_initial(
    chains: usize,
    steps: usize,
    proposal: f64,
    rng: &mut SeededRng,
) -> Result<MhSamples> {
    if chains < 2 || steps < 4 {
        return Err(Error::config("chains", "need ≥ 2 chains and ≥ 4 steps"));
    }
    check::positive("proposal", proposal)?;
    let mut pts: Vec<[f64; 3]> = (0..chains)
        .map(|_| {
            [
                50.0 * rng.normal(),
                50.0 * rng.normal(),
                50.0 * rng.normal(),
            ]
        })
        .collect();
    let mut dens: Vec<f64> = pts.iter().map(|&p| density(p, 0.0)).collect();
    let mut accepted = 0usize;
    let half = steps / 2;
    let (mut sum, mut sq) = (vec![0.0; chains], vec![0.0; chains]);
    for step in 0..steps {
        for c in 0..chains {
            let q = [
                pts[c][0] + proposal * rng.normal(),
                pts[c][1] + proposal * rng.normal(),
                pts[c][2] + proposal * rng.normal(),
            ];
            let dq = density(q, 0.0);
            if dq >= dens[c] || rng.uniform() * dens[c] < dq {
                pts[c] = q;
                dens[c] = dq;
                accepted += 1;
            }
            if step >= half {
                let r = (pts[c][0].powi(2) + pts[c][1].powi(2) + pts[c][2].powi(2)).sqrt();
                sum[c] += r;
                sq[c] += r * r;
            }
        }
    }
    let m = (steps - half) as f64;
    let means: Vec<f64> = sum.iter().map(|s| s / m).collect();
    let w = sq
        .iter()
        .zip(&means)
        .map(|(q, mu)| (q / m - mu * mu) * m / (m - 1.0))
        .sum::<f64>()
        / chains as f64;
    let grand = means.iter().sum::<f64>() / chains as f64;
    let b = m * means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (chains as f64 - 1.0);
    let r_hat = (((m - 1.0) / m * w + b / m) / w).sqrt();
    Ok(MhSamples {
        points: pts.into_iter().flatten().collect(),
        acceptance: accepted as f64 / (chains * steps) as f64,
        r_hat,
    })
}

/// Integration scheme for the Bohmian trajectories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Explicit Euler (the reference: dt = 14).
    Euler,
    /// Classical RK4.
    Rk4,
}

/// Moves particles `x0` (row-major `(N, 3)`) along the Bohmian velocity from τ = 0 to T in `steps`
/// steps; returns the states at every step, row-major `(steps + 1, N, 3)` (the reference data set is
/// 1001 × 5000 × 3 with Euler, dt = 14).
pub fn trajectories(x0: &[f64], steps: usize, scheme: Scheme) -> Result<Vec<f64>> {
    if x0.is_empty() || !x0.len().is_multiple_of(3) {
        return Err(Error::Shape {
            arg: "x0",
            expected: "(N, 3) row-major".into(),
            got: vec![x0.len()],
        });
    }
    if steps == 0 {
        return Err(Error::config("steps", "must be ≥ 1"));
    }
    let dt = T_PHYSICAL / steps as f64;
    let mut out = Vec::with_capacity(x0.len() * (steps + 1));
    out.extend_from_slice(x0);
    let mut x: Vec<[f64; 3]> = x0.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    for k in 0..steps {
        let tau = k as f64 * dt;
        for p in x.iter_mut() {
            let add = |a: [f64; 3], v: [f64; 3], h: f64| {
                [a[0] + h * v[0], a[1] + h * v[1], a[2] + h * v[2]]
            };
            *p = match scheme {
                Scheme::Euler => add(*p, velocity(*p, tau), dt),
                Scheme::Rk4 => {
                    let k1 = velocity(*p, tau);
                    let k2 = velocity(add(*p, k1, dt / 2.0), tau + dt / 2.0);
                    let k3 = velocity(add(*p, k2, dt / 2.0), tau + dt / 2.0);
                    let k4 = velocity(add(*p, k3, dt), tau + dt);
                    [0, 1, 2].map(|i| p[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
                }
            };
        }
        for p in &x {
            if p.iter().any(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    arg: "trajectory",
                    value: f64::NAN,
                    index: k + 1,
                });
            }
            out.extend_from_slice(p);
        }
    }
    Ok(out)
}

/// The data set as a path: precomputed particle positions at `steps + 1` equally spaced normalised
/// times; `sample` returns the stored particles at the grid time nearest to t (the reference snaps
/// training times to the grid).
#[derive(Debug, Clone)]
pub struct HydrogenData {
    states: Vec<f64>,
    particles: usize,
    steps: usize,
}

impl HydrogenData {
    /// From `trajectories` output.
    pub fn new(states: Vec<f64>, particles: usize, steps: usize) -> Result<Self> {
        if states.len() != (steps + 1) * particles * 3 {
            return Err(Error::Shape {
                arg: "states",
                expected: format!("({} , {particles}, 3)", steps + 1),
                got: vec![states.len()],
            });
        }
        Ok(Self {
            states,
            particles,
            steps,
        })
    }

    /// Particles at grid index k, row-major `(N, 3)`; an index past the grid is an error.
    pub fn at(&self, k: usize) -> Result<&[f64]> {
        let n = self.particles * 3;
        self.states
            .get(k * n..(k + 1) * n)
            .ok_or(Error::OutOfRange {
                arg: "k",
                value: k as f64,
                allowed: "0..=GRID (the saved time steps)",
            })
    }
}

impl Marginals for HydrogenData {
    fn dim(&self) -> usize {
        3
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let mut out = Vec::with_capacity(3 * t.len());
        for &ti in t {
            let k = (ti * self.steps as f64).round() as usize;
            let i = rng.below(self.particles);
            out.extend_from_slice(&self.at(k)?[3 * i..3 * i + 3]);
        }
        am_core::rng::tensor_from_f64(out, &[t.len(), 3], dtype, device)
    }
}
