//! # am-metrics: distances between particle clouds
//!
//! Every function names its convention, because the literature mixes them:
//! - [`mmd2`]: squared maximum mean discrepancy with a sum of Gaussian kernels, biased (V-statistic)
//!   or unbiased (U-statistic), computed in blocks so no full kernel matrix is ever held;
//! - [`w2_equal`]: W2 = √(min over assignments of the mean squared Euclidean distance) between
//!   equal-size uniform clouds (TrajectoryNet/torchcfm's "W2" = √`ot.emd2` on the squared cost);
//! - [`w1_equal`]: W1 = min mean Euclidean distance (NLSB's column, labelled "W2" in the paper's
//!   Table 1, is this one);
//! - [`assignment`]: the exact linear assignment solver underneath (shortest augmenting paths).

pub mod assignment;
pub mod error;
pub mod mmd;
pub mod wasserstein;

pub use assignment::assignment;
pub use error::{Error, Result};
pub use mmd::{mmd2, Kernel, MmdEstimator};
pub use wasserstein::{w1_equal, w2_equal};
