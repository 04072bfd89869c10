//! The trainer's logic on a scripted engine (exact), and the two real engines against each other.

use super::mock::Scripted;
use super::resume::{fresh, state};
use am_core::train::Clip;
use am_objectives::{ActionMatching, AmConfig};
use am_paths::GaussianPath;
use am_train::{
    CheckpointProblem, Decay, EngineChoice, Error, RunOptions, Schedule, TimeSamplerConfig,
    TrainConfig, TrainEvent, Trainer, WatchConfig,
};

fn objective() -> ActionMatching {
    ActionMatching::new(AmConfig::default()).unwrap()
}

#[test]
fn schedule_ema_and_clip_reach_the_engine_exactly() {
    let path = GaussianPath::moving_and_scaling();
    let config = TrainConfig {
        schedule: Schedule {
            warmup: 2,
            decay: Decay::Cosine {
                total: 4,
                floor: 0.5,
            },
        },
        ema: Some(0.5),
        clip: Clip::Value(1.0),
        watch: None,
        ..TrainConfig::new(5, 4, 0.1)
    };
    let mut t = Trainer::new(Scripted::new(vec![(1.0, 1.0); 5]), objective(), config).unwrap();
    t.run(&path, &RunOptions::default(), |_| {}).unwrap();
    let e = t.engine();
    // warm-up 0.05, 0.1; cosine from 0.1 to 0.05 over steps 3–4; then the floor
    let want = [0.05, 0.1, 0.075, 0.05, 0.05];
    for (got, want) in e.lrs.iter().zip(want) {
        assert!((got - want).abs() < 1e-15, "{:?}", e.lrs);
    }
    assert!(e.clips.iter().all(|c| *c == Clip::Value(1.0)));
    // EMA: θ̄ ← ½θ̄ + ½θ after each step, from θ₀
    let mut theta = 1.0;
    let mut bar = 1.0;
    for lr in want {
        theta -= lr;
        bar = 0.5 * bar + 0.5 * theta;
    }
    let got = t.ema_params().unwrap()[0];
    assert!((got - bar).abs() < 1e-15, "EMA {got} against {bar}");
    assert_eq!(t.ema_model().unwrap()[0], got);
}

#[test]
fn the_watch_raises_one_typed_event_and_non_finite_steps_name_the_last_checkpoint() {
    let path = GaussianPath::moving_and_scaling();
    let mut script = vec![(-1.0, 2.0); 3];
    script.push((-50.0, 2.0)); // −loss over 10× the baseline
    script.push((-60.0, 30.0));
    script.push((f64::NAN, 1.0));
    let config = TrainConfig {
        watch: Some(WatchConfig {
            baseline: 3,
            factor: 10.0,
        }),
        ..TrainConfig::new(6, 4, 0.1)
    };
    let d = std::env::temp_dir().join(format!("am-train-watch-{}", std::process::id()));
    let file = d.join("ck.safetensors");
    let mut t = Trainer::new(Scripted::new(script), objective(), config).unwrap();
    let mut events = Vec::new();
    let options = RunOptions {
        checkpoint: Some(file.clone()),
        every: 2,
        resume: false,
    };
    let err = t
        .run(&path, &options, |r| events.extend(r.events.clone()))
        .unwrap_err();
    let diverging: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Diverging { .. }))
        .collect();
    assert_eq!(diverging.len(), 1, "{events:?}");
    assert!(matches!(
        diverging[0],
        TrainEvent::Diverging { step: 4, .. }
    ));
    assert!(diverging[0].to_string().contains("running off to −∞"));
    match err {
        Error::NonFinite {
            step, checkpoint, ..
        } => {
            assert_eq!(step, 6);
            assert_eq!(checkpoint.as_deref(), Some(file.to_str().unwrap()));
        }
        e => panic!("expected NonFinite, got {e}"),
    }
    // the parameters of step 5 are kept, and the checkpoint of step 4 loads
    assert_eq!(t.step_count(), 5);
    let mut again = Trainer::new(Scripted::new(vec![]), objective(), t.config().clone()).unwrap();
    again.resume(&file).unwrap();
    assert_eq!(again.step_count(), 4);
    // a checkpoint without the schema (the examples' old format) is refused as such
    let mut ck = t.checkpoint().unwrap();
    ck.extra.remove("schema");
    ck.save(&file).unwrap();
    match again.resume(&file).unwrap_err() {
        Error::Checkpoint {
            problem: CheckpointProblem::Schema { found, .. },
            ..
        } => assert_eq!(found, "none"),
        e => panic!("{e}"),
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn invalid_configurations_name_the_field() {
    let bad = [
        (TrainConfig::new(5, 0, 0.1), "batch"),
        (
            TrainConfig {
                ema: Some(1.0),
                ..TrainConfig::new(5, 4, 0.1)
            },
            "ema",
        ),
        (
            TrainConfig {
                clip: Clip::GlobalNorm(-1.0),
                ..TrainConfig::new(5, 4, 0.1)
            },
            "clip",
        ),
        (TrainConfig::new(5, 4, -0.1), "lr"),
        (
            TrainConfig {
                time: TimeSamplerConfig::Adaptive {
                    grid: 1,
                    kappa: 1.0,
                    beta: 0.5,
                    alpha: 0.1,
                },
                ..TrainConfig::new(5, 4, 0.1)
            },
            "grid",
        ),
    ];
    for (config, field) in bad {
        let err = Trainer::new(Scripted::new(vec![]), objective(), config)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
}

#[test]
fn fused_and_autograd_engines_train_alike() {
    let path = GaussianPath::moving_and_scaling();
    let mut a = fresh(EngineChoice::Fused, TimeSamplerConfig::adaptive(), 5);
    let mut b = fresh(EngineChoice::Autograd, TimeSamplerConfig::adaptive(), 5);
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    a.run(&path, &RunOptions::default(), |r| la.push(r.loss))
        .unwrap();
    b.run(&path, &RunOptions::default(), |r| lb.push(r.loss))
        .unwrap();
    // f32 in both: the same batches and probes, losses equal to rounding
    for (x, y) in la.iter().zip(&lb) {
        assert!((x - y).abs() < 1e-3 * (1.0 + x.abs()), "{la:?} vs {lb:?}");
    }
    let (pa, _, _) = state(&mut a);
    let (pb, _, _) = state(&mut b);
    let diff = pa
        .iter()
        .zip(&pb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-4, "parameters differ by {diff}");
}
