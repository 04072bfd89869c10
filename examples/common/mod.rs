//! Helpers shared by the examples: argument parsing, PNG plots, the trainer with its progress
//! display.
#![allow(dead_code)]

pub mod args;
pub mod plot;
pub mod trainer;

/// Mean and sample standard deviation (n − 1; 0 for a single value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let s =
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0)).sqrt();
    (m, s)
}

/// The training path between snapshots: `ot` (the OT-paired path with Brownian-bridge noise ε)
/// or `mixture`.
pub fn snapshot_path(
    data: &action_matching::paths::Snapshots,
    kind: &str,
    eps: f64,
) -> Result<Box<dyn action_matching::core::Marginals>, Box<dyn std::error::Error>> {
    use action_matching::paths::{MixturePath, OtPairedPath};
    Ok(match kind {
        "ot" => Box::new(OtPairedPath::new(data)?.with_bridge_noise(eps)?),
        "mixture" => Box::new(MixturePath::new(data)),
        other => return Err(format!("--path: `{other}` is neither `ot` nor `mixture`").into()),
    })
}

/// Runs `main`, printing an error plainly and exiting with status 1 on failure.
pub fn run(main: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
