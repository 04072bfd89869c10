//! The fused forward as an [`Action`] for the integrators: s, ∇x s and ∂t s from one value
//! forward plus one reverse sweep, or, when a Laplacian is asked for, from one stacked jet.

use super::denormal::FlushDenormals;
use super::forward::{Inputs, JetShape};
use super::head;
use super::workspace::Workspace;
use super::{FusedMlp, Real};
use crate::Head;
use am_core::candle::{Tensor, Var};
use am_core::{check, Action, ActionEval, Derivatives, Error as CoreError, LaplacianMode, Result};
use std::sync::Mutex;

impl<T: Real> FusedMlp<T> {
    fn host_inputs(&self, t: &Tensor, x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
        let (_, d) = check::times_points(t, x)?;
        if d != self.config.dim {
            return Err(CoreError::Shape {
                arg: "x",
                expected: format!("(N, {})", self.config.dim),
                got: x.dims().to_vec(),
            });
        }
        let host = |v: &Tensor| -> Result<Vec<f64>> {
            Ok(v.to_dtype(am_core::DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?)
        };
        Ok((host(t)?, host(x)?))
    }
}

fn tensor(v: Vec<f64>, shape: &[usize], like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, shape, like.device())?.to_dtype(like.dtype())?)
}

impl<T: Real> Action for FusedMlp<T> {
    fn dim(&self) -> usize {
        self.config.dim
    }

    fn value(&self, t: &Tensor, x: &Tensor) -> Result<Tensor> {
        let (tv, xv) = self.host_inputs(t, x)?;
        let n = tv.len();
        let _ftz = FlushDenormals::new();
        let mut pool = self.work.lock().unwrap_or_else(|e| e.into_inner());
        if pool.is_empty() {
            pool.push(Workspace::default());
        }
        let w = &mut pool[0];
        w.threads = self.threads;
        let inputs = Inputs {
            x0: &[],
            x1: &[],
            t: &tv,
            xt: &xv,
        };
        self.write_inputs(w, &inputs, n);
        self.forward_values(w, n);
        let d = self.config.dim;
        let m = self.config.head.output_width(d);
        let h = &w.z[self.num_layers() - 1];
        let s = (0..n)
            .map(|i| {
                head::value(
                    self.config.head,
                    &h[i * m..(i + 1) * m],
                    &xv[i * d..(i + 1) * d],
                )
            })
            .collect();
        tensor(s, &[n, 1], x)
    }

    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> Result<ActionEval> {
        let (tv, xv) = self.host_inputs(t, x)?;
        let n = tv.len();
        let d = self.config.dim;
        let probe = match &want.laplacian {
            LaplacianMode::None => None,
            LaplacianMode::Exact => Some(None),
            LaplacianMode::Hutchinson(v) => {
                if v.dims() != x.dims() {
                    return Err(CoreError::Shape {
                        arg: "probe",
                        expected: format!("{:?} like x", x.dims()),
                        got: v.dims().to_vec(),
                    });
                }
                Some(Some(self.host_inputs(t, v)?.1))
            }
        };
        let with_lap = probe.is_some();
        let mut out = EvalOut {
            s: vec![0.0; n],
            grad: vec![0.0; n * d],
            dt: vec![0.0; n],
            lap: if with_lap { vec![0.0; n] } else { Vec::new() },
        };
        // row blocks of at least 200 particles, one per pool thread (as in the training step)
        let k = self.threads.min(n / 200).max(1);
        let mut pool = self.work.lock().unwrap_or_else(|e| e.into_inner());
        pool.resize_with(k, Workspace::default);
        let probe_rows = probe.as_ref().and_then(|p| p.as_deref());
        if k == 1 {
            pool[0].threads = self.threads;
            self.eval_block(&mut pool[0], &tv, &xv, with_lap, probe_rows, out.views());
        } else {
            let cut: Vec<usize> = (0..=k).map(|j| j * n / k).collect();
            let mut views = Vec::with_capacity(k);
            let mut rest = out.views();
            for j in 0..k {
                let (head, tail) = rest.split(cut[j + 1] - cut[j], d);
                views.push(head);
                rest = tail;
            }
            let cells: Vec<Mutex<(&mut Workspace<T>, Option<Views<'_>>)>> = pool
                .iter_mut()
                .zip(views)
                .map(|(w, v)| Mutex::new((w, Some(v))))
                .collect();
            rayon::broadcast(|ctx| {
                for j in (ctx.index()..k).step_by(ctx.num_threads()) {
                    let mut cell = cells[j].lock().unwrap_or_else(|e| e.into_inner());
                    let (w, v) = &mut *cell;
                    w.threads = 1;
                    let (lo, hi) = (cut[j], cut[j + 1]);
                    let v = v.take().expect("each block is evaluated once");
                    self.eval_block(
                        w,
                        &tv[lo..hi],
                        &xv[lo * d..hi * d],
                        with_lap,
                        probe_rows.map(|p| &p[lo * d..hi * d]),
                        v,
                    );
                }
            });
        }
        Ok(ActionEval {
            s: tensor(out.s, &[n, 1], x)?,
            grad_x: tensor(out.grad, &[n, d], x)?,
            dt: tensor(out.dt, &[n, 1], x)?,
            laplacian: if with_lap {
                Some(tensor(out.lap, &[n, 1], x)?)
            } else {
                None
            },
        })
    }

    /// Empty: a fused model is a frozen snapshot for sampling; train it with
    /// [`FusedMlp::train_step`].
    fn parameters(&self) -> Vec<Var> {
        Vec::new()
    }
}

/// Host outputs of an evaluation.
struct EvalOut {
    s: Vec<f64>,
    grad: Vec<f64>,
    dt: Vec<f64>,
    lap: Vec<f64>,
}

impl EvalOut {
    fn views(&mut self) -> Views<'_> {
        Views {
            s: &mut self.s,
            grad: &mut self.grad,
            dt: &mut self.dt,
            lap: &mut self.lap,
        }
    }
}

/// A row block of [`EvalOut`].
struct Views<'a> {
    s: &'a mut [f64],
    grad: &'a mut [f64],
    dt: &'a mut [f64],
    lap: &'a mut [f64],
}

impl<'a> Views<'a> {
    /// The first `rows` rows and the rest.
    fn split(self, rows: usize, d: usize) -> (Views<'a>, Views<'a>) {
        let (s0, s1) = self.s.split_at_mut(rows);
        let (g0, g1) = self.grad.split_at_mut(rows * d);
        let (t0, t1) = self.dt.split_at_mut(rows);
        let cut = rows.min(self.lap.len());
        let (l0, l1) = self.lap.split_at_mut(cut);
        (
            Views {
                s: s0,
                grad: g0,
                dt: t0,
                lap: l0,
            },
            Views {
                s: s1,
                grad: g1,
                dt: t1,
                lap: l1,
            },
        )
    }
}

impl<T: Real> FusedMlp<T> {
    /// s, ∇x s, ∂t s (and the Laplacian with `with_lap`) of one row block into `out`.
    fn eval_block(
        &self,
        w: &mut Workspace<T>,
        t: &[f64],
        x: &[f64],
        with_lap: bool,
        probe: Option<&[f64]>,
        out: Views<'_>,
    ) {
        let _ftz = FlushDenormals::new();
        let n = t.len();
        let d = self.config.dim;
        let f = self.config.time_embedding.width();
        let last = self.num_layers() - 1;
        let inputs = Inputs {
            x0: &[],
            x1: &[],
            t,
            xt: x,
        };
        if !with_lap && self.config.head == Head::Scalar {
            self.write_inputs(w, &inputs, 2 * n);
            self.forward_values(w, n);
            self.reverse_sweep(w, n, n);
            let width = f + d;
            for i in 0..n {
                out.s[i] = w.z[last][i].f64();
                let row = &w.scratch[i * width..(i + 1) * width];
                out.dt[i] = row[..f]
                    .iter()
                    .zip(&w.de[i * f..(i + 1) * f])
                    .map(|(a, b)| a.f64() * b)
                    .sum();
                for j in 0..d {
                    out.grad[i * d + j] = row[f + j].f64();
                }
            }
        } else {
            let shape = if with_lap {
                JetShape::new(d, probe.is_some())
            } else {
                JetShape::first_order(d)
            };
            let jr = shape.rows();
            let m = self.config.head.output_width(d);
            self.write_inputs(w, &inputs, n + n * jr);
            self.write_jet_inputs(w, n, n, shape, probe);
            self.forward_jet(w, n, n, shape);
            let z = &w.z[last];
            for i in 0..n {
                let v = head::jet_values(
                    self.config.head,
                    &z[i * m..(i + 1) * m],
                    &z[(n + i * jr) * m..(n + (i + 1) * jr) * m],
                    &x[i * d..(i + 1) * d],
                    probe.map(|p| &p[i * d..(i + 1) * d]),
                    shape,
                    &mut out.grad[i * d..(i + 1) * d],
                );
                out.s[i] = v.s;
                out.dt[i] = v.dt;
                if with_lap {
                    out.lap[i] = v.second;
                }
            }
        }
    }
}
