//! The OT-paired path between neighbouring snapshots: exact optimal couplings (squared Euclidean
//! cost) and McCann's displacement interpolation x_s = (1 − s)x_i + s·y_j along them. Its kinetic
//! energy is the least of all paths through the snapshots (Σ_k W2²(k, k+1)/Δτ_k), far below the
//! mixture path's; it is both a training path and a trajectory-inference baseline.

use super::{DataError, Snapshots};
use am_core::ot::squared_euclidean_plan;
use am_core::{DType, Device, Marginals, Result, SeededRng, Tensor};

/// One coupling between snapshot k and k + 1: (i, j, mass) with cumulative masses for sampling.
#[derive(Debug, Clone)]
struct Coupling {
    entries: Vec<(usize, usize, f64)>,
    cumulative: Vec<f64>,
    cost: f64,
}

/// Displacement interpolation along exact OT couplings of neighbouring snapshots.
#[derive(Debug, Clone)]
pub struct OtPairedPath {
    data: Snapshots,
    couplings: Vec<Coupling>,
    /// ε of the Brownian-bridge noise between paired cells (0: straight lines).
    bridge: f64,
}

impl OtPairedPath {
    /// Solves the exact OT problem (uniform weights, squared Euclidean cost) between every pair of
    /// neighbouring snapshots; times are mapped onto [0, 1].
    pub fn new(data: &Snapshots) -> std::result::Result<Self, DataError> {
        let data = data.times_to_unit();
        let d = data.dim();
        let mut couplings = Vec::new();
        for k in 0..data.times().len() - 1 {
            let (x, y) = (data.cells(k), data.cells(k + 1));
            let plan = squared_euclidean_plan(x, y, d).map_err(|e| DataError::Argument {
                arg: "snapshots",
                reason: format!(
                    "optimal transport between time points {k} and {}: {e}",
                    k + 1
                ),
            })?;
            let mut acc = 0.0;
            let cumulative = plan
                .entries
                .iter()
                .map(|e| {
                    acc += e.2;
                    acc
                })
                .collect();
            couplings.push(Coupling {
                entries: plan.entries,
                cumulative,
                cost: plan.cost,
            });
        }
        Ok(Self {
            data,
            couplings,
            bridge: 0.0,
        })
    }

    /// Adds Brownian-bridge noise between paired cells: x_t = (1 − s)x_k + s·x_{k+1} +
    /// ε√(s(1 − s)Δτ_k)·z, z ~ N(0, I), with s ∈ [0, 1] the position inside the segment and Δτ_k its
    /// length in unit time — the bridge of dX = ε dW pinned at the pair, so the path's marginals are
    /// smooth between snapshots (a first step towards the Schrödinger bridge of entropic AM).
    /// Without it the marginals between snapshots are atomic, and entropic AM's ε²/2·E[Δs] term
    /// can be driven to −∞ by sharp negative curvature at the atoms.
    pub fn with_bridge_noise(mut self, eps: f64) -> std::result::Result<Self, DataError> {
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(DataError::Argument {
                arg: "eps",
                reason: format!("must be finite and ≥ 0, got {eps}"),
            });
        }
        self.bridge = eps;
        Ok(self)
    }

    /// The snapshot times on [0, 1].
    pub fn times(&self) -> &[f64] {
        self.data.times()
    }

    /// W2² between neighbouring snapshots, k = 0 … K − 2.
    pub fn squared_w2(&self) -> Vec<f64> {
        self.couplings.iter().map(|c| c.cost).collect()
    }

    /// The kinetic energy ½∫E‖v‖²dt of the path: ½ Σ_k W2²(k, k+1)/Δτ_k.
    pub fn kinetic_energy(&self) -> f64 {
        let t = self.data.times();
        self.couplings
            .iter()
            .enumerate()
            .map(|(k, c)| 0.5 * c.cost / (t[k + 1] - t[k]))
            .sum()
    }

    fn segment(&self, t: f64) -> (usize, f64) {
        super::snapshots::segment(self.data.times(), t)
    }

    /// The whole interpolated measure at t: points `(M, D)` row-major and their masses.
    pub fn measure_at(&self, t: f64) -> (Vec<f64>, Vec<f64>) {
        let (k, s) = self.segment(t.clamp(0.0, 1.0));
        let d = self.data.dim();
        let (x, y) = (self.data.cells(k), self.data.cells(k + 1));
        let mut pts = Vec::new();
        let mut w = Vec::new();
        for &(i, j, m) in &self.couplings[k].entries {
            pts.extend((0..d).map(|a| (1.0 - s) * x[i * d + a] + s * y[j * d + a]));
            w.push(m);
        }
        (pts, w)
    }
}

impl OtPairedPath {
    /// One point of the path at time t, appended to `out`; with `velocity`, also the conditional
    /// velocity d x_t/dt of that point's bridge, u = [(y − x) + ε√Δτ·(1 − 2s)/(2√(s(1 − s)))·z]/Δτ.
    fn draw(
        &self,
        t: f64,
        rng: &mut SeededRng,
        out: &mut Vec<f64>,
        velocity: Option<&mut Vec<f64>>,
    ) {
        let d = self.data.dim();
        let (k, s) = self.segment(t);
        let c = &self.couplings[k];
        let u = rng.uniform() * c.cumulative[c.cumulative.len() - 1];
        let e = c
            .cumulative
            .partition_point(|&v| v <= u)
            .min(c.entries.len() - 1);
        let (i, j, _) = c.entries[e];
        let (x, y) = (self.data.cells(k), self.data.cells(k + 1));
        let times = self.data.times();
        let dtau = times[k + 1] - times[k];
        let sd = if self.bridge > 0.0 {
            self.bridge * (s * (1.0 - s) * dtau).sqrt()
        } else {
            0.0
        };
        // d sd/ds per unit z, guarded at the segment ends where it is unbounded
        let dsd = if self.bridge > 0.0 {
            self.bridge * dtau.sqrt() * (1.0 - 2.0 * s) / (2.0 * (s * (1.0 - s)).max(1e-6).sqrt())
        } else {
            0.0
        };
        let mut vel = velocity;
        for a in 0..d {
            let z = if sd > 0.0 { rng.normal() } else { 0.0 };
            out.push((1.0 - s) * x[i * d + a] + s * y[j * d + a] + sd * z);
            if let Some(v) = vel.as_deref_mut() {
                v.push((y[j * d + a] - x[i * d + a] + dsd * z) / dtau);
            }
        }
    }

    /// Points x_t `(N, D)` of the path at times `t` and their conditional velocities u_t `(N, D)`
    /// (the regression target of conditional flow matching along this path: OT-CFM for ε = 0).
    pub fn sample_with_velocity(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<(Tensor, Tensor)> {
        am_core::check::unit_times("t", t)?;
        let d = self.data.dim();
        let mut x = Vec::with_capacity(t.len() * d);
        let mut u = Vec::with_capacity(t.len() * d);
        for &ti in t {
            self.draw(ti, rng, &mut x, Some(&mut u));
        }
        Ok((
            am_core::rng::tensor_from_f64(x, &[t.len(), d], dtype, device)?,
            am_core::rng::tensor_from_f64(u, &[t.len(), d], dtype, device)?,
        ))
    }
}

impl Marginals for OtPairedPath {
    fn dim(&self) -> usize {
        self.data.dim()
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        am_core::check::unit_times("t", t)?;
        let d = self.data.dim();
        let mut out = Vec::with_capacity(t.len() * d);
        for &ti in t {
            self.draw(ti, rng, &mut out, None);
        }
        am_core::rng::tensor_from_f64(out, &[t.len(), d], dtype, device)
    }
}
