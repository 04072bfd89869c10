//! Image data: IDX (MNIST, Fashion-MNIST; plain or gzipped), CIFAR-10 binary batches, JPEG/PNG
//! files in a tar archive (CIFAR-10 as JPEG), and the 8×8 digits CSV; mapped to [−1, 1] with uniform dequantisation, with random horizontal flips.

use super::DataError;
use am_core::{DType, Device, Result as CoreResult, SeededRng, Tensor};
use std::io::Read;
use std::path::Path;

/// Integer-valued images `(N, C, H, W)` with labels and the number of intensity levels.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Pixel values, row-major `(N, C, H, W)`, each in `0..levels`.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// (C, H, W).
    pub shape: (usize, usize, usize),
    /// Intensity levels (256 for 8-bit images, 17 for the digits).
    pub levels: u32,
}

fn io(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The most a gzip member may expand to here: deflate's 1032:1 of the compressed bytes, and
/// 16 GiB in all (a file that decompresses further is refused, not read into memory).
fn gzip_limit(compressed: usize) -> u64 {
    (compressed as u64)
        .saturating_mul(1032)
        .saturating_add(1024)
        .min(16 << 30)
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let limit = gzip_limit(raw.len());
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| io(path, format!("gzip: {e}")))?;
        if out.len() as u64 > limit {
            return Err(io(path, format!("gzip: expands beyond {limit} bytes")));
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Where `cargo xtask fetch-mnist` installs MNIST's IDX files:
/// `$XDG_CACHE_HOME/action-matching/mnist`, else `~/.cache/action-matching/mnist` (xtask holds
/// the same rule, as it depends on no workspace crate).
pub fn mnist_cache_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("action-matching").join("mnist")
}

/// An IDX array of unsigned bytes (type 0x08): its dimensions and data.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let b = read_maybe_gz(path)?;
    let p = path.display().to_string();
    if b.len() < 4 || b[0] != 0 || b[1] != 0 {
        return Err(DataError::Format {
            path: p,
            reason: "not an IDX file (bad magic)".into(),
        });
    }
    if b[2] != 0x08 {
        return Err(DataError::Format {
            path: p,
            reason: format!("IDX type 0x{:02x} is not unsigned bytes (0x08)", b[2]),
        });
    }
    let nd = b[3] as usize;
    if b.len() < 4 + 4 * nd {
        return Err(DataError::Format {
            path: p,
            reason: "truncated IDX header".into(),
        });
    }
    let dims: Vec<usize> = (0..nd)
        .map(|k| {
            u32::from_be_bytes([b[4 + 4 * k], b[5 + 4 * k], b[6 + 4 * k], b[7 + 4 * k]]) as usize
        })
        .collect();
    let data = &b[4 + 4 * nd..];
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(data.len()) {
        return Err(DataError::Format {
            path: p,
            reason: format!(
                "IDX dims {dims:?} need {} bytes, the file has {}",
                count
                    .map(|c| c.to_string())
                    .unwrap_or("more than 2⁶⁴".into()),
                data.len()
            ),
        });
    }
    Ok((dims, data.to_vec()))
}

impl ImageSet {
    /// MNIST-style images and labels from two IDX files (`*-images-idx3-ubyte[.gz]`, `*-labels-idx1-ubyte[.gz]`).
    pub fn from_idx(images: &Path, labels: &Path) -> Result<Self, DataError> {
        let (dims, pixels) = read_idx(images)?;
        let (ldims, labels_v) = read_idx(labels)?;
        if dims.len() != 3 || ldims.len() != 1 || dims[0] != ldims[0] {
            return Err(DataError::Shape {
                path: images.display().to_string(),
                reason: format!("images {dims:?} and labels {ldims:?} do not match (N×H×W and N)"),
            });
        }
        Ok(Self {
            pixels,
            labels: labels_v,
            shape: (1, dims[1], dims[2]),
            levels: 256,
        })
    }

    /// An IDX image file with its labels beside it: the same name with `images` → `labels`
    /// and `idx3` → `idx1` (`train-images-idx3-ubyte` → `train-labels-idx1-ubyte`).
    pub fn from_idx_images(images: &Path) -> Result<Self, DataError> {
        let name = images.to_string_lossy();
        let labels = name.replace("images", "labels").replace("idx3", "idx1");
        Self::from_idx(images, Path::new(&labels))
    }

    /// CIFAR-10 binary batches (`data_batch_*.bin`, `test_batch.bin`): records of one label byte
    /// and 3 × 32 × 32 pixel bytes (R, G, B planes).
    pub fn from_cifar_bin(files: &[&Path]) -> Result<Self, DataError> {
        const REC: usize = 1 + 3072;
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for &f in files {
            let b = std::fs::read(f).map_err(|e| io(f, e))?;
            if b.is_empty() || b.len() % REC != 0 {
                return Err(DataError::Format {
                    path: f.display().to_string(),
                    reason: format!(
                        "{} bytes is not a whole number of {REC}-byte records",
                        b.len()
                    ),
                });
            }
            for r in b.chunks(REC) {
                if r[0] > 9 {
                    return Err(DataError::Format {
                        path: f.display().to_string(),
                        reason: format!("label {} outside 0..=9", r[0]),
                    });
                }
                labels.push(r[0]);
                pixels.extend_from_slice(&r[1..]);
            }
        }
        if labels.is_empty() {
            return Err(DataError::Argument {
                arg: "files",
                reason: "no CIFAR files given".into(),
            });
        }
        Ok(Self {
            pixels,
            labels,
            shape: (3, 32, 32),
            levels: 256,
        })
    }

    /// Images stored as JPEG (or PNG) files in a tar archive (optionally gzipped), laid out as
    /// `[./]<split>/<class>/<name>.jpg` — the layout of `cifar10-jpeg.tar.gz` (CIFAR-10's
    /// 50,000 train and 10,000 test images). Reads the files under `split` (e.g. `train`,
    /// `test`), decodes them to 8-bit RGB with the `image` crate, and labels them by their class
    /// folder's rank among the sorted class names (CIFAR-10's names sort into its label order,
    /// airplane = 0 … truck = 9). Images are ordered by (class, file name). Every image must have
    /// the first one's size; at most 256 classes.
    pub fn from_image_tar(path: &Path, split: &str) -> Result<Self, DataError> {
        let p = path.display().to_string();
        let raw = read_maybe_gz(path)?;
        let mut archive = tar::Archive::new(&raw[..]);
        let entries = archive
            .entries()
            .map_err(|e| io(path, format!("tar: {e}")))?;
        let mut files: Vec<(String, String, Vec<u8>)> = Vec::new();
        for entry in entries {
            let mut entry = entry.map_err(|e| io(path, format!("tar: {e}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()
                .map_err(|e| io(path, format!("tar: {e}")))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            let parts: Vec<&str> = name.split('/').collect();
            let lower = name.to_ascii_lowercase();
            let is_image = [".jpg", ".jpeg", ".png"].iter().any(|x| lower.ends_with(x));
            if parts.len() != 3 || parts[0] != split || !is_image {
                continue;
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| io(path, format!("{name}: {e}")))?;
            files.push((parts[1].to_string(), parts[2].to_string(), bytes));
        }
        if files.is_empty() {
            return Err(DataError::Format {
                path: p,
                reason: format!("no `{split}/<class>/<image>` files in the archive"),
            });
        }
        files.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut classes: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        classes.dedup();
        if classes.len() > 256 {
            return Err(DataError::Format {
                path: p,
                reason: format!("{} classes: at most 256 fit a label byte", classes.len()),
            });
        }
        let (mut pixels, mut labels, mut size) = (Vec::new(), Vec::new(), None);
        for (class, file, bytes) in &files {
            let name = format!("{split}/{class}/{file}");
            let img = image::load_from_memory(bytes)
                .map_err(|e| DataError::Format {
                    path: p.clone(),
                    reason: format!("{name}: {e}"),
                })?
                .to_rgb8();
            let (w, h) = img.dimensions();
            let first = *size.get_or_insert((h as usize, w as usize));
            if first != (h as usize, w as usize) {
                return Err(DataError::Format {
                    path: p,
                    reason: format!("{name} is {w}×{h}, the first image {}×{}", first.1, first.0),
                });
            }
            // HWC → CHW planes
            let raw = img.into_raw();
            for ch in 0..3 {
                pixels.extend(raw.iter().skip(ch).step_by(3));
            }
            labels.push(classes.binary_search(&class.as_str()).unwrap_or(0) as u8);
        }
        let (h, w) = size.unwrap_or((0, 0));
        Ok(Self {
            pixels,
            labels,
            shape: (3, h, w),
            levels: 256,
        })
    }

    /// The 8×8 digits CSV (optionally gzipped): 64 pixel columns in 0..=16, then the label 0..=9.
    pub fn from_digits_csv(path: &Path) -> Result<Self, DataError> {
        let text =
            String::from_utf8(read_maybe_gz(path)?).map_err(|_| io(path, "not UTF-8 text"))?;
        let p = path.display().to_string();
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for (row, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != 65 {
                return Err(DataError::Ragged {
                    path: p,
                    row,
                    expected: 65,
                    got: cells.len(),
                });
            }
            for (column, c) in cells.iter().enumerate() {
                let v: u8 = c.parse().map_err(|_| DataError::NonNumeric {
                    path: p.clone(),
                    row,
                    column,
                    value: c.to_string(),
                })?;
                let max = if column == 64 { 9 } else { 16 };
                if v > max {
                    return Err(DataError::Argument {
                        arg: "digits",
                        reason: format!("{p}: row {row}, column {column}: {v} > {max}"),
                    });
                }
                if column == 64 {
                    labels.push(v);
                } else {
                    pixels.push(v);
                }
            }
        }
        if labels.is_empty() {
            return Err(DataError::Format {
                path: p,
                reason: "no rows".into(),
            });
        }
        Ok(Self {
            pixels,
            labels,
            shape: (1, 8, 8),
            levels: 17,
        })
    }

    /// The images `indices` (in that order) as a new set.
    pub fn subset(&self, indices: &[usize]) -> Result<Self, DataError> {
        let (c, h, w) = self.shape;
        let size = c * h * w;
        let (mut pixels, mut labels) = (Vec::with_capacity(indices.len() * size), Vec::new());
        for &i in indices {
            if i >= self.len() {
                return Err(DataError::Argument {
                    arg: "indices",
                    reason: format!("image {i} of a set of {}", self.len()),
                });
            }
            pixels.extend_from_slice(&self.pixels[i * size..(i + 1) * size]);
            labels.push(self.labels[i]);
        }
        Ok(Self {
            pixels,
            labels,
            shape: self.shape,
            levels: self.levels,
        })
    }

    /// A seeded split into (train, test) with `test` images in the test part (a uniformly
    /// random subset, both parts in their original order).
    pub fn split(&self, test: usize, seed: u64) -> Result<(Self, Self), DataError> {
        if test == 0 || test >= self.len() {
            return Err(DataError::Argument {
                arg: "test",
                reason: format!("{test} test images of {}: need 1 ≤ test < N", self.len()),
            });
        }
        let mut perm = SeededRng::new(seed).permutation(self.len());
        let mut held = perm.split_off(self.len() - test);
        perm.sort_unstable();
        held.sort_unstable();
        Ok((self.subset(&perm)?, self.subset(&held)?))
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Images `indices` as a tensor `(B, C, H, W)` in [−1, 1]: x = 2(k + u)/L − 1 with u ~ U[0, 1)
    /// when `dequantize` is given (for L = 256 this is x = (k + u)/128 − 1, the mapping whose
    /// bits/dim offset is 7), else x = 2k/(L − 1) − 1. `flip` mirrors each image horizontally with
    /// probability ½ (drawn from the same generator).
    pub fn batch(
        &self,
        indices: &[usize],
        dequantize: Option<&mut SeededRng>,
        flip: bool,
        dtype: DType,
        device: &Device,
    ) -> CoreResult<Tensor> {
        let (c, h, w) = self.shape;
        let size = c * h * w;
        let l = self.levels as f64;
        let mut rng = dequantize;
        let mut out = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            if i >= self.len() {
                return Err(am_core::Error::OutOfRange {
                    arg: "indices",
                    value: i as f64,
                    allowed: "0..len",
                });
            }
            let img = &self.pixels[i * size..(i + 1) * size];
            let mirror = flip && rng.as_mut().is_some_and(|r| r.uniform() < 0.5);
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let xs = if mirror { w - 1 - x } else { x };
                        let k = img[ch * h * w + y * w + xs] as f64;
                        out.push(match rng.as_mut() {
                            Some(r) => 2.0 * (k + r.uniform()) / l - 1.0,
                            None => 2.0 * k / (l - 1.0) - 1.0,
                        });
                    }
                }
            }
        }
        am_core::rng::tensor_from_f64(out, &[indices.len(), c, h, w], dtype, device)
    }
}
