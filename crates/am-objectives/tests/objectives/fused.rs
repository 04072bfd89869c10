//! The fused MLP step against the generic path (explicit passes + candle autograd): the same loss
//! and ∇θ to 1e-10 in f64 and 1e-5 in f32, for every objective, activation, time embedding and
//! weighting; the fused Adam step against am-core's Adam; the fused `Action` against the MLP's.

use am_core::train::{Adam, AdamConfig};
use am_core::{Action, DType, Derivatives, Device, LaplacianMode, SeededRng, Tensor};
use am_models::fused::Real;
use am_models::{Activation, FusedAdam, FusedMlp, Head, Mlp, MlpConfig, TimeEmbedding};
use am_objectives::{
    ActionMatching, AmConfig, Diffusion, LaplacianEstimator, PathSample, QuasiRandomTime,
    TimeWeight,
};
use am_paths::GaussianPath;

fn configs() -> Vec<(&'static str, AmConfig)> {
    vec![
        ("AM", AmConfig::deterministic()),
        ("entropic, exact Δ", AmConfig::entropic(0.6)),
        (
            "entropic, Hutchinson, decaying ε",
            AmConfig {
                diffusion: Diffusion::Decaying { eps: 0.7 },
                laplacian: LaplacianEstimator::Hutchinson,
                ..Default::default()
            },
        ),
        ("unbalanced", AmConfig::unbalanced(0.8)),
        (
            "combined ε + λ + ω = 1 − t",
            AmConfig {
                diffusion: Diffusion::Constant { eps: 0.4 },
                growth: 0.5,
                weight: TimeWeight::OneMinusT,
                ..Default::default()
            },
        ),
        (
            "AM, polynomial ω",
            AmConfig {
                weight: TimeWeight::Polynomial(vec![0.5, 1.0, 1.0]),
                ..Default::default()
            },
        ),
        (
            "unbalanced with per-time masses",
            AmConfig {
                growth: 1.0,
                weight: TimeWeight::Mass {
                    times: vec![0.0, 0.3, 1.0],
                    masses: vec![1.0, 2.5, 0.7],
                },
                ..Default::default()
            },
        ),
    ]
}

/// A batch with N₀ ≠ N₁ ≠ N and importance weights 1/p(t).
fn batch(dtype: DType, d: usize) -> PathSample {
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(21);
    let mut sampler = QuasiRandomTime::new();
    let b = PathSample::draw(&path, 24, &mut sampler, &mut rng, DType::F64, &Device::Cpu).unwrap();
    let widen = |x: &Tensor, rows: usize| {
        let x = x.narrow(0, 0, rows).unwrap();
        let extra = if d > 2 {
            let z = rng_tensor(rows, d - 2);
            Tensor::cat(&[&x, &z], 1).unwrap()
        } else {
            x
        };
        extra.to_dtype(dtype).unwrap()
    };
    let inv_p = SeededRng::new(5)
        .uniform_tensor(&[24, 1], 0.5, 2.0, dtype, &Device::Cpu)
        .unwrap();
    PathSample::new(
        widen(&b.x0, 19),
        widen(&b.x1, 13),
        b.t.to_dtype(dtype).unwrap(),
        widen(&b.xt, 24),
        Some(inv_p),
    )
    .unwrap()
}

fn rng_tensor(rows: usize, cols: usize) -> Tensor {
    SeededRng::new(rows as u64 * 31 + cols as u64)
        .normal_tensor(&[rows, cols], DType::F64, &Device::Cpu)
        .unwrap()
}

fn mlp(act: Activation, emb: TimeEmbedding, d: usize, dtype: DType) -> Mlp {
    mlp_with_head(act, emb, d, dtype, Head::Scalar)
}

fn mlp_with_head(act: Activation, emb: TimeEmbedding, d: usize, dtype: DType, head: Head) -> Mlp {
    Mlp::new(
        MlpConfig {
            dim: d,
            hidden: vec![16, 12, 16],
            activation: act,
            time_embedding: emb,
            output_scale: 0.7,
            head,
            ..Default::default()
        },
        &mut SeededRng::new(3),
        dtype,
        &Device::Cpu,
    )
    .unwrap()
}

/// Flattened generic gradient in the fused layout, and the generic loss.
fn generic(obj: &ActionMatching, m: &Mlp, b: &PathSample) -> (f64, Vec<f64>) {
    let out = obj.loss(m, b, &mut SeededRng::new(99)).unwrap();
    let grads = out.loss.backward().unwrap();
    let mut flat = Vec::new();
    for var in m.parameters() {
        let g = grads.get(var.as_tensor()).unwrap();
        flat.extend(
            g.to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap(),
        );
    }
    let loss = out
        .loss
        .to_dtype(DType::F64)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    (loss, flat)
}

fn relative(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(1e-300)
}

fn compare<T: Real>(dtype: DType, tol: f64) {
    for d in [2, 3] {
        let b = batch(dtype, d);
        for emb in [
            TimeEmbedding::Raw,
            TimeEmbedding::Sinusoidal { frequencies: 2 },
        ] {
            for act in [
                Activation::Silu,
                Activation::Tanh,
                Activation::Softplus,
                Activation::Gelu,
            ] {
                // the scalar head with raw time, ½‖x − h‖² (the hydrogen model's) with sinusoidal
                let head = match emb {
                    TimeEmbedding::Raw => Head::Scalar,
                    _ => Head::HalfSquaredDistance,
                };
                let m = mlp_with_head(act, emb, d, dtype, head);
                let mut fused = FusedMlp::<T>::from_mlp(&m).unwrap();
                for (c, (name, config)) in configs().into_iter().enumerate() {
                    // one block, or three row blocks (uneven: 19, 13 and 24 rows) summed
                    fused.set_threads(1 + 2 * (c % 2));
                    let obj = ActionMatching::new(config).unwrap();
                    let (loss, grad) = generic(&obj, &m, &b);
                    let terms = obj.terms(d, &b, &mut SeededRng::new(99)).unwrap();
                    let out = fused.loss_and_grad(&terms).unwrap();
                    let fg: Vec<f64> = fused.grad().iter().map(|v| v.f64()).collect();
                    let what = format!(
                        "{name}, {act:?}, {emb:?}, {head:?}, d = {d}, {dtype:?}, {} blocks",
                        fused.threads()
                    );
                    assert!(
                        (out.loss - loss).abs() <= tol * loss.abs().max(1.0),
                        "{what}: loss {} vs {loss}",
                        out.loss
                    );
                    let err = relative(&fg, &grad);
                    assert!(err <= tol, "{what}: ∇θ relative error {err:.2e}");
                    // the integrand matches the generic one as well
                    let zeta = obj
                        .loss(&m, &b, &mut SeededRng::new(99))
                        .unwrap()
                        .integrand
                        .to_dtype(DType::F64)
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f64>()
                        .unwrap();
                    assert!(relative(&out.integrand, &zeta) <= tol, "{what}: ζ");
                }
            }
        }
    }
}

#[test]
fn fused_gradients_equal_the_generic_path_in_f64() {
    compare::<f64>(DType::F64, 1e-10);
}

#[test]
fn fused_gradients_equal_the_generic_path_in_f32() {
    compare::<f32>(DType::F32, 1e-5);
}

#[test]
fn fused_adam_steps_equal_generic_adam_steps() {
    let b = batch(DType::F64, 2);
    for (name, config) in [configs()[0].clone(), configs()[4].clone()] {
        let m = mlp(Activation::Silu, TimeEmbedding::Raw, 2, DType::F64);
        let obj = ActionMatching::new(config).unwrap();
        let ac = AdamConfig {
            lr: 3e-2,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut fused = FusedMlp::<f64>::from_mlp(&m).unwrap();
        let mut fadam = FusedAdam::new(fused.params().len(), ac).unwrap();
        let mut adam = Adam::new(m.parameters(), ac).unwrap();
        for _ in 0..4 {
            let grads = obj
                .loss(&m, &b, &mut SeededRng::new(99))
                .unwrap()
                .loss
                .backward()
                .unwrap();
            adam.step(&grads, ac.lr).unwrap();
            let terms = obj.terms(2, &b, &mut SeededRng::new(99)).unwrap();
            fused.train_step(&terms, &mut fadam, ac.lr).unwrap();
        }
        let mut generic = Vec::new();
        for var in m.parameters() {
            generic.extend(var.flatten_all().unwrap().to_vec1::<f64>().unwrap());
        }
        // Adam divides by √v, so entries whose gradient is near 0 turn the 1e-13 gradient
        // agreement into ≈ 1e-9 after four steps
        let err = relative(fused.params(), &generic);
        assert!(err < 1e-8, "{name}: parameters differ by {err:.2e}");
        assert_eq!(fadam.step_count(), 4);
        // writing back gives a model that evaluates like the generic one
        let copy = mlp(Activation::Silu, TimeEmbedding::Raw, 2, DType::F64);
        fused.write_into(&copy).unwrap();
        let t = Tensor::new(&[[0.3f64]], &Device::Cpu).unwrap();
        let x = Tensor::new(&[[0.1f64, -0.4]], &Device::Cpu).unwrap();
        let a = copy.value(&t, &x).unwrap().to_vec2::<f64>().unwrap()[0][0];
        let c = m.value(&t, &x).unwrap().to_vec2::<f64>().unwrap()[0][0];
        assert!((a - c).abs() < 1e-8, "{a} vs {c}");
    }
}

#[test]
fn clipped_fused_steps_equal_generic_clipped_steps() {
    use am_core::train::clip_grad_norm;
    let b = batch(DType::F64, 2);
    let m = mlp(Activation::Silu, TimeEmbedding::Raw, 2, DType::F64);
    let obj = ActionMatching::new(AmConfig::entropic(0.5)).unwrap();
    let ac = AdamConfig {
        lr: 1e-2,
        ..Default::default()
    };
    let mut fused = FusedMlp::<f64>::from_mlp(&m).unwrap();
    let mut fadam = FusedAdam::new(fused.params().len(), ac).unwrap();
    let mut adam = Adam::new(m.parameters(), ac).unwrap();
    for _ in 0..3 {
        let mut grads = obj
            .loss(&m, &b, &mut SeededRng::new(9))
            .unwrap()
            .loss
            .backward()
            .unwrap();
        let norm = clip_grad_norm(&mut grads, &m.parameters(), 0.05).unwrap();
        adam.step(&grads, ac.lr).unwrap();
        let terms = obj.terms(2, &b, &mut SeededRng::new(9)).unwrap();
        let fnorm = fused
            .train_step_clipped(&terms, &mut fadam, ac.lr, 0.05)
            .unwrap()
            .grad_norm;
        // equal to 1e-12 at the first step; Adam then amplifies the 1e-13 differences (≈ 1e-9)
        assert!((fnorm - norm).abs() < 1e-7 * norm, "{fnorm} vs {norm}");
        assert!(norm > 0.05, "the test must clip");
    }
    let mut generic = Vec::new();
    for var in m.parameters() {
        generic.extend(var.flatten_all().unwrap().to_vec1::<f64>().unwrap());
    }
    let err = relative(fused.params(), &generic);
    assert!(err < 1e-8, "parameters differ by {err:.2e}");
    let terms = obj.terms(2, &b, &mut SeededRng::new(9)).unwrap();
    assert!(fused
        .train_step_clipped(&terms, &mut fadam, 1e-3, 0.0)
        .is_err());
}

#[test]
fn fused_action_evaluates_like_the_mlp() {
    for (act, head) in [
        (Activation::Silu, Head::Scalar),
        (Activation::Gelu, Head::Scalar),
        (Activation::Tanh, Head::HalfSquaredDistance),
    ] {
        let m = mlp_with_head(
            act,
            TimeEmbedding::Sinusoidal { frequencies: 1 },
            3,
            DType::F64,
            head,
        );
        let mut fused = FusedMlp::<f64>::from_mlp(&m).unwrap();
        // 11 rows: one block; 700 rows over 3 threads: row blocks of 233, 233 and 234
        let (rows, threads) = if act == Activation::Silu {
            (11, 1)
        } else {
            (700, 3)
        };
        fused.set_threads(threads);
        let mut rng = SeededRng::new(2);
        let x = rng
            .normal_tensor(&[rows, 3], DType::F64, &Device::Cpu)
            .unwrap();
        let t = rng
            .uniform_tensor(&[rows, 1], 0.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        let probe = rng
            .rademacher_tensor(&[rows, 3], DType::F64, &Device::Cpu)
            .unwrap();
        for mode in [
            LaplacianMode::None,
            LaplacianMode::Exact,
            LaplacianMode::Hutchinson(probe),
        ] {
            let want = Derivatives {
                laplacian: mode.clone(),
            };
            let a = m.eval(&t, &x, &want).unwrap();
            let b = fused.eval(&t, &x, &want).unwrap();
            let pairs = [(a.s, b.s), (a.grad_x, b.grad_x), (a.dt, b.dt)];
            for (u, v) in pairs {
                let diff = (u - v).unwrap().abs().unwrap().max_all().unwrap();
                assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);
            }
            match (a.laplacian, b.laplacian) {
                (Some(u), Some(v)) => {
                    let diff = (u - v).unwrap().abs().unwrap().max_all().unwrap();
                    assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);
                }
                (None, None) => {}
                _ => panic!("Laplacian presence differs for {mode:?}"),
            }
        }
        let v = fused.value(&t, &x).unwrap();
        let w = m.value(&t, &x).unwrap();
        let diff = (v - w).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);
        assert!(fused.parameters().is_empty());
    }
}

#[test]
fn fused_path_rejects_what_it_cannot_do() {
    let m = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![4],
            head: Head::InnerProduct,
            ..Default::default()
        },
        &mut SeededRng::new(1),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    assert!(FusedMlp::<f64>::from_mlp(&m).is_err());
    let m = mlp(Activation::Silu, TimeEmbedding::Raw, 2, DType::F64);
    let mut fused = FusedMlp::<f64>::from_mlp(&m).unwrap();
    let b = batch(DType::F64, 2);
    let obj = ActionMatching::new(AmConfig::deterministic()).unwrap();
    let mut terms = obj.terms(2, &b, &mut SeededRng::new(1)).unwrap();
    // a batch of another dimension
    let wrong = batch(DType::F64, 3);
    assert!(obj.terms(2, &wrong, &mut SeededRng::new(1)).is_err());
    terms.xt[3] = f64::NAN;
    let err = fused.loss_and_grad(&terms).unwrap_err().to_string();
    assert!(err.contains("xt"), "{err}");
    terms.xt[3] = 0.0;
    terms.t[0] = 1.5;
    assert!(fused.loss_and_grad(&terms).is_err());
    terms.t[0] = 0.5;
    terms.scale.pop();
    assert!(fused.loss_and_grad(&terms).is_err());
    let mut adam = FusedAdam::<f64>::new(3, AdamConfig::default()).unwrap();
    terms.scale.push(0.1);
    assert!(fused.train_step(&terms, &mut adam, 1e-3).is_err());
}
