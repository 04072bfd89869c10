//! Snapshot data: time-labelled samples read from users' files, validated, preprocessed, and
//! turned into a path q_t that the objectives can train on.
//!
//! - [`images`]: IDX (plain or gzipped), CIFAR-10 binary and the 8×8 digits CSV, mapped to [−1, 1];
//! - `h5ad` (feature `h5ad`): AnnData files, `X` dense or CSR or `obsm/X_pca`, time from `obs`;
//! - [`npy`]: `.npy` and `.npz` readers (plain or `np.savez_compressed`, C or Fortran order);
//! - [`csv`]: CSV snapshots (header or not, the time column by name or index);
//! - [`Snapshots`]: samples grouped by sorted time labels, with optional per-time masses;
//! - [`preprocess`]: standardisation fitted on training cells, first k dimensions, time labels
//!   mapped to [0, 1], leave-one-time-point-out, seeded train/test splits;
//! - [`MixturePath`]: q_t between snapshots as the mixture of its two neighbours (Sec. 4.1);
//! - [`OtPairedPath`]: displacement interpolation along exact OT couplings of neighbours.

pub mod csv;
pub mod error;
#[cfg(feature = "h5ad")]
pub mod h5ad;
pub mod images;
pub mod mixture;
pub mod npy;
pub mod ot_path;
pub mod preprocess;
pub mod snapshots;

pub use error::DataError;
pub use images::ImageSet;
pub use mixture::MixturePath;
pub use ot_path::OtPairedPath;
pub use snapshots::Snapshots;
