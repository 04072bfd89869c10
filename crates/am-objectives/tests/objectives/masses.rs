//! Per-time masses (`TimeWeight::Mass`): Eq. 20 applied to ρ_t = m(t)·q̂_t, per sample
//! m(0)s(0, x₀) − m(1)s(1, x₁) + m(t)(½‖∇s‖² + ∂t s + λ/2·s²), with no ω′ term.

use am_core::candle::{DType, Device};
use am_core::{Action, Derivatives, SeededRng};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig, PathSample, QuasiRandomTime, TimeWeight};
use am_paths::GaussianPath;

fn mean(t: &am_core::Tensor) -> f64 {
    t.mean_all().unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn mass_weighted_loss_is_eq_20_on_the_unnormalised_path() {
    let (times, masses) = (vec![0.0, 0.4, 1.0], vec![1.0, 3.0, 2.0]);
    let m = |t: f64| {
        if t <= 0.4 {
            1.0 + 2.0 * t / 0.4
        } else {
            3.0 - (t - 0.4) / 0.6
        }
    };
    let lambda = 0.7;
    let model = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![16, 16],
            ..Default::default()
        },
        &mut SeededRng::new(1),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(2);
    let b = PathSample::draw(
        &path,
        64,
        &mut QuasiRandomTime::new(),
        &mut rng,
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let objective = ActionMatching::new(AmConfig {
        growth: lambda,
        weight: TimeWeight::Mass { times, masses },
        ..Default::default()
    })
    .unwrap();
    let got = objective
        .loss(&model, &b, &mut rng)
        .unwrap()
        .loss
        .to_scalar::<f64>()
        .unwrap();

    // by hand
    let n0 = b.x0.dim(0).unwrap();
    let t0 = am_core::Tensor::zeros((n0, 1), DType::F64, &Device::Cpu).unwrap();
    let t1 = am_core::Tensor::ones((b.x1.dim(0).unwrap(), 1), DType::F64, &Device::Cpu).unwrap();
    let s0 = mean(&model.value(&t0, &b.x0).unwrap());
    let s1 = mean(&model.value(&t1, &b.x1).unwrap());
    let e = model
        .eval(
            &b.t,
            &b.xt,
            &Derivatives {
                laplacian: am_core::LaplacianMode::None,
            },
        )
        .unwrap();
    let ts: Vec<f64> = b.t.flatten_all().unwrap().to_vec1().unwrap();
    let s: Vec<f64> = e.s.flatten_all().unwrap().to_vec1().unwrap();
    let dt: Vec<f64> = e.dt.flatten_all().unwrap().to_vec1().unwrap();
    let g: Vec<Vec<f64>> = e.grad_x.to_vec2().unwrap();
    let mut time_term = 0.0;
    for i in 0..ts.len() {
        let h = 0.5 * g[i].iter().map(|v| v * v).sum::<f64>();
        time_term += m(ts[i]) * (h + dt[i] + 0.5 * lambda * s[i] * s[i]);
    }
    let want = m(0.0) * s0 - m(1.0) * s1 + time_term / ts.len() as f64;
    assert!(
        (got - want).abs() < 1e-10 * (1.0 + want.abs()),
        "{got} vs {want}"
    );
}

#[test]
fn masses_are_validated() {
    for (times, masses) in [
        (vec![0.0], vec![1.0]),
        (vec![0.0, 1.0], vec![1.0]),
        (vec![0.5, 0.2], vec![1.0, 1.0]),
        (vec![0.0, 1.5], vec![1.0, 1.0]),
        (vec![0.0, 1.0], vec![1.0, 0.0]),
        (vec![0.0, 1.0], vec![1.0, f64::NAN]),
    ] {
        let c = AmConfig {
            weight: TimeWeight::Mass { times, masses },
            ..Default::default()
        };
        assert!(ActionMatching::new(c).is_err());
    }
}
