//! The fused forward as an [`Action`] for the integrators: s, ∇x s and ∂t s from one value
//! forward plus one reverse sweep, or, when a Laplacian is asked for, from one stacked jet.

use super::denormal::FlushDenormals;
use super::forward::{Inputs, JetShape};
use super::{FusedMlp, Real};
use am_core::candle::{Tensor, Var};
use am_core::{check, Action, ActionEval, Derivatives, Error as CoreError, LaplacianMode, Result};

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
        let mut w = self.work.lock().unwrap_or_else(|e| e.into_inner());
        w.threads = self.threads;
        let inputs = Inputs {
            x0: &[],
            x1: &[],
            t: &tv,
            xt: &xv,
        };
        self.write_inputs(&mut w, &inputs, n);
        self.forward_values(&mut w, n, false);
        let s = w.z[self.num_layers() - 1][..n]
            .iter()
            .map(|v| v.f64())
            .collect();
        tensor(s, &[n, 1], x)
    }

    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> Result<ActionEval> {
        let (tv, xv) = self.host_inputs(t, x)?;
        let n = tv.len();
        let d = self.config.dim;
        let f = self.config.time_embedding.width();
        let last = self.num_layers() - 1;
        let _ftz = FlushDenormals::new();
        let mut w = self.work.lock().unwrap_or_else(|e| e.into_inner());
        w.threads = self.threads;
        let inputs = Inputs {
            x0: &[],
            x1: &[],
            t: &tv,
            xt: &xv,
        };
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
        let (mut s, mut grad, mut dt) = (vec![0.0; n], vec![0.0; n * d], vec![0.0; n]);
        let laplacian = match probe {
            None => {
                self.write_inputs(&mut w, &inputs, 2 * n);
                self.forward_values(&mut w, n, false);
                self.reverse_sweep(&mut w, n, n);
                let width = f + d;
                for i in 0..n {
                    s[i] = w.z[last][i].f64();
                    let row = &w.scratch[i * width..(i + 1) * width];
                    dt[i] = row[..f]
                        .iter()
                        .zip(&w.de[i * f..(i + 1) * f])
                        .map(|(a, b)| a.f64() * b)
                        .sum();
                    for j in 0..d {
                        grad[i * d + j] = row[f + j].f64();
                    }
                }
                None
            }
            Some(v) => {
                let shape = JetShape::new(d, v.is_some());
                let jr = shape.rows();
                self.write_inputs(&mut w, &inputs, n + n * jr);
                self.write_jet_inputs(&mut w, n, n, shape, v.as_deref());
                self.forward_jet(&mut w, n, n, shape);
                let out = &w.z[last];
                let mut lap = vec![0.0; n];
                for i in 0..n {
                    s[i] = out[i].f64();
                    let blk = &out[n + i * jr..n + (i + 1) * jr];
                    dt[i] = blk[0].f64();
                    for j in 0..d {
                        grad[i * d + j] = blk[1 + j].f64();
                    }
                    lap[i] = blk[shape.k].f64();
                }
                Some(tensor(lap, &[n, 1], x)?)
            }
        };
        Ok(ActionEval {
            s: tensor(s, &[n, 1], x)?,
            grad_x: tensor(grad, &[n, d], x)?,
            dt: tensor(dt, &[n, 1], x)?,
            laplacian,
        })
    }

    /// Empty: a fused model is a frozen snapshot for sampling; train it with
    /// [`FusedMlp::train_step`].
    fn parameters(&self) -> Vec<Var> {
        Vec::new()
    }
}
