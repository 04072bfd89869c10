//! One-dimensional oracles: the AM velocity −∂tF/q and the tridiagonal unbalanced action.

use am_core::{DType, Device, Marginals, SeededRng};
use am_paths::{unbalanced_action_1d, Mixture1d};

#[test]
fn the_normal_cdf_is_accurate() {
    // scipy.stats.norm.cdf
    let m = Mixture1d::new(vec![|_| [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]).unwrap();
    for (z, want) in [
        (0.0, 0.5),
        (1.96, 0.9750021048517795),
        (-3.0, 0.0013498980316300933),
        (5.0, 0.9999997133484281),
        (-8.0, 6.22096057427178e-16),
        (0.7, 0.758036347776927),
    ] {
        let got = m.cdf(0.3, z);
        assert!(
            (got - want).abs() < 1e-14 + 1e-12 * want,
            "Φ({z}) = {got} vs {want}"
        );
    }
}

#[test]
fn the_velocity_solves_the_continuity_equation_and_matches_the_gaussian_oracle() {
    let m = Mixture1d::unbalanced_example();
    for t in [0.1, 0.5, 0.9] {
        for x in [-7.0, -5.0, -1.0, 0.0, 2.0, 5.0, 6.5] {
            let h = 1e-4;
            let flux = |y: f64| m.density(t, y) * m.velocity(t, y);
            let div = (flux(x + h) - flux(x - h)) / (2.0 * h);
            let dq = m.density_dt(t, x);
            assert!(
                (div + dq).abs() < 1e-7 * (1.0 + dq.abs()),
                "t {t}, x {x}: ∂x(qv) = {div}, −∂t q = {}",
                -dq
            );
        }
    }
    // between the modes the transport velocity is huge: what unbalanced AM avoids
    assert!(
        m.velocity(0.5, 0.0).abs() > 100.0 * m.velocity(0.5, -5.0).abs().max(1e-3),
        "{} vs {}",
        m.velocity(0.5, 0.0),
        m.velocity(0.5, -5.0)
    );
    assert!((m.mass(0.3) - 1.0).abs() < 1e-15);
    // one moving, spreading Gaussian: v = μ̇ + (γ̇/γ)(x − μ) with μ = 2t, γ = 1 + t
    let g = Mixture1d::new(vec![|t| [1.0, 0.0, 2.0 * t, 2.0, 1.0 + t, 1.0]]).unwrap();
    for (t, x) in [(0.2, 0.0), (0.7, 3.0), (0.5, -1.0)] {
        let want = 2.0 + (x - 2.0 * t) / (1.0 + t);
        assert!(
            (g.velocity(t, x) - want).abs() < 1e-12,
            "{} vs {want}",
            g.velocity(t, x)
        );
    }
    // samples of the mixture have the weighted means
    let mut rng = SeededRng::new(3);
    let n = 20_000;
    let s: Vec<f64> = m
        .sample(&vec![1.0; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let left = s.iter().filter(|v| **v < 0.0).count() as f64 / n as f64;
    assert!(
        (left - 0.8).abs() < 5.0 * (0.16f64 / n as f64).sqrt(),
        "{left}"
    );
}

#[test]
fn the_tridiagonal_unbalanced_action_matches_the_isotropic_closed_form() {
    // N(μ_t, γ_t²) in 1-D with μ = 2t, γ = 1 + t: ŝ = ½Ây² + b̂y + ĉ (docs/oracles.md, d = 1)
    let (t, lambda) = (0.4, 0.8);
    let (mu, g, mud, gd) = (2.0 * t, 1.0 + t, 2.0, 1.0);
    let path = Mixture1d::new(vec![|t| [1.0, 0.0, 2.0 * t, 2.0, 1.0 + t, 1.0]]).unwrap();
    let (x, s) = unbalanced_action_1d(
        |y| path.density(t, y),
        |y| path.density_dt(t, y),
        lambda,
        mu - 9.0 * g,
        mu + 9.0 * g,
        6001,
    )
    .unwrap();
    let a = 2.0 * gd / (g * (2.0 + lambda * g * g));
    let b = mud / (1.0 + lambda * g * g);
    let c = -g * gd / (2.0 + lambda * g * g);
    let mut worst = 0.0f64;
    for (xi, si) in x.iter().zip(&s) {
        let y = xi - mu;
        if y.abs() < 3.0 * g {
            worst = worst.max((si - (0.5 * a * y * y + b * y + c)).abs());
        }
    }
    assert!(worst < 1e-4, "max |ŝ_grid − ŝ*| within 3γ: {worst}");
    assert!(unbalanced_action_1d(|_| 1.0, |_| 0.0, 0.0, 0.0, 1.0, 10).is_err());
    assert!(unbalanced_action_1d(|_| 1.0, |_| 0.0, 1.0, 1.0, 0.0, 10).is_err());
}
