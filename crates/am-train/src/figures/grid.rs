//! A grid of images as one PNG (samples, training images), each pixel blown up `scale` times,
//! with a 2-pixel white gutter; values in [−1, 1] map to 0 … 255 (clipped).

use super::figure_error;
use crate::Result;
use am_core::{DType, Tensor};
use plotters::prelude::*;
use std::path::Path;

/// Writes `images` — `(N, C·H·W)` rows or `(N, C, H, W)`, C = 1 (grey) or 3 (RGB planes) — as a
/// grid of `columns` columns.
pub fn image_grid(
    path: &Path,
    images: &Tensor,
    shape: (usize, usize, usize),
    columns: usize,
    scale: usize,
) -> Result<()> {
    let (c, h, w) = shape;
    let n = images.dims()[0];
    if !(c == 1 || c == 3)
        || columns == 0
        || scale == 0
        || n == 0
        || images.elem_count() != n * c * h * w
    {
        return Err(figure_error(
            path,
            format!(
                "cannot draw {:?} as images of {c}×{h}×{w} in {columns} columns at ×{scale}",
                images.dims()
            ),
        ));
    }
    let v: Vec<f64> = images.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let rows = n.div_ceil(columns);
    let gutter = 2;
    let (cw, ch) = (w * scale + gutter, h * scale + gutter);
    let size = ((columns * cw + gutter) as u32, (rows * ch + gutter) as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| figure_error(path, e))?;
    let level = |x: f64| (((x + 1.0) * 127.5).round()).clamp(0.0, 255.0) as u8;
    for k in 0..n {
        let (ox, oy) = ((k % columns) * cw + gutter, (k / columns) * ch + gutter);
        let img = &v[k * c * h * w..(k + 1) * c * h * w];
        for y in 0..h {
            for x in 0..w {
                let at = |ch: usize| level(img[ch * h * w + y * w + x]);
                let colour = if c == 1 {
                    RGBColor(at(0), at(0), at(0))
                } else {
                    RGBColor(at(0), at(1), at(2))
                };
                let (px, py) = ((ox + x * scale) as i32, (oy + y * scale) as i32);
                root.draw(&Rectangle::new(
                    [(px, py), (px + scale as i32, py + scale as i32)],
                    colour.filled(),
                ))
                .map_err(|e| figure_error(path, e))?;
            }
        }
    }
    root.present().map_err(|e| figure_error(path, e))?;
    Ok(())
}
