//! The fused MLP path (issue "Part 6"): the AM training step of an MLP action with hand-derived
//! derivatives, run on host slices with one `gemm` call per stacked layer product.
//!
//! - [`FusedMlp`] holds the parameters in one flat buffer; [`FusedMlp::loss_and_grad`] and
//!   [`FusedMlp::train_step`] evaluate the objective of an [`am_core::AmTerms`] batch (built by
//!   `am_objectives::ActionMatching::terms`) and its exact ∇θ; threads take row blocks of the
//!   batch; their gradients are summed (with ‖∇θ‖) and [`FusedAdam`] updates in one pass;
//! - the first-order kernel (deterministic and unbalanced AM) is reverse-over-forward
//!   ([`first_order`]); the jet kernel (entropic AM, exact or Hutchinson Laplacian) is a reverse
//!   pass through the stacked forward jet ([`jet_backward`]);
//! - σ, σ′, σ″, σ‴ come from one pass per layer (`activation.rs`); element-wise passes run on row
//!   blocks over rayon's threads, compiled for AVX-512/AVX2 at run time;
//! - heads: s = h and s = ½‖x − h‖² (`head.rs`);
//! - [`FusedMlp`] is also an [`am_core::Action`] for the samplers.
//!
//! The generic candle path of [`crate::Mlp`] is the reference: the tests require the same loss
//! and gradient to 1e-10 (f64) and 1e-5 (f32).

mod activation;
mod adam;
mod blocks;
mod denormal;
pub mod first_order;
mod forward;
mod head;
pub mod jet_backward;
mod matmul;
mod network;
mod real;
mod sampling;
mod step;
mod workspace;

pub use adam::FusedAdam;
pub use matmul::matmul_gflops;
pub use network::FusedMlp;
pub use real::{exp_f32, Real};
pub use step::FusedLoss;
