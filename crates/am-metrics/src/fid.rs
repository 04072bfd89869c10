//! Fréchet distance between Gaussians fitted to features (FID) and the Inception Score.

use crate::{Error, Result};
use am_core::{check, DType, Tensor};
use nalgebra::{DMatrix, DVector};

/// Something that maps images `(N, C, H, W)` to feature vectors `(N, F)` (e.g. Inception-v3's
/// pool3 features for FID, its logits for the Inception Score).
pub trait FeatureExtractor {
    /// The feature width F.
    fn width(&self) -> usize;
    /// Features of a batch.
    fn features(&self, images: &Tensor) -> am_core::Result<Tensor>;
}

/// Mean and covariance (unbiased, N − 1, as `np.cov`) of features, in f64.
#[derive(Debug, Clone)]
pub struct GaussianStats {
    /// μ.
    pub mean: DVector<f64>,
    /// Σ.
    pub cov: DMatrix<f64>,
}

impl GaussianStats {
    /// Fits μ and Σ to features `(N, F)`, N ≥ 2.
    pub fn fit(features: &Tensor) -> Result<Self> {
        let (n, f) = check::points("features", features)?;
        if n < 2 {
            return Err(Error::TooFewPoints {
                arg: "features",
                need: 2,
                got: n,
            });
        }
        check::finite("features", features)?;
        let x = features.to_dtype(DType::F64)?;
        let mean = x.mean_keepdim(0)?;
        let y = x.broadcast_sub(&mean)?;
        let cov = (y.t()?.matmul(&y)? / (n as f64 - 1.0))?;
        let mean: Vec<f64> = mean.flatten_all()?.to_vec1()?;
        let cov: Vec<f64> = cov.flatten_all()?.to_vec1()?;
        Ok(Self {
            mean: DVector::from_vec(mean),
            cov: DMatrix::from_row_slice(f, f, &cov),
        })
    }
}

/// The symmetric PSD square root through an eigendecomposition (negative round-off clipped).
fn sqrt_psd(a: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (a + a.transpose()) * 0.5;
    let e = sym.symmetric_eigen();
    let d = DMatrix::from_diagonal(&e.eigenvalues.map(|l| l.max(0.0).sqrt()));
    &e.eigenvectors * d * e.eigenvectors.transpose()
}

/// d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}), the squared Fréchet (W2)
/// distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); FID is this on Inception pool3 features.
/// The cross term uses the symmetric form, so only symmetric eigendecompositions are needed.
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> Result<f64> {
    if a.mean.len() != b.mean.len() {
        return Err(Error::DimensionMismatch(a.mean.len(), b.mean.len()));
    }
    let s1 = sqrt_psd(&a.cov);
    let cross = sqrt_psd(&(&s1 * &b.cov * &s1));
    let diff = &a.mean - &b.mean;
    Ok(diff.norm_squared() + a.cov.trace() + b.cov.trace() - 2.0 * cross.trace())
}

/// FID between two feature sets `(N, F)` and `(M, F)`.
pub fn fid_from_features(x: &Tensor, y: &Tensor) -> Result<f64> {
    frechet_distance(&GaussianStats::fit(x)?, &GaussianStats::fit(y)?)
}

/// Inception Score exp(E_x KL(p(y|x) ‖ p(y))) from classifier logits `(N, K)`, computed on
/// `splits` equal parts; returns (mean, standard deviation) over the splits (the usual report).
pub fn inception_score(logits: &Tensor, splits: usize) -> Result<(f64, f64)> {
    let (n, _) = check::points("logits", logits)?;
    check::finite("logits", logits)?;
    if splits == 0 || splits > n {
        return Err(am_core::Error::OutOfRange {
            arg: "splits",
            value: splits as f64,
            allowed: "1 ..= N",
        }
        .into());
    }
    let l = logits.to_dtype(DType::F64)?;
    let m = l.max_keepdim(1)?;
    let z = l.broadcast_sub(&m)?;
    let logp = z.broadcast_sub(&z.exp()?.sum_keepdim(1)?.log()?)?; // log softmax
    let size = n / splits;
    let mut scores = Vec::with_capacity(splits);
    for k in 0..splits {
        let part = logp.narrow(0, k * size, size)?;
        let p = part.exp()?;
        let log_marginal = p.mean_keepdim(0)?.log()?;
        let kl = (&p * part.broadcast_sub(&log_marginal)?)?
            .sum_keepdim(1)?
            .mean_all()?
            .to_scalar::<f64>()?;
        scores.push(kl.exp());
    }
    let mean = scores.iter().sum::<f64>() / splits as f64;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / splits as f64;
    Ok((mean, var.sqrt()))
}
