//! A vector-field MLP f_θ(t, x) ∈ ℝᴰ: the score model of the hydrogen baselines (implicit and
//! sliced score matching, App. E.1) and the velocity model of flow matching.
//!
//! It is the network h of an [`Mlp`] on [e(t), x] with output width D, read directly (no
//! action head). Jacobian-vector products (∂f/∂x)·v_k ride along the forward pass as K extra row
//! blocks of each layer's product (dz_k = dz_{k−1}-input·W, da_k = σ′(z)⊙dz_k), so the exact
//! trace of ∂f/∂x in d = 3 costs three extra rows per sample and one first-order `backward()`.

use crate::{Head, Mlp, MlpConfig, Result};
use am_core::candle::{DType, Device, Tensor, Var};
use am_core::{
    check, Error as CoreError, LaplacianMode, ScoreField, SeededRng, VectorModel, VelocityField,
};
use std::collections::{BTreeMap, HashMap};

/// The model-file kind of [`VectorMlp`].
pub const VECTOR_KIND: &str = "vector-mlp";

/// An MLP vector field; see the module docs.
#[derive(Debug, Clone)]
pub struct VectorMlp {
    net: Mlp,
}

impl VectorMlp {
    /// A seeded network with `config` (its `head` is ignored: the output is h, width D; its
    /// `output_scale` multiplies f, e.g. 1e-2 for the reference score models).
    pub fn new(
        config: MlpConfig,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let config = MlpConfig {
            head: Head::InnerProduct,
            ..config
        };
        Ok(Self {
            net: Mlp::new(config, rng, dtype, device)?,
        })
    }

    /// The configuration (with `head` set to a width-D output).
    pub fn config(&self) -> &MlpConfig {
        self.net.config()
    }

    /// f_θ(t, x) `(N, D)` for `t` `(N, 1)`, `x` `(N, D)`, with the autograd graph through θ.
    pub fn forward(&self, t: &Tensor, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_jvp(t, x, None)?.0)
    }

    /// Parameters by name, as [`Mlp::named_tensors`] (copies).
    pub fn named_tensors(&self) -> Result<HashMap<String, Tensor>> {
        self.net.named_tensors()
    }

    /// Overwrites the parameters from a map written by [`VectorMlp::named_tensors`].
    pub fn load_named_tensors(&self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        self.net.load_named_tensors(tensors)
    }

    /// Saves the model as a self-describing file (kind `vector-mlp`, configuration in the
    /// header), which [`VectorMlp::load`] rebuilds alone.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        self.save_with(path, &BTreeMap::new())
    }

    /// [`VectorMlp::save`] with free metadata.
    pub fn save_with(&self, path: &std::path::Path, user: &BTreeMap<String, String>) -> Result<()> {
        self.net.save_as(VECTOR_KIND, path, user)
    }

    /// Rebuilds a model from a file written by [`VectorMlp::save`] alone, on `device`.
    pub fn load(path: &std::path::Path, device: &Device) -> Result<Self> {
        Ok(Self::load_with_metadata(path, device)?.0)
    }

    /// [`VectorMlp::load`] and the free metadata written by [`VectorMlp::save_with`].
    pub fn load_with_metadata(
        path: &std::path::Path,
        device: &Device,
    ) -> Result<(Self, BTreeMap<String, String>)> {
        let (net, user) = Mlp::load_as(VECTOR_KIND, path, device)?;
        Ok((Self { net }, user))
    }

    /// Loads the parameters of a file into this identically configured model.
    pub fn load_parameters(&self, path: &std::path::Path) -> Result<()> {
        self.net.load_parameters(path)
    }

    /// f and the JVPs at a scalar time, detached.
    fn at_time(
        &self,
        t: f64,
        x: &Tensor,
        directions: Option<&Tensor>,
    ) -> am_core::Result<(Tensor, Option<Tensor>)> {
        let (n, _) = check::points("x", x)?;
        if !t.is_finite() {
            return Err(CoreError::NonFinite {
                arg: "t",
                value: t,
                index: 0,
            });
        }
        let tt = Tensor::full(t, (n, 1), x.device())?.to_dtype(x.dtype())?;
        let (f, j) = self.forward_jvp(&tt, x, directions)?;
        Ok((f.detach(), j.map(|j| j.detach())))
    }
}

impl VectorModel for VectorMlp {
    fn dim(&self) -> usize {
        self.net.config().dim
    }

    fn forward_jvp(
        &self,
        t: &Tensor,
        x: &Tensor,
        directions: Option<&Tensor>,
    ) -> am_core::Result<(Tensor, Option<Tensor>)> {
        let (u, _) = self.net.input(t, x)?;
        let n = u.dim(0)?;
        let d = VectorModel::dim(self);
        let f = u.dim(1)? - d;
        let k = match directions {
            Some(v) => {
                let dims = v.dims();
                if dims.len() != 3 || dims[1] != n || dims[2] != d {
                    return Err(CoreError::Shape {
                        arg: "directions",
                        expected: format!("(K, {n}, {d})"),
                        got: dims.to_vec(),
                    });
                }
                dims[0]
            }
            None => 0,
        };
        // rows: value (N), then K tangent blocks (K·N); the time features have zero tangent
        let mut rows = u;
        if let Some(v) = directions {
            let zeros = Tensor::zeros((k * n, f), v.dtype(), v.device())?;
            let dv = Tensor::cat(&[&zeros, &v.reshape((k * n, d))?], 1)?;
            rows = Tensor::cat(&[&rows, &dv], 0)?;
        }
        let layers: Vec<_> = self.net.layers().collect();
        let last = layers.len() - 1;
        let act = self.net.activation();
        for (l, (w, b)) in layers.iter().enumerate() {
            let out = rows.matmul(w)?;
            let z = out.narrow(0, 0, n)?.broadcast_add(b)?;
            if l == last {
                let scale = self.net.config().output_scale;
                let value = (z * scale)?;
                let jvp = if k > 0 {
                    let width = out.dim(1)?;
                    Some((out.narrow(0, n, k * n)?.reshape((k, n, width))? * scale)?)
                } else {
                    None
                };
                return Ok((value, jvp));
            }
            let j = act.jet(&z, false)?;
            rows = if k > 0 {
                let width = out.dim(1)?;
                let dz = out.narrow(0, n, k * n)?.reshape((k, n, width))?;
                let da = dz.broadcast_mul(&j.d1.unsqueeze(0)?)?;
                Tensor::cat(&[&j.value, &da.reshape((k * n, width))?], 0)?
            } else {
                j.value
            };
        }
        unreachable!("an Mlp has at least one layer")
    }

    fn parameters(&self) -> Vec<Var> {
        am_core::Action::parameters(&self.net)
    }
}

impl ScoreField for VectorMlp {
    fn dim(&self) -> usize {
        VectorModel::dim(self)
    }

    fn score(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        Ok(self.at_time(t, x, None)?.0)
    }
}

impl VelocityField for VectorMlp {
    fn dim(&self) -> usize {
        VectorModel::dim(self)
    }

    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        Ok(self.at_time(t, x, None)?.0)
    }

    /// ∇·f exactly (D unit directions) or as vᵀ(∂f/∂x)v for a Hutchinson probe v.
    fn velocity_divergence(
        &self,
        t: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> am_core::Result<(Tensor, Tensor)> {
        let (n, d) = check::points("x", x)?;
        match mode {
            LaplacianMode::Hutchinson(v) => {
                let (f, j) = self.at_time(t, x, Some(&v.unsqueeze(0)?))?;
                let j = j.expect("directions given").get(0)?;
                Ok((f, (j * v)?.sum_keepdim(1)?))
            }
            _ => {
                let dirs = am_core::score::unit_directions(n, d, x.dtype(), x.device())?;
                let (f, j) = self.at_time(t, x, Some(&dirs))?;
                Ok((f, jacobian_trace(&j.expect("directions given"))?))
            }
        }
    }
}

/// tr(∂f/∂x) `(N, 1)` from the JVPs along the unit directions `(D, N, D)`: Σ_i (J e_i)_i.
pub fn jacobian_trace(jvp: &Tensor) -> am_core::Result<Tensor> {
    let d = jvp.dim(0)?;
    let eye = Tensor::eye(d, jvp.dtype(), jvp.device())?.unsqueeze(1)?; // (D, 1, D)
    Ok(jvp.broadcast_mul(&eye)?.sum(2)?.sum(0)?.unsqueeze(1)?)
}
