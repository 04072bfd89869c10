//! # am-solvers: moving particles forward and backward, stochastically, with weights
//!
//! Over whole particle batches (candle tensors), generic over `am_core::VelocityField`:
//! - [`integrate`]: Euler, Heun, RK4 (fixed step) for dx/dt = v_t(x) (Eq. 1; Eq. 8 with v = ∇s,
//!   Eq. 22 with v = ∇c*(∇s)), forward or backward in time;
//! - [`integrate_adaptive`]: Dormand–Prince 5(4) with rtol/atol step control;
//! - [`euler_maruyama`]: dx = ∇s dt + ε_t dW (Eq. 10, 12);
//! - [`integrate_weighted`]: weighted particles dx/dt = ∇s, d log w/dt = λs (Eq. 18–19, 69), with
//!   self-normalised weights, effective sample size and systematic resampling;
//! - [`log_likelihood`]: Eq. 9 by the augmented ODE, exact or Hutchinson divergence;
//! - [`annealed_langevin`]: Algorithms 3 and 4 with a score model.
//!
//! Every result reports its number of function evaluations (NFE). No autograd graph is kept
//! between steps, so memory is flat in the number of steps.

pub mod adaptive;
pub mod error;
pub mod langevin;
pub mod likelihood;
pub mod ode;
pub mod sde;
pub mod weighted;

pub use adaptive::{integrate_adaptive, Dopri5Config};
pub use error::{Error, Result};
pub use langevin::{annealed_langevin, LangevinSchedule};
pub use likelihood::{
    log_likelihood, Divergence, GaussianDensity, Likelihood, LikelihoodSolver, LogDensity,
    StandardNormalDensity,
};
pub use ode::{integrate, Method, OdeConfig, Trajectory};
pub use sde::euler_maruyama;
pub use weighted::{
    effective_sample_size, integrate_weighted, normalized_weights, systematic_resample,
    WeightedTrajectory,
};
