//! Tests of am-core (one integration-test binary for the crate).

use am_core::train::{clip_grad_norm, clip_grad_value, grad_norm, Adam, AdamConfig, Ema, Warmup};
use am_core::{ConvexCost, DType, Device, PowerCost, QuadraticCost, SeededRng, Tensor, Var};

fn host(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Fenchel–Young: c(v) + c*(a) = ⟨v, a⟩ exactly when v = ∇c*(a), and c(v) + c*(a) ≥ ⟨v, a⟩ always.
#[test]
fn costs_are_convex_conjugates() {
    let mut rng = SeededRng::new(1);
    let a = rng
        .normal_tensor(&[50, 3], DType::F64, &Device::Cpu)
        .unwrap();
    let m = vec![2.0, 0.4, 0.0, 0.4, 1.0, -0.3, 0.0, -0.3, 0.7];
    let costs: Vec<Box<dyn ConvexCost>> = vec![
        Box::new(QuadraticCost::new(m, 3).unwrap()),
        Box::new(QuadraticCost::identity(3)),
        Box::new(PowerCost::new(1.5).unwrap()),
        Box::new(PowerCost::new(3.0).unwrap()),
    ];
    for c in costs {
        let v = c.grad_conjugate(&a).unwrap();
        let lhs = host(&(c.cost(&v).unwrap() + c.conjugate(&a).unwrap()).unwrap());
        let dot = host(&(&v * &a).unwrap().sum_keepdim(1).unwrap());
        for (l, d) in lhs.iter().zip(&dot) {
            assert!(
                (l - d).abs() < 1e-10 * (1.0 + d.abs()),
                "{}: {l} vs {d}",
                c.name()
            );
        }
        let other = rng
            .normal_tensor(&[50, 3], DType::F64, &Device::Cpu)
            .unwrap();
        let gap = host(
            &((c.cost(&other).unwrap() + c.conjugate(&a).unwrap()).unwrap()
                - (&other * &a).unwrap().sum_keepdim(1).unwrap())
            .unwrap(),
        );
        assert!(
            gap.iter().all(|g| *g >= -1e-12),
            "{}: Fenchel–Young inequality",
            c.name()
        );
    }
    // p = 2 is the standard ½‖·‖²
    let p2 = PowerCost::new(2.0).unwrap();
    let q = QuadraticCost::identity(3);
    let diff = host(&(p2.conjugate(&a).unwrap() - q.conjugate(&a).unwrap()).unwrap());
    assert!(diff.iter().all(|d| d.abs() < 1e-12));
}

/// Adam against a hand-computed two-step reference (PyTorch's update rule, no weight decay).
#[test]
fn adam_matches_the_update_rule_and_resumes() {
    let w = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
    let cfg = AdamConfig {
        lr: 0.1,
        ..Default::default()
    };
    let mut opt = Adam::new(vec![w.clone()], cfg).unwrap();
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let (mut m, mut v, mut p) = ([0.0; 2], [0.0; 2], [1.0, -2.0]);
    for k in 1..=3 {
        // loss = Σ w³ → g = 3w²
        let loss = w.as_tensor().powf(3.0).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        opt.step(&grads, 0.1).unwrap();
        for i in 0..2 {
            let g = 3.0 * p[i] * p[i];
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let mh = m[i] / (1.0 - b1.powi(k));
            let vh = v[i] / (1.0 - b2.powi(k));
            p[i] -= 0.1 * mh / (vh.sqrt() + eps);
        }
    }
    let got = host(w.as_tensor());
    assert!(
        (got[0] - p[0]).abs() < 1e-12 && (got[1] - p[1]).abs() < 1e-12,
        "{got:?} vs {p:?}"
    );
    // restoring moments reproduces the next step exactly
    let (mm, vv) = opt.moments();
    let w2 = Var::new(got.as_slice(), &Device::Cpu).unwrap();
    let mut opt2 = Adam::new(vec![w2.clone()], cfg).unwrap();
    opt2.restore(mm.to_vec(), vv.to_vec(), opt.step_count())
        .unwrap();
    let g1 = w
        .as_tensor()
        .powf(3.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g2 = w2
        .as_tensor()
        .powf(3.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    opt.step(&g1, 0.1).unwrap();
    opt2.step(&g2, 0.1).unwrap();
    assert_eq!(host(w.as_tensor()), host(w2.as_tensor()));
    assert!(AdamConfig { beta1: 1.0, ..cfg }.validate().is_err());
    assert!(AdamConfig { lr: -1.0, ..cfg }.validate().is_err());
}

#[test]
fn clipping_ema_and_warmup() {
    let w = Var::new(&[3.0f64, 4.0], &Device::Cpu).unwrap();
    let loss = (w.as_tensor() * 1.0)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .affine(0.5, 0.0)
        .unwrap();
    let mut grads = loss.backward().unwrap(); // g = w, ‖g‖ = 5
    let vars = vec![w.clone()];
    assert!((grad_norm(&grads, &vars).unwrap() - 5.0).abs() < 1e-12);
    let before = clip_grad_norm(&mut grads, &vars, 1.0).unwrap();
    assert!((before - 5.0).abs() < 1e-12);
    assert!((grad_norm(&grads, &vars).unwrap() - 1.0).abs() < 1e-6);
    clip_grad_value(&mut grads, &vars, 0.5).unwrap();
    assert!(host(grads.get(w.as_tensor()).unwrap())
        .iter()
        .all(|g| g.abs() <= 0.5));

    let mut ema = Ema::new(&vars, 0.9).unwrap();
    w.set(&Tensor::new(&[13.0f64, 14.0], &Device::Cpu).unwrap())
        .unwrap();
    ema.update(&vars).unwrap();
    let avg = host(&ema.values()[0]);
    assert!(
        (avg[0] - 4.0).abs() < 1e-12 && (avg[1] - 5.0).abs() < 1e-12,
        "{avg:?}"
    );
    assert!(Ema::new(&vars, 1.0).is_err());

    let s = Warmup {
        lr: 1.0,
        steps: 10,
        cosine_total: Some(110),
        floor: 0.0,
    };
    assert!((s.lr_at(5) - 0.5).abs() < 1e-12);
    assert!((s.lr_at(10) - 1.0).abs() < 1e-12);
    assert!((s.lr_at(60) - 0.5).abs() < 1e-12);
    assert!(s.lr_at(110).abs() < 1e-12);
    assert_eq!(
        Warmup {
            lr: 2.0,
            steps: 0,
            cosine_total: None,
            floor: 0.0
        }
        .lr_at(7),
        2.0
    );
}

#[test]
fn seeded_rng_is_reproducible_and_resumable() {
    let mut a = SeededRng::new(42);
    let mut b = SeededRng::new(42);
    assert_eq!(a.normal_vec(5), b.normal_vec(5));
    let state = a.state();
    let next = a.uniform_vec(3, 0.0, 1.0);
    let mut c = SeededRng::from_state(state);
    assert_eq!(c.uniform_vec(3, 0.0, 1.0), next);
    let r = a
        .rademacher_tensor(&[1000, 1], DType::F32, &Device::Cpu)
        .unwrap();
    let v = host(&r);
    assert!(v.iter().all(|x| *x == 1.0 || *x == -1.0));
    assert!(v.iter().sum::<f64>().abs() < 150.0);
    let mut p = a.permutation(50);
    p.sort();
    assert_eq!(p, (0..50).collect::<Vec<_>>());
}

#[test]
fn checks_name_the_argument() {
    use am_core::{check, Error};
    let t = Tensor::new(&[[0.5f64], [1.5]], &Device::Cpu).unwrap();
    assert!(
        matches!(check::unit_interval("t", &t), Err(Error::OutOfRange { arg: "t", value, .. }) if value == 1.5)
    );
    let x = Tensor::zeros((3, 2), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        check::times_points(&t, &x),
        Err(Error::Shape { arg: "t", .. })
    ));
    assert!(matches!(
        check::non_negative("eps", -1.0),
        Err(Error::OutOfRange { arg: "eps", .. })
    ));
    assert!(matches!(
        check::positive("lr", 0.0),
        Err(Error::OutOfRange { arg: "lr", .. })
    ));
    assert!(matches!(
        check::non_negative("lambda", f64::NAN),
        Err(Error::NonFinite { arg: "lambda", .. })
    ));
    assert!(am_core::device::parse("tpu").is_err());
    assert!(matches!(am_core::device::parse("cpu"), Ok(Device::Cpu)));
}

/// The squared-Euclidean plan between uniform clouds: in 1-D with equal sizes it is the sorted
/// coupling (monotone rearrangement), its cost the mean squared gap; its marginals are uniform for
/// unequal sizes; ragged or empty clouds are typed errors.
#[test]
fn squared_euclidean_plan_is_the_sorted_coupling_in_one_dimension() {
    use am_core::ot::{squared_distances, squared_euclidean_plan};
    let mut rng = am_core::SeededRng::new(4);
    let (mut x, mut y) = (rng.normal_vec(30), rng.uniform_vec(30, -2.0, 5.0));
    let plan = squared_euclidean_plan(&x, &y, 1).unwrap();
    let paired: Vec<(f64, f64)> = plan.entries.iter().map(|&(i, j, _)| (x[i], y[j])).collect();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let sorted = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 30.0;
    assert!(
        (plan.cost - sorted).abs() < 1e-12,
        "{} vs {sorted}",
        plan.cost
    );
    assert_eq!(plan.entries.len(), 30);
    for (a, b) in &paired {
        let rank = |v: &[f64], z: f64| v.iter().position(|&w| w == z).unwrap();
        assert_eq!(rank(&x, *a), rank(&y, *b), "monotone");
    }
    // unequal sizes in 2-D: row sums 1/n, column sums 1/m
    let (a, b) = (rng.normal_vec(2 * 7), rng.normal_vec(2 * 5));
    let plan = squared_euclidean_plan(&a, &b, 2).unwrap();
    let (mut rows, mut cols) = (vec![0.0; 7], vec![0.0; 5]);
    for &(i, j, p) in &plan.entries {
        rows[i] += p;
        cols[j] += p;
    }
    assert!(rows.iter().all(|r| (r - 1.0 / 7.0).abs() < 1e-12));
    assert!(cols.iter().all(|c| (c - 1.0 / 5.0).abs() < 1e-12));
    let c = squared_distances(&a, &b, 2).unwrap();
    let direct: f64 = plan.entries.iter().map(|&(i, j, p)| p * c[i * 5 + j]).sum();
    assert!((direct - plan.cost).abs() < 1e-12);
    assert!(matches!(
        squared_euclidean_plan(&a[..13], &b, 2),
        Err(am_core::Error::Shape { arg: "x", .. })
    ));
    assert!(matches!(
        squared_distances(&a, &[], 2),
        Err(am_core::Error::Empty { arg: "y" })
    ));
}

#[test]
fn terms_refuse_values_of_the_wrong_length() {
    use am_core::{AmTerms, TermsLaplacian};
    let terms = AmTerms {
        dim: 2,
        x0: vec![0.0; 4],
        x1: vec![0.0; 4],
        xt: vec![0.0; 6],
        t: vec![0.1, 0.5, 0.9],
        boundary_weights: [1.0, 1.0],
        omega: vec![1.0; 3],
        omega_dot: vec![0.0; 3],
        half_eps_sq: vec![0.0; 3],
        laplacian: TermsLaplacian::None,
        growth: 0.0,
        scale: vec![1.0 / 3.0; 3],
    };
    let (s0, s1, s, grad, dt) = (
        vec![0.0; 2],
        vec![0.0; 2],
        vec![0.0; 3],
        vec![0.0; 6],
        vec![0.0; 3],
    );
    assert!(terms.evaluate(&s0, &s1, &s, &grad, &dt, None).is_ok());
    assert!(terms.evaluate(&s0, &s1, &s[..2], &grad, &dt, None).is_err());
    assert!(terms.evaluate(&s0, &s1, &s, &grad[..5], &dt, None).is_err());
    assert!(terms
        .evaluate(&s0, &s1, &s, &grad, &dt, Some(&[0.0]))
        .is_err());
    assert_eq!(terms.shards(2).unwrap().len(), 2);
    let bad = AmTerms {
        t: vec![0.1, 0.5],
        ..terms
    };
    assert!(bad.shards(2).is_err());
}
