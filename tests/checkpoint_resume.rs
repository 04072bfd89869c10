//! A run interrupted by a checkpoint and resumed reaches the same parameters as the same run
//! uninterrupted (same seed), for both training engines; the checkpoint is written atomically and
//! a mismatched configuration is refused.

#[path = "../examples/common/mod.rs"]
mod common;

use action_matching::core::train::AdamConfig;
use action_matching::core::{Checkpoint, DType, Device, Marginals, SeededRng};
use action_matching::models::{Mlp, MlpConfig};
use action_matching::objectives::{
    ActionMatching, AmConfig, PathSample, QuasiRandomTime, TimeSampler,
};
use action_matching::paths::GaussianPath;
use common::trainer::{Engine, Trainer};
use std::collections::BTreeMap;

const CONFIG: &str = r#"{"test":"resume"}"#;

fn fresh(engine: Engine) -> Trainer {
    let model = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![16, 16],
            ..Default::default()
        },
        &mut SeededRng::new(1),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let obj = ActionMatching::new(AmConfig::entropic(0.3)).unwrap();
    let adam = AdamConfig {
        lr: 1e-2,
        ..Default::default()
    };
    // clipping at 0.5 is active in these steps (asserted below), so it is part of what resumes
    Trainer::new(model, obj, adam, engine, Some(0.9))
        .unwrap()
        .0
        .with_clip(0.5)
        .unwrap()
}

fn run(
    t: &mut Trainer,
    rng: &mut SeededRng,
    times: &mut QuasiRandomTime,
    steps: usize,
    path: &dyn Marginals,
) -> f64 {
    let mut largest = 0.0f64;
    for _ in 0..steps {
        let b = PathSample::draw(path, 32, times, rng, DType::F32, &Device::Cpu).unwrap();
        largest = largest.max(t.step(&b, 1e-2, rng).unwrap().grad_norm);
    }
    largest
}

fn params(t: &mut Trainer) -> Vec<f32> {
    let mut out = Vec::new();
    let mut names: Vec<_> = t
        .model()
        .unwrap()
        .named_tensors()
        .unwrap()
        .into_iter()
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, v) in names {
        out.extend(v.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }
    out.extend(
        t.ema_model()
            .unwrap()
            .named_tensors()
            .unwrap()
            .get("layer0.weight")
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
    );
    out
}

#[test]
fn resumed_runs_match_uninterrupted_runs() {
    let path = GaussianPath::moving_and_scaling();
    let dir = std::env::temp_dir().join(format!("am-resume-{}", std::process::id()));
    for engine in [Engine::Fused, Engine::Generic] {
        // uninterrupted: 6 steps
        let mut a = fresh(engine);
        assert_eq!(a.engine(), engine);
        let (mut rng, mut times) = (SeededRng::new(5), QuasiRandomTime::new());
        let largest = run(&mut a, &mut rng, &mut times, 6, &path);
        assert!(largest > 0.5, "clipping must act: largest ‖∇θ‖ {largest}");
        let want = params(&mut a);

        // 3 steps, checkpoint, a new process state, restore, 3 more
        let mut b = fresh(engine);
        let (mut rng, mut times) = (SeededRng::new(5), QuasiRandomTime::new());
        run(&mut b, &mut rng, &mut times, 3, &path);
        let mut extra = BTreeMap::new();
        extra.insert("time.u".to_string(), times.position().unwrap().to_string());
        let file = dir.join(format!("{engine:?}.safetensors"));
        b.checkpoint(&rng, CONFIG, extra)
            .unwrap()
            .save(&file)
            .unwrap();
        assert!(!dir.join(format!("{engine:?}.safetensors.tmp")).exists());
        drop(b);

        let ck = Checkpoint::load(&file, &Device::Cpu).unwrap();
        assert_eq!(ck.step, 3);
        let mut c = fresh(engine);
        assert!(c.restore(&ck, r#"{"other":1}"#).is_err());
        let mut rng = c.restore(&ck, CONFIG).unwrap();
        let mut times = QuasiRandomTime::starting_at(ck.extra["time.u"].parse().unwrap());
        run(&mut c, &mut rng, &mut times, 3, &path);
        assert_eq!(c.step, 6);
        let got = params(&mut c);
        assert_eq!(got, want, "{engine:?}: resumed parameters differ");
        // the sampler continues the same sequence
        let mut t1 = QuasiRandomTime::starting_at(0.25);
        let u = t1.sample(3, &mut SeededRng::new(0)).t;
        let mut t2 = QuasiRandomTime::starting_at(t1.position().unwrap());
        assert_ne!(u, t2.sample(3, &mut SeededRng::new(0)).t);
    }
    // a file that is not a checkpoint is a clear error naming it
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let err = Checkpoint::load(&bad, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
