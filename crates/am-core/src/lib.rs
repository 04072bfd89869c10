//! # am-core: the shared layer of the Action Matching workspace
//!
//! Every other crate of the workspace speaks through this one:
//! - one candle version, re-exported as [`candle`] and [`candle_nn`];
//! - [`device`]: CPU by default, CUDA behind the `cuda` feature;
//! - [`Error`] / [`Result`]: typed errors naming the argument, field or file at fault;
//! - [`rng`]: seeded random numbers (never the thread RNG) turned into tensors;
//! - the vocabulary traits: [`Action`] (a scalar field s_t(x) and its derivatives),
//!   [`VelocityField`], [`Marginals`] and [`ConvexCost`];
//! - [`double_backward`]: the one documented place where candle's second-order autograd is
//!   switched on, with a probe that proves it works;
//! - [`train`]: Adam, EMA of parameters, linear warm-up and global-norm clipping;
//! - [`checkpoint`]: a run's whole state in one safetensors file, written atomically;
//! - [`model_file`]: self-describing model files (kind, layout version, configuration, user
//!   metadata in the safetensors header);
//! - [`terms`]: one minibatch of the AM objective resolved per sample, the contract with models
//!   that compute ∇θ by hand (the fused MLP step);
//! - [`memory`]: a counting global allocator, to measure the peak bytes of a call;
//! - [`ot`]: exact optimal transport (network simplex, assignment), shared by metrics and paths.
//!
//! Shapes follow one convention: `t` is `(N, 1)`, `x` is `(N, D)`, `s` is `(N, 1)`.

pub use candle_core as candle;
pub use candle_nn;

pub mod action;
pub mod check;
pub mod checkpoint;
pub mod cost;
pub mod device;
pub mod diffusion;
pub mod double_backward;
pub mod error;
pub mod marginals;
pub mod memory;
pub mod model_file;
pub mod ot;
pub mod rng;
pub mod score;
pub mod terms;
pub mod train;
pub mod velocity;
pub mod vp;

pub use action::{Action, ActionEval, Derivatives, LaplacianMode};
pub use candle_core::{DType, Device, Tensor, Var};
pub use checkpoint::Checkpoint;
pub use cost::{ConvexCost, PowerCost, QuadraticCost};
pub use diffusion::Diffusion;
pub use error::{Error, Result};
pub use marginals::Marginals;
pub use model_file::{ModelFile, ModelFileError};
pub use rng::SeededRng;
pub use score::{ScoreField, VectorModel};
pub use terms::{AmTerms, TermsLaplacian};
pub use velocity::{GradientField, VelocityField};
pub use vp::VpSchedule;
