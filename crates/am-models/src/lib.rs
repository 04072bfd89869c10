//! # am-models: action networks s_θ(t, x)
//!
//! - [`Mlp`]: an MLP on [e(t), x] (raw t or a sinusoidal embedding e) with SiLU, tanh, softplus
//!   or GELU, whose input derivatives are computed **explicitly** with ordinary tensor ops —
//!   a reverse sweep for ∇x s and ∂t s, a forward jet when the Laplacian Δx s is needed — so
//!   that one first-order `backward()` gives ∇θ of any Action Matching loss, with no
//!   environment variable (see `am_core::double_backward` for the generic path).
//! - [`Head`]: how the network output h becomes the action: s = h, s = ½‖x − h‖² or s = ⟨h, x⟩.
//!
//! - [`VectorMlp`]: the same network read as a vector field f_θ(t, x) ∈ ℝᴰ (score and flow
//!   models of the baselines), with Jacobian-vector products in the forward pass.
//! - [`fused`]: the same MLP in host memory with a hand-derived θ-gradient: the fused CPU
//!   training step ([`FusedMlp::train_step`]) and a fast [`am_core::Action`] for sampling.
//!
//! - [`UNet`]: the image action s(t, x) = ⟨unet(t, x), x⟩ of App. E.2 (the DDPM U-Net layout),
//!   its derivatives by candle's double backward.
//!
//! Shapes: `t` `(N, 1)`, `x` `(N, D)`, `s` `(N, 1)`.

pub mod activation;
pub mod error;
pub mod fused;
mod jet;
pub mod mlp;
mod reverse;
pub mod time_embedding;
pub mod unet;
pub mod vector;

pub use activation::Activation;
pub use error::{Error, Result};
pub use fused::{FusedAdam, FusedLoss, FusedMlp};
pub use mlp::{Derivation, Head, Mlp, MlpConfig};
pub use time_embedding::TimeEmbedding;
pub use unet::{UNet, UNetConfig, UNetField};
pub use vector::VectorMlp;
