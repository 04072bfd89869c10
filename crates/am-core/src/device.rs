//! Device choice: CPU by default, CUDA behind the `cuda` feature.

use crate::{Device, Result};

/// The CPU device.
pub fn cpu() -> Device {
    Device::Cpu
}

/// CUDA device `ordinal` when the crate is built with `cuda` and a GPU answers, else the CPU.
pub fn best(ordinal: usize) -> Device {
    Device::cuda_if_available(ordinal).unwrap_or(Device::Cpu)
}

/// Parse a device name: `cpu`, `cuda` or `cuda:K`.
pub fn parse(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::new_cuda(0)?),
        s if s.starts_with("cuda:") => {
            let k: usize = s[5..].parse().map_err(|_| crate::Error::OutOfRange {
                arg: "device",
                value: f64::NAN,
                allowed: "cpu | cuda | cuda:K",
            })?;
            Ok(Device::new_cuda(k)?)
        }
        _ => Err(crate::Error::config(
            "device",
            format!("unknown device `{name}` (cpu | cuda | cuda:K)"),
        )),
    }
}
