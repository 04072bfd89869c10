//! Self-describing model files: `Mlp::load(path)` rebuilds the model from the file alone; old,
//! foreign and damaged files fail with a typed error that says what is missing.

use super::derivatives::{batch, model};
use am_core::candle::{DType, Device, Tensor};
use am_core::{Action, Error as CoreError, ModelFileError, SeededRng};
use am_models::{Activation, Head, Mlp, MlpConfig, TimeEmbedding};
use std::collections::{BTreeMap, HashMap};

fn dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("am-model-file-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn problem(e: am_models::Error) -> (String, ModelFileError) {
    match am_core::Error::from(e) {
        CoreError::ModelFile { path, problem } => (path, problem),
        other => panic!("expected a model-file error, got {other}"),
    }
}

#[test]
fn rebuilds_every_configuration_from_the_file_alone() {
    let d = dir("rebuild");
    for (k, (act, head, emb)) in [
        (Activation::Tanh, Head::Scalar, TimeEmbedding::Raw),
        (
            Activation::Gelu,
            Head::HalfSquaredDistance,
            TimeEmbedding::Sinusoidal { frequencies: 3 },
        ),
        (Activation::Softplus, Head::InnerProduct, TimeEmbedding::Raw),
    ]
    .into_iter()
    .enumerate()
    {
        let a = model(act, head, emb, k as u64);
        let path = d.join(format!("m{k}.safetensors"));
        let mut user = BTreeMap::new();
        user.insert(
            "standardisation".to_string(),
            r#"{"mean":[1.5]}"#.to_string(),
        );
        a.save_with(&path, &user).unwrap();
        let (b, meta) = Mlp::load_with_metadata(&path, &Device::Cpu).unwrap();
        assert_eq!(b.config(), a.config());
        assert_eq!(meta, user);
        let (t, x) = batch(5, 3, 9);
        let (sa, sb) = (a.value(&t, &x).unwrap(), b.value(&t, &x).unwrap());
        assert_eq!(
            sa.to_vec2::<f64>().unwrap(),
            sb.to_vec2::<f64>().unwrap(),
            "{act:?} {head:?}"
        );
        assert_eq!(b.parameters()[0].dtype(), DType::F64);
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn old_foreign_and_damaged_files_say_what_is_missing() {
    let d = dir("errors");
    let a = model(Activation::Tanh, Head::Scalar, TimeEmbedding::Raw, 1);
    // parameters without configuration (what `Mlp::save` wrote before model files)
    let bare = d.join("bare.safetensors");
    am_core::candle::safetensors::save(&a.named_tensors().unwrap(), &bare).unwrap();
    let (path, p) = problem(Mlp::load(&bare, &Device::Cpu).unwrap_err());
    assert!(path.ends_with("bare.safetensors"), "{path}");
    assert_eq!(p, ModelFileError::NoMetadata);
    // but its parameters still load into a model built with the configuration
    let b = model(Activation::Tanh, Head::Scalar, TimeEmbedding::Raw, 2);
    b.load_parameters(&bare).unwrap();
    // a training checkpoint
    let ck = am_core::Checkpoint {
        tensors: HashMap::from([(
            "params".to_string(),
            Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
        )]),
        step: 3,
        rng: SeededRng::new(0).state(),
        config: "{}".into(),
        extra: BTreeMap::new(),
        source: String::new(),
    };
    let ckp = d.join("ck.safetensors");
    ck.save(&ckp).unwrap();
    assert_eq!(
        problem(Mlp::load(&ckp, &Device::Cpu).unwrap_err()).1,
        ModelFileError::Checkpoint
    );
    // not a safetensors file at all
    let junk = d.join("junk.safetensors");
    std::fs::write(&junk, b"hello").unwrap();
    assert!(matches!(
        problem(Mlp::load(&junk, &Device::Cpu).unwrap_err()).1,
        ModelFileError::NotSafetensors(_)
    ));
    // a missing file names the path
    let err = Mlp::load(&d.join("none.safetensors"), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("none.safetensors"), "{err}");
    // a configuration whose tensors do not match
    let good = d.join("good.safetensors");
    a.save(&good).unwrap();
    let mut file = am_core::ModelFile::load(&good, "mlp", &Device::Cpu).unwrap();
    let mut cfg: MlpConfig = serde_json::from_str(&file.config).unwrap();
    cfg.hidden = vec![5, 5];
    file.config = serde_json::to_string(&cfg).unwrap();
    let wrong = d.join("wrong.safetensors");
    file.save(&wrong).unwrap();
    let (_, p) = problem(Mlp::load(&wrong, &Device::Cpu).unwrap_err());
    assert!(
        matches!(&p, ModelFileError::Tensor(r) if r.contains("layer0.weight")),
        "{p}"
    );
    // an invalid configuration, and a newer layout version
    file.config = r#"{"dim":0}"#.into();
    file.save(&wrong).unwrap();
    assert!(matches!(
        problem(Mlp::load(&wrong, &Device::Cpu).unwrap_err()).1,
        ModelFileError::BadConfig(_)
    ));
    let mut meta: HashMap<String, String> =
        am_core::model_file::read_metadata(&std::fs::read(&good).unwrap()).unwrap();
    meta.insert("am.format".into(), "99".into());
    am_core::model_file::write_atomic(&wrong, &a.named_tensors().unwrap(), meta).unwrap();
    assert!(matches!(
        problem(Mlp::load(&wrong, &Device::Cpu).unwrap_err()).1,
        ModelFileError::UnsupportedVersion { .. }
    ));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn the_file_rebuilds_a_float32_model_as_float32() {
    let d = dir("f32");
    let a = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![8],
            ..Default::default()
        },
        &mut SeededRng::new(4),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let path = d.join("m.safetensors");
    a.save(&path).unwrap();
    let b = Mlp::load(&path, &Device::Cpu).unwrap();
    assert_eq!(b.parameters()[0].dtype(), DType::F32);
    std::fs::remove_dir_all(&d).ok();
}
