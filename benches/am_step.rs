//! One Action Matching training step (three forwards, input derivatives, ∇θ, Adam), the setting
//! of `benches/ref/am_step_{torch,jax}.py`: MLP 5 hidden layers × 256 on [t, x], SiLU, scalar
//! output, f32, batch B per term; x₀ ~ N(0, I), x₁ ~ N(2, 0.5²I), x_t = (1 − t)x₀ + t·x₁.
//!
//! Three paths: `fused` (the hand-derived host step of `am_models::fused`, the default), the
//! generic `explicit` candle path and candle's `double-backward`. They cannot share a process
//! fairly (the double-backward switch slows every backward), so the mode is chosen by an
//! environment variable: `AM_BENCH_DERIVATION=fused|explicit|double-backward`.
//! `AM_BENCH_BATCH` (default 256) and `AM_BENCH_DIMS` (default "3,5") set the sizes,
//! `AM_BENCH_SAMPLES` (default 20) criterion's sample count; `AM_BENCH_HEAD=half-squared-distance`
//! and `AM_BENCH_LAYERS=4` give the hydrogen reference model. `AM_BENCH_PEAK=1` instead prints the
//! GFLOP/s of the fused step's matrix kernel on a 4096³ product (`PEAK gflops=…`) and exits.
//! Run with `RAYON_NUM_THREADS=k` and `taskset` to pin threads (see `benches/compare_cpu.sh`).

use action_matching::core::train::{Adam, AdamConfig};
use action_matching::core::{double_backward, Action, DType, Device, SeededRng};
use action_matching::models::{Derivation, FusedAdam, FusedMlp, Head, Mlp, MlpConfig};
use action_matching::objectives::{ActionMatching, AmConfig, PathSample};
use criterion::Criterion;
use std::time::Duration;

fn batch(b: usize, d: usize, rng: &mut SeededRng) -> PathSample {
    let dev = Device::Cpu;
    let x0 = rng.normal_tensor(&[b, d], DType::F32, &dev).unwrap();
    let x1 = (rng.normal_tensor(&[b, d], DType::F32, &dev).unwrap() * 0.5)
        .unwrap()
        .affine(1.0, 2.0)
        .unwrap();
    let t = rng
        .uniform_tensor(&[b, 1], 0.0, 1.0, DType::F32, &dev)
        .unwrap();
    let xa = rng.normal_tensor(&[b, d], DType::F32, &dev).unwrap();
    let xb = (rng.normal_tensor(&[b, d], DType::F32, &dev).unwrap() * 0.5)
        .unwrap()
        .affine(1.0, 2.0)
        .unwrap();
    let xt = (xa.broadcast_mul(&t.affine(-1.0, 1.0).unwrap()).unwrap()
        + xb.broadcast_mul(&t).unwrap())
    .unwrap();
    PathSample::new(x0, x1, t, xt, None).unwrap()
}

fn main() {
    let mode = std::env::var("AM_BENCH_DERIVATION").unwrap_or_else(|_| "fused".into());
    let derivation = match mode.as_str() {
        "explicit" | "fused" => Derivation::Explicit,
        "double-backward" => {
            double_backward::enable();
            double_backward::probe().expect("double backward works");
            Derivation::DoubleBackward
        }
        other => {
            panic!("AM_BENCH_DERIVATION must be fused, explicit or double-backward, got {other}")
        }
    };
    if std::env::var("AM_BENCH_PEAK").is_ok() {
        let threads = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let gflops = action_matching::models::fused::matmul_gflops(4096, threads, 3);
        println!("PEAK framework=gemm-4096 threads_used={threads} gflops={gflops:.1}");
        return;
    }
    let b: usize = std::env::var("AM_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dims: Vec<usize> = std::env::var("AM_BENCH_DIMS")
        .unwrap_or_else(|_| "3,5".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("AM_BENCH_DIMS: comma-separated integers")
        })
        .collect();
    // the hydrogen reference model: AM_BENCH_HEAD=half-squared-distance AM_BENCH_LAYERS=4
    let head = match std::env::var("AM_BENCH_HEAD").as_deref() {
        Ok("half-squared-distance") => Head::HalfSquaredDistance,
        _ => Head::Scalar,
    };
    let layers: usize = std::env::var("AM_BENCH_LAYERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut c = Criterion::default()
        .sample_size(
            std::env::var("AM_BENCH_SAMPLES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(20),
        )
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    for d in dims {
        for (loss_name, config) in [
            ("am", AmConfig::deterministic()),
            ("entropic", AmConfig::entropic(0.1)),
        ] {
            let mut rng = SeededRng::new(0);
            let cfg = MlpConfig {
                dim: d,
                hidden: vec![256; layers],
                derivation,
                head,
                ..Default::default()
            };
            let model = Mlp::new(cfg, &mut rng, DType::F32, &Device::Cpu).unwrap();
            let objective = ActionMatching::new(config).unwrap();
            let mut opt = Adam::new(
                model.parameters(),
                AdamConfig {
                    lr: 1e-4,
                    ..Default::default()
                },
            )
            .unwrap();
            let data = batch(b, d, &mut rng);
            if mode == "fused" {
                let mut fused = FusedMlp::<f32>::from_mlp(&model).unwrap();
                let mut fopt = FusedAdam::new(fused.params().len(), *opt.config()).unwrap();
                c.bench_function(&format!("am_step/{mode}/{loss_name}/d{d}/b{b}"), |bench| {
                    bench.iter(|| {
                        let terms = objective.terms(d, &data, &mut rng).unwrap();
                        fused.train_step(&terms, &mut fopt, 1e-4).unwrap();
                    })
                });
                continue;
            }
            c.bench_function(&format!("am_step/{mode}/{loss_name}/d{d}/b{b}"), |bench| {
                bench.iter(|| {
                    let out = objective.loss(&model, &data, &mut rng).unwrap();
                    let grads = out.loss.backward().unwrap();
                    opt.step(&grads, 1e-4).unwrap();
                })
            });
        }
    }
    c.final_summary();
}
