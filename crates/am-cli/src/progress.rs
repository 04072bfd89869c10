//! A progress display fed by the trainer's step reports: a bar on a terminal, a plain line every
//! tenth of the run otherwise (a log file, `nohup`), divergence warnings printed plainly.

use am_train::{StepReport, TrainEvent};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// See the module docs.
pub struct Progress {
    bar: ProgressBar,
    label: String,
    total: u64,
    started: std::time::Instant,
    plain: bool,
}

impl Progress {
    /// A display for `total` steps, starting at step `at`.
    pub fn new(label: &str, total: u64, at: u64) -> Self {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} {spinner} [{elapsed_precise}] {bar:30} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        bar.set_position(at);
        Self {
            bar,
            label: label.to_string(),
            total,
            started: std::time::Instant::now(),
            plain: !std::io::stderr().is_terminal(),
        }
    }

    /// Shows one step's report; prints its divergence warnings.
    pub fn show(&self, r: &StepReport) {
        for e in &r.events {
            if matches!(e, TrainEvent::Diverging { .. }) {
                self.bar.suspend(|| eprintln!("{}: {e}", self.label));
            }
        }
        let msg = format!("loss {:+.4} ‖∇θ‖ {:.2e}", r.loss, r.grad_norm);
        if r.step.is_multiple_of(10) || r.step == self.total {
            self.bar.set_position(r.step);
            self.bar.set_message(msg.clone());
        }
        let tenth = (self.total / 10).max(1);
        if self.plain && self.total >= 100 && (r.step.is_multiple_of(tenth) || r.step == self.total)
        {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "{}: step {}/{}, {msg}, {secs:.0} s",
                self.label, r.step, self.total
            );
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
