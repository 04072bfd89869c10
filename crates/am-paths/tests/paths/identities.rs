//! The theorems of the paper as deterministic identities on random Gaussian paths and random
//! quadratic actions, time integrals by Gauss–Legendre quadrature.

use am_core::SeededRng;
use am_paths::gaussian::{loss, LossSpec};
use am_paths::{GaussianPath, QuadraticAction};
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

const N: usize = 40;

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * (1.0 + b.abs()),
        "{what}: {a} vs {b}, diff {:.3e}",
        (a - b).abs()
    );
}

fn cases() -> Vec<(GaussianPath, QuadraticAction, QuadraticAction)> {
    let mut rng = SeededRng::new(2026);
    (0..4)
        .map(|k| {
            let d = 1 + k % 3;
            let path = GaussianPath::random_polynomial(d, &mut rng, 0.1).unwrap();
            let s = QuadraticAction::random_polynomial(d, &mut rng, 0.7);
            let h = QuadraticAction::random_polynomial(d, &mut rng, 0.3);
            (path, s, h)
        })
        .collect()
}

fn eps_schedule() -> Arc<dyn Fn(f64) -> (f64, f64) + Send + Sync> {
    Arc::new(|t| (0.4 + 0.3 * t, 0.3))
}

/// Theorem 2.2: L_AM(s) + K = ACTION-GAP(s, s*); L(s*) = −K; perturbations.
#[test]
fn theorem_2_2_action_gap_decomposition() {
    for (path, s, h) in cases() {
        let spec = LossSpec::plain();
        let star = path.exact_action();
        let k = path.kinetic_energy(&star, N);
        close(
            loss(&path, &s, &spec, N) + k,
            path.gap(&s, &star, &spec, N),
            1e-10,
            "L(s) + K = gap",
        );
        close(loss(&path, &star, &spec, N), -k, 1e-10, "L(s*) = −K");
        for delta in [0.5, 1e-3] {
            let p = star.perturbed(delta, &h);
            close(
                loss(&path, &p, &spec, N) - loss(&path, &star, &spec, N),
                path.gap(&p, &star, &spec, N),
                1e-10,
                "L(s* + δh) − L(s*) = gap",
            );
        }
    }
}

/// Proposition 3.2: L_eAM(s) + K_eAM = E-ACTION-GAP(s, s̃*) with a time-varying ε_t.
#[test]
fn proposition_3_2_entropic() {
    for (path, s, _) in cases() {
        let spec = LossSpec {
            eps: Some(eps_schedule()),
            ..LossSpec::plain()
        };
        let star = path.exact_entropic_action(eps_schedule());
        let k = path.kinetic_energy(&star, N);
        close(
            loss(&path, &s, &spec, N) + k,
            path.gap(&s, &star, &spec, N),
            1e-10,
            "L_eAM + K_eAM = gap",
        );
        close(
            loss(&path, &star, &spec, N),
            -k,
            1e-10,
            "L_eAM(s̃*) = −K_eAM",
        );
    }
}

/// Proposition 3.4 with λ (Eq. 69): L_uAM(s) + K_uAM + G_uAM = U-ACTION-GAP(s, ŝ*).
#[test]
fn proposition_3_4_unbalanced() {
    for (path, s, _) in cases() {
        for lambda in [0.3, 1.0, 2.5] {
            let spec = LossSpec {
                lambda,
                ..LossSpec::plain()
            };
            let star = path.exact_unbalanced_action(lambda);
            let (k, g) = (
                path.kinetic_energy(&star, N),
                path.growth_energy(&star, lambda, N),
            );
            close(
                loss(&path, &s, &spec, N) + k + g,
                path.gap(&s, &star, &spec, N),
                1e-10,
                "L_uAM + K + G = gap",
            );
            close(
                loss(&path, &star, &spec, N),
                -k - g,
                1e-10,
                "L_uAM(ŝ*) = −K − G",
            );
        }
    }
}

/// Proposition B.2 (Eq. 53) for c(v) = ½vᵀMv with a non-diagonal M.
#[test]
fn proposition_b_2_quadratic_cost() {
    let mut rng = SeededRng::new(7);
    for (path, s, _) in cases() {
        let d = path.dim();
        let a = DMatrix::from_fn(d, d, |_, _| rng.normal());
        let m = &a * a.transpose() + DMatrix::identity(d, d);
        let oracle = path.exact_convex_action(&m).unwrap();
        let spec = LossSpec {
            cost_inverse: Some(m.clone().try_inverse().unwrap()),
            ..LossSpec::plain()
        };
        let k = path.convex_kinetic_energy(&oracle, N);
        close(
            loss(&path, &s, &spec, N) + k,
            path.gap(&s, &oracle.action, &spec, N),
            1e-10,
            "L_cAM + K_cAM = Bregman gap",
        );
        close(
            loss(&path, &oracle.action, &spec, N),
            -k,
            1e-10,
            "L_cAM(s̄*) = −K_cAM",
        );
    }
    let path = GaussianPath::random_polynomial(2, &mut rng, 0.1).unwrap();
    assert!(path
        .exact_convex_action(&DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]))
        .is_err());
}

/// Appendix C: the ω-weighted objective with the boundary signs of Eq. 7 (Eq. 84 prints them
/// reversed), for every variant.
#[test]
fn weighted_objective_identity() {
    let omega: Arc<dyn Fn(f64) -> (f64, f64) + Send + Sync> =
        Arc::new(|t| (1.0 + t * t - 0.5 * t, 2.0 * t - 0.5));
    for (path, s, _) in cases() {
        let weighted = |spec: LossSpec, star: &QuadraticAction, constant: f64| {
            let spec = LossSpec {
                omega: omega.clone(),
                ..spec
            };
            close(
                loss(&path, &s, &spec, N) + constant,
                path.gap(&s, star, &spec, N),
                1e-10,
                "weighted identity",
            );
        };
        let w_energy = |star: &QuadraticAction, lambda: f64| {
            am_paths::quadrature::integrate(N, |t| {
                let m = path.moments(t);
                let f = star.at(t).0;
                let eye = DMatrix::identity(path.dim(), path.dim());
                omega(t).0
                    * (0.5 * f.grad_form_mean(&eye, &m.mean.value, &m.cov.value)
                        + 0.5 * lambda * f.square_mean(&m.mean.value, &m.cov.value))
            })
        };
        let star = path.exact_action();
        weighted(LossSpec::plain(), &star, w_energy(&star, 0.0));
        let star = path.exact_entropic_action(eps_schedule());
        weighted(
            LossSpec {
                eps: Some(eps_schedule()),
                ..LossSpec::plain()
            },
            &star,
            w_energy(&star, 0.0),
        );
        let star = path.exact_unbalanced_action(0.8);
        weighted(
            LossSpec {
                lambda: 0.8,
                ..LossSpec::plain()
            },
            &star,
            w_energy(&star, 0.8),
        );
    }
}

/// The isotropic formulas of docs/oracles.md agree with the general (eigenbasis) solutions.
#[test]
fn isotropic_closed_forms() {
    let path = GaussianPath::moving_and_scaling();
    let (d, pi) = (2.0, std::f64::consts::PI);
    // K = ½∫(|μ̇|² + dγ̇²), μ̇ = (2, π cos πt), γ̇ = 1
    let k = am_paths::quadrature::integrate(N, |t| 0.5 * (4.0 + (pi * (pi * t).cos()).powi(2) + d));
    close(path.kinetic_energy(&path.exact_action(), N), k, 1e-12, "K");
    let e = 0.6;
    let keam = am_paths::quadrature::integrate(N, |t| {
        let g = 1.0 + t;
        0.5 * (4.0 + (pi * (pi * t).cos()).powi(2) + d * (1.0 - e * e / (2.0 * g)).powi(2))
    });
    close(
        path.kinetic_energy(&path.exact_entropic_action(Arc::new(move |_| (e, 0.0))), N),
        keam,
        1e-12,
        "K_eAM",
    );
    let lambda = 0.9;
    let un = path.exact_unbalanced_action(lambda);
    for t in [0.0, 0.3, 1.0] {
        let (g, gd) = (1.0 + t, 1.0);
        let (q, _) = un.at(t);
        let m = path.moments(t);
        let a_iso = 2.0 * gd / (g * (2.0 + lambda * g * g));
        close(q.q[(0, 0)], a_iso, 1e-12, "Â isotropic");
        close(q.q[(0, 1)], 0.0, 1e-12, "Â off-diagonal");
        // ŝ* at the mean: ĉ = −dγγ̇/(2 + λγ²); gradient there: b̂ = μ̇/(1 + λγ²)
        close(
            q.at(&m.mean.value),
            -d * g * gd / (2.0 + lambda * g * g),
            1e-12,
            "ĉ",
        );
        let b = q.grad(&m.mean.value);
        close(b[1], m.mean.dot[1] / (1.0 + lambda * g * g), 1e-12, "b̂");
    }
    // A = sym(Σ̇Σ⁻¹) is wrong for full covariance: the Lyapunov solution differs from it
    let mut rng = SeededRng::new(3);
    let full = GaussianPath::random_polynomial(3, &mut rng, 0.1).unwrap();
    let m = full.moments(0.4);
    let a = full.exact_action().at(0.4).0.q;
    let naive = {
        let x = &m.cov.dot * m.cov.value.clone().try_inverse().unwrap();
        (&x + x.transpose()) * 0.5
    };
    assert!((&a * &m.cov.value + &m.cov.value * &a - &m.cov.dot).norm() < 1e-10);
    assert!((a - naive).norm() > 1e-3);
    let _ = DVector::<f64>::zeros(1);
}
