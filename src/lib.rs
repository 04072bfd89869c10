#![doc = include_str!("../README.md")]

pub use am_core as core;
pub use am_metrics as metrics;
pub use am_models as models;
pub use am_objectives as objectives;
pub use am_paths as paths;
pub use am_solvers as solvers;
pub use am_train as train;
