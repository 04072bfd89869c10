//! The U-Net action: its layout (parameter counts of the reference layout), s ≡ 0 at the real
//! initialisation, and — on a tiny f64 U-Net with every parameter drawn at random (the
//! zero-initialised ones too) and dropout off — ∇x s, ∂t s and the Hutchinson divergence against
//! central differences, through every layer type (input conv, res blocks with and without the
//! 1×1 shortcut, attention, stride-2 down, nearest-×2 up, GroupNorm, the time MLP).

use am_core::candle::{DType, Device, Tensor};
use am_core::{double_backward, Action, Derivatives, LaplacianMode, SeededRng};
use am_models::{UNet, UNetConfig};

/// Every layer kind at the smallest size.
fn tiny() -> UNetConfig {
    UNetConfig::tiny()
}

/// A tiny f64 U-Net with every parameter drawn from U(−0.4, 0.4) + its initial value.
pub fn randomised(config: UNetConfig, seed: u64) -> UNet {
    let mut rng = SeededRng::new(seed);
    let net = UNet::new(config, &mut rng, DType::F64, &Device::Cpu).unwrap();
    for v in net.parameters() {
        let noise = rng
            .uniform_tensor(v.dims(), -0.4, 0.4, DType::F64, &Device::Cpu)
            .unwrap();
        v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
    }
    net
}

pub fn on_fresh_thread<F: FnOnce() + Send + 'static>(f: F) {
    double_backward::enable();
    std::thread::spawn(move || {
        double_backward::probe().expect("double backward works after enable()");
        f()
    })
    .join()
    .unwrap();
}

fn host(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn batch(n: usize, d: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = SeededRng::new(seed);
    let t = rng
        .uniform_tensor(&[n, 1], 0.05, 0.95, DType::F64, &Device::Cpu)
        .unwrap();
    let x = rng
        .normal_tensor(&[n, d], DType::F64, &Device::Cpu)
        .unwrap();
    (t, x)
}

#[test]
fn parameter_counts_match_the_reference_layout() {
    // benches/ref/unet_parameters.py counts the layout of ../shared/bench/am_unet_step_torch.py
    for (config, want) in [
        (UNetConfig::digits(), 684_577),
        (UNetConfig::mnist(), 275_889),
        (UNetConfig::cifar10(), 36_009_987),
    ] {
        let net = UNet::new(
            config.clone(),
            &mut SeededRng::new(0),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(net.parameter_count(), want, "{config:?}");
    }
}

#[test]
fn the_action_is_exactly_zero_at_initialisation() {
    on_fresh_thread(|| {
        let net = UNet::new(
            UNetConfig::digits(),
            &mut SeededRng::new(3),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
        let (t, x) = batch(4, 64, 1);
        let (t, x) = (
            t.to_dtype(DType::F32).unwrap(),
            x.to_dtype(DType::F32).unwrap(),
        );
        let e = net.eval(&t, &x, &Derivatives::default()).unwrap();
        for v in [host(&e.s), host(&e.grad_x), host(&e.dt)] {
            assert!(v.iter().all(|&a| a == 0.0), "{v:?}");
        }
        // (N, C, H, W) input gives the same, with ∇x s in that shape
        let img = x.reshape((4, 1, 8, 8)).unwrap();
        let e = net.eval(&t, &img, &Derivatives::default()).unwrap();
        assert_eq!(e.grad_x.dims(), &[4, 1, 8, 8]);
    });
}

#[test]
fn input_derivatives_match_central_differences() {
    on_fresh_thread(|| {
        let net = randomised(tiny(), 5);
        let d = net.dim();
        let (t, x) = batch(3, d, 2);
        let probe = SeededRng::new(8)
            .rademacher_tensor(&[3, d], DType::F64, &Device::Cpu)
            .unwrap();
        let want = Derivatives {
            laplacian: LaplacianMode::Hutchinson(probe.clone()),
        };
        let e = net.eval(&t, &x, &want).unwrap();
        let s = host(&e.s);
        assert!(
            s.iter().all(|v| v.abs() > 1e-3),
            "a non-trivial action: {s:?}"
        );
        let value = |t: &Tensor, x: &Tensor| host(&net.value(t, x).unwrap());
        let h = 1e-5;
        let rel = |a: f64, b: f64| (a - b).abs() / (1e-6 + b.abs());
        // ∂t s
        let dt = host(&e.dt);
        let (tp, tm) = ((&t + h).unwrap(), (&t - h).unwrap());
        let (sp, sm) = (value(&tp, &x), value(&tm, &x));
        for i in 0..3 {
            let fd = (sp[i] - sm[i]) / (2.0 * h);
            assert!(rel(dt[i], fd) < 1e-6, "∂t s[{i}]: {} vs {fd}", dt[i]);
        }
        // ∇x s on every coordinate
        let g = host(&e.grad_x);
        let xs = host(&x);
        for j in 0..d {
            let mut unit = vec![0.0; 3 * d];
            for i in 0..3 {
                unit[i * d + j] = h;
            }
            let u = Tensor::from_vec(unit, (3, d), &Device::Cpu).unwrap();
            let (sp, sm) = (
                value(&t, &(&x + &u).unwrap()),
                value(&t, &(&x - &u).unwrap()),
            );
            for i in 0..3 {
                let fd = (sp[i] - sm[i]) / (2.0 * h);
                assert!(
                    rel(g[i * d + j], fd) < 1e-6,
                    "∇x s[{i}, {j}] at x = {}: {} vs {fd}",
                    xs[i * d + j],
                    g[i * d + j]
                );
            }
        }
        // the Hutchinson divergence εᵀ(∇²s)ε against the difference of ∇x s along ε
        let lap = host(e.laplacian.as_ref().unwrap());
        let step = (&probe * h).unwrap();
        let gp = host(
            &net.eval(&t, &(&x + &step).unwrap(), &Derivatives::default())
                .unwrap()
                .grad_x,
        );
        let gm = host(
            &net.eval(&t, &(&x - &step).unwrap(), &Derivatives::default())
                .unwrap()
                .grad_x,
        );
        let eps = host(&probe);
        for i in 0..3 {
            let fd: f64 = (0..d)
                .map(|j| (gp[i * d + j] - gm[i * d + j]) / (2.0 * h) * eps[i * d + j])
                .sum();
            assert!(rel(lap[i], fd) < 1e-5, "εᵀ∇²sε[{i}]: {} vs {fd}", lap[i]);
        }
    });
}

#[test]
fn dropout_is_reproducible_per_call_and_off_outside_training() {
    on_fresh_thread(|| {
        let config = UNetConfig {
            dropout: 0.5,
            ..tiny()
        };
        let net = randomised(config, 6);
        let (t, x) = batch(3, net.dim(), 4);
        let off = host(&net.value(&t, &x).unwrap());
        net.set_training(true);
        let a = host(&net.value(&t, &x).unwrap());
        let b = host(&net.value(&t, &x).unwrap());
        assert_eq!(a, b, "the same call draws the same mask");
        assert_ne!(a, off, "training applies dropout");
        let other = host(&net.value(&(&t * 0.5).unwrap(), &x).unwrap());
        let off_other = {
            net.set_training(false);
            host(&net.value(&(&t * 0.5).unwrap(), &x).unwrap())
        };
        assert_ne!(other, off_other);
        assert_eq!(host(&net.value(&t, &x).unwrap()), off);
    });
}

#[test]
fn configurations_are_validated_with_the_field_named() {
    let cases: Vec<(UNetConfig, &str)> = vec![
        (UNetConfig { base: 3, ..tiny() }, "base"),
        (
            UNetConfig {
                multipliers: vec![],
                ..tiny()
            },
            "multipliers",
        ),
        (
            UNetConfig {
                size: 6,
                multipliers: vec![1, 2, 2],
                ..tiny()
            },
            "size",
        ),
        (
            UNetConfig {
                attention: vec![3],
                ..tiny()
            },
            "attention",
        ),
        (
            UNetConfig {
                groups: 3,
                ..tiny()
            },
            "groups",
        ),
        (
            UNetConfig {
                dropout: 1.0,
                ..tiny()
            },
            "dropout",
        ),
        (
            UNetConfig {
                res_blocks: 0,
                ..tiny()
            },
            "res_blocks",
        ),
        (
            UNetConfig {
                channels: 0,
                ..tiny()
            },
            "channels",
        ),
    ];
    for (config, field) in cases {
        let e = config.validate().unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
        assert!(UNet::new(config, &mut SeededRng::new(0), DType::F64, &Device::Cpu).is_err());
    }
    for preset in [
        UNetConfig::digits(),
        UNetConfig::mnist(),
        UNetConfig::cifar10(),
    ] {
        preset.validate().unwrap();
    }
    // a wrong image shape is a typed error, not a panic
    let net = randomised(tiny(), 1);
    let (t, _) = batch(2, 32, 1);
    let bad = Tensor::zeros((2, 31), DType::F64, &Device::Cpu).unwrap();
    let e = net.value(&t, &bad).unwrap_err().to_string();
    assert!(e.contains("(N, 32)"), "{e}");
}
