//! Sample quality at the scale of small images, measured with the project's own classifier
//! (`am_metrics::Classifier`): "classifier FID" (the Fréchet distance between its penultimate
//! features of generated and of test images) and classifier IS, each with a bootstrap standard
//! error over the generated images, and the class histogram of the generated images. The bars a
//! model must clear: the floor (training against test images) and a full-covariance Gaussian
//! fitted to the training images ([`fitted_gaussian`]).

use crate::{Error, Result};
use am_core::{DType, Device, SeededRng, Tensor};
use am_metrics::{fid_from_features, inception_score, Classifier};
use nalgebra::{DMatrix, DVector};

/// Classifier FID and IS of a set of images.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Fréchet distance of the classifier features against the reference's.
    pub fid: f64,
    /// Its bootstrap standard error (resampling the images).
    pub fid_se: f64,
    /// Classifier Inception Score exp(E KL(p(y|x) ‖ p(y))), one split.
    pub is: f64,
    /// Its bootstrap standard error.
    pub is_se: f64,
    /// Images per predicted class.
    pub classes: Vec<usize>,
}

fn features_and_logits(net: &Classifier, images: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = images.dims()[0];
    let (mut f, mut l) = (Vec::new(), Vec::new());
    for start in (0..n).step_by(256) {
        let (a, b) = net.forward(&images.narrow(0, start, 256.min(n - start))?)?;
        f.push(a.detach());
        l.push(b.detach());
    }
    Ok((
        Tensor::cat(&f, 0)?.to_dtype(DType::F64)?,
        Tensor::cat(&l, 0)?.to_dtype(DType::F64)?,
    ))
}

/// Quality of `images` (rows `(N, D)` or `(N, C, H, W)` in [−1, 1]) against `reference` (the
/// test images), with `bootstrap` resamples (seeded) for the standard errors.
pub fn quality(
    net: &Classifier,
    images: &Tensor,
    reference: &Tensor,
    bootstrap: usize,
    seed: u64,
) -> Result<Quality> {
    let n = images.dims()[0];
    if n < 2 || bootstrap < 2 {
        return Err(Error::Argument {
            arg: "images",
            reason: format!("{n} images and {bootstrap} bootstrap resamples: need ≥ 2 of each"),
        });
    }
    let (f, logits) = features_and_logits(net, images)?;
    let (fr, _) = features_and_logits(net, reference)?;
    let fid = fid_from_features(&f, &fr)?;
    let (is, _) = inception_score(&logits, 1)?;
    let mut rng = SeededRng::new(seed);
    let (mut fids, mut iss) = (Vec::new(), Vec::new());
    for _ in 0..bootstrap {
        let idx: Vec<u32> = (0..n).map(|_| rng.below(n) as u32).collect();
        let idx = Tensor::from_vec(idx, n, &Device::Cpu)?;
        fids.push(fid_from_features(&f.index_select(&idx, 0)?, &fr)?);
        iss.push(inception_score(&logits.index_select(&idx, 0)?, 1)?.0);
    }
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
    };
    let k = logits.dims()[1];
    let mut classes = vec![0; k];
    for c in logits.argmax(1)?.to_vec1::<u32>()? {
        classes[c as usize] += 1;
    }
    Ok(Quality {
        fid,
        fid_se: sd(&fids),
        is,
        is_se: sd(&iss),
        classes,
    })
}

/// `n` draws of the full-covariance Gaussian fitted to `train` `(M, D)` (mean and covariance,
/// a small ridge 1e-6·I for the Cholesky factor), clipped to [−1, 1]: the baseline every
/// generative model must beat.
pub fn fitted_gaussian(train: &Tensor, n: usize, seed: u64) -> Result<Tensor> {
    let (m, d) = train.dims2()?;
    if m < 2 {
        return Err(Error::Argument {
            arg: "train",
            reason: "at least 2 images are needed to fit a covariance".into(),
        });
    }
    let rows: Vec<f64> = train.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let x = DMatrix::from_row_slice(m, d, &rows);
    let mean: DVector<f64> = x.row_mean().transpose();
    let centred = DMatrix::from_fn(m, d, |i, j| x[(i, j)] - mean[j]);
    let cov = centred.transpose() * &centred / (m as f64 - 1.0) + DMatrix::identity(d, d) * 1e-6;
    let l = nalgebra::Cholesky::new(cov)
        .ok_or_else(|| Error::Argument {
            arg: "train",
            reason: "the covariance is not positive definite".into(),
        })?
        .l();
    let mut rng = SeededRng::new(seed);
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z = DVector::from_vec(rng.normal_vec(d));
        let y = &mean + &l * z;
        out.extend(y.iter().map(|v| v.clamp(-1.0, 1.0)));
    }
    Ok(am_core::rng::tensor_from_f64(
        out,
        &[n, d],
        train.dtype(),
        &Device::Cpu,
    )?)
}

/// The median over `images` `(N, D)` of the Euclidean distance to the nearest row of `train`
/// `(M, D)`. Beside the same median for test images it says whether a model copies its
/// training images (sample distances far below the test images').
pub fn nearest_training_distance(images: &Tensor, train: &Tensor) -> Result<f64> {
    if images.dims()[0] == 0 || train.dims()[0] == 0 {
        return Err(Error::Argument {
            arg: "images",
            reason: "no images to compare".into(),
        });
    }
    let d2 = images
        .sqr()?
        .sum_keepdim(1)?
        .broadcast_add(&train.sqr()?.sum_keepdim(1)?.t()?)?
        .broadcast_sub(&(images.matmul(&train.t()?)? * 2.0)?)?;
    let mut m: Vec<f64> = d2
        .min_keepdim(1)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?
        .into_iter()
        .map(|v| v.max(0.0).sqrt())
        .collect();
    m.sort_by(|a, b| a.total_cmp(b));
    Ok(m[m.len() / 2])
}

/// Features `(N, F)` (f64, on the CPU) of images, rows `(N, C·H·W)` of `shape` (C, H, W) or
/// `(N, C, H, W)` in [−1, 1], by any [`am_metrics::FeatureExtractor`] (the Inception network:
/// `am_metrics::InceptionV3`).
pub fn features_of(
    net: &dyn am_metrics::FeatureExtractor,
    images: &Tensor,
    shape: (usize, usize, usize),
) -> Result<Tensor> {
    let (c, h, w) = shape;
    let m = images.dims()[0];
    Ok(net
        .features(&images.reshape((m, c, h, w))?)?
        .to_dtype(DType::F64)?
        .to_device(&Device::Cpu)?)
}

/// FID of `images` against reference features (from [`features_of`], computed once for many
/// comparisons), with a bootstrap standard error over the images (`bootstrap` resamples,
/// seeded).
pub fn feature_fid(
    net: &dyn am_metrics::FeatureExtractor,
    images: &Tensor,
    reference: &Tensor,
    shape: (usize, usize, usize),
    bootstrap: usize,
    seed: u64,
) -> Result<(f64, f64)> {
    let n = images.dims()[0];
    if n < 2 || bootstrap < 2 {
        return Err(Error::Argument {
            arg: "images",
            reason: format!("{n} images and {bootstrap} bootstrap resamples: need ≥ 2 of each"),
        });
    }
    let f = features_of(net, images, shape)?;
    let fid = fid_from_features(&f, reference)?;
    let mut rng = SeededRng::new(seed);
    let mut fids = Vec::with_capacity(bootstrap);
    for _ in 0..bootstrap {
        let idx: Vec<u32> = (0..n).map(|_| rng.below(n) as u32).collect();
        let idx = Tensor::from_vec(idx, n, &Device::Cpu)?;
        fids.push(fid_from_features(&f.index_select(&idx, 0)?, reference)?);
    }
    let m = fids.iter().sum::<f64>() / bootstrap as f64;
    let se = (fids.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (bootstrap as f64 - 1.0)).sqrt();
    Ok((fid, se))
}
