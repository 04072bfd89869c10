//! Exact oracles for paths in one dimension (docs/oracles.md, App. E.3).
//!
//! - Any 1-D path: the AM velocity is v*_t(x) = −∂t F_t(x) / q_t(x), F the CDF (the unique
//!   solution of the continuity equation with q v → 0 at infinity).
//! - [`Mixture1d`]: mixtures of Gaussians with time-dependent weights, means and spreads, with
//!   density, CDF and their time derivatives in closed form; [`Mixture1d::unbalanced_example`] is
//!   the moving mixture of App. E.3 (α_t from 0.2 to 0.8 between N(−5, 1) and N(5, 1)), whose
//!   AM velocity between the modes is huge — the motivation of unbalanced AM.
//! - [`unbalanced_action_1d`]: the unbalanced action of Eq. 69 on a grid, from the elliptic problem
//!   −(q ŝ′)′ + λ q ŝ = ∂t q with zero flux at the ends, by a tridiagonal solve.

use am_core::{DType, Device, Error, Marginals, Result, SeededRng, Tensor};

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal CDF Φ(z) = ½ erfc(−z/√2).
fn phi_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// erfc(x) to ≈ 1e-14 relative: the Maclaurin series of erf for |x| < 2, Lentz's continued
/// fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) beyond.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/√π Σ (−1)ⁿ x^{2n+1} / (n! (2n + 1))
        let (mut sum, mut term) = (0.0f64, x);
        for n in 0..200 {
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
            term *= -x * x / (n + 1) as f64;
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum;
    }
    let tiny = 1e-300;
    let (mut f, mut c, mut d) = (x, x, 0.0f64);
    for k in 1..300 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = x + a / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

/// A component w(t)·N(μ(t), σ(t)²) given by values and time derivatives at t.
pub type ComponentFn = fn(f64) -> [f64; 6];

/// A 1-D Gaussian mixture path q_t = Σ_k w_k(t) N(μ_k(t), σ_k(t)²); each component function returns
/// [w, ẇ, μ, μ̇, σ, σ̇] at t. The weights need not sum to one when the path changes its mass.
#[derive(Debug, Clone)]
pub struct Mixture1d {
    components: Vec<ComponentFn>,
}

impl Mixture1d {
    /// From component functions.
    pub fn new(components: Vec<ComponentFn>) -> Result<Self> {
        if components.is_empty() {
            return Err(Error::Empty { arg: "components" });
        }
        Ok(Self { components })
    }

    /// App. E.3: q_t = α_t N(−5, 1) + (1 − α_t) N(5, 1), α_t = 0.2 + 0.6t.
    pub fn unbalanced_example() -> Self {
        Self {
            components: vec![|t| [0.2 + 0.6 * t, 0.6, -5.0, 0.0, 1.0, 0.0], |t| {
                [0.8 - 0.6 * t, -0.6, 5.0, 0.0, 1.0, 0.0]
            }],
        }
    }

    fn parts(&self, t: f64, x: f64) -> (f64, f64, f64, f64) {
        // q, F, ∂t q, ∂t F
        let (mut q, mut f, mut qt, mut ft) = (0.0, 0.0, 0.0, 0.0);
        for c in &self.components {
            let [w, wd, mu, mud, s, sd] = c(t);
            let z = (x - mu) / s;
            let pdf = INV_SQRT_2PI * (-0.5 * z * z).exp() / s;
            let cdf = phi_cdf(z);
            // ∂t z = −(μ̇ + z σ̇)/σ
            let zt = -(mud + z * sd) / s;
            q += w * pdf;
            f += w * cdf;
            // ∂t [φ(z)/σ] = φ(z)(−z ∂t z)/σ − φ(z) σ̇/σ²
            qt += wd * pdf + w * pdf * (-z * zt - sd / s);
            ft += wd * cdf + w * pdf * s * zt;
        }
        (q, f, qt, ft)
    }

    /// q_t(x).
    pub fn density(&self, t: f64, x: f64) -> f64 {
        self.parts(t, x).0
    }

    /// F_t(x) = ∫_{−∞}^x q_t.
    pub fn cdf(&self, t: f64, x: f64) -> f64 {
        self.parts(t, x).1
    }

    /// ∂t q_t(x).
    pub fn density_dt(&self, t: f64, x: f64) -> f64 {
        self.parts(t, x).2
    }

    /// The AM velocity v*_t(x) = −∂t F_t(x)/q_t(x) (exact for mass-preserving paths).
    pub fn velocity(&self, t: f64, x: f64) -> f64 {
        let (q, _, _, ft) = self.parts(t, x);
        -ft / q
    }

    /// The total mass Σ_k w_k(t).
    pub fn mass(&self, t: f64) -> f64 {
        self.components.iter().map(|c| c(t)[0]).sum()
    }
}

impl Marginals for Mixture1d {
    fn dim(&self) -> usize {
        1
    }

    /// Samples of the normalised q_t / mass(t).
    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let mut out = Vec::with_capacity(t.len());
        for &ti in t {
            let total = self.mass(ti);
            let mut u = rng.uniform() * total;
            let mut pick = self.components.len() - 1;
            for (k, c) in self.components.iter().enumerate() {
                let w = c(ti)[0];
                if u < w {
                    pick = k;
                    break;
                }
                u -= w;
            }
            let [_, _, mu, _, s, _] = (self.components[pick])(ti);
            out.push(mu + s * rng.normal());
        }
        am_core::rng::tensor_from_f64(out, &[t.len(), 1], dtype, device)
    }
}

/// The unbalanced action ŝ_t on a uniform grid of [lo, hi] (n ≥ 3 nodes) for growth weight λ > 0:
/// the finite-volume solution of −(q ŝ′)′ + λ q ŝ = ∂t q (Eq. 69 with v = ŝ′, g = λŝ) with zero
/// flux at both ends, by the Thomas algorithm. Returns the grid and ŝ on it.
pub fn unbalanced_action_1d(
    q: impl Fn(f64) -> f64,
    dq_dt: impl Fn(f64) -> f64,
    lambda: f64,
    lo: f64,
    hi: f64,
    n: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    am_core::check::positive("lambda", lambda)?;
    if n < 3 || lo.is_nan() || hi.is_nan() || lo >= hi {
        return Err(Error::config(
            "grid",
            format!("need n ≥ 3 and lo < hi, got n = {n}, [{lo}, {hi}]"),
        ));
    }
    let h = (hi - lo) / (n - 1) as f64;
    let x: Vec<f64> = (0..n).map(|i| lo + i as f64 * h).collect();
    let qn: Vec<f64> = x.iter().map(|&v| q(v)).collect();
    let qh: Vec<f64> = (0..n - 1).map(|i| q(x[i] + 0.5 * h)).collect();
    // row i: −(qh_i (s_{i+1} − s_i) − qh_{i−1}(s_i − s_{i−1}))/h² + λ q_i s_i = ∂t q_i
    let mut diag = vec![0.0; n];
    let mut off = vec![0.0; n - 1];
    let mut rhs: Vec<f64> = x.iter().map(|&v| dq_dt(v)).collect();
    for i in 0..n {
        diag[i] = lambda * qn[i];
        if i + 1 < n {
            diag[i] += qh[i] / (h * h);
            off[i] = -qh[i] / (h * h);
        }
        if i > 0 {
            diag[i] += qh[i - 1] / (h * h);
        }
    }
    // Thomas algorithm (symmetric, diagonally dominant for λ q > 0)
    let mut c = vec![0.0; n];
    for i in 0..n {
        let lower = if i > 0 { off[i - 1] } else { 0.0 };
        let denom = diag[i] - if i > 0 { lower * c[i - 1] } else { 0.0 };
        if denom.abs() < 1e-300 {
            return Err(Error::Unsupported(
                "tridiagonal solve: zero pivot (q vanishes on the grid?)".into(),
            ));
        }
        if i + 1 < n {
            c[i] = off[i] / denom;
        }
        rhs[i] = (rhs[i] - if i > 0 { lower * rhs[i - 1] } else { 0.0 }) / denom;
    }
    for i in (0..n - 1).rev() {
        rhs[i] -= c[i] * rhs[i + 1];
    }
    Ok((x, rhs))
}
