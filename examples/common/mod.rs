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

/// Runs `main`, printing an error plainly and exiting with status 1 on failure.
pub fn run(main: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
