//! The `am` binary end to end on a small four-time-point data set with uneven spacing: fit,
//! info, simulate, eval (one-step and leave-one-out, from a test file and from a seeded split),
//! ε chosen by `--select-eps`,
//! resume, and exit codes that say what failed.

use am_core::SeededRng;
use am_paths::data::npy::write_npz;
use std::path::{Path, PathBuf};
use std::process::Command;

fn am(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_am"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the am binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn ok(args: &[&str]) -> String {
    let (code, text) = am(args);
    assert_eq!(code, 0, "am {args:?} failed:\n{text}");
    text
}

/// Four time points at t = 0, 1, 3, 7 (uneven), 60 cells each, 3 columns: a blob drifting
/// along a curve and spreading.
fn write_data(path: &Path, seed: u64) {
    let mut rng = SeededRng::new(seed);
    let (mut x, mut t) = (Vec::new(), Vec::new());
    for &time in &[0.0f64, 1.0, 3.0, 7.0] {
        let u = time / 7.0;
        for _ in 0..60 {
            let z = rng.normal_vec(3);
            x.push((2.0 * u + 0.3 * (1.0 + u) * z[0]) as f32);
            x.push(((3.0 * u).sin() + 0.3 * z[1]) as f32);
            x.push((0.5 * z[2]) as f32);
            t.push(time as f32);
        }
    }
    write_npz(path, &[("X", vec![240, 3], &x), ("day", vec![240], &t)]).unwrap();
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("am-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn fit_info_simulate_eval_on_four_uneven_time_points() {
    let d = dir();
    let (train, test) = (d.join("train.npz"), d.join("test.npz"));
    write_data(&train, 1);
    write_data(&test, 2);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = s(&d.join("m.safetensors"));
    let (train_s, test_s) = (s(&train), s(&test));
    let common = ["--t-key", "day", "--hidden", "16,16", "--batch", "32"];
    let mut fit = vec![
        "fit", "--data", &train_s, "--steps", "20", "--eps", "0.2", "--out", &model,
    ];
    fit.extend(common);
    let text = ok(&fit);
    assert!(
        text.contains("4 time points [0.0, 1.0, 3.0, 7.0]"),
        "{text}"
    );
    assert!(text.contains("| 7.0000 | 60 |"), "{text}");

    let info = ok(&["info", &model]);
    for want in [
        "kind `mlp`",
        "preprocessing",
        "\"t_last\": 7.0",
        "dynamics",
        "\"eps\": 0.2",
    ] {
        assert!(info.contains(want), "{want}: {info}");
    }
    let ckpt = s(&d.join("m.ckpt.safetensors"));
    assert!(ok(&["info", &ckpt]).contains("training checkpoint at step 20"));

    // resume to 30 steps: a longer run of the same schedule is refused (the cosine spans the
    // steps), the same run continues
    let longer: Vec<&str> = fit
        .iter()
        .map(|a| if *a == "20" { "30" } else { a })
        .chain(["--resume"])
        .collect();
    let (code, text) = am(&longer);
    assert_eq!(
        code, 6,
        "another schedule is a checkpoint mismatch:\n{text}"
    );
    assert!(
        text.contains("schedule.decay.Cosine.total: 20 → 30"),
        "{text}"
    );

    let traj = s(&d.join("traj.npz"));
    let text = ok(&[
        "simulate", "--model", &model, "--data", &test_s, "--t-key", "day", "--to", "1,3,7",
        "--out", &traj,
    ]);
    assert!(text.contains("pushed 60 cells of t = 0"), "{text}");
    let mut npz = am_paths::data::npy::Npz::open(Path::new(&traj)).unwrap();
    assert_eq!(npz.array("x").unwrap().shape, vec![3, 60, 3]);
    assert_eq!(npz.array("times").unwrap().shape, vec![3]);

    let text = ok(&[
        "eval",
        "--model",
        &model,
        "--data",
        &train_s,
        "--t-key",
        "day",
        "--test",
        &test_s,
        "--repeats",
        "2",
    ]);
    for want in [
        "one-step",
        "→ t1 = 1: W1",
        "→ t3 = 7: W1",
        "| model |",
        "| identity |",
        "| mean shift |",
        "| OT interpolation |",
        "| OT displacement |",
        "mean W1",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // leave-one-out of the interior time point t = 3, from a seeded split of one file
    let loo = s(&d.join("loo.safetensors"));
    let mut fit = vec![
        "fit",
        "--data",
        &train_s,
        "--split",
        "0.25",
        "--steps",
        "20",
        "--leave-out",
        "2",
        "--select-eps",
        "0.05,0.5",
        "--select-repeats",
        "2",
        "--out",
        &loo,
    ];
    fit.extend(common);
    let text = ok(&fit);
    // ε chosen on every transition of held-out training cells, then the leave-one-out fit
    assert!(
        text.contains("| 0.05 |") && text.contains("| 0.5 |"),
        "{text}"
    );
    let chosen = text
        .lines()
        .find_map(|l| l.strip_prefix("chosen: ε = "))
        .expect("a chosen ε");
    assert!(chosen == "0.05" || chosen == "0.5", "{chosen}");
    assert!(ok(&["info", &loo]).contains(&format!("\"eps\": {chosen}")));
    let text = ok(&[
        "eval", "--model", &loo, "--data", &train_s, "--t-key", "day", "--split", "0.25", "--ode",
    ]);
    assert!(
        text.contains("leave-one-out") && text.contains("→ t2 = 3, left out: W1"),
        "{text}"
    );
    assert!(text.contains("test [15, 15, 15, 15]"), "{text}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn exit_codes_say_what_failed() {
    let d = dir().join("codes");
    std::fs::create_dir_all(&d).unwrap();
    assert!(ok(&["--version"]).contains(env!("CARGO_PKG_VERSION")));
    assert!(ok(&["fit", "--help"]).contains("--leave-out"));
    let (code, _) = am(&["fit", "--no-such-option"]);
    assert_eq!(code, 2);
    let missing = d.join("none.npz");
    let (code, text) = am(&[
        "fit",
        "--data",
        missing.to_str().unwrap(),
        "--out",
        "x.safetensors",
    ]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("none.npz"), "{text}");
    let junk = d.join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    let (code, text) = am(&["info", junk.to_str().unwrap()]);
    assert_eq!(code, 4, "{text}");
    let data = d.join("data.npz");
    write_data(&data, 3);
    let (code, text) = am(&[
        "simulate",
        "--model",
        junk.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--t-key",
        "day",
        "--out",
        "y.npz",
    ]);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("junk.safetensors"), "{text}");
    let (code, text) = am(&[
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--t-key",
        "day",
        "--eps=-1",
        "--out",
        "z.safetensors",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("eps"), "{text}");
    std::fs::remove_dir_all(&d).ok();
}
