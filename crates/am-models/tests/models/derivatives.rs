//! The explicit derivative passes against 4th-order central finite differences in f64.

use am_core::candle::{DType, Device, Tensor};
use am_core::{Action, Derivatives, LaplacianMode, SeededRng};
use am_models::{Activation, Head, Mlp, MlpConfig, TimeEmbedding};

pub const ACTIVATIONS: [Activation; 4] = [
    Activation::Silu,
    Activation::Tanh,
    Activation::Softplus,
    Activation::Gelu,
];
pub const HEADS: [Head; 3] = [Head::Scalar, Head::HalfSquaredDistance, Head::InnerProduct];

pub fn model(act: Activation, head: Head, emb: TimeEmbedding, seed: u64) -> Mlp {
    let cfg = MlpConfig {
        dim: 3,
        hidden: vec![12, 10],
        activation: act,
        time_embedding: emb,
        head,
        output_scale: 0.7,
        ..Default::default()
    };
    Mlp::new(cfg, &mut SeededRng::new(seed), DType::F64, &Device::Cpu).unwrap()
}

pub fn batch(n: usize, d: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = SeededRng::new(seed);
    let t = rng
        .uniform_tensor(&[n, 1], 0.05, 0.95, DType::F64, &Device::Cpu)
        .unwrap();
    let x = rng
        .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
        .unwrap();
    (t, x)
}

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_vec2::<f64>().unwrap()
}

/// s at (t_i, x_i) for one row, through the public `value`.
fn s_at(m: &Mlp, t: f64, x: &[f64]) -> f64 {
    let tt = Tensor::from_vec(vec![t], (1, 1), &Device::Cpu).unwrap();
    let xx = Tensor::from_vec(x.to_vec(), (1, x.len()), &Device::Cpu).unwrap();
    m.value(&tt, &xx).unwrap().to_vec2::<f64>().unwrap()[0][0]
}

/// 4th-order first and second derivatives of g at 0.
fn fd(g: impl Fn(f64) -> f64, h: f64) -> (f64, f64) {
    let (p1, m1, p2, m2, c) = (g(h), g(-h), g(2.0 * h), g(-2.0 * h), g(0.0));
    let d1 = (-p2 + 8.0 * p1 - 8.0 * m1 + m2) / (12.0 * h);
    let d2 = (-p2 + 16.0 * p1 - 30.0 * c + 16.0 * m1 - m2) / (12.0 * h * h);
    (d1, d2)
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * (1.0 + b.abs()),
        "{what}: {a} vs {b} (tol {tol})"
    );
}

#[test]
fn explicit_derivatives_match_finite_differences() {
    let embeddings = [
        TimeEmbedding::Raw,
        TimeEmbedding::Sinusoidal { frequencies: 2 },
    ];
    let (t, x) = batch(5, 3, 11);
    let probe = SeededRng::new(5)
        .rademacher_tensor(&[5, 3], DType::F64, &Device::Cpu)
        .unwrap();
    for act in ACTIVATIONS {
        for head in HEADS {
            for emb in embeddings {
                let m = model(act, head, emb, 3);
                let exact = m
                    .eval(
                        &t,
                        &x,
                        &Derivatives {
                            laplacian: LaplacianMode::Exact,
                        },
                    )
                    .unwrap();
                let hutch = m
                    .eval(
                        &t,
                        &x,
                        &Derivatives {
                            laplacian: LaplacianMode::Hutchinson(probe.clone()),
                        },
                    )
                    .unwrap();
                let plain = m.eval(&t, &x, &Derivatives::default()).unwrap();
                let (tv, xv, pv) = (rows(&t), rows(&x), rows(&probe));
                let tag = format!("{act:?}/{head:?}/{emb:?}");
                for i in 0..5 {
                    let s0 = s_at(&m, tv[i][0], &xv[i]);
                    for e in [&exact, &hutch, &plain] {
                        close(rows(&e.s)[i][0], s0, 1e-12, &format!("{tag} s"));
                    }
                    let (dt, _) = fd(|a| s_at(&m, tv[i][0] + a, &xv[i]), 1e-3);
                    for e in [&exact, &hutch, &plain] {
                        close(rows(&e.dt)[i][0], dt, 1e-8, &format!("{tag} ∂t s"));
                    }
                    let mut lap = 0.0;
                    for j in 0..3 {
                        let (g, h2) = fd(
                            |a| {
                                let mut y = xv[i].clone();
                                y[j] += a;
                                s_at(&m, tv[i][0], &y)
                            },
                            1e-3,
                        );
                        lap += h2;
                        for e in [&exact, &hutch, &plain] {
                            close(rows(&e.grad_x)[i][j], g, 1e-8, &format!("{tag} ∇s[{j}]"));
                        }
                    }
                    close(
                        rows(exact.laplacian.as_ref().unwrap())[i][0],
                        lap,
                        1e-7,
                        &format!("{tag} Δs"),
                    );
                    let (_, vhv) = fd(
                        |a| {
                            let y: Vec<f64> =
                                xv[i].iter().zip(&pv[i]).map(|(x, v)| x + a * v).collect();
                            s_at(&m, tv[i][0], &y)
                        },
                        1e-3,
                    );
                    close(
                        rows(hutch.laplacian.as_ref().unwrap())[i][0],
                        vhv,
                        1e-7,
                        &format!("{tag} vᵀ∇²s v"),
                    );
                }
            }
        }
    }
}

/// A loss using every derivative; its θ-gradient by one first-order backward is checked against
/// finite differences in the parameters.
#[test]
fn parameter_gradient_of_explicit_loss_matches_finite_differences() {
    let (t, x) = batch(6, 3, 21);
    for act in ACTIVATIONS {
        for head in HEADS {
            let m = model(act, head, TimeEmbedding::Raw, 8);
            let loss = |m: &Mlp| -> Tensor {
                let e = m
                    .eval(
                        &t,
                        &x,
                        &Derivatives {
                            laplacian: LaplacianMode::Exact,
                        },
                    )
                    .unwrap();
                let terms = ((e.grad_x.sqr().unwrap().sum_keepdim(1).unwrap() * 0.5).unwrap()
                    + &e.dt)
                    .unwrap();
                let terms = (terms + (e.laplacian.unwrap() * 0.3).unwrap()).unwrap();
                let terms = (terms + (e.s.sqr().unwrap() * 0.2).unwrap()).unwrap();
                terms.mean_all().unwrap()
            };
            let grads = loss(&m).backward().unwrap();
            for var in m.parameters() {
                let g = grads
                    .get(var.as_tensor())
                    .expect("every parameter gets a gradient");
                let flat: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
                let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                for idx in [0, base.len() / 2, base.len() - 1] {
                    let at = |a: f64| {
                        let mut p = base.clone();
                        p[idx] += a;
                        var.set(&Tensor::from_vec(p, var.dims(), &Device::Cpu).unwrap())
                            .unwrap();
                        let v = loss(&m).to_scalar::<f64>().unwrap();
                        var.set(&Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap())
                            .unwrap();
                        v
                    };
                    let (num, _) = fd(at, 1e-4);
                    close(
                        flat[idx],
                        num,
                        1e-7,
                        &format!("{act:?}/{head:?} ∂L/∂θ[{idx}]"),
                    );
                }
            }
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let m = model(Activation::Silu, Head::Scalar, TimeEmbedding::Raw, 1);
    let (t, x) = batch(4, 3, 1);
    let wrong_d = Tensor::zeros((4, 2), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(
        m.eval(&t, &wrong_d, &Derivatives::default()),
        Err(am_core::Error::Shape { arg: "x", .. })
    ));
    let wrong_n = Tensor::zeros((3, 1), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(
        m.eval(&wrong_n, &x, &Derivatives::default()),
        Err(am_core::Error::Shape { arg: "t", .. })
    ));
    let empty = Tensor::zeros((0, 3), DType::F64, &Device::Cpu).unwrap();
    let t0 = Tensor::zeros((0, 1), DType::F64, &Device::Cpu).unwrap();
    assert!(matches!(
        m.eval(&t0, &empty, &Derivatives::default()),
        Err(am_core::Error::Empty { .. })
    ));
    let bad_probe = Derivatives {
        laplacian: LaplacianMode::Hutchinson(wrong_d),
    };
    assert!(matches!(
        m.eval(&t, &x, &bad_probe),
        Err(am_core::Error::Shape { arg: "probe", .. })
    ));
    let cfg = MlpConfig {
        hidden: vec![],
        ..Default::default()
    };
    assert!(Mlp::new(cfg, &mut SeededRng::new(0), DType::F64, &Device::Cpu).is_err());
}

#[test]
fn save_and_load_round_trip() {
    let dir = std::env::temp_dir().join(format!("am-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mlp.safetensors");
    let a = model(Activation::Tanh, Head::InnerProduct, TimeEmbedding::Raw, 1);
    let b = model(Activation::Tanh, Head::InnerProduct, TimeEmbedding::Raw, 2);
    a.save(&path).unwrap();
    b.load_parameters(&path).unwrap();
    let (t, x) = batch(3, 3, 4);
    let (sa, sb) = (a.value(&t, &x).unwrap(), b.value(&t, &x).unwrap());
    assert_eq!(rows(&sa), rows(&sb));
    // a snapshot of the parameters does not follow later updates of the model
    let snapshot = a.named_tensors().unwrap();
    let before = snapshot["layer0.weight"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    a.load_named_tensors(&b.named_tensors().unwrap()).unwrap();
    let other = model(Activation::Tanh, Head::InnerProduct, TimeEmbedding::Raw, 7);
    a.load_named_tensors(&other.named_tensors().unwrap())
        .unwrap();
    let after = snapshot["layer0.weight"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert_eq!(before, after);
    let small = Mlp::new(
        MlpConfig {
            dim: 3,
            hidden: vec![4],
            ..Default::default()
        },
        &mut SeededRng::new(0),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let err = small.load_parameters(&path).unwrap_err().to_string();
    assert!(err.contains("mlp.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
