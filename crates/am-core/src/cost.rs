//! Convex kinetic costs c(v) and their conjugates c*(a) (Sec. 3.3, App. B.2).
//!
//! Objectives need c* (the Hamiltonian H of Prop. B.2, Eq. 52); samplers need ∇c* (the velocity
//! v = ∇c*(∇s) of Eq. 22). With c = c* = ½‖·‖² both reduce to standard Action Matching.

use crate::{check, Error, Result, Tensor};

/// A strictly convex cost c on velocities with its convex conjugate (Def. B.1, Eq. 51).
pub trait ConvexCost: Send + Sync {
    /// A short name for tables and logs.
    fn name(&self) -> String;
    /// c(v) `(N, 1)` for velocities `v` `(N, D)`.
    fn cost(&self, v: &Tensor) -> Result<Tensor>;
    /// c*(a) = sup_v ⟨v, a⟩ − c(v), `(N, 1)` for `a` `(N, D)`.
    fn conjugate(&self, a: &Tensor) -> Result<Tensor>;
    /// ∇c*(a) `(N, D)`: the velocity belonging to the momentum a (Eq. 22).
    fn grad_conjugate(&self, a: &Tensor) -> Result<Tensor>;
    /// F(a)·v row by row, for a factor F of the Hessian, F Fᵀ = ∇²c*(a). The divergence of the
    /// velocity ∇c*(∇s) is tr(∇²c*(∇s)·∇²s) = Σᵢ (Feᵢ)ᵀ∇²s(Feᵢ), and (Fε)ᵀ∇²s(Fε) is its
    /// Hutchinson estimate for Rademacher ε.
    fn hessian_factor_apply(&self, a: &Tensor, v: &Tensor) -> Result<Tensor>;
}

/// Anisotropic quadratic cost c(v) = ½vᵀAv with A symmetric positive definite:
/// c*(a) = ½aᵀA⁻¹a, ∇c*(a) = A⁻¹a.
#[derive(Debug, Clone)]
pub struct QuadraticCost {
    dim: usize,
    a: Vec<f64>,
    a_inv: Vec<f64>,
    /// Lower Cholesky factor of A⁻¹ (the Hessian factor of c*).
    inv_factor: Vec<f64>,
}

impl QuadraticCost {
    /// From a row-major D×D matrix; fails unless it is symmetric positive definite.
    pub fn new(a: Vec<f64>, dim: usize) -> Result<Self> {
        if a.len() != dim * dim || dim == 0 {
            return Err(Error::Shape {
                arg: "A",
                expected: format!("{dim}×{dim} row-major"),
                got: vec![a.len()],
            });
        }
        for (index, &value) in a.iter().enumerate() {
            if !value.is_finite() {
                return Err(Error::NonFinite {
                    arg: "A",
                    value,
                    index,
                });
            }
        }
        for i in 0..dim {
            for j in 0..i {
                let (x, y) = (a[i * dim + j], a[j * dim + i]);
                if (x - y).abs() > 1e-12 * (1.0 + x.abs().max(y.abs())) {
                    return Err(Error::config(
                        "A",
                        format!("not symmetric: A[{i},{j}] = {x} ≠ A[{j},{i}] = {y}"),
                    ));
                }
            }
        }
        let l = cholesky(&a, dim)
            .ok_or_else(|| Error::config("A", "not positive definite (Cholesky failed)"))?;
        let a_inv = spd_inverse(&l, dim);
        let inv_factor = cholesky(&a_inv, dim).ok_or_else(|| {
            Error::config("A", "A⁻¹ is not positive definite (ill-conditioned A)")
        })?;
        Ok(Self {
            dim,
            a,
            a_inv,
            inv_factor,
        })
    }

    /// c = ½‖v‖², the cost of standard Action Matching.
    pub fn identity(dim: usize) -> Self {
        let mut a = vec![0.0; dim * dim];
        for i in 0..dim {
            a[i * dim + i] = 1.0;
        }
        Self {
            dim,
            a: a.clone(),
            a_inv: a.clone(),
            inv_factor: a,
        }
    }

    /// The matrix A, row-major.
    pub fn matrix(&self) -> &[f64] {
        &self.a
    }

    /// The matrix A⁻¹, row-major.
    pub fn inverse(&self) -> &[f64] {
        &self.a_inv
    }

    fn transpose(m: &[f64], d: usize) -> Vec<f64> {
        (0..d * d).map(|k| m[(k % d) * d + k / d]).collect()
    }

    fn half_quadratic_form(&self, m: &[f64], v: &Tensor) -> Result<Tensor> {
        let mv = self.apply(m, v)?;
        Ok(((mv * v)?.sum_keepdim(1)? * 0.5)?)
    }

    fn apply(&self, m: &[f64], v: &Tensor) -> Result<Tensor> {
        let (_, d) = check::points("v", v)?;
        if d != self.dim {
            return Err(Error::Shape {
                arg: "v",
                expected: format!("(N, {})", self.dim),
                got: v.dims().to_vec(),
            });
        }
        let mt = Tensor::from_vec(m.to_vec(), (d, d), v.device())?.to_dtype(v.dtype())?;
        // rows v_i ↦ M v_i, i.e. V Mᵀ (callers pass Mᵀ for non-symmetric M)
        Ok(v.matmul(&mt)?)
    }
}

impl ConvexCost for QuadraticCost {
    fn name(&self) -> String {
        "quadratic ½vᵀAv".into()
    }
    fn cost(&self, v: &Tensor) -> Result<Tensor> {
        self.half_quadratic_form(&self.a, v)
    }
    fn conjugate(&self, a: &Tensor) -> Result<Tensor> {
        self.half_quadratic_form(&self.a_inv, a)
    }
    fn grad_conjugate(&self, a: &Tensor) -> Result<Tensor> {
        self.apply(&self.a_inv, a)
    }
    fn hessian_factor_apply(&self, _a: &Tensor, v: &Tensor) -> Result<Tensor> {
        // rows v_i ↦ L v_i = V Lᵀ with L L = A⁻¹
        self.apply(&Self::transpose(&self.inv_factor, self.dim), v)
    }
}

/// Euclidean p-power cost c(v) = ‖v‖ᵖ/p, p > 1: c*(a) = ‖a‖^q/q and ∇c*(a) = ‖a‖^{q−2}a with
/// q = p/(p−1). (Not the separable ℓp cost Σ|vᵢ|ᵖ/p, whose conjugate is Σ|aᵢ|^q/q.)
#[derive(Debug, Clone, Copy)]
pub struct PowerCost {
    p: f64,
}

impl PowerCost {
    /// Fails unless p > 1 and finite.
    pub fn new(p: f64) -> Result<Self> {
        check::positive("p", p)?;
        if p <= 1.0 {
            return Err(Error::OutOfRange {
                arg: "p",
                value: p,
                allowed: "(1, ∞)",
            });
        }
        Ok(Self { p })
    }

    /// The exponent p.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The conjugate exponent q = p/(p−1).
    pub fn q(&self) -> f64 {
        self.p / (self.p - 1.0)
    }

    /// ‖v‖² per row, clamped away from 0 so that powers below 1 keep finite gradients.
    fn sq_norm(v: &Tensor) -> Result<Tensor> {
        check::points("v", v)?;
        let floor = if v.dtype() == candle_core::DType::F64 {
            1e-300
        } else {
            1e-30
        };
        Ok(v.sqr()?.sum_keepdim(1)?.maximum(floor)?)
    }

    fn power_over(v: &Tensor, r: f64) -> Result<Tensor> {
        // ‖v‖^r / r
        Ok((Self::sq_norm(v)?.powf(r / 2.0)? / r)?)
    }
}

impl ConvexCost for PowerCost {
    fn name(&self) -> String {
        format!("p-power ‖v‖^{}/{}", self.p, self.p)
    }
    fn cost(&self, v: &Tensor) -> Result<Tensor> {
        Self::power_over(v, self.p)
    }
    fn conjugate(&self, a: &Tensor) -> Result<Tensor> {
        Self::power_over(a, self.q())
    }
    fn grad_conjugate(&self, a: &Tensor) -> Result<Tensor> {
        let scale = Self::sq_norm(a)?.powf((self.q() - 2.0) / 2.0)?;
        Ok(a.broadcast_mul(&scale)?)
    }
    fn hessian_factor_apply(&self, a: &Tensor, v: &Tensor) -> Result<Tensor> {
        // ∇²c*(a) = r^{q−2}(I + (q − 2)ââᵀ), r = ‖a‖, â = a/r; F = r^{(q−2)/2}(I + (√(q−1) − 1)ââᵀ)
        let q = self.q();
        let r2 = Self::sq_norm(a)?;
        let unit = a.broadcast_div(&r2.sqrt()?)?;
        let along = (&unit * v)?.sum_keepdim(1)?;
        let fv = (v + unit.broadcast_mul(&(along * ((q - 1.0).sqrt() - 1.0))?)?)?;
        Ok(fv.broadcast_mul(&r2.powf((q - 2.0) / 4.0)?)?)
    }
}

/// Lower Cholesky factor of a row-major SPD matrix, `None` if not positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// A⁻¹ from the Cholesky factor L (A = LLᵀ), row-major.
fn spd_inverse(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        // solve L y = e_c, then Lᵀ x = y
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l[i * n + k] * y[k];
            }
            y[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = y[i];
            for k in i + 1..n {
                s -= l[k * n + i] * inv[k * n + c];
            }
            inv[i * n + c] = s / l[i * n + i];
        }
    }
    inv
}
