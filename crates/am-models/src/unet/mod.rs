//! The U-Net action of the image experiments (Sec. 4.3, App. E.2): s(t, x) = ⟨unet(t, x), x⟩,
//! the sum over channels and pixels of the network output times the image.
//!
//! The network is the DDPM layout of the reference code (REFERENCES.md, "Images"): a sinusoidal
//! embedding of t ∈ [0, 1] (`base` features, max period 10,000) → Dense(4·base) → swish →
//! Dense(4·base), added by every residual block; an input conv3×3; per level `res_blocks` residual
//! blocks (attention after each at the resolutions listed) and a stride-2 conv3×3 down (not after
//! the last level); a middle of res block, attention, res block; per level on the way up
//! `res_blocks + 1` res blocks on concat(h, skip), attention once at the listed resolutions, and
//! nearest ×2 + conv3×3 up (not after the first level); swish(GN(h)) → conv3×3 to the image's
//! channels. The output conv, the second conv of every res block and attention's output conv
//! start at exactly zero, so s ≡ 0 at initialisation.
//!
//! Shapes: `t` `(N, 1)`; `x` `(N, D)` with D = C·H·W (row-major channels, rows, columns, as
//! every other action of the workspace) or `(N, C, H, W)`; s `(N, 1)`; ∇x s in the shape of x.
//! The derivatives come from candle's double backward (`am_core::double_backward::enable` must
//! run first in `main`), on layers built only from ops whose backward is itself differentiable
//! ([`layers`]); the tests check them against central differences.

mod blocks;
mod conv;
mod field;
mod file;
mod layers;

pub use field::UNetField;
pub use file::UNET_KIND;

use blocks::{Attention, Dropout, ResBlock, Up};
use layers::{swish, Conv, Dense, GroupNorm, Init};

use am_core::candle::{DType, Device, Tensor, Var};
use am_core::error::Error as CoreError;
use am_core::{Action, ActionEval, Derivatives, SeededRng};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Configuration of a [`UNet`]; every field is checked by [`UNetConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UNetConfig {
    /// Image channels C (1 grey, 3 colour).
    pub channels: usize,
    /// Image side H = W.
    pub size: usize,
    /// Base channels (the reference's nf); also the width of the sinusoidal time features.
    pub base: usize,
    /// Channel multipliers, one per level (the resolution halves between levels).
    pub multipliers: Vec<usize>,
    /// Residual blocks per level on the way down (one more on the way up).
    pub res_blocks: usize,
    /// Resolutions (sides) with self-attention.
    pub attention: Vec<usize>,
    /// GroupNorm groups (min(groups, channels) where a layer has fewer channels).
    pub groups: usize,
    /// Dropout probability inside the res blocks, while training.
    pub dropout: f64,
}

impl UNetConfig {
    /// The 8×8 digits preset: base 32, (1, 2), 1 res block, attention at 4×4, 8 groups.
    pub fn digits() -> Self {
        Self {
            channels: 1,
            size: 8,
            base: 32,
            multipliers: vec![1, 2],
            res_blocks: 1,
            attention: vec![4],
            groups: 8,
            dropout: 0.1,
        }
    }

    /// The MNIST preset (28×28): base 16, (1, 2, 2), 1 res block, attention at 7×7, 8 groups.
    pub fn mnist() -> Self {
        Self {
            channels: 1,
            size: 28,
            base: 16,
            multipliers: vec![1, 2, 2],
            res_blocks: 1,
            attention: vec![7],
            groups: 8,
            dropout: 0.1,
        }
    }

    /// The reference CIFAR-10 network: base 128, (1, 2, 2, 2), 2 res blocks, attention at 16 and
    /// 8, 32 groups, dropout 0.1 (≈ 36M parameters).
    pub fn cifar10() -> Self {
        Self {
            channels: 3,
            size: 32,
            base: 128,
            multipliers: vec![1, 2, 2, 2],
            res_blocks: 2,
            attention: vec![16, 8],
            groups: 32,
            dropout: 0.1,
        }
    }

    /// The smallest network with every layer kind (2 channels, 4×4, levels 4×4 and 2×2 with
    /// attention at 2×2, base 4 → 8 channels so a 1×1 shortcut, 2 groups, no dropout): for
    /// tests of derivatives and smoke runs.
    pub fn tiny() -> Self {
        Self {
            channels: 2,
            size: 4,
            base: 4,
            multipliers: vec![1, 2],
            res_blocks: 1,
            attention: vec![2],
            groups: 2,
            dropout: 0.0,
        }
    }

    /// The data dimension D = C·H·W.
    pub fn dim(&self) -> usize {
        self.channels * self.size * self.size
    }

    /// The side of level `i` (size / 2^i).
    fn side(&self, level: usize) -> usize {
        self.size >> level
    }

    /// Fails with a typed error naming the field.
    pub fn validate(&self) -> am_core::Result<()> {
        let bad = |field, reason: String| Err(CoreError::config(field, reason));
        if self.channels == 0 {
            return bad("channels", "must be ≥ 1".into());
        }
        if self.base < 2 || !self.base.is_multiple_of(2) {
            return bad("base", format!("must be even and ≥ 2, got {}", self.base));
        }
        if self.multipliers.is_empty() || self.multipliers.contains(&0) {
            return bad("multipliers", "needs at least one level, each ≥ 1".into());
        }
        let levels = self.multipliers.len();
        if self.size == 0 || !self.size.is_multiple_of(1 << (levels - 1)) {
            return bad(
                "size",
                format!(
                    "{} is not divisible by 2^{} (one halving between each of the {levels} levels)",
                    self.size,
                    levels - 1
                ),
            );
        }
        if self.res_blocks == 0 {
            return bad("res_blocks", "must be ≥ 1".into());
        }
        if self.groups == 0 {
            return bad("groups", "must be ≥ 1".into());
        }
        if let Some(r) = self
            .attention
            .iter()
            .find(|r| !(0..levels).any(|i| self.side(i) == **r))
        {
            return bad(
                "attention",
                format!(
                    "no level has side {r} (the sides are {:?})",
                    (0..levels).map(|i| self.side(i)).collect::<Vec<_>>()
                ),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "dropout",
                format!("must lie in [0, 1), got {}", self.dropout),
            );
        }
        // every normalised channel count must split into its groups
        for c in self.channel_counts() {
            let g = self.groups.min(c);
            if c % g != 0 {
                return bad(
                    "groups",
                    format!("{g} groups do not divide a layer of {c} channels"),
                );
            }
        }
        Ok(())
    }

    /// The channel counts of every normalised layer input (for the group check).
    fn channel_counts(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut skips = vec![self.base];
        let mut c = self.base;
        for (i, m) in self.multipliers.iter().enumerate() {
            for _ in 0..self.res_blocks {
                out.push(c);
                c = self.base * m;
                out.push(c);
                skips.push(c);
            }
            if i + 1 < self.multipliers.len() {
                skips.push(c);
            }
        }
        for m in self.multipliers.iter().rev() {
            for _ in 0..=self.res_blocks {
                let cin = c + skips.pop().unwrap_or(0);
                out.push(cin);
                c = self.base * m;
                out.push(c);
            }
        }
        out
    }
}

/// One layer of the down path.
#[derive(Debug, Clone)]
enum DownLayer {
    Res(Box<ResBlock>, Option<Attention>),
    Down(Conv),
}

/// One level of the up path.
#[derive(Debug, Clone)]
struct UpLevel {
    blocks: Vec<ResBlock>,
    attention: Option<Attention>,
    up: Option<Up>,
}

/// The U-Net action s(t, x) = ⟨unet(t, x), x⟩ (App. E.2); see the module docs.
#[derive(Debug)]
pub struct UNet {
    config: UNetConfig,
    temb: [Dense; 2],
    input: Conv,
    down: Vec<DownLayer>,
    middle: (ResBlock, Attention, ResBlock),
    up: Vec<UpLevel>,
    out_norm: GroupNorm,
    out: Conv,
    training: AtomicBool,
    dropout_seed: AtomicU64,
}

impl UNet {
    /// A U-Net with parameters drawn from `rng` (PyTorch's default uniform bounds; the three
    /// zero-initialised layer kinds at exactly 0). Dropout is off until [`UNet::set_training`].
    pub fn new(
        config: UNetConfig,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        config.validate()?;
        let (nf, g) = (config.base, config.groups);
        let temb = 4 * nf;
        let dense = [
            Dense::new(nf, temb, rng, dtype, device)?,
            Dense::new(temb, temb, rng, dtype, device)?,
        ];
        let input = Conv::new(config.channels, nf, 3, 1, Init::Default, rng, dtype, device)?;
        let levels = config.multipliers.len();
        let (mut down, mut skips, mut c) = (Vec::new(), vec![nf], nf);
        for (i, m) in config.multipliers.iter().enumerate() {
            let side = config.side(i);
            for _ in 0..config.res_blocks {
                let block = ResBlock::new(c, nf * m, temb, g, rng, dtype, device)?;
                c = nf * m;
                let attn = if config.attention.contains(&side) {
                    Some(Attention::new(c, g, rng, dtype, device)?)
                } else {
                    None
                };
                down.push(DownLayer::Res(Box::new(block), attn));
                skips.push(c);
            }
            if i + 1 < levels {
                down.push(DownLayer::Down(Conv::new(
                    c,
                    c,
                    3,
                    2,
                    Init::Default,
                    rng,
                    dtype,
                    device,
                )?));
                skips.push(c);
            }
        }
        let middle = (
            ResBlock::new(c, c, temb, g, rng, dtype, device)?,
            Attention::new(c, g, rng, dtype, device)?,
            ResBlock::new(c, c, temb, g, rng, dtype, device)?,
        );
        let mut up = Vec::new();
        for (i, m) in config.multipliers.iter().enumerate().rev() {
            let mut blocks = Vec::new();
            for _ in 0..=config.res_blocks {
                let skip = skips.pop().ok_or_else(|| {
                    CoreError::config("multipliers", "the skip connections do not pair up")
                })?;
                blocks.push(ResBlock::new(
                    c + skip,
                    nf * m,
                    temb,
                    g,
                    rng,
                    dtype,
                    device,
                )?);
                c = nf * m;
            }
            let attention = if config.attention.contains(&config.side(i)) {
                Some(Attention::new(c, g, rng, dtype, device)?)
            } else {
                None
            };
            let up_layer = if i > 0 {
                Some(Up::new(c, rng, dtype, device)?)
            } else {
                None
            };
            up.push(UpLevel {
                blocks,
                attention,
                up: up_layer,
            });
        }
        let out_norm = GroupNorm::new(c, g, dtype, device)?;
        let out = Conv::new(c, config.channels, 3, 1, Init::Zero, rng, dtype, device)?;
        Ok(Self {
            config,
            temb: dense,
            input,
            down,
            middle,
            up,
            out_norm,
            out,
            training: AtomicBool::new(false),
            dropout_seed: AtomicU64::new((rng.uniform() * 9_007_199_254_740_992.0) as u64),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// Dropout on (training) or off (sampling, likelihood, the tests of derivatives).
    pub fn set_training(&self, on: bool) {
        self.training.store(on, Ordering::Relaxed);
    }

    /// Sets the seed that dropout masks are drawn from (mixed with each call's t and x): a
    /// data-parallel step sets it per shard, so the masks do not depend on which rank runs it.
    pub fn set_dropout_seed(&self, seed: u64) {
        self.dropout_seed.store(seed, Ordering::Relaxed);
    }

    /// Whether dropout is on.
    pub fn training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }

    /// The network output unet(t, x) `(N, C, H, W)` for `t` `(N, 1)` and `x` `(N, C, H, W)`.
    pub fn network(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        let cell;
        let dropout = Dropout {
            p: self.config.dropout,
            rng: if self.training() && self.config.dropout > 0.0 {
                cell = std::cell::RefCell::new(SeededRng::new(self.call_seed(t, x)?));
                Some(&cell)
            } else {
                None
            },
        };
        let e = layers::sinusoidal(t, self.config.base)?;
        let temb = self.temb[1].forward(&swish(&self.temb[0].forward(&e)?)?)?;
        let mut h = self.input.forward(x)?;
        let mut skips = vec![h.clone()];
        for layer in &self.down {
            match layer {
                DownLayer::Res(block, attn) => {
                    h = block.forward(&h, &temb, &dropout)?;
                    if let Some(a) = attn {
                        h = a.forward(&h)?;
                    }
                }
                DownLayer::Down(conv) => h = conv.forward(&h)?,
            }
            skips.push(h.clone());
        }
        h = self.middle.0.forward(&h, &temb, &dropout)?;
        h = self.middle.1.forward(&h)?;
        h = self.middle.2.forward(&h, &temb, &dropout)?;
        for level in &self.up {
            for block in &level.blocks {
                let skip = skips
                    .pop()
                    .ok_or_else(|| CoreError::config("multipliers", "a skip is missing"))?;
                h = block.forward(&Tensor::cat(&[&h, &skip], 1)?, &temb, &dropout)?;
            }
            if let Some(a) = &level.attention {
                h = a.forward(&h)?;
            }
            if let Some(u) = &level.up {
                h = u.forward(&h)?;
            }
        }
        Ok(self.out.forward(&swish(&self.out_norm.forward(&h)?)?)?)
    }

    /// The dropout seed of one call: the model's seed mixed with the bits of t and of each
    /// image's pixel sum, so masks are fresh for every distinct call and a resumed run draws the
    /// same ones without any state to save.
    fn call_seed(&self, t: &Tensor, x: &Tensor) -> am_core::Result<u64> {
        let n = t.dims()[0];
        let tv: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
        let xs: Vec<f64> = x
            .reshape((n, ()))?
            .sum_keepdim(1)?
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1()?;
        let mut h = self.dropout_seed.load(Ordering::Relaxed) ^ 0x9E37_79B9_7F4A_7C15;
        for v in tv.iter().chain(&xs) {
            h = (h ^ v.to_bits())
                .wrapping_mul(0x0100_0000_01B3)
                .rotate_left(17);
        }
        Ok(h)
    }

    /// x `(N, D)` or `(N, C, H, W)` as `(N, C, H, W)`, checked against the configuration.
    pub(crate) fn image(&self, x: &Tensor) -> am_core::Result<Tensor> {
        let (c, s) = (self.config.channels, self.config.size);
        let ok = match x.dims() {
            [_, d] => *d == self.config.dim(),
            [_, cc, h, w] => (*cc, *h, *w) == (c, s, s),
            _ => false,
        };
        if !ok {
            return Err(CoreError::config(
                "x",
                format!(
                    "shape {:?} is neither (N, {}) nor (N, {c}, {s}, {s})",
                    x.dims(),
                    self.config.dim()
                ),
            ));
        }
        Ok(x.reshape((x.dims()[0], c, s, s))?)
    }

    /// Every parameter with a stable name (`temb.0.0`, `down.3.res.4`, …), in a fixed order.
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        fn push<'a>(all: &mut Vec<(String, &'a Var)>, prefix: String, vars: Vec<&'a Var>) {
            all.extend(
                vars.into_iter()
                    .enumerate()
                    .map(|(k, v)| (format!("{prefix}.{k}"), v)),
            );
        }
        let mut all = Vec::new();
        for (i, d) in self.temb.iter().enumerate() {
            push(&mut all, format!("temb.{i}"), d.vars().to_vec());
        }
        push(&mut all, "input".into(), self.input.vars().to_vec());
        for (i, layer) in self.down.iter().enumerate() {
            match layer {
                DownLayer::Res(b, a) => {
                    push(&mut all, format!("down.{i}.res"), b.vars());
                    if let Some(a) = a {
                        push(&mut all, format!("down.{i}.attn"), a.vars());
                    }
                }
                DownLayer::Down(c) => push(&mut all, format!("down.{i}.conv"), c.vars().to_vec()),
            }
        }
        push(&mut all, "mid.0".into(), self.middle.0.vars());
        push(&mut all, "mid.1".into(), self.middle.1.vars());
        push(&mut all, "mid.2".into(), self.middle.2.vars());
        for (i, level) in self.up.iter().enumerate() {
            for (j, b) in level.blocks.iter().enumerate() {
                push(&mut all, format!("up.{i}.res.{j}"), b.vars());
            }
            if let Some(a) = &level.attention {
                push(&mut all, format!("up.{i}.attn"), a.vars());
            }
            if let Some(u) = &level.up {
                push(&mut all, format!("up.{i}.up"), u.vars());
            }
        }
        push(&mut all, "out_norm".into(), self.out_norm.vars().to_vec());
        push(&mut all, "out".into(), self.out.vars().to_vec());
        all
    }

    /// The number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.named_vars().iter().map(|(_, v)| v.elem_count()).sum()
    }
}

impl Action for UNet {
    fn dim(&self) -> usize {
        self.config.dim()
    }

    /// s(t, x) = Σ_{c,h,w} unet(t, x)·x, `(N, 1)`.
    fn value(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        let img = self.image(x)?;
        let n = img.dims()[0];
        let h = self.network(t, &img)?;
        Ok((h * img)?.reshape((n, ()))?.sum_keepdim(1)?)
    }

    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> am_core::Result<ActionEval> {
        let n = x.dims()[0];
        let flat = self.image(x)?.reshape((n, self.config.dim()))?;
        let mut e =
            am_core::double_backward::eval_by_autograd(|t, x| self.value(t, x), t, &flat, want)?;
        e.grad_x = e.grad_x.reshape(x.dims())?;
        Ok(e)
    }

    fn parameters(&self) -> Vec<Var> {
        self.named_vars()
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect()
    }
}
