//! The data-parallel runs of `tests/train/parallel.rs` under a real MPI launcher (no test
//! harness: MPI is initialised once per process). `.ci/run` runs it as
//! `mpirun -np 2 <this binary> MODE`:
//!
//! - `equal` (default): each engine's 5-step run of K = 4 shards on all ranks equals, on every
//!   rank, the same run computed by one process (f64, 1e-10); exits 0 on every rank or 1 on all;
//! - `fail`: rank 1's data breaks in step 3; every rank reports it (rank 1 its own error, the
//!   others `PeerFailed`) and exits 2;
//! - `crash`: rank 1 exits abruptly (status 3) in step 2, outside any agreed path; the launcher
//!   must end the job (the caller's `timeout` bounds it).

#[path = "common/parallel_cases.rs"]
mod cases;

use am_train::parallel::mpi::MpiWorld;
use am_train::{Collective, RunOptions, SingleProcess, TimeSamplerConfig};
use cases::{max_rel_diff, run_case, CASES};
use std::sync::Arc;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "equal".into());
    let world = match MpiWorld::init() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("mpi: {e}");
            std::process::exit(1);
        }
    };
    let rank = world.rank();
    let code = match mode.as_str() {
        "equal" => equal(world.clone()),
        "fail" => fail(world.clone()),
        "crash" => crash(world.clone()),
        m => {
            eprintln!("mpi: unknown mode `{m}` (equal, fail or crash)");
            1
        }
    };
    drop(world);
    if code != 0 {
        eprintln!("mpi: rank {rank} exits with status {code}");
    }
    std::process::exit(code);
}

fn equal(world: Arc<MpiWorld>) -> i32 {
    let none = RunOptions::default();
    let mut bad = 0.0;
    for case in CASES {
        for time in [
            TimeSamplerConfig::QuasiRandom,
            TimeSamplerConfig::adaptive(),
        ] {
            let one = run_case(case, Arc::new(SingleProcess), 4, 5, time, None, &none);
            let all = run_case(case, world.clone(), 4, 5, time, None, &none);
            let diff = match (one, all) {
                (Ok(a), Ok(b)) => max_rel_diff(&b.params, &a.params)
                    .max(max_rel_diff(&b.ema, &a.ema))
                    .max(max_rel_diff(&b.losses, &a.losses)),
                (a, b) => {
                    eprintln!("mpi: rank {}: {case:?}: {a:?} / {b:?}", world.rank());
                    f64::INFINITY
                }
            };
            // every rank learns the worst difference of all, so all exit alike
            let mut worst = [diff.min(1e300)];
            if world.all_reduce_sum_f64(&mut worst).is_err() {
                return 1;
            }
            if world.is_root() {
                println!(
                    "mpi: {case:?}, {time:?}: {} ranks vs 1 process, sum over ranks of the \
                     largest relative difference {:.2e}",
                    world.size(),
                    worst[0]
                );
            }
            if worst[0].is_nan() || worst[0] > 1e-10 {
                bad = worst[0];
            }
        }
    }
    if bad > 0.0 {
        if world.is_root() {
            eprintln!("mpi: FAILED: a difference of {bad:e} exceeds 1e-10");
        }
        1
    } else {
        if world.is_root() {
            println!(
                "mpi: ok, every engine reaches the same state on {} ranks",
                world.size()
            );
        }
        0
    }
}

fn fail(world: Arc<MpiWorld>) -> i32 {
    let q = TimeSamplerConfig::QuasiRandom;
    // rank 1 draws 2 shards of 3 samples a step: its 13th call is in step 3
    match run_case(
        cases::Case::Autograd,
        world.clone(),
        4,
        6,
        q,
        Some((1, 13)),
        &RunOptions::default(),
    ) {
        Ok(_) => {
            eprintln!("mpi: rank {}: the run did not fail", world.rank());
            1
        }
        Err(e) => {
            eprintln!("mpi: rank {}: {e}", world.rank());
            2
        }
    }
}

fn crash(world: Arc<MpiWorld>) -> i32 {
    let q = TimeSamplerConfig::QuasiRandom;
    if world.rank() == 1 {
        // a step and a half, then gone
        let _ = run_case(
            cases::Case::Autograd,
            world.clone(),
            4,
            1,
            q,
            None,
            &RunOptions::default(),
        );
        eprintln!("mpi: rank 1 exits abruptly");
        std::process::exit(3);
    }
    let r = run_case(
        cases::Case::Autograd,
        world.clone(),
        4,
        6,
        q,
        None,
        &RunOptions::default(),
    );
    eprintln!(
        "mpi: rank {}: finished ({r:?}) although rank 1 crashed",
        world.rank()
    );
    1
}
