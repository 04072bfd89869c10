//! Tests of am-metrics (one integration-test binary for the crate).

mod inception;
mod part3;

use am_core::{DType, Device, SeededRng, Tensor};
use am_metrics::{
    assignment, mmd2, mmd2_estimates, w1_equal, w2_equal, Error, Kernel, MmdEstimator,
};

fn cloud(rows: &[Vec<f64>]) -> Tensor {
    let d = rows[0].len();
    Tensor::from_vec(rows.concat(), (rows.len(), d), &Device::Cpu).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn exact_ot_and_mmd_match_pot_and_scipy() {
    let text = include_str!("fixtures/pot_reference.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    for case in v["cases"].as_array().unwrap() {
        let rows = |k: &str| -> Vec<Vec<f64>> { serde_json::from_value(case[k].clone()).unwrap() };
        let (x, y) = (cloud(&rows("x")), cloud(&rows("y")));
        let w2 = w2_equal(&x, &y).unwrap();
        let w1 = w1_equal(&x, &y).unwrap();
        assert!(
            rel(w2, case["w2_sqeuclidean_sqrt_emd2"].as_f64().unwrap()) < 1e-9,
            "W2 {w2}"
        );
        assert!(
            rel(w1, case["w1_euclidean_emd2"].as_f64().unwrap()) < 1e-9,
            "W1 {w1}"
        );
        let alphas: Vec<f64> = serde_json::from_value(case["alphas"].clone()).unwrap();
        let k = Kernel::Alphas(alphas);
        let u = mmd2(&x, &y, &k, MmdEstimator::Unbiased, 16).unwrap();
        let p = mmd2(&x, &y, &k, MmdEstimator::Paired, 5).unwrap();
        assert!(
            rel(p, case["mmd2_paired"].as_f64().unwrap()) < 1e-10,
            "paired MMD² {p}"
        );
        let b = mmd2(&x, &y, &k, MmdEstimator::Biased, 7).unwrap();
        let all = [
            MmdEstimator::Biased,
            MmdEstimator::Unbiased,
            MmdEstimator::Paired,
        ];
        let one_pass = mmd2_estimates(&x, &y, &k, &all, 9).unwrap();
        for (v, single) in one_pass.iter().zip([b, u, p]) {
            assert!(rel(*v, single) < 1e-12, "one pass {v} vs {single}");
        }
        assert!(
            rel(u, case["mmd2_unbiased"].as_f64().unwrap()) < 1e-10,
            "unbiased MMD² {u}"
        );
        assert!(
            rel(b, case["mmd2_biased"].as_f64().unwrap()) < 1e-10,
            "biased MMD² {b}"
        );
    }
}

#[test]
fn one_dimensional_w2_is_the_sorted_coupling() {
    let mut rng = SeededRng::new(5);
    let (mut a, mut b) = (rng.normal_vec(200), rng.uniform_vec(200, -1.0, 3.0));
    let x = Tensor::from_vec(a.clone(), (200, 1), &Device::Cpu).unwrap();
    let y = Tensor::from_vec(b.clone(), (200, 1), &Device::Cpu).unwrap();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let sorted = (a.iter().zip(&b).map(|(p, q)| (p - q).powi(2)).sum::<f64>() / 200.0).sqrt();
    assert!(rel(w2_equal(&x, &y).unwrap(), sorted) < 1e-12);
}

#[test]
fn metric_properties() {
    let mut rng = SeededRng::new(8);
    let mk = |rng: &mut SeededRng, s: f64| {
        (rng.normal_tensor(&[30, 2], DType::F64, &Device::Cpu)
            .unwrap()
            * s)
            .unwrap()
    };
    let (x, y, z) = (mk(&mut rng, 1.0), mk(&mut rng, 2.0), mk(&mut rng, 0.5));
    for w in [w1_equal, w2_equal] {
        assert!(
            (w(&x, &y).unwrap() - w(&y, &x).unwrap()).abs() < 1e-12,
            "symmetric"
        );
        assert!(w(&x, &x).unwrap().abs() < 1e-12, "zero on identical clouds");
        assert!(
            w(&x, &z).unwrap() <= w(&x, &y).unwrap() + w(&y, &z).unwrap() + 1e-9,
            "triangle inequality"
        );
    }
    let k = Kernel::Bandwidths(vec![0.1, 1.0, 10.0]);
    assert!(mmd2(&x, &y, &k, MmdEstimator::Biased, 8).unwrap() >= -1e-12);
    // unbiased MMD² between same-law samples: mean over seeded replicates within 3 standard errors of 0
    let vals: Vec<f64> = (0..40)
        .map(|_| {
            let (a, b) = (mk(&mut rng, 1.0), mk(&mut rng, 1.0));
            mmd2(&a, &b, &k, MmdEstimator::Unbiased, 64).unwrap()
        })
        .collect();
    let mean = vals.iter().sum::<f64>() / 40.0;
    let se = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 39.0 / 40.0).sqrt();
    assert!(mean.abs() < 3.0 * se, "mean {mean} ± {se}");
    // different laws are told apart
    assert!(mmd2(&x, &y, &k, MmdEstimator::Unbiased, 64).unwrap() > 10.0 * se);
}

#[test]
fn assignment_is_optimal_on_small_problems() {
    let mut rng = SeededRng::new(1);
    for n in 1..=6 {
        let c = rng.uniform_vec(n * n, 0.0, 10.0);
        let (_, best) = assignment(&c, n).unwrap();
        // brute force over permutations (Heap's algorithm)
        let mut perm: Vec<usize> = (0..n).collect();
        let mut brute = f64::INFINITY;
        fn heap(k: usize, p: &mut Vec<usize>, c: &[f64], n: usize, best: &mut f64) {
            if k == 1 {
                *best = best.min(p.iter().enumerate().map(|(i, &j)| c[i * n + j]).sum());
                return;
            }
            for i in 0..k {
                heap(k - 1, p, c, n, best);
                let j = if k.is_multiple_of(2) { i } else { 0 };
                p.swap(j, k - 1);
            }
        }
        heap(n, &mut perm, &c, n, &mut brute);
        assert!((best - brute).abs() < 1e-12, "n = {n}: {best} vs {brute}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let a = Tensor::zeros((3, 2), DType::F64, &Device::Cpu).unwrap();
    let b = Tensor::zeros((3, 3), DType::F64, &Device::Cpu).unwrap();
    let c = Tensor::zeros((4, 2), DType::F64, &Device::Cpu).unwrap();
    let e = Tensor::zeros((0, 2), DType::F64, &Device::Cpu).unwrap();
    let nan = Tensor::from_vec(
        vec![0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0],
        (3, 2),
        &Device::Cpu,
    )
    .unwrap();
    assert!(matches!(
        w2_equal(&a, &b),
        Err(Error::DimensionMismatch(2, 3))
    ));
    assert!(matches!(w2_equal(&a, &c), Err(Error::SizeMismatch(3, 4))));
    assert!(matches!(
        w1_equal(&e, &e),
        Err(Error::Core(am_core::Error::Empty { arg: "x" }))
    ));
    assert!(matches!(
        w2_equal(&nan, &a),
        Err(Error::Core(am_core::Error::NonFinite {
            arg: "x",
            index: 1,
            ..
        }))
    ));
    let k = Kernel::Alphas(vec![1.0]);
    assert!(matches!(
        mmd2(&a, &b, &k, MmdEstimator::Biased, 4),
        Err(Error::DimensionMismatch(2, 3))
    ));
    assert!(matches!(
        mmd2(&a, &nan, &k, MmdEstimator::Biased, 4),
        Err(Error::Core(am_core::Error::NonFinite { arg: "y", .. }))
    ));
    assert!(mmd2(&a, &a, &Kernel::Alphas(vec![-1.0]), MmdEstimator::Biased, 4).is_err());
    let one = Tensor::zeros((1, 2), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(
        mmd2(&one, &a, &k, MmdEstimator::Unbiased, 4),
        Err(Error::TooFewPoints { arg: "x", .. })
    ));
    assert!(assignment(&[1.0, f64::NAN, 0.0, 0.0], 2).is_err());
    assert!(matches!(
        mmd2(&c, &a, &k, MmdEstimator::Paired, 4),
        Err(Error::SizeMismatch(4, 3))
    ));
}

/// On coupled clouds (y_i = ρx_i + √(1−ρ²)ξ_i, so x and y have the same law N(0, I)) the paired
/// estimator is unbiased and the plain U-statistic is biased low by (2/n)(E k(x_i, y_i) − E k);
/// a perfect copy scores exactly 0 with the paired estimator.
#[test]
fn paired_mmd_is_unbiased_on_coupled_clouds() {
    let mut rng = SeededRng::new(12);
    let k = Kernel::Alphas(vec![0.5]);
    let (n, reps, rho) = (40, 60, 0.95_f64);
    let (mut paired, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let x = rng
            .normal_tensor(&[n, 2], DType::F64, &Device::Cpu)
            .unwrap();
        let xi = rng
            .normal_tensor(&[n, 2], DType::F64, &Device::Cpu)
            .unwrap();
        let y = ((&x * rho).unwrap() + (xi * (1.0 - rho * rho).sqrt()).unwrap()).unwrap();
        paired.push(mmd2(&x, &y, &k, MmdEstimator::Paired, 16).unwrap());
        plain.push(mmd2(&x, &y, &k, MmdEstimator::Unbiased, 16).unwrap());
    }
    let mean_se = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        (m, (var / v.len() as f64).sqrt())
    };
    let (mp, sp) = mean_se(&paired);
    let (mu, su) = mean_se(&plain);
    assert!(mp.abs() < 3.0 * sp, "paired: {mp} ± {sp}");
    // E k(x_i, y_i) = (1 + 2α·2(1−ρ))^(−d/2), E k(x, y) = (1 + 4α)^(−d/2) for d = 2, α = 1/2
    let bias = -2.0 / n as f64 * (1.0 / (1.0 + 2.0 * (1.0 - rho)) - 1.0 / 3.0);
    assert!(
        (mu - bias).abs() < 3.0 * su,
        "plain: {mu} ± {su}, bias {bias}"
    );
    assert!(
        mu < -5.0 * su,
        "the plain estimator's bias is visible: {mu} ± {su}"
    );
    let x = rng
        .normal_tensor(&[n, 2], DType::F64, &Device::Cpu)
        .unwrap();
    assert!(mmd2(&x, &x, &k, MmdEstimator::Paired, 7).unwrap().abs() < 1e-12);
}

/// Property test (fixed-seed runner): W1/W2 symmetric, zero on identical clouds, triangle
/// inequality; biased MMD² ≥ 0 — on arbitrary small clouds.
#[test]
fn metric_properties_on_arbitrary_clouds() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
    let clouds = (1usize..12, 1usize..4).prop_flat_map(|(n, d)| {
        proptest::collection::vec(proptest::collection::vec(-10.0f64..10.0, n * d), 3)
            .prop_map(move |v| (n, d, v))
    });
    runner
        .run(&clouds, |(n, d, v)| {
            let t: Vec<Tensor> = v
                .iter()
                .map(|c| Tensor::from_vec(c.clone(), (n, d), &Device::Cpu).unwrap())
                .collect();
            for w in [w1_equal, w2_equal] {
                let (xy, yx, xz, yz) = (
                    w(&t[0], &t[1]).unwrap(),
                    w(&t[1], &t[0]).unwrap(),
                    w(&t[0], &t[2]).unwrap(),
                    w(&t[1], &t[2]).unwrap(),
                );
                prop_assert!((xy - yx).abs() < 1e-9 * (1.0 + xy));
                prop_assert!(w(&t[0], &t[0]).unwrap().abs() < 1e-9);
                prop_assert!(xz <= xy + yz + 1e-9);
            }
            let k = Kernel::Bandwidths(vec![0.5, 3.0]);
            prop_assert!(mmd2(&t[0], &t[1], &k, MmdEstimator::Biased, 5).unwrap() >= -1e-12);
            Ok(())
        })
        .unwrap();
}
