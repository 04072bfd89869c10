//! Property tests (fixed-seed proptest runner: deterministic in CI).

use am_core::SeededRng;
use am_paths::gaussian::{loss, LossSpec};
use am_paths::{GaussianPath, Quadratic, QuadraticAction};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::sync::Arc;

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// For random paths, actions, ε and λ: L(s) + K + G = gap(s, exact), and AM/eAM are invariant
/// under s → s + c(t) (only the unbalanced objective pins the constant).
#[test]
fn identities_and_invariances_on_random_paths() {
    runner(24)
        .run(
            &(any::<u64>(), 1usize..4, 0.05f64..1.0, 0.0f64..2.0),
            |(seed, d, eps, lambda)| {
                let mut rng = SeededRng::new(seed);
                let path = GaussianPath::random_polynomial(d, &mut rng, 0.1).unwrap();
                let s = QuadraticAction::random_polynomial(d, &mut rng, 0.5);
                let eps_jet: Arc<dyn Fn(f64) -> (f64, f64) + Send + Sync> =
                    Arc::new(move |_| (eps, 0.0));
                let spec = LossSpec {
                    eps: Some(eps_jet.clone()),
                    ..LossSpec::plain()
                };
                let star = path.exact_entropic_action(eps_jet);
                let lhs = loss(&path, &s, &spec, 30) + path.kinetic_energy(&star, 30);
                let rhs = path.gap(&s, &star, &spec, 30);
                prop_assert!(
                    (lhs - rhs).abs() < 1e-9 * (1.0 + rhs.abs()),
                    "entropic: {lhs} vs {rhs}"
                );

                let spec = LossSpec {
                    lambda,
                    ..LossSpec::plain()
                };
                let star = path.exact_unbalanced_action(lambda);
                let lhs = loss(&path, &s, &spec, 30)
                    + path.kinetic_energy(&star, 30)
                    + path.growth_energy(&star, lambda, 30);
                let rhs = path.gap(&s, &star, &spec, 30);
                prop_assert!(
                    (lhs - rhs).abs() < 1e-9 * (1.0 + rhs.abs()),
                    "unbalanced: {lhs} vs {rhs}"
                );

                // s + c(t) with c(t) = sin(3t) + seed-dependent slope
                let slope = (seed % 7) as f64;
                let shift = QuadraticAction::new(d, move |t| {
                    let mut c = Quadratic::zero(d);
                    c.k = (3.0 * t).sin() + slope * t;
                    let mut cd = Quadratic::zero(d);
                    cd.k = 3.0 * (3.0 * t).cos() + slope;
                    (c, cd)
                });
                let shifted = s.perturbed(1.0, &shift);
                let plain = LossSpec::plain();
                let (a, b) = (
                    loss(&path, &s, &plain, 30),
                    loss(&path, &shifted, &plain, 30),
                );
                prop_assert!(
                    (a - b).abs() < 1e-9 * (1.0 + a.abs()),
                    "AM invariance: {a} vs {b}"
                );
                if lambda > 0.1 {
                    let ub = LossSpec {
                        lambda,
                        ..LossSpec::plain()
                    };
                    prop_assert!(
                        (loss(&path, &s, &ub, 30) - loss(&path, &shifted, &ub, 30)).abs() > 1e-6,
                        "uAM pins the constant"
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}
