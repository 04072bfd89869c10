//! Crash safety: a child process writing a checkpoint after every step is SIGKILLed at 30 seeded
//! random moments. After each kill the checkpoint on disk (if one was written yet) loads, and a
//! run resumed from it reaches exactly the parameters of an uninterrupted run.
//!
//! The child is this test binary itself, re-run with `AM_CRASH_DIR` set on the `child` test.

use am_core::{DType, Device, SeededRng};
use am_models::{Mlp, MlpConfig};
use am_objectives::{ActionMatching, AmConfig};
use am_paths::GaussianPath;
use am_train::{EngineChoice, MlpEngine, RunOptions, TrainConfig, Trainer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: u64 = 300;

fn trainer() -> Trainer<MlpEngine> {
    let model = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![8, 8],
            ..Default::default()
        },
        &mut SeededRng::new(3),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let objective = ActionMatching::new(AmConfig::entropic(0.2)).unwrap();
    let config = TrainConfig {
        ema: Some(0.9),
        seed: 11,
        ..TrainConfig::new(STEPS, 16, 5e-3)
    };
    let (engine, _) = MlpEngine::new(model, &objective, config.adam, EngineChoice::Fused).unwrap();
    Trainer::new(engine, objective, config).unwrap()
}

fn params(t: &mut Trainer<MlpEngine>) -> Vec<f64> {
    let mut v = t.checkpoint().unwrap().tensors["params"]
        .to_vec1::<f64>()
        .unwrap();
    v.extend(t.ema_params().unwrap());
    v
}

/// The child's work: resume from the checkpoint if there is one, checkpoint after every step.
#[test]
fn child() {
    let Ok(dir) = std::env::var("AM_CRASH_DIR") else {
        return; // only meaningful as the child of `kills_at_random_points_lose_nothing`
    };
    let path = GaussianPath::moving_and_scaling();
    let options = RunOptions {
        checkpoint: Some(Path::new(&dir).join("ck.safetensors")),
        every: 1,
        resume: true,
    };
    trainer().run(&path, &options, |_| {}).unwrap();
}

#[test]
fn kills_at_random_points_lose_nothing() {
    let started = Instant::now();
    let path = GaussianPath::moving_and_scaling();
    let mut reference = trainer();
    reference
        .run(&path, &RunOptions::default(), |_| {})
        .unwrap();
    let want = params(&mut reference);

    let dir = std::env::temp_dir().join(format!("am-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("ck.safetensors");
    let mut rng = SeededRng::new(2026);
    let (mut loaded, mut torn, mut steps_seen) = (0, 0, Vec::new());
    for kill in 0..30 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--test-threads", "1", "--quiet"])
            .env("AM_CRASH_DIR", &dir)
            // the same thread count as this process: the fused step's row blocks follow it, and
            // with them the summation order of the gradient
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(8 + rng.below(70) as u64));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // a kill during a write leaves its temporary file beside the checkpoint
        let tmp = dir.join("ck.safetensors.tmp");
        if tmp.exists() {
            torn += 1;
            std::fs::remove_file(&tmp).unwrap();
        }
        if !ck.exists() {
            continue; // killed before its first checkpoint
        }
        // the last checkpoint loads, and a run resumed from it ends where the uninterrupted one does
        let mut t = trainer();
        t.resume(&ck)
            .unwrap_or_else(|e| panic!("kill {kill}: the checkpoint does not load: {e}"));
        loaded += 1;
        steps_seen.push(t.step_count());
        t.run(&path, &RunOptions::default(), |_| {}).unwrap();
        let got = params(&mut t);
        let at = steps_seen[steps_seen.len() - 1];
        assert!(
            got == want,
            "kill {kill}: the run resumed from step {at} differs"
        );
        if t.step_count() >= STEPS && steps_seen.last() == Some(&STEPS) {
            std::fs::remove_file(&ck).unwrap(); // the child had finished: start the run again
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    eprintln!(
        "crash: {loaded} of 30 kills left a checkpoint, {torn} interrupted a write (steps {steps_seen:?}); {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        loaded >= 20,
        "most kills must come after a checkpoint: {loaded}"
    );
    assert!(
        steps_seen.iter().any(|&s| s > 0 && s < STEPS),
        "some kills must interrupt the run mid-way: {steps_seen:?}"
    );
}
