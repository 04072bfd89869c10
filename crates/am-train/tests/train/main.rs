//! Tests of am-train (one integration-test binary for the crate).

mod mock;
mod resume;
mod trainer;
