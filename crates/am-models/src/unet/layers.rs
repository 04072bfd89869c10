//! The U-Net's layers, built only from candle ops whose backward is itself differentiable
//! (`../shared/docs/CANDLE.md`, "Second order through convolutional networks"): conv2d (its
//! backward is conv_transpose2d, and back), matmul, broadcasting arithmetic, sums and means,
//! reshapes, exp. No fused norm or softmax kernel (they silently drop gradients) and no
//! `upsample_nearest2d` (its backward overwrites accumulated gradients).

use am_core::candle::{DType, Device, Result, Tensor, Var, D};
use am_core::SeededRng;

/// How a layer's parameters start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Init {
    /// PyTorch's default: weights and biases U(−1/√fan_in, 1/√fan_in).
    Default,
    /// Exactly zero (the last conv of each res block, attention's output, the output conv).
    Zero,
}

/// A parameter tensor of `shape` with bound 1/√fan_in, or zeros.
fn param(
    shape: &[usize],
    fan_in: usize,
    init: Init,
    rng: &mut SeededRng,
    dtype: DType,
    device: &Device,
) -> am_core::Result<Var> {
    let t = match init {
        Init::Zero => Tensor::zeros(shape, dtype, device)?,
        Init::Default => {
            let a = 1.0 / (fan_in as f64).sqrt();
            rng.uniform_tensor(shape, -a, a, dtype, device)?
        }
    };
    Ok(Var::from_tensor(&t)?)
}

/// A 2-D convolution `(N, C_in, H, W)` → `(N, C_out, H', W')` with bias; square kernel,
/// symmetric zero padding.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub w: Var,
    pub b: Var,
    pub stride: usize,
    pub padding: usize,
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        init: Init,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        let fan_in = c_in * kernel * kernel;
        Ok(Self {
            w: param(
                &[c_out, c_in, kernel, kernel],
                fan_in,
                init,
                rng,
                dtype,
                device,
            )?,
            b: param(&[c_out], fan_in, init, rng, dtype, device)?,
            stride,
            padding: kernel / 2,
        })
    }

    /// Stride 1: [`super::conv::same_conv`], whose derivatives stay on conv2d's fast path;
    /// stride 2: candle's conv2d (its backward is conv_transpose2d and back, so second order
    /// closes, on the slow transposed kernel). A gathered-patch matmul built from
    /// pad/narrow/stack measured 2.5× slower per U-Net AM step.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = if self.stride == 1 && 2 * self.padding + 1 == self.w.dims()[2] {
            super::conv::same_conv(x, self.w.as_tensor())?
        } else {
            x.conv2d(self.w.as_tensor(), self.padding, self.stride, 1, 1)?
        };
        let c = self.b.dims()[0];
        y.broadcast_add(&self.b.as_tensor().reshape((1, c, 1, 1))?)
    }

    pub fn vars(&self) -> [&Var; 2] {
        [&self.w, &self.b]
    }
}

/// A dense layer `(N, F_in)` → `(N, F_out)`, y = x Wᵀ + b.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    pub w: Var,
    pub b: Var,
}

impl Dense {
    pub fn new(
        f_in: usize,
        f_out: usize,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        Ok(Self {
            w: param(&[f_out, f_in], f_in, Init::Default, rng, dtype, device)?,
            b: param(&[f_out], f_in, Init::Default, rng, dtype, device)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.w.as_tensor().t()?)?
            .broadcast_add(self.b.as_tensor())
    }

    pub fn vars(&self) -> [&Var; 2] {
        [&self.w, &self.b]
    }
}

/// Group normalisation over (C/G, H, W) per group, ε = 1e-6, with a per-channel scale γ (1) and
/// shift β (0); G = min(groups, C).
#[derive(Debug, Clone)]
pub(crate) struct GroupNorm {
    pub gamma: Var,
    pub beta: Var,
    pub groups: usize,
}

impl GroupNorm {
    pub fn new(channels: usize, groups: usize, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self {
            gamma: Var::ones(channels, dtype, device)?,
            beta: Var::zeros(channels, dtype, device)?,
            groups: groups.min(channels),
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let g = self.groups;
        let xg = x.reshape((n, g, (c / g) * h * w))?;
        let mean = xg.mean_keepdim(D::Minus1)?;
        let centred = xg.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred
            .broadcast_div(&(var + 1e-6)?.sqrt()?)?
            .reshape((n, c, h, w))?;
        normed
            .broadcast_mul(&self.gamma.as_tensor().reshape((1, c, 1, 1))?)?
            .broadcast_add(&self.beta.as_tensor().reshape((1, c, 1, 1))?)
    }

    pub fn vars(&self) -> [&Var; 2] {
        [&self.gamma, &self.beta]
    }
}

/// SiLU, x·σ(x), with σ from exp (candle's own silu is fine too; this keeps the op set small).
pub(crate) fn swish(x: &Tensor) -> Result<Tensor> {
    x.silu()
}

/// Softmax over the last axis from exp and sums, with the row maximum subtracted as a constant
/// (softmax is invariant to it, so detaching it changes no derivative).
pub(crate) fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// Nearest-neighbour ×2 upsampling `(N, C, H, W)` → `(N, C, 2H, 2W)` by reshape and broadcast.
pub(crate) fn upsample2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, c, h, 1, w, 1))?
        .broadcast_as((n, c, h, 2, w, 2))?
        .reshape((n, c, 2 * h, 2 * w))
}

/// The sinusoidal embedding of t `(N, 1)` with `dim` features (even): [sin(t f_i), cos(t f_i)],
/// f_i = 10000^(−i/(dim/2 − 1)), i < dim/2 (t ∈ [0, 1] fed unscaled, as the reference does).
pub(crate) fn sinusoidal(t: &Tensor, dim: usize) -> Result<Tensor> {
    let half = dim / 2;
    let denom = (half.max(2) - 1) as f64;
    let freqs: Vec<f64> = (0..half)
        .map(|i| (-(10000f64.ln()) * i as f64 / denom).exp())
        .collect();
    let f = Tensor::from_vec(freqs, (1, half), t.device())?.to_dtype(t.dtype())?;
    let args = t.broadcast_mul(&f)?;
    Tensor::cat(&[args.sin()?, args.cos()?], 1)
}
