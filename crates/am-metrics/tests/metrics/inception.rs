//! The FID Inception network against the TorchScript file run under CPU PyTorch
//! (`fixtures/inception/make_reference.py`). Needs the converted weights
//! (`cargo xtask fetch-inception`); skips with a message where they are absent.

use am_core::candle::{DType, Device, Tensor};
use am_metrics::inception::{
    convert_torchscript, default_weights_path, verify_sha256, WeightsProblem, WEIGHTS_SHA256,
};
use am_metrics::{fid_from_features, Error, FeatureExtractor, InceptionV3};
use std::collections::HashMap;

fn fixture() -> HashMap<String, Tensor> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/metrics/fixtures/inception/reference.safetensors"
    );
    am_core::candle::safetensors::load(path, &Device::Cpu).unwrap()
}

fn reference_fid() -> f64 {
    let text = include_str!("fixtures/inception/reference.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["fid_exact"].as_f64().unwrap()
}

/// u8 images → [−1, 1], the project's image convention.
fn images(u8: &Tensor) -> Tensor {
    ((u8.to_dtype(DType::F32).unwrap() / 127.5).unwrap() - 1.0).unwrap()
}

fn network() -> Option<InceptionV3> {
    let path = default_weights_path();
    if !path.is_file() {
        eprintln!(
            "SKIPPED: no Inception weights at {} (run `cargo xtask fetch-inception`)",
            path.display()
        );
        return None;
    }
    verify_sha256(&path, WEIGHTS_SHA256).unwrap();
    Some(InceptionV3::load(&path, &Device::Cpu).unwrap())
}

/// max |a − b| / max |b| over all entries, and the worst per-row ‖a − b‖/‖b‖.
fn errors(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let a: Vec<Vec<f32>> = a.to_vec2().unwrap();
    let b: Vec<Vec<f32>> = b.to_vec2().unwrap();
    let scale = b.iter().flatten().fold(0f64, |m, v| m.max(v.abs() as f64));
    let (mut worst, mut row_worst) = (0f64, 0f64);
    for (ra, rb) in a.iter().zip(&b) {
        let (mut d2, mut n2) = (0f64, 0f64);
        for (x, y) in ra.iter().zip(rb) {
            let d = (*x as f64 - *y as f64).abs();
            worst = worst.max(d);
            d2 += d * d;
            n2 += (*y as f64).powi(2);
        }
        row_worst = row_worst.max((d2 / n2).sqrt());
    }
    (worst / scale, row_worst)
}

#[test]
fn inception_features_and_fid_equal_the_torchscript_reference() {
    let Some(net) = network() else { return };
    let f = fixture();
    assert_eq!(net.width(), 2048);
    let mut computed = HashMap::new();
    for (set, feats) in [
        ("images_a", "features_a"),
        ("images_b", "features_b"),
        ("digits", "features_digits"),
    ] {
        let ours = net.features(&images(&f[set])).unwrap();
        let (max_rel, row_rel) = errors(&ours, &f[feats]);
        eprintln!("{set}: max |Δ|/max|ref| = {max_rel:.2e}, worst row ‖Δ‖/‖ref‖ = {row_rel:.2e}");
        assert!(
            max_rel <= 1e-4 && row_rel <= 1e-4,
            "{set}: {max_rel:e} {row_rel:e}"
        );
        computed.insert(set, ours);
    }
    let ours = fid_from_features(&computed["images_a"], &computed["images_b"]).unwrap();
    let want = reference_fid();
    eprintln!("FID ours {ours:.6} vs reference {want:.6}");
    assert!((ours - want).abs() / want < 1e-4, "FID {ours} vs {want}");
}

#[test]
fn fid_of_the_reference_features_equals_the_reference_computation() {
    let f = fixture();
    let fid = fid_from_features(&f["features_a"], &f["features_b"]).unwrap();
    let want = reference_fid();
    // both are exact in f64 up to the ordering of sums over 2048 near-zero eigenvalues
    assert!((fid - want).abs() / want < 1e-6, "{fid} vs {want}");
}

#[test]
fn bad_weight_files_are_named_errors() {
    let dir = std::env::temp_dir().join(format!("am-inception-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("absent.safetensors");
    match InceptionV3::load(&missing, &Device::Cpu) {
        Err(Error::InceptionWeights { path, problem }) => {
            assert!(path.ends_with("absent.safetensors"));
            assert_eq!(problem, WeightsProblem::Missing);
        }
        other => panic!("{other:?}"),
    }
    let junk = dir.join("junk.pt");
    std::fs::write(&junk, b"not a zip").unwrap();
    match convert_torchscript(&junk, &dir.join("out.safetensors")) {
        Err(Error::InceptionWeights {
            problem: WeightsProblem::Format(reason),
            ..
        }) => assert!(reason.contains("zip"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // a safetensors file without the network's tensors
    let other = dir.join("other.safetensors");
    let t = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
    am_core::candle::safetensors::save(&HashMap::from([("x".to_string(), t)]), &other).unwrap();
    match InceptionV3::load(&other, &Device::Cpu) {
        Err(Error::InceptionWeights {
            problem: WeightsProblem::Format(reason),
            ..
        }) => assert!(reason.contains("conv.weight"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match verify_sha256(&junk, WEIGHTS_SHA256) {
        Err(Error::InceptionWeights {
            problem: WeightsProblem::Checksum { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}
