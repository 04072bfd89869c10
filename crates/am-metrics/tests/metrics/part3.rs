//! Exact OT with unequal sizes and weights, Sinkhorn, FID, IS and bits/dim against POT, scipy
//! and closed forms.

use am_core::{DType, Device, SeededRng, Tensor};
use am_metrics::transport::cost_matrix;
use am_metrics::{
    bits_per_dim, fid_from_features, frechet_distance, inception_score, mmd2, mmd2_weighted,
    sinkhorn, sinkhorn_divergence, transport, w1, w2, w2_equal, DataMapping, Error, GaussianStats,
    GroundCost, Kernel, MmdEstimator, SinkhornConfig,
};
use nalgebra::{DMatrix, DVector};

fn json() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/part3_reference.json")).unwrap()
}

fn mat(v: &serde_json::Value) -> Tensor {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let d = rows[0].len();
    Tensor::from_vec(rows.concat(), (rows.len(), d), &Device::Cpu).unwrap()
}

fn vec1(v: &serde_json::Value) -> Tensor {
    let x: Vec<f64> = serde_json::from_value(v.clone()).unwrap();
    let n = x.len();
    Tensor::from_vec(x, n, &Device::Cpu).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn exact_ot_with_unequal_sizes_and_weights_matches_pot() {
    for case in json()["ot"].as_array().unwrap() {
        let (x, y, a, b) = (
            mat(&case["x"]),
            mat(&case["y"]),
            vec1(&case["a"]),
            vec1(&case["b"]),
        );
        let got2 = w2(&x, &y, Some(&a), Some(&b)).unwrap();
        let got1 = w1(&x, &y, Some(&a), Some(&b)).unwrap();
        assert!(
            rel(got2, case["w2"].as_f64().unwrap()) < 1e-9,
            "W2 {got2} vs {}",
            case["w2"]
        );
        assert!(
            rel(got1, case["w1"].as_f64().unwrap()) < 1e-9,
            "W1 {got1} vs {}",
            case["w1"]
        );
        // the plan is feasible and certified optimal by its dual potentials
        let (n, m, c) = cost_matrix(&x, &y, GroundCost::SquaredEuclidean).unwrap();
        let av: Vec<f64> = a.to_vec1().unwrap();
        let bv: Vec<f64> = b.to_vec1().unwrap();
        let plan = transport(&av, &bv, &c).unwrap();
        let (mut rows, mut cols) = (vec![0.0; n], vec![0.0; m]);
        for &(i, j, f) in &plan.entries {
            rows[i] += f;
            cols[j] += f;
            let r = c[i * m + j] - plan.potentials.0[i] - plan.potentials.1[j];
            assert!(
                r.abs() < 1e-9,
                "complementary slackness: reduced cost {r} on the support"
            );
        }
        assert!(rows.iter().zip(&av).all(|(p, q)| (p - q).abs() < 1e-12));
        assert!(cols.iter().zip(&bv).all(|(p, q)| (p - q).abs() < 1e-12));
        for i in 0..n {
            for j in 0..m {
                assert!(
                    c[i * m + j] - plan.potentials.0[i] - plan.potentials.1[j] >= -1e-9,
                    "dual feasibility"
                );
            }
        }
        let dual: f64 = av
            .iter()
            .zip(&plan.potentials.0)
            .map(|(p, u)| p * u)
            .sum::<f64>()
            + bv.iter()
                .zip(&plan.potentials.1)
                .map(|(q, v)| q * v)
                .sum::<f64>();
        assert!(
            rel(dual, plan.cost) < 1e-9,
            "strong duality: {dual} vs {}",
            plan.cost
        );
    }
}

#[test]
fn network_simplex_agrees_with_the_assignment_solver_even_when_degenerate() {
    let mut rng = SeededRng::new(3);
    for (n, d, integer) in [(60, 3, false), (40, 1, true), (25, 2, true), (7, 2, false)] {
        let mut x = rng
            .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
            .unwrap();
        let mut y = rng
            .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
            .unwrap();
        if integer {
            // integer grid points: many equal costs and duplicated points (degenerate pivots)
            x = (x * 2.0).unwrap().round().unwrap();
            y = (y * 2.0).unwrap().round().unwrap();
        }
        let (_, _, c) = cost_matrix(&x, &y, GroundCost::SquaredEuclidean).unwrap();
        let (_, best) = am_metrics::assignment(&c, n).unwrap();
        let plan = transport(&vec![1.0; n], &vec![1.0; n], &c).unwrap();
        assert!(
            (plan.cost - best / n as f64).abs() < 1e-12,
            "n = {n}: {} vs {}",
            plan.cost,
            best / n as f64
        );
    }
    // large costs (potentials of magnitude (max cost)·(n + m)): rounding in the potentials must not
    // let a basic arc re-enter; the plan must stay a permutation with the assignment's cost
    for scale in [300.0, 1e4] {
        let n = 300;
        let x = (rng
            .normal_tensor(&[n, 5], DType::F64, &Device::Cpu)
            .unwrap()
            * scale)
            .unwrap();
        let y = (rng
            .normal_tensor(&[n, 5], DType::F64, &Device::Cpu)
            .unwrap()
            * scale)
            .unwrap();
        let (_, _, c) = cost_matrix(&x, &y, GroundCost::SquaredEuclidean).unwrap();
        let (_, best) = am_metrics::assignment(&c, n).unwrap();
        let plan = transport(&vec![1.0; n], &vec![1.0; n], &c).unwrap();
        assert_eq!(
            plan.entries.len(),
            n,
            "scale {scale}: the plan is a permutation"
        );
        assert!(
            rel(plan.cost, best / n as f64) < 1e-12,
            "scale {scale}: {} vs {}",
            plan.cost,
            best / n as f64
        );
    }
    // a mid-size instance (the size where drifting potentials once broke flow conservation):
    // the certificate — a permutation (primal feasible) whose cost equals the dual objective
    let n = 2000;
    let x = rng
        .normal_tensor(&[n, 5], DType::F64, &Device::Cpu)
        .unwrap();
    let y = rng
        .normal_tensor(&[n, 5], DType::F64, &Device::Cpu)
        .unwrap()
        .affine(1.0, 1.0)
        .unwrap();
    let (_, _, c) = cost_matrix(&x, &y, GroundCost::SquaredEuclidean).unwrap();
    let plan = transport(&vec![1.0; n], &vec![1.0; n], &c).unwrap();
    let mut hit = vec![0usize; n];
    for &(i, j, f) in &plan.entries {
        assert!((f - 1.0 / n as f64).abs() < 1e-12);
        hit[i] += 1;
        hit[j] += 1;
    }
    assert_eq!(plan.entries.len(), n);
    assert!(hit.iter().all(|&h| h == 2));
    let dual =
        (plan.potentials.0.iter().sum::<f64>() + plan.potentials.1.iter().sum::<f64>()) / n as f64;
    assert!(
        rel(dual, plan.cost) < 1e-10,
        "strong duality {dual} vs {}",
        plan.cost
    );
    // zero weights drop out of the problem, and their potentials stay dual feasible
    let x = rng
        .normal_tensor(&[6, 2], DType::F64, &Device::Cpu)
        .unwrap();
    let y = rng
        .normal_tensor(&[4, 2], DType::F64, &Device::Cpu)
        .unwrap();
    let (n, m, c) = cost_matrix(&x, &y, GroundCost::Euclidean).unwrap();
    let a = [0.2, 0.0, 0.3, 0.1, 0.0, 0.4];
    let b = [0.0, 0.5, 0.25, 0.25];
    let plan = transport(&a, &b, &c).unwrap();
    assert!(plan
        .entries
        .iter()
        .all(|&(i, j, _)| a[i] > 0.0 && b[j] > 0.0));
    for i in 0..n {
        for j in 0..m {
            assert!(c[i * m + j] - plan.potentials.0[i] - plan.potentials.1[j] >= -1e-9);
        }
    }
    let kept_x = Tensor::from_vec(
        x.to_vec2::<f64>()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(i, _)| a[*i] > 0.0)
            .flat_map(|(_, r)| r.clone())
            .collect::<Vec<_>>(),
        (4, 2),
        &Device::Cpu,
    )
    .unwrap();
    let kept_y = y.narrow(0, 1, 3).unwrap();
    let wa = Tensor::new(&[0.2f64, 0.3, 0.1, 0.4], &Device::Cpu).unwrap();
    let wb = Tensor::new(&[0.5f64, 0.25, 0.25], &Device::Cpu).unwrap();
    assert!(
        rel(
            plan.cost,
            w1(&kept_x, &kept_y, Some(&wa), Some(&wb)).unwrap()
        ) < 1e-12
    );
}

#[test]
fn sinkhorn_matches_pot_and_brackets_the_exact_cost() {
    for case in json()["ot"].as_array().unwrap() {
        let (x, y, a, b) = (
            mat(&case["x"]),
            mat(&case["y"]),
            vec1(&case["a"]),
            vec1(&case["b"]),
        );
        let reg = case["reg"].as_f64().unwrap();
        let cfg = SinkhornConfig {
            eps: reg,
            tol: 1e-12,
            block: 7,
            ..Default::default()
        };
        let r = sinkhorn(&x, &y, Some(&a), Some(&b), cfg).unwrap();
        // the tensor path (what other devices run) and the fused host path agree
        let t = sinkhorn(
            &x,
            &y,
            Some(&a),
            Some(&b),
            SinkhornConfig {
                host_fast_path: false,
                ..cfg
            },
        )
        .unwrap();
        assert!(
            rel(t.transport_cost, r.transport_cost) < 1e-10 && rel(t.dual, r.dual) < 1e-10,
            "tensor {} vs host {}",
            t.transport_cost,
            r.transport_cost
        );
        let want = case["sinkhorn_transport_cost"].as_f64().unwrap();
        assert!(
            rel(r.transport_cost, want) < 1e-7,
            "⟨P, M⟩ {} vs POT {want}",
            r.transport_cost
        );
        let exact = w2(&x, &y, Some(&a), Some(&b)).unwrap().powi(2);
        let (n, m) = (x.dim(0).unwrap() as f64, y.dim(0).unwrap() as f64);
        let gap = r.transport_cost - exact;
        assert!(
            gap >= -1e-9 && gap <= reg * (n * m).ln(),
            "0 ≤ {gap} ≤ ε log(nm)"
        );
    }
    // smaller ε, closer to the exact cost
    let mut rng = SeededRng::new(4);
    let x = rng
        .normal_tensor(&[50, 2], DType::F64, &Device::Cpu)
        .unwrap();
    let y = (rng
        .normal_tensor(&[70, 2], DType::F64, &Device::Cpu)
        .unwrap()
        + 1.0)
        .unwrap();
    let exact = w2(&x, &y, None, None).unwrap().powi(2);
    let mut last = f64::INFINITY;
    for eps in [1.0, 0.1, 0.01] {
        let r = sinkhorn(
            &x,
            &y,
            None,
            None,
            SinkhornConfig {
                eps,
                ..Default::default()
            },
        )
        .unwrap();
        let gap = r.transport_cost - exact;
        assert!(
            gap >= -1e-9 && gap <= eps * (50.0f64 * 70.0).ln() && gap < last,
            "ε = {eps}: gap {gap}"
        );
        last = gap;
    }
    let d_same = sinkhorn_divergence(&x, &x, None, None, SinkhornConfig::default()).unwrap();
    let d_diff = sinkhorn_divergence(&x, &y, None, None, SinkhornConfig::default()).unwrap();
    assert!(d_same.abs() < 1e-9, "S(x, x) = {d_same}");
    assert!(d_diff > 0.5, "S(x, y) = {d_diff}");
}

#[test]
fn fid_is_the_frechet_formula() {
    let v = json();
    let got = fid_from_features(&mat(&v["fid"]["f1"]), &mat(&v["fid"]["f2"])).unwrap();
    assert!(
        rel(got, v["fid"]["value"].as_f64().unwrap()) < 1e-8,
        "{got} vs scipy {}",
        v["fid"]["value"]
    );
    // two Gaussians with commuting covariances: ‖Δμ‖² + Σ(√λ₁ − √λ₂)²
    let a = GaussianStats {
        mean: DVector::from_vec(vec![1.0, 0.0, 2.0]),
        cov: DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 1.0, 0.25])),
    };
    let b = GaussianStats {
        mean: DVector::from_vec(vec![0.0, 0.5, 2.0]),
        cov: DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 9.0, 0.25])),
    };
    let want = 1.0 + 0.25 + (2.0f64 - 1.0).powi(2) + (1.0f64 - 3.0).powi(2);
    assert!((frechet_distance(&a, &b).unwrap() - want).abs() < 1e-10);
    assert!(frechet_distance(&a, &a).unwrap().abs() < 1e-10);
}

#[test]
fn empirical_w2_approaches_the_bures_distance() {
    // N(0, 1) vs N(1, 4) in 1-D: W2 = √(1 + (1 − 2)²) = √2; the error of the empirical W2 shrinks
    let mut rng = SeededRng::new(8);
    let mut errors = Vec::new();
    for n in [100, 400, 1600] {
        let x = rng
            .normal_tensor(&[n, 1], DType::F64, &Device::Cpu)
            .unwrap();
        let y = (rng
            .normal_tensor(&[n, 1], DType::F64, &Device::Cpu)
            .unwrap()
            * 2.0)
            .unwrap()
            .affine(1.0, 1.0)
            .unwrap();
        let e = (w2_equal(&x, &y).unwrap() - 2f64.sqrt()).abs();
        assert!(e < 8.0 / (n as f64).sqrt(), "n = {n}: error {e}");
        errors.push(e);
    }
    assert!(errors[2] < errors[0]);
}

#[test]
fn inception_score_and_bits_per_dim() {
    let v = json();
    let (mean, std) = inception_score(
        &mat(&v["is"]["logits"]),
        v["is"]["splits"].as_u64().unwrap() as usize,
    )
    .unwrap();
    assert!(
        rel(mean, v["is"]["mean"].as_f64().unwrap()) < 1e-10,
        "IS {mean}"
    );
    assert!(
        rel(std, v["is"]["std"].as_f64().unwrap()) < 1e-8,
        "IS std {std}"
    );
    // a density of 1/2 per dimension in [−1, 1] (uniform) is exactly 8 bits per 8-bit pixel
    let d = 3072;
    let ll = -(d as f64) * 2f64.ln();
    assert!((bits_per_dim(ll, d, DataMapping::Dequantized128).unwrap() - 8.0).abs() < 1e-12);
    assert!(
        (bits_per_dim(ll, d, DataMapping::TwoOver255).unwrap() - (1.0 + 127.5f64.log2())).abs()
            < 1e-12
    );
    assert!(bits_per_dim(f64::NAN, d, DataMapping::Identity).is_err());
    // L levels: log₂(L/2); L = 256 is the 7 of Dequantized128
    let l256 = DataMapping::Dequantized { levels: 256 };
    assert_eq!(
        l256.offset_bits(),
        DataMapping::Dequantized128.offset_bits()
    );
    let digits = DataMapping::Dequantized { levels: 17 }.offset_bits();
    assert!((digits - 8.5f64.log2()).abs() < 1e-15 && (digits - 3.0875).abs() < 1e-4);
}

#[test]
fn weighted_mmd_and_median_heuristic() {
    let mut rng = SeededRng::new(2);
    let x = rng
        .normal_tensor(&[40, 2], DType::F64, &Device::Cpu)
        .unwrap();
    let y = rng
        .normal_tensor(&[30, 2], DType::F64, &Device::Cpu)
        .unwrap();
    let k = Kernel::Bandwidths(vec![0.5, 2.0]);
    // uniform weights reproduce the biased estimator
    let ones_x = Tensor::ones(40, DType::F64, &Device::Cpu).unwrap();
    let ones_y = Tensor::ones(30, DType::F64, &Device::Cpu).unwrap();
    let a = mmd2_weighted(&x, &y, &ones_x, &ones_y, &k, 16).unwrap();
    let b = mmd2(&x, &y, &k, MmdEstimator::Biased, 16).unwrap();
    assert!((a - b).abs() < 1e-12);
    // duplicating a point equals doubling its weight
    let xd = Tensor::cat(&[&x, &x.narrow(0, 0, 1).unwrap()], 0).unwrap();
    let mut w = vec![1.0; 40];
    w[0] = 2.0;
    let wx = Tensor::from_vec(w, 40, &Device::Cpu).unwrap();
    let dup = mmd2(&xd, &y, &k, MmdEstimator::Biased, 16).unwrap();
    let wtd = mmd2_weighted(&x, &y, &wx, &ones_y, &k, 16).unwrap();
    assert!((dup - wtd).abs() < 1e-12);
    assert!(mmd2(
        &x,
        &y,
        &Kernel::MedianHeuristic(vec![0.5, 1.0, 2.0]),
        MmdEstimator::Unbiased,
        16
    )
    .is_ok());
    let neg = Tensor::from_vec(
        (0..40)
            .map(|i| if i == 3 { -1.0 } else { 1.0 })
            .collect::<Vec<f64>>(),
        40,
        &Device::Cpu,
    )
    .unwrap();
    assert!(matches!(
        mmd2_weighted(&x, &y, &neg, &ones_y, &k, 16),
        Err(Error::Core(am_core::Error::OutOfRange { arg: "a", .. }))
    ));
}

#[test]
fn bad_weights_are_typed_errors() {
    let x = Tensor::zeros((3, 2), DType::F64, &Device::Cpu).unwrap();
    let y = Tensor::ones((4, 2), DType::F64, &Device::Cpu).unwrap();
    let neg = Tensor::new(&[0.5f64, -0.1, 0.6], &Device::Cpu).unwrap();
    let zero = Tensor::zeros(4, DType::F64, &Device::Cpu).unwrap();
    let nan = Tensor::new(&[0.5f64, f64::NAN, 0.6], &Device::Cpu).unwrap();
    let short = Tensor::new(&[0.5f64, 0.5], &Device::Cpu).unwrap();
    assert!(matches!(
        w2(&x, &y, Some(&neg), None),
        Err(Error::Core(am_core::Error::OutOfRange { arg: "a", .. }))
    ));
    assert!(matches!(
        w1(&x, &y, None, Some(&zero)),
        Err(Error::Core(am_core::Error::OutOfRange { arg: "b", .. }))
    ));
    assert!(matches!(
        w2(&x, &y, Some(&nan), None),
        Err(Error::Core(am_core::Error::NonFinite {
            arg: "a",
            index: 1,
            ..
        }))
    ));
    assert!(matches!(
        w2(&x, &y, Some(&short), None),
        Err(Error::Core(am_core::Error::Shape { arg: "a", .. }))
    ));
    assert!(sinkhorn(
        &x,
        &y,
        None,
        None,
        SinkhornConfig {
            eps: 0.0,
            ..Default::default()
        }
    )
    .is_err());
    assert!(sinkhorn(&x, &y, Some(&neg), None, SinkhornConfig::default()).is_err());
    let z = Tensor::zeros((3, 5), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(
        w2(&x, &z, None, None),
        Err(Error::DimensionMismatch(2, 5))
    ));
    assert!(inception_score(&x, 0).is_err());
}
