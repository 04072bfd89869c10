//! The output heads on host values: s and its input derivatives from the network output's jet,
//! and the adjoints of the jet rows for given loss coefficients (hand-derived).
//!
//! Per sample, with h ∈ ℝᵐ the network output (κ applied), ḣ = ∂t h, J_{·j} = ∂h/∂x_j, u = Jv
//! (the probe tangent) and σ the second-order row (Δh, or vᵀ∇²h v for the probe):
//! - `Scalar` (m = 1): s = h, ∂t s = ḣ, ∇x s = J, Δs = σ.
//! - `HalfSquaredDistance` (m = D), r = x − h: s = ½‖r‖², ∂t s = −rᵀḣ, ∇x s = r − Jᵀr,
//!   Δs = Σ_j‖e_j − J_{·j}‖² − rᵀσ (exact) or ‖v − u‖² − rᵀσ (probe).

use super::forward::JetShape;
use super::Real;
use crate::Head;

/// s, ∂t s, ∇x s and the second-order quantity of one sample.
pub(crate) struct HeadValues {
    pub s: f64,
    pub dt: f64,
    pub second: f64,
}

/// Loss coefficients of one sample: ∂L/∂s, ∂L/∂(∂t s), ∂L/∂(∇x s) (in `grad`), ∂L/∂(Δs).
pub(crate) struct HeadCoefficients {
    pub s: f64,
    pub dt: f64,
    pub second: f64,
}

/// s at a value row.
pub(crate) fn value<T: Real>(head: Head, h: &[T], x: &[f64]) -> f64 {
    match head {
        Head::HalfSquaredDistance => {
            0.5 * x
                .iter()
                .zip(h)
                .map(|(x, h)| (x - h.f64()).powi(2))
                .sum::<f64>()
        }
        _ => h[0].f64(),
    }
}

/// ∂(coef·s)/∂h into `out` (width m).
pub(crate) fn value_adjoint<T: Real>(head: Head, h: &[T], x: &[f64], coef: f64, out: &mut [f64]) {
    match head {
        Head::HalfSquaredDistance => {
            for ((o, x), h) in out.iter_mut().zip(x).zip(h) {
                *o = coef * (h.f64() - x);
            }
        }
        _ => out[0] = coef,
    }
}

/// The head quantities from the value row `h` (m) and the jet block `jet` (rows × m); ∇x s is
/// written to `grad` (D).
pub(crate) fn jet_values<T: Real>(
    head: Head,
    h: &[T],
    jet: &[T],
    x: &[f64],
    probe: Option<&[f64]>,
    shape: JetShape,
    grad: &mut [f64],
) -> HeadValues {
    let d = x.len();
    let m = h.len();
    let row = |k: usize, c: usize| jet[k * m + c].f64();
    match head {
        Head::HalfSquaredDistance => {
            let r: Vec<f64> = x.iter().zip(h).map(|(x, h)| x - h.f64()).collect();
            let s = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
            let dt = -(0..m).map(|c| r[c] * row(0, c)).sum::<f64>();
            for (j, g) in grad.iter_mut().enumerate() {
                *g = r[j] - (0..m).map(|c| r[c] * row(1 + j, c)).sum::<f64>();
            }
            let curvature = match probe {
                Some(v) => (0..m).map(|c| (v[c] - row(d + 1, c)).powi(2)).sum::<f64>(),
                None => (0..d)
                    .map(|j| {
                        (0..m)
                            .map(|c| (f64::from(u8::from(c == j)) - row(1 + j, c)).powi(2))
                            .sum::<f64>()
                    })
                    .sum::<f64>(),
            };
            let second = curvature - (0..m).map(|c| r[c] * row(shape.k, c)).sum::<f64>();
            HeadValues { s, dt, second }
        }
        _ => {
            for (j, g) in grad.iter_mut().enumerate() {
                *g = row(1 + j, 0);
            }
            HeadValues {
                s: h[0].f64(),
                dt: row(0, 0),
                second: row(shape.k, 0),
            }
        }
    }
}

/// The adjoints of the value row (`h_bar`, m) and of the jet block (`jet_bar`, rows × m) for
/// the coefficients `c` and ∂L/∂(∇x s) = `g_bar` (D). `second_active`: whether Δs enters.
#[allow(clippy::too_many_arguments)]
pub(crate) fn jet_adjoints<T: Real>(
    head: Head,
    h: &[T],
    jet: &[T],
    x: &[f64],
    probe: Option<&[f64]>,
    shape: JetShape,
    c: &HeadCoefficients,
    g_bar: &[f64],
    h_bar: &mut [f64],
    jet_bar: &mut [f64],
) {
    let d = x.len();
    let m = h.len();
    jet_bar.fill(0.0);
    let row = |k: usize, col: usize| jet[k * m + col].f64();
    match head {
        Head::HalfSquaredDistance => {
            let r: Vec<f64> = x.iter().zip(h).map(|(x, h)| x - h.f64()).collect();
            let mut r_bar = vec![0.0; m];
            for col in 0..m {
                let mut v =
                    c.s * r[col] - c.dt * row(0, col) + g_bar[col] - c.second * row(shape.k, col);
                v -= (0..d).map(|j| g_bar[j] * row(1 + j, col)).sum::<f64>();
                r_bar[col] = v;
                jet_bar[col] = -c.dt * r[col]; // ∂t h
                jet_bar[shape.k * m + col] = -c.second * r[col]; // σ
                for j in 0..d {
                    let mut jb = -r[col] * g_bar[j];
                    if probe.is_none() && c.second != 0.0 {
                        jb -= 2.0 * c.second * (f64::from(u8::from(col == j)) - row(1 + j, col));
                    }
                    jet_bar[(1 + j) * m + col] = jb;
                }
                if let Some(v) = probe {
                    jet_bar[(d + 1) * m + col] = -2.0 * c.second * (v[col] - row(d + 1, col));
                }
            }
            for (o, rb) in h_bar.iter_mut().zip(&r_bar) {
                *o = -rb;
            }
        }
        _ => {
            h_bar[0] = c.s;
            jet_bar[0] = c.dt;
            jet_bar[1..=d].copy_from_slice(&g_bar[..d]);
            jet_bar[shape.k] = c.second;
        }
    }
}
