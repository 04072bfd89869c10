//! The `am` command; see the crate docs.

use am_cli::commands::{run, Cli};
use clap::Parser;

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.failure as i32);
    }
}
