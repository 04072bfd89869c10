//! Table 3's baselines: the VP-SDE's probability flow against the closed-form flow of Gaussian
//! data, and the regression engine's VP and sliced-score targets against hand computations.

use am_core::{DType, Device, LaplacianMode, SeededRng, Tensor, VelocityField, VpSchedule};
use am_models::UNetField;
use am_objectives::PathSample;
use am_solvers::{
    integrate_adaptive, log_likelihood, Divergence, Dopri5Config, LikelihoodSolver,
    StandardNormalDensity,
};
use am_train::images::VpProbabilityFlow;
use am_train::{Engine, Regression, RegressionEngine};

/// The exact noise predictor of data N(m, s²I) under the VP-SDE: p_τ = N(αm, α²s² + σ²), so
/// ε*(x) = −σ∇log p_τ = σ(x − αm)/(α²s² + σ²); its Jacobian is k·I, k = σ/(α²s² + σ²).
struct ExactNoise {
    m: f64,
    s: f64,
    d: usize,
    schedule: VpSchedule,
}

impl ExactNoise {
    fn at(&self, t: f64) -> (f64, f64, f64) {
        let (a, sigma) = self.schedule.alpha_sigma(1.0 - t);
        let var = a * a * self.s * self.s + sigma * sigma;
        (a * self.m, var, sigma / var)
    }
}

impl VelocityField for ExactNoise {
    fn dim(&self) -> usize {
        self.d
    }

    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        let (mean, _, k) = self.at(t);
        Ok(((x - mean)? * k)?)
    }

    fn velocity_divergence(
        &self,
        t: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> am_core::Result<(Tensor, Tensor)> {
        let (_, _, k) = self.at(t);
        let div = match mode {
            LaplacianMode::Hutchinson(v) => (v.sqr()?.sum_keepdim(1)? * k)?,
            _ => Tensor::full(k * self.d as f64, (x.dims()[0], 1), x.device())?,
        };
        Ok((self.velocity(t, x)?, div))
    }
}

#[test]
fn vp_probability_flow_of_the_exact_noise_predictor_is_the_gaussian_flow() {
    let schedule = VpSchedule::default();
    let (m, s, d, tau_end) = (0.7, 0.4, 3, 1e-3);
    let noise = ExactNoise { m, s, d, schedule };
    let flow = VpProbabilityFlow {
        noise: &noise,
        schedule,
        tau_end,
    };
    let tight = Dopri5Config {
        rtol: 1e-8,
        atol: 1e-8,
        ..Dopri5Config::default()
    };
    let x0 = SeededRng::new(3)
        .normal_tensor(&[64, d], DType::F64, &Device::Cpu)
        .unwrap();
    let x1 = integrate_adaptive(&flow, &x0, 0.0, 1.0, tight, &[])
        .unwrap()
        .last()
        .unwrap();
    // the flow between Gaussians is the monotone affine map of their means and deviations
    let (mu_1, v_1, _) = noise.at(0.0);
    let (mu_e, v_e, _) = noise.at(1.0 - tau_end);
    let want = (((&x0 - mu_1).unwrap() * (v_e / v_1).sqrt()).unwrap() + mu_e).unwrap();
    let err = (&x1 - &want).unwrap().abs().unwrap().max_all().unwrap();
    let err = err.to_scalar::<f64>().unwrap();
    assert!(err < 1e-5, "final points off by {err}");
    // the likelihood of the flow's endpoint: N(0, I) at u = 0 carried by that map
    let like = log_likelihood(
        &flow,
        &want,
        &StandardNormalDensity,
        Divergence::Hutchinson,
        LikelihoodSolver::Adaptive(tight),
        &mut SeededRng::new(4),
    )
    .unwrap();
    let got: Vec<f64> = like.log_q1.flatten_all().unwrap().to_vec1().unwrap();
    let rows: Vec<Vec<f64>> = x0.to_vec2().unwrap();
    for (g, row) in got.iter().zip(&rows) {
        let log_n: f64 = row
            .iter()
            .map(|z| -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln())
            .sum();
        let want = log_n - 0.5 * d as f64 * (v_e / v_1).ln();
        assert!((g - want).abs() < 1e-5, "log q {g} vs {want}");
    }
}

/// A batch of 4 images at fixed times, and the tiny f64 U-Net as a field.
fn batch_and_field(seed: u64) -> (PathSample, UNetField) {
    let mut rng = SeededRng::new(seed);
    let x0 = rng
        .normal_tensor(&[4, 64], DType::F64, &Device::Cpu)
        .unwrap();
    let x1 = rng
        .uniform_tensor(&[4, 64], -1.0, 1.0, DType::F64, &Device::Cpu)
        .unwrap();
    let t = Tensor::from_vec(vec![0.0, 0.3, 0.8, 1.0], (4, 1), &Device::Cpu).unwrap();
    let batch = PathSample::new(x0, x1.clone(), t, x1, None).unwrap();
    (
        batch,
        UNetField {
            net: crate::cases::unet(seed),
        },
    )
}

#[test]
fn vp_noise_target_is_denoising_score_matching_at_the_mapped_time() {
    let (batch, field) = batch_and_field(5);
    let (schedule, tau_min) = (VpSchedule::default(), 1e-5);
    let config = am_core::train::AdamConfig::default();
    let mut engine =
        RegressionEngine::with_target(field, config, Regression::VpNoise { schedule, tau_min })
            .unwrap();
    let objective = am_train::images::objective().unwrap();
    let got = engine
        .loss(&objective, &batch, &mut SeededRng::new(0))
        .unwrap();
    // by hand: τ = τ_min + (1 − τ_min)(1 − t), x = αx₁ + σx₀, ‖f(1 − τ, x) − x₀‖² summed, mean
    let ts: Vec<f64> = batch.t.flatten_all().unwrap().to_vec1().unwrap();
    let model = engine.model().unwrap();
    let mut total = 0.0;
    for (i, &t) in ts.iter().enumerate() {
        let tau = tau_min + (1.0 - tau_min) * (1.0 - t);
        let (a, s) = schedule.alpha_sigma(tau);
        let x0 = batch.x0.narrow(0, i, 1).unwrap();
        let x = ((batch.x1.narrow(0, i, 1).unwrap() * a).unwrap() + (&x0 * s).unwrap()).unwrap();
        let tt = Tensor::full(1.0 - tau, (1, 1), &Device::Cpu).unwrap();
        let f = model.forward(&tt, &x).unwrap();
        total += (f - x0)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
    }
    let want = total / ts.len() as f64;
    assert!((got - want).abs() <= 1e-10 * want.abs(), "{got} vs {want}");
    // the VP target must not resume a flow-matching checkpoint: its description differs
    assert!(engine.describe().contains("VpNoise"));
}

#[test]
fn sliced_score_target_is_v_jacobian_v_by_finite_differences() {
    am_core::double_backward::enable();
    std::thread::spawn(|| {
        let (batch, field) = batch_and_field(6);
        let t_max = 0.99;
        let config = am_core::train::AdamConfig::default();
        let mut engine =
            RegressionEngine::with_target(field, config, Regression::SlicedScore { t_max })
                .unwrap();
        let objective = am_train::images::objective().unwrap();
        let got = engine
            .loss(&objective, &batch, &mut SeededRng::new(9))
            .unwrap();
        // by hand: the same probe v (the first draw of the same seed), vᵀJv by central differences
        let tt = (&batch.t * t_max).unwrap();
        let x = (batch.x0.broadcast_mul(&(1.0 - &tt).unwrap()).unwrap()
            + batch.x1.broadcast_mul(&tt).unwrap())
        .unwrap();
        let v = SeededRng::new(9)
            .rademacher_tensor(x.dims(), DType::F64, &Device::Cpu)
            .unwrap();
        let model = engine.model().unwrap();
        let f = model.forward(&tt, &x).unwrap();
        let h = 1e-5;
        let plus = model
            .forward(&tt, &(&x + (&v * h).unwrap()).unwrap())
            .unwrap();
        let minus = model
            .forward(&tt, &(&x - (&v * h).unwrap()).unwrap())
            .unwrap();
        let jv = ((plus - minus).unwrap() / (2.0 * h)).unwrap();
        let quad = (jv * &v).unwrap().sum_keepdim(1).unwrap();
        let half = (f.sqr().unwrap().sum_keepdim(1).unwrap() * 0.5).unwrap();
        let w = (1.0 - &tt).unwrap().sqr().unwrap();
        let want = ((half + quad).unwrap() * w)
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(
            (got - want).abs() <= 1e-7 * want.abs().max(1e-3),
            "{got} vs {want}"
        );
    })
    .join()
    .unwrap();
}
