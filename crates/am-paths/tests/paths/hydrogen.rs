//! The hydrogen simulator against its own physics: normalisation, the continuity equation, the
//! exact action, MH diagnostics, and a χ² test of pushed particles against |ψ_t|² on an
//! (r, cos θ, φ) binning (the radial density alone does not change in time).

use am_core::{DType, Device, SeededRng, Tensor};
use am_metrics::{mmd2, Kernel, MmdEstimator};
use am_paths::hydrogen::{
    density, energy, exact_action, sample_initial, trajectories, velocity, Scheme, A0, T_PHYSICAL,
};
use am_paths::quadrature::gauss_legendre;
use std::f64::consts::PI;

fn spherical(r: f64, c: f64, phi: f64) -> [f64; 3] {
    let s = (1.0 - c * c).max(0.0).sqrt();
    [r * s * phi.cos(), r * s * phi.sin(), r * c]
}

/// ∫ over r ∈ [r0, r1], cos θ ∈ [c0, c1], φ ∈ [p0, p1] of |ψ(·, τ)|² (Gauss–Legendre, q points each).
fn bin_mass(tau: f64, r: (f64, f64), c: (f64, f64), p: (f64, f64), q: usize) -> f64 {
    let g = gauss_legendre(q);
    let mut total = 0.0;
    for &(ur, wr) in &g {
        let rr = r.0 + (r.1 - r.0) * ur;
        for &(uc, wc) in &g {
            let cc = c.0 + (c.1 - c.0) * uc;
            for &(up, wp) in &g {
                let pp = p.0 + (p.1 - p.0) * up;
                total += wr * wc * wp * rr * rr * density(spherical(rr, cc, pp), tau);
            }
        }
    }
    total * (r.1 - r.0) * (c.1 - c.0) * (p.1 - p.0)
}

#[test]
fn physics_of_the_state() {
    // the beat period of the reference units, not the 90.5 of Eq. 23 with a₀ = 1
    let period = 2.0 * PI / (energy(2) - energy(3)).abs();
    assert!((period - 14_287.0).abs() < 1.0, "{period}");
    // normalisation at two times
    for tau in [0.0, 5000.0] {
        let m = bin_mass(tau, (0.0, 60.0 * A0), (-1.0, 1.0), (0.0, 2.0 * PI), 60);
        assert!((m - 1.0).abs() < 1e-6, "∫|ψ|² = {m}");
    }
    // continuity: ∂τρ + ∇·(ρv) = 0, and ∇s* = T·v
    for p in [[3.0, -5.0, 7.0], [-12.0, 4.0, 20.0], [30.0, 10.0, -15.0]] {
        let tau = 2345.0;
        let h = 1e-3;
        let dt_rho = (density(p, tau + 1.0) - density(p, tau - 1.0)) / 2.0;
        let mut div = 0.0;
        for k in 0..3 {
            let f = |s: f64| {
                let mut q = p;
                q[k] += s;
                density(q, tau) * velocity(q, tau)[k]
            };
            div += (f(h) - f(-h)) / (2.0 * h);
        }
        assert!(
            (dt_rho + div).abs() < 1e-6 * dt_rho.abs().max(1e-12) + 1e-15,
            "∂τρ = {dt_rho}, ∇·(ρv) = {div}"
        );
        let t = tau / T_PHYSICAL;
        let v = velocity(p, tau);
        for k in 0..3 {
            let mut a = p;
            let mut b = p;
            a[k] += h;
            b[k] -= h;
            let g = (exact_action(a, t) - exact_action(b, t)) / (2.0 * h);
            assert!(
                (g - T_PHYSICAL * v[k]).abs() < 1e-5 * (T_PHYSICAL * v[k]).abs().max(1.0),
                "∂s*/∂x{k} = {g} vs T·v = {}",
                T_PHYSICAL * v[k]
            );
        }
    }
}

#[test]
fn pushed_particles_follow_the_density_on_a_3d_binning() {
    let mut rng = SeededRng::new(7);
    let chains = 3000;
    // σ = 20 (≈ 1.6 a₀) mixes faster than the reference's 5–10, whose acceptance is ≈ 0.85
    let mh = sample_initial(chains, 1500, 20.0, &mut rng).unwrap();
    assert!(
        (0.2..0.8).contains(&mh.acceptance),
        "acceptance {}",
        mh.acceptance
    );
    assert!(mh.r_hat < 1.05, "R̂ = {}", mh.r_hat);
    let steps = 1000; // Euler, dt = 14: the reference data set
    let states = trajectories(&mh.points, steps, Scheme::Euler).unwrap();
    let r_edges = [0.0, 4.0 * A0, 7.0 * A0, 11.0 * A0, 40.0 * A0];
    let c_edges = [-1.0, -0.5, 0.0, 0.5, 1.0];
    let p_edges = [0.0, 0.5 * PI, PI, 1.5 * PI, 2.0 * PI];
    let chi2 = |pts: &[f64], tau: f64| -> (f64, usize) {
        let mut counts = vec![0.0; 64];
        for p in pts.chunks(3) {
            let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
            let c = p[2] / r.max(1e-12);
            let phi = p[1].atan2(p[0]).rem_euclid(2.0 * PI);
            let bin = |e: &[f64], v: f64| e.windows(2).position(|w| v >= w[0] && v < w[1]);
            if let (Some(a), Some(b), Some(d)) =
                (bin(&r_edges, r), bin(&c_edges, c), bin(&p_edges, phi))
            {
                counts[a * 16 + b * 4 + d] += 1.0;
            }
        }
        let (mut stat, mut bins) = (0.0, 0);
        for a in 0..4 {
            for b in 0..4 {
                for d in 0..4 {
                    let e = chains as f64
                        * bin_mass(
                            tau,
                            (r_edges[a], r_edges[a + 1]),
                            (c_edges[b], c_edges[b + 1]),
                            (p_edges[d], p_edges[d + 1]),
                            6,
                        );
                    if e >= 5.0 {
                        stat += (counts[a * 16 + b * 4 + d] - e).powi(2) / e;
                        bins += 1;
                    }
                }
            }
        }
        (stat, bins)
    };
    let n3 = chains * 3;
    for (k, t) in [(250, 0.25), (500, 0.5), (1000, 1.0)] {
        let pts = &states[k * n3..(k + 1) * n3];
        let (stat, bins) = chi2(pts, t * T_PHYSICAL);
        // the 1e-4 upper quantile of χ² with ν = bins − 1 is below ν + 4.5√(2ν) + 10
        let nu = (bins - 1) as f64;
        let limit = nu + 4.5 * (2.0 * nu).sqrt() + 10.0;
        assert!(
            stat < limit,
            "t = {t}: χ² = {stat:.1} over {bins} bins (limit {limit:.1})"
        );
        if t == 0.25 {
            // the binning sees the dynamics: the t = 0 particles do not fit |ψ_t|²
            let (stale, _) = chi2(&states[..n3], t * T_PHYSICAL);
            assert!(stale > 3.0 * limit, "stale particles: χ² = {stale:.1}");
        }
    }
}

#[test]
fn euler_at_dt_14_agrees_with_rk4_at_dt_1_4() {
    let mut rng = SeededRng::new(3);
    let mh = sample_initial(400, 1000, 20.0, &mut rng).unwrap();
    let euler = trajectories(&mh.points, 1000, Scheme::Euler).unwrap();
    let rk4 = trajectories(&mh.points, 10_000, Scheme::Rk4).unwrap();
    let n3 = 400 * 3;
    let (a, b) = (&euler[1000 * n3..], &rk4[10_000 * n3..]);
    let ta = Tensor::from_vec(a.to_vec(), (400, 3), &Device::Cpu).unwrap();
    let tb = Tensor::from_vec(b.to_vec(), (400, 3), &Device::Cpu).unwrap();
    // the hydrogen metric's kernel: three α = 1e-4
    let m = mmd2(
        &ta,
        &tb,
        &Kernel::Alphas(vec![1e-4; 3]),
        MmdEstimator::Biased,
        400,
    )
    .unwrap();
    let mean_gap = a
        .chunks(3)
        .zip(b.chunks(3))
        .map(|(p, q)| {
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
        })
        .sum::<f64>()
        / 400.0;
    eprintln!(
        "Euler dt = 14 vs RK4 dt = 1.4 at t = 1: biased MMD² {m:.2e}, mean distance {:.3} a₀",
        mean_gap / A0
    );
    assert!(m < 1e-3, "MMD² {m}");
    assert!(mean_gap < 0.5 * A0, "mean distance {mean_gap}");
    let _ = DType::F64;
}

#[test]
fn the_score_is_the_gradient_of_the_log_density() {
    use am_core::{candle::Device, DType, ScoreField, Tensor};
    use am_paths::hydrogen::{score, ExactScore};
    let h = 1e-4;
    for (p, tau) in [([3.0, -5.0, 7.0], 100.0), ([-12.0, 4.0, 20.0], 7000.0)] {
        let s = score(p, tau);
        for k in 0..3 {
            let f = |e: f64| {
                let mut q = p;
                q[k] += e;
                density(q, tau).ln()
            };
            let fd = (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h);
            assert!(
                (fd - s[k]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{fd} vs {}",
                s[k]
            );
        }
        // the ScoreField in normalised time
        let x = Tensor::from_vec(p.to_vec(), (1, 3), &Device::Cpu).unwrap();
        let st: Vec<f64> = ExactScore
            .score(tau / T_PHYSICAL, &x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for k in 0..3 {
            assert!((st[k] - s[k]).abs() < 1e-12);
        }
    }
    let bad = Tensor::zeros((2, 2), DType::F64, &Device::Cpu).unwrap();
    assert!(ExactScore.score(0.5, &bad).is_err());
    let x = Tensor::zeros((2, 3), DType::F64, &Device::Cpu).unwrap();
    assert!(ExactScore.score(1.5, &x).is_err());
}
