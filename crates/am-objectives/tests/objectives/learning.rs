//! An MLP trained with AM / entropic AM on a 2-D Gaussian path that moves and scales recovers the
//! exact action: √(GAP(s_θ, s*)/K) ≤ 0.1.

use am_core::train::{Adam, AdamConfig, Warmup};
use am_core::{Action, DType, Derivatives, Device, Marginals, SeededRng, Tensor};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig, PathSample, QuasiRandomTime, TimeSampler};
use am_paths::{GaussianPath, QuadraticAction};
use std::sync::Arc;

fn relative_gap(mlp: &Mlp, path: &GaussianPath, exact: &QuadraticAction, kinetic: f64) -> f64 {
    // ½∫E‖∇s_θ − ∇s*‖² dt by Monte Carlo over uniform t (seeded, 20,000 points)
    let n = 20_000;
    let mut rng = SeededRng::new(12345);
    let t: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let x = path.sample(&t, &mut rng, DType::F32, &Device::Cpu).unwrap();
    let tt = Tensor::from_vec(
        t.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        (n, 1),
        &Device::Cpu,
    )
    .unwrap();
    let g = mlp.eval(&tt, &x, &Derivatives::default()).unwrap().grad_x;
    let gs = exact.eval(&tt, &x, &Derivatives::default()).unwrap().grad_x;
    let gap = 0.5
        * (g - gs)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_keepdim(1)
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
    (gap / kinetic).sqrt()
}

const STEPS: u64 = 600;

fn train(config: AmConfig, steps: u64) -> Mlp {
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(7);
    let mlp = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![128, 128, 128],
            ..Default::default()
        },
        &mut rng,
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let obj = ActionMatching::new(config).unwrap();
    let mut opt = Adam::new(
        mlp.parameters(),
        AdamConfig {
            lr: 2e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let schedule = Warmup {
        lr: 2e-3,
        steps: 50,
        cosine_total: Some(steps),
        floor: 0.02,
    };
    let mut times = QuasiRandomTime::new();
    for k in 1..=steps {
        let batch = PathSample::draw(
            &path,
            512,
            &mut times as &mut dyn TimeSampler,
            &mut rng,
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
        let out = obj.loss(&mlp, &batch, &mut rng).unwrap();
        let grads = out.loss.backward().unwrap();
        opt.step(&grads, schedule.lr_at(k)).unwrap();
    }
    mlp
}

#[test]
fn am_recovers_the_exact_action_of_a_gaussian_path() {
    let path = GaussianPath::moving_and_scaling();
    let exact = path.exact_action();
    let k = path.kinetic_energy(&exact, 40);
    let mlp = train(AmConfig::deterministic(), STEPS);
    let r = relative_gap(&mlp, &path, &exact, k);
    eprintln!("AM: √(GAP/K) = {r:.4}");
    assert!(r <= 0.1, "√(GAP/K) = {r}");
}

#[test]
fn entropic_am_recovers_the_exact_entropic_action() {
    let path = GaussianPath::moving_and_scaling();
    let eps = 0.5;
    let exact = path.exact_entropic_action(Arc::new(move |_| (eps, 0.0)));
    let k = path.kinetic_energy(&exact, 40);
    let mlp = train(AmConfig::entropic(eps), STEPS);
    let r = relative_gap(&mlp, &path, &exact, k);
    eprintln!("entropic AM: √(GAP/K_eAM) = {r:.4}");
    assert!(r <= 0.1, "√(GAP/K_eAM) = {r}");
}
