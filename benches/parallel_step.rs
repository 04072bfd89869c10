//! Data-parallel scaling of the fused MLP step (5 hidden layers × 256, SiLU, f32, D = 2, the
//! moving-and-scaling Gaussian path; AM, the √2 time sampler) under MPI:
//!
//! ```sh
//! cargo bench --features mpi --bench parallel_step --no-run   # prints the binary's path
//! RAYON_NUM_THREADS=1 mpirun -np 1 --bind-to core BIN
//! RAYON_NUM_THREADS=1 mpirun -np 2 --bind-to core BIN
//! ```
//!
//! Every rank trains the same run of `AM_BENCH_SHARDS` (default 2; 0: the single-stream step
//! without shards, one rank only, for the overhead of sharding) shards per step of
//! `AM_BENCH_BATCH` (default 256, or a comma list) samples; after 20 warm-up steps it times
//! `AM_BENCH_STEPS` (default 200) steps and, apart, as many sum all-reduces of the gradient alone
//! (its f32 bytes). Rank 0 prints one table row per batch: steps per second, milliseconds per
//! step, the all-reduce's share, and the bytes each rank sends into the step's all-reduce.

use action_matching::core::{DType, Device, SeededRng};
use action_matching::models::{Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig};
use action_matching::paths::GaussianPath;
use action_matching::train::data_parallel::bytes_per_step;
use action_matching::train::parallel::mpi::MpiWorld;
use action_matching::train::{Collective, FusedEngine, TrainConfig, Trainer};
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let world: Arc<dyn Collective> = Arc::new(MpiWorld::init().expect("MPI"));
    let shards: usize = env("AM_BENCH_SHARDS", "2")
        .parse()
        .expect("AM_BENCH_SHARDS");
    let steps: u64 = env("AM_BENCH_STEPS", "200")
        .parse()
        .expect("AM_BENCH_STEPS");
    let batches: Vec<usize> = env("AM_BENCH_BATCH", "256")
        .split(',')
        .map(|b| b.trim().parse().expect("AM_BENCH_BATCH"))
        .collect();
    if world.is_root() {
        println!(
            "| ranks | batch | shards | steps/s | ms/step | all-reduce of ∇θ alone, ms (share) | bytes per rank and step |"
        );
        println!("|---|---|---|---|---|---|---|");
    }
    let path = GaussianPath::moving_and_scaling();
    for batch in batches {
        let mlp = Mlp::new(
            MlpConfig {
                dim: 2,
                hidden: vec![256; 5],
                ..Default::default()
            },
            &mut SeededRng::new(0),
            DType::F32,
            &Device::Cpu,
        )
        .expect("model");
        let config = TrainConfig {
            shards: (shards > 0).then_some(shards),
            watch: None,
            ..TrainConfig::new(steps + 20, batch, 1e-3)
        };
        let engine = FusedEngine::new(mlp, config.adam).expect("fused engine");
        let objective = ActionMatching::new(AmConfig::deterministic()).expect("objective");
        let mut t = Trainer::new(engine, objective, config)
            .expect("trainer")
            .with_collective(world.clone())
            .expect("collective");
        for _ in 0..20 {
            t.step(&path).expect("warm-up step");
        }
        let mut sync = [0.0];
        world.all_reduce_sum_f64(&mut sync).expect("barrier");
        let started = Instant::now();
        for _ in 0..steps {
            t.step(&path).expect("step");
        }
        let step_s = started.elapsed().as_secs_f64() / steps as f64;
        let params = t.checkpoint().expect("state").tensors["params"].elem_count();
        let mut g = vec![1f32; params];
        world.all_reduce_sum_f64(&mut sync).expect("barrier");
        let started = Instant::now();
        for _ in 0..steps {
            world.all_reduce_sum_f32(&mut g).expect("all-reduce");
        }
        let reduce_s = started.elapsed().as_secs_f64() / steps as f64;
        // the slowest rank sets the pace
        let mut worst = [step_s, reduce_s];
        world.all_reduce_sum_f64(&mut worst).expect("reduce");
        let ranks = world.size() as f64;
        let (step_s, reduce_s) = (worst[0] / ranks, worst[1] / ranks);
        if world.is_root() {
            println!(
                "| {} | {batch} | {shards} | {:.1} | {:.2} | {:.3} ({:.0} %) | {} |",
                world.size(),
                1.0 / step_s,
                1e3 * step_s,
                1e3 * reduce_s,
                100.0 * reduce_s / step_s,
                if world.size() > 1 {
                    bytes_per_step(params, DType::F32, batch).to_string()
                } else {
                    format!(
                        "0 ({} with more ranks)",
                        bytes_per_step(params, DType::F32, batch)
                    )
                }
            );
        }
    }
}
