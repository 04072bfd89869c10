//! ∇θ of the generative AM loss through the U-Net's second-order autograd, against central
//! differences in f64 along random parameter directions: Algorithm 2's objective
//! ω(0)s(0, x₀) − ω(1)s(1, x₁) + ω(t)(∂t s + ½‖∇x s‖²) + ω′(t)s(t, x_t) with ω = 1 − t, on
//! x_t = (1 − t)x₀ + t x₁, every parameter of a tiny U-Net drawn at random, dropout off.

use am_core::{double_backward, Action, DType, Device, SeededRng, Tensor};
use am_models::{UNet, UNetConfig};
use am_objectives::{ActionMatching, AmConfig, PathSample, TimeWeight};

/// Every layer kind at the smallest size.
fn tiny() -> UNetConfig {
    UNetConfig::tiny()
}

#[test]
fn unet_parameter_gradient_of_the_am_loss_matches_finite_differences() {
    double_backward::enable();
    std::thread::spawn(|| {
        double_backward::probe().unwrap();
        let mut rng = SeededRng::new(21);
        let net = UNet::new(tiny(), &mut rng, DType::F64, &Device::Cpu).unwrap();
        for v in net.parameters() {
            let noise = rng
                .uniform_tensor(v.dims(), -0.4, 0.4, DType::F64, &Device::Cpu)
                .unwrap();
            v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
        }
        let (n, d) = (4, net.dim());
        let x0 = rng
            .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
            .unwrap();
        let x1 = rng
            .uniform_tensor(&[n, d], -1.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        let t = rng
            .uniform_tensor(&[n, 1], 0.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        let xt = (x0.broadcast_mul(&(1.0 - &t).unwrap()).unwrap() + x1.broadcast_mul(&t).unwrap())
            .unwrap();
        let batch = PathSample {
            x0,
            x1,
            t,
            xt,
            inv_p: None,
        };
        let objective = ActionMatching::new(AmConfig {
            weight: TimeWeight::OneMinusT,
            ..AmConfig::deterministic()
        })
        .unwrap();
        let loss = |net: &UNet| -> Tensor {
            objective
                .loss(net, &batch, &mut SeededRng::new(0))
                .unwrap()
                .loss
        };
        let grads = loss(&net).backward().unwrap();
        let vars = net.parameters();
        let mut dir_rng = SeededRng::new(5);
        for _ in 0..3 {
            let raw: Vec<Tensor> = vars
                .iter()
                .map(|v| {
                    dir_rng
                        .normal_tensor(v.dims(), DType::F64, &Device::Cpu)
                        .unwrap()
                })
                .collect();
            // a unit direction in θ-space
            let norm = raw
                .iter()
                .map(|u| {
                    u.sqr()
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap()
                })
                .sum::<f64>()
                .sqrt();
            let dirs: Vec<Tensor> = raw.iter().map(|u| (u / norm).unwrap()).collect();
            let analytic: f64 = vars
                .iter()
                .zip(&dirs)
                .map(|(v, u)| {
                    let g = grads
                        .get(v.as_tensor())
                        .expect("every parameter has a gradient");
                    (g * u)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap()
                })
                .sum();
            let at = |step: f64| -> f64 {
                let saved: Vec<Tensor> =
                    vars.iter().map(|v| v.as_tensor().copy().unwrap()).collect();
                for (v, u) in vars.iter().zip(&dirs) {
                    v.set(&(v.as_tensor() + (u * step).unwrap()).unwrap())
                        .unwrap();
                }
                let l = loss(&net).to_scalar::<f64>().unwrap();
                for (v, s) in vars.iter().zip(&saved) {
                    v.set(s).unwrap();
                }
                l
            };
            // central differences at h and h/2, Richardson-extrapolated (error O(h⁴))
            let central = |h: f64| (at(h) - at(-h)) / (2.0 * h);
            let h = 1e-4;
            let fd = (4.0 * central(h / 2.0) - central(h)) / 3.0;
            let rel = (analytic - fd).abs() / fd.abs().max(1e-8);
            assert!(
                rel < 1e-8,
                "∇θL·u = {analytic}, central difference {fd} (rel {rel:.2e})"
            );
        }
    })
    .join()
    .unwrap();
}
