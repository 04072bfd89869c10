//! Tests of am-solvers (one integration-test binary for the crate).

mod part2;

use am_core::{DType, Device, GradientField, Marginals, SeededRng, Tensor, VelocityField};
use am_solvers::{integrate, Error, Method, OdeConfig};
use nalgebra::DMatrix;

/// dx/dt = a(t)·M·x with a(t) = 1 + t: x(t) = exp((t + t²/2 − t₀ − t₀²/2)M)x₀.
struct Linear {
    m: DMatrix<f64>,
}

impl VelocityField for Linear {
    fn dim(&self) -> usize {
        self.m.nrows()
    }
    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        // rows x_i ↦ M x_i, i.e. X Mᵀ (nalgebra stores column-major: Mᵀ's slice is M row-major)
        let m = Tensor::from_vec(self.m.transpose().as_slice().to_vec(), (2, 2), x.device())?;
        Ok((x.matmul(&m.t()?)? * (1.0 + t))?)
    }
}

fn exact(m: &DMatrix<f64>, x0: &[f64], t0: f64, t1: f64) -> Vec<f64> {
    let a = (t1 + t1 * t1 / 2.0) - (t0 + t0 * t0 / 2.0);
    let e = (m * a).exp();
    (e * nalgebra::DVector::from_column_slice(x0))
        .as_slice()
        .to_vec()
}

fn field() -> Linear {
    Linear {
        m: DMatrix::from_row_slice(2, 2, &[-0.5, 1.0, -1.0, -0.2]),
    }
}

fn error_with(method: Method, steps: usize) -> f64 {
    let f = field();
    let x0 = Tensor::from_vec(vec![1.0, 0.5], (1, 2), &Device::Cpu).unwrap();
    let tr = integrate(&f, &x0, 0.0, 1.0, OdeConfig { method, steps }, &[]).unwrap();
    assert_eq!(tr.nfe, steps * method.evaluations_per_step());
    let got: Vec<f64> = tr.last().unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let want = exact(&f.m, &[1.0, 0.5], 0.0, 1.0);
    got.iter()
        .zip(&want)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn convergence_orders_are_1_2_4() {
    for (method, order) in [
        (Method::Euler, 1.0),
        (Method::Heun, 2.0),
        (Method::Rk4, 4.0),
    ] {
        let (e1, e2) = (error_with(method, 20), error_with(method, 40));
        let slope = (e1 / e2).log2();
        assert!(
            (slope - order).abs() < 0.2,
            "{method:?}: observed order {slope}"
        );
    }
}

#[test]
fn backward_integration_inverts_forward_and_saves_requested_times() {
    let f = field();
    let x0 = Tensor::from_vec(vec![1.0, 0.5, -0.3, 2.0], (2, 2), &Device::Cpu).unwrap();
    let cfg = OdeConfig {
        method: Method::Rk4,
        steps: 200,
    };
    let fwd = integrate(&f, &x0, 0.0, 1.0, cfg, &[0.25, 0.5]).unwrap();
    assert_eq!(fwd.times, vec![0.25, 0.5, 1.0]);
    assert_eq!(fwd.states.dims(), &[3, 2, 2]);
    let mid: Vec<f64> = fwd.at(1).unwrap().get(0).unwrap().to_vec1().unwrap();
    let want = exact(&f.m, &[1.0, 0.5], 0.0, 0.5);
    assert!((mid[0] - want[0]).abs() < 1e-9 && (mid[1] - want[1]).abs() < 1e-9);
    let back = integrate(&f, &fwd.last().unwrap(), 1.0, 0.0, cfg, &[]).unwrap();
    let diff = (back.last().unwrap() - &x0)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(diff < 1e-9, "{diff}");
}

#[test]
fn exact_action_pushes_q0_to_qt() {
    let path = am_paths::GaussianPath::moving_and_scaling();
    let action = path.exact_action();
    let mut rng = SeededRng::new(3);
    let n = 4000;
    let x0 = path
        .sample(&vec![0.0; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap();
    let tr = integrate(
        &GradientField::new(&action),
        &x0,
        0.0,
        1.0,
        OdeConfig {
            method: Method::Rk4,
            steps: 40,
        },
        &[0.5],
    )
    .unwrap();
    for (k, t) in tr.times.iter().enumerate() {
        let m = path.moments(*t);
        let x: Vec<Vec<f64>> = tr.at(k).unwrap().to_vec2().unwrap();
        for j in 0..2 {
            let mean = x.iter().map(|r| r[j]).sum::<f64>() / n as f64;
            let var = x.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n as f64;
            let sd = m.cov.value[(j, j)].sqrt();
            // 5 standard errors of the mean and of the variance
            assert!(
                (mean - m.mean.value[j]).abs() < 5.0 * sd / (n as f64).sqrt(),
                "t = {t}: mean {mean}"
            );
            assert!(
                (var - sd * sd).abs() < 5.0 * sd * sd * (2.0 / n as f64).sqrt(),
                "t = {t}: variance {var}"
            );
        }
    }
}

struct Exploding;
impl VelocityField for Exploding {
    fn dim(&self) -> usize {
        1
    }
    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        Ok((x.sqr()? * if t > 0.5 { 1e300 } else { 1.0 })?)
    }
}

#[test]
fn bad_input_and_blow_up_are_typed_errors() {
    let x0 = Tensor::ones((3, 1), DType::F64, &Device::Cpu).unwrap();
    let cfg = OdeConfig::default();
    match integrate(
        &Exploding,
        &x0,
        0.0,
        1.0,
        OdeConfig {
            method: Method::Euler,
            steps: 10,
        },
        &[],
    ) {
        Err(Error::NonFinite { t }) => assert!(t > 0.5 && t <= 1.0, "{t}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        integrate(&Exploding, &x0, 0.0, 1.5, cfg, &[]),
        Err(Error::Core(am_core::Error::OutOfRange { arg: "t1", .. }))
    ));
    assert!(matches!(
        integrate(&Exploding, &x0, 0.0, 1.0, cfg, &[0.7, 0.2]),
        Err(Error::Core(am_core::Error::InvalidConfig {
            field: "save_at",
            ..
        }))
    ));
    assert!(matches!(
        integrate(&Exploding, &x0, 1.0, 0.0, cfg, &[1.2]),
        Err(Error::Core(am_core::Error::OutOfRange {
            arg: "save_at",
            ..
        }))
    ));
    assert!(matches!(
        integrate(&field(), &x0, 0.0, 1.0, cfg, &[]),
        Err(Error::Core(am_core::Error::Shape { arg: "x0", .. }))
    ));
    assert!(integrate(
        &Exploding,
        &x0,
        0.0,
        1.0,
        OdeConfig { steps: 0, ..cfg },
        &[]
    )
    .is_err());
}

#[test]
fn resampling_refuses_mismatched_empty_and_degenerate_weights() {
    use am_solvers::weighted::{normalized_weights, systematic_resample};
    let mut rng = SeededRng::new(0);
    let x = Tensor::zeros((4, 2), DType::F64, &Device::Cpu).unwrap();
    let lw = Tensor::zeros((3, 1), DType::F64, &Device::Cpu).unwrap();
    assert!(
        systematic_resample(&x, &lw, &mut rng).is_err(),
        "3 weights for 4 particles"
    );
    let empty = Tensor::zeros((0, 2), DType::F64, &Device::Cpu).unwrap();
    let lw0 = Tensor::zeros((0, 1), DType::F64, &Device::Cpu).unwrap();
    assert!(systematic_resample(&empty, &lw0, &mut rng).is_err());
    let nan = Tensor::new(&[[0.0f64], [f64::NAN], [0.0], [1.0]], &Device::Cpu).unwrap();
    assert!(systematic_resample(&x, &nan, &mut rng).is_err());
    let zero = Tensor::full(f64::NEG_INFINITY, (4, 1), &Device::Cpu).unwrap();
    assert!(normalized_weights(&zero).is_err(), "all weights zero");
    let ok = Tensor::new(&[[0.0f64], [f64::NEG_INFINITY], [0.0], [1.0]], &Device::Cpu).unwrap();
    let (y, lw) = systematic_resample(&x, &ok, &mut rng).unwrap();
    assert_eq!((y.dims(), lw.dims()), (&[4usize, 2][..], &[4usize, 1][..]));
}
