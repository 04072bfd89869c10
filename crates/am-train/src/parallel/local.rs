//! Ranks as threads of one process: a [`Collective`] for checking data-parallel code without an
//! MPI launcher (the trainer's rank-invariance tests use it). Every rank's thread must make the
//! same calls in the same order; a rank that stops calling leaves the others waiting, so it is
//! for tests and experiments, not for production runs.

use super::{check_root, Collective};
use crate::Result;
use std::sync::{Arc, Barrier, Mutex};

#[derive(Debug)]
struct Shared {
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
    bytes: Mutex<Vec<u8>>,
}

/// One rank of a group of threads ([`LocalGroup::new`] makes all of them).
#[derive(Debug, Clone)]
pub struct LocalGroup {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl LocalGroup {
    /// The handles of a group of `size` ranks, one per thread, in rank order.
    pub fn new(size: usize) -> Vec<LocalGroup> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
            bytes: Mutex::new(Vec::new()),
        });
        (0..size)
            .map(|rank| LocalGroup {
                rank,
                size,
                shared: shared.clone(),
            })
            .collect()
    }

    /// Every rank deposits `buf`; all then read the sum in rank order (the same on every rank).
    fn reduce(&self, buf: &mut [f64]) {
        {
            let mut slots = self.shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots[self.rank] = buf.to_vec();
        }
        self.shared.barrier.wait();
        {
            let slots = self.shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            buf.iter_mut().for_each(|x| *x = 0.0);
            for s in slots.iter() {
                for (x, y) in buf.iter_mut().zip(s) {
                    *x += y;
                }
            }
        }
        // nobody overwrites a slot before every rank has read them all
        self.shared.barrier.wait();
    }
}

impl Collective for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()> {
        self.reduce(buf);
        Ok(())
    }

    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()> {
        let mut wide: Vec<f64> = buf.iter().map(|&x| x as f64).collect();
        self.reduce(&mut wide);
        buf.iter_mut().zip(wide).for_each(|(o, x)| *o = x as f32);
        Ok(())
    }

    fn broadcast_f64(&self, buf: &mut [f64], root: usize) -> Result<()> {
        check_root(root, self.size)?;
        if self.rank != root {
            buf.iter_mut().for_each(|x| *x = 0.0);
        }
        self.reduce(buf);
        Ok(())
    }

    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()> {
        check_root(root, self.size)?;
        if self.rank == root {
            *self.shared.bytes.lock().unwrap_or_else(|e| e.into_inner()) = buf.to_vec();
        }
        self.shared.barrier.wait();
        if self.rank != root {
            let b = self.shared.bytes.lock().unwrap_or_else(|e| e.into_inner());
            let n = buf.len().min(b.len());
            buf[..n].copy_from_slice(&b[..n]);
        }
        self.shared.barrier.wait();
        Ok(())
    }

    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }

    fn describe(&self) -> String {
        format!("{} threads of one process", self.size)
    }
}
