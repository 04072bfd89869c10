//! Images from a trained model and their likelihood (Sec. 4.3, App. E.2): sampling from noise
//! by the ODE dx/dt = v_t(x) from t = 0 to 1 (Dopri5 with the reference tolerances 1e-5, or a
//! fixed-step scheme), with the number of function evaluations; bits per dimension of test
//! images by Eq. 9 (the backward ODE with a Hutchinson divergence, one Rademacher probe per image
//! held fixed along the path) and the standard error over images.
//!
//! [`classifier`] trains the small evaluation classifier and [`mod@quality`] measures classifier FID
//! and IS with it.
//!
//! `v` is any velocity field: ∇s of a U-Net action (`GradientField`) or the flow-matching
//! U-Net itself (`am_models::UNetField`). Images are rows `(N, D)`, D = C·H·W, in [−1, 1].

pub mod baselines;
pub mod classifier;
pub mod quality;

pub use baselines::{sample_langevin, FieldScore, VpProbabilityFlow};
pub use classifier::{load_or_train, train_classifier, TrainedClassifier};
pub use quality::{
    feature_fid, features_of, fitted_gaussian, nearest_training_distance, quality, Quality,
};

use crate::{Error, Result};
use am_core::{DType, Device, SeededRng, Tensor, VelocityField};
use am_metrics::{bits_per_dim, DataMapping};
use am_solvers::{
    integrate, integrate_adaptive, log_likelihood, Divergence, Dopri5Config, LikelihoodSolver,
    OdeConfig, StandardNormalDensity,
};

/// How the ODE is integrated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver {
    /// Adaptive Dormand–Prince 5(4).
    Dopri5(Dopri5Config),
    /// A fixed-step scheme (Euler, Heun, RK4) with a number of steps.
    Fixed(OdeConfig),
}

impl Default for Solver {
    /// Dopri5 with rtol = atol = 1e-5 (the reference's evaluation sampler).
    fn default() -> Self {
        Solver::Dopri5(Dopri5Config::default())
    }
}

/// Samples and what they cost.
#[derive(Debug, Clone)]
pub struct Samples {
    /// `(N, D)` images at t = 1 (not clipped).
    pub images: Tensor,
    /// Function evaluations per image batch (each a forward and, for ∇s, a backward).
    pub nfe: usize,
}

/// `n` images: x₀ ~ N(0, I) (seeded) pushed from t = 0 to 1, in batches of `batch`.
pub fn sample(
    field: &dyn VelocityField,
    n: usize,
    batch: usize,
    solver: Solver,
    seed: u64,
    dtype: DType,
) -> Result<Samples> {
    sample_in(&crate::SingleProcess, field, n, batch, solver, seed, dtype)
}

/// x pushed from t = 0 to 1 by `solver`.
fn push(field: &dyn VelocityField, x: &Tensor, solver: Solver) -> Result<am_solvers::Trajectory> {
    Ok(match solver {
        Solver::Dopri5(c) => integrate_adaptive(field, x, 0.0, 1.0, c, &[])?,
        Solver::Fixed(c) => integrate(field, x, 0.0, 1.0, c, &[])?,
    })
}

/// Bits/dim of each image of `x` `(n, d)` by Eq. 9 (probes from `rng`), and the NFE.
fn batch_bits(
    field: &dyn VelocityField,
    x: &Tensor,
    levels: u32,
    solver: Solver,
    rng: &mut SeededRng,
) -> Result<(Vec<f64>, usize)> {
    let solver = match solver {
        Solver::Dopri5(c) => LikelihoodSolver::Adaptive(c),
        Solver::Fixed(c) => LikelihoodSolver::Fixed(c),
    };
    let d = x.dim(1)?;
    let l = log_likelihood(
        field,
        x,
        &StandardNormalDensity,
        Divergence::Hutchinson,
        solver,
        rng,
    )?;
    let bits = l
        .log_q1
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?
        .into_iter()
        .map(|v| Ok(bits_per_dim(v, d, DataMapping::Dequantized { levels })?))
        .collect::<Result<Vec<f64>>>()?;
    Ok((bits, l.nfe))
}

/// The test images' count, checked with the batch size.
fn test_count(test: &Tensor, batch: usize) -> Result<usize> {
    let (n, _) = test.dims2()?;
    if n == 0 || batch == 0 {
        return Err(Error::Argument {
            arg: "test",
            reason: "need ≥ 1 image in batches of ≥ 1".into(),
        });
    }
    Ok(n)
}

/// Bits per dimension of test images and how they were obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bpd {
    /// Mean over images.
    pub mean: f64,
    /// Standard error of the mean over images.
    pub stderr: f64,
    /// Images evaluated.
    pub images: usize,
    /// Evaluations of the augmented right-hand side (largest over batches).
    pub nfe: usize,
}

impl Bpd {
    /// The mean and its standard error over per-image values.
    fn of(bits: &[f64], nfe: usize) -> Self {
        let n = bits.len();
        let m = bits.iter().sum::<f64>() / n.max(1) as f64;
        let var = bits.iter().map(|b| (b - m).powi(2)).sum::<f64>() / (n as f64 - 1.0).max(1.0);
        Bpd {
            mean: m,
            stderr: (var / n.max(1) as f64).sqrt(),
            images: n,
            nfe,
        }
    }
}

/// Bits per dimension of `test` `(N, D)` (dequantised images x = 2(k + u)/L − 1 of `levels`
/// levels, so the offset is log₂(L/2)): −log q₁(x)/(D ln 2) + log₂(L/2) with log q₁ by Eq. 9
/// from q₀ = N(0, I), in batches of `batch`.
pub fn bits_per_dim_of(
    field: &dyn VelocityField,
    test: &Tensor,
    levels: u32,
    batch: usize,
    solver: Solver,
    seed: u64,
) -> Result<Bpd> {
    let n = test_count(test, batch)?;
    let mut rng = SeededRng::new(seed);
    let (mut bits, mut nfe) = (Vec::with_capacity(n), 0);
    for start in (0..n).step_by(batch) {
        let x = test.narrow(0, start, batch.min(n - start))?;
        let (b, e) = batch_bits(field, &x, levels, solver, &mut rng)?;
        bits.extend(b);
        nfe = nfe.max(e);
    }
    Ok(Bpd::of(&bits, nfe))
}

/// [`sample`] spread over the ranks of `collective`: the same x₀, each rank integrating batches
/// r, r + R, …; the same images (and NFE) as [`sample`] on every rank.
pub fn sample_in(
    collective: &dyn crate::Collective,
    field: &dyn VelocityField,
    n: usize,
    batch: usize,
    solver: Solver,
    seed: u64,
    dtype: DType,
) -> Result<Samples> {
    if n == 0 || batch == 0 {
        return Err(Error::Argument {
            arg: "n",
            reason: "need n ≥ 1 images in batches of ≥ 1".into(),
        });
    }
    let d = field.dim();
    let x0 = SeededRng::new(seed).normal_tensor(&[n, d], dtype, &Device::Cpu)?;
    // each image's pixels, then its batch's NFE
    let values = crate::parallel::map_chunks(collective, n, batch, d + 1, |_, r| {
        let traj = push(field, &x0.narrow(0, r.start, r.len())?, solver)?;
        let last = traj.last()?.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        Ok(last
            .into_iter()
            .flat_map(|row| row.into_iter().chain([traj.nfe as f64]))
            .collect())
    })?;
    let nfe = values
        .chunks(d + 1)
        .map(|row| row[d] as usize)
        .max()
        .unwrap_or(0);
    let pixels: Vec<f64> = values
        .chunks(d + 1)
        .flat_map(|row| row[..d].iter().copied())
        .collect();
    Ok(Samples {
        images: Tensor::from_vec(pixels, (n, d), &Device::Cpu)?.to_dtype(dtype)?,
        nfe,
    })
}

/// [`bits_per_dim_of`] spread over the ranks of `collective`: batch c of `batch` images draws
/// its Hutchinson probes from `SeededRng::for_shard(seed, 0, c)`, so the result is the same on
/// any number of ranks (and differs from [`bits_per_dim_of`]'s single stream only by the
/// probes drawn).
pub fn bits_per_dim_in(
    collective: &dyn crate::Collective,
    field: &dyn VelocityField,
    test: &Tensor,
    levels: u32,
    batch: usize,
    solver: Solver,
    seed: u64,
) -> Result<Bpd> {
    let n = test_count(test, batch)?;
    // each image's bits/dim and its batch's NFE
    let values = crate::parallel::map_chunks(collective, n, batch, 2, |c, r| {
        let x = test.narrow(0, r.start, r.len())?;
        let mut rng = SeededRng::for_shard(seed, 0, c as u64);
        let (bits, nfe) = batch_bits(field, &x, levels, solver, &mut rng)?;
        Ok(bits.into_iter().flat_map(|b| [b, nfe as f64]).collect())
    })?;
    let bits: Vec<f64> = values.chunks(2).map(|p| p[0]).collect();
    let nfe = values.chunks(2).map(|p| p[1] as usize).max().unwrap_or(0);
    Ok(Bpd::of(&bits, nfe))
}

/// The objective of generative AM on images (Algorithm 2): deterministic AM with ω(t) = 1 − t
/// (the reference), whose ω′ = −1 term enters the time integrand.
pub fn objective() -> Result<am_objectives::ActionMatching> {
    Ok(am_objectives::ActionMatching::new(
        am_objectives::AmConfig {
            weight: am_objectives::TimeWeight::OneMinusT,
            ..am_objectives::AmConfig::deterministic()
        },
    )?)
}

/// The reference training schedule scaled to `steps` (REFERENCES.md): Adam at `lr`, a linear
/// warm-up over min(5,000, 5 % of the run) steps then constant, every gradient element clipped to
/// ±1, EMA of the parameters with decay min(0.9999, 1 − 10/steps) (a time constant of at most
/// 10 % of the run), the quasi-random time sampler, `seed`.
pub fn training_config(steps: u64, batch: usize, lr: f64, seed: u64) -> crate::TrainConfig {
    let warmup = (steps / 20).clamp(1, 5000);
    let ema = (1.0 - 10.0 / steps.max(20) as f64).min(0.9999);
    crate::TrainConfig {
        schedule: crate::Schedule {
            warmup,
            decay: crate::Decay::Constant,
        },
        clip: am_core::train::Clip::Value(1.0),
        ema: Some(ema),
        seed,
        ..crate::TrainConfig::new(steps, batch, lr)
    }
}
