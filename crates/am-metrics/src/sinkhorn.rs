//! Entropic optimal transport by log-domain Sinkhorn, on the tensors' device, with the cost matrix
//! recomputed block by block (never held whole), and the debiased Sinkhorn divergence.

use crate::transport::GroundCost;
use crate::Result;
use am_core::{check, DType, Tensor};

/// Settings of [`sinkhorn`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SinkhornConfig {
    /// The entropic regularisation ε (absolute, in units of the cost; POT's `reg`).
    pub eps: f64,
    /// Ground cost.
    pub cost: GroundCost,
    /// At most this many iterations (one f and one g update each).
    pub max_iter: usize,
    /// Stop when the ℓ1 error of the row marginal falls below this.
    pub tol: f64,
    /// Rows (and columns) per block of the cost matrix.
    pub block: usize,
    /// For CPU tensors, iterate on host slices with one fused pass per row (default); `false`
    /// forces the tensor path that other devices use.
    pub host_fast_path: bool,
}

impl Default for SinkhornConfig {
    fn default() -> Self {
        Self {
            eps: 0.05,
            cost: GroundCost::SquaredEuclidean,
            max_iter: 10_000,
            tol: 1e-9,
            block: 2048,
            host_fast_path: true,
        }
    }
}

/// The entropic plan P_ij = a_i b_j exp((f_i + g_j − M_ij)/ε) summarised.
#[derive(Debug, Clone)]
pub struct SinkhornResult {
    /// ⟨P, M⟩, the transport cost of the entropic plan (what `ot.sinkhorn2` returns).
    pub transport_cost: f64,
    /// The dual objective Σa_i f_i + Σb_j g_j = OT_ε(a, b) at convergence (with the ε·KL term).
    pub dual: f64,
    /// Iterations used.
    pub iterations: usize,
    /// ℓ1 error of the row marginal at the end.
    pub marginal_error: f64,
    /// Potentials f `(N, 1)` and g `(M, 1)`.
    pub f: Tensor,
    /// See `f`.
    pub g: Tensor,
}

fn weights(arg: &'static str, w: Option<&Tensor>, n: usize, like: &Tensor) -> Result<Tensor> {
    let v = crate::clouds::normalized_weights(arg, w, n)?;
    Ok(Tensor::from_vec(v, (n, 1), like.device())?)
}

/// Cost block between rows `x` `(B, D)` and `y` `(M, D)` in f64.
fn cost_block(x: &Tensor, y: &Tensor, y2: &Tensor, cost: GroundCost) -> Result<Tensor> {
    let x2 = x.sqr()?.sum_keepdim(1)?;
    let d2 = (x.matmul(&y.t()?)? * -2.0)?
        .broadcast_add(&x2)?
        .broadcast_add(y2)?
        .relu()?;
    Ok(match cost {
        GroundCost::SquaredEuclidean => d2,
        GroundCost::Euclidean => d2.sqrt()?,
    })
}

/// −ε log Σ_j exp(log b_j + (g_j − M_ij)/ε) for every row of x, by blocks: returns `(N, 1)`.
fn soft_min(
    x: &Tensor,
    y: &Tensor,
    log_b: &Tensor,
    g: &Tensor,
    c: &SinkhornConfig,
) -> Result<Tensor> {
    let n = x.dim(0)?;
    let y2 = y.sqr()?.sum_keepdim(1)?.t()?;
    let row_term = (log_b + (g / c.eps)?)?.t()?; // (1, M)
    let mut out = Vec::new();
    for i in (0..n).step_by(c.block) {
        let xb = x.narrow(0, i, c.block.min(n - i))?;
        let z = (cost_block(&xb, y, &y2, c.cost)? / -c.eps)?.broadcast_add(&row_term)?;
        let m = z.max_keepdim(1)?;
        let lse = (z.broadcast_sub(&m)?.exp()?.sum_keepdim(1)?.log()? + m)?;
        out.push((lse * -c.eps)?);
    }
    Ok(Tensor::cat(&out, 0)?)
}

/// Log-domain Sinkhorn between weighted clouds (uniform weights when `None`):
/// f_i = −ε LSE_j(log b_j + (g_j − M_ij)/ε), g_j = −ε LSE_i(log a_i + (f_i − M_ij)/ε), computed in
/// f64 on the device of `x`; M is formed block by block at each half-step. Stops at `tol` on the
/// row marginal. The plan's transport cost obeys 0 ≤ ⟨P_ε, M⟩ − OT ≤ ε·log(NM) at convergence.
pub fn sinkhorn(
    x: &Tensor,
    y: &Tensor,
    a: Option<&Tensor>,
    b: Option<&Tensor>,
    config: SinkhornConfig,
) -> Result<SinkhornResult> {
    let (n, m, d) = crate::clouds::check_clouds(x, y)?;
    check::positive("eps", config.eps)?;
    if config.max_iter == 0 || config.block == 0 {
        return Err(am_core::Error::config("max_iter", "max_iter and block must be ≥ 1").into());
    }
    if config.host_fast_path && x.device().is_cpu() {
        return sinkhorn_host(x, y, (n, m, d), a, b, &config);
    }
    let (x, y) = (x.to_dtype(DType::F64)?, y.to_dtype(DType::F64)?);
    let (a, b) = (weights("a", a, n, &x)?, weights("b", b, m, &y)?);
    let (log_a, log_b) = (a.log()?, b.log()?);
    let mut f = Tensor::zeros((n, 1), DType::F64, x.device())?;
    let mut g = Tensor::zeros((m, 1), DType::F64, x.device())?;
    let mut iterations = 0;
    let mut err = f64::INFINITY;
    while iterations < config.max_iter {
        iterations += 1;
        f = soft_min(&x, &y, &log_b, &g, &config)?;
        g = soft_min(&y, &x, &log_a, &f, &config)?;
        if iterations % 10 == 0 || iterations == config.max_iter {
            // after the g-update the column marginal is exact; measure the row marginal
            let f_new = soft_min(&x, &y, &log_b, &g, &config)?;
            // row sums of P: a_i exp((f_i − f_new_i)/ε)
            let rows = (&a * ((&f - &f_new)? / config.eps)?.exp()?)?;
            err = (rows - &a)?.abs()?.sum_all()?.to_scalar::<f64>()?;
            if err < config.tol {
                break;
            }
        }
    }
    // ⟨P, M⟩ by blocks
    let y2 = y.sqr()?.sum_keepdim(1)?.t()?;
    let mut transport_cost = 0.0;
    let gb = ((&g / config.eps)? + &log_b)?.t()?;
    for i in (0..n).step_by(config.block) {
        let rows = config.block.min(n - i);
        let xb = x.narrow(0, i, rows)?;
        let mb = cost_block(&xb, &y, &y2, config.cost)?;
        let fa = ((f.narrow(0, i, rows)? / config.eps)? + log_a.narrow(0, i, rows)?)?;
        let logp = (mb.affine(-1.0 / config.eps, 0.0)?.broadcast_add(&fa)?).broadcast_add(&gb)?;
        transport_cost += (logp.exp()? * mb)?.sum_all()?.to_scalar::<f64>()?;
    }
    let dual = ((&a * &f)?.sum_all()? + (&b * &g)?.sum_all()?)?.to_scalar::<f64>()?;
    Ok(SinkhornResult {
        transport_cost,
        dual,
        iterations,
        marginal_error: err,
        f,
        g,
    })
}

/// The debiased Sinkhorn divergence S_ε = OT_ε(a, b) − ½OT_ε(a, a) − ½OT_ε(b, b) (dual values),
/// ≥ 0 and 0 on identical inputs (Feydy et al., 2019).
pub fn sinkhorn_divergence(
    x: &Tensor,
    y: &Tensor,
    a: Option<&Tensor>,
    b: Option<&Tensor>,
    config: SinkhornConfig,
) -> Result<f64> {
    let xy = sinkhorn(x, y, a, b, config)?.dual;
    let xx = sinkhorn(x, x, a, a, config)?.dual;
    let yy = sinkhorn(y, y, b, b, config)?.dual;
    Ok(xy - 0.5 * (xx + yy))
}

/// C(x_i, y_j) on host rows.
#[inline]
fn host_cost(xi: &[f64], yj: &[f64], cost: GroundCost) -> f64 {
    let d2: f64 = xi.iter().zip(yj).map(|(p, q)| (p - q) * (p - q)).sum();
    match cost {
        GroundCost::SquaredEuclidean => d2,
        GroundCost::Euclidean => d2.sqrt(),
    }
}

/// f_i = −ε log Σ_j exp(log b_j + (g_j − C_ij)/ε) for every row, one fused pass per row over a
/// reused scratch buffer (CPU tensors: no op-by-op passes over cost blocks).
fn soft_min_host(
    xs: &[f64],
    ys: &[f64],
    d: usize,
    log_b: &[f64],
    g: &[f64],
    c: &SinkhornConfig,
    scratch: &mut Vec<f64>,
) -> Vec<f64> {
    let m = log_b.len();
    scratch.resize(m, 0.0);
    xs.chunks(d)
        .map(|xi| {
            let mut mx = f64::NEG_INFINITY;
            for (j, z) in scratch.iter_mut().enumerate() {
                *z = log_b[j] + (g[j] - host_cost(xi, &ys[j * d..(j + 1) * d], c.cost)) / c.eps;
                mx = mx.max(*z);
            }
            let sum: f64 = scratch.iter().map(|z| (z - mx).exp()).sum();
            -c.eps * (mx + sum.ln())
        })
        .collect()
}

/// The same iteration as [`sinkhorn`] for tensors on the CPU, on host slices (inputs already
/// checked by the caller; `(n, m, d)` their sizes).
fn sinkhorn_host(
    x: &Tensor,
    y: &Tensor,
    (n, m, d): (usize, usize, usize),
    a: Option<&Tensor>,
    b: Option<&Tensor>,
    c: &SinkhornConfig,
) -> Result<SinkhornResult> {
    let xs: Vec<f64> = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let ys: Vec<f64> = y.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let wa = crate::clouds::normalized_weights("a", a, n)?;
    let wb = crate::clouds::normalized_weights("b", b, m)?;
    let (log_a, log_b): (Vec<f64>, Vec<f64>) = (
        wa.iter().map(|v| v.ln()).collect(),
        wb.iter().map(|v| v.ln()).collect(),
    );
    let (mut f, mut g) = (vec![0.0; n], vec![0.0; m]);
    let mut scratch = Vec::new();
    let (mut iterations, mut err) = (0, f64::INFINITY);
    while iterations < c.max_iter {
        iterations += 1;
        f = soft_min_host(&xs, &ys, d, &log_b, &g, c, &mut scratch);
        g = soft_min_host(&ys, &xs, d, &log_a, &f, c, &mut scratch);
        if iterations % 10 == 0 || iterations == c.max_iter {
            let f_new = soft_min_host(&xs, &ys, d, &log_b, &g, c, &mut scratch);
            err = wa
                .iter()
                .zip(f.iter().zip(&f_new))
                .map(|(ai, (fi, fn_))| (ai * ((fi - fn_) / c.eps).exp() - ai).abs())
                .sum();
            if err < c.tol {
                break;
            }
        }
    }
    let mut transport_cost = 0.0;
    for (i, xi) in xs.chunks(d).enumerate() {
        let base = log_a[i] + f[i] / c.eps;
        for j in 0..m {
            let cij = host_cost(xi, &ys[j * d..(j + 1) * d], c.cost);
            transport_cost += (base + log_b[j] + (g[j] - cij) / c.eps).exp() * cij;
        }
    }
    let dual = wa.iter().zip(&f).map(|(p, q)| p * q).sum::<f64>()
        + wb.iter().zip(&g).map(|(p, q)| p * q).sum::<f64>();
    let dev = x.device();
    Ok(SinkhornResult {
        transport_cost,
        dual,
        iterations,
        marginal_error: err,
        f: Tensor::from_vec(f, (n, 1), dev)?,
        g: Tensor::from_vec(g, (m, 1), dev)?,
    })
}
