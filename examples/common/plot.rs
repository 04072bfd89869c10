//! A minimal RGB canvas written as PNG: points and line segments in data coordinates.

use std::path::Path;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// A white canvas mapping the data box [x0, x1] × [y0, y1] onto w × h pixels.
pub struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
    bounds: [f64; 4],
}

impl Canvas {
    /// A blank canvas.
    pub fn new(w: usize, h: usize, bounds: [f64; 4]) -> Self {
        Self {
            w,
            h,
            px: vec![255; w * h * 3],
            bounds,
        }
    }

    fn to_px(&self, x: f64, y: f64) -> (f64, f64) {
        let [x0, x1, y0, y1] = self.bounds;
        (
            (x - x0) / (x1 - x0) * (self.w - 1) as f64,
            (y1 - y) / (y1 - y0) * (self.h - 1) as f64,
        )
    }

    fn blend(&mut self, i: i64, j: i64, c: Rgb, alpha: f64) {
        if i < 0 || j < 0 || i >= self.w as i64 || j >= self.h as i64 {
            return;
        }
        let k = (j as usize * self.w + i as usize) * 3;
        for (px, &ch) in self.px[k..k + 3].iter_mut().zip(&c) {
            *px = (*px as f64 * (1.0 - alpha) + ch as f64 * alpha).round() as u8;
        }
    }

    /// A filled disc of `radius` pixels.
    pub fn point(&mut self, x: f64, y: f64, radius: f64, c: Rgb, alpha: f64) {
        let (u, v) = self.to_px(x, y);
        let r = radius.ceil() as i64;
        for dj in -r..=r {
            for di in -r..=r {
                if ((di * di + dj * dj) as f64) <= radius * radius {
                    self.blend(u.round() as i64 + di, v.round() as i64 + dj, c, alpha);
                }
            }
        }
    }

    /// A one-pixel line segment.
    pub fn line(&mut self, a: (f64, f64), b: (f64, f64), c: Rgb, alpha: f64) {
        let (u0, v0) = self.to_px(a.0, a.1);
        let (u1, v1) = self.to_px(b.0, b.1);
        let n = ((u1 - u0).abs().max((v1 - v0).abs()).ceil() as usize).max(1);
        for k in 0..=n {
            let s = k as f64 / n as f64;
            self.blend(
                (u0 + s * (u1 - u0)).round() as i64,
                (v0 + s * (v1 - v0)).round() as i64,
                c,
                alpha,
            );
        }
    }

    /// Particle `i`'s trajectory in the plane of its first two coordinates, from states
    /// `[time][particle][coordinate]`; segment k (time k → k + 1) is drawn in `colour(k)`.
    pub fn trajectory(
        &mut self,
        states: &[Vec<Vec<f32>>],
        i: usize,
        colour: impl Fn(usize) -> Rgb,
        alpha: f64,
    ) {
        for (k, pair) in states.windows(2).enumerate() {
            let (a, b) = (&pair[0][i], &pair[1][i]);
            self.line(
                (a[0] as f64, a[1] as f64),
                (b[0] as f64, b[1] as f64),
                colour(k),
                alpha,
            );
        }
    }

    /// Writes the canvas as an 8-bit RGB PNG.
    pub fn save(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let file = std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
        let mut enc = png::Encoder::new(file, self.w as u32, self.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&self.px)?;
        Ok(())
    }
}

/// A colour from blue (s = 0) to red (s = 1).
pub fn ramp(s: f64) -> Rgb {
    let s = s.clamp(0.0, 1.0);
    [
        (40.0 + 200.0 * s) as u8,
        (80.0 + 40.0 * (1.0 - (2.0 * s - 1.0).abs())) as u8,
        (230.0 - 190.0 * s) as u8,
    ]
}
