//! The time sampler of a run, whose whole state is saved with its checkpoints.

use am_core::SeededRng;
use am_objectives::{
    AdaptiveState, AdaptiveTime, QuasiRandomTime, TimeBatch, TimeSampler, UniformTime,
};
use serde::{Deserialize, Serialize};

/// One of the three samplers of [`crate::TimeSamplerConfig`].
#[derive(Debug, Clone)]
pub enum Sampler {
    /// t ~ U[0, 1].
    Uniform(UniformTime),
    /// The √2 sequence.
    QuasiRandom(QuasiRandomTime),
    /// Eq. 88.
    Adaptive(Box<AdaptiveTime>),
}

/// The saved state of a [`Sampler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum SamplerState {
    Uniform,
    QuasiRandom(Option<f64>),
    Adaptive(AdaptiveState),
}

impl Sampler {
    /// Whether the sampler learns from the integrand (then each step feeds it back).
    pub fn is_adaptive(&self) -> bool {
        matches!(self, Sampler::Adaptive(_))
    }

    /// The adaptive sampler's current density on its grid, if adaptive.
    pub fn density(&self) -> Option<(&[f64], &[f64])> {
        match self {
            Sampler::Adaptive(a) => Some(a.density()),
            _ => None,
        }
    }

    pub(crate) fn state(&self) -> SamplerState {
        match self {
            Sampler::Uniform(_) => SamplerState::Uniform,
            Sampler::QuasiRandom(q) => SamplerState::QuasiRandom(q.position()),
            Sampler::Adaptive(a) => SamplerState::Adaptive(a.state()),
        }
    }

    /// Restores a saved state into a sampler of the same kind (the kinds were compared with the
    /// configuration already).
    pub(crate) fn restore(&mut self, state: &SamplerState) -> Result<(), String> {
        match (self, state) {
            (Sampler::Uniform(_), SamplerState::Uniform) => Ok(()),
            (Sampler::QuasiRandom(q), SamplerState::QuasiRandom(p)) => {
                *q = match p {
                    Some(u) if u.is_finite() => QuasiRandomTime::starting_at(*u),
                    Some(u) => return Err(format!("the quasi-random position is {u}")),
                    None => QuasiRandomTime::new(),
                };
                Ok(())
            }
            (Sampler::Adaptive(a), SamplerState::Adaptive(s)) => {
                **a = AdaptiveTime::from_state(s).map_err(|e| e.to_string())?;
                Ok(())
            }
            (_, s) => Err(format!("the sampler state {s:?} is of another kind")),
        }
    }
}

impl TimeSampler for Sampler {
    fn sample(&mut self, n: usize, rng: &mut SeededRng) -> TimeBatch {
        match self {
            Sampler::Uniform(s) => s.sample(n, rng),
            Sampler::QuasiRandom(s) => s.sample(n, rng),
            Sampler::Adaptive(s) => s.sample(n, rng),
        }
    }

    fn observe(&mut self, t: &[f64], integrand: &[f64]) {
        if let Sampler::Adaptive(s) = self {
            s.observe(t, integrand)
        }
    }
}
