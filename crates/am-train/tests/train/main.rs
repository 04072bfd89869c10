//! Tests of am-train (one integration-test binary for the crate).

mod figures;
mod mock;
mod protocol;
mod resume;
mod trainer;
