//! Helpers shared by the examples: argument parsing, progress bars, PNG plots, the training loop
//! (fused or generic engine, checkpoints).
#![allow(dead_code)]

pub mod args;
pub mod plot;
pub mod trainer;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar for `total` training steps, showing loss and speed.
pub fn progress(total: u64) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix} {spinner} [{elapsed_precise}] {bar:30} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .expect("valid template"),
    );
    pb
}

/// When stderr is not a terminal (a log file, `nohup`), progress bars are hidden: this prints a
/// plain line at every tenth of `total` (for runs of ≥ 100 steps) instead, so long runs still
/// show where they are.
pub fn plain_progress(label: &str, k: u64, total: u64, started: std::time::Instant, msg: &str) {
    use std::io::IsTerminal;
    let tenth = (total / 10).max(1);
    if total >= 100 && !std::io::stderr().is_terminal() && (k % tenth == 0 || k == total) {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("{label}: step {k}/{total}, {msg}, {secs:.0} s");
    }
}

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
