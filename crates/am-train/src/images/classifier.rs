//! Training the evaluation classifier (LeNet-style, `am_metrics::Classifier`) on a fixed split of
//! real training images: cross-entropy, Adam, dequantised inputs as the generative models see
//! them; its test accuracy and the sha256 of its file are recorded.

use crate::{Error, Result};
use am_core::train::{Adam, AdamConfig};
use am_core::{DType, Device, SeededRng, Tensor};
use am_metrics::{Classifier, ClassifierConfig};
use am_paths::data::ImageSet;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// A trained classifier and how good it is.
#[derive(Debug)]
pub struct TrainedClassifier {
    /// The network.
    pub net: Classifier,
    /// Accuracy on the test images.
    pub test_accuracy: f64,
}

/// Mean cross-entropy of `logits` `(N, K)` against integer `labels`.
fn cross_entropy(logits: &Tensor, labels: &[u8]) -> Result<Tensor> {
    let (n, k) = logits.dims2()?;
    let m = logits.max_keepdim(1)?.detach();
    let z = logits.broadcast_sub(&m)?;
    let log_p = z.broadcast_sub(&z.exp()?.sum_keepdim(1)?.log()?)?;
    let mut one_hot = vec![0f32; n * k];
    for (i, &l) in labels.iter().enumerate() {
        one_hot[i * k + l as usize] = 1.0;
    }
    let y = Tensor::from_vec(one_hot, (n, k), logits.device())?.to_dtype(logits.dtype())?;
    Ok(((log_p * y)?.sum_all()? / -(n as f64))?)
}

fn accuracy(net: &Classifier, images: &ImageSet) -> Result<f64> {
    let mut right = 0;
    for start in (0..images.len()).step_by(256) {
        let idx: Vec<usize> = (start..(start + 256).min(images.len())).collect();
        let x = images.batch(&idx, None, false, DType::F32, &Device::Cpu)?;
        let pred = net.forward(&x)?.1.argmax(1)?.to_vec1::<u32>()?;
        right += idx
            .iter()
            .zip(&pred)
            .filter(|(i, p)| images.labels[**i] as u32 == **p)
            .count();
    }
    Ok(right as f64 / images.len() as f64)
}

/// Trains a classifier with `features` penultimate features for `steps` Adam steps (lr 1e-3,
/// batch 64) on `train`, and measures it on `test`; `seed` fixes everything.
pub fn train_classifier(
    train: &ImageSet,
    test: &ImageSet,
    features: usize,
    steps: u64,
    seed: u64,
) -> Result<TrainedClassifier> {
    let (c, h, w) = train.shape;
    if h != w || train.is_empty() || test.is_empty() {
        return Err(Error::Argument {
            arg: "train",
            reason: format!("square images and non-empty sets needed: {c}×{h}×{w}"),
        });
    }
    let classes = train.labels.iter().copied().max().unwrap_or(0) as usize + 1;
    let config = ClassifierConfig {
        channels: c,
        size: h,
        classes: classes.max(2),
        features,
    };
    let mut rng = SeededRng::new(seed);
    let net = Classifier::new(config, &mut rng, DType::F32, &Device::Cpu)?;
    let mut adam = Adam::new(net.parameters(), AdamConfig::default())?;
    for _ in 0..steps {
        let idx: Vec<usize> = (0..64).map(|_| rng.below(train.len())).collect();
        let x = train.batch(&idx, Some(&mut rng), false, DType::F32, &Device::Cpu)?;
        let labels: Vec<u8> = idx.iter().map(|&i| train.labels[i]).collect();
        let loss = cross_entropy(&net.forward(&x)?.1, &labels)?;
        adam.step(&loss.backward()?, 1e-3)?;
    }
    let test_accuracy = accuracy(&net, test)?;
    Ok(TrainedClassifier { net, test_accuracy })
}

impl TrainedClassifier {
    /// Saves the classifier with its accuracy and the data's description in the metadata, and
    /// returns the sha256 of the written file (hex).
    pub fn save(&self, path: &Path, data: &str) -> Result<String> {
        let mut user = BTreeMap::new();
        user.insert("test_accuracy".into(), format!("{}", self.test_accuracy));
        user.insert("data".into(), data.to_string());
        self.net.save_with(path, &user)?;
        let bytes = std::fs::read(path).map_err(|e| Error::Argument {
            arg: "path",
            reason: format!("{}: {e}", path.display()),
        })?;
        Ok(format!("{:x}", Sha256::digest(&bytes)))
    }
}

/// The evaluation classifier cached at `path`: loaded when the file was trained on `data`,
/// else trained (`features` features, `steps` steps, `seed`) and saved. Returns it with a line
/// saying which (the test accuracy; the sha256 of a freshly written file).
pub fn load_or_train(
    path: &Path,
    train: &ImageSet,
    test: &ImageSet,
    data: &str,
    (features, steps, seed): (usize, u64, u64),
) -> Result<(Classifier, String)> {
    if path.exists() {
        let (net, meta) = Classifier::load(path, &Device::Cpu)?;
        if meta.get("data").map(String::as_str) == Some(data) {
            let acc = meta.get("test_accuracy").cloned().unwrap_or_default();
            return Ok((net, format!("{} (test accuracy {acc})", path.display())));
        }
    }
    let trained = train_classifier(train, test, features, steps, seed)?;
    let sha = trained.save(path, data)?;
    let line = format!(
        "trained, test accuracy {:.4}, {} (sha256 {sha})",
        trained.test_accuracy,
        path.display()
    );
    Ok((trained.net, line))
}
