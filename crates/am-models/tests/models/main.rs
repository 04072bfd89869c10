//! Tests of am-models (one integration-test binary for the crate).

mod derivatives;
mod double_backward;
mod model_file;
mod unet;
mod vector;
