//! Tests of am-train (one integration-test binary for the crate).

mod figures;
mod images;
mod mock;
mod parallel;
mod protocol;
mod resume;
mod trainer;
