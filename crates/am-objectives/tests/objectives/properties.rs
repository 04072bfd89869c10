//! Property tests of the losses users call (fixed-seed proptest runner: deterministic in CI),
//! over random batches, configurations and models:
//! - the AM and entropic AM minibatch estimates are exactly invariant under s → s + a + b·t
//!   (the boundary terms change by −b, the time term by +b, sample by sample), and unbalanced AM
//!   is not (its λ/2·s² term pins the constant);
//! - the ω ≡ 1 and λ = 0 reductions give the plain objective;
//! - the fused step's loss and ∇θ equal candle autograd's;
//! - the minibatch mean agrees with the closed-form objective within its standard error.

use am_core::{Action, ActionEval, DType, Derivatives, Device, SeededRng, Tensor};
use am_models::fused::Real;
use am_models::{Activation, FusedMlp, Head, Mlp, MlpConfig, TimeEmbedding};
use am_objectives::{
    ActionMatching, AmConfig, Diffusion, LaplacianEstimator, PathSample, QuasiRandomTime,
    TimeWeight, UniformTime,
};
use am_paths::gaussian::{loss as closed_form, LossSpec};
use am_paths::{GaussianPath, QuadraticAction};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::sync::Arc;

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]))
}

const ACTIVATIONS: [Activation; 4] = [
    Activation::Silu,
    Activation::Tanh,
    Activation::Softplus,
    Activation::Gelu,
];

/// A random MLP: depth 1–3, widths 3–20, any activation and time embedding, `head`.
fn random_mlp(seed: u64, d: usize, head: Head) -> Mlp {
    let mut r = SeededRng::new(seed);
    let depth = 1 + r.below(3);
    let config = MlpConfig {
        dim: d,
        hidden: (0..depth).map(|_| 3 + r.below(18)).collect(),
        activation: ACTIVATIONS[r.below(4)],
        time_embedding: if r.below(2) == 0 {
            TimeEmbedding::Raw
        } else {
            TimeEmbedding::Sinusoidal {
                frequencies: 1 + r.below(3),
            }
        },
        head,
        output_scale: 0.3 + r.uniform(),
        ..Default::default()
    };
    Mlp::new(config, &mut r, DType::F64, &Device::Cpu).unwrap()
}

/// A batch of N₀, N₁, N random sizes from a random Gaussian path in dimension d.
fn random_batch(seed: u64, d: usize, sizes: (usize, usize, usize), weights: bool) -> PathSample {
    let mut r = SeededRng::new(seed);
    let path = GaussianPath::random_polynomial(d, &mut r, 0.2).unwrap();
    let n = sizes.0.max(sizes.1).max(sizes.2);
    let b = PathSample::draw(&path, n, &mut UniformTime, &mut r, DType::F64, &Device::Cpu).unwrap();
    let inv_p = weights.then(|| {
        r.uniform_tensor(&[sizes.2, 1], 0.5, 2.0, DType::F64, &Device::Cpu)
            .unwrap()
    });
    PathSample::new(
        b.x0.narrow(0, 0, sizes.0).unwrap(),
        b.x1.narrow(0, 0, sizes.1).unwrap(),
        b.t.narrow(0, 0, sizes.2).unwrap(),
        b.xt.narrow(0, 0, sizes.2).unwrap(),
        inv_p,
    )
    .unwrap()
}

/// The configurations under test, by index.
fn config(k: usize, eps: f64, lambda: f64) -> AmConfig {
    match k % 6 {
        0 => AmConfig::deterministic(),
        1 => AmConfig::entropic(eps),
        2 => AmConfig {
            diffusion: Diffusion::Decaying { eps },
            laplacian: LaplacianEstimator::Hutchinson,
            ..Default::default()
        },
        3 => AmConfig::unbalanced(lambda),
        4 => AmConfig {
            diffusion: Diffusion::Constant { eps },
            growth: lambda,
            weight: TimeWeight::OneMinusT,
            ..Default::default()
        },
        _ => AmConfig {
            weight: TimeWeight::Polynomial(vec![0.5, 1.0, lambda]),
            laplacian: LaplacianEstimator::Hutchinson,
            diffusion: Diffusion::Constant { eps },
            ..Default::default()
        },
    }
}

/// s + a + b·t.
struct Shifted<'a> {
    inner: &'a Mlp,
    a: f64,
    b: f64,
}

impl Action for Shifted<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        Ok((self.inner.value(t, x)? + t.affine(self.b, self.a)?)?)
    }
    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> am_core::Result<ActionEval> {
        let e = self.inner.eval(t, x, want)?;
        Ok(ActionEval {
            s: (e.s + t.affine(self.b, self.a)?)?,
            dt: e.dt.affine(1.0, self.b)?,
            ..e
        })
    }
}

fn value(obj: &ActionMatching, s: &dyn Action, b: &PathSample) -> f64 {
    obj.loss(s, b, &mut SeededRng::new(5))
        .unwrap()
        .loss
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn am_and_entropic_am_are_invariant_under_linear_time_shifts() {
    runner(48)
        .run(
            &(
                any::<u64>(),
                1usize..4,
                (1usize..30, 1usize..30, 1usize..30),
                0usize..3,
                (0.05f64..1.5, -3.0f64..3.0, -3.0f64..3.0),
            ),
            |(seed, d, sizes, kind, (eps, a, b))| {
                let m = random_mlp(seed, d, Head::Scalar);
                let batch = random_batch(seed ^ 0x5eed, d, sizes, false);
                let obj = ActionMatching::new(config(kind, eps, 0.0)).unwrap();
                let plain = value(&obj, &m, &batch);
                let shifted = value(&obj, &Shifted { inner: &m, a, b }, &batch);
                prop_assert!(
                    (plain - shifted).abs() <= 1e-11 * (1.0 + plain.abs() + a.abs() + b.abs()),
                    "{:?}: {plain} vs {shifted}",
                    obj.config()
                );
                // unbalanced AM pins the constant: the property can fail
                let u = ActionMatching::new(AmConfig::unbalanced(1.0)).unwrap();
                let (p, q) = (
                    value(&u, &m, &batch),
                    value(
                        &u,
                        &Shifted {
                            inner: &m,
                            a: a + 1.0,
                            b,
                        },
                        &batch,
                    ),
                );
                prop_assert!((p - q).abs() > 1e-6, "unbalanced AM ignores the shift");
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn the_unit_weight_and_zero_growth_reduce_to_the_plain_objective() {
    runner(32)
        .run(
            &(
                any::<u64>(),
                1usize..4,
                (1usize..25, 1usize..25, 1usize..25),
                0.05f64..1.0,
            ),
            |(seed, d, sizes, eps)| {
                let m = random_mlp(seed, d, Head::Scalar);
                let batch = random_batch(seed.wrapping_add(1), d, sizes, true);
                let am = |c: AmConfig| value(&ActionMatching::new(c).unwrap(), &m, &batch);
                let plain = am(AmConfig::deterministic());
                for (name, c) in [
                    (
                        "ω = polynomial 1",
                        AmConfig {
                            weight: TimeWeight::Polynomial(vec![1.0]),
                            ..Default::default()
                        },
                    ),
                    (
                        "ω = constant masses",
                        AmConfig {
                            weight: TimeWeight::Mass {
                                times: vec![0.0, 0.4, 1.0],
                                masses: vec![1.0, 1.0, 1.0],
                            },
                            ..Default::default()
                        },
                    ),
                    ("λ = 0", AmConfig::unbalanced(0.0)),
                ] {
                    let v = am(c);
                    prop_assert!(
                        (v - plain).abs() <= 1e-12 * (1.0 + plain.abs()),
                        "{name}: {v} vs {plain}"
                    );
                }
                let e = am(AmConfig::entropic(eps));
                let e0 = am(AmConfig {
                    growth: 0.0,
                    weight: TimeWeight::Polynomial(vec![1.0]),
                    ..AmConfig::entropic(eps)
                });
                prop_assert!(
                    (e - e0).abs() <= 1e-12 * (1.0 + e.abs()),
                    "eAM: {e} vs {e0}"
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn the_fused_step_equals_autograd_on_random_models_batches_and_objectives() {
    runner(40)
        .run(
            &(
                any::<u64>(),
                1usize..4,
                (1usize..20, 1usize..20, 1usize..20),
                0usize..6,
                (0.05f64..1.0, 0.0f64..1.5),
                (any::<bool>(), 1usize..4),
            ),
            |(seed, d, sizes, kind, (eps, lambda), (sq_head, threads))| {
                let head = if sq_head {
                    Head::HalfSquaredDistance
                } else {
                    Head::Scalar
                };
                let m = random_mlp(seed, d, head);
                let batch = random_batch(seed ^ 77, d, sizes, seed % 2 == 0);
                let obj = ActionMatching::new(config(kind, eps, lambda)).unwrap();
                let out = obj.loss(&m, &batch, &mut SeededRng::new(9)).unwrap();
                let loss = out.loss.to_scalar::<f64>().unwrap();
                let grads = out.loss.backward().unwrap();
                let mut want = Vec::new();
                for v in m.parameters() {
                    want.extend(
                        grads
                            .get(v.as_tensor())
                            .unwrap()
                            .flatten_all()
                            .unwrap()
                            .to_vec1::<f64>()
                            .unwrap(),
                    );
                }
                let mut fused = FusedMlp::<f64>::from_mlp(&m).unwrap();
                fused.set_threads(threads);
                let terms = obj.terms(d, &batch, &mut SeededRng::new(9)).unwrap();
                let got = fused.loss_and_grad(&terms).unwrap();
                prop_assert!(
                    (got.loss - loss).abs() <= 1e-10 * (1.0 + loss.abs()),
                    "loss {} vs {loss}",
                    got.loss
                );
                let g: Vec<f64> = fused.grad().iter().map(|v| v.f64()).collect();
                let num: f64 = g
                    .iter()
                    .zip(&want)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let den: f64 = want.iter().map(|y| y * y).sum::<f64>().sqrt();
                prop_assert!(
                    num <= 1e-9 * den.max(1e-12),
                    "∇θ relative error {:.2e}",
                    num / den
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn minibatch_means_agree_with_the_closed_form_within_their_standard_error() {
    runner(8)
        .run(
            &(
                any::<u64>(),
                1usize..3,
                0usize..3,
                (0.1f64..1.0, 0.1f64..1.5),
            ),
            |(seed, d, kind, (eps, lambda))| {
                let mut rng = SeededRng::new(seed);
                let path = GaussianPath::random_polynomial(d, &mut rng, 0.2).unwrap();
                let s = QuadraticAction::random_polynomial(d, &mut rng, 0.5);
                let (config, spec) = match kind {
                    0 => (AmConfig::deterministic(), LossSpec::plain()),
                    1 => {
                        let jet: Arc<dyn Fn(f64) -> (f64, f64) + Send + Sync> =
                            Arc::new(move |_| (eps, 0.0));
                        (
                            AmConfig::entropic(eps),
                            LossSpec {
                                eps: Some(jet),
                                ..LossSpec::plain()
                            },
                        )
                    }
                    _ => (
                        AmConfig::unbalanced(lambda),
                        LossSpec {
                            lambda,
                            ..LossSpec::plain()
                        },
                    ),
                };
                let obj = ActionMatching::new(config).unwrap();
                let exact = closed_form(&path, &s, &spec, 40);
                let mut times = QuasiRandomTime::new();
                let vals: Vec<f64> = (0..30)
                    .map(|_| {
                        let b = PathSample::draw(
                            &path,
                            400,
                            &mut times,
                            &mut rng,
                            DType::F64,
                            &Device::Cpu,
                        )
                        .unwrap();
                        value(&obj, &s, &b)
                    })
                    .collect();
                let n = vals.len() as f64;
                let mean = vals.iter().sum::<f64>() / n;
                let se =
                    (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
                prop_assert!(
                    (mean - exact).abs() < 5.0 * se + 1e-9,
                    "kind {kind}: {mean} ± {se} vs {exact}"
                );
                prop_assert!(se < 0.2 * (1.0 + exact.abs()), "uninformative SE {se}");
                Ok(())
            },
        )
        .unwrap();
}
