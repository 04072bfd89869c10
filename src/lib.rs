//! # action-matching
//!
//! Action Matching (Neklyudov et al., ICML 2023): learning the dynamics of a system from samples
//! of its time marginals. This facade only re-exports the workspace's crates; import a single
//! crate where that is all you need.
//!
//! | crate | what it holds |
//! |---|---|
//! | [`core`] | candle re-exports, errors, seeded RNG, the `Action`/`VelocityField`/`Marginals`/`ConvexCost` traits, Adam/EMA/warm-up/clipping, the double-backward probe |
//! | [`paths`] | Gaussian paths with exact actions and closed-form objectives; interpolants |
//! | [`models`] | the MLP action with explicit input derivatives |
//! | [`objectives`] | the AM objectives (Eq. 7, 13, 20/69, B.2, App. C) and time samplers |
//! | [`solvers`] | particle integrators |
//! | [`metrics`] | MMD², exact W1/W2 |

pub use am_core as core;
pub use am_metrics as metrics;
pub use am_models as models;
pub use am_objectives as objectives;
pub use am_paths as paths;
pub use am_solvers as solvers;
pub use am_train as train;
