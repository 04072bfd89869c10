//! A run interrupted by a checkpoint and resumed in a fresh trainer reaches the same parameters,
//! EMA and sampler state as the same run uninterrupted, for both engines and every time sampler;
//! checkpoints of another configuration are refused part by part and leave the trainer as it was.

use am_core::train::Clip;
use am_core::{DType, Device, SeededRng};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig};
use am_paths::GaussianPath;
use am_train::Engine;
use am_train::{
    CheckpointProblem, EngineChoice, EngineKind, Error, MlpEngine, RunOptions, TimeSamplerConfig,
    TrainConfig, Trainer,
};

pub fn mlp(seed: u64) -> Mlp {
    crate::cases::mlp_of(seed, DType::F32)
}

pub fn config(time: TimeSamplerConfig, steps: u64) -> TrainConfig {
    TrainConfig {
        clip: Clip::GlobalNorm(0.5),
        ema: Some(0.9),
        time,
        seed: 5,
        // the schedule of a 6-step run, whatever `steps` says (a resume may change only that)
        steps,
        ..TrainConfig::new(6, 32, 1e-2)
    }
}

pub fn fresh(choice: EngineChoice, time: TimeSamplerConfig, steps: u64) -> Trainer<MlpEngine> {
    let objective = ActionMatching::new(AmConfig::entropic(0.3)).unwrap();
    let adam = config(time, steps).adam;
    let (engine, note) = MlpEngine::new(mlp(1), &objective, adam, choice).unwrap();
    assert!(note.is_none());
    Trainer::new(engine, objective, config(time, steps))
        .unwrap()
        .with_run_config(r#"{"test":"resume"}"#)
}

/// Parameters, EMA and the next batch's times: everything a continued run depends on.
pub fn state(t: &mut Trainer<MlpEngine>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let ema: Vec<f64> = t.ema_params().unwrap().to_vec();
    let ck = t.checkpoint().unwrap();
    let params = ck.tensors["params"].to_vec1::<f64>().unwrap();
    let path = GaussianPath::moving_and_scaling();
    let times = t.draw(&path).unwrap().times().unwrap();
    (params, ema, times)
}

fn dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("am-train-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn resumed_runs_match_uninterrupted_runs() {
    let path = GaussianPath::moving_and_scaling();
    let d = dir("resume");
    for choice in [EngineChoice::Fused, EngineChoice::Autograd] {
        for time in [
            TimeSamplerConfig::QuasiRandom,
            TimeSamplerConfig::Uniform,
            TimeSamplerConfig::adaptive(),
        ] {
            let tag = format!("{choice:?} {time:?}");
            let mut a = fresh(choice, time, 6);
            let mut largest = 0.0f64;
            a.run(&path, &RunOptions::default(), |r| {
                largest = largest.max(r.grad_norm)
            })
            .unwrap();
            assert!(
                largest > 0.5,
                "{tag}: clipping must act, largest ‖∇θ‖ {largest}"
            );
            let want = state(&mut a);

            let file = d.join("ck.safetensors");
            let mut b = fresh(choice, time, 3);
            let options = RunOptions {
                checkpoint: Some(file.clone()),
                every: 2,
                resume: false,
            };
            let mut events = Vec::new();
            b.run(&path, &options, |r| events.extend(r.events.clone()))
                .unwrap();
            assert_eq!(events.len(), 2, "{tag}: checkpoints at steps 2 and 3");
            assert!(!d.join("ck.safetensors.tmp").exists());
            drop(b);

            let mut c = fresh(choice, time, 6);
            let options = RunOptions {
                resume: true,
                ..options
            };
            let summary = c.run(&path, &options, |_| {}).unwrap();
            assert_eq!(summary.resumed_from, Some(3), "{tag}");
            assert_eq!(summary.steps, 3, "{tag}");
            let got = state(&mut c);
            assert_eq!(got, want, "{tag}: resumed state differs");
            // the EMA model holds the EMA parameters (f32, the models' dtype)
            let m = c.ema_model().unwrap();
            let mut flat = Vec::new();
            for v in am_core::Action::parameters(&m) {
                flat.extend(
                    v.flatten_all()
                        .unwrap()
                        .to_dtype(DType::F64)
                        .unwrap()
                        .to_vec1::<f64>()
                        .unwrap(),
                );
            }
            let ema: Vec<f64> = c
                .ema_params()
                .unwrap()
                .iter()
                .map(|&v| v as f32 as f64)
                .collect();
            assert_eq!(flat, ema, "{tag}: the EMA model");
            if time != TimeSamplerConfig::QuasiRandom && time != TimeSamplerConfig::Uniform {
                let (_, p) = c.sampler().density().unwrap();
                assert!(
                    p.iter().any(|&v| (v - 1.0).abs() > 1e-6),
                    "{tag}: the adaptive density must have learned from the integrand"
                );
            }
        }
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn other_configurations_are_refused_part_by_part() {
    let path = GaussianPath::moving_and_scaling();
    let d = dir("refuse");
    let file = d.join("ck.safetensors");
    let mut a = fresh(EngineChoice::Fused, TimeSamplerConfig::QuasiRandom, 3);
    a.run(&path, &RunOptions::default(), |_| {}).unwrap();
    a.save_checkpoint(&file).unwrap();

    let part = |t: &mut Trainer<MlpEngine>| match t.resume(&file).unwrap_err() {
        Error::Checkpoint {
            path,
            problem: CheckpointProblem::Mismatch { part, fields, .. },
        } => {
            assert!(path.ends_with("ck.safetensors"), "{path}");
            if part == "training configuration" {
                assert_eq!(fields, "adam.lr: 0.01 → 0.02");
            }
            part
        }
        e => panic!("expected a mismatch, got {e}"),
    };
    // another learning rate
    let objective = ActionMatching::new(AmConfig::entropic(0.3)).unwrap();
    let mut cfg = config(TimeSamplerConfig::QuasiRandom, 3);
    cfg.adam.lr = 2e-2;
    let (e, _) = MlpEngine::new(mlp(1), &objective, cfg.adam, EngineChoice::Fused).unwrap();
    let mut t = Trainer::new(e, objective.clone(), cfg)
        .unwrap()
        .with_run_config(r#"{"test":"resume"}"#);
    assert_eq!(part(&mut t), "training configuration");
    assert_eq!(
        t.step_count(),
        0,
        "a refused checkpoint leaves the trainer as it was"
    );
    // another run description
    let mut t = fresh(EngineChoice::Fused, TimeSamplerConfig::QuasiRandom, 3)
        .with_run_config(r#"{"test":"other"}"#);
    assert_eq!(part(&mut t), "run configuration");
    // another engine, another model
    let mut t = fresh(EngineChoice::Autograd, TimeSamplerConfig::QuasiRandom, 3);
    assert_eq!(part(&mut t), "engine");
    let cfg = config(TimeSamplerConfig::QuasiRandom, 3);
    let wider = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![16, 17],
            ..Default::default()
        },
        &mut SeededRng::new(1),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let (e, _) = MlpEngine::new(wider, &objective, cfg.adam, EngineChoice::Fused).unwrap();
    let mut t = Trainer::new(e, objective, cfg)
        .unwrap()
        .with_run_config(r#"{"test":"resume"}"#);
    assert_eq!(part(&mut t), "model");
    // the step count may change: a longer run continues
    let mut t = fresh(EngineChoice::Fused, TimeSamplerConfig::QuasiRandom, 10);
    t.resume(&file).unwrap();
    assert_eq!(t.step_count(), 3);
    assert_eq!(t.engine().kind(), EngineKind::Fused);
    // a file that is not a trainer checkpoint
    let bad = d.join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let err = t.resume(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    let model = d.join("model.safetensors");
    mlp(3).save(&model).unwrap();
    let err = t.resume(&model).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_dir_all(&d).ok();
}
