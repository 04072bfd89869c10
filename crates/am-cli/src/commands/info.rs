//! `am info`: what a model file or a training checkpoint holds.

use crate::failure::{CliError, Failure};
use clap::Args;
use std::path::PathBuf;

/// `am info` options.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// A model file or a checkpoint.
    pub file: PathBuf,
}

fn pretty(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| s.to_string())
        .replace('\n', "\n    ")
}

/// Runs `am info`.
pub fn run(a: InfoArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&a.file)
        .map_err(|e| CliError::new(Failure::Data, format!("{}: {e}", a.file.display())))?;
    let meta = am_core::model_file::read_metadata(&bytes).map_err(|p| p.at(&a.file))?;
    let tensors = am_core::candle::safetensors::load_buffer(&bytes, &am_core::Device::Cpu)
        .map_err(|e| CliError::new(Failure::Model, format!("{}: {e}", a.file.display())))?;
    let mut names: Vec<_> = tensors.iter().collect();
    names.sort_by(|x, y| x.0.cmp(y.0));
    let params: usize = names.iter().map(|(_, t)| t.elem_count()).sum();
    println!("{} ({} bytes)", a.file.display(), bytes.len());
    if let Some(kind) = meta.get("am.kind") {
        println!(
            "model file: kind `{kind}`, layout version {}",
            meta.get("am.format").map(String::as_str).unwrap_or("?")
        );
        if let Some(c) = meta.get("am.config") {
            println!("  configuration:\n    {}", pretty(c));
        }
        let mut user: Vec<_> = meta
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("user.").map(|k| (k, v)))
            .collect();
        user.sort();
        for (k, v) in user {
            println!("  {k}:\n    {}", pretty(v));
        }
    } else if let Some(step) = meta.get("am.step") {
        println!("training checkpoint at step {step}");
        if let Ok(extra) = serde_json::from_str::<std::collections::BTreeMap<String, String>>(
            meta.get("am.extra").map(String::as_str).unwrap_or("{}"),
        ) {
            for (k, v) in extra {
                println!("  {k}: {}", pretty(&v));
            }
        }
    } else {
        println!("no model metadata: parameters saved without their configuration (an older version or another program)");
    }
    println!("{} tensors, {params} values:", names.len());
    for (name, t) in names {
        println!("  {name}: {:?} {:?}", t.dtype(), t.dims());
    }
    Ok(())
}
