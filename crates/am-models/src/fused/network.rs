//! [`FusedMlp`]: an MLP action held in host memory, with hand-derived derivatives and θ-gradient.

use super::step::Shard;
use super::workspace::Workspace;
use super::Real;
use crate::{Head, Mlp, MlpConfig, TimeEmbedding};
use am_core::candle::{Device, Tensor};
use am_core::{Error as CoreError, Result as CoreResult};
use std::collections::HashMap;
use std::sync::Mutex;

/// An MLP action s = head(h(e(t), x)) (s = h, or s = ½‖x − h‖²) whose parameters live in one
/// flat host buffer
/// `[W₀, b₀, W₁, b₁, …]` (W stored `(in, out)`, the order of [`Mlp`]'s parameters).
///
/// It serves two purposes:
/// - training: [`FusedMlp::loss_and_grad`] and [`FusedMlp::train_step`] compute the AM
///   objective of an [`am_core::AmTerms`] batch and its exact ∇θ by hand, with the optimiser
///   update in one fused pass (see `docs/design-fused-step.md`);
/// - sampling: it implements [`am_core::Action`] (value, ∇x s, ∂t s and Δs in one pass), as a
///   frozen snapshot: its `parameters()` are empty, so autograd never sees it.
///
/// Build it from an [`Mlp`] with [`FusedMlp::from_mlp`] and write the trained parameters back
/// with [`FusedMlp::write_into`].
pub struct FusedMlp<T: Real> {
    pub(crate) config: MlpConfig,
    /// Layer widths: input F + D, the hidden widths, output 1.
    pub(crate) widths: Vec<usize>,
    pub(crate) params: Vec<T>,
    pub(crate) grad: Vec<T>,
    /// (offset of W_l, offset of b_l) in `params`.
    pub(crate) offsets: Vec<(usize, usize)>,
    pub(crate) threads: usize,
    /// Workspaces of the sampling path, one per row block.
    pub(crate) work: Mutex<Vec<Workspace<T>>>,
    /// Per-thread workspaces and partial gradients of the training step.
    pub(crate) shards: Vec<Shard<T>>,
}

impl<T: Real> std::fmt::Debug for FusedMlp<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FusedMlp")
            .field("config", &self.config)
            .field("dtype", &T::DTYPE)
            .field("threads", &self.threads)
            .finish()
    }
}

impl<T: Real> Clone for FusedMlp<T> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            widths: self.widths.clone(),
            params: self.params.clone(),
            grad: self.grad.clone(),
            offsets: self.offsets.clone(),
            threads: self.threads,
            work: Mutex::new(Vec::new()),
            shards: Vec::new(),
        }
    }
}

impl<T: Real> FusedMlp<T> {
    /// Whether a model with this configuration has a fused path (scalar and ½‖x − h‖² heads;
    /// every activation and time embedding).
    pub fn supports(config: &MlpConfig) -> bool {
        matches!(config.head, Head::Scalar | Head::HalfSquaredDistance)
    }

    /// A host copy of `mlp`'s parameters, converted to `T`. Uses rayon's current thread count.
    pub fn from_mlp(mlp: &Mlp) -> CoreResult<Self> {
        let config = mlp.config().clone();
        if !Self::supports(&config) {
            return Err(CoreError::Unsupported(format!(
                "the fused MLP step covers the scalar and ½‖x − h‖² heads, not {:?}",
                config.head
            )));
        }
        let mut widths = vec![config.time_embedding.width() + config.dim];
        widths.extend(&config.hidden);
        widths.push(config.head.output_width(config.dim));
        let mut params = Vec::new();
        let mut offsets = Vec::new();
        for (w, b) in mlp.layers() {
            let ow = params.len();
            params.extend(host::<T>(w)?);
            let ob = params.len();
            params.extend(host::<T>(b)?);
            offsets.push((ow, ob));
        }
        let grad = vec![T::ZERO; params.len()];
        Ok(Self {
            config,
            widths,
            params,
            grad,
            offsets,
            threads: rayon::current_num_threads(),
            work: Mutex::new(Vec::new()),
            shards: Vec::new(),
        })
    }

    /// The configuration of the source model.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Threads for matrix products and element-wise passes (run inside rayon's current pool).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// The number of threads in use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The flat parameter buffer `[W₀, b₀, W₁, b₁, …]`.
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// ∇θ of the last [`FusedMlp::loss_and_grad`], laid out like [`FusedMlp::params`].
    pub fn grad(&self) -> &[T] {
        &self.grad
    }

    /// Number of affine layers.
    pub fn num_layers(&self) -> usize {
        self.offsets.len()
    }

    /// W_l `(in, out)` and b_l `(out)`.
    pub(crate) fn layer(&self, l: usize) -> (&[T], &[T]) {
        let (ow, ob) = self.offsets[l];
        let out = self.widths[l + 1];
        (&self.params[ow..ob], &self.params[ob..ob + out])
    }

    /// Parameters (or, with `grad`, the gradient) as tensors named like [`Mlp::named_tensors`].
    pub fn named_tensors(
        &self,
        grad: bool,
        device: &Device,
    ) -> CoreResult<HashMap<String, Tensor>> {
        let src = if grad { &self.grad } else { &self.params };
        let mut m = HashMap::new();
        for (l, &(ow, ob)) in self.offsets.iter().enumerate() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            m.insert(
                format!("layer{l}.weight"),
                tensor(&src[ow..ob], &[i, o], device)?,
            );
            m.insert(
                format!("layer{l}.bias"),
                tensor(&src[ob..ob + o], &[o], device)?,
            );
        }
        Ok(m)
    }

    /// Writes the parameters into `mlp` (same configuration), converting to its dtype.
    pub fn write_into(&self, mlp: &Mlp) -> crate::Result<()> {
        let device = mlp.parameters_device();
        mlp.load_named_tensors(&self.named_tensors(false, &device)?)
    }

    /// Reads the parameters back from `mlp` (e.g. after loading a checkpoint).
    pub fn read_from(&mut self, mlp: &Mlp) -> CoreResult<()> {
        if mlp.config() != &self.config {
            return Err(CoreError::config(
                "mlp",
                "configuration differs from the fused model's",
            ));
        }
        for (l, (w, b)) in mlp.layers().enumerate() {
            let (ow, ob) = self.offsets[l];
            let out = self.widths[l + 1];
            self.params[ow..ob].copy_from_slice(&host::<T>(w)?);
            self.params[ob..ob + out].copy_from_slice(&host::<T>(b)?);
        }
        Ok(())
    }

    /// One Adam update of the parameters with a gradient computed elsewhere (e.g. summed across
    /// processes by data-parallel training), lengths checked.
    pub fn apply_gradient(
        &mut self,
        adam: &mut super::FusedAdam<T>,
        grad: &[T],
        lr: f64,
    ) -> CoreResult<()> {
        adam.apply(&mut self.params, grad, lr)
    }

    /// Replaces the flat parameters (length checked).
    pub fn set_params(&mut self, params: &[T]) -> CoreResult<()> {
        if params.len() != self.params.len() {
            return Err(CoreError::Shape {
                arg: "params",
                expected: format!("({},)", self.params.len()),
                got: vec![params.len()],
            });
        }
        self.params.copy_from_slice(params);
        Ok(())
    }

    /// Floating-point operations of one row through every layer (2 per multiply-add).
    pub fn flops_per_row(&self) -> f64 {
        self.widths
            .windows(2)
            .map(|w| 2.0 * (w[0] * w[1]) as f64)
            .sum()
    }
}

/// Time features e(t) and de/dt of [`TimeEmbedding`], written into `e` and `de` (width F).
pub(crate) fn time_features(emb: TimeEmbedding, t: f64, e: &mut [f64], de: &mut [f64]) {
    e[0] = t;
    de[0] = 1.0;
    if let TimeEmbedding::Sinusoidal { frequencies } = emb {
        for k in 1..=frequencies {
            let w = std::f64::consts::PI * k as f64;
            let (s, c) = (w * t).sin_cos();
            e[2 * k - 1] = s;
            e[2 * k] = c;
            de[2 * k - 1] = w * c;
            de[2 * k] = -w * s;
        }
    }
}

fn host<T: Real>(x: &Tensor) -> CoreResult<Vec<T>> {
    let v = x
        .to_dtype(am_core::DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    Ok(v.into_iter().map(T::of).collect())
}

fn tensor<T: Real>(v: &[T], shape: &[usize], device: &Device) -> CoreResult<Tensor> {
    let w: Vec<f64> = v.iter().map(|x| x.f64()).collect();
    Ok(Tensor::from_vec(w, shape, device)?.to_dtype(T::DTYPE)?)
}
