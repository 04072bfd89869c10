//! The fused training step: the AM objective of an [`AmTerms`] batch (Eq. 7, 13, 20/69, 84–87),
//! its exact ∇θ by hand and, optionally, the Adam update.
//!
//! Threads split the batch into row blocks (one per thread, each with its own workspace and
//! single-threaded kernels: one fork-join per step); the blocks' gradients are summed inside the
//! fused Adam pass.

use super::adam::FusedAdam;
use super::denormal::FlushDenormals;
use super::forward::{Inputs, JetShape};
use super::head;
use super::workspace::{room, Workspace};
use super::{FusedMlp, Real};
use crate::Head;
use am_core::train::Clip;
use am_core::{AmTerms, Error as CoreError, Result as CoreResult, TermsLaplacian};

/// The value of one fused step.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedLoss {
    /// The minibatch objective.
    pub loss: f64,
    /// ζ_i = ω_i(½‖∇s‖² + ∂t s + e_iΔs + λ/2·s²) + ω′_i s before the importance weight `(N,)`
    /// (as [`am_core::AmTerms::evaluate`] and the generic objective define it).
    pub integrand: Vec<f64>,
    /// ‖∇θ‖₂ of the objective (before any clipping).
    pub grad_norm: f64,
}

/// One thread's share of a step: its workspace and partial gradient.
#[derive(Default)]
pub(crate) struct Shard<T> {
    work: Workspace<T>,
    grad: Vec<T>,
}

impl<T: Real> FusedMlp<T> {
    /// The objective and its gradient (read it with [`FusedMlp::grad`]); parameters unchanged.
    pub fn loss_and_grad(&mut self, terms: &AmTerms) -> CoreResult<FusedLoss> {
        self.step(terms, None)
    }

    /// The objective, its gradient and one Adam update with learning rate `lr`. A non-finite
    /// loss or gradient is an error and leaves the parameters and moments as they were.
    pub fn train_step(
        &mut self,
        terms: &AmTerms,
        adam: &mut FusedAdam<T>,
        lr: f64,
    ) -> CoreResult<FusedLoss> {
        self.step(terms, Some((adam, lr, Clip::None)))
    }

    /// [`FusedMlp::train_step`] with the gradient clipped before the update (global norm, the
    /// convention of `am_core::train::clip_grad_norm`, or element-wise). `grad_norm` in the
    /// result is the norm before clipping.
    pub fn train_step_clip(
        &mut self,
        terms: &AmTerms,
        adam: &mut FusedAdam<T>,
        lr: f64,
        clip: Clip,
    ) -> CoreResult<FusedLoss> {
        clip.validate()?;
        self.step(terms, Some((adam, lr, clip)))
    }

    /// [`FusedMlp::train_step`] with the gradient scaled by max_norm/(‖g‖ + 1e-6) when ‖g‖
    /// exceeds `max_norm` (the reference runs clip at 1; the convention of
    /// `am_core::train::clip_grad_norm`). `grad_norm` in the result is the norm before clipping.
    pub fn train_step_clipped(
        &mut self,
        terms: &AmTerms,
        adam: &mut FusedAdam<T>,
        lr: f64,
        max_norm: f64,
    ) -> CoreResult<FusedLoss> {
        if !(max_norm > 0.0 && max_norm.is_finite()) {
            return Err(CoreError::OutOfRange {
                arg: "max_norm",
                value: max_norm,
                allowed: "(0, ∞)",
            });
        }
        self.step(terms, Some((adam, lr, Clip::GlobalNorm(max_norm))))
    }

    fn step(
        &mut self,
        terms: &AmTerms,
        update: Option<(&mut FusedAdam<T>, f64, Clip)>,
    ) -> CoreResult<FusedLoss> {
        if let Some((adam, lr, _)) = &update {
            if adam.moments().0.len() != self.params.len() {
                return Err(CoreError::Shape {
                    arg: "adam",
                    expected: format!("moments for {} parameters", self.params.len()),
                    got: vec![adam.moments().0.len()],
                });
            }
            if !lr.is_finite() || *lr < 0.0 {
                return Err(CoreError::OutOfRange {
                    arg: "lr",
                    value: *lr,
                    allowed: "[0, ∞)",
                });
            }
        }
        let (n0, n1, n) = terms.validate()?;
        if terms.dim != self.config.dim {
            return Err(CoreError::Shape {
                arg: "terms.dim",
                expected: format!("{} (the model's dimension)", self.config.dim),
                got: vec![terms.dim],
            });
        }
        let k = self.threads.min(n0).min(n1).min(n).max(1);
        let mut shards = std::mem::take(&mut self.shards);
        shards.resize_with(k, Shard::default);
        let inner = if k > 1 { 1 } else { self.threads };
        for sh in shards.iter_mut() {
            sh.work.threads = inner;
            sh.grad.resize(self.params.len(), T::ZERO);
        }
        let parts: Vec<FusedLoss> = if k == 1 {
            vec![self.shard_step(&mut shards[0], terms)]
        } else {
            // rayon's `broadcast` runs once on every thread of the pool, so no worker takes two
            // blocks while another sleeps (as work stealing may); thread i takes blocks
            // i, i + P, …. The pool's threads persist, and with them gemm's packing buffers.
            let blocks = terms.shards(k)?;
            let cells: Vec<std::sync::Mutex<(&mut Shard<T>, Option<FusedLoss>)>> = shards
                .iter_mut()
                .map(|sh| std::sync::Mutex::new((sh, None)))
                .collect();
            let this = &*self;
            rayon::broadcast(|ctx| {
                for j in (ctx.index()..k).step_by(ctx.num_threads()) {
                    let mut cell = cells[j].lock().unwrap_or_else(|e| e.into_inner());
                    let out = this.shard_step(cell.0, &blocks[j]);
                    cell.1 = Some(out);
                }
            });
            cells
                .into_iter()
                .map(|c| {
                    let (_, out) = c.into_inner().unwrap_or_else(|e| e.into_inner());
                    out.expect("every block is evaluated by one pool thread")
                })
                .collect()
        };
        let grads: Vec<&[T]> = shards.iter().map(|s| s.grad.as_slice()).collect();
        let grad_norm = super::adam::sum_into(&mut self.grad, &grads).sqrt();
        self.shards = shards;
        let loss: f64 = parts.iter().map(|p| p.loss).sum();
        let integrand = parts.into_iter().flat_map(|p| p.integrand).collect();
        if let Some((adam, lr, clip)) = update {
            for (arg, value) in [("loss", loss), ("gradient norm", grad_norm)] {
                if !value.is_finite() {
                    return Err(CoreError::NonFinite {
                        arg,
                        value,
                        index: 0,
                    });
                }
            }
            match clip {
                Clip::GlobalNorm(max_norm) if grad_norm > max_norm => {
                    // PyTorch's (and am_core::train::clip_grad_norm's) convention
                    let scale = T::of(max_norm / (grad_norm + 1e-6));
                    self.grad.iter_mut().for_each(|g| *g *= scale);
                }
                Clip::Value(c) => {
                    let (lo, hi) = (T::of(-c), T::of(c));
                    self.grad.iter_mut().for_each(|g| {
                        *g = if *g < lo {
                            lo
                        } else if *g > hi {
                            hi
                        } else {
                            *g
                        }
                    });
                }
                _ => {}
            }
            adam.step(&mut self.params, &self.grad, lr);
        }
        Ok(FusedLoss {
            loss,
            integrand,
            grad_norm,
        })
    }

    /// One row block: forward, input derivatives, loss, ∇θ into the shard's gradient.
    fn shard_step(&self, sh: &mut Shard<T>, terms: &AmTerms) -> FusedLoss {
        let _ftz = FlushDenormals::new();
        let d = self.config.dim;
        let (n0, n1, n) = (terms.x0.len() / d, terms.x1.len() / d, terms.t.len());
        let inputs = Inputs {
            x0: &terms.x0,
            x1: &terms.x1,
            t: &terms.t,
            xt: &terms.xt,
        };
        let w = &mut sh.work;
        let r = n0 + n1 + n;
        let scalar = self.config.head == Head::Scalar;
        match &terms.laplacian {
            TermsLaplacian::None if scalar => {
                self.write_inputs(w, &inputs, r + n);
                self.forward_values(w, r);
                self.reverse_sweep(w, r, n);
                let out = self.first_order_adjoints(w, terms, (n0, n1, n));
                self.tangent_forward(w, r, n);
                self.backward_first_order(w, &mut sh.grad, r, n);
                out
            }
            _ => {
                let probe = match &terms.laplacian {
                    TermsLaplacian::Hutchinson(v) => Some(v.as_slice()),
                    _ => None,
                };
                let shape = match terms.laplacian {
                    TermsLaplacian::None => JetShape::first_order(d),
                    _ => JetShape::new(d, probe.is_some()),
                };
                self.write_inputs(w, &inputs, r + n * shape.rows());
                self.write_jet_inputs(w, r, n, shape, probe);
                self.forward_jet(w, r, n, shape);
                let out = self.jet_adjoints(w, terms, (n0, n1, n), shape, probe);
                self.backward_jet(w, &mut sh.grad, r, n, shape);
                out
            }
        }
    }

    /// The output adjoints of the value rows (width m): κ·∂(coef·s)/∂h with coef = ω(0)/N₀ on
    /// the x₀ rows, −ω(1)/N₁ on the x₁ rows and c_i(ω_iλs_i + ω′_i) on the rows at t_i.
    fn value_adjoints(
        &self,
        bar: &mut [T],
        terms: &AmTerms,
        h: &[T],
        (n0, n1, n): (usize, usize, usize),
    ) {
        let d = self.config.dim;
        let head = self.config.head;
        let m = head.output_width(d);
        let kappa = self.config.output_scale;
        let [w0, w1] = terms.boundary_weights;
        let mut adj = vec![0.0; m];
        for row in 0..n0 + n1 + n {
            let (x, coef) = if row < n0 {
                (&terms.x0[row * d..(row + 1) * d], w0 / n0 as f64)
            } else if row < n0 + n1 {
                let i = row - n0;
                (&terms.x1[i * d..(i + 1) * d], -w1 / n1 as f64)
            } else {
                let i = row - n0 - n1;
                let hs = &h[row * m..(row + 1) * m];
                let si = head::value(head, hs, &terms.xt[i * d..(i + 1) * d]);
                (
                    &terms.xt[i * d..(i + 1) * d],
                    terms.scale[i] * (terms.omega[i] * terms.growth * si + terms.omega_dot[i]),
                )
            };
            head::value_adjoint(head, &h[row * m..(row + 1) * m], x, coef, &mut adj);
            for (b, a) in bar[row * m..(row + 1) * m].iter_mut().zip(&adj) {
                *b = T::of(kappa * a);
            }
        }
    }

    /// Loss and ζ from s and g = ∇_u s; writes γ_i = c_iω_i[de/dt_i, ∇x s_i] as the tangent rows
    /// of a₀ and the value adjoints into `w.bar[L−1]`.
    fn first_order_adjoints(
        &self,
        w: &mut Workspace<T>,
        terms: &AmTerms,
        (n0, n1, n): (usize, usize, usize),
    ) -> FusedLoss {
        let d = self.config.dim;
        let f = self.config.time_embedding.width();
        let width = f + d;
        let r = n0 + n1 + n;
        let last = self.num_layers() - 1;
        let s: Vec<f64> = w.z[last][..r].iter().map(|v| v.f64()).collect();
        let g = &w.scratch[..n * width];
        let mut grad = vec![0.0; n * d];
        let mut dt = vec![0.0; n];
        for i in 0..n {
            let row = &g[i * width..(i + 1) * width];
            dt[i] = row[..f]
                .iter()
                .zip(&w.de[i * f..(i + 1) * f])
                .map(|(a, b)| a.f64() * b)
                .sum();
            for j in 0..d {
                grad[i * d + j] = row[f + j].f64();
            }
        }
        // the terms were validated and the lengths are built here: an error cannot occur, and
        // would surface as a non-finite loss that the step refuses
        let (loss, integrand) = terms
            .evaluate(&s[..n0], &s[n0..n0 + n1], &s[n0 + n1..], &grad, &dt, None)
            .unwrap_or_else(|_| (f64::NAN, vec![f64::NAN; n]));
        let a0 = &mut w.a[0][r * width..(r + n) * width];
        for i in 0..n {
            let cw = terms.scale[i] * terms.omega[i];
            let row = &mut a0[i * width..(i + 1) * width];
            for (o, de) in row[..f].iter_mut().zip(&w.de[i * f..(i + 1) * f]) {
                *o = T::of(cw * de);
            }
            for j in 0..d {
                row[f + j] = T::of(cw * grad[i * d + j]);
            }
        }
        let zs: Vec<T> = w.z[last][..r].to_vec();
        let bar = room(&mut w.bar[last], r + n);
        self.value_adjoints(&mut bar[..r], terms, &zs, (n0, n1, n));
        FusedLoss {
            loss,
            integrand,
            grad_norm: f64::NAN,
        }
    }

    /// Loss and ζ from the jet outputs, and the output adjoints of every row of the jet.
    fn jet_adjoints(
        &self,
        w: &mut Workspace<T>,
        terms: &AmTerms,
        (n0, n1, n): (usize, usize, usize),
        shape: JetShape,
        probe: Option<&[f64]>,
    ) -> FusedLoss {
        let d = self.config.dim;
        let head = self.config.head;
        let m = head.output_width(d);
        let jr = shape.rows();
        let r = n0 + n1 + n;
        let last = self.num_layers() - 1;
        let out = &w.z[last];
        let row_s = |rows: &[f64], row: usize, k: usize| {
            head::value(
                head,
                &out[row * m..(row + 1) * m],
                &rows[k * d..(k + 1) * d],
            )
        };
        let s0: Vec<f64> = (0..n0).map(|k| row_s(&terms.x0, k, k)).collect();
        let s1: Vec<f64> = (0..n1).map(|k| row_s(&terms.x1, n0 + k, k)).collect();
        let mut s = vec![0.0; n];
        let mut grad = vec![0.0; n * d];
        let mut dt = vec![0.0; n];
        let mut lap = vec![0.0; n];
        for i in 0..n {
            let row = n0 + n1 + i;
            let v = head::jet_values(
                head,
                &out[row * m..(row + 1) * m],
                &out[(r + i * jr) * m..(r + (i + 1) * jr) * m],
                &terms.xt[i * d..(i + 1) * d],
                probe.map(|p| &p[i * d..(i + 1) * d]),
                shape,
                &mut grad[i * d..(i + 1) * d],
            );
            s[i] = v.s;
            dt[i] = v.dt;
            lap[i] = v.second;
        }
        let with_lap = !matches!(terms.laplacian, TermsLaplacian::None);
        // validated terms, lengths built here (see `first_order_adjoints`)
        let (loss, integrand) = terms
            .evaluate(
                &s0,
                &s1,
                &s,
                &grad,
                &dt,
                if with_lap { Some(&lap) } else { None },
            )
            .unwrap_or_else(|_| (f64::NAN, vec![f64::NAN; n]));
        let h: Vec<T> = out[..r * m].to_vec();
        let jets: Vec<T> = out[r * m..(r + n * jr) * m].to_vec();
        let kappa = self.config.output_scale;
        let bar = room(&mut w.bar[last], (r + n * jr) * m);
        self.value_adjoints(&mut bar[..r * m], terms, &h, (n0, n1, n));
        let (mut h_bar, mut jet_bar) = (vec![0.0; m], vec![0.0; jr * m]);
        let mut g_bar = vec![0.0; d];
        for i in 0..n {
            let cw = terms.scale[i] * terms.omega[i];
            let row = n0 + n1 + i;
            for j in 0..d {
                g_bar[j] = cw * grad[i * d + j];
            }
            let c = head::HeadCoefficients {
                s: terms.scale[i] * (terms.omega[i] * terms.growth * s[i] + terms.omega_dot[i]),
                dt: cw,
                second: if with_lap {
                    cw * terms.half_eps_sq[i]
                } else {
                    0.0
                },
            };
            head::jet_adjoints(
                head,
                &h[row * m..(row + 1) * m],
                &jets[i * jr * m..(i + 1) * jr * m],
                &terms.xt[i * d..(i + 1) * d],
                probe.map(|p| &p[i * d..(i + 1) * d]),
                shape,
                &c,
                &g_bar,
                &mut h_bar,
                &mut jet_bar,
            );
            for (b, v) in bar[row * m..(row + 1) * m].iter_mut().zip(&h_bar) {
                *b = T::of(kappa * v);
            }
            let blk = &mut bar[(r + i * jr) * m..(r + (i + 1) * jr) * m];
            for (b, v) in blk.iter_mut().zip(&jet_bar) {
                *b = T::of(kappa * v);
            }
        }
        FusedLoss {
            loss,
            integrand,
            grad_norm: f64::NAN,
        }
    }
}
