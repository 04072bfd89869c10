//! Gaussian paths q_t = N(μ_t, Σ_t) and their exact Action Matching answers.
//!
//! A path is given by its mean μ_t and a factor L_t with Σ_t = L_t L_tᵀ + δI, each with first
//! and second time derivatives (so Σ̇ = L̇Lᵀ + LL̇ᵀ and Σ̈ = L̈Lᵀ + 2L̇L̇ᵀ + LL̈ᵀ are exact).
//! Isotropic paths use L_t = γ_t I.

mod closed_form;
mod linalg;
mod oracle;
mod quadratic;

pub use closed_form::{loss, LossSpec};
pub use linalg::{solve_weighted_lyapunov, sym_sqrt};
pub use oracle::ConvexOracle;
pub use quadratic::{Quadratic, QuadraticAction};

use crate::{Error, Result};
use am_core::{DType, Device, Marginals, SeededRng, Tensor};
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

/// A value with its first and second time derivatives.
#[derive(Debug, Clone)]
pub struct Jet<T> {
    /// f(t).
    pub value: T,
    /// ḟ(t).
    pub dot: T,
    /// f̈(t).
    pub ddot: T,
}

type VecFn = Arc<dyn Fn(f64) -> Jet<DVector<f64>> + Send + Sync>;
type MatFn = Arc<dyn Fn(f64) -> Jet<DMatrix<f64>> + Send + Sync>;

/// The moments of q_t and their time derivatives at one t.
#[derive(Debug, Clone)]
pub struct Moments {
    /// μ, μ̇, μ̈.
    pub mean: Jet<DVector<f64>>,
    /// Σ, Σ̇, Σ̈.
    pub cov: Jet<DMatrix<f64>>,
}

/// A Gaussian path q_t = N(μ_t, L_tL_tᵀ + δI).
#[derive(Clone)]
pub struct GaussianPath {
    dim: usize,
    mean: VecFn,
    factor: MatFn,
    jitter: f64,
}

impl std::fmt::Debug for GaussianPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GaussianPath {{ dim: {}, jitter: {} }}",
            self.dim, self.jitter
        )
    }
}

impl GaussianPath {
    /// A path from a mean jet and a factor jet (Σ = LLᵀ + δI).
    pub fn new(
        dim: usize,
        mean: impl Fn(f64) -> Jet<DVector<f64>> + Send + Sync + 'static,
        factor: impl Fn(f64) -> Jet<DMatrix<f64>> + Send + Sync + 'static,
        jitter: f64,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(am_core::Error::config("dim", "must be ≥ 1").into());
        }
        am_core::check::non_negative("jitter", jitter)?;
        Ok(Self {
            dim,
            mean: Arc::new(mean),
            factor: Arc::new(factor),
            jitter,
        })
    }

    /// Isotropic path N(μ_t, γ_t² I) from μ and γ jets.
    pub fn isotropic(
        dim: usize,
        mean: impl Fn(f64) -> Jet<DVector<f64>> + Send + Sync + 'static,
        gamma: impl Fn(f64) -> Jet<f64> + Send + Sync + 'static,
    ) -> Result<Self> {
        let g = Arc::new(gamma);
        Self::new(
            dim,
            mean,
            move |t| {
                let j = g(t);
                let eye = DMatrix::identity(dim, dim);
                Jet {
                    value: &eye * j.value,
                    dot: &eye * j.dot,
                    ddot: &eye * j.ddot,
                }
            },
            0.0,
        )
    }

    /// The path of the learning tests and the `gaussian` example:
    /// μ_t = (2t, sin πt), γ_t = 1 + t (isotropic, D = 2).
    pub fn moving_and_scaling() -> Self {
        use std::f64::consts::PI;
        Self::isotropic(
            2,
            |t| Jet {
                value: DVector::from_vec(vec![2.0 * t, (PI * t).sin()]),
                dot: DVector::from_vec(vec![2.0, PI * (PI * t).cos()]),
                ddot: DVector::from_vec(vec![0.0, -PI * PI * (PI * t).sin()]),
            },
            |t| Jet {
                value: 1.0 + t,
                dot: 1.0,
                ddot: 0.0,
            },
        )
        .expect("valid constant path")
    }

    /// The marginals of the linear interpolant x_t = (1 − t)x₀ + t·x₁ of independent endpoints
    /// x₀ ~ N(μ₀, A₀A₀ᵀ), x₁ ~ N(μ₁, A₁A₁ᵀ): q_t = N((1 − t)μ₀ + tμ₁, (1 − t)²Σ₀ + t²Σ₁), with the
    /// factor L_t = [(1 − t)A₀, tA₁]. When Σ₀ and Σ₁ do not commute, the flow-matching field of
    /// this interpolant is not a gradient (the `gaussian` and `convex_cost` examples).
    pub fn interpolant(
        m0: DVector<f64>,
        a0: DMatrix<f64>,
        m1: DVector<f64>,
        a1: DMatrix<f64>,
    ) -> Result<Self> {
        let d = m0.len();
        if m1.len() != d || a0.shape() != (d, d) || a1.shape() != (d, d) {
            return Err(am_core::Error::config(
                "endpoints",
                format!("μ₀, μ₁ must have length {d} and A₀, A₁ be {d}×{d}"),
            )
            .into());
        }
        let (mb0, mb1) = (m0.clone(), m1.clone());
        Self::new(
            d,
            move |t| Jet {
                value: &mb0 * (1.0 - t) + &mb1 * t,
                dot: &mb1 - &mb0,
                ddot: DVector::zeros(d),
            },
            move |t| {
                let mut value = DMatrix::zeros(d, 2 * d);
                let mut dot = DMatrix::zeros(d, 2 * d);
                value.columns_mut(0, d).copy_from(&(&a0 * (1.0 - t)));
                value.columns_mut(d, d).copy_from(&(&a1 * t));
                dot.columns_mut(0, d).copy_from(&(-&a0));
                dot.columns_mut(d, d).copy_from(&a1);
                Jet {
                    value,
                    dot,
                    ddot: DMatrix::zeros(d, 2 * d),
                }
            },
            0.0,
        )
    }

    /// A path whose mean and factor are random quadratic polynomials in t (seeded): full
    /// covariance, for the identity tests. δ keeps Σ positive definite.
    pub fn random_polynomial(dim: usize, rng: &mut SeededRng, jitter: f64) -> Result<Self> {
        let coef = |rng: &mut SeededRng, r: usize, c: usize, s: f64| {
            (0..3)
                .map(|_| DMatrix::from_fn(r, c, |_, _| s * rng.normal()))
                .collect::<Vec<_>>()
        };
        let m = coef(rng, dim, 1, 1.0);
        let mut l = coef(rng, dim, dim, 0.5);
        l[0] += DMatrix::identity(dim, dim);
        let poly = |c: &[DMatrix<f64>], t: f64| Jet {
            value: &c[0] + &c[1] * t + &c[2] * (t * t),
            dot: &c[1] + &c[2] * (2.0 * t),
            ddot: &c[2] * 2.0,
        };
        Self::new(
            dim,
            move |t| {
                let j = poly(&m, t);
                Jet {
                    value: j.value.column(0).into_owned(),
                    dot: j.dot.column(0).into_owned(),
                    ddot: j.ddot.column(0).into_owned(),
                }
            },
            move |t| poly(&l, t),
            jitter,
        )
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// μ, Σ and their first two time derivatives at t.
    pub fn moments(&self, t: f64) -> Moments {
        let mean = (self.mean)(t);
        let l = (self.factor)(t);
        let lt = l.value.transpose();
        let ldt = l.dot.transpose();
        let value = &l.value * &lt + DMatrix::identity(self.dim, self.dim) * self.jitter;
        let dot = &l.dot * &lt + &l.value * &ldt;
        let ddot = &l.ddot * &lt + (&l.dot * &ldt) * 2.0 + &l.value * l.ddot.transpose();
        Moments {
            mean,
            cov: Jet { value, dot, ddot },
        }
    }

    /// Samples x_i ~ q_{t_i} as f64 rows.
    pub fn sample_rows(&self, t: &[f64], rng: &mut SeededRng) -> Result<Vec<f64>> {
        let d = self.dim;
        let mut out = Vec::with_capacity(t.len() * d);
        for &ti in t {
            let m = self.moments(ti);
            let chol = m
                .cov
                .value
                .clone()
                .cholesky()
                .ok_or(Error::NotPositiveDefinite { t: ti })?;
            let z = DVector::from_vec(rng.normal_vec(d));
            let x = &m.mean.value + chol.l() * z;
            out.extend(x.iter());
        }
        Ok(out)
    }

    /// log q_t(x) for one point.
    pub fn log_density(&self, t: f64, x: &[f64]) -> Result<f64> {
        let m = self.moments(t);
        let chol = m
            .cov
            .value
            .clone()
            .cholesky()
            .ok_or(Error::NotPositiveDefinite { t })?;
        let y = DVector::from_column_slice(x) - &m.mean.value;
        let z = chol
            .l()
            .solve_lower_triangular(&y)
            .ok_or(Error::NotPositiveDefinite { t })?;
        let logdet: f64 = chol.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
        Ok(
            -0.5 * (z.norm_squared()
                + logdet
                + self.dim as f64 * (2.0 * std::f64::consts::PI).ln()),
        )
    }
}

impl Marginals for GaussianPath {
    fn dim(&self) -> usize {
        self.dim
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let rows = self.sample_rows(t, rng)?;
        am_core::rng::tensor_from_f64(rows, &[t.len(), self.dim], dtype, device)
    }
}
