//! The time samplers.

use am_core::SeededRng;
use am_objectives::{AdaptiveTime, QuasiRandomTime, TimeSampler, UniformTime};

#[test]
fn quasi_random_covers_the_interval_and_carries_its_state() {
    let mut q = QuasiRandomTime::starting_at(0.25);
    let mut rng = SeededRng::new(0);
    let a = q.sample(64, &mut rng).t;
    let b = q.sample(64, &mut rng).t;
    // state carried: the second batch continues the sequence
    assert!((b[0] - (a[63] + std::f64::consts::SQRT_2).rem_euclid(1.0)).abs() < 1e-12);
    // low discrepancy: every tenth of [0, 1] gets 64/10 ± 2 points
    for k in 0..10 {
        let c = a
            .iter()
            .filter(|&&t| t >= k as f64 / 10.0 && t < (k + 1) as f64 / 10.0)
            .count();
        assert!((4..=9).contains(&c), "bin {k}: {c}");
    }
    assert!(UniformTime
        .sample(10, &mut rng)
        .t
        .iter()
        .all(|t| (0.0..1.0).contains(t)));
}

#[test]
fn adaptive_density_follows_the_integrand_spread_and_is_sampled_exactly() {
    let mut a = AdaptiveTime::new();
    let mut rng = SeededRng::new(2);
    // before any observation p is uniform
    assert!((a.p(0.3) - 1.0).abs() < 1e-12);
    for _ in 0..2000 {
        let t = rng.uniform_vec(128, 0.0, 1.0);
        let z: Vec<f64> = t
            .iter()
            .map(|&ti| 5.0 + (0.1 + ti) * rng.normal())
            .collect();
        a.observe(&t, &z);
    }
    // p ∝ std = 0.1 + t (mixed 1% with uniform): p(1)/p(0) ≈ 11 (smoothing flattens the ends)
    let ratio = a.p(0.9) / a.p(0.1);
    assert!(
        (ratio - 1.0 / 0.2).abs() < 0.6,
        "p(0.9)/p(0.1) = {ratio}, want ≈ 5"
    );
    // samples follow p: E_p[1/p] = 1 and the histogram matches p
    let batch = a.sample(200_000, &mut rng);
    let w = batch.inv_p.unwrap();
    let mean_w = w.iter().sum::<f64>() / w.len() as f64;
    assert!((mean_w - 1.0).abs() < 0.01, "E_p[1/p] = {mean_w}");
    let frac = batch.t.iter().filter(|&&t| t < 0.5).count() as f64 / batch.t.len() as f64;
    let want = am_paths::quadrature::integrate(60, |u| 0.5 * a.p(0.5 * u));
    assert!(
        (frac - want).abs() < 0.01,
        "P(t < 0.5) = {frac}, density says {want}"
    );
    assert!(AdaptiveTime::with(1, 100.0, 0.99, 0.01).is_err());
    assert!(AdaptiveTime::with(100, 100.0, 1.0, 0.01).is_err());
}
