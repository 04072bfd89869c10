//! # am-objectives: the Action Matching losses
//!
//! One objective, [`ActionMatching`], covers every variant of the paper through its
//! configuration [`AmConfig`]; per sample it computes
//!
//! ```text
//! ω(0)·s(0, x₀) − ω(1)·s(1, x₁)
//!   + [ω(t)·(H(∇s) + ∂t s + ε_t²/2·Δs + λ/2·s²) + ω′(t)·s(t, x_t)] / p(t)
//! ```
//!
//! - AM (Eq. 7): H = ½‖·‖², ε = 0, λ = 0, ω ≡ 1, p uniform;
//! - entropic AM (Eq. 13): ε_t > 0, Δs exact or by a Rademacher Hutchinson probe;
//! - unbalanced AM (Eq. 20, with the growth weight λ of Eq. 69): λ > 0; combined with ε too;
//! - convex-cost AM (Sec. 3.3, Prop. B.2 / Eq. 52): H = c* of a [`am_core::ConvexCost`];
//! - the time weight ω with its ω′ term and importance weights 1/p(t) on the time term only
//!   (Appendix C, Eq. 84–87, with the boundary signs of Eq. 7 — Eq. 84 prints them reversed).
//!
//! The baselines' objectives ([`baselines`]): implicit and sliced score matching, conditional
//! flow matching, for any `am_core::VectorModel`.
//!
//! Time samplers ([`time`]): uniform, the √2 quasi-random sequence, and the adaptive p(t) of
//! Eq. 88.

pub mod baselines;
pub mod batch;
pub mod config;
pub mod error;
pub mod loss;
pub mod time;

pub use baselines::{
    flow_matching_loss, score_matching_loss, score_matching_terms, TraceEstimator,
};
pub use batch::PathSample;
pub use config::{AmConfig, Diffusion, LaplacianEstimator, TimeWeight};
pub use error::{Error, Result};
pub use loss::{ActionMatching, LossOutput};
pub use time::{AdaptiveState, AdaptiveTime, QuasiRandomTime, TimeBatch, TimeSampler, UniformTime};
