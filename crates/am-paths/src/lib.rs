//! # am-paths: where samples of q_t come from
//!
//! - [`gaussian`]: Gaussian paths q_t = N(μ_t, Σ_t) (isotropic, diagonal, full) with every closed
//!   form of the paper's theory — the exact deterministic, entropic, unbalanced and convex-cost
//!   actions, their kinetic and growth energies, and closed-form values of the AM objectives for
//!   quadratic actions. They are the oracles every test of the workspace is checked against.
//! - [`interpolant`]: paths defined by interpolating between a source and a target sampler,
//!   e.g. N(0, I) → a Gaussian mixture by x_t = (1 − t)x₀ + t·x₁ (the quickstart's path).
//!
//! - [`branching`]: seeded branching-and-merging time courses (Fig. 2) and a petal set;
//! - [`hydrogen`]: the hydrogen atom of Sec. 4.2 in the reference units (a₀ = 4π): |ψ|² sampling by
//!   Metropolis–Hastings, Bohmian trajectories, the exact action T·arg ψ;
//! - [`image_paths`]: the generative interpolants of Sec. 4.3 (linear, general, VP-SDE,
//!   super-resolution as the paper states it and as the reference code does it, colourisation);
//! - [`oned`]: exact oracles in one dimension (v* = −∂tF/q; the unbalanced action by a tridiagonal
//!   solve) and the moving mixture of App. E.3;
//! - [`data`]: snapshot data sets from `.npy`/`.npz`/CSV files, validated, preprocessed and
//!   interpolated by mixtures of neighbouring snapshots.
//!
//! Time runs from q₀ (t = 0) to q₁ (t = 1). γ_t is a Gaussian path's spread.

pub mod branching;
pub mod data;
pub mod error;
pub mod gaussian;
pub mod generative;
pub mod hydrogen;
pub mod image_paths;
pub mod interpolant;
pub mod oned;
pub mod quadrature;

pub use data::{DataError, MixturePath, OtPairedPath, Snapshots};
pub use error::{Error, Result};
pub use gaussian::{GaussianPath, Quadratic, QuadraticAction};
pub use generative::NoiseToImages;
pub use interpolant::{GaussianMixture, LinearInterpolant, PointSampler, StandardNormal};
pub use oned::{unbalanced_action_1d, Mixture1d};
