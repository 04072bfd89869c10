//! The MPI group of the processes an MPI launcher started (`mpirun -np R …`, Slurm's `srun`),
//! through the `mpi` crate over the system's MPI library (Open MPI or MPICH).

use super::{check_root, Collective};
use crate::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use std::sync::Mutex;

/// MPI's world communicator; MPI is finalised when this is dropped. MPI is initialised with
/// `MPI_THREAD_SERIALIZED` and every call holds one lock, so it may be shared between threads
/// (the communicator handle is taken afresh for each call, never stored).
pub struct MpiWorld {
    lock: Mutex<()>,
    rank: usize,
    size: usize,
    library: String,
    // dropped last: finalises MPI
    _universe: Universe,
}

impl std::fmt::Debug for MpiWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiWorld")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("library", &self.library)
            .finish()
    }
}

impl MpiWorld {
    /// Initialises MPI (once per process) and takes its world communicator.
    pub fn init() -> Result<Self> {
        let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| {
                Error::Collective("MPI is already initialised in this process".into())
            })?;
        if threading < mpi::Threading::Serialized {
            return Err(Error::Collective(format!(
                "the MPI library provides the thread level {threading:?}; serialised calls \
                 from several threads are needed"
            )));
        }
        let world = universe.world();
        let library = mpi::environment::library_version()
            .map(|v| {
                // "Open MPI v4.1.4, package: …": the name and version
                let first = v.lines().next().unwrap_or("");
                first.split(',').next().unwrap_or(first).trim().to_string()
            })
            .unwrap_or_else(|_| "unknown".into());
        Ok(Self {
            rank: world.rank() as usize,
            size: world.size() as usize,
            lock: Mutex::new(()),
            library,
            _universe: universe,
        })
    }

    /// The world communicator and the lock that serialises its use.
    fn world(&self) -> (SimpleCommunicator, std::sync::MutexGuard<'_, ()>) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        (SimpleCommunicator::world(), guard)
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()> {
        let send = buf.to_vec();
        let (world, _g) = self.world();
        world.all_reduce_into(&send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()> {
        let send = buf.to_vec();
        let (world, _g) = self.world();
        world.all_reduce_into(&send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn broadcast_f64(&self, buf: &mut [f64], root: usize) -> Result<()> {
        check_root(root, self.size)?;
        let (world, _g) = self.world();
        world.process_at_rank(root as i32).broadcast_into(buf);
        Ok(())
    }

    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()> {
        check_root(root, self.size)?;
        let (world, _g) = self.world();
        world.process_at_rank(root as i32).broadcast_into(buf);
        Ok(())
    }

    fn abort(&self, code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }

    fn describe(&self) -> String {
        format!("MPI ({}), {} ranks", self.library, self.size)
    }
}
