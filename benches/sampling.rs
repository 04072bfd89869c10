//! Sampling and likelihood throughput (Part 2): 10,000 particles in d = 3 through an MLP
//! 5 hidden layers × 256 (SiLU, explicit derivatives, f32) with RK4 and Dopri5 (tol 1e-5), and
//! the Eq. 9 log-likelihood of 1,000 points in d = 5 (exact divergence).
//!
//! Criterion times the repeatable units (10 RK4 steps; 10 likelihood steps); the whole runs are
//! timed once and reported with NFE, particle-steps per second and the process's peak resident
//! memory before and after a 10× longer run (flat memory ⇒ no graph kept alive).
//!
//! Every unit runs twice, side by side: through the generic candle MLP and through the fused host
//! forward (`FusedMlp`, the same parameters). `AM_BENCH_SKIP_GENERIC_ONESHOT=1` skips the
//! generic one-shot runs (minutes).

use action_matching::core::Action;
use action_matching::core::{DType, Device, GradientField, SeededRng};
use action_matching::models::{FusedMlp, Mlp, MlpConfig};
use action_matching::solvers::{
    integrate, integrate_adaptive, log_likelihood, Divergence, Dopri5Config, LikelihoodSolver,
    Method, OdeConfig, StandardNormalDensity,
};
use criterion::Criterion;
use std::time::{Duration, Instant};

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn model(d: usize) -> Mlp {
    Mlp::new(
        MlpConfig {
            dim: d,
            hidden: vec![256; 5],
            ..Default::default()
        },
        &mut SeededRng::new(0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap()
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let (m3, m5) = (model(3), model(5));
    let mut rng = SeededRng::new(1);
    let x3 = rng
        .normal_tensor(&[10_000, 3], DType::F32, &Device::Cpu)
        .unwrap();
    let x5 = rng
        .normal_tensor(&[1_000, 5], DType::F32, &Device::Cpu)
        .unwrap();
    let (g3, g5) = (
        FusedMlp::<f32>::from_mlp(&m3).unwrap(),
        FusedMlp::<f32>::from_mlp(&m5).unwrap(),
    );
    let models3: [(&str, &dyn Action); 2] = [("generic", &m3), ("fused", &g3)];
    let models5: [(&str, &dyn Action); 2] = [("generic", &m5), ("fused", &g5)];
    for (name, m) in models3 {
        let f3 = GradientField::new(m);
        c.bench_function(&format!("sampling/{name}/rk4_10_steps/n10000/d3"), |b| {
            b.iter(|| {
                integrate(
                    &f3,
                    &x3,
                    0.0,
                    0.1,
                    OdeConfig {
                        method: Method::Rk4,
                        steps: 10,
                    },
                    &[],
                )
                .unwrap()
            })
        });
    }
    for (name, m) in models5 {
        let f5 = GradientField::new(m);
        c.bench_function(
            &format!("likelihood/{name}/rk4_1_step_exact/n1000/d5"),
            |b| {
                b.iter(|| {
                    log_likelihood(
                        &f5,
                        &x5,
                        &StandardNormalDensity,
                        Divergence::Exact,
                        LikelihoodSolver::Fixed(OdeConfig {
                            method: Method::Rk4,
                            steps: 1,
                        }),
                        &mut SeededRng::new(0),
                    )
                    .unwrap()
                })
            },
        );
    }
    c.final_summary();
    let skip_generic = std::env::var("AM_BENCH_SKIP_GENERIC_ONESHOT").is_ok();
    println!("\none-shot runs (wall time, NFE, particle-steps/s = particles × NFE / s):");
    // likelihoods first, so that their peak-memory readings are not masked by the 10k runs
    for (name, m) in models5 {
        if skip_generic && name == "generic" {
            continue;
        }
        let f5 = GradientField::new(m);
        for steps in [10, 100] {
            let t = Instant::now();
            let ll = log_likelihood(
                &f5,
                &x5,
                &StandardNormalDensity,
                Divergence::Exact,
                LikelihoodSolver::Fixed(OdeConfig {
                    method: Method::Rk4,
                    steps,
                }),
                &mut SeededRng::new(0),
            )
            .unwrap();
            let s = t.elapsed().as_secs_f64();
            println!(
                "{name}: likelihood RK4 {steps} steps, 1,000 × d5, exact divergence: {s:.2} s, NFE {}, peak RSS after {:.0} MiB",
                ll.nfe,
                peak_rss_mib()
            );
        }
    }
    for (name, m) in models3 {
        if skip_generic && name == "generic" {
            continue;
        }
        let f3 = GradientField::new(m);
        let t = Instant::now();
        let tr = integrate(
            &f3,
            &x3,
            0.0,
            1.0,
            OdeConfig {
                method: Method::Rk4,
                steps: 100,
            },
            &[],
        )
        .unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: RK4 100 steps, 10,000 × d3: {s:.2} s, NFE {}, {:.3e} particle-evals/s, {:.3e} particle-steps/s, peak RSS {:.0} MiB",
            tr.nfe,
            1e4 * tr.nfe as f64 / s,
            1e4 * 100.0 / s,
            peak_rss_mib()
        );
        let t = Instant::now();
        let tr = integrate_adaptive(&f3, &x3, 0.0, 1.0, Dopri5Config::default(), &[]).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("{name}: Dopri5 tol 1e-5, 10,000 × d3: {s:.2} s, NFE {} ({} accepted, {} rejected), {:.3e} particle-evals/s, peak RSS {:.0} MiB", tr.nfe, tr.steps, tr.rejected, 1e4 * tr.nfe as f64 / s, peak_rss_mib());
    }
}
