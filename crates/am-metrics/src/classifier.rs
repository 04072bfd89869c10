//! A small LeNet-style classifier for small images (the 8×8 digits, MNIST): the feature
//! network of "classifier FID" and the logits of a classifier Inception Score at the scale where
//! the Inception network makes no sense (an 8×8 digit is not an ImageNet photograph).
//!
//! Layout for `(N, C, H, W)` in [−1, 1]: conv3×3 (C → 16) + ReLU, then stride-2 conv3×3 + ReLU
//! layers (16 → 32 → 64 …) until the side is at most 4, flatten, Dense → `features` (ReLU: the
//! penultimate features FID uses), Dense → `classes` logits. Weights are PyTorch-default uniform.

use crate::fid::FeatureExtractor;
use am_core::candle::{DType, Device, Tensor, Var};
use am_core::{Error, ModelFile, ModelFileError, Result, SeededRng};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The model-file kind of a classifier.
pub const CLASSIFIER_KIND: &str = "classifier";

/// The shape of a [`Classifier`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierConfig {
    /// Image channels.
    pub channels: usize,
    /// Image side (square images), ≥ 4.
    pub size: usize,
    /// Output classes.
    pub classes: usize,
    /// Width of the penultimate features.
    pub features: usize,
}

impl ClassifierConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        if self.channels == 0 || self.size < 4 || self.classes < 2 || self.features == 0 {
            return Err(Error::config(
                "classifier",
                format!("needs channels ≥ 1, size ≥ 4, classes ≥ 2, features ≥ 1: {self:?}"),
            ));
        }
        Ok(())
    }

    /// (channels in, channels out, stride) of each convolution, and the side after them.
    fn convs(&self) -> (Vec<(usize, usize, usize)>, usize) {
        let mut layers = vec![(self.channels, 16, 1)];
        let (mut c, mut side) = (16, self.size);
        while side > 4 {
            layers.push((c, 2 * c, 2));
            c *= 2;
            side = side.div_ceil(2);
        }
        (layers, side)
    }
}

fn uniform(
    shape: &[usize],
    fan_in: usize,
    rng: &mut SeededRng,
    dtype: DType,
    device: &Device,
) -> Result<Var> {
    let a = 1.0 / (fan_in as f64).sqrt();
    Ok(Var::from_tensor(
        &rng.uniform_tensor(shape, -a, a, dtype, device)?,
    )?)
}

/// The classifier; see the module docs.
#[derive(Debug)]
pub struct Classifier {
    config: ClassifierConfig,
    convs: Vec<(Var, Var, usize)>,
    hidden: (Var, Var),
    out: (Var, Var),
}

impl Classifier {
    /// A classifier with parameters drawn from `rng`.
    pub fn new(
        config: ClassifierConfig,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let (layers, side) = config.convs();
        let mut convs = Vec::new();
        for &(ci, co, s) in &layers {
            let fan = ci * 9;
            convs.push((
                uniform(&[co, ci, 3, 3], fan, rng, dtype, device)?,
                uniform(&[co], fan, rng, dtype, device)?,
                s,
            ));
        }
        let flat = layers.last().map_or(0, |l| l.1) * side * side;
        let f = config.features;
        Ok(Self {
            hidden: (
                uniform(&[f, flat], flat, rng, dtype, device)?,
                uniform(&[f], flat, rng, dtype, device)?,
            ),
            out: (
                uniform(&[config.classes, f], f, rng, dtype, device)?,
                uniform(&[config.classes], f, rng, dtype, device)?,
            ),
            convs,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// Penultimate features `(N, F)` and logits `(N, K)` of images `(N, C, H, W)` or rows
    /// `(N, C·H·W)`.
    pub fn forward(&self, images: &Tensor) -> Result<(Tensor, Tensor)> {
        let (c, s) = (self.config.channels, self.config.size);
        let n = images.dims()[0];
        if images.elem_count() != n * c * s * s {
            return Err(Error::config(
                "images",
                format!(
                    "shape {:?} does not hold images of {c}×{s}×{s}",
                    images.dims()
                ),
            ));
        }
        let mut h = images.reshape((n, c, s, s))?;
        for (w, b, stride) in &self.convs {
            let co = b.dims()[0];
            h = h
                .conv2d(w.as_tensor(), 1, *stride, 1, 1)?
                .broadcast_add(&b.as_tensor().reshape((1, co, 1, 1))?)?
                .relu()?;
        }
        let flat = h.flatten_from(1)?;
        let dense = |x: &Tensor, (w, b): &(Var, Var)| -> Result<Tensor> {
            Ok(x.matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?)
        };
        let features = dense(&flat, &self.hidden)?.relu()?;
        let logits = dense(&features, &self.out)?;
        Ok((features, logits))
    }

    /// The parameters in a fixed order, with names.
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let mut out = Vec::new();
        for (i, (w, b, _)) in self.convs.iter().enumerate() {
            out.push((format!("conv{i}.w"), w));
            out.push((format!("conv{i}.b"), b));
        }
        out.push(("hidden.w".into(), &self.hidden.0));
        out.push(("hidden.b".into(), &self.hidden.1));
        out.push(("out.w".into(), &self.out.0));
        out.push(("out.b".into(), &self.out.1));
        out
    }

    /// The parameters.
    pub fn parameters(&self) -> Vec<Var> {
        self.named_vars()
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Saves a self-describing model file (kind `classifier`) with free metadata (e.g. its test
    /// accuracy and the data it was trained on).
    pub fn save_with(&self, path: &Path, user: &BTreeMap<String, String>) -> Result<()> {
        let tensors: HashMap<String, Tensor> = self
            .named_vars()
            .into_iter()
            .map(|(k, v)| Ok((k, v.as_tensor().copy()?)))
            .collect::<Result<_>>()?;
        ModelFile {
            kind: CLASSIFIER_KIND.into(),
            config: serde_json::to_string(&self.config)
                .map_err(|e| Error::config("config", e.to_string()))?,
            user: user.clone(),
            tensors,
        }
        .save(path)
    }

    /// Rebuilds a classifier from its file alone, with its metadata.
    pub fn load(path: &Path, device: &Device) -> Result<(Self, BTreeMap<String, String>)> {
        let file = ModelFile::load(path, CLASSIFIER_KIND, device)?;
        let config: ClassifierConfig = serde_json::from_str(&file.config)
            .map_err(|e| ModelFileError::BadConfig(e.to_string()).at(path))?;
        config
            .validate()
            .map_err(|e| ModelFileError::BadConfig(e.to_string()).at(path))?;
        let net = Self::new(config, &mut SeededRng::new(0), DType::F32, device)?;
        for (name, var) in net.named_vars() {
            let t = file.tensors.get(&name).ok_or_else(|| {
                ModelFileError::Tensor(format!("tensor `{name}` is missing")).at(path)
            })?;
            if t.dims() != var.dims() {
                return Err(ModelFileError::Tensor(format!(
                    "tensor `{name}` has shape {:?}, the classifier needs {:?}",
                    t.dims(),
                    var.dims()
                ))
                .at(path));
            }
            var.set(&t.to_dtype(DType::F32)?)?;
        }
        Ok((net, file.user))
    }
}

/// The penultimate features, for FID.
impl FeatureExtractor for Classifier {
    fn width(&self) -> usize {
        self.config.features
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.forward(images)?.0.detach())
    }
}
