//! The data-parallel step of a [`Trainer`] (`TrainConfig::shards = Some(K)`): the batch is K
//! shards of B/K samples, shard k drawn with its own generator `SeededRng::for_shard(seed, step,
//! k)` (times, samples, probes) and, for the quasi-random sampler, at its own place in the step's
//! stretch of the √2 sequence. Rank r of R computes shards r, r + R, …: each adds
//! (1/K)·∇θ L_k into one flat gradient. One sum all-reduce then gives every rank
//!
//! - the step's gradient Σ_k (1/K)·∇θ L_k (the whole batch's mean, as one process would get);
//! - its loss;
//! - every shard's times and integrands, in shard order (for the adaptive sampler, so its
//!   statistics are the same on every rank);
//! - the number of ranks that failed.
//!
//! Every rank then applies the same clip and Adam update. A rank whose shard failed (bad data, a
//! non-finite value) reports its own error and the others [`Error::PeerFailed`] at the same step,
//! so no rank is left waiting in a collective. The gradient travels in the model's precision (f32
//! for f32 models: 4 bytes a parameter), the rest in f64.

use crate::engine::Engine;
use crate::sampler::Sampler;
use crate::{Error, Result, StepReport, Trainer};
use am_core::{DType, Marginals, SeededRng};
use am_objectives::{PathSample, QuasiRandomTime};

/// The stream index of the quasi-random sequence's random start (no shard has it).
const QUASI_START: u64 = u64::MAX;

/// The bytes one rank sends into the all-reduce of a data-parallel step of `params` parameters in
/// `dtype` with batch `batch`: the gradient, then loss, failures, times and integrands in f64.
pub fn bytes_per_step(params: usize, dtype: DType, batch: usize) -> usize {
    let width = if dtype == DType::F32 { 4 } else { 8 };
    params * width + 8 * (2 + 2 * batch)
}

impl<E: Engine> Trainer<E> {
    /// The quasi-random sequence's position before this step (drawn from the seed at the first).
    fn quasi_start(&self) -> Option<f64> {
        match &self.sampler {
            Sampler::QuasiRandom(q) => Some(q.position().unwrap_or_else(|| {
                SeededRng::for_shard(self.config.seed, 0, QUASI_START).uniform()
            })),
            _ => None,
        }
    }

    /// The time sampler of shard `k` (of `size` samples) of this step.
    fn shard_sampler(&self, start: Option<f64>, k: usize, size: usize) -> Sampler {
        match start {
            Some(u0) => Sampler::QuasiRandom(QuasiRandomTime::starting_at(
                u0 + ((k * size) as f64 * std::f64::consts::SQRT_2).rem_euclid(1.0),
            )),
            None => self.sampler.clone(),
        }
    }

    /// One data-parallel step on batches drawn from `marginals`; see the module docs.
    pub(crate) fn step_sharded(
        &mut self,
        marginals: &dyn Marginals,
        shards: usize,
    ) -> Result<StepReport> {
        // the gradient buffer lives across steps; its length is learnt once
        let mut grad = std::mem::take(&mut self.shard_grad);
        if grad.is_empty() {
            self.engine.params_into(&mut self.scratch)?;
            grad.resize(self.scratch.len(), 0.0);
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        let out = self.sharded_step_into(marginals, shards, &mut grad);
        self.shard_grad = grad;
        out
    }

    fn sharded_step_into(
        &mut self,
        marginals: &dyn Marginals,
        shards: usize,
        grad: &mut [f64],
    ) -> Result<StepReport> {
        let k_step = self.step + 1;
        let lr = self.lr_at(k_step);
        let batch = self.config.batch;
        let size = batch / shards;
        let (rank, ranks) = (self.collective.rank(), self.collective.size());
        let (dtype, device) = self.engine.placement();
        let start = self.quasi_start();
        // loss, failures, then the times and integrands of all shards
        let mut meta = vec![0.0; 2 + 2 * batch];
        let mut failure = None;
        for k in (rank..shards).step_by(ranks) {
            let mut rng = SeededRng::for_shard(self.config.seed, k_step, k as u64);
            let mut sampler = self.shard_sampler(start, k, size);
            let out = PathSample::draw(marginals, size, &mut sampler, &mut rng, dtype, &device)
                .map_err(Error::from)
                .and_then(|b| {
                    let times = b.times()?;
                    let out = self.engine.accumulate(
                        &self.objective,
                        &b,
                        1.0 / shards as f64,
                        grad,
                        &mut rng,
                    )?;
                    Ok((times, out))
                });
            match out {
                Ok((times, out)) if out.integrand.len() == size && times.len() == size => {
                    meta[0] += out.loss / shards as f64;
                    meta[2 + k * size..2 + (k + 1) * size].copy_from_slice(&times);
                    meta[2 + batch + k * size..2 + batch + (k + 1) * size]
                        .copy_from_slice(&out.integrand);
                }
                Ok((times, out)) => {
                    failure = Some(Error::Argument {
                        arg: "engine",
                        reason: format!(
                            "shard {k}: {} times and {} integrand values for {size} samples",
                            times.len(),
                            out.integrand.len()
                        ),
                    });
                    break;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_some() {
            meta[1] = 1.0;
        }
        self.reduce(grad, dtype)?;
        self.collective.all_reduce_sum_f64(&mut meta)?;
        let failed = meta[1].round() as usize;
        if let Some(e) = failure {
            return Err(self.at_step(e, k_step));
        }
        if failed > 0 {
            return Err(Error::PeerFailed {
                step: k_step,
                failed,
                ranks,
            });
        }
        let loss = meta[0];
        let grad_norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if !loss.is_finite() || !grad_norm.is_finite() {
            return Err(self.at_step(
                Error::NonFinite {
                    step: k_step,
                    loss,
                    grad_norm,
                    checkpoint: None,
                },
                k_step,
            ));
        }
        self.config.clip.apply_flat(grad, grad_norm);
        self.engine.apply(grad, lr)?;
        if let Some(u0) = start {
            self.sampler = Sampler::QuasiRandom(QuasiRandomTime::starting_at(
                u0 + ((batch as f64) * std::f64::consts::SQRT_2).rem_euclid(1.0),
            ));
        }
        if self.sampler.is_adaptive() {
            let (times, integrand) = meta[2..].split_at(batch);
            use am_objectives::TimeSampler;
            self.sampler.observe(times, integrand);
        }
        self.finish_step(k_step, lr, loss, grad_norm)
    }

    /// Sums the gradient over ranks, in f32 for f32 models.
    fn reduce(&self, grad: &mut [f64], dtype: DType) -> Result<()> {
        if self.collective.size() == 1 {
            return Ok(());
        }
        if dtype == DType::F32 {
            let mut g: Vec<f32> = grad.iter().map(|&x| x as f32).collect();
            self.collective.all_reduce_sum_f32(&mut g)?;
            grad.iter_mut().zip(g).for_each(|(o, x)| *o = x as f64);
            Ok(())
        } else {
            self.collective.all_reduce_sum_f64(grad)
        }
    }
}
