//! The U-Net's blocks (the DDPM layout of the reference code, App. E.2; REFERENCES.md):
//! residual blocks with the time embedding added, single-head self-attention, and the stride-2
//! down / nearest-×2 up resamplers.

use super::layers::{softmax_last, swish, upsample2, Conv, Dense, GroupNorm, Init};
use am_core::candle::{DType, Device, Result, Tensor, Var};
use am_core::SeededRng;

/// Dropout: kept entries scaled by 1/(1 − p), from a mask drawn by the caller's seeded RNG.
pub(crate) struct Dropout<'a> {
    pub p: f64,
    pub rng: Option<&'a std::cell::RefCell<SeededRng>>,
}

impl Dropout<'_> {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let Some(rng) = self.rng.filter(|_| self.p > 0.0) else {
            return Ok(x.clone());
        };
        let keep = 1.0 - self.p;
        let n = x.elem_count();
        let mask: Vec<f64> = {
            let mut r = rng.borrow_mut();
            (0..n)
                .map(|_| if r.uniform() < keep { 1.0 / keep } else { 0.0 })
                .collect()
        };
        let m = Tensor::from_vec(mask, x.dims(), x.device())?.to_dtype(x.dtype())?;
        x * m
    }
}

/// GN → swish → conv3×3 → + Dense(swish(temb)) → GN → swish → dropout → conv3×3 (zero-init),
/// plus the input (through a 1×1 conv when the channels change).
#[derive(Debug, Clone)]
pub(crate) struct ResBlock {
    n1: GroupNorm,
    c1: Conv,
    t: Dense,
    n2: GroupNorm,
    c2: Conv,
    skip: Option<Conv>,
}

impl ResBlock {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        temb: usize,
        groups: usize,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        Ok(Self {
            n1: GroupNorm::new(c_in, groups, dtype, device)?,
            c1: Conv::new(c_in, c_out, 3, 1, Init::Default, rng, dtype, device)?,
            t: Dense::new(temb, c_out, rng, dtype, device)?,
            n2: GroupNorm::new(c_out, groups, dtype, device)?,
            c2: Conv::new(c_out, c_out, 3, 1, Init::Zero, rng, dtype, device)?,
            skip: if c_in != c_out {
                Some(Conv::new(
                    c_in,
                    c_out,
                    1,
                    1,
                    Init::Default,
                    rng,
                    dtype,
                    device,
                )?)
            } else {
                None
            },
        })
    }

    pub fn forward(&self, x: &Tensor, temb: &Tensor, dropout: &Dropout<'_>) -> Result<Tensor> {
        let h = self.c1.forward(&swish(&self.n1.forward(x)?)?)?;
        let (n, c, _, _) = h.dims4()?;
        let e = self.t.forward(&swish(temb)?)?.reshape((n, c, 1, 1))?;
        let h = h.broadcast_add(&e)?;
        let h = self
            .c2
            .forward(&dropout.apply(&swish(&self.n2.forward(&h)?)?)?)?;
        match &self.skip {
            Some(s) => s.forward(x)? + h,
            None => x + h,
        }
    }

    pub fn vars(&self) -> Vec<&Var> {
        let mut v: Vec<&Var> = Vec::new();
        v.extend(self.n1.vars());
        v.extend(self.c1.vars());
        v.extend(self.t.vars());
        v.extend(self.n2.vars());
        v.extend(self.c2.vars());
        if let Some(s) = &self.skip {
            v.extend(s.vars());
        }
        v
    }
}

/// Single-head self-attention over all H·W positions: GN, 1×1 q/k/v (one conv to 3C),
/// softmax(qᵀk/√C) v, a zero-initialised 1×1 output conv, residual.
#[derive(Debug, Clone)]
pub(crate) struct Attention {
    n: GroupNorm,
    qkv: Conv,
    o: Conv,
}

impl Attention {
    pub fn new(
        c: usize,
        groups: usize,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        Ok(Self {
            n: GroupNorm::new(c, groups, dtype, device)?,
            qkv: Conv::new(c, 3 * c, 1, 1, Init::Default, rng, dtype, device)?,
            o: Conv::new(c, c, 1, 1, Init::Zero, rng, dtype, device)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let qkv = self
            .qkv
            .forward(&self.n.forward(x)?)?
            .reshape((n, 3, c, h * w))?;
        let q = qkv.narrow(1, 0, 1)?.reshape((n, c, h * w))?;
        let k = qkv.narrow(1, 1, 1)?.reshape((n, c, h * w))?;
        let v = qkv.narrow(1, 2, 1)?.reshape((n, c, h * w))?;
        // a[b, i, j] = Σ_c q[b, c, i] k[b, c, j] / √C, softmax over j
        let scores = (q.t()?.matmul(&k)? / (c as f64).sqrt())?;
        let a = softmax_last(&scores)?;
        // out[b, c, i] = Σ_j a[b, i, j] v[b, c, j]
        let out = v.matmul(&a.t()?)?.reshape((n, c, h, w))?;
        x + self.o.forward(&out)?
    }

    pub fn vars(&self) -> Vec<&Var> {
        let mut v: Vec<&Var> = Vec::new();
        v.extend(self.n.vars());
        v.extend(self.qkv.vars());
        v.extend(self.o.vars());
        v
    }
}

/// Nearest ×2 then conv3×3.
#[derive(Debug, Clone)]
pub(crate) struct Up {
    conv: Conv,
}

impl Up {
    pub fn new(
        c: usize,
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Self> {
        Ok(Self {
            conv: Conv::new(c, c, 3, 1, Init::Default, rng, dtype, device)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.conv.forward(&upsample2(x)?)
    }

    pub fn vars(&self) -> Vec<&Var> {
        self.conv.vars().to_vec()
    }
}
