//! Quadratic functions f(x) = ½xᵀQx + rᵀx + k, their Gaussian moments, and time-dependent
//! quadratic actions (the exact actions of Gaussian paths are all of this form).

use am_core::candle::{DType, Tensor};
use am_core::{check, Action, ActionEval, Derivatives, LaplacianMode};
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

/// f(x) = ½xᵀQx + rᵀx + k with Q symmetric.
#[derive(Debug, Clone, PartialEq)]
pub struct Quadratic {
    /// Q (symmetric).
    pub q: DMatrix<f64>,
    /// r.
    pub r: DVector<f64>,
    /// k.
    pub k: f64,
}

impl Quadratic {
    /// The zero function on ℝᴰ.
    pub fn zero(d: usize) -> Self {
        Self {
            q: DMatrix::zeros(d, d),
            r: DVector::zeros(d),
            k: 0.0,
        }
    }

    /// From centred coordinates: ½yᵀPy + bᵀy + c with y = x − μ.
    pub fn centred(p: &DMatrix<f64>, b: &DVector<f64>, c: f64, mu: &DVector<f64>) -> Self {
        Self {
            q: p.clone(),
            r: b - p * mu,
            k: 0.5 * mu.dot(&(p * mu)) - b.dot(mu) + c,
        }
    }

    /// A time-dependent centred quadratic s = ½yᵀPy + bᵀy + c, y = x − μ_t, and its partial
    /// time derivative at fixed x: ∂t s = ½yᵀṖy + (ḃ − Pμ̇)ᵀy + ċ − bᵀμ̇.
    #[allow(clippy::too_many_arguments)]
    pub fn centred_with_dt(
        p: &DMatrix<f64>,
        b: &DVector<f64>,
        c: f64,
        p_dot: &DMatrix<f64>,
        b_dot: &DVector<f64>,
        c_dot: f64,
        mu: &DVector<f64>,
        mu_dot: &DVector<f64>,
    ) -> (Self, Self) {
        let value = Self::centred(p, b, c, mu);
        let dt = Self::centred(p_dot, &(b_dot - p * mu_dot), c_dot - b.dot(mu_dot), mu);
        (value, dt)
    }

    /// f(x).
    pub fn at(&self, x: &DVector<f64>) -> f64 {
        0.5 * x.dot(&(&self.q * x)) + self.r.dot(x) + self.k
    }

    /// ∇f(x) = Qx + r.
    pub fn grad(&self, x: &DVector<f64>) -> DVector<f64> {
        &self.q * x + &self.r
    }

    /// f − g.
    pub fn sub(&self, g: &Self) -> Self {
        Self {
            q: &self.q - &g.q,
            r: &self.r - &g.r,
            k: self.k - g.k,
        }
    }

    /// f + a·g.
    pub fn add_scaled(&self, a: f64, g: &Self) -> Self {
        Self {
            q: &self.q + &g.q * a,
            r: &self.r + &g.r * a,
            k: self.k + a * g.k,
        }
    }

    /// The same function written around μ: ½yᵀQy + (Qμ + r)ᵀy + f(μ).
    fn around(&self, mu: &DVector<f64>) -> (DVector<f64>, f64) {
        (&self.q * mu + &self.r, self.at(mu))
    }

    /// E[f(x)] for x ~ N(μ, Σ).
    pub fn mean(&self, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> f64 {
        0.5 * (&self.q * sigma).trace() + self.at(mu)
    }

    /// E[f(x)²] for x ~ N(μ, Σ): ¼(tr QΣ)² + ½tr((QΣ)²) + bᵀΣb + k′ tr(QΣ) + k′² in centred form.
    pub fn square_mean(&self, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> f64 {
        let (b, k) = self.around(mu);
        let qs = &self.q * sigma;
        let tr = qs.trace();
        0.25 * tr * tr + 0.5 * (&qs * &qs).trace() + b.dot(&(sigma * &b)) + k * tr + k * k
    }

    /// E[(∇f)ᵀ W (∇f)] for x ~ N(μ, Σ) and symmetric W: tr(WQΣQ) + (Qμ + r)ᵀW(Qμ + r).
    pub fn grad_form_mean(&self, w: &DMatrix<f64>, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> f64 {
        let (b, _) = self.around(mu);
        (w * &self.q * sigma * &self.q).trace() + b.dot(&(w * &b))
    }

    /// Δf = tr Q.
    pub fn laplacian(&self) -> f64 {
        self.q.trace()
    }
}

type QuadFn = Arc<dyn Fn(f64) -> (Quadratic, Quadratic) + Send + Sync>;

/// A time-dependent quadratic action s_t(x), given by t ↦ (s_t, ∂t s_t); evaluated row by row
/// on the host in f64 and returned in the dtype and device of `x`. No parameters.
#[derive(Clone)]
pub struct QuadraticAction {
    dim: usize,
    f: QuadFn,
}

impl std::fmt::Debug for QuadraticAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuadraticAction {{ dim: {} }}", self.dim)
    }
}

impl QuadraticAction {
    /// From t ↦ (s_t, ∂t s_t).
    pub fn new(
        dim: usize,
        f: impl Fn(f64) -> (Quadratic, Quadratic) + Send + Sync + 'static,
    ) -> Self {
        Self {
            dim,
            f: Arc::new(f),
        }
    }

    /// (s_t, ∂t s_t) at one time.
    pub fn at(&self, t: f64) -> (Quadratic, Quadratic) {
        (self.f)(t)
    }

    /// s + a·h for another quadratic action h.
    pub fn perturbed(&self, a: f64, h: &QuadraticAction) -> Self {
        let (f, g) = (self.f.clone(), h.f.clone());
        Self::new(self.dim, move |t| {
            let (s, sd) = f(t);
            let (h, hd) = g(t);
            (s.add_scaled(a, &h), sd.add_scaled(a, &hd))
        })
    }

    /// A random action: P(t), b(t), c(t) random quadratic polynomials (seeded).
    pub fn random_polynomial(dim: usize, rng: &mut am_core::SeededRng, scale: f64) -> Self {
        let mut mats = Vec::new();
        for _ in 0..3 {
            let a = DMatrix::from_fn(dim, dim, |_, _| scale * rng.normal());
            mats.push((&a + a.transpose()) * 0.5);
        }
        let vecs: Vec<DVector<f64>> = (0..3)
            .map(|_| DVector::from_fn(dim, |_, _| scale * rng.normal()))
            .collect();
        let consts: Vec<f64> = (0..3).map(|_| scale * rng.normal()).collect();
        Self::new(dim, move |t| {
            let q = &mats[0] + &mats[1] * t + &mats[2] * (t * t);
            let qd = &mats[1] + &mats[2] * (2.0 * t);
            let r = &vecs[0] + &vecs[1] * t + &vecs[2] * (t * t);
            let rd = &vecs[1] + &vecs[2] * (2.0 * t);
            let k = consts[0] + consts[1] * t + consts[2] * t * t;
            let kd = consts[1] + 2.0 * consts[2] * t;
            (
                Quadratic { q, r, k },
                Quadratic {
                    q: qd,
                    r: rd,
                    k: kd,
                },
            )
        })
    }
}

fn host(t: &Tensor) -> am_core::Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
}

impl Action for QuadraticAction {
    fn dim(&self) -> usize {
        self.dim
    }

    fn value(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        Ok(self.eval(t, x, &Derivatives::default())?.s)
    }

    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> am_core::Result<ActionEval> {
        let (n, d) = check::times_points(t, x)?;
        if d != self.dim {
            return Err(am_core::Error::Shape {
                arg: "x",
                expected: format!("(N, {})", self.dim),
                got: x.dims().to_vec(),
            });
        }
        let (tv, xv) = (host(t)?, host(x)?);
        let probe = match &want.laplacian {
            LaplacianMode::Hutchinson(v) => Some(host(v)?),
            _ => None,
        };
        let (mut s, mut g, mut dt, mut lap) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n * d),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for i in 0..n {
            let (q, qd) = (self.f)(tv[i]);
            let xi = DVector::from_column_slice(&xv[i * d..(i + 1) * d]);
            s.push(q.at(&xi));
            g.extend(q.grad(&xi).iter());
            dt.push(qd.at(&xi));
            lap.push(match &probe {
                Some(p) => {
                    let v = DVector::from_column_slice(&p[i * d..(i + 1) * d]);
                    v.dot(&(&q.q * &v))
                }
                None => q.laplacian(),
            });
        }
        let mk = |v: Vec<f64>, shape: &[usize]| {
            am_core::rng::tensor_from_f64(v, shape, x.dtype(), x.device())
        };
        Ok(ActionEval {
            s: mk(s, &[n, 1])?,
            grad_x: mk(g, &[n, d])?,
            dt: mk(dt, &[n, 1])?,
            laplacian: if want.laplacian.wanted() {
                Some(mk(lap, &[n, 1])?)
            } else {
                None
            },
        })
    }
}
