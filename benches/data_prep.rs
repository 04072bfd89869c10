//! Data preparation times (Part 4): reading both embryoid body splits and preparing the Table 1
//! protocol (standardise on the training split, keep 5 dimensions), and generating the reference
//! hydrogen data set (|ψ|² by Metropolis–Hastings, 5,000 chains × 5,000 steps; Bohmian trajectories
//! 1001 × 5000 × 3 with Euler, dt = 14). One `ROW` line each.

use action_matching::core::SeededRng;
use action_matching::paths::data::preprocess::Standardizer;
use action_matching::paths::hydrogen::{sample_initial, trajectories, Scheme};
use action_matching::paths::Snapshots;
use std::path::Path;
use std::time::Instant;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let eb = Path::new("../shared/data/eb");
    if eb.exists() {
        let t = Instant::now();
        let val = Snapshots::from_npz(&eb.join("val_rna.npz"), "X", "ts").unwrap();
        let test = Snapshots::from_npz(&eb.join("test_rna.npz"), "X", "ts").unwrap();
        let st = Standardizer::fit(&val).unwrap();
        let (a, b) = (
            st.apply(&val).unwrap().first_dims(5).unwrap(),
            st.apply(&test).unwrap().first_dims(5).unwrap(),
        );
        println!(
            "ROW task=eb_read_and_prepare seconds={:.4} train_cells={} test_cells={}",
            t.elapsed().as_secs_f64(),
            a.counts().iter().sum::<usize>(),
            b.counts().iter().sum::<usize>()
        );
    } else {
        println!("ROW task=eb_read_and_prepare skipped=../shared/data/eb-absent");
    }
    let chains: usize = std::env::var("AM_H_CHAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let mh_steps: usize = std::env::var("AM_H_MH_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let t = Instant::now();
    let mh = sample_initial(chains, mh_steps, 8.0, &mut SeededRng::new(0)).unwrap();
    println!("ROW task=hydrogen_metropolis_hastings chains={chains} steps={mh_steps} proposal=8 seconds={:.3} acceptance={:.3} r_hat={:.4}", t.elapsed().as_secs_f64(), mh.acceptance, mh.r_hat);
    let t = Instant::now();
    let states = trajectories(&mh.points, 1000, Scheme::Euler).unwrap();
    println!("ROW task=hydrogen_trajectories shape=1001x{chains}x3 scheme=euler dt=14 seconds={:.3} values={}", t.elapsed().as_secs_f64(), states.len());
}
