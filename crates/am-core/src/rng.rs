//! Seeded randomness. candle's CPU RNG cannot be seeded, so every random tensor of the
//! workspace is drawn here from a ChaCha generator and uploaded with `Tensor::from_vec`.
//! The same seed gives the same numbers on every device.

use crate::{DType, Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A seeded generator; the only source of randomness in the workspace.
#[derive(Debug, Clone)]
pub struct SeededRng {
    inner: ChaCha8Rng,
}

/// The position of a [`SeededRng`], enough to resume it exactly (for checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RngState {
    /// The seed it was created from.
    pub seed: [u8; 32],
    /// The stream number.
    pub stream: u64,
    /// The word position within the stream.
    pub word_pos: u128,
}

impl SeededRng {
    /// A generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Where the generator stands.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.inner.get_seed(),
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos(),
        }
    }

    /// A generator resumed at `state`.
    pub fn from_state(state: RngState) -> Self {
        let mut inner = ChaCha8Rng::from_seed(state.seed);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos);
        Self { inner }
    }

    /// The generator of shard `shard` of step `step` of a run seeded by `seed`: a ChaCha key of
    /// its own for every (seed, step, shard), so a batch drawn shard by shard is the same
    /// whichever process draws each shard (data-parallel training).
    pub fn for_shard(seed: u64, step: u64, shard: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&step.to_le_bytes());
        key[16..24].copy_from_slice(&shard.to_le_bytes());
        key[24..].copy_from_slice(b"am-shard");
        Self {
            inner: ChaCha8Rng::from_seed(key),
        }
    }

    /// An independent child generator (stream `k` of a seed drawn from this one).
    pub fn fork(&mut self, k: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(self.inner.random());
        inner.set_stream(k);
        Self { inner }
    }

    /// The underlying `rand` generator, for distributions of `rand_distr`.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.inner
    }

    /// One draw from U[0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// One draw from N(0, 1).
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.inner)
    }

    /// A uniform integer in `0..n` (n ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n.max(1))
    }

    /// `n` draws from N(0, 1).
    pub fn normal_vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.normal()).collect()
    }

    /// `n` draws from U[lo, hi).
    pub fn uniform_vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| lo + (hi - lo) * self.uniform()).collect()
    }

    /// A tensor of standard normal draws.
    pub fn normal_tensor(
        &mut self,
        shape: &[usize],
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let n = shape.iter().product();
        let v = self.normal_vec(n);
        tensor_from_f64(v, shape, dtype, device)
    }

    /// A tensor of U[lo, hi) draws.
    pub fn uniform_tensor(
        &mut self,
        shape: &[usize],
        lo: f64,
        hi: f64,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let n = shape.iter().product();
        let v = self.uniform_vec(n, lo, hi);
        tensor_from_f64(v, shape, dtype, device)
    }

    /// A tensor of Rademacher draws (±1 with probability ½ each), the Hutchinson probe.
    pub fn rademacher_tensor(
        &mut self,
        shape: &[usize],
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let n = shape.iter().product();
        let v: Vec<f64> = (0..n)
            .map(|_| {
                if self.inner.random::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        tensor_from_f64(v, shape, dtype, device)
    }

    /// A uniformly random permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.inner.random_range(0..=i);
            p.swap(i, j);
        }
        p
    }
}

/// Build a tensor of `dtype` on `device` from host `f64` values.
pub fn tensor_from_f64(
    v: Vec<f64>,
    shape: &[usize],
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}
