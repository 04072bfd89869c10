//! The forward pass of the FID Inception-v3 network over the layer table of [`super::layout`].

use super::layout::{layout, ConvSpec, Step};
use super::WeightsProblem;
use crate::{Error, Result};
use am_core::candle::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Batch norm's ε in the TF graph.
pub const BATCH_NORM_EPS: f64 = 1e-3;

/// A convolution with its batch norm folded in: w' = w/√(var + ε), b' = β − mean/√(var + ε)
/// (no scale γ in this network), followed by ReLU.
#[derive(Debug)]
pub(super) struct Conv {
    weight: Tensor,
    bias: Tensor,
    stride: usize,
    padding: (usize, usize),
}

#[derive(Debug)]
pub(super) enum Layer {
    Conv(Conv),
    MaxPool3Stride2,
    AvgPool3Same,
    MaxPool3Same,
}

#[derive(Debug)]
pub(super) struct Branch {
    steps: Vec<Layer>,
    split: Vec<Conv>,
}

/// The loaded network: blocks of branches, each block's outputs concatenated along channels.
#[derive(Debug)]
pub(super) struct Network {
    blocks: Vec<Vec<Branch>>,
}

fn bad(path: &Path, reason: String) -> Error {
    Error::InceptionWeights {
        path: path.display().to_string(),
        problem: WeightsProblem::Format(reason),
    }
}

impl Conv {
    fn load(
        spec: &ConvSpec,
        file: &HashMap<String, Tensor>,
        path: &Path,
        device: &Device,
    ) -> Result<Self> {
        let get = |part: &str| {
            file.get(&format!("{}.{part}", spec.name))
                .ok_or_else(|| bad(path, format!("no tensor `{}.{part}`", spec.name)))
        };
        let w = get("weight")?;
        let co = match w.dims() {
            &[co, _, _, _] => co,
            d => return Err(bad(path, format!("`{}.weight` has shape {d:?}", spec.name))),
        };
        let mut vectors = Vec::new();
        for part in ["beta", "mean", "var"] {
            let v = get(part)?;
            if v.dims() != [co] {
                return Err(bad(
                    path,
                    format!(
                        "`{}.{part}` has shape {:?}, needs [{co}]",
                        spec.name,
                        v.dims()
                    ),
                ));
            }
            vectors.push(v.to_dtype(DType::F64)?);
        }
        let inv = (vectors[2].clone() + BATCH_NORM_EPS)?.sqrt()?.recip()?;
        let weight = w
            .to_dtype(DType::F64)?
            .broadcast_mul(&inv.reshape((co, 1, 1, 1))?)?;
        let bias = (&vectors[0] - (&vectors[1] * &inv)?)?;
        Ok(Self {
            weight: weight.to_dtype(DType::F32)?.to_device(device)?,
            bias: bias
                .to_dtype(DType::F32)?
                .reshape((1, co, 1, 1))?
                .to_device(device)?,
            stride: spec.stride,
            padding: spec.padding,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (ph, pw) = self.padding;
        let y = if ph == pw {
            x.conv2d(&self.weight, ph, self.stride, 1, 1)?
        } else {
            x.pad_with_zeros(2, ph, ph)?
                .pad_with_zeros(3, pw, pw)?
                .conv2d(&self.weight, 0, self.stride, 1, 1)?
        };
        Ok(y.broadcast_add(&self.bias)?.relu()?)
    }
}

impl Layer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Layer::Conv(c) => c.forward(x)?,
            Layer::MaxPool3Stride2 => x.max_pool2d_with_stride(3, 2)?,
            // inputs are ReLU outputs (≥ 0), so zero padding never wins a max over a window
            // that always holds a real pixel
            Layer::MaxPool3Same => x
                .pad_with_zeros(2, 1, 1)?
                .pad_with_zeros(3, 1, 1)?
                .max_pool2d_with_stride(3, 1)?,
            Layer::AvgPool3Same => {
                let (h, w) = (x.dims()[2], x.dims()[3]);
                let pad = |t: &Tensor| -> Result<Tensor> {
                    Ok(t.pad_with_zeros(2, 1, 1)?
                        .pad_with_zeros(3, 1, 1)?
                        .avg_pool2d_with_stride(3, 1)?)
                };
                // the fraction of each window inside the image: divide it out
                let inside = pad(&Tensor::ones((1, 1, h, w), x.dtype(), x.device())?)?;
                pad(x)?.broadcast_div(&inside)?
            }
        })
    }
}

impl Network {
    /// Loads the converted weights (see [`super::torchscript`]) onto `device`.
    pub(super) fn load(path: &Path, device: &Device) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::InceptionWeights {
                path: path.display().to_string(),
                problem: WeightsProblem::Missing,
            });
        }
        let file = am_core::candle::safetensors::load(path, &Device::Cpu)
            .map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
        let mut blocks = Vec::new();
        for block in layout() {
            let mut branches = Vec::new();
            for b in &block.branches {
                let mut steps = Vec::new();
                for s in &b.steps {
                    steps.push(match s {
                        Step::Conv(spec) => Layer::Conv(Conv::load(spec, &file, path, device)?),
                        Step::MaxPool3Stride2 => Layer::MaxPool3Stride2,
                        Step::AvgPool3Same => Layer::AvgPool3Same,
                        Step::MaxPool3Same => Layer::MaxPool3Same,
                    });
                }
                let split = b
                    .split
                    .iter()
                    .map(|spec| Conv::load(spec, &file, path, device))
                    .collect::<Result<Vec<_>>>()?;
                branches.push(Branch { steps, split });
            }
            blocks.push(branches);
        }
        Ok(Self { blocks })
    }

    /// Pool3 features `(N, 2048)` of prepared inputs `(N, 3, 299, 299)`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for block in &self.blocks {
            let mut outs = Vec::new();
            for b in block {
                let mut y = h.clone();
                for s in &b.steps {
                    y = s.forward(&y)?;
                }
                if b.split.is_empty() {
                    outs.push(y);
                } else {
                    for c in &b.split {
                        outs.push(c.forward(&y)?);
                    }
                }
            }
            h = if outs.len() == 1 {
                outs.remove(0)
            } else {
                Tensor::cat(&outs, 1)?
            };
        }
        // the 8×8 average pool of the graph's `pool_3`
        Ok(h.flatten_from(2)?.mean(2)?)
    }
}
