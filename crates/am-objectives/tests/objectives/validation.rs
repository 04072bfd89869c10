//! Bad input gives typed errors naming the argument.

use am_core::{DType, Device, Error as CoreError, PowerCost, QuadraticCost, SeededRng, Tensor};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig, Diffusion, Error, PathSample, TimeWeight};

fn zeros(n: usize, d: usize) -> Tensor {
    Tensor::zeros((n, d), DType::F64, &Device::Cpu).unwrap()
}

#[test]
fn bad_batches_and_configs_are_typed_errors() {
    let t = Tensor::from_vec(vec![0.1, 0.5, 1.5], (3, 1), &Device::Cpu).unwrap();
    match PathSample::new(zeros(3, 2), zeros(3, 2), t, zeros(3, 2), None) {
        Err(Error::Core(CoreError::OutOfRange {
            arg: "t", value, ..
        })) => assert_eq!(value, 1.5),
        other => panic!("{other:?}"),
    }
    let t = zeros(3, 1);
    assert!(matches!(
        PathSample::new(zeros(3, 2), zeros(3, 3), t.clone(), zeros(3, 2), None),
        Err(Error::Core(CoreError::Shape { arg: "x1", .. }))
    ));
    assert!(matches!(
        PathSample::new(zeros(0, 2), zeros(3, 2), t.clone(), zeros(3, 2), None),
        Err(Error::Core(CoreError::Empty { arg: "x0" }))
    ));
    assert!(matches!(
        PathSample::new(zeros(3, 2), zeros(3, 2), zeros(2, 1), zeros(3, 2), None),
        Err(Error::Core(CoreError::Shape { arg: "t", .. }))
    ));
    let nan = Tensor::from_vec(
        vec![0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0],
        (3, 2),
        &Device::Cpu,
    )
    .unwrap();
    assert!(matches!(
        PathSample::new(zeros(3, 2), zeros(3, 2), t.clone(), nan, None),
        Err(Error::Core(CoreError::NonFinite {
            arg: "xt",
            index: 1,
            ..
        }))
    ));
    let neg = Tensor::from_vec(vec![1.0, -1.0, 1.0], (3, 1), &Device::Cpu).unwrap();
    assert!(matches!(
        PathSample::new(zeros(3, 2), zeros(3, 2), t.clone(), zeros(3, 2), Some(neg)),
        Err(Error::Core(CoreError::OutOfRange { arg: "inv_p", .. }))
    ));

    assert!(matches!(
        ActionMatching::new(AmConfig::entropic(-0.1)),
        Err(Error::Core(CoreError::OutOfRange { arg: "eps", .. }))
    ));
    assert!(matches!(
        ActionMatching::new(AmConfig {
            diffusion: Diffusion::Decaying { eps: f64::NAN },
            ..Default::default()
        }),
        Err(Error::Core(CoreError::NonFinite { arg: "eps", .. }))
    ));
    assert!(matches!(
        ActionMatching::new(AmConfig::unbalanced(-1.0)),
        Err(Error::Core(CoreError::OutOfRange { arg: "lambda", .. }))
    ));
    assert!(matches!(
        ActionMatching::new(AmConfig {
            weight: TimeWeight::Polynomial(vec![0.5, -1.0]),
            ..Default::default()
        }),
        Err(Error::Core(CoreError::InvalidConfig {
            field: "weight",
            ..
        }))
    ));
    assert!(matches!(
        QuadraticCost::new(vec![1.0, 2.0, 2.0, 1.0], 2),
        Err(CoreError::InvalidConfig { field: "A", .. })
    ));
    assert!(matches!(
        QuadraticCost::new(vec![1.0, 0.5, 0.0, 1.0], 2),
        Err(CoreError::InvalidConfig { field: "A", .. })
    ));
    assert!(matches!(
        PowerCost::new(1.0),
        Err(CoreError::OutOfRange { arg: "p", .. })
    ));

    // action and batch disagree on the dimension
    let mlp = Mlp::new(
        MlpConfig {
            dim: 3,
            hidden: vec![4],
            ..Default::default()
        },
        &mut SeededRng::new(0),
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let batch = PathSample::new(zeros(3, 2), zeros(3, 2), t, zeros(3, 2), None).unwrap();
    let obj = ActionMatching::new(AmConfig::deterministic()).unwrap();
    assert!(matches!(
        obj.loss(&mlp, &batch, &mut SeededRng::new(0)),
        Err(Error::DimensionMismatch {
            arg: "x0",
            action: 3,
            batch: 2
        })
    ));
}

#[test]
fn time_weights_on_unvalidated_fields_are_errors() {
    let empty = TimeWeight::Mass {
        times: vec![],
        masses: vec![],
    };
    assert!(empty.at(0.5).is_err());
    let ragged = TimeWeight::Mass {
        times: vec![0.0, 1.0],
        masses: vec![1.0],
    };
    assert!(ragged.at(0.5).is_err());
    let ok = TimeWeight::Mass {
        times: vec![0.0, 1.0],
        masses: vec![1.0, 3.0],
    };
    assert_eq!(ok.at(0.5).unwrap(), (2.0, 0.0));
}
