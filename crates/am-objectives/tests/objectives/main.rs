//! Tests of am-objectives (one integration-test binary for the crate).

mod baselines;
mod estimators;
mod fused;
mod gradients;
mod learning;
mod masses;
mod properties;
mod time_samplers;
mod unet;
mod validation;
