//! Training checkpoints: the whole state of a run — named tensors (parameters, optimiser moments,
//! EMA), the step, the RNG state and the run's configuration — in one safetensors file (the
//! scalars in its header metadata), written atomically: a temporary file beside the target,
//! flushed to disk, then renamed over it, so a crash leaves either the old or the new checkpoint.

use crate::model_file::file_error;
use crate::rng::RngState;
use crate::{Device, Error, Result, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const STEP: &str = "am.step";
const RNG: &str = "am.rng";
const CONFIG: &str = "am.config";
const EXTRA: &str = "am.extra";

/// The state of a training run; see the module docs.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Named tensors: parameters, optimiser moments, EMA.
    pub tensors: HashMap<String, Tensor>,
    /// Steps taken.
    pub step: u64,
    /// The RNG state after `step` steps.
    pub rng: RngState,
    /// The run's configuration as JSON (compared on resume).
    pub config: String,
    /// Further named values (e.g. the best held-out loss so far).
    pub extra: BTreeMap<String, String>,
    /// The file it was read from (empty for a checkpoint built in memory), for error messages.
    pub source: String,
}

impl Checkpoint {
    /// Writes the checkpoint atomically (temporary file, sync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut meta = HashMap::new();
        meta.insert(STEP.to_string(), self.step.to_string());
        meta.insert(
            RNG.to_string(),
            serde_json::to_string(&self.rng).map_err(|e| file_error(path, e))?,
        );
        meta.insert(CONFIG.to_string(), self.config.clone());
        meta.insert(
            EXTRA.to_string(),
            serde_json::to_string(&self.extra).map_err(|e| file_error(path, e))?,
        );
        crate::model_file::write_atomic(path, &self.tensors, meta)
    }

    /// Reads a checkpoint written by [`Checkpoint::save`]; tensors go to `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| file_error(path, format!("not a safetensors file: {e}")))?;
        let meta = header
            .metadata()
            .clone()
            .ok_or_else(|| file_error(path, "no checkpoint metadata in the header"))?;
        let get = |key: &str| {
            meta.get(key)
                .ok_or_else(|| file_error(path, format!("header lacks `{key}`")))
        };
        let step = get(STEP)?
            .parse()
            .map_err(|e| file_error(path, format!("`{STEP}`: {e}")))?;
        let rng = serde_json::from_str(get(RNG)?)
            .map_err(|e| file_error(path, format!("`{RNG}`: {e}")))?;
        let extra = serde_json::from_str(get(EXTRA)?)
            .map_err(|e| file_error(path, format!("`{EXTRA}`: {e}")))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| file_error(path, e))?;
        Ok(Self {
            tensors,
            step,
            rng,
            config: get(CONFIG)?.clone(),
            extra,
            source: path.display().to_string(),
        })
    }

    /// The tensor `name`, or an error naming the file's missing entry.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| Error::File {
            path: self.source.clone(),
            reason: format!("checkpoint lacks tensor `{name}`"),
        })
    }
}
