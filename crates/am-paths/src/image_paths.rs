//! Interpolants for generative modelling (Sec. 4.3, Fig. 6): paths from a prior x₀ ~ N(0, I)
//! at t = 0 to data x₁ at t = 1, on image batches `(N, C, H, W)` with times `t` `(N, 1)`.
//! The paths of super-resolution and colourisation also return the condition a network sees.

use am_core::{check, Error, Result, Tensor};

fn times4(t: &Tensor, x: &Tensor) -> Result<Tensor> {
    let n = check::times("t", t)?;
    let dims = x.dims();
    if dims.len() != 4 || dims[0] != n {
        return Err(Error::Shape {
            arg: "x",
            expected: format!("({n}, C, H, W)"),
            got: dims.to_vec(),
        });
    }
    Ok(t.reshape((n, 1, 1, 1))?)
}

fn same_shape(x0: &Tensor, x1: &Tensor) -> Result<()> {
    if x0.dims() != x1.dims() {
        return Err(Error::Shape {
            arg: "x0",
            expected: format!("{:?} like x1", x1.dims()),
            got: x0.dims().to_vec(),
        });
    }
    Ok(())
}

/// x_t = α(t)·x₀ + β(t)·x₁ for per-sample coefficients `alpha`, `beta` `(N, 1)` (the general
/// interpolant; α(0) = 1, β(0) = 0 and α(1) = 0, β(1) = 1 make it end at the prior and the data).
pub fn general(x0: &Tensor, x1: &Tensor, alpha: &Tensor, beta: &Tensor) -> Result<Tensor> {
    same_shape(x0, x1)?;
    let a = times4(alpha, x1)?;
    let b = times4(beta, x1)?;
    Ok((x0.broadcast_mul(&a)? + x1.broadcast_mul(&b)?)?)
}

/// The linear interpolant x_t = (1 − t)x₀ + t·x₁ (the paper's generation path).
pub fn linear(x0: &Tensor, x1: &Tensor, t: &Tensor) -> Result<Tensor> {
    general(x0, x1, &t.affine(-1.0, 1.0)?, t)
}

/// The VP-SDE coefficients (α_s, σ_s) at diffusion time s for β linear from `beta_min` to
/// `beta_max` (App. E.2): [`am_core::VpSchedule::alpha_sigma`].
pub fn vp_coefficients(s: f64, beta_min: f64, beta_max: f64) -> (f64, f64) {
    am_core::VpSchedule { beta_min, beta_max }.alpha_sigma(s)
}

/// The VP-SDE path (β from `beta_min` to `beta_max`, e.g. 0.1 and 20) in AM's time direction:
/// x_t = α_{1−t}x₁ + σ_{1−t}x₀. Its noise end t = 0 keeps α₁·x₁ of the data (e^{−5.025} for
/// 0.1 and 20).
pub fn vp(x0: &Tensor, x1: &Tensor, t: &Tensor, beta_min: f64, beta_max: f64) -> Result<Tensor> {
    let tv: Vec<f64> = t.to_dtype(am_core::DType::F64)?.flatten_all()?.to_vec1()?;
    let (a, s): (Vec<f64>, Vec<f64>) = tv
        .iter()
        .map(|&ti| vp_coefficients(1.0 - ti, beta_min, beta_max))
        .unzip();
    let n = tv.len();
    let mk = |v: Vec<f64>| am_core::rng::tensor_from_f64(v, &[n, 1], x1.dtype(), x1.device());
    general(x0, x1, &mk(s)?, &mk(a)?)
}

/// One pixel (the top-left) of every 2 × 2 block, as a 0/1 mask `(1, 1, H, W)`.
fn block_mask(x: &Tensor) -> Result<Tensor> {
    let (h, w) = (x.dim(2)?, x.dim(3)?);
    if h % 2 != 0 || w % 2 != 0 {
        return Err(Error::Shape {
            arg: "x1",
            expected: "even height and width".into(),
            got: x.dims().to_vec(),
        });
    }
    let m: Vec<f64> = (0..h * w)
        .map(|k| {
            if (k / w) % 2 == 0 && (k % w) % 2 == 0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    am_core::rng::tensor_from_f64(m, &[1, 1, h, w], x.dtype(), x.device())
}

/// Super-resolution as the paper states it: one pixel of each 2 × 2 block is kept from the data at
/// all times, the other three move linearly from noise to data:
/// x_t = m⊙x₁ + (1 − m)⊙((1 − t)x₀ + t·x₁). The condition is the kept low-resolution image.
pub fn super_resolution_paper(x0: &Tensor, x1: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
    let m = block_mask(x1)?;
    let moving = linear(x0, x1, t)?;
    let xt = (x1.broadcast_mul(&m)? + moving.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?;
    let (h, w) = (x1.dim(2)?, x1.dim(3)?);
    // the kept pixels, (N, C, H/2, W/2)
    let low = x1
        .reshape((x1.dim(0)?, x1.dim(1)?, h / 2, 2, w / 2, 2))?
        .narrow(3, 0, 1)?
        .narrow(5, 0, 1)?
        .reshape((x1.dim(0)?, x1.dim(1)?, h / 2, w / 2))?;
    Ok((xt, low))
}

/// Super-resolution as the reference code does it: the low-resolution image (2 × 2 average) is
/// upsampled bilinearly; three of every four pixels start from it, the fourth (bottom-right) from
/// noise, and the path is linear to the data: x_t = (1 − t)·x_start + t·x₁. The condition is the
/// low-resolution image upsampled to full size (appended as channels by the network).
pub fn super_resolution_reference(
    x0: &Tensor,
    x1: &Tensor,
    t: &Tensor,
) -> Result<(Tensor, Tensor)> {
    same_shape(x0, x1)?;
    let (h, w) = (x1.dim(2)?, x1.dim(3)?);
    let _ = block_mask(x1)?;
    let low = x1.avg_pool2d(2)?;
    let up = low.upsample_bilinear2d(h, w, false)?;
    let noised: Vec<f64> = (0..h * w)
        .map(|k| {
            if (k / w) % 2 == 1 && (k % w) % 2 == 1 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let nm = am_core::rng::tensor_from_f64(noised, &[1, 1, h, w], x1.dtype(), x1.device())?;
    let start = (x0.broadcast_mul(&nm)? + up.broadcast_mul(&nm.affine(-1.0, 1.0)?)?)?;
    let condition = low.upsample_nearest2d(h, w)?;
    Ok((linear(&start, x1, t)?, condition))
}

/// The grey image: the channel mean tiled to every channel.
pub fn gray(x: &Tensor) -> Result<Tensor> {
    let c = x.dim(1)?;
    Ok(x.mean_keepdim(1)?.repeat((1, c, 1, 1))?)
}

/// Colourisation: x_t = (1 − t)(0.1·x₀ + gray(x₁)) + t·x₁, with the grey image as the condition.
pub fn colourisation(x0: &Tensor, x1: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
    same_shape(x0, x1)?;
    let g = gray(x1)?;
    let start = ((x0 * 0.1)? + &g)?;
    Ok((linear(&start, x1, t)?, g))
}
