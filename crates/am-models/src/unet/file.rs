//! U-Net model files (`am_core::model_file`, kind `unet`): the parameters under their
//! [`UNet::named_vars`] names and the configuration in the header, so [`UNet::load`] rebuilds the
//! network from the file alone.

use super::{UNet, UNetConfig};
use am_core::candle::{DType, Device, Tensor};
use am_core::{ModelFile, ModelFileError, SeededRng};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The model-file kind of a U-Net.
pub const UNET_KIND: &str = "unet";

impl UNet {
    /// The parameters by name (copies).
    pub fn named_tensors(&self) -> am_core::Result<HashMap<String, Tensor>> {
        self.named_vars()
            .into_iter()
            .map(|(k, v)| Ok((k, v.as_tensor().copy()?)))
            .collect()
    }

    /// Sets every parameter from `map` (all names present, shapes equal); nothing is changed
    /// when an entry is missing or misshapen.
    pub fn load_named_tensors(&self, map: &HashMap<String, Tensor>) -> am_core::Result<()> {
        let vars = self.named_vars();
        for (name, var) in &vars {
            let t = map.get(name).ok_or_else(|| {
                am_core::Error::config("parameters", format!("tensor `{name}` is missing"))
            })?;
            if t.dims() != var.dims() {
                return Err(am_core::Error::config(
                    "parameters",
                    format!(
                        "tensor `{name}` has shape {:?}, the model needs {:?}",
                        t.dims(),
                        var.dims()
                    ),
                ));
            }
        }
        for (name, var) in vars {
            var.set(&map[&name].to_dtype(var.dtype())?.to_device(var.device())?)?;
        }
        Ok(())
    }

    /// Saves a self-describing model file with free metadata `user`.
    pub fn save_with(&self, path: &Path, user: &BTreeMap<String, String>) -> am_core::Result<()> {
        let config = serde_json::to_string(&self.config)
            .map_err(|e| am_core::Error::config("config", format!("cannot serialise: {e}")))?;
        ModelFile {
            kind: UNET_KIND.into(),
            config,
            user: user.clone(),
            tensors: self.named_tensors()?,
        }
        .save(path)
    }

    /// [`UNet::save_with`] without metadata.
    pub fn save(&self, path: &Path) -> am_core::Result<()> {
        self.save_with(path, &BTreeMap::new())
    }

    /// Rebuilds a U-Net from its file alone, on `device`, with its free metadata. Another kind
    /// of file, a bad configuration or missing/misshapen tensors are typed errors naming it.
    pub fn load_with_metadata(
        path: &Path,
        device: &Device,
    ) -> am_core::Result<(Self, BTreeMap<String, String>)> {
        let file = ModelFile::load(path, UNET_KIND, device)?;
        let config: UNetConfig = serde_json::from_str(&file.config)
            .map_err(|e| ModelFileError::BadConfig(e.to_string()).at(path))?;
        config
            .validate()
            .map_err(|e| ModelFileError::BadConfig(e.to_string()).at(path))?;
        let dtype = file
            .tensors
            .values()
            .next()
            .map(|t| t.dtype())
            .unwrap_or(DType::F32);
        if !matches!(dtype, DType::F32 | DType::F64) {
            return Err(ModelFileError::Tensor(format!("parameters of dtype {dtype:?}")).at(path));
        }
        let net = UNet::new(config, &mut SeededRng::new(0), dtype, device)?;
        net.load_named_tensors(&file.tensors)
            .map_err(|e| ModelFileError::Tensor(e.to_string()).at(path))?;
        Ok((net, file.user))
    }

    /// [`UNet::load_with_metadata`] without the metadata.
    pub fn load(path: &Path, device: &Device) -> am_core::Result<Self> {
        Ok(Self::load_with_metadata(path, device)?.0)
    }

    /// A deep copy (new variables, same values and dropout seed; training off).
    pub fn deep_copy(&self) -> am_core::Result<Self> {
        let (dtype, device) = {
            let v = self.out.w.as_tensor();
            (v.dtype(), v.device().clone())
        };
        let copy = UNet::new(self.config.clone(), &mut SeededRng::new(0), dtype, &device)?;
        copy.load_named_tensors(&self.named_tensors()?)?;
        copy.set_dropout_seed(self.dropout_seed.load(std::sync::atomic::Ordering::Relaxed));
        Ok(copy)
    }
}
