//! ∇θ of every loss (one first-order backward through the explicit MLP passes) against central
//! finite differences in f64.

use am_core::{Action, ConvexCost, DType, Device, PowerCost, QuadraticCost, SeededRng, Tensor};
use am_models::{Activation, Head, Mlp, MlpConfig};
use am_objectives::{
    ActionMatching, AmConfig, Diffusion, LaplacianEstimator, PathSample, QuasiRandomTime,
    TimeWeight,
};
use am_paths::GaussianPath;
use std::sync::Arc;

#[test]
fn parameter_gradients_match_finite_differences() {
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(17);
    let mut sampler = QuasiRandomTime::new();
    let mut batch =
        PathSample::draw(&path, 16, &mut sampler, &mut rng, DType::F64, &Device::Cpu).unwrap();
    batch.inv_p = Some(
        rng.uniform_tensor(&[16, 1], 0.5, 2.0, DType::F64, &Device::Cpu)
            .unwrap(),
    );
    let costs: Vec<(&str, Option<Arc<dyn ConvexCost>>)> = vec![
        ("½‖·‖²", None),
        (
            "quadratic",
            Some(Arc::new(
                QuadraticCost::new(vec![2.0, 0.3, 0.3, 1.0], 2).unwrap(),
            )),
        ),
        ("power p = 3", Some(Arc::new(PowerCost::new(3.0).unwrap()))),
    ];
    let configs = [
        AmConfig::deterministic(),
        AmConfig {
            diffusion: Diffusion::Constant { eps: 0.5 },
            ..Default::default()
        },
        AmConfig {
            diffusion: Diffusion::Decaying { eps: 0.5 },
            laplacian: LaplacianEstimator::Hutchinson,
            ..Default::default()
        },
        AmConfig::unbalanced(0.8),
        AmConfig {
            diffusion: Diffusion::Constant { eps: 0.3 },
            growth: 0.5,
            weight: TimeWeight::OneMinusT,
            ..Default::default()
        },
        AmConfig {
            weight: TimeWeight::Polynomial(vec![0.5, 1.0, 1.0]),
            ..Default::default()
        },
    ];
    for act in [Activation::Silu, Activation::Gelu] {
        for (cost_name, cost) in &costs {
            for config in &configs {
                let mlp = Mlp::new(
                    MlpConfig {
                        dim: 2,
                        hidden: vec![8, 8],
                        activation: act,
                        head: Head::HalfSquaredDistance,
                        ..Default::default()
                    },
                    &mut SeededRng::new(4),
                    DType::F64,
                    &Device::Cpu,
                )
                .unwrap();
                let mut obj = ActionMatching::new(config.clone()).unwrap();
                if let Some(c) = cost {
                    obj = obj.with_cost(c.clone());
                }
                // the same Hutchinson probe in every evaluation
                let value = |m: &Mlp| obj.loss(m, &batch, &mut SeededRng::new(8)).unwrap().loss;
                let grads = value(&mlp).backward().unwrap();
                for var in mlp.parameters() {
                    let g: Vec<f64> = grads
                        .get(var.as_tensor())
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1()
                        .unwrap();
                    let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                    for idx in [0, base.len() - 1] {
                        let at = |a: f64| {
                            let mut p = base.clone();
                            p[idx] += a;
                            var.set(&Tensor::from_vec(p, var.dims(), &Device::Cpu).unwrap())
                                .unwrap();
                            let v = value(&mlp).to_scalar::<f64>().unwrap();
                            var.set(
                                &Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap(),
                            )
                            .unwrap();
                            v
                        };
                        let h = 1e-5;
                        let num = (at(h) - at(-h)) / (2.0 * h);
                        assert!(
                            (g[idx] - num).abs() < 1e-7 * (1.0 + num.abs()),
                            "{act:?}/{cost_name}/{config:?}: ∂L/∂θ[{idx}] = {} vs finite difference {num}",
                            g[idx]
                        );
                    }
                }
            }
        }
    }
}
