//! Sampling of the paths.

use am_core::{DType, Device, Marginals, SeededRng};
use am_paths::{GaussianMixture, GaussianPath, LinearInterpolant, StandardNormal};

#[test]
fn gaussian_path_samples_have_the_path_moments() {
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(1);
    let n = 20_000;
    let x = path
        .sample(&vec![0.5; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let v: Vec<Vec<f64>> = x.to_vec2().unwrap();
    let mean0 = v.iter().map(|r| r[0]).sum::<f64>() / n as f64;
    let var0 = v.iter().map(|r| (r[0] - mean0).powi(2)).sum::<f64>() / n as f64;
    // μ = (1, 1), γ = 1.5: standard errors 1.5/√n ≈ 0.011 and ≈ 0.016 for the variance 2.25
    assert!((mean0 - 1.0).abs() < 0.05, "{mean0}");
    assert!((var0 - 2.25).abs() < 0.1, "{var0}");
    assert!(path
        .sample(&[1.5], &mut rng, DType::F64, &Device::Cpu)
        .is_err());
}

#[test]
fn log_density_matches_isotropic_formula() {
    let path = GaussianPath::moving_and_scaling();
    let lp = path.log_density(0.0, &[0.5, -0.2]).unwrap();
    let want = -0.5 * (0.25 + 0.04) - (2.0 * std::f64::consts::PI).ln();
    assert!((lp - want).abs() < 1e-12);
}

#[test]
fn linear_interpolant_hits_its_endpoints() {
    let mix = GaussianMixture::circle(8, 4.0, 0.1).unwrap();
    let path = LinearInterpolant::new(StandardNormal { dim: 2 }, mix).unwrap();
    let mut rng = SeededRng::new(4);
    let x1: Vec<Vec<f64>> = path
        .sample(&vec![1.0; 500], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .to_vec2()
        .unwrap();
    for r in &x1 {
        let radius = (r[0] * r[0] + r[1] * r[1]).sqrt();
        assert!(
            (radius - 4.0).abs() < 0.6,
            "target point off the circle: {r:?}"
        );
    }
    assert!(GaussianMixture::circle(8, 4.0, -1.0).is_err());
    assert!(LinearInterpolant::new(
        StandardNormal { dim: 3 },
        GaussianMixture::circle(2, 1.0, 0.1).unwrap()
    )
    .is_err());
}

#[test]
fn independent_interpolant_has_the_interpolated_moments() {
    use nalgebra::{DMatrix, DVector};
    let a0 = DMatrix::from_row_slice(2, 2, &[1.4, 0.0, 0.3, 0.5]);
    let a1 = DMatrix::from_row_slice(2, 2, &[0.2, -0.7, 0.9, 0.1]);
    let (m0, m1) = (
        DVector::from_vec(vec![0.0, 1.0]),
        DVector::from_vec(vec![3.0, -1.0]),
    );
    let path = am_paths::GaussianPath::interpolant(m0.clone(), a0.clone(), m1.clone(), a1.clone())
        .unwrap();
    let (s0, s1) = (&a0 * a0.transpose(), &a1 * a1.transpose());
    for &t in &[0.0, 0.3, 1.0] {
        let m = path.moments(t);
        let cov = &s0 * (1.0 - t).powi(2) + &s1 * (t * t);
        assert!((m.cov.value - cov).abs().max() < 1e-14);
        assert!(
            (m.cov.dot - (&s0 * (-2.0 * (1.0 - t)) + &s1 * (2.0 * t)))
                .abs()
                .max()
                < 1e-14
        );
        assert!((m.mean.value - (&m0 * (1.0 - t) + &m1 * t)).abs().max() < 1e-14);
    }
    assert!(am_paths::GaussianPath::interpolant(DVector::zeros(3), a0, m1, a1).is_err());
}
