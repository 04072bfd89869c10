//! `VectorMlp`: its Jacobian-vector products and divergence against finite differences in f64.

use am_core::candle::{DType, Device, Tensor};
use am_core::{LaplacianMode, ScoreField, SeededRng, VectorModel, VelocityField};
use am_models::{Activation, MlpConfig, TimeEmbedding, VectorMlp};

fn net(act: Activation, emb: TimeEmbedding) -> VectorMlp {
    let cfg = MlpConfig {
        dim: 3,
        hidden: vec![12, 10],
        activation: act,
        time_embedding: emb,
        output_scale: 0.7,
        ..Default::default()
    };
    VectorMlp::new(cfg, &mut SeededRng::new(5), DType::F64, &Device::Cpu).unwrap()
}

fn f_at(m: &VectorMlp, t: f64, x: &[f64]) -> Vec<f64> {
    let xx = Tensor::from_vec(x.to_vec(), (1, 3), &Device::Cpu).unwrap();
    m.score(t, &xx).unwrap().to_vec2::<f64>().unwrap()[0].clone()
}

#[test]
fn jvps_and_divergence_match_finite_differences() {
    for act in super::derivatives::ACTIVATIONS {
        for emb in [
            TimeEmbedding::Raw,
            TimeEmbedding::Sinusoidal { frequencies: 2 },
        ] {
            let m = net(act, emb);
            let (t, x) = super::derivatives::batch(4, 3, 9);
            let mut rng = SeededRng::new(1);
            let v = rng
                .normal_tensor(&[2, 4, 3], DType::F64, &Device::Cpu)
                .unwrap();
            let (f, jvp) = m.forward_jvp(&t, &x, Some(&v)).unwrap();
            let (_, div) = m
                .velocity_divergence(0.0, &x, &LaplacianMode::Exact)
                .unwrap();
            let tv = t.to_vec2::<f64>().unwrap();
            let xv = x.to_vec2::<f64>().unwrap();
            let vv = v.to_vec3::<f64>().unwrap();
            let jv = jvp.unwrap().to_vec3::<f64>().unwrap();
            let fv = f.to_vec2::<f64>().unwrap();
            let dv = div.to_vec2::<f64>().unwrap();
            let h = 1e-3;
            for i in 0..4 {
                assert!(
                    (f_at(&m, tv[i][0], &xv[i])[0] - fv[i][0]).abs() < 1e-14,
                    "value"
                );
                for k in 0..2 {
                    let g = |e: f64| {
                        let p: Vec<f64> = (0..3).map(|j| xv[i][j] + e * vv[k][i][j]).collect();
                        f_at(&m, tv[i][0], &p)
                    };
                    let (p1, m1, p2, m2) = (g(h), g(-h), g(2.0 * h), g(-2.0 * h));
                    for c in 0..3 {
                        let fd = (-p2[c] + 8.0 * p1[c] - 8.0 * m1[c] + m2[c]) / (12.0 * h);
                        assert!(
                            (fd - jv[k][i][c]).abs() < 1e-8 * (1.0 + fd.abs()),
                            "{act:?} {emb:?}: JVP {fd} vs {}",
                            jv[k][i][c]
                        );
                    }
                }
                // divergence at t = 0: Σ_c ∂f_c/∂x_c
                let mut tr = 0.0;
                for c in 0..3 {
                    let g = |e: f64| {
                        let mut p = xv[i].clone();
                        p[c] += e;
                        f_at(&m, 0.0, &p)[c]
                    };
                    tr += (-g(2.0 * h) + 8.0 * g(h) - 8.0 * g(-h) + g(-2.0 * h)) / (12.0 * h);
                }
                assert!(
                    (tr - dv[i][0]).abs() < 1e-8 * (1.0 + tr.abs()),
                    "{act:?}: div"
                );
            }
        }
    }
}

#[test]
fn hutchinson_divergence_is_unbiased() {
    let m = net(Activation::Silu, TimeEmbedding::Raw);
    let x = Tensor::from_vec(vec![0.3, -0.2, 0.5], (1, 3), &Device::Cpu).unwrap();
    let (_, exact) = m
        .velocity_divergence(0.4, &x, &LaplacianMode::Exact)
        .unwrap();
    let exact = exact.to_vec2::<f64>().unwrap()[0][0];
    // the mean over all 8 sign patterns of vᵀJv is exactly tr J
    let mut sum = 0.0;
    for bits in 0..8u32 {
        let v: Vec<f64> = (0..3)
            .map(|j| if bits >> j & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        let v = Tensor::from_vec(v, (1, 3), &Device::Cpu).unwrap();
        let (_, h) = m
            .velocity_divergence(0.4, &x, &LaplacianMode::Hutchinson(v))
            .unwrap();
        sum += h.to_vec2::<f64>().unwrap()[0][0];
    }
    assert!((sum / 8.0 - exact).abs() < 1e-12);
}

#[test]
fn rejects_bad_directions_and_saves() {
    let m = net(Activation::Tanh, TimeEmbedding::Raw);
    let (t, x) = super::derivatives::batch(4, 3, 2);
    let bad = Tensor::zeros((2, 5, 3), DType::F64, &Device::Cpu).unwrap();
    assert!(m.forward_jvp(&t, &x, Some(&bad)).is_err());
    let dir = std::env::temp_dir().join(format!("am-vector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v.safetensors");
    m.save(&path).unwrap();
    let other = VectorMlp::new(
        m.config().clone(),
        &mut SeededRng::new(99),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    other.load_parameters(&path).unwrap();
    let rebuilt = VectorMlp::load(&path, &Device::Cpu).unwrap();
    assert_eq!(rebuilt.config(), m.config());
    let c = rebuilt.forward(&t, &x).unwrap().to_vec2::<f64>().unwrap();
    let a = m.forward(&t, &x).unwrap().to_vec2::<f64>().unwrap();
    let b = other.forward(&t, &x).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    // an action file is not a vector model
    let action = dir.join("a.safetensors");
    super::derivatives::model(
        Activation::Tanh,
        am_models::Head::Scalar,
        TimeEmbedding::Raw,
        1,
    )
    .save(&action)
    .unwrap();
    let err = VectorMlp::load(&action, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`mlp` model, not a `vector-mlp`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
