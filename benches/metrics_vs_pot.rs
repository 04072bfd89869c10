//! Timing of the metrics at the sizes of Part 3 (exact W2 at n = 1,000 and 5,000 in d = 5 with
//! the cost matrix included, log-domain Sinkhorn at n = 10,000 for 20 iterations, unbiased MMD² at
//! n = 5,000), one `ROW` line each, for `benches/metrics_vs_pot.sh`, which runs POT/numpy on the same
//! clouds (written to `benches/out/clouds_*.npy` by this program) in the same session.

use action_matching::core::{DType, Device, SeededRng, Tensor};
use action_matching::metrics::{
    mmd2, sinkhorn, w2, w2_equal, GroundCost, Kernel, MmdEstimator, SinkhornConfig,
};
use std::io::Write;
use std::time::Instant;

fn cloud(rng: &mut SeededRng, n: usize, shift: f64) -> Tensor {
    rng.normal_tensor(&[n, 5], DType::F64, &Device::Cpu)
        .unwrap()
        .affine(1.0, shift)
        .unwrap()
}

/// Writes a C-order float64 `.npy` file (format 1.0).
fn write_npy(path: &str, t: &Tensor) {
    let (n, d) = t.dims2().unwrap();
    let v: Vec<f64> = t.flatten_all().unwrap().to_vec1().unwrap();
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, {d}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    for x in v {
        f.write_all(&x.to_le_bytes()).unwrap();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    std::fs::create_dir_all("benches/out").unwrap();
    let mut rng = SeededRng::new(2026);
    let sizes: Vec<usize> = std::env::var("AM_W2_SIZES")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .map(|v| v.trim().parse().expect("AM_W2_SIZES: integers"))
        .collect();
    for n in [1000, 5000] {
        let (x, y) = (cloud(&mut rng, n, 0.0), cloud(&mut rng, n, 1.0));
        write_npy(&format!("benches/out/clouds_x_{n}.npy"), &x);
        write_npy(&format!("benches/out/clouds_y_{n}.npy"), &y);
        if sizes.contains(&n) {
            let t = Instant::now();
            let w = w2(&x, &y, None, None).unwrap();
            println!(
                "ROW tool=action-matching metric=w2_exact n={n} d=5 seconds={:.4} value={w:.10} solver=network-simplex",
                t.elapsed().as_secs_f64()
            );
            if std::env::var("AM_VERIFY").is_ok_and(|v| !v.is_empty()) {
                // the optimality certificate: primal feasibility, dual feasibility, equal objectives
                let (n_, m_, c) = action_matching::metrics::transport::cost_matrix(
                    &x,
                    &y,
                    GroundCost::SquaredEuclidean,
                )
                .unwrap();
                let plan = action_matching::metrics::transport(&vec![1.0; n_], &vec![1.0; m_], &c)
                    .unwrap();
                let (mut rows, mut cols) = (vec![0.0; n_], vec![0.0; m_]);
                for &(i, j, f) in &plan.entries {
                    rows[i] += f;
                    cols[j] += f;
                }
                let primal = rows
                    .iter()
                    .chain(&cols)
                    .map(|r| (r - 1.0 / n_ as f64).abs())
                    .fold(0.0, f64::max);
                let (u, v) = &plan.potentials;
                let mut dual_viol = 0.0f64;
                for i in 0..n_ {
                    for j in 0..m_ {
                        dual_viol = dual_viol.max(u[i] + v[j] - c[i * m_ + j]);
                    }
                }
                let dual: f64 = (u.iter().sum::<f64>() + v.iter().sum::<f64>()) / n_ as f64;
                println!("VERIFY n={n} primal_error={primal:.2e} max_dual_violation={dual_viol:.2e} primal={:.12} dual={dual:.12} support={}", plan.cost, plan.entries.len());
            }
            if std::env::var("AM_W2_ASSIGNMENT").is_ok_and(|v| !v.is_empty()) {
                let t = Instant::now();
                let w = w2_equal(&x, &y).unwrap();
                println!(
                    "ROW tool=action-matching metric=w2_exact n={n} d=5 seconds={:.4} value={w:.10} solver=assignment",
                    t.elapsed().as_secs_f64()
                );
            }
        }
        if n == 5000 && std::env::var("AM_SKIP_MMD").is_err() {
            let t = Instant::now();
            let m = mmd2(
                &x,
                &y,
                &Kernel::Bandwidths(vec![0.5, 1.0, 2.0]),
                MmdEstimator::Unbiased,
                1024,
            )
            .unwrap();
            println!("ROW tool=action-matching metric=mmd2_unbiased n={n} d=5 seconds={:.4} value={m:.10}", t.elapsed().as_secs_f64());
        }
    }
    if std::env::var("AM_SKIP_SINKHORN").is_ok() {
        return;
    }
    let n = 10_000;
    let (x, y) = (cloud(&mut rng, n, 0.0), cloud(&mut rng, n, 1.0));
    write_npy("benches/out/clouds_x_10000.npy", &x);
    write_npy("benches/out/clouds_y_10000.npy", &y);
    let cfg = SinkhornConfig {
        eps: 1.0,
        cost: GroundCost::SquaredEuclidean,
        max_iter: 20,
        tol: 0.0,
        block: 2048,
        host_fast_path: std::env::var("AM_SINKHORN_TENSOR_PATH").is_err(),
    };
    let t = Instant::now();
    let r = sinkhorn(&x, &y, None, None, cfg).unwrap();
    println!("ROW tool=action-matching metric=sinkhorn_log_20_iterations n={n} d=5 seconds={:.4} value={:.10}", t.elapsed().as_secs_f64(), r.transport_cost);
}
