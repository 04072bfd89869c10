//! # am-solvers: moving particles along a velocity field
//!
//! Fixed-step integrators of dx/dt = v_t(x) (Eq. 1, Eq. 8 with v = ∇s) over a whole particle
//! batch: Euler, Heun and classical RK4, forward (t₀ < t₁) or backward (t₀ > t₁) in time, with
//! the states saved at requested times and the number of function evaluations (NFE) reported.
//! No autograd graph is kept between steps (memory is flat in the number of steps).

pub mod error;
pub mod ode;

pub use error::{Error, Result};
pub use ode::{integrate, Method, OdeConfig, Trajectory};
