//! One minibatch of the Action Matching objective, resolved per sample in host memory: the
//! contract between an objective (which fills it from its configuration and a batch) and a model
//! with a hand-derived θ-gradient (which returns the loss and ∇θ without autograd).
//!
//! loss = ω(0)·mean_j s(0, x0_j) − ω(1)·mean_j s(1, x1_j) + Σ_i c_i ζ_i, with
//! ζ_i = ω_i(½‖∇x s‖² + ∂t s + e_i Δs + λ/2·s²) + ω′_i s at (t_i, xt_i) and c_i = 1/(N p(t_i)):
//! Eq. 7 (AM), Eq. 13 (entropic, e = ε_t²/2), Eq. 20/69 (unbalanced, λ), Eq. 84–87 (ω, p).

use crate::{Error, Result};

/// How Δs enters the integrand.
#[derive(Debug, Clone, PartialEq)]
pub enum TermsLaplacian {
    /// No diffusion term.
    None,
    /// The exact trace of the Hessian.
    Exact,
    /// vᵀ∇²s v for the probe v, `(N, D)` row-major.
    Hutchinson(Vec<f64>),
}

/// The objective of one minibatch with every weight resolved per sample; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct AmTerms {
    /// Data dimension D.
    pub dim: usize,
    /// `(N₀, D)` samples of q₀, row-major.
    pub x0: Vec<f64>,
    /// `(N₁, D)` samples of q₁, row-major.
    pub x1: Vec<f64>,
    /// `(N,)` times t_i ∈ [0, 1].
    pub t: Vec<f64>,
    /// `(N, D)` samples of q_{t_i}, row-major.
    pub xt: Vec<f64>,
    /// ω(0) and ω(1), the weights of the boundary terms.
    pub boundary_weights: [f64; 2],
    /// `(N,)` ω(t_i).
    pub omega: Vec<f64>,
    /// `(N,)` ω′(t_i).
    pub omega_dot: Vec<f64>,
    /// `(N,)` e_i = ε²_{t_i}/2, the weight of Δs (ignored when `laplacian` is `None`).
    pub half_eps_sq: Vec<f64>,
    /// The Laplacian term.
    pub laplacian: TermsLaplacian,
    /// λ ≥ 0 of unbalanced AM.
    pub growth: f64,
    /// `(N,)` c_i = 1/(N p(t_i)) (1/N for uniform times).
    pub scale: Vec<f64>,
}

impl AmTerms {
    /// Checks lengths and values; returns (N₀, N₁, N).
    pub fn validate(&self) -> Result<(usize, usize, usize)> {
        let d = self.dim;
        if d == 0 {
            return Err(Error::config("dim", "must be ≥ 1"));
        }
        let rows = |arg: &'static str, v: &[f64]| -> Result<usize> {
            if v.is_empty() {
                return Err(Error::Empty { arg });
            }
            if !v.len().is_multiple_of(d) {
                return Err(Error::Shape {
                    arg,
                    expected: format!("(·, {d}) row-major"),
                    got: vec![v.len()],
                });
            }
            finite(arg, v)?;
            Ok(v.len() / d)
        };
        let n0 = rows("x0", &self.x0)?;
        let n1 = rows("x1", &self.x1)?;
        let n = rows("xt", &self.xt)?;
        for (arg, v) in [
            ("t", &self.t),
            ("omega", &self.omega),
            ("omega_dot", &self.omega_dot),
            ("half_eps_sq", &self.half_eps_sq),
            ("scale", &self.scale),
        ] {
            if v.len() != n {
                return Err(Error::Shape {
                    arg,
                    expected: format!("({n},) like xt"),
                    got: vec![v.len()],
                });
            }
            finite(arg, v)?;
        }
        if let Some(bad) = self.t.iter().find(|t| !(0.0..=1.0).contains(*t)) {
            return Err(Error::OutOfRange {
                arg: "t",
                value: *bad,
                allowed: "[0, 1]",
            });
        }
        if let TermsLaplacian::Hutchinson(v) = &self.laplacian {
            if v.len() != n * d {
                return Err(Error::Shape {
                    arg: "probe",
                    expected: format!("({n}, {d}) like xt"),
                    got: vec![v.len()],
                });
            }
            finite("probe", v)?;
        }
        crate::check::non_negative("growth", self.growth)?;
        for (arg, w) in [
            ("omega(0)", self.boundary_weights[0]),
            ("omega(1)", self.boundary_weights[1]),
        ] {
            if !w.is_finite() {
                return Err(Error::NonFinite {
                    arg,
                    value: w,
                    index: 0,
                });
            }
        }
        Ok((n0, n1, n))
    }

    /// `k` row blocks whose objectives sum to this one (for data-parallel evaluation): x₀, x₁
    /// and the samples at t_i are split evenly, and the boundary weights rescaled by each
    /// block's share of N₀ and N₁ so that ω(0)·mean over the block still sums to ω(0)·mean.
    /// Every block keeps at least one row of each kind; `k` is clamped to make that possible.
    /// Invalid terms (see [`AmTerms::validate`]) are an error.
    pub fn shards(&self, k: usize) -> Result<Vec<AmTerms>> {
        let (n0, n1, n) = self.validate()?;
        let d = self.dim;
        let k = k.clamp(1, n0.min(n1).min(n).max(1));
        let cut = |len: usize, j: usize| j * len / k;
        Ok((0..k)
            .map(|j| {
                let (a0, b0) = (cut(n0, j), cut(n0, j + 1));
                let (a1, b1) = (cut(n1, j), cut(n1, j + 1));
                let (a, b) = (cut(n, j), cut(n, j + 1));
                let rows = |v: &[f64], lo: usize, hi: usize, w: usize| v[lo * w..hi * w].to_vec();
                AmTerms {
                    dim: self.dim,
                    x0: rows(&self.x0, a0, b0, d),
                    x1: rows(&self.x1, a1, b1, d),
                    t: rows(&self.t, a, b, 1),
                    xt: rows(&self.xt, a, b, d),
                    boundary_weights: [
                        self.boundary_weights[0] * (b0 - a0) as f64 / n0 as f64,
                        self.boundary_weights[1] * (b1 - a1) as f64 / n1 as f64,
                    ],
                    omega: rows(&self.omega, a, b, 1),
                    omega_dot: rows(&self.omega_dot, a, b, 1),
                    half_eps_sq: rows(&self.half_eps_sq, a, b, 1),
                    laplacian: match &self.laplacian {
                        TermsLaplacian::Hutchinson(v) => {
                            TermsLaplacian::Hutchinson(rows(v, a, b, d))
                        }
                        other => other.clone(),
                    },
                    growth: self.growth,
                    scale: rows(&self.scale, a, b, 1),
                }
            })
            .collect())
    }

    /// The loss from per-sample values (the reference every fused model is tested against):
    /// `s0` `(N₀,)`, `s1` `(N₁,)`, `s` `(N,)`, `grad` `(N, D)`, `dt` `(N,)`, `lap` `(N,)`;
    /// returns (loss, ζ). Lengths that do not match the terms are an error.
    pub fn evaluate(
        &self,
        s0: &[f64],
        s1: &[f64],
        s: &[f64],
        grad: &[f64],
        dt: &[f64],
        lap: Option<&[f64]>,
    ) -> Result<(f64, Vec<f64>)> {
        let (n0, n1, n) = self.validate()?;
        let d = self.dim;
        for (arg, v, want) in [
            ("s0", s0, n0),
            ("s1", s1, n1),
            ("s", s, n),
            ("grad", grad, n * d),
            ("dt", dt, n),
        ]
        .into_iter()
        .chain(lap.map(|l| ("lap", l, n)))
        {
            if v.len() != want {
                return Err(Error::Shape {
                    arg,
                    expected: format!("{want} values"),
                    got: vec![v.len()],
                });
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut loss = self.boundary_weights[0] * mean(s0) - self.boundary_weights[1] * mean(s1);
        let zeta: Vec<f64> = (0..s.len())
            .map(|i| {
                let h = 0.5 * grad[i * d..(i + 1) * d].iter().map(|g| g * g).sum::<f64>();
                let mut inner = h + dt[i] + 0.5 * self.growth * s[i] * s[i];
                if let Some(l) = lap {
                    inner += self.half_eps_sq[i] * l[i];
                }
                self.omega[i] * inner + self.omega_dot[i] * s[i]
            })
            .collect();
        loss += zeta
            .iter()
            .zip(&self.scale)
            .map(|(z, c)| z * c)
            .sum::<f64>();
        Ok((loss, zeta))
    }
}

fn finite(arg: &'static str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            arg,
            value: v[index],
            index,
        }),
        None => Ok(()),
    }
}
