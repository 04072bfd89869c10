//! images: generative Action Matching on images (Sec. 4.3, App. E.2, Algorithm 2) with the U-Net
//! action s(t, x) = ⟨unet(t, x), x⟩, against flow matching (I-CFM) on the same network, data,
//! steps, batch, schedule and sampler.
//!
//! q_t is the law of x_t = (1 − t)x₀ + t x₁, x₀ ~ N(0, I), x₁ a dequantised training image in
//! [−1, 1]; AM minimises ω(0)s(0, x₀) − ω(1)s(1, x₁) + ω(t)(∂t s + ½‖∇s‖²) + ω′(t)s with
//! ω = 1 − t (the reference), its ∇θ through candle's second-order autograd. Samples: the ODE
//! dx/dt = ∇s (AM) or = f (CFM) from noise by Dopri5 (rtol = atol = 1e-5) or a fixed-step
//! scheme; bits/dim of test images by Eq. 9 (Hutchinson divergence, one probe per image).
//!
//! The baselines of Table 3 run through the same trainer: `--method vpsde` (denoising score
//! matching of the VP-SDE, sampled and evaluated by its probability-flow ODE) and `--method ald`
//! (sliced score matching of q_t, sampled by annealed Langevin dynamics, Algorithm 4, with α₁
//! tuned against training images). Where the Inception weights are installed
//! (`cargo xtask fetch-inception`), the Inception FID is reported beside the classifier FID.
//!
//! `cargo run --release --example images -- --method am` (digits, the digits U-Net preset);
//! `--quick` for a smoke run of a tiny U-Net (what CI runs).

mod common;

use action_matching::core::VpSchedule;
use action_matching::core::{
    double_backward, DType, Device, GradientField, SeededRng, Tensor, VelocityField,
};
use action_matching::metrics::InceptionV3;
use action_matching::models::{UNet, UNetConfig, UNetField};
use action_matching::paths::data::images::mnist_cache_dir;
use action_matching::paths::data::ImageSet;
use action_matching::paths::NoiseToImages;
use action_matching::solvers::{Dopri5Config, Method, OdeConfig};
use action_matching::train::images::{
    bits_per_dim_of, feature_fid, features_of, fitted_gaussian, load_or_train,
    nearest_training_distance, objective, quality, sample, sample_langevin, training_config,
    FieldScore, Quality, Samples, Solver, VpProbabilityFlow,
};
use action_matching::train::{
    AutogradEngine, Engine, FlowMatchingEngine, Regression, RegressionEngine, RunOptions,
    TimeSamplerConfig, Trainer,
};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "images: generative AM with a U-Net action against flow matching on the same U-Net (Sec. 4.3, Table 3's columns)

USAGE: cargo run --release --example images -- [OPTIONS]

OPTIONS:
  --data D            digits (default: the 8×8 digits, embedded), mnist (installed by
                      `cargo xtask fetch-mnist`; test images from t10k), cifar (CIFAR-10 as
                      JPEG: ../shared/data/images/cifar10-jpeg.tar.gz, or cifar:PATH) or the
                      path of an IDX image file (labels: the same name with images → labels,
                      idx3 → idx1)
  --method M          am (default), cfm, vpsde or ald (ALD + sliced score matching)
  --base N            the U-Net's base channels (default: the preset's)
  --alpha1 LIST       ALD's step α₁ candidates, tuned on 200 samples against training images
                      (default 0.02,0.05,0.1,0.2,0.5)
  --inception N       samples for the Inception FID (default min(samples, 300) where the
                      weights are installed, else 0; 0: off; --quick: 0)
  --steps N           training steps (default 2000; --quick: 4)
  --batch N           images per term and step (default 32)
  --lr R              peak learning rate (default 2e-4, the reference's MNIST rate)
  --samples N         images sampled for classifier FID/IS, the grid (first 64) and the
                      nearest-neighbour check (default 1000)
  --bpd-images N      test images for bits/dim (default 256)
  --solver S          dopri5 (default, rtol = atol = 1e-5) or rk4:N (N fixed steps)
  --time P            the time sampler: quasi (default, the √2 sequence) or adaptive (Eq. 88)
  --test N            test images (default 297: held out of the 1,797 digits; for MNIST the
                      first N of t10k)
  --seed N            random seed (default 0)
  --out DIR           output folder (default out/images)
  --resume            continue from the checkpoint in --out
  --quick             a smoke run of a few seconds (what CI runs)
  --help              this text";

/// An IDX image file with its labels, saying how to install MNIST when it is missing.
fn idx(images: &Path) -> Res<ImageSet> {
    Ok(ImageSet::from_idx_images(images).map_err(|e| {
        format!(
            "{e} (MNIST: `cargo xtask fetch-mnist` installs it in {})",
            mnist_cache_dir().display()
        )
    })?)
}

/// Training and test images: the digits split by a seeded draw of `test` images; an IDX file
/// whose name holds `train-` with its `t10k-` sibling as the test set (MNIST), else split.
fn load(data: &str, test: usize, seed: u64) -> Res<(ImageSet, ImageSet)> {
    let file = match data {
        "digits" => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/digits.csv.gz");
            return Ok(ImageSet::from_digits_csv(&p)?.split(test, seed)?);
        }
        "mnist" => mnist_cache_dir().join("train-images.idx3-ubyte"),
        cifar if cifar == "cifar" || cifar.starts_with("cifar:") => {
            let tar = match cifar.strip_prefix("cifar:") {
                Some(p) => PathBuf::from(p),
                None => Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/data/images/cifar10-jpeg.tar.gz"),
            };
            let test_set = ImageSet::from_image_tar(&tar, "test")?;
            // a spread of classes: every k-th test image
            let k = (test_set.len() / test.max(1)).max(1);
            let picks: Vec<usize> = (0..test_set.len()).step_by(k).take(test).collect();
            return Ok((
                ImageSet::from_image_tar(&tar, "train")?,
                test_set.subset(&picks)?,
            ));
        }
        path => PathBuf::from(path),
    };
    let name = file.to_string_lossy().to_string();
    let sibling = PathBuf::from(name.replace("train-", "t10k-"));
    if name.contains("train-") && sibling.exists() {
        let test_set = idx(&sibling)?;
        let n = test.min(test_set.len());
        return Ok((idx(&file)?, test_set.subset(&(0..n).collect::<Vec<_>>())?));
    }
    Ok(idx(&file)?.split(test, seed)?)
}

/// The network: the digits preset at 8×8, the MNIST preset at 28×28, a tiny one for --quick.
fn network(shape: (usize, usize, usize), quick: bool) -> Res<UNetConfig> {
    let (c, h, _) = shape;
    let mut config = match (quick, h) {
        (true, _) => UNetConfig {
            base: 8,
            groups: 4,
            ..UNetConfig::digits()
        },
        (false, 8) => UNetConfig::digits(),
        (false, 28) => UNetConfig::mnist(),
        (false, 32) => UNetConfig::cifar10(),
        _ => return Err(format!("no U-Net preset for {h}×{h} images").into()),
    };
    config.channels = c;
    config.size = h;
    if quick && h != 8 {
        config.attention.clear();
    }
    Ok(config)
}

/// Trains either model through the same trainer; returns the EMA model's velocity field.
fn train<E: Engine>(
    mut trainer: Trainer<E>,
    path: &NoiseToImages,
    out: &Path,
    resume: bool,
    label: &str,
) -> Res<(E::Model, f64)>
where
    E::Model: Sized,
{
    let options = RunOptions {
        checkpoint: Some(out.join(format!("{label}.ckpt.safetensors"))),
        every: 500,
        resume,
    };
    let progress =
        am_cli::progress::Progress::new(label, trainer.config().steps, trainer.step_count());
    let summary = trainer.run(path, &options, |r| progress.show(r));
    progress.finish();
    let summary = summary.map_err(|e| format!("{label}: {e}"))?;
    println!(
        "{label}: {} steps in {:.0} s ({:.0} ms/step), last loss {:+.4}",
        summary.steps,
        summary.seconds,
        1e3 * summary.seconds / summary.steps.max(1) as f64,
        summary.last_loss
    );
    Ok((trainer.ema_model()?, summary.seconds))
}

fn main() {
    // the U-Net's derivatives come from candle's double backward: before any thread runs one
    double_backward::enable();
    common::run(|| {
        double_backward::probe()?;
        let args = common::args::Args::parse(HELP, &["quick", "resume"])?;
        let quick = args.flag("quick");
        let method = args.string("method", "am");
        let steps: u64 = args.get("steps", if quick { 4 } else { 2000 })?;
        let batch: usize = args.get("batch", if quick { 8 } else { 32 })?;
        let lr: f64 = args.get("lr", 2e-4)?;
        let n_samples: usize = args.get("samples", if quick { 8 } else { 1000 })?;
        let n_bpd: usize = args.get("bpd-images", if quick { 8 } else { 256 })?;
        let seed: u64 = args.get("seed", 0)?;
        let solver = parse_solver(&args.string("solver", if quick { "rk4:4" } else { "dopri5" }))?;
        let out = PathBuf::from(args.string("out", "out/images"));
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let data = args.string("data", "digits");
        let (train_set, test_set) = load(&data, args.get("test", 297)?, seed)?;
        let shape = train_set.shape;
        let levels = train_set.levels;
        let mut config = network(shape, quick)?;
        config.base = args.get("base", config.base)?;
        println!(
            "{data}: {} training and {} test images of {}×{}×{} ({levels} levels); U-Net base {}, {:?}, {} res block(s), attention at {:?}, dropout {}; {method}, {steps} steps × batch {batch}, lr {lr:e}",
            train_set.len(), test_set.len(), shape.0, shape.1, shape.2, config.base, config.multipliers, config.res_blocks, config.attention, config.dropout
        );
        let path = NoiseToImages::new(train_set.clone(), false)?;
        let net = UNet::new(config, &mut SeededRng::new(seed), DType::F32, &Device::Cpu)?;
        println!("{} parameters", net.parameter_count());
        let mut train_config = training_config(steps, batch, lr, seed + 1);
        train_config.time = match args.string("time", "quasi").as_str() {
            "quasi" => TimeSamplerConfig::QuasiRandom,
            "adaptive" => TimeSamplerConfig::adaptive(),
            t => return Err(format!("--time: `{t}` is neither quasi nor adaptive").into()),
        };
        let resume = args.flag("resume");
        let all: Vec<usize> = (0..test_set.len().min(n_bpd)).collect();
        let test = test_set
            .batch(
                &all,
                Some(&mut SeededRng::new(seed + 3)),
                false,
                DType::F32,
                &Device::Cpu,
            )?
            .flatten_from(1)?;
        // samples (timed) and bits/dim (timed) of an ODE model
        let ode = |field: &dyn VelocityField, likelihood: &dyn VelocityField| -> Res<Evaluated> {
            let started = std::time::Instant::now();
            let samples = sample(field, n_samples, 64, solver, seed + 2, DType::F32)?;
            let sample_s = started.elapsed().as_secs_f64();
            let started = std::time::Instant::now();
            let bpd = bits_per_dim_of(likelihood, &test, levels, 64, solver, seed + 4)?;
            let bpd_s = started.elapsed().as_secs_f64();
            Ok(Evaluated {
                samples,
                bpd: Some((bpd, bpd_s)),
                sample_s,
            })
        };
        let every: Vec<usize> = (0..train_set.len()).collect();
        let train_images = train_set
            .batch(&every, None, false, DType::F32, &Device::Cpu)?
            .flatten_from(1)?;
        // the quality measure at this scale: the project's classifier (trained once, cached)
        let steps_clf = if quick { 20 } else { 2000 };
        let (clf, how) = load_or_train(
            &out.join("classifier.safetensors"),
            &train_set,
            &test_set,
            &data,
            (32, steps_clf, 11),
        )?;
        println!("classifier: {how}");
        let vp = VpSchedule::default();
        let (evaluated, seconds, note) = match method.as_str() {
            "am" => {
                let engine = AutogradEngine::new(net, train_config.adam)?;
                let trainer = Trainer::new(engine, objective()?, train_config)?;
                let (model, s) = train(trainer, &path, &out, resume, "AM")?;
                model.save(&out.join("am.safetensors"))?;
                let g = GradientField::new(&model);
                (ode(&g, &g)?, s, String::new())
            }
            "cfm" => {
                let engine = FlowMatchingEngine::new(UNetField { net }, train_config.adam)?;
                let trainer = Trainer::new(engine, objective()?, train_config)?;
                let (model, s) = train(trainer, &path, &out, resume, "CFM")?;
                model.net.save(&out.join("cfm.safetensors"))?;
                (ode(&model, &model)?, s, String::new())
            }
            "vpsde" => {
                let engine = RegressionEngine::with_target(
                    UNetField { net },
                    train_config.adam,
                    Regression::vp_sde(),
                )?;
                let trainer = Trainer::new(engine, objective()?, train_config)?;
                let (model, s) = train(trainer, &path, &out, resume, "VP-SDE")?;
                model.net.save(&out.join("vpsde.safetensors"))?;
                // Song et al.: sample to τ = 1e-3, likelihoods to 1e-5
                let sampler = VpProbabilityFlow {
                    noise: &model,
                    schedule: vp,
                    tau_end: 1e-3,
                };
                let likelihood = VpProbabilityFlow {
                    noise: &model,
                    schedule: vp,
                    tau_end: 1e-5,
                };
                (ode(&sampler, &likelihood)?, s, String::new())
            }
            "ald" => {
                let engine = RegressionEngine::with_target(
                    UNetField { net },
                    train_config.adam,
                    Regression::SlicedScore { t_max: 0.99 },
                )?;
                let trainer = Trainer::new(engine, objective()?, train_config)?;
                let (model, s) = train(trainer, &path, &out, resume, "ALD+SSM")?;
                model.net.save(&out.join("ald_ssm.safetensors"))?;
                let score = FieldScore(&model);
                let inner = if quick { (2, 4) } else { (10, 100) };
                // α₁ by classifier FID of 200 samples against the training images (not the test set)
                let mut best = (f64::INFINITY, 0.0);
                for alpha1 in args.list::<f64>("alpha1", "0.02,0.05,0.1,0.2,0.5")? {
                    let n = if quick { 8 } else { 200 };
                    let trial =
                        sample_langevin(&score, n, 64, alpha1, inner, seed + 7, DType::F32)?;
                    let q = quality(
                        &clf,
                        &trial.images.clamp(-1f32, 1f32)?,
                        &train_images,
                        2,
                        seed,
                    )?;
                    println!(
                        "ALD α₁ = {alpha1}: classifier FID {:.2} against training images",
                        q.fid
                    );
                    if q.fid < best.0 {
                        best = (q.fid, alpha1);
                    }
                }
                let started = std::time::Instant::now();
                let samples =
                    sample_langevin(&score, n_samples, 64, best.1, inner, seed + 2, DType::F32)?;
                let sample_s = started.elapsed().as_secs_f64();
                (
                    Evaluated {
                        samples,
                        bpd: None,
                        sample_s,
                    },
                    s,
                    format!(" (α₁ = {})", best.1),
                )
            }
            m => return Err(format!("--method: `{m}` is none of am, cfm, vpsde, ald").into()),
        };
        let Evaluated {
            samples,
            bpd,
            sample_s,
        } = evaluated;
        let grid = out.join(format!("samples_{method}.png"));
        // the first 64 samples as a grid
        let shown = samples.images.narrow(0, 0, n_samples.min(64))?;
        action_matching::train::figures::image_grid(
            &grid,
            &shown.clamp(-1f32, 1f32)?,
            shape,
            8,
            6,
        )?;
        let nn_samples = nearest_training_distance(&samples.images, &train_images)?;
        let nn_test = nearest_training_distance(&test, &train_images)?;
        let all_test: Vec<usize> = (0..test_set.len()).collect();
        let test_all = test_set
            .batch(&all_test, None, false, DType::F32, &Device::Cpu)?
            .flatten_from(1)?;
        let generated = samples.images.clamp(-1f32, 1f32)?;
        let q = quality(&clf, &generated, &test_all, 20, seed + 5)?;
        let n_floor = n_samples.min(train_set.len());
        let floor = quality(
            &clf,
            &train_images.narrow(0, 0, n_floor)?,
            &test_all,
            20,
            seed + 5,
        )?;
        let gaussian = fitted_gaussian(&train_images, n_samples, seed + 6)?;
        let gauss = quality(&clf, &gaussian, &test_all, 20, seed + 5)?;
        // the Inception FID where the weights are installed: samples against the test images
        let weights = action_matching::metrics::inception::default_weights_path();
        let default_inception = if weights.is_file() && !quick {
            n_samples.min(300)
        } else {
            0
        };
        let n_inception: usize = args.get("inception", default_inception)?.min(n_samples);
        let inception = if n_inception >= 2 {
            let net = InceptionV3::load(&weights, &Device::Cpu)?;
            let started = std::time::Instant::now();
            let reference = features_of(&net, &test_all, shape)?;
            let fid = |x: &Tensor| feature_fid(&net, x, &reference, shape, 20, seed + 8);
            let ours = fid(&generated.narrow(0, 0, n_inception)?)?;
            let floor =
                fid(&train_images.narrow(0, 0, n_inception.min(train_images.dims()[0]))?)?;
            let gauss = fid(&gaussian.narrow(0, 0, n_inception)?)?;
            println!(
                "Inception FID: {n_inception} images against the {} test images, {:.0} s",
                test_all.dims()[0],
                started.elapsed().as_secs_f64()
            );
            Some([ours, floor, gauss])
        } else {
            println!("Inception FID: off (`cargo xtask fetch-inception` installs the weights)");
            None
        };
        let cell = |k: usize| {
            inception.map_or("–".to_string(), |f| {
                format!("{:.1} ± {:.1}", f[k].0, f[k].1)
            })
        };
        let (bpd_cell, bpd_nfe, bpd_s) = match bpd {
            Some((b, secs)) => (
                format!("{:.3} ± {:.3}", b.mean, b.stderr),
                b.nfe.to_string(),
                format!("{secs:.0}"),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!("\n| method | BPD (± s.e., {} test images) | Inception FID (± s.e.) | classifier FID (± s.e.) | classifier IS (± s.e.) | NFE (sampling) | NFE (BPD) | nearest training image, median: samples / test | train s | sample s | BPD s |", test.dims()[0]);
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        println!(
            "| {method}{note} | {bpd_cell} | {} | {} | {} | {bpd_nfe} | {nn_samples:.2} / {nn_test:.2} | {seconds:.0} | {sample_s:.0} | {bpd_s} |",
            cell(0), fid_is(&q), samples.nfe
        );
        println!(
            "| training images ({}, the floor) | – | {} | {} | – | – | – | – | – | – |",
            n_floor,
            cell(1),
            fid_is(&floor)
        );
        println!("| full-covariance Gaussian fitted to the training images (the bar) | – | {} | {} | – | – | – | – | – | – |", cell(2), fid_is(&gauss));
        println!("(classifier FID/IS over {n_samples} generated images against the {} test images; class histogram of the samples: {:?})", test_set.len(), q.classes);
        println!("(paper, CIFAR-10, 500k steps: AM BPD 3.54, FID 10.04, IS 8.60, NFE 132; flow matching 2.99 / 6.35 / – / 142 — other data and budget, for orientation only)");
        println!(
            "wrote {} and the model file in {}",
            grid.display(),
            out.display()
        );
        Ok(())
    });
}

/// A trained model's samples, bits/dim (with its seconds; none for ALD) and sampling seconds.
struct Evaluated {
    samples: Samples,
    bpd: Option<(action_matching::train::images::Bpd, f64)>,
    sample_s: f64,
}

/// `dopri5` (rtol = atol = 1e-5) or `rk4:N`.
fn parse_solver(s: &str) -> Res<Solver> {
    if s == "dopri5" {
        return Ok(Solver::Dopri5(Dopri5Config::default()));
    }
    match s.strip_prefix("rk4:").and_then(|n| n.parse().ok()) {
        Some(steps) => Ok(Solver::Fixed(OdeConfig {
            method: Method::Rk4,
            steps,
        })),
        None => Err(format!("--solver: `{s}` is neither dopri5 nor rk4:N").into()),
    }
}

/// "FID ± s.e. | IS ± s.e." cells.
fn fid_is(q: &Quality) -> String {
    format!(
        "{:.2} ± {:.2} | {:.2} ± {:.2}",
        q.fid, q.fid_se, q.is, q.is_se
    )
}
