//! Helpers shared by the examples: argument parsing, the trainer with its progress
//! display.
#![allow(dead_code)]

pub mod args;
pub mod trainer;

/// Runs `main`, printing an error plainly and exiting with status 1 on failure.
pub fn run(main: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
