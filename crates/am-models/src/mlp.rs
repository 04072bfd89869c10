//! The MLP action s_θ(t, x) = head(h_θ(e(t), x)) with explicit input derivatives.

use crate::{Activation, Result, TimeEmbedding};
use am_core::candle::{DType, Device, Tensor, Var};
use am_core::{
    check, double_backward, Action, ActionEval, Derivatives, Error as CoreError, LaplacianMode,
    SeededRng,
};
use am_core::{ModelFile, ModelFileError};
use std::collections::{BTreeMap, HashMap};

/// The model-file kind of [`Mlp`].
pub const MLP_KIND: &str = "mlp";

/// A model file of `kind` holding `config` (as JSON), `tensors` and `user` metadata.
pub(crate) fn model_file(
    kind: &str,
    config: &MlpConfig,
    tensors: HashMap<String, Tensor>,
    user: &BTreeMap<String, String>,
) -> Result<ModelFile> {
    let config = serde_json::to_string(config).map_err(|e| crate::Error::Checkpoint {
        path: String::new(),
        reason: format!("cannot serialise the configuration: {e}"),
    })?;
    Ok(ModelFile {
        kind: kind.to_string(),
        config,
        user: user.clone(),
        tensors,
    })
}

/// How the network output h (width 1 or D) becomes the scalar action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Head {
    /// s = h, with h scalar.
    #[default]
    Scalar,
    /// s = ½‖x − h(t, x)‖², h ∈ ℝᴰ (the hydrogen reference model).
    HalfSquaredDistance,
    /// s = ⟨h(t, x), x⟩, h ∈ ℝᴰ (the image reference models).
    InnerProduct,
}

impl Head {
    /// Width of the network output for data dimension `dim`.
    pub fn output_width(&self, dim: usize) -> usize {
        match self {
            Head::Scalar => 1,
            _ => dim,
        }
    }
}

/// How input derivatives are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Derivation {
    /// Explicit passes (reverse sweep; forward jet for Laplacians) + first-order autograd.
    #[default]
    Explicit,
    /// candle's double backward: needs `am_core::double_backward::enable()` at program start.
    DoubleBackward,
}

/// Configuration of an [`Mlp`]; every field is checked by [`MlpConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpConfig {
    /// Data dimension D.
    pub dim: usize,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// Hidden nonlinearity.
    pub activation: Activation,
    /// Time features.
    pub time_embedding: TimeEmbedding,
    /// Output parameterisation.
    pub head: Head,
    /// Factor multiplying the network output h (the reference score models use 1e-2).
    pub output_scale: f64,
    /// Start the last layer at zero, so that s ≡ const at initialisation.
    pub zero_last_layer: bool,
    /// Derivative method.
    pub derivation: Derivation,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            dim: 2,
            hidden: vec![128, 128, 128],
            activation: Activation::Silu,
            time_embedding: TimeEmbedding::Raw,
            head: Head::Scalar,
            output_scale: 1.0,
            zero_last_layer: false,
            derivation: Derivation::Explicit,
        }
    }
}

impl MlpConfig {
    /// Fails with a typed error naming the field.
    pub fn validate(&self) -> am_core::Result<()> {
        if self.dim == 0 {
            return Err(CoreError::config("dim", "must be ≥ 1"));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(CoreError::config(
                "hidden",
                "needs at least one layer, each of width ≥ 1",
            ));
        }
        if !self.output_scale.is_finite() || self.output_scale == 0.0 {
            return Err(CoreError::config(
                "output_scale",
                format!("must be finite and ≠ 0, got {}", self.output_scale),
            ));
        }
        Ok(())
    }

    /// Multiply-accumulates of one forward pass per sample (for FLOP counts).
    pub fn macs_per_sample(&self) -> usize {
        let mut widths = vec![self.time_embedding.width() + self.dim];
        widths.extend(&self.hidden);
        widths.push(self.head.output_width(self.dim));
        widths.windows(2).map(|w| w[0] * w[1]).sum()
    }
}

/// One affine layer z = a·W + b with W stored `(in, out)`.
#[derive(Debug, Clone)]
struct Layer {
    w: Var,
    b: Var,
}

/// A multilayer perceptron action on [e(t), x]; see the crate docs.
#[derive(Debug, Clone)]
pub struct Mlp {
    config: MlpConfig,
    layers: Vec<Layer>,
}

/// Forward jet through the network output h: value, tangents along K input directions and
/// the sum of second directional derivatives over a subset of them.
pub(crate) struct HeadJet {
    pub h: Tensor,
    /// `(K, N, m)`.
    pub tangents: Tensor,
    pub second: Option<Tensor>,
}

impl Mlp {
    /// A network with seeded initialisation: W, b ~ U(−1/√fan_in, 1/√fan_in) (PyTorch's default).
    pub fn new(
        config: MlpConfig,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let mut widths = vec![config.time_embedding.width() + config.dim];
        widths.extend(&config.hidden);
        widths.push(config.head.output_width(config.dim));
        let n = widths.len() - 1;
        let mut layers = Vec::with_capacity(n);
        for (l, w) in widths.windows(2).enumerate() {
            let bound = 1.0 / (w[0] as f64).sqrt();
            let zero = config.zero_last_layer && l == n - 1;
            let (lo, hi) = if zero { (0.0, 0.0) } else { (-bound, bound) };
            let wt = rng.uniform_tensor(&[w[0], w[1]], lo, hi, dtype, device)?;
            let bt = rng.uniform_tensor(&[w[1]], lo, hi, dtype, device)?;
            layers.push(Layer {
                w: Var::from_tensor(&wt)?,
                b: Var::from_tensor(&bt)?,
            });
        }
        Ok(Self { config, layers })
    }

    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Chooses the derivative method (explicit or double backward).
    pub fn set_derivation(&mut self, derivation: Derivation) {
        self.config.derivation = derivation;
    }

    /// Parameters by name (`layer{l}.weight` `(in, out)`, `layer{l}.bias`), for safetensors: copies,
    /// so that a snapshot (e.g. the best model so far) does not follow later updates (a detached
    /// view of a `Var` shares its storage, and optimiser steps write into it).
    pub fn named_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let mut m = HashMap::new();
        for (l, layer) in self.layers.iter().enumerate() {
            m.insert(
                format!("layer{l}.weight"),
                layer.w.as_tensor().detach().copy()?,
            );
            m.insert(
                format!("layer{l}.bias"),
                layer.b.as_tensor().detach().copy()?,
            );
        }
        Ok(m)
    }

    /// Overwrites the parameters from a map written by [`Mlp::named_tensors`].
    pub fn load_named_tensors(&self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for (l, layer) in self.layers.iter().enumerate() {
            for (name, var) in [
                (format!("layer{l}.weight"), &layer.w),
                (format!("layer{l}.bias"), &layer.b),
            ] {
                let t = tensors.get(&name).ok_or_else(|| crate::Error::Checkpoint {
                    path: String::new(),
                    reason: format!("missing tensor `{name}`"),
                })?;
                if t.dims() != var.dims() {
                    return Err(crate::Error::Checkpoint {
                        path: String::new(),
                        reason: format!(
                            "tensor `{name}` has shape {:?}, the model needs {:?}",
                            t.dims(),
                            var.dims()
                        ),
                    });
                }
                var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
            }
        }
        Ok(())
    }

    /// Saves the model as a self-describing file (`am_core::model_file`, kind `mlp`): the
    /// parameters and, in the header, the configuration, so [`Mlp::load`] rebuilds it alone.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        self.save_with(path, &BTreeMap::new())
    }

    /// [`Mlp::save`] with free metadata (e.g. the data's standardisation), read back by
    /// [`Mlp::load_with_metadata`].
    pub fn save_with(&self, path: &std::path::Path, user: &BTreeMap<String, String>) -> Result<()> {
        self.save_as(MLP_KIND, path, user)
    }

    /// Writes the model file of `kind` (the network of an `Mlp` or of a `VectorMlp`).
    pub(crate) fn save_as(
        &self,
        kind: &str,
        path: &std::path::Path,
        user: &BTreeMap<String, String>,
    ) -> Result<()> {
        model_file(kind, &self.config, self.named_tensors()?, user)?.save(path)?;
        Ok(())
    }

    /// Reads the model file of `kind` and its free metadata.
    pub(crate) fn load_as(
        kind: &str,
        path: &std::path::Path,
        device: &Device,
    ) -> Result<(Self, BTreeMap<String, String>)> {
        let file = ModelFile::load(path, kind, device)?;
        let model = Self::from_model_file(&file, kind).map_err(|e| e.at(path))?;
        Ok((model, file.user))
    }

    /// Rebuilds a model from a file written by [`Mlp::save`] alone (configuration, dtype and
    /// parameters), on `device`. A file without the configuration (parameters saved by an
    /// older version, or a training checkpoint) fails with `am_core::Error::ModelFile`, which
    /// says what is missing.
    pub fn load(path: &std::path::Path, device: &Device) -> Result<Self> {
        Ok(Self::load_with_metadata(path, device)?.0)
    }

    /// [`Mlp::load`] and the free metadata written by [`Mlp::save_with`].
    pub fn load_with_metadata(
        path: &std::path::Path,
        device: &Device,
    ) -> Result<(Self, BTreeMap<String, String>)> {
        Self::load_as(MLP_KIND, path, device)
    }

    /// A model from the contents of a model file of `kind` (config parsed and validated,
    /// tensors checked against it).
    pub(crate) fn from_model_file(
        file: &ModelFile,
        kind: &str,
    ) -> std::result::Result<Self, ModelFileError> {
        debug_assert_eq!(file.kind, kind);
        let config: MlpConfig = serde_json::from_str(&file.config)
            .map_err(|e| ModelFileError::BadConfig(e.to_string()))?;
        config
            .validate()
            .map_err(|e| ModelFileError::BadConfig(e.to_string()))?;
        let first = file
            .tensors
            .get("layer0.weight")
            .ok_or_else(|| ModelFileError::Tensor("missing tensor `layer0.weight`".into()))?;
        let (dtype, device) = (first.dtype(), first.device().clone());
        if !matches!(dtype, DType::F32 | DType::F64) {
            return Err(ModelFileError::Tensor(format!(
                "parameters of dtype {dtype:?}; f32 or f64 expected"
            )));
        }
        let model = Self::new(config, &mut SeededRng::new(0), dtype, &device)
            .map_err(|e| ModelFileError::BadConfig(e.to_string()))?;
        model
            .load_named_tensors(&file.tensors)
            .map_err(|e| match e {
                crate::Error::Checkpoint { reason, .. } => ModelFileError::Tensor(reason),
                e => ModelFileError::Tensor(e.to_string()),
            })?;
        Ok(model)
    }

    /// Loads the parameters of a file (written by [`Mlp::save`], or bare safetensors with the
    /// same tensor names) into this identically configured model.
    pub fn load_parameters(&self, path: &std::path::Path) -> Result<()> {
        let device = self.layers[0].w.device().clone();
        let map = am_core::candle::safetensors::load(path, &device).map_err(|e| {
            crate::Error::Checkpoint {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        self.load_named_tensors(&map).map_err(|e| match e {
            crate::Error::Checkpoint { reason, .. } => crate::Error::Checkpoint {
                path: path.display().to_string(),
                reason,
            },
            e => e,
        })
    }

    pub(crate) fn input(&self, t: &Tensor, x: &Tensor) -> am_core::Result<(Tensor, Tensor)> {
        let (_, d) = check::times_points(t, x)?;
        if d != self.config.dim {
            return Err(CoreError::Shape {
                arg: "x",
                expected: format!("(N, {})", self.config.dim),
                got: x.dims().to_vec(),
            });
        }
        let (e, de) = self.config.time_embedding.features(t)?;
        Ok((Tensor::cat(&[&e, x], 1)?, de))
    }

    /// The network output h `(N, m)` with candle's own activation ops (double-backward path).
    fn output_generic(&self, u: &Tensor) -> am_core::Result<Tensor> {
        let mut a = u.clone();
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let z = a
                .matmul(layer.w.as_tensor())?
                .broadcast_add(layer.b.as_tensor())?;
            a = if l < last {
                self.config.activation.forward(&z)?
            } else {
                z
            };
        }
        Ok((a * self.config.output_scale)?)
    }

    /// s from the network output h.
    fn head_value(&self, h: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        Ok(match self.config.head {
            Head::Scalar => h.clone(),
            Head::HalfSquaredDistance => ((x - h)?.sqr()?.sum_keepdim(1)? * 0.5)?,
            Head::InnerProduct => (h * x)?.sum_keepdim(1)?,
        })
    }

    pub(crate) fn layers(&self) -> impl Iterator<Item = (&Tensor, &Tensor)> {
        self.layers
            .iter()
            .map(|l| (l.w.as_tensor(), l.b.as_tensor()))
    }

    pub(crate) fn parameters_device(&self) -> Device {
        self.layers[0].w.device().clone()
    }

    pub(crate) fn activation(&self) -> Activation {
        self.config.activation
    }

    fn eval_explicit(
        &self,
        t: &Tensor,
        x: &Tensor,
        want: &Derivatives,
    ) -> am_core::Result<ActionEval> {
        let (u, de) = self.input(t, x)?;
        let f = self.config.time_embedding.width();
        match &want.laplacian {
            LaplacianMode::None => {
                let (h, cache) = crate::reverse::forward(self, &u)?;
                let s = self.head_value(&h, x)?;
                let (cot, direct) = match self.config.head {
                    Head::Scalar => (h.ones_like()?, None),
                    Head::HalfSquaredDistance => ((&h - x)?, Some((x - &h)?)),
                    Head::InnerProduct => (x.clone(), Some(h.clone())),
                };
                let g = crate::reverse::pullback(self, &cache, &cot)?;
                let dt = (g.narrow(1, 0, f)? * de)?.sum_keepdim(1)?;
                let gx = g.narrow(1, f, self.config.dim)?;
                let grad_x = match direct {
                    Some(d) => (gx + d)?,
                    None => gx,
                };
                Ok(ActionEval {
                    s,
                    grad_x,
                    dt,
                    laplacian: None,
                })
            }
            mode => {
                let probe = match mode {
                    LaplacianMode::Hutchinson(v) => {
                        if v.dims() != x.dims() {
                            return Err(CoreError::Shape {
                                arg: "probe",
                                expected: format!("{:?} like x", x.dims()),
                                got: v.dims().to_vec(),
                            });
                        }
                        Some(v)
                    }
                    _ => None,
                };
                let jet = crate::jet::forward(self, &u, &de, probe)?;
                self.combine_jet(x, jet, probe)
            }
        }
    }

    /// s, ∂t s, ∇x s and the Laplacian (exact or along the probe) from the output jet.
    fn combine_jet(
        &self,
        x: &Tensor,
        jet: HeadJet,
        probe: Option<&Tensor>,
    ) -> am_core::Result<ActionEval> {
        let d = self.config.dim;
        let n = x.dim(0)?;
        let HeadJet {
            h,
            tangents,
            second,
        } = jet;
        let second =
            second.ok_or_else(|| CoreError::Unsupported("jet without second order".into()))?;
        let tt = tangents.get(0)?; // (N, m)
        let tx = tangents.narrow(0, 1, d)?; // (D, N, m)
        let s = self.head_value(&h, x)?;
        let (dt, grad_x, lap) = match self.config.head {
            Head::Scalar => {
                let grad_x = tx.reshape((d, n))?.t()?;
                // the second-order block already holds vᵀ∇²h v or Δh
                (tt, grad_x, second.clone())
            }
            Head::HalfSquaredDistance => {
                let r = (x - &h)?; // (N, D)
                let dt = (&r * &tt)?.sum_keepdim(1)?.neg()?;
                let rj = tx.broadcast_mul(&r.unsqueeze(0)?)?.sum(2)?.t()?; // (N, D): Σ_j r_j ∂h_j/∂x_i
                let grad_x = (&r - rj)?;
                let curv = match probe {
                    Some(v) => {
                        let tv = tangents.get(d + 1)?;
                        (v - tv)?.sqr()?.sum_keepdim(1)?
                    }
                    None => {
                        // Σ_i ‖e_i − ∂h/∂x_i‖² = D − 2 tr J + ‖J‖²
                        let trace = crate::vector::jacobian_trace(&tx)?;
                        let frob = tx.sqr()?.sum(2)?.sum(0)?.unsqueeze(1)?;
                        ((frob - (trace * 2.0)?)? + d as f64)?
                    }
                };
                let lap = (curv - (&r * &second)?.sum_keepdim(1)?)?;
                (dt, grad_x, lap)
            }
            Head::InnerProduct => {
                let dt = (x * &tt)?.sum_keepdim(1)?;
                let xj = tx.broadcast_mul(&x.unsqueeze(0)?)?.sum(2)?.t()?; // Σ_j x_j ∂h_j/∂x_i
                let grad_x = (&h + xj)?;
                let cross = match probe {
                    Some(v) => (tangents.get(d + 1)? * v)?.sum_keepdim(1)?,
                    None => crate::vector::jacobian_trace(&tx)?,
                };
                let lap = ((x * &second)?.sum_keepdim(1)? + (cross * 2.0)?)?;
                (dt, grad_x, lap)
            }
        };
        Ok(ActionEval {
            s,
            grad_x,
            dt,
            laplacian: Some(lap),
        })
    }
}

impl Action for Mlp {
    fn dim(&self) -> usize {
        self.config.dim
    }

    fn value(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        let (u, _) = self.input(t, x)?;
        let h = self.output_generic(&u)?;
        self.head_value(&h, x)
    }

    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> am_core::Result<ActionEval> {
        match self.config.derivation {
            Derivation::Explicit => self.eval_explicit(t, x, want),
            Derivation::DoubleBackward => {
                double_backward::eval_by_autograd(|t, x| self.value(t, x), t, x, want)
            }
        }
    }

    fn parameters(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|l| [l.w.clone(), l.b.clone()])
            .collect()
    }
}
