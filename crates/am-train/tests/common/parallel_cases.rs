//! Data-parallel runs shared by the in-process tests (ranks as threads) and the MPI check
//! (`tests/mpi.rs` under `mpirun`): the same tiny f64 run of each engine on any collective.

#![allow(dead_code)]

use am_core::train::Clip;
use am_core::{DType, Device, Marginals, SeededRng, Tensor};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig};
use am_paths::data::ImageSet;
use am_paths::{GaussianPath, NoiseToImages};
use am_train::{
    AutogradEngine, Collective, Engine, FlowMatchingEngine, FusedEngine, RunOptions,
    TimeSamplerConfig, TrainConfig, Trainer,
};
use std::sync::Arc;

/// The engines a data-parallel run must agree for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Case {
    /// The fused host step of an MLP, in f64.
    Fused,
    /// candle's autograd on an MLP, f64.
    Autograd,
    /// Flow matching on a tiny U-Net, f64.
    FlowMatching,
}

pub const CASES: [Case; 3] = [Case::Fused, Case::Autograd, Case::FlowMatching];

/// Marginals that fail on their `at`-th call (1-based) when `fail` is set: a rank whose data
/// breaks in the middle of a run.
pub struct Failing<'a> {
    pub inner: &'a dyn Marginals,
    pub fail: bool,
    pub at: usize,
    pub calls: std::cell::Cell<usize>,
}

impl Marginals for Failing<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn sample(
        &self,
        t: &[f64],
        rng: &mut SeededRng,
        dtype: DType,
        device: &Device,
    ) -> am_core::Result<Tensor> {
        self.calls.set(self.calls.get() + 1);
        if self.fail && self.calls.get() >= self.at {
            return Err(am_core::Error::config(
                "marginals",
                "the data of this rank broke (injected)",
            ));
        }
        self.inner.sample(t, rng, dtype, device)
    }
}

pub fn config(steps: u64, shards: usize, time: TimeSamplerConfig) -> TrainConfig {
    TrainConfig {
        clip: Clip::GlobalNorm(0.5),
        ema: Some(0.9),
        time,
        seed: 7,
        shards: Some(shards),
        // the schedule of a 6-step run whatever `steps` says (a resume may change only that)
        steps,
        ..TrainConfig::new(6, 16, 1e-2)
    }
}

/// An f64 MLP whose initialisation depends on `seed` (each rank draws its own: the broadcast
/// must make them equal).
pub fn mlp(seed: u64) -> Mlp {
    mlp_of(seed, DType::F64)
}

/// The same MLP (D = 2, hidden 16, 16) in `dtype`.
pub fn mlp_of(seed: u64, dtype: DType) -> Mlp {
    Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![16, 16],
            ..Default::default()
        },
        &mut SeededRng::new(seed),
        dtype,
        &Device::Cpu,
    )
    .unwrap()
}

pub fn images() -> NoiseToImages {
    let mut rng = SeededRng::new(1);
    let set = ImageSet {
        pixels: (0..20 * 64).map(|_| rng.below(17) as u8).collect(),
        labels: (0..20).map(|i| (i % 10) as u8).collect(),
        shape: (1, 8, 8),
        levels: 17,
    };
    NoiseToImages::new(set, false).unwrap()
}

/// A tiny f64 U-Net on 8×8 images (dropout on, so resuming and sharding must redraw the same
/// masks).
pub fn unet(seed: u64) -> am_models::UNet {
    let config = am_models::UNetConfig {
        base: 4,
        groups: 2,
        dropout: 0.2,
        ..am_models::UNetConfig::digits()
    };
    am_models::UNet::new(config, &mut SeededRng::new(seed), DType::F64, &Device::Cpu).unwrap()
}

/// What a run ends with: the parameters and the EMA (flat), the adaptive density if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub params: Vec<f64>,
    pub ema: Vec<f64>,
    pub density: Option<Vec<f64>>,
    pub losses: Vec<f64>,
}

fn finish<E: Engine>(mut t: Trainer<E>, losses: Vec<f64>) -> Outcome {
    let ck = t.checkpoint().unwrap();
    Outcome {
        params: ck.tensors["params"].to_vec1::<f64>().unwrap(),
        ema: t.ema_params().unwrap().to_vec(),
        density: t.sampler().density().map(|(_, p)| p.to_vec()),
        losses,
    }
}

fn drive<E: Engine>(
    t: Trainer<E>,
    collective: Arc<dyn Collective>,
    marginals: &dyn Marginals,
    options: &RunOptions,
) -> am_train::Result<Outcome> {
    let mut t = t.with_collective(collective)?;
    let mut losses = Vec::new();
    t.run(marginals, options, |r| losses.push(r.loss))?;
    Ok(finish(t, losses))
}

/// One run of `case` on `collective` (each rank calls it): `steps` steps of K = `shards`.
pub fn run_case(
    case: Case,
    collective: Arc<dyn Collective>,
    shards: usize,
    steps: u64,
    time: TimeSamplerConfig,
    fail_at: Option<(usize, usize)>,
    options: &RunOptions,
) -> am_train::Result<Outcome> {
    let seed = 1 + 100 * collective.rank() as u64;
    let config = config(steps, shards, time);
    let objective = ActionMatching::new(AmConfig::entropic(0.3)).unwrap();
    let gaussian = GaussianPath::moving_and_scaling();
    let pictures = images();
    let inner: &dyn Marginals = match case {
        Case::FlowMatching => &pictures,
        _ => &gaussian,
    };
    let marginals = Failing {
        inner,
        fail: fail_at.is_some_and(|(rank, _)| rank == collective.rank()),
        at: fail_at.map(|(_, at)| at).unwrap_or(usize::MAX),
        calls: std::cell::Cell::new(0),
    };
    match case {
        Case::Fused => {
            let e = FusedEngine::<f64>::with_precision(mlp(seed), config.adam)?;
            drive(
                Trainer::new(e, objective, config)?,
                collective,
                &marginals,
                options,
            )
        }
        Case::Autograd => {
            let e = AutogradEngine::new(mlp(seed), config.adam)?;
            drive(
                Trainer::new(e, objective, config)?,
                collective,
                &marginals,
                options,
            )
        }
        Case::FlowMatching => {
            let field = am_models::UNetField { net: unet(seed) };
            let e = FlowMatchingEngine::new(field, config.adam)?;
            let objective = am_train::images::objective()?;
            drive(
                Trainer::new(e, objective, config)?,
                collective,
                &marginals,
                options,
            )
        }
    }
}

/// The largest |a − b| / max(1, |b|) over two equally long vectors.
pub fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}
