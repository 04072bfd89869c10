//! Images: sampling and bits/dim against fields with closed-form flows, the noise → images
//! path, the grid figure, a U-Net model file round trip, and both image engines training.

use am_core::{DType, Device, Marginals, SeededRng, Tensor, VelocityField};
use am_metrics::{bits_per_dim, DataMapping};
use am_paths::data::ImageSet;
use am_paths::NoiseToImages;
use am_solvers::{Dopri5Config, Method, OdeConfig};
use am_train::images::{bits_per_dim_of, sample, training_config, Solver};

/// v(x) = a·x: x(1) = e^a x(0), ∇·v = D·a, log q₁(x) = log N(e^{−a}x; 0, I) − D·a.
struct Linear(f64, usize);

impl VelocityField for Linear {
    fn dim(&self) -> usize {
        self.1
    }

    fn velocity(&self, _t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        Ok((x * self.0)?)
    }

    fn velocity_divergence(
        &self,
        _t: f64,
        x: &Tensor,
        _mode: &am_core::LaplacianMode,
    ) -> am_core::Result<(Tensor, Tensor)> {
        let n = x.dims()[0];
        let div = Tensor::full(self.0 * self.1 as f64, (n, 1), x.device())?.to_dtype(x.dtype())?;
        Ok(((x * self.0)?, div))
    }
}

fn digits(n: usize) -> ImageSet {
    let mut rng = SeededRng::new(1);
    ImageSet {
        pixels: (0..n * 64).map(|_| rng.below(17) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        shape: (1, 8, 8),
        levels: 17,
    }
}

#[test]
fn samples_and_bits_per_dim_follow_a_closed_form_flow() {
    let (a, d) = (0.3, 64);
    let field = Linear(a, d);
    let rk4 = Solver::Fixed(OdeConfig {
        method: Method::Rk4,
        steps: 50,
    });
    for solver in [rk4, Solver::Dopri5(Dopri5Config::default())] {
        let s = sample(&field, 10, 4, solver, 7, DType::F64).unwrap();
        let x0 = SeededRng::new(7)
            .normal_tensor(&[10, d], DType::F64, &Device::Cpu)
            .unwrap();
        let want = (x0 * a.exp()).unwrap();
        let err = (&s.images - &want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(err.to_scalar::<f64>().unwrap() < 1e-6, "{solver:?}");
        assert!(s.nfe > 0);
        // bits/dim of points x: exact log q₁ = log N(e^{−a}x) − D·a
        let x = SeededRng::new(9)
            .normal_tensor(&[6, d], DType::F64, &Device::Cpu)
            .unwrap();
        let bpd = bits_per_dim_of(&field, &x, 17, 4, solver, 3).unwrap();
        let rows: Vec<Vec<f64>> = x.to_vec2().unwrap();
        let exact: Vec<f64> = rows
            .iter()
            .map(|r| {
                let y2: f64 = r.iter().map(|v| (v * (-a).exp()).powi(2)).sum();
                let logq =
                    -0.5 * y2 - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln() - d as f64 * a;
                bits_per_dim(logq, d, DataMapping::Dequantized { levels: 17 }).unwrap()
            })
            .collect();
        let mean = exact.iter().sum::<f64>() / 6.0;
        assert!(
            (bpd.mean - mean).abs() < 1e-6,
            "{solver:?}: {} vs {mean}",
            bpd.mean
        );
        assert_eq!(bpd.images, 6);
        assert!(bpd.stderr > 0.0);
    }
    let e = sample(&field, 0, 4, rk4, 0, DType::F64).unwrap_err();
    assert!(e.to_string().starts_with("n:"), "{e}");
}

#[test]
fn the_generative_path_runs_from_noise_to_dequantised_images() {
    let set = digits(50);
    let (train, test) = set.split(10, 0).unwrap();
    assert_eq!((train.len(), test.len()), (40, 10));
    assert!(set.split(0, 0).is_err() && set.split(50, 0).is_err());
    let path = NoiseToImages::new(train, false).unwrap();
    assert_eq!(path.dim(), 64);
    let mut rng = SeededRng::new(2);
    let x1: Vec<f64> = path
        .sample(&[1.0; 200], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    // x = 2(k + u)/17 − 1 ∈ [−1, 1)
    assert!(x1.iter().all(|v| (-1.0..1.0).contains(v)));
    let x0: Vec<f64> = path
        .sample(&[0.0; 400], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let m = x0.iter().sum::<f64>() / x0.len() as f64;
    let v = x0.iter().map(|x| (x - m).powi(2)).sum::<f64>() / x0.len() as f64;
    assert!(
        m.abs() < 0.02 && (v - 1.0).abs() < 0.03,
        "N(0, I) at t = 0: {m}, {v}"
    );
    assert!(NoiseToImages::new(set.subset(&[]).unwrap(), false).is_err());
}

#[test]
fn image_grids_are_written_and_bad_shapes_refused() {
    let d = std::env::temp_dir().join(format!("am-grid-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let imgs = digits(10)
        .batch(
            &(0..10).collect::<Vec<_>>(),
            None,
            false,
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
    let png = d.join("grid.png");
    am_train::figures::image_grid(&png, &imgs, (1, 8, 8), 4, 3).unwrap();
    let b = std::fs::read(&png).unwrap();
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    // 4 columns, 3 rows of 8·3 pixels with 2-pixel gutters
    assert_eq!((be(16), be(20)), (4 * 26 + 2, 3 * 26 + 2));
    let e = am_train::figures::image_grid(&png, &imgs, (1, 7, 8), 4, 3).unwrap_err();
    assert!(e.to_string().contains("grid.png"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn the_reference_schedule_scales_with_the_run() {
    let c = training_config(2000, 32, 2e-4, 1);
    c.validate().unwrap();
    assert_eq!(c.schedule.warmup, 100);
    assert_eq!(c.ema, Some(0.995));
    assert_eq!(c.clip, am_core::train::Clip::Value(1.0));
    let long = training_config(1_000_000, 128, 1e-4, 1);
    assert_eq!((long.schedule.warmup, long.ema), (5000, Some(0.9999)));
}

use crate::cases::unet as tiny_unet;

#[test]
fn both_image_engines_train_checkpoint_and_resume_exactly() {
    use am_train::{AutogradEngine, Engine, FlowMatchingEngine, RunOptions, Trainer};
    am_core::double_backward::enable();
    std::thread::spawn(|| {
        am_core::double_backward::probe().unwrap();
        let d = std::env::temp_dir().join(format!("am-img-train-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let path = NoiseToImages::new(digits(30), false).unwrap();
        let config = training_config(6, 4, 1e-3, 3);
        let objective = am_train::images::objective().unwrap();
        fn run<E: Engine>(
            mut t: Trainer<E>,
            path: &NoiseToImages,
            stop: u64,
            ckpt: &std::path::Path,
            resume: bool,
        ) -> (Trainer<E>, f64) {
            let options = RunOptions {
                checkpoint: Some(ckpt.to_path_buf()),
                every: 3,
                resume,
            };
            let s = t.run_to(stop, path, &options, |_| {}).unwrap();
            (t, s.last_loss)
        }
        // the EMA follows every step's parameters: equal EMAs mean equal trajectories
        let params =
            |t: &mut Trainer<AutogradEngine<am_models::UNet>>| t.ema_params().unwrap().to_vec();
        // AM: 6 steps straight, or 3 then a resume to 6 in a new trainer
        let am = |seed| {
            let e = AutogradEngine::new(tiny_unet(seed), config.adam).unwrap();
            Trainer::new(e, objective.clone(), config.clone()).unwrap()
        };
        let (mut full, loss) = run(am(0), &path, 6, &d.join("a.ckpt"), false);
        assert!(loss.is_finite());
        let (_, _) = run(am(0), &path, 3, &d.join("b.ckpt"), false);
        let (mut resumed, _) = run(am(0), &path, 6, &d.join("b.ckpt"), true);
        assert_eq!(
            params(&mut full),
            params(&mut resumed),
            "AM resume is bit-exact"
        );
        // the EMA model saves and loads as a self-describing file
        let model = full.ema_model().unwrap();
        model.save(&d.join("m.safetensors")).unwrap();
        let back = am_models::UNet::load(&d.join("m.safetensors"), &Device::Cpu).unwrap();
        let (t, x) = (
            Tensor::full(0.5f64, (2, 1), &Device::Cpu).unwrap(),
            SeededRng::new(4)
                .normal_tensor(&[2, 64], DType::F64, &Device::Cpu)
                .unwrap(),
        );
        use am_core::Action;
        let (a, b) = (model.value(&t, &x).unwrap(), back.value(&t, &x).unwrap());
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert_eq!(diff, 0.0);
        let e = am_models::Mlp::load(&d.join("m.safetensors"), &Device::Cpu).unwrap_err();
        assert!(e.to_string().contains("unet"), "{e}");
        // CFM through the same trainer
        let cfm = |seed| {
            let field = am_models::UNetField {
                net: tiny_unet(seed),
            };
            let e = FlowMatchingEngine::new(field, config.adam).unwrap();
            Trainer::new(e, objective.clone(), config.clone()).unwrap()
        };
        let (f1, l1) = run(cfm(0), &path, 6, &d.join("c.ckpt"), false);
        run(cfm(0), &path, 3, &d.join("e.ckpt"), false);
        let (f2, _) = run(cfm(0), &path, 6, &d.join("e.ckpt"), true);
        assert!(l1.is_finite() && l1 > 0.0);
        assert_eq!(f1.ema_params(), f2.ema_params(), "CFM resume is bit-exact");
        assert_ne!(f1.ema_params(), full.ema_params());
        std::fs::remove_dir_all(&d).ok();
    })
    .join()
    .unwrap();
}

#[test]
fn the_evaluation_classifier_learns_the_digits_and_ranks_image_sets() {
    use am_train::images::{fitted_gaussian, quality, train_classifier};
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/digits.csv.gz");
    let (train, test) = ImageSet::from_digits_csv(&file)
        .unwrap()
        .split(297, 0)
        .unwrap();
    let trained = train_classifier(&train, &test, 32, 400, 0).unwrap();
    assert!(
        trained.test_accuracy > 0.9,
        "accuracy {}",
        trained.test_accuracy
    );
    let d = std::env::temp_dir().join(format!("am-clf-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let sha = trained.save(&d.join("clf.safetensors"), "digits").unwrap();
    assert_eq!(sha.len(), 64);
    let (back, meta) =
        am_metrics::Classifier::load(&d.join("clf.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(meta["test_accuracy"], trained.test_accuracy.to_string());
    let rows = |s: &ImageSet| {
        let idx: Vec<usize> = (0..s.len()).collect();
        s.batch(&idx, None, false, DType::F32, &Device::Cpu)
            .unwrap()
            .flatten_from(1)
            .unwrap()
    };
    let (tr, te) = (rows(&train), rows(&test));
    let floor = quality(&back, &tr.narrow(0, 0, 297).unwrap(), &te, 10, 1).unwrap();
    let gauss = quality(&back, &fitted_gaussian(&tr, 297, 2).unwrap(), &te, 10, 1).unwrap();
    let noise = SeededRng::new(3)
        .uniform_tensor(&[297, 64], -1.0, 1.0, DType::F32, &Device::Cpu)
        .unwrap();
    let noise = quality(&back, &noise, &te, 10, 1).unwrap();
    assert!(
        floor.fid < gauss.fid && gauss.fid < noise.fid,
        "{floor:?} {gauss:?} {noise:?}"
    );
    assert!(floor.is > gauss.is, "{floor:?} {gauss:?}");
    assert!(floor.fid_se > 0.0 && floor.is_se > 0.0);
    assert_eq!(floor.classes.iter().sum::<usize>(), 297);
    std::fs::remove_dir_all(&d).ok();
}
