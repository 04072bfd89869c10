//! A stride-1 "same" convolution whose derivatives are again this convolution, so that every
//! order of candle's autograd runs on conv2d's fast path (im2col + GEMM). candle differentiates
//! its conv2d into a naive loop `conv_transpose2d`; under double backward (the AM objective's
//! ∇θ of ∇x s) that kernel dominated the U-Net step. For y = conv(x, w) with padding p = (k−1)/2:
//!
//! - ∂L/∂x = conv(g, w̃, k − 1 − p) with w̃[i, o, a, b] = w[o, i, k−1−a, k−1−b] (channels swapped,
//!   kernel flipped);
//! - ∂L/∂w = conv(xᵀ, gᵀ, p)ᵀ, the transposes swapping batch and channel axes: the correlation
//!   Σ_{n,y,x} g[n, o, y, x]·x[n, i, y + a − p, x + b − p] as a convolution with a H×W kernel.
//!
//! Both are built from this op (and narrow/cat/transpose), so they are differentiable in turn.
//! CPU only: other devices use candle's conv2d.

use am_core::candle::{
    backend::BackendStorage, CpuStorage, CustomOp2, Device, Layout, Result, Shape, Storage, Tensor,
};

/// The op; see the module docs.
#[derive(Debug, Clone, Copy)]
struct SameConv {
    padding: usize,
}

fn tensor(s: &CpuStorage, l: &Layout) -> Result<Tensor> {
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| am_core::candle::Error::Msg("SameConv needs contiguous inputs".into()))?;
    let dims = l.shape().dims();
    match s {
        CpuStorage::F32(v) => Tensor::from_slice(&v[a..b], dims, &Device::Cpu),
        CpuStorage::F64(v) => Tensor::from_slice(&v[a..b], dims, &Device::Cpu),
        _ => Err(am_core::candle::Error::Msg(format!(
            "SameConv: dtype {:?} (f32 or f64 expected)",
            s.dtype()
        ))),
    }
}

impl CustomOp2 for SameConv {
    fn name(&self) -> &'static str {
        "am-same-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = tensor(s1, l1)?.conv2d(&tensor(s2, l2)?, self.padding, 1, 1, 1)?;
        let shape = y.shape().clone();
        let (storage, layout) = y.storage_and_layout();
        match &*storage {
            Storage::Cpu(c) if layout.is_contiguous() && layout.start_offset() == 0 => {
                Ok((c.clone(), shape))
            }
            _ => Err(am_core::candle::Error::Msg(
                "SameConv: conv2d returned a non-contiguous result".into(),
            )),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let k = w.dim(2)?;
        // w̃: flip both spatial axes (narrow + cat), swap the channel axes
        let flip = |t: &Tensor, dim: usize| -> Result<Tensor> {
            let parts: Vec<Tensor> = (0..k)
                .rev()
                .map(|i| t.narrow(dim, i, 1))
                .collect::<Result<_>>()?;
            Tensor::cat(&parts, dim)
        };
        let wt = flip(&flip(w, 2)?, 3)?.transpose(0, 1)?;
        let gx = same_conv_raw(g, &wt, k - 1 - self.padding)?;
        let gw = same_conv_raw(&x.transpose(0, 1)?, &g.transpose(0, 1)?, self.padding)?
            .transpose(0, 1)?;
        Ok((Some(gx), Some(gw)))
    }
}

fn same_conv_raw(x: &Tensor, w: &Tensor, padding: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, SameConv { padding })
}

/// conv2d(x, w) with stride 1 and padding (k − 1)/2 for an odd square kernel `w`
/// `(C_out, C_in, k, k)`, on the CPU through [`SameConv`]; elsewhere candle's conv2d.
pub(crate) fn same_conv(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let k = w.dim(2)?;
    if matches!(x.device(), Device::Cpu) && k % 2 == 1 && w.dim(3)? == k {
        same_conv_raw(x, w, (k - 1) / 2)
    } else {
        x.conv2d(w, (k - 1) / 2, 1, 1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use am_core::candle::{DType, Var};
    use am_core::SeededRng;

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    /// The op's value and first derivatives equal candle's conv2d's (k = 1 and 3).
    #[test]
    fn same_conv_equals_conv2d_with_its_gradients() {
        let mut rng = SeededRng::new(3);
        for k in [1, 3] {
            let x = Var::from_tensor(
                &rng.normal_tensor(&[2, 3, 5, 5], DType::F64, &Device::Cpu)
                    .unwrap(),
            )
            .unwrap();
            let w = Var::from_tensor(
                &rng.normal_tensor(&[4, 3, k, k], DType::F64, &Device::Cpu)
                    .unwrap(),
            )
            .unwrap();
            let g = rng
                .normal_tensor(&[2, 4, 5, 5], DType::F64, &Device::Cpu)
                .unwrap();
            let ours = same_conv_raw(x.as_tensor(), w.as_tensor(), (k - 1) / 2).unwrap();
            let theirs = x
                .as_tensor()
                .conv2d(w.as_tensor(), (k - 1) / 2, 1, 1, 1)
                .unwrap();
            assert!(max_diff(&ours, &theirs) < 1e-12, "value, k = {k}");
            let ga = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (theirs * &g)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &w] {
                let (a, b) = (
                    ga.get(v.as_tensor()).unwrap(),
                    gb.get(v.as_tensor()).unwrap(),
                );
                assert!(max_diff(a, b) < 1e-10, "gradient, k = {k}");
            }
        }
    }
}
