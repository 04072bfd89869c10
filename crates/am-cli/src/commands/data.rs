//! The data options shared by the subcommands: a file and its keys, and an optional seeded split
//! into training and test cells (the same split in `fit` and `eval` for the same options).

use crate::failure::CliError;
use am_paths::Snapshots;
use am_train::snapshots::SnapshotSource;
use clap::Args;
use std::path::PathBuf;

/// Where the snapshots are.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Snapshots: .npz (samples and time labels), .csv (one row per cell, a time column) or
    /// .h5ad (built with --features h5ad).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// npz: the samples array, (N, D).
    #[arg(long, default_value = "X", value_name = "KEY")]
    pub x_key: String,
    /// npz: the time labels, (N,); h5ad: the obs column.
    #[arg(long, default_value = "t", value_name = "KEY")]
    pub t_key: String,
    /// h5ad: samples from obsm/KEY (e.g. X_pca) instead of X.
    #[arg(long, value_name = "KEY")]
    pub obsm: Option<String>,
    /// csv: the time column, by header name or 0-based index.
    #[arg(long, default_value = "t", value_name = "COLUMN")]
    pub time_column: String,
    /// csv: the first row is data, not a header.
    #[arg(long)]
    pub no_header: bool,
    /// Hold out this fraction of every time point's cells (seeded by --split-seed): `fit`
    /// trains on the rest, `eval` tests on them.
    #[arg(long, value_name = "FRACTION")]
    pub split: Option<f64>,
    /// The seed of --split.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub split_seed: u64,
}

impl DataArgs {
    /// The source of `file` with these keys.
    pub fn source(&self, file: &std::path::Path) -> SnapshotSource {
        SnapshotSource {
            x_key: self.x_key.clone(),
            t_key: self.t_key.clone(),
            obsm: self.obsm.clone(),
            time_column: self.time_column.clone(),
            header: !self.no_header,
            ..SnapshotSource::new(file)
        }
    }

    /// The cells of --data, and the held-out part when --split is given.
    pub fn load(&self) -> Result<(Snapshots, Option<Snapshots>), CliError> {
        let all = self.source(&self.data).load()?;
        match self.split {
            Some(f) => {
                let (train, test) = all.split(f, self.split_seed)?;
                Ok((train, Some(test)))
            }
            None => Ok((all, None)),
        }
    }
}
