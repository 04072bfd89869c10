//! NumPy `.npy` and `.npz` files: versions 1–3, little- or big-endian floats, integers and
//! booleans, C or Fortran order, plain (`np.savez`) or deflated (`np.savez_compressed`) archives.
//! Values are returned as f64 in row-major (C) order.

use super::DataError;
use std::io::Read;
use std::path::Path;

/// An array read from a `.npy` file or a `.npz` member.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values in row-major order.
    pub data: Vec<f64>,
    /// Whether the stored type was an integer or boolean type.
    pub integer: bool,
}

impl NpyArray {
    /// The shape as (rows, columns) of a 2-D array, or (n, 1) for a 1-D array.
    pub fn as_matrix(&self) -> Option<(usize, usize)> {
        match self.shape.as_slice() {
            [n] => Some((*n, 1)),
            [n, d] => Some((*n, *d)),
            _ => None,
        }
    }
}

fn format_err(path: &str, reason: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// The value following `'key':` in the header dictionary.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = &header[at + key.len() + 2..];
    let colon = rest.find(':')?;
    Some(rest[colon + 1..].trim_start())
}

/// Parses a `.npy` byte buffer; `path` names it in errors.
pub fn parse_npy(bytes: &[u8], path: &str) -> Result<NpyArray, DataError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format_err(path, "not a .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(format_err(path, "truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format_err(path, format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| format_err(path, "truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| format_err(path, "header is not text"))?;
    let descr =
        header_field(header, "descr").ok_or_else(|| format_err(path, "header has no 'descr'"))?;
    let descr = descr.trim_start_matches(['\'', '"']);
    let descr: String = descr
        .chars()
        .take_while(|c| *c != '\'' && *c != '"')
        .collect();
    let fortran = header_field(header, "fortran_order")
        .ok_or_else(|| format_err(path, "header has no 'fortran_order'"))?
        .starts_with("True");
    let shape_text =
        header_field(header, "shape").ok_or_else(|| format_err(path, "header has no 'shape'"))?;
    let close = shape_text
        .find(')')
        .filter(|&c| c >= 1 && shape_text.starts_with('('))
        .ok_or_else(|| format_err(path, "malformed 'shape'"))?;
    let shape: Vec<usize> = shape_text[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format_err(path, format!("malformed shape entry `{s}`")))
        })
        .collect::<Result<_, _>>()?;
    let (order, kind, size) = {
        let mut ch = descr.chars();
        let order = ch.next().ok_or_else(|| format_err(path, "empty 'descr'"))?;
        let kind = ch
            .next()
            .ok_or_else(|| format_err(path, format!("unsupported dtype `{descr}`")))?;
        let size: usize = ch
            .as_str()
            .parse()
            .map_err(|_| format_err(path, format!("unsupported dtype `{descr}`")))?;
        (order, kind, size)
    };
    let big = order == '>';
    if !matches!(
        (kind, size),
        ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1)
    ) {
        return Err(format_err(
            path,
            format!("unsupported dtype `{descr}` (floats, integers and booleans are read)"),
        ));
    }
    // the shape's claim is checked against the bytes present before anything is allocated
    let count = shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .and_then(|c| c.checked_mul(size).map(|bytes| (c, bytes)));
    let body = &bytes[start + hlen..];
    let count = match count {
        Some((c, need)) if need <= body.len() => c,
        _ => {
            return Err(format_err(
                path,
                format!(
                    "data holds {} bytes, shape {shape:?} of `{descr}` needs more",
                    body.len()
                ),
            ))
        }
    };
    let word = |k: usize| -> [u8; 8] {
        let mut w = [0u8; 8];
        let src = &body[k * size..(k + 1) * size];
        if big {
            for (t, &b) in src.iter().rev().enumerate() {
                w[t] = b;
            }
        } else {
            w[..size].copy_from_slice(src);
        }
        w
    };
    let value = |k: usize| -> Option<f64> {
        let w = word(k);
        Some(match (kind, size) {
            ('f', 8) => f64::from_le_bytes(w),
            ('f', 4) => f32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f64,
            ('i', 8) => i64::from_le_bytes(w) as f64,
            ('i', 4) => i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f64,
            ('i', 2) => i16::from_le_bytes([w[0], w[1]]) as f64,
            ('i', 1) => w[0] as i8 as f64,
            ('u', 8) => u64::from_le_bytes(w) as f64,
            ('u', 4) => u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f64,
            ('u', 2) => u16::from_le_bytes([w[0], w[1]]) as f64,
            ('u', 1) | ('b', 1) => w[0] as f64,
            _ => return None,
        })
    };
    let stored: Vec<f64> = (0..count).map(|k| value(k).unwrap_or(f64::NAN)).collect();
    let data = if fortran && shape.len() > 1 {
        // column-major → row-major
        let nd = shape.len();
        let mut out = vec![0.0; count];
        let mut idx = vec![0usize; nd];
        for (k, slot) in out.iter_mut().enumerate() {
            // idx = row-major multi-index of k
            let mut r = k;
            for a in (0..nd).rev() {
                idx[a] = r % shape[a];
                r /= shape[a];
            }
            let mut f = 0;
            for a in (0..nd).rev() {
                f = f * shape[a] + idx[a];
            }
            *slot = stored[f];
        }
        out
    } else {
        stored
    };
    Ok(NpyArray {
        shape,
        data,
        integer: kind != 'f',
    })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray, DataError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError::Io {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    parse_npy(&bytes, &p)
}

/// The largest `.npz` member read (16 GiB): a cap on what a header may make the reader allocate.
pub const MAX_MEMBER: u64 = 16 << 30;

/// An open `.npz` archive.
pub struct Npz {
    path: String,
    /// The archive's size on disk: no member's compressed bytes can exceed it.
    file_len: u64,
    archive: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
}

impl Npz {
    /// Opens an archive written by `np.savez` or `np.savez_compressed`.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let p = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| DataError::Io {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let archive = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| format_err(&p, format!("not a .npz (zip) archive: {e}")))?;
        Ok(Self {
            path: p,
            file_len,
            archive,
        })
    }

    /// The array names in the archive.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .archive
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| n.trim_end_matches(".npy").to_string())
            .collect();
        k.sort();
        k
    }

    /// Reads one array by name (without the `.npy` suffix).
    pub fn array(&mut self, key: &str) -> Result<NpyArray, DataError> {
        let name = format!("{key}.npy");
        let available = self.keys().join(", ");
        let mut entry = self
            .archive
            .by_name(&name)
            .map_err(|_| DataError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
                available,
            })?;
        // the member's declared size is a claim: it may not exceed what its compressed bytes
        // can expand to (deflate: 1032:1; stored: 1:1) nor MAX_MEMBER, and reading stops there
        let member = format!("{}:{name}", self.path);
        let ratio = match entry.compression() {
            zip::CompressionMethod::Stored => 1,
            _ => 1032,
        };
        let limit = entry
            .compressed_size()
            .min(self.file_len)
            .saturating_mul(ratio)
            .saturating_add(64)
            .min(MAX_MEMBER);
        if entry.size() > limit {
            return Err(format_err(
                &member,
                format!(
                    "declares {} bytes from {} compressed bytes (at most {limit} are possible)",
                    entry.size(),
                    entry.compressed_size()
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        (&mut entry)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::Io {
                path: member.clone(),
                reason: e.to_string(),
            })?;
        parse_npy(&bytes, &format!("{}:{name}", self.path))
    }
}

/// Writes little-endian f32 arrays as an uncompressed `.npz` archive (what `np.savez` writes), one
/// `<name>.npy` member per array, atomically (temporary file, then rename). `arrays` are
/// (name, shape, row-major values); every shape's product must equal its value count.
pub fn write_npz(path: &Path, arrays: &[(&str, Vec<usize>, &[f32])]) -> Result<(), DataError> {
    use std::io::Write;
    let p = path.display().to_string();
    let io = |e: std::io::Error| DataError::Io {
        path: p.clone(),
        reason: e.to_string(),
    };
    for (name, shape, data) in arrays {
        let n: usize = shape.iter().product();
        if n != data.len() || name.is_empty() || name.contains('/') {
            return Err(DataError::Argument {
                arg: "arrays",
                reason: format!(
                    "`{name}`: shape {shape:?} holds {n} values but {} were given (names must be non-empty, without '/')",
                    data.len()
                ),
            });
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, shape, data) in arrays {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let shape_text = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut header =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
        // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = Vec::with_capacity(10 + header.len() + 4 * data.len());
        bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for v in data.iter() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| format_err(&p, e.to_string()))?;
        zip.write_all(&bytes).map_err(io)?;
    }
    let file = zip.finish().map_err(|e| format_err(&p, e.to_string()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}
