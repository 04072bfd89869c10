//! FID evaluation cost: Inception-v3 pool3 features per second (CPU; set `RAYON_NUM_THREADS`),
//! for 32×32 colour images (resized to 299×299 inside), and the implied time for 10,000 images.
//! Needs the converted weights (`cargo xtask fetch-inception`); says so and exits otherwise.
//! `AM_BENCH_BATCH` (default 16) sets images per forward pass.

use action_matching::core::candle::{Device, Tensor};
use action_matching::metrics::inception::default_weights_path;
use action_matching::metrics::InceptionV3;
use criterion::Criterion;
use std::time::{Duration, Instant};

fn main() {
    let path = default_weights_path();
    if !path.is_file() {
        eprintln!(
            "inception_features: SKIPPED, no weights at {} (cargo xtask fetch-inception)",
            path.display()
        );
        return;
    }
    let batch: usize = std::env::var("AM_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let net = InceptionV3::load(&path, &Device::Cpu)
        .and_then(|n| n.with_batch(batch))
        .expect("the weights load");
    let images = Tensor::rand(-1f32, 1f32, (batch, 3, 32, 32), &Device::Cpu).expect("images");
    net.pool3(&images).expect("a warm-up pass");
    let start = Instant::now();
    let reps = 3;
    for _ in 0..reps {
        net.pool3(&images).expect("features");
    }
    let per_image = start.elapsed().as_secs_f64() / (reps * batch) as f64;
    println!(
        "inception_features: {:.2} images/s ({} threads, batch {batch}); 10,000 images ≈ {:.1} min",
        1.0 / per_image,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into()),
        10_000.0 * per_image / 60.0
    );
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .configure_from_args();
    c.bench_function(&format!("inception_pool3_batch{batch}_32px"), |b| {
        b.iter(|| net.pool3(&images).expect("features"))
    });
    c.final_summary();
}
