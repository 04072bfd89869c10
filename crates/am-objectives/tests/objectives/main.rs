//! Tests of am-objectives (one integration-test binary for the crate).

mod baselines;
mod estimators;
mod fused;
mod gradients;
mod learning;
mod masses;
mod time_samplers;
mod validation;
