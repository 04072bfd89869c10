//! Tests of am-paths (one integration-test binary for the crate).

mod data;
mod hydrogen;
mod identities;
mod images;
mod oned;
mod properties;
mod sampling;
