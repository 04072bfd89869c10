//! The path of generative Action Matching on images (Algorithm 2, App. E.2): q_t is the law of
//! x_t = (1 − t)·x₀ + t·x₁ with x₀ ~ N(0, I) and x₁ a training image in [−1, 1] (uniformly
//! dequantised: x = 2(k + u)/L − 1), so q₀ = N(0, I) and q₁ is the (dequantised) data.

use crate::data::{DataError, ImageSet};
use am_core::{DType, Device, Marginals, Result, SeededRng, Tensor};

/// Noise → images; see the module docs. Images are flattened to D = C·H·W.
#[derive(Debug, Clone)]
pub struct NoiseToImages {
    images: ImageSet,
    /// Mirror images horizontally with probability ½ (CIFAR-10; not for digits).
    pub flip: bool,
}

impl NoiseToImages {
    /// The path to `images` (at least one).
    pub fn new(images: ImageSet, flip: bool) -> std::result::Result<Self, DataError> {
        if images.is_empty() {
            return Err(DataError::Argument {
                arg: "images",
                reason: "no training images".into(),
            });
        }
        Ok(Self { images, flip })
    }

    /// The training images.
    pub fn images(&self) -> &ImageSet {
        &self.images
    }
}

impl Marginals for NoiseToImages {
    fn dim(&self) -> usize {
        let (c, h, w) = self.images.shape;
        c * h * w
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let n = t.len();
        let d = self.dim();
        let idx: Vec<usize> = (0..n).map(|_| rng.below(self.images.len())).collect();
        let x1 = self
            .images
            .batch(&idx, Some(rng), self.flip, DType::F64, &Device::Cpu)?
            .reshape((n, d))?;
        let x0 = rng.normal_tensor(&[n, d], DType::F64, &Device::Cpu)?;
        let tt = Tensor::from_vec(t.to_vec(), (n, 1), &Device::Cpu)?;
        let xt = (x0.broadcast_mul(&(1.0 - &tt)?)? + x1.broadcast_mul(&tt)?)?;
        Ok(xt.to_dtype(dtype)?.to_device(device)?)
    }
}
