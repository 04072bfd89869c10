//! Adaptive, stochastic, weighted and likelihood solvers against exact answers.

use am_core::{
    DType, Device, Diffusion, GradientField, Marginals, QuadraticCost, ScoreField, SeededRng,
    Tensor, VelocityField,
};
use am_paths::GaussianPath;
use am_solvers::{
    annealed_langevin, effective_sample_size, euler_maruyama, integrate, integrate_adaptive,
    integrate_weighted, log_likelihood, normalized_weights, systematic_resample, Divergence,
    Dopri5Config, Error, GaussianDensity, LangevinSchedule, LikelihoodSolver, LogDensity, Method,
    OdeConfig,
};
use std::sync::Arc;

fn moments(x: &[Vec<f64>], w: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let d = x[0].len();
    let w: Vec<f64> = w
        .map(|w| w.to_vec())
        .unwrap_or_else(|| vec![1.0 / n as f64; n]);
    let mean: Vec<f64> = (0..d)
        .map(|j| x.iter().zip(&w).map(|(r, wi)| wi * r[j]).sum())
        .collect();
    let var: Vec<f64> = (0..d)
        .map(|j| {
            x.iter()
                .zip(&w)
                .map(|(r, wi)| wi * (r[j] - mean[j]).powi(2))
                .sum()
        })
        .collect();
    (mean, var)
}

fn check_moments(
    path: &GaussianPath,
    t: f64,
    x: &[Vec<f64>],
    w: Option<&[f64]>,
    n_eff: f64,
    bias: f64,
    what: &str,
) {
    let m = path.moments(t);
    let (mean, var) = moments(x, w);
    for j in 0..path.dim() {
        let sd = m.cov.value[(j, j)].sqrt();
        let tol_m = 5.0 * sd / n_eff.sqrt() + bias;
        let tol_v = 5.0 * sd * sd * (2.0 / n_eff).sqrt() + bias;
        assert!(
            (mean[j] - m.mean.value[j]).abs() < tol_m,
            "{what} t = {t}: mean[{j}] {} vs {}",
            mean[j],
            m.mean.value[j]
        );
        assert!(
            (var[j] - sd * sd).abs() < tol_v,
            "{what} t = {t}: var[{j}] {} vs {}",
            var[j],
            sd * sd
        );
    }
}

/// dx/dt = a(t)·M·x again, here for the adaptive solver.
struct Rotation;
impl VelocityField for Rotation {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        let m = Tensor::from_vec(vec![-0.5, -1.0, 1.0, -0.2], (2, 2), x.device())?; // Mᵀ for M = [[-0.5, 1], [-1, -0.2]]
        Ok((x.matmul(&m)? * (1.0 + 3.0 * t * t))?)
    }
}

fn rotation_exact(x0: [f64; 2], t: f64) -> [f64; 2] {
    let a = t + t * t * t;
    let e = (nalgebra::DMatrix::from_row_slice(2, 2, &[-0.5, 1.0, -1.0, -0.2]) * a).exp();
    [
        e[(0, 0)] * x0[0] + e[(0, 1)] * x0[1],
        e[(1, 0)] * x0[0] + e[(1, 1)] * x0[1],
    ]
}

fn final_error(tr: &am_solvers::Trajectory) -> f64 {
    let got: Vec<f64> = tr.last().unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let want = rotation_exact([1.0, 0.5], 1.0);
    ((got[0] - want[0]).powi(2) + (got[1] - want[1]).powi(2)).sqrt()
}

#[test]
fn dopri5_meets_its_tolerance_and_beats_rk4_when_tight() {
    let x0 = Tensor::from_vec(vec![1.0, 0.5], (1, 2), &Device::Cpu).unwrap();
    let mut last = f64::INFINITY;
    for tol in [1e-4, 1e-6, 1e-8, 1e-10] {
        let cfg = Dopri5Config {
            rtol: tol,
            atol: tol,
            ..Default::default()
        };
        let tr = integrate_adaptive(&Rotation, &x0, 0.0, 1.0, cfg, &[0.5]).unwrap();
        let err = final_error(&tr);
        assert!(err <= 10.0 * tol, "tol {tol}: error {err}");
        assert!(err < last, "the error shrinks with the tolerance");
        last = err;
        assert_eq!(tr.times, vec![0.5, 1.0]);
        assert!(tr.nfe >= 6 * tr.steps);
    }
    // at error ≤ 1e-7: fewer evaluations than RK4 needs for the same error
    let cfg = Dopri5Config {
        rtol: 1e-9,
        atol: 1e-9,
        ..Default::default()
    };
    let dp = integrate_adaptive(&Rotation, &x0, 0.0, 1.0, cfg, &[]).unwrap();
    let e_dp = final_error(&dp);
    assert!(e_dp <= 1e-7);
    let mut rk_nfe = None;
    for steps in (4..400).step_by(2) {
        let tr = integrate(
            &Rotation,
            &x0,
            0.0,
            1.0,
            OdeConfig {
                method: Method::Rk4,
                steps,
            },
            &[],
        )
        .unwrap();
        if final_error(&tr) <= e_dp {
            rk_nfe = Some(tr.nfe);
            break;
        }
    }
    let rk_nfe = rk_nfe.expect("RK4 reaches the error within 400 steps");
    assert!(
        dp.nfe < rk_nfe,
        "Dopri5 {} evaluations vs RK4 {rk_nfe}",
        dp.nfe
    );
    // backward inverts forward
    let back = integrate_adaptive(&Rotation, &dp.last().unwrap(), 1.0, 0.0, cfg, &[]).unwrap();
    let diff = (back.last().unwrap() - &x0)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(diff < 1e-7, "{diff}");
}

struct Singular;
impl VelocityField for Singular {
    fn dim(&self) -> usize {
        1
    }
    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        // x(t) = 1/(0.5 − t): blows up at t = 0.5
        Ok(x.sqr()?.affine(1.0, 0.0 * t)?)
    }
}

#[test]
fn adaptive_failures_are_typed() {
    let x0 = Tensor::from_vec(vec![2.0], (1, 1), &Device::Cpu).unwrap();
    match integrate_adaptive(&Singular, &x0, 0.0, 1.0, Dopri5Config::default(), &[]) {
        Err(Error::StepUnderflow { t, .. }) | Err(Error::NonFinite { t }) => {
            assert!((t - 0.5).abs() < 0.01, "{t}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        integrate_adaptive(
            &Singular,
            &x0,
            0.0,
            1.0,
            Dopri5Config {
                rtol: -1.0,
                ..Default::default()
            },
            &[]
        ),
        Err(Error::Core(am_core::Error::InvalidConfig {
            field: "rtol",
            ..
        }))
    ));
    assert!(matches!(
        integrate_adaptive(
            &Singular,
            &x0,
            0.0,
            1.0,
            Dopri5Config {
                safety: 1.5,
                ..Default::default()
            },
            &[]
        ),
        Err(Error::Core(am_core::Error::InvalidConfig {
            field: "safety",
            ..
        }))
    ));
}

#[test]
fn euler_maruyama_with_the_entropic_action_reproduces_the_marginals() {
    let path = GaussianPath::moving_and_scaling();
    let eps = 0.8;
    let action = path.exact_entropic_action(Arc::new(move |_| (eps, 0.0)));
    let mut rng = SeededRng::new(11);
    let n = 4000;
    let x0 = path
        .sample(&vec![0.0; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let tr = euler_maruyama(
        &GradientField::new(&action),
        Diffusion::Constant { eps },
        &x0,
        0.0,
        1.0,
        200,
        &[0.5],
        &mut rng,
    )
    .unwrap();
    assert_eq!(tr.nfe, 200);
    for (k, &t) in tr.times.iter().enumerate() {
        let x: Vec<Vec<f64>> = tr.at(k).unwrap().to_vec2().unwrap();
        // Euler–Maruyama's weak bias is O(h): allow 0.05 for h = 1/200
        check_moments(&path, t, &x, None, n as f64, 0.05, "SDE");
    }
    // the deterministic action with noise is wrong: the variance overshoots at t = 1
    let wrong = euler_maruyama(
        &GradientField::new(&path.exact_action()),
        Diffusion::Constant { eps },
        &x0,
        0.0,
        1.0,
        200,
        &[],
        &mut rng,
    )
    .unwrap();
    let (_, var) = moments(&wrong.last().unwrap().to_vec2::<f64>().unwrap(), None);
    assert!(var[0] > 4.0 + 0.3, "{}", var[0]);
    assert!(euler_maruyama(
        &GradientField::new(&action),
        Diffusion::Constant { eps },
        &x0,
        1.0,
        0.0,
        10,
        &[],
        &mut rng
    )
    .is_err());
}

#[test]
fn weighted_particles_with_the_unbalanced_action_reproduce_the_marginals() {
    let path = GaussianPath::moving_and_scaling();
    let lambda = 1.5;
    let action = path.exact_unbalanced_action(lambda);
    let field = GradientField::new(&action).with_growth(lambda).unwrap();
    let mut rng = SeededRng::new(5);
    let n = 4000;
    let x0 = path
        .sample(&vec![0.0; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let tr = integrate_weighted(
        &field,
        &x0,
        None,
        0.0,
        1.0,
        OdeConfig {
            method: Method::Rk4,
            steps: 50,
        },
        &[0.5],
    )
    .unwrap();
    for (k, &t) in tr.times.iter().enumerate() {
        let x: Vec<Vec<f64>> = tr.x.get(k).unwrap().to_vec2().unwrap();
        let lw = tr.log_w.get(k).unwrap();
        let w: Vec<f64> = normalized_weights(&lw)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let ess = effective_sample_size(&lw).unwrap();
        assert!(ess > 100.0 && ess <= n as f64 + 1e-6, "ESS {ess}");
        check_moments(&path, t, &x, Some(&w), ess, 0.0, "weighted ODE");
        // the weights matter: the unweighted particles miss the variance of q_t
        if t == 1.0 {
            let (_, var) = moments(&x, None);
            let want = path.moments(1.0).cov.value[(0, 0)];
            assert!(
                (var[0] - want).abs() > 0.2,
                "unweighted variance {} vs {want}",
                var[0]
            );
            let (xr, lr) = systematic_resample(&tr.x.get(k).unwrap(), &lw, &mut rng).unwrap();
            assert_eq!(lr.dims(), &[n, 1]);
            check_moments(
                &path,
                t,
                &xr.to_vec2::<f64>().unwrap(),
                None,
                ess,
                0.0,
                "resampled",
            );
        }
    }
}

#[test]
fn eq_9_likelihood_matches_the_closed_form() {
    let path = GaussianPath::moving_and_scaling();
    let m0 = path.moments(0.0);
    let q0 = GaussianDensity::new(
        m0.mean.value.as_slice().to_vec(),
        m0.cov.value.transpose().as_slice().to_vec(),
    )
    .unwrap();
    let mut rng = SeededRng::new(2);
    let x1 = path
        .sample(&vec![1.0; 200], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let rows: Vec<Vec<f64>> = x1.to_vec2().unwrap();
    let exact: Vec<f64> = rows
        .iter()
        .map(|r| path.log_density(1.0, r).unwrap())
        .collect();
    let tight = LikelihoodSolver::Adaptive(Dopri5Config {
        rtol: 1e-8,
        atol: 1e-8,
        ..Default::default()
    });
    // deterministic AM: v = ∇s*, divergence Δs*
    let det = path.exact_action();
    let ll = log_likelihood(
        &GradientField::new(&det),
        &x1,
        &q0,
        Divergence::Exact,
        tight,
        &mut rng,
    )
    .unwrap();
    let got: Vec<f64> = ll.log_q1.flatten_all().unwrap().to_vec1().unwrap();
    let worst = got
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-4, "exact divergence: max error {worst}");
    // Hutchinson: unbiased, within its standard error
    let rk = LikelihoodSolver::Fixed(OdeConfig {
        method: Method::Rk4,
        steps: 40,
    });
    let reps: Vec<f64> = (0..20)
        .map(|_| {
            let h = log_likelihood(
                &GradientField::new(&det),
                &x1,
                &q0,
                Divergence::Hutchinson,
                rk,
                &mut rng,
            )
            .unwrap();
            h.log_q1.mean_all().unwrap().to_scalar::<f64>().unwrap()
        })
        .collect();
    let mean = reps.iter().sum::<f64>() / 20.0;
    let se = (reps.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 19.0 / 20.0).sqrt();
    let want = exact.iter().sum::<f64>() / exact.len() as f64;
    assert!(
        (mean - want).abs() < 5.0 * se + 1e-4,
        "Hutchinson {mean} ± {se} vs {want}"
    );
    // weighted particles: log q₁ = log q₀ − ∫(Δŝ − λŝ)
    let lambda = 0.7;
    let un = path.exact_unbalanced_action(lambda);
    let field = GradientField::new(&un).with_growth(lambda).unwrap();
    let ll = log_likelihood(&field, &x1, &q0, Divergence::Exact, tight, &mut rng).unwrap();
    let got: Vec<f64> = ll.log_q1.flatten_all().unwrap().to_vec1().unwrap();
    let worst = got
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-4, "weighted: max error {worst}");
    // convex cost: v = ∇c*(∇s̄*) = A⁻¹∇s̄*, divergence tr(A⁻¹∇²s̄*), on an anisotropic path
    let mut prng = SeededRng::new(9);
    let aniso = GaussianPath::random_polynomial(2, &mut prng, 0.2).unwrap();
    let a = vec![2.0, 0.6, 0.6, 1.0];
    let oracle = aniso
        .exact_convex_action(&nalgebra::DMatrix::from_row_slice(2, 2, &a))
        .unwrap();
    let cost = QuadraticCost::new(a, 2).unwrap();
    let m0 = aniso.moments(0.0);
    let q0a = GaussianDensity::new(
        m0.mean.value.as_slice().to_vec(),
        m0.cov.value.transpose().as_slice().to_vec(),
    )
    .unwrap();
    let xa = aniso
        .sample(&vec![1.0; 100], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let field = GradientField::new(&oracle.action).with_cost(&cost);
    let ll = log_likelihood(&field, &xa, &q0a, Divergence::Exact, tight, &mut rng).unwrap();
    let got: Vec<f64> = ll.log_q1.flatten_all().unwrap().to_vec1().unwrap();
    let rows: Vec<Vec<f64>> = xa.to_vec2().unwrap();
    let worst = got
        .iter()
        .zip(&rows)
        .map(|(g, r)| (g - aniso.log_density(1.0, r).unwrap()).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-4, "convex cost: max error {worst}");
    let _ = q0.log_density(&x1).unwrap();
}

/// The exact score of a Gaussian path, −Σ⁻¹(x − μ).
struct ExactScore(GaussianPath);
impl ScoreField for ExactScore {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn score(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        let m = self.0.moments(t);
        let inv = m.cov.value.clone().try_inverse().unwrap();
        let d = self.0.dim();
        let p = Tensor::from_vec(inv.transpose().as_slice().to_vec(), (d, d), x.device())?
            .to_dtype(x.dtype())?;
        let mu = Tensor::from_vec(m.mean.value.as_slice().to_vec(), (1, d), x.device())?
            .to_dtype(x.dtype())?;
        Ok((x.broadcast_sub(&mu)?.matmul(&p)? * -1.0)?)
    }
}

#[test]
fn annealed_langevin_with_exact_scores_tracks_the_marginals() {
    let path = GaussianPath::moving_and_scaling();
    let mut rng = SeededRng::new(4);
    let n = 3000;
    let x0 = path
        .sample(&vec![0.0; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let times: Vec<f64> = (1..=100).map(|k| k as f64 / 100.0).collect();
    let tr = annealed_langevin(
        &ExactScore(path.clone()),
        &x0,
        &times,
        LangevinSchedule::Constant { dt: 0.05 },
        20,
        &mut rng,
    )
    .unwrap();
    assert_eq!(tr.nfe, 2000);
    let x: Vec<Vec<f64>> = tr.last().unwrap().to_vec2().unwrap();
    // Langevin with step dt has an O(dt) stationary bias and lags a moving target
    check_moments(&path, 1.0, &x, None, n as f64, 0.25, "ALD");
    assert!(annealed_langevin(
        &ExactScore(path.clone()),
        &x0,
        &[],
        LangevinSchedule::Constant { dt: 0.05 },
        5,
        &mut rng
    )
    .is_err());
    assert!(annealed_langevin(
        &ExactScore(path),
        &x0,
        &[0.5],
        LangevinSchedule::Constant { dt: -1.0 },
        5,
        &mut rng
    )
    .is_err());
}

/// ∇·∇c*(∇s) by the library (exact and Hutchinson) against central differences of the velocity,
/// for both convex costs and a non-quadratic action.
#[test]
fn convex_cost_divergence_matches_finite_differences() {
    use am_core::{LaplacianMode, PowerCost};
    use am_models::{Mlp, MlpConfig};
    let mlp = Mlp::new(
        MlpConfig {
            dim: 3,
            hidden: vec![16, 16],
            ..Default::default()
        },
        &mut SeededRng::new(1),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let mut rng = SeededRng::new(2);
    let x = rng
        .normal_tensor(&[5, 3], DType::F64, &Device::Cpu)
        .unwrap();
    let quad = QuadraticCost::new(vec![2.0, 0.3, 0.1, 0.3, 1.0, -0.2, 0.1, -0.2, 0.8], 3).unwrap();
    let power = PowerCost::new(3.0).unwrap();
    let costs: [&dyn am_core::ConvexCost; 2] = [&quad, &power];
    for cost in costs {
        let field = GradientField::new(&mlp).with_cost(cost);
        let (_, div) = field
            .velocity_divergence(0.4, &x, &LaplacianMode::Exact)
            .unwrap();
        let div: Vec<f64> = div.flatten_all().unwrap().to_vec1().unwrap();
        let rows: Vec<Vec<f64>> = x.to_vec2().unwrap();
        for (i, r) in rows.iter().enumerate() {
            let mut fd = 0.0;
            for j in 0..3 {
                let h = 1e-5;
                let at = |a: f64| {
                    let mut y = r.clone();
                    y[j] += a;
                    let t = Tensor::from_vec(y, (1, 3), &Device::Cpu).unwrap();
                    field.velocity(0.4, &t).unwrap().to_vec2::<f64>().unwrap()[0][j]
                };
                fd += (at(h) - at(-h)) / (2.0 * h);
            }
            assert!(
                (div[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{}: {} vs {fd}",
                cost.name(),
                div[i]
            );
        }
        // Hutchinson with the factor F: unbiased over probes
        let mut acc = [0.0; 5];
        let reps = 4000;
        for _ in 0..reps {
            let eps = rng
                .rademacher_tensor(&[5, 3], DType::F64, &Device::Cpu)
                .unwrap();
            let (_, h) = field
                .velocity_divergence(0.4, &x, &LaplacianMode::Hutchinson(eps))
                .unwrap();
            for (a, v) in acc
                .iter_mut()
                .zip(h.flatten_all().unwrap().to_vec1::<f64>().unwrap())
            {
                *a += v / reps as f64;
            }
        }
        for (a, d) in acc.iter().zip(&div) {
            assert!(
                (a - d).abs() < 0.05 * (1.0 + d.abs()),
                "{}: Hutchinson mean {a} vs {d}",
                cost.name()
            );
        }
    }
}

/// Records the times it is asked at; the score is zero.
struct Recorder(std::cell::RefCell<Vec<f64>>);

impl ScoreField for Recorder {
    fn dim(&self) -> usize {
        2
    }
    fn score(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        self.0.borrow_mut().push(t);
        Ok(x.zeros_like()?)
    }
}

#[test]
fn algorithm_4_costs_1090_evaluations_and_places_its_final_steps() {
    let x0 = Tensor::zeros((5, 2), DType::F64, &Device::Cpu).unwrap();
    // t ∈ (0, 1) by dt = 1e-2: 99 levels × 10 steps, then 100 final steps (Table 3's 1,090)
    let times: Vec<f64> = (1..100).map(|k| k as f64 / 100.0).collect();
    for (schedule, final_t) in [
        (
            LangevinSchedule::Image {
                alpha1: 0.1,
                final_steps: 100,
            },
            1.0,
        ),
        (
            LangevinSchedule::ImageLastLevel {
                alpha1: 0.1,
                final_steps: 100,
            },
            0.99,
        ),
    ] {
        let rec = Recorder(Default::default());
        let tr =
            annealed_langevin(&rec, &x0, &times, schedule, 10, &mut SeededRng::new(1)).unwrap();
        assert_eq!(tr.nfe, 1090);
        let seen = rec.0.borrow();
        assert!(seen[990..].iter().all(|&t| t == final_t), "{schedule:?}");
        // with a zero score the particles only diffuse: variance Σ α = 10·Σ α₁(1 − t)² + final
        let x: Vec<Vec<f64>> = tr.last().unwrap().to_vec2().unwrap();
        assert!(x.iter().flatten().all(|v| v.is_finite()));
    }
}
