//! Score matching and flow matching against closed forms: on q = N(0, σ²I) and the linear field
//! f = θx, J(θ) = E[½θ²‖x‖² + Dθ] = ½θ²Dσ² + Dθ, minimised by θ = −1/σ² (the true score).

use am_core::candle::{DType, Device, Tensor, Var};
use am_core::train::{Adam, AdamConfig};
use am_core::{SeededRng, VectorModel};
use am_models::{MlpConfig, VectorMlp};
use am_objectives::{
    flow_matching_loss, score_matching_loss, score_matching_terms, TraceEstimator,
};

/// f_θ(t, x) = θ·x with one scalar θ.
struct Linear {
    theta: Var,
    dim: usize,
}

impl VectorModel for Linear {
    fn dim(&self) -> usize {
        self.dim
    }
    fn forward_jvp(
        &self,
        _t: &Tensor,
        x: &Tensor,
        directions: Option<&Tensor>,
    ) -> am_core::Result<(Tensor, Option<Tensor>)> {
        let f = x.broadcast_mul(self.theta.as_tensor())?;
        let j = match directions {
            Some(v) => Some(v.broadcast_mul(&self.theta.as_tensor().unsqueeze(0)?)?),
            None => None,
        };
        Ok((f, j))
    }
    fn parameters(&self) -> Vec<Var> {
        vec![self.theta.clone()]
    }
}

fn gaussian(n: usize, d: usize, sigma: f64, seed: u64) -> (Tensor, Tensor) {
    let mut rng = SeededRng::new(seed);
    let x = (rng
        .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
        .unwrap()
        * sigma)
        .unwrap();
    let t = Tensor::zeros((n, 1), DType::F64, &Device::Cpu).unwrap();
    (t, x)
}

#[test]
fn score_matching_matches_its_closed_form_and_gradient() {
    let (d, sigma, theta) = (3usize, 1.7, -0.4);
    let (n, df) = (20_000, 3.0);
    let model = Linear {
        theta: Var::from_tensor(&Tensor::new(&[theta], &Device::Cpu).unwrap()).unwrap(),
        dim: d,
    };
    let (t, x) = gaussian(n, d, sigma, 1);
    for trace in [TraceEstimator::Exact, TraceEstimator::Rademacher] {
        let mut rng = SeededRng::new(2);
        let terms = score_matching_terms(&model, &t, &x, trace, &mut rng).unwrap();
        let v: Vec<f64> = terms.flatten_all().unwrap().to_vec1().unwrap();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        let exact = 0.5 * theta * theta * df * sigma * sigma + df * theta;
        let se = (var / n as f64).sqrt();
        assert!(
            (mean - exact).abs() < 5.0 * se,
            "{trace:?}: {mean} vs {exact} (SE {se})"
        );
        // ∂J/∂θ = θDσ² + D, through autograd
        let loss = score_matching_loss(&model, &t, &x, trace, &mut rng).unwrap();
        let g = loss.backward().unwrap();
        let gt = g
            .get(model.theta.as_tensor())
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()[0];
        let exact_g = theta * df * sigma * sigma + df;
        assert!(
            (gt - exact_g).abs() < 0.05 * exact_g.abs(),
            "{trace:?}: ∂θ {gt} vs {exact_g}"
        );
    }
}

#[test]
fn sliced_trace_is_unbiased_for_a_network() {
    let cfg = MlpConfig {
        dim: 3,
        hidden: vec![16, 16],
        ..Default::default()
    };
    let net = VectorMlp::new(cfg, &mut SeededRng::new(3), DType::F64, &Device::Cpu).unwrap();
    let (mut t, x) = gaussian(8, 3, 1.0, 4);
    t = (t + 0.3).unwrap();
    let mut rng = SeededRng::new(5);
    let exact: Vec<f64> = score_matching_terms(&net, &t, &x, TraceEstimator::Exact, &mut rng)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let reps = 4000;
    let mut sum = [0.0; 8];
    let mut sq = [0.0; 8];
    for _ in 0..reps {
        let s: Vec<f64> = score_matching_terms(&net, &t, &x, TraceEstimator::Rademacher, &mut rng)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for i in 0..8 {
            sum[i] += s[i];
            sq[i] += s[i] * s[i];
        }
    }
    for i in 0..8 {
        let m = sum[i] / reps as f64;
        let se = ((sq[i] / reps as f64 - m * m).max(0.0) / reps as f64).sqrt();
        assert!(
            (m - exact[i]).abs() <= 5.0 * se + 1e-12,
            "{m} vs {}",
            exact[i]
        );
    }
}

#[test]
fn score_matching_learns_a_gaussian_score() {
    // q = N(μ, σ²I) in 2-D: the learned score must approach −(x − μ)/σ²
    let (mu, sigma) = ([1.0, -0.5], 0.8);
    let cfg = MlpConfig {
        dim: 2,
        hidden: vec![32, 32],
        ..Default::default()
    };
    let net = VectorMlp::new(cfg, &mut SeededRng::new(7), DType::F32, &Device::Cpu).unwrap();
    let mut adam = Adam::new(
        VectorModel::parameters(&net),
        AdamConfig {
            lr: 3e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let mut rng = SeededRng::new(8);
    let draw = |rng: &mut SeededRng, n: usize| {
        let z = rng.normal_vec(2 * n);
        let v: Vec<f32> = z
            .iter()
            .enumerate()
            .map(|(i, z)| (mu[i % 2] + sigma * z) as f32)
            .collect();
        Tensor::from_vec(v, (n, 2), &Device::Cpu).unwrap()
    };
    for _ in 0..600 {
        let x = draw(&mut rng, 256);
        let t = rng
            .uniform_tensor(&[256, 1], 0.0, 1.0, DType::F32, &Device::Cpu)
            .unwrap();
        let loss = score_matching_loss(&net, &t, &x, TraceEstimator::Exact, &mut rng).unwrap();
        adam.step(&loss.backward().unwrap(), 3e-3).unwrap();
    }
    let x = draw(&mut rng, 2000);
    let t = Tensor::full(0.5f32, (2000, 1), &Device::Cpu).unwrap();
    let f = net.forward(&t, &x).unwrap();
    let mu_t = Tensor::new(&[mu[0] as f32, mu[1] as f32], &Device::Cpu).unwrap();
    let truth = (x.broadcast_sub(&mu_t).unwrap() * (-1.0 / (sigma * sigma))).unwrap();
    let err = (&f - &truth)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let scale = truth
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let rel = (err / scale).sqrt();
    assert!(rel < 0.1, "relative score error {rel}");
}

#[test]
fn flow_matching_is_the_mean_squared_velocity_error() {
    let model = Linear {
        theta: Var::from_tensor(&Tensor::new(&[0.5f64], &Device::Cpu).unwrap()).unwrap(),
        dim: 2,
    };
    let (t, x) = gaussian(5, 2, 1.0, 9);
    let u = (&x * 2.0).unwrap();
    let loss = flow_matching_loss(&model, &t, &x, &u)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let xs: Vec<f64> = x.flatten_all().unwrap().to_vec1().unwrap();
    let exact = xs.iter().map(|v| (1.5 * v).powi(2)).sum::<f64>() / 5.0;
    assert!((loss - exact).abs() < 1e-12);
    let bad = Tensor::zeros((5, 3), DType::F64, &Device::Cpu).unwrap();
    assert!(flow_matching_loss(&model, &t, &x, &bad).is_err());
    assert!(flow_matching_loss(&model, &t, &bad, &bad).is_err());
}
