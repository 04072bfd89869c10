//! The divergence watch and the events a run reports (the library never prints: the caller
//! decides how to show them).

use crate::WatchConfig;
use serde::{Deserialize, Serialize};

/// Something the caller should know about, reported with the step it happened at.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// ‖∇θ‖ or −loss passed the watch's factor over its baseline: the objective is running off
    /// to −∞ while the loss still "improves" (e.g. a path between snapshots that barely overlap).
    Diverging {
        /// The step.
        step: u64,
        /// Its loss.
        loss: f64,
        /// Its gradient norm.
        grad_norm: f64,
        /// The largest |loss| of the baseline steps.
        loss_baseline: f64,
        /// The largest ‖∇θ‖ of the baseline steps.
        grad_baseline: f64,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// The step it holds.
        step: u64,
        /// Where.
        path: String,
    },
    /// The run continued from a checkpoint.
    Resumed {
        /// The step it held.
        step: u64,
        /// Where.
        path: String,
    },
}

impl std::fmt::Display for TrainEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainEvent::Diverging {
                step,
                loss,
                grad_norm,
                loss_baseline,
                grad_baseline,
            } => write!(
                f,
                "WARNING at step {step}: loss {loss:+.3e}, ‖∇θ‖ = {grad_norm:.2e} (largest over the \
                 first steps: |loss| {loss_baseline:.2e}, ‖∇θ‖ {grad_baseline:.2e}). The objective \
                 is running off to −∞: training is diverging although the loss keeps falling. The \
                 path between the data's time points probably has unbounded kinetic energy \
                 (neighbouring snapshots that barely overlap): use the OT-paired path, smooth the \
                 data, or stop early by the held-out loss."
            ),
            TrainEvent::Checkpoint { step, path } => {
                write!(f, "checkpoint of step {step} written to {path}")
            }
            TrainEvent::Resumed { step, path } => write!(f, "resumed from {path} at step {step}"),
        }
    }
}

/// The watch's state (saved with checkpoints, so a resumed run raises the same events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Watch {
    seen: u64,
    grad_max: f64,
    loss_max: f64,
    raised: bool,
}

impl Watch {
    pub(crate) fn observe(
        &mut self,
        config: &WatchConfig,
        step: u64,
        loss: f64,
        grad_norm: f64,
    ) -> Option<TrainEvent> {
        if self.seen < config.baseline {
            self.seen += 1;
            self.grad_max = self.grad_max.max(grad_norm);
            self.loss_max = self.loss_max.max(loss.abs());
            return None;
        }
        if self.raised {
            return None;
        }
        if grad_norm > config.factor * self.grad_max
            || (loss < 0.0 && -loss > config.factor * self.loss_max)
        {
            self.raised = true;
            return Some(TrainEvent::Diverging {
                step,
                loss,
                grad_norm,
                loss_baseline: self.loss_max,
                grad_baseline: self.grad_max,
            });
        }
        None
    }
}
