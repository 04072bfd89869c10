//! Data parallelism over processes: the [`Collective`] operations the trainer needs (sum
//! all-reduce of flat buffers, broadcast, rank and size) behind one trait, with
//! [`SingleProcess`] (no communication), [`LocalGroup`] (threads of one process as ranks, for
//! tests) and MPI behind the `mpi` feature (`mpi::MpiWorld`, the system's MPI library through
//! the `mpi` crate).
//!
//! How a step is split is the trainer's ([`crate::Trainer`] with `TrainConfig::shards`): the batch
//! is K fixed shards, shard k drawn from its own stream of (seed, step, k); rank r of R computes
//! shards r, r + R, …, so the union of a step does not depend on R. [`block`] and
//! [`gather`] serve the embarrassingly parallel evaluations (pushing particles, bits/dim, features).

mod local;
#[cfg(feature = "mpi")]
pub mod mpi;

pub use local::LocalGroup;

use crate::{Error, Result};
use std::sync::Arc;

/// The collective operations of a group of processes (ranks 0 … size − 1). Every rank must call
/// the same operations in the same order with buffers of the same length.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Replaces `buf` on every rank by the element-wise sum over ranks.
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()>;
    /// [`Collective::all_reduce_sum_f64`] for f32 (half the bytes, for f32 gradients).
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()>;
    /// Replaces `buf` on every rank by rank `root`'s.
    fn broadcast_f64(&self, buf: &mut [f64], root: usize) -> Result<()>;
    /// [`Collective::broadcast_f64`] for bytes (e.g. a NCCL unique id, a file's contents).
    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()>;
    /// Ends every process of the group at once with exit status `code`: what a rank that failed
    /// outside the trainer's agreed error path calls, so that no other rank waits forever.
    fn abort(&self, code: i32) -> !;
    /// What it is, e.g. `MPI (Open MPI v4.1.4), 2 ranks`.
    fn describe(&self) -> String;

    /// Whether this is rank 0 (the one that writes checkpoints and outputs).
    fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// The element-wise mean over ranks.
    fn all_reduce_mean_f64(&self, buf: &mut [f64]) -> Result<()> {
        self.all_reduce_sum_f64(buf)?;
        let n = self.size() as f64;
        buf.iter_mut().for_each(|x| *x /= n);
        Ok(())
    }
}

/// One process: every operation is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum_f64(&self, _: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn all_reduce_sum_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn broadcast_f64(&self, _: &mut [f64], root: usize) -> Result<()> {
        check_root(root, 1)
    }
    fn broadcast_bytes(&self, _: &mut [u8], root: usize) -> Result<()> {
        check_root(root, 1)
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
    fn describe(&self) -> String {
        "a single process".into()
    }
}

pub(crate) fn check_root(root: usize, size: usize) -> Result<()> {
    if root < size {
        Ok(())
    } else {
        Err(Error::Argument {
            arg: "root",
            reason: format!("rank {root} does not exist in a group of {size}"),
        })
    }
}

/// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec` of Open MPI or
/// MPICH, or Slurm's `srun` with PMI/PMIx), read from the variables they set.
pub fn launched_by_mpi() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// The group this process belongs to: MPI's world when built with the `mpi` feature and started
/// by an MPI launcher ([`launched_by_mpi`]), otherwise [`SingleProcess`]. Started by a launcher
/// without the feature, it refuses rather than run R copies of the same job.
pub fn from_environment() -> Result<Arc<dyn Collective>> {
    if !launched_by_mpi() {
        return Ok(Arc::new(SingleProcess));
    }
    #[cfg(feature = "mpi")]
    {
        Ok(Arc::new(mpi::MpiWorld::init()?))
    }
    #[cfg(not(feature = "mpi"))]
    {
        Err(Error::Collective(
            "started by an MPI launcher, but this build has no MPI support: rebuild with \
             `--features mpi` (it needs the system's MPI library, e.g. Debian's libopenmpi-dev)"
                .into(),
        ))
    }
}

/// The contiguous block of `0..items` that `rank` of `size` takes: the first `items % size`
/// ranks one item more than the others.
pub fn block(items: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    let size = size.max(1);
    let (q, r) = (items / size, items % size);
    let start = rank * q + rank.min(r);
    start..start + q + usize::from(rank < r)
}

/// Every rank's block of rows (`width` values each, rank r holding rows [`block`]`(rows, r, R)`),
/// assembled on every rank in rank order: each rank writes its rows into a zero buffer of all
/// rows and the buffers are summed, which is exact because the blocks are disjoint.
pub fn gather(
    collective: &dyn Collective,
    local: &[f64],
    rows: usize,
    width: usize,
) -> Result<Vec<f64>> {
    let mine = block(rows, collective.rank(), collective.size());
    if local.len() != mine.len() * width {
        return Err(Error::Argument {
            arg: "local",
            reason: format!(
                "rank {} holds rows {:?} of width {width}: {} values expected, {} given",
                collective.rank(),
                mine,
                mine.len() * width,
                local.len()
            ),
        });
    }
    let mut all = vec![0.0; rows * width];
    all[mine.start * width..mine.end * width].copy_from_slice(local);
    collective.all_reduce_sum_f64(&mut all)?;
    Ok(all)
}

/// Evaluates `items` in fixed chunks of `chunk` (chunk c holds items c·chunk …), rank r taking
/// chunks r, r + R, …: `eval(c, range)` returns `width` values per item of its chunk. Returns the
/// values of all items, in item order, on every rank; as the chunks are fixed, so is the result
/// whatever R is (give each chunk randomness of its own, e.g. `SeededRng::for_shard(seed, 0,
/// c)`). A chunk that fails fails the call on every rank: its own error where it failed,
/// [`Error::Collective`] on the others.
pub fn map_chunks(
    collective: &dyn Collective,
    items: usize,
    chunk: usize,
    width: usize,
    mut eval: impl FnMut(usize, std::ops::Range<usize>) -> Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    if chunk == 0 {
        return Err(Error::Argument {
            arg: "chunk",
            reason: "must be ≥ 1".into(),
        });
    }
    let chunks = items.div_ceil(chunk);
    // the values, then the number of failed ranks
    let mut all = vec![0.0; items * width + 1];
    let mut failure = None;
    for c in (collective.rank()..chunks).step_by(collective.size()) {
        let range = c * chunk..((c + 1) * chunk).min(items);
        match eval(c, range.clone()) {
            Ok(v) if v.len() == range.len() * width => {
                all[range.start * width..range.end * width].copy_from_slice(&v)
            }
            Ok(v) => {
                failure = Some(Error::Argument {
                    arg: "eval",
                    reason: format!(
                        "chunk {c}: {} values for {} items of width {width}",
                        v.len(),
                        range.len()
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
    all[items * width] = f64::from(u8::from(failure.is_some()));
    collective.all_reduce_sum_f64(&mut all)?;
    if let Some(e) = failure {
        return Err(e);
    }
    let failed = all[items * width];
    if failed > 0.0 {
        return Err(Error::Collective(format!(
            "{failed} of {} ranks failed in a parallel evaluation (see their own messages)",
            collective.size()
        )));
    }
    all.truncate(items * width);
    Ok(all)
}

/// Features of `images` `(N, …)` by `extractor`, in batches of `batch` spread over the ranks;
/// the `(N, F)` features (f64) on every rank, equal to one process's.
pub fn features_in(
    collective: &dyn Collective,
    extractor: &dyn am_metrics::FeatureExtractor,
    images: &am_core::Tensor,
    batch: usize,
) -> Result<am_core::Tensor> {
    let n = images.dim(0)?;
    let f = extractor.width();
    let flat = map_chunks(collective, n, batch, f, |_, r| {
        let x = images.narrow(0, r.start, r.len())?;
        Ok(extractor
            .features(&x)?
            .to_dtype(am_core::DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?)
    })?;
    Ok(am_core::Tensor::from_vec(flat, (n, f), images.device())?)
}
