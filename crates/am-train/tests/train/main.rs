//! Tests of am-train (one integration-test binary for the crate).

mod baselines;
#[path = "../common/parallel_cases.rs"]
mod cases;
mod figures;
mod images;
mod mock;
mod parallel;
mod protocol;
mod resume;
mod trainer;
