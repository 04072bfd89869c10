//! Self-describing model files: a safetensors file whose header metadata says what model it holds
//! (`am.kind`), in which version of this layout (`am.format`), with which configuration
//! (`am.config`, JSON), plus free `user.*` entries (e.g. the standardisation and time mapping of
//! the snapshots the model was trained on). Each model type writes and reads its own kind through
//! [`ModelFile`]; a foreign or older file fails with [`ModelFileError`], which says what is missing.
//!
//! Files are written atomically ([`write_atomic`]): a temporary file beside the target, flushed to
//! disk, then renamed over it.

use crate::{Device, Error, Result, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The layout version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const KIND: &str = "am.kind";
const FORMAT: &str = "am.format";
const CONFIG: &str = "am.config";
const USER: &str = "user.";
/// The metadata key that marks a training checkpoint (so that loading one as a model says so).
pub const CHECKPOINT_MARK: &str = "am.step";

/// Why a file is not a usable model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelFileError {
    /// The bytes are not a safetensors file.
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    /// The header holds no `am.*` metadata at all: parameters saved without their configuration
    /// (an older version of this library, or another program).
    #[error("the header has no model metadata (`am.kind`, `am.format`, `am.config`): parameters saved without their configuration, by an older version or another program; rebuild the model with its configuration and load the parameters into it")]
    NoMetadata,
    /// A training checkpoint was given where a model file was expected.
    #[error("this is a training checkpoint, not a model file: load it with the trainer's resume, or use the model file written beside it")]
    Checkpoint,
    /// A required metadata key is absent.
    #[error("the header lacks `{0}`")]
    MissingKey(&'static str),
    /// The file holds another kind of model.
    #[error("it holds a `{found}` model, not a `{expected}`")]
    WrongKind {
        /// The kind asked for.
        expected: String,
        /// The kind in the file.
        found: String,
    },
    /// The layout version is not one this build reads.
    #[error("layout version `{found}` is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// The configuration JSON does not parse or does not validate.
    #[error("`am.config` is not a valid configuration: {0}")]
    BadConfig(String),
    /// A tensor is missing or has the wrong shape.
    #[error("{0}")]
    Tensor(String),
}

impl ModelFileError {
    /// The error with the file it concerns.
    pub fn at(self, path: &Path) -> Error {
        Error::ModelFile {
            path: path.display().to_string(),
            problem: self,
        }
    }
}

/// The contents of a model file; see the module docs.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The model type, e.g. `mlp`.
    pub kind: String,
    /// The model's configuration as JSON.
    pub config: String,
    /// Free metadata (written under `user.`; the prefix is not part of the keys here).
    pub user: BTreeMap<String, String>,
    /// Named tensors (the parameters).
    pub tensors: HashMap<String, Tensor>,
}

impl ModelFile {
    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut meta = HashMap::new();
        meta.insert(KIND.to_string(), self.kind.clone());
        meta.insert(FORMAT.to_string(), FORMAT_VERSION.to_string());
        meta.insert(CONFIG.to_string(), self.config.clone());
        for (k, v) in &self.user {
            meta.insert(format!("{USER}{k}"), v.clone());
        }
        write_atomic(path, &self.tensors, meta)
    }

    /// Reads a model file of kind `kind`; tensors go to `device`.
    pub fn load(path: &Path, kind: &str, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        Self::from_bytes(&bytes, kind, device).map_err(|e| match e {
            Error::ModelFile { problem, .. } => problem.at(path),
            Error::File { reason, .. } => file_error(path, reason),
            e => e,
        })
    }

    /// [`ModelFile::load`] on bytes in memory (errors carry no path).
    pub fn from_bytes(bytes: &[u8], kind: &str, device: &Device) -> Result<Self> {
        let no_path = Path::new("");
        let meta = read_metadata(bytes).map_err(|p| p.at(no_path))?;
        let found = meta.get(KIND).ok_or_else(|| {
            if meta.contains_key(CHECKPOINT_MARK) {
                ModelFileError::Checkpoint.at(no_path)
            } else if meta.keys().any(|k| k.starts_with("am.")) {
                ModelFileError::MissingKey(KIND).at(no_path)
            } else {
                ModelFileError::NoMetadata.at(no_path)
            }
        })?;
        if found != kind {
            return Err(ModelFileError::WrongKind {
                expected: kind.to_string(),
                found: found.clone(),
            }
            .at(no_path));
        }
        let version = meta
            .get(FORMAT)
            .ok_or(ModelFileError::MissingKey(FORMAT).at(no_path))?;
        if version.parse::<u32>().ok() != Some(FORMAT_VERSION) {
            return Err(ModelFileError::UnsupportedVersion {
                found: version.clone(),
                supported: FORMAT_VERSION,
            }
            .at(no_path));
        }
        let config = meta
            .get(CONFIG)
            .ok_or(ModelFileError::MissingKey(CONFIG).at(no_path))?
            .clone();
        let user = meta
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(USER).map(|k| (k.to_string(), v.clone())))
            .collect();
        let tensors = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| ModelFileError::Tensor(e.to_string()).at(no_path))?;
        Ok(Self {
            kind: found.clone(),
            config,
            user,
            tensors,
        })
    }

    /// The metadata of a file without reading its tensors into memory as tensors: (kind, format,
    /// config, user entries), for tools that describe files.
    pub fn describe(path: &Path) -> Result<BTreeMap<String, String>> {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        read_metadata(&bytes)
            .map(|m| m.into_iter().collect())
            .map_err(|p| p.at(path))
    }
}

/// The header metadata of safetensors bytes (empty when the header has none).
pub fn read_metadata(bytes: &[u8]) -> std::result::Result<HashMap<String, String>, ModelFileError> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelFileError::NotSafetensors(e.to_string()))?;
    Ok(header.metadata().clone().unwrap_or_default())
}

pub(crate) fn file_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Writes named tensors and metadata as safetensors, atomically: a temporary file beside `path`,
/// synced, renamed over `path` (so a crash leaves the old file or the new one, never a torn one).
pub fn write_atomic(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    meta: HashMap<String, String>,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut named: Vec<(&String, &Tensor)> = tensors.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    safetensors::serialize_to_file(named, Some(meta), &tmp).map_err(|e| file_error(&tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))?;
    // the rename itself is durable once the directory is synced
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
