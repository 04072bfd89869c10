//! The trainer's checkpoint schema, `am-train/1`: one safetensors file (`am_core::Checkpoint`,
//! written atomically) holding
//!
//! | entry | what |
//! |---|---|
//! | tensor `params` | the flat parameters (f64; the engine's order) |
//! | tensors `adam.m`, `adam.v` | Adam's moments (f64, same order) |
//! | tensor `ema` | the EMA of the parameters, when kept |
//! | step, RNG state | the header's `am.step`, `am.rng` |
//! | `schema` | `am-train/1` |
//! | `train`, `model`, `engine`, `run` | the configuration in four parts, compared on resume |
//! | `adam.step`, `sampler`, `watch` | Adam's step count, the time sampler's and the watch's state |
//! | `ranks` | the number of processes of the run (a resume needs the same; absent: 1) |
//!
//! Everything is parsed and checked before the trainer is touched, so a refused checkpoint
//! leaves a run as it was.

use crate::engine::{Engine, OptimizerState};
use crate::error::CheckpointProblem;
use crate::sampler::SamplerState;
use crate::watch::Watch;
use crate::{Error, Result, Trainer};
use am_core::{Checkpoint, DType, Device, SeededRng, Tensor};
use std::collections::{BTreeMap, HashMap};

/// The schema this build writes and reads.
pub const SCHEMA: &str = "am-train/1";

fn vector(v: &[f64]) -> Result<Tensor> {
    Ok(Tensor::from_slice(v, v.len(), &Device::Cpu)?)
}

pub(crate) fn write<E: Engine>(t: &mut Trainer<E>) -> Result<Checkpoint> {
    let mut params = Vec::new();
    t.engine.params_into(&mut params)?;
    let opt = t.engine.optimizer()?;
    let mut tensors = HashMap::new();
    tensors.insert("params".to_string(), vector(&params)?);
    tensors.insert("adam.m".to_string(), vector(&opt.m)?);
    tensors.insert("adam.v".to_string(), vector(&opt.v)?);
    if let Some(e) = &t.ema {
        tensors.insert("ema".to_string(), vector(e)?);
    }
    let mut extra = BTreeMap::new();
    extra.insert("schema".into(), SCHEMA.to_string());
    extra.insert("train".into(), t.config.identity());
    extra.insert("model".into(), t.engine.describe());
    extra.insert("engine".into(), crate::json(&t.engine.kind()));
    extra.insert("run".into(), t.run.clone());
    extra.insert("adam.step".into(), opt.step.to_string());
    extra.insert("sampler".into(), crate::json(&t.sampler.state()));
    extra.insert("watch".into(), crate::json(&t.watch));
    extra.insert("ranks".into(), t.collective.size().to_string());
    Ok(Checkpoint {
        tensors,
        step: t.step,
        rng: t.rng.state(),
        config: t.run.clone(),
        extra,
        source: String::new(),
    })
}

pub(crate) fn read<E: Engine>(t: &mut Trainer<E>, ck: &Checkpoint) -> Result<()> {
    let path = ck.source.as_str();
    let corrupt = |what: String| Error::checkpoint(path, CheckpointProblem::Corrupt(what));
    let entry = |key: &str| {
        ck.extra
            .get(key)
            .ok_or_else(|| corrupt(format!("the header lacks `{key}`")))
    };
    let schema = ck.extra.get("schema").map(String::as_str).unwrap_or("none");
    if schema != SCHEMA {
        return Err(Error::checkpoint(
            path,
            CheckpointProblem::Schema {
                found: schema.to_string(),
                expected: SCHEMA,
            },
        ));
    }
    // written by one process when absent (before data-parallel training existed)
    let saved_ranks: usize = match ck.extra.get("ranks") {
        Some(r) => r.parse().map_err(|e| corrupt(format!("`ranks`: {e}")))?,
        None => 1,
    };
    if saved_ranks != t.collective.size() {
        return Err(Error::checkpoint(
            path,
            CheckpointProblem::Ranks {
                saved: saved_ranks,
                now: t.collective.size(),
            },
        ));
    }
    let engine_kind = serde_json::to_string(&t.engine.kind()).unwrap_or_default();
    for (part, key, ours) in [
        ("training configuration", "train", t.config.identity()),
        ("model", "model", t.engine.describe()),
        ("engine", "engine", engine_kind),
        ("run configuration", "run", t.run.clone()),
    ] {
        let theirs = entry(key)?;
        if !same_json(theirs, &ours) {
            return Err(Error::checkpoint(
                path,
                CheckpointProblem::Mismatch {
                    part,
                    fields: differences(theirs, &ours),
                    checkpoint: theirs.clone(),
                    run: ours,
                },
            ));
        }
    }
    let host = |name: &str, len: Option<usize>| -> Result<Vec<f64>> {
        let tensor = ck
            .tensors
            .get(name)
            .ok_or_else(|| corrupt(format!("no tensor `{name}`")))?;
        if tensor.rank() != 1 || len.is_some_and(|n| tensor.dim(0).ok() != Some(n)) {
            return Err(corrupt(format!(
                "tensor `{name}` has shape {:?}, expected ({},)",
                tensor.dims(),
                len.map(|n| n.to_string()).unwrap_or("n".into())
            )));
        }
        let v = tensor.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        if let Some(bad) = v.iter().position(|x| !x.is_finite()) {
            return Err(corrupt(format!(
                "tensor `{name}` holds {} at {bad}",
                v[bad]
            )));
        }
        Ok(v)
    };
    let params = host("params", None)?;
    let n = Some(params.len());
    let opt = OptimizerState {
        m: host("adam.m", n)?,
        v: host("adam.v", n)?,
        step: entry("adam.step")?
            .parse()
            .map_err(|e| corrupt(format!("`adam.step`: {e}")))?,
    };
    let ema = match t.config.ema {
        Some(_) => Some(host("ema", n)?),
        None => None,
    };
    let sampler_state: SamplerState =
        serde_json::from_str(entry("sampler")?).map_err(|e| corrupt(format!("`sampler`: {e}")))?;
    let watch: Watch =
        serde_json::from_str(entry("watch")?).map_err(|e| corrupt(format!("`watch`: {e}")))?;
    let mut sampler = t.sampler.clone();
    sampler
        .restore(&sampler_state)
        .map_err(|e| corrupt(format!("`sampler`: {e}")))?;
    // the engine checks the lengths against the model; restore its old state if it refuses
    let mut old = Vec::new();
    t.engine.params_into(&mut old)?;
    t.engine
        .set_params(&params)
        .map_err(|e| corrupt(format!("`params`: {e}")))?;
    if let Err(e) = t.engine.restore_optimizer(opt) {
        t.engine.set_params(&old)?;
        return Err(corrupt(format!("Adam's moments: {e}")));
    }
    t.ema = ema;
    t.sampler = sampler;
    t.watch = watch;
    t.rng = SeededRng::from_state(ck.rng);
    t.step = ck.step;
    Ok(())
}

/// Equal as JSON values (so that key order and spacing do not matter), or equal as text.
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The leaf fields in which two JSON texts differ, as `a.b: old → new` (the whole texts when
/// they are not JSON).
fn differences(a: &str, b: &str) -> String {
    use serde_json::Value;
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(format!(
                "{}: {a} → {b}",
                if path.is_empty() { "value" } else { path }
            )),
            _ => {}
        }
    }
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) => {
            let mut out = Vec::new();
            walk("", &x, &y, &mut out);
            out.join(", ")
        }
        _ => format!("{a} → {b}"),
    }
}
