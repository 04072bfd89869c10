//! # am-metrics: distances between particle clouds
//!
//! Every function names its convention, because the literature mixes them:
//! - [`mmd2`], [`mmd2_estimates`]: squared maximum mean discrepancy with a sum of Gaussian
//!   kernels, biased (V-statistic), unbiased (U-statistic) or paired (U-statistic for coupled
//!   clouds, e.g. particles pushed from the same x₀), computed in blocks so no full kernel matrix
//!   is held;
//! - [`w2_equal`]: W2 = √(min over assignments of the mean squared Euclidean distance) between
//!   equal-size uniform clouds (TrajectoryNet/torchcfm's "W2" = √`ot.emd2` on the squared cost);
//! - [`w1_equal`]: W1 = min mean Euclidean distance (NLSB's column, labelled "W2" in the paper's
//!   Table 1, is this one);
//! - [`w1`], [`w2`], [`transport`]: exact OT between weighted clouds of different sizes;
//! - [`sinkhorn`], [`sinkhorn_divergence`]: log-domain entropic OT on the device, by blocks;
//! - [`frechet_distance`] (FID), [`inception_score`], [`bits_per_dim`] with its data mapping;
//! - [`InceptionV3`]: the FID network (TF-port Inception-v3, 2048 pool3 features) with the
//!   reference protocol's resize and scaling, weights converted from TorchScript in Rust;
//! - [`Classifier`]: a small LeNet-style network whose features and logits give classifier FID
//!   and IS on small images;
//! - [`assignment`]: the exact linear assignment solver underneath (shortest augmenting paths).

pub mod bpd;
pub mod classifier;
mod clouds;
pub mod error;
pub mod fid;
pub mod inception;
pub mod mmd;
pub mod sinkhorn;
pub mod transport;
pub mod wasserstein;

pub use am_core::ot::assignment;
pub use bpd::{bits_per_dim, DataMapping};
pub use classifier::{Classifier, ClassifierConfig};
pub use error::{Error, Result};
pub use fid::{
    fid_from_features, frechet_distance, inception_score, FeatureExtractor, GaussianStats,
};
pub use inception::InceptionV3;
pub use mmd::{mmd2, mmd2_estimates, mmd2_weighted, Kernel, MmdEstimator};
pub use sinkhorn::{sinkhorn, sinkhorn_divergence, SinkhornConfig, SinkhornResult};
pub use transport::{transport, w1, w2, GroundCost, TransportPlan};
pub use wasserstein::{w1_equal, w2_equal};
