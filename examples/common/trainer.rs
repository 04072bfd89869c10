//! The training loop's state, shared by the examples: an MLP action trained with Action Matching
//! through the fused host step (`--engine fused`, the default where it applies: scalar or ½‖x − h‖² head,
//! quadratic cost, CPU) or the generic candle path (`--engine generic`), with Adam, an optional
//! EMA of the parameters, divergence checks and checkpoints that resume bit-for-bit.

use action_matching::core::train::{clip_grad_norm, grad_norm, Adam, AdamConfig};
use action_matching::core::{Checkpoint, DType, Device, Error as CoreError, SeededRng, Tensor};
use action_matching::models::{FusedAdam, FusedMlp, Mlp};
use action_matching::objectives::{ActionMatching, PathSample};
use std::collections::BTreeMap;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Which implementation of the training step to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Hand-derived ∇θ on host slices (`am_models::fused`).
    Fused,
    /// candle tensors and autograd (any head, cost, device).
    Generic,
}

impl Engine {
    /// Parses `fused` or `generic`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "fused" => Ok(Engine::Fused),
            "generic" => Ok(Engine::Generic),
            other => Err(format!(
                "--engine: `{other}` is neither `fused` nor `generic`"
            )),
        }
    }
}

enum Inner {
    Fused {
        net: FusedMlp<f32>,
        adam: FusedAdam<f32>,
    },
    Generic {
        adam: Adam,
    },
}

/// What one step reports.
pub struct StepInfo {
    /// The minibatch objective.
    pub loss: f64,
    /// ‖∇θ‖₂ of that objective.
    pub grad_norm: f64,
}

/// An MLP, its objective, optimiser and EMA; see the module docs.
pub struct Trainer {
    model: Mlp,
    objective: ActionMatching,
    inner: Inner,
    /// EMA of the flat parameters (the order of `Mlp::parameters`).
    ema: Option<(f64, Vec<f32>)>,
    /// Steps taken.
    pub step: u64,
    /// Whether `model` lags behind the fused parameters.
    stale: bool,
    /// (‖∇θ‖, |loss|) of the first 100 steps this trainer took: the divergence watch's baseline.
    baseline: Vec<(f64, f64)>,
    /// Whether the divergence warning was given.
    warned: bool,
    /// Global-norm gradient clipping (the reference runs use 1).
    clip: Option<f64>,
}

fn flat(model: &Mlp) -> Res<Vec<f32>> {
    let mut out = Vec::new();
    for v in action_matching::core::Action::parameters(model) {
        out.extend(v.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?);
    }
    Ok(out)
}

fn set_flat(model: &Mlp, values: &[f32]) -> Res<()> {
    let mut at = 0;
    for v in action_matching::core::Action::parameters(model) {
        let n = v.elem_count();
        let t =
            Tensor::from_slice(&values[at..at + n], v.dims(), v.device())?.to_dtype(v.dtype())?;
        v.set(&t)?;
        at += n;
    }
    Ok(())
}

impl Trainer {
    /// A trainer for `model`; with `Engine::Fused` on a model or objective the fused step cannot
    /// take, it falls back to the generic path and says why in the returned note.
    pub fn new(
        model: Mlp,
        objective: ActionMatching,
        adam: AdamConfig,
        engine: Engine,
        ema_decay: Option<f64>,
    ) -> Res<(Self, Option<String>)> {
        let mut note = None;
        let fused = if objective.has_convex_cost() {
            Err("the objective has a convex cost other than ½‖·‖²".to_string())
        } else {
            FusedMlp::<f32>::from_mlp(&model).map_err(|e| e.to_string())
        };
        let inner = match engine {
            Engine::Fused => match fused {
                Ok(net) => {
                    let adam = FusedAdam::new(net.params().len(), adam)?;
                    Inner::Fused { net, adam }
                }
                Err(e) => {
                    note = Some(format!(
                        "fused engine unavailable ({e}); using the generic one"
                    ));
                    Inner::Generic {
                        adam: Adam::new(action_matching::core::Action::parameters(&model), adam)?,
                    }
                }
            },
            Engine::Generic => Inner::Generic {
                adam: Adam::new(action_matching::core::Action::parameters(&model), adam)?,
            },
        };
        let ema = match ema_decay {
            Some(d) if (0.0..1.0).contains(&d) => Some((d, flat(&model)?)),
            Some(d) => return Err(format!("--ema: {d} is outside [0, 1)").into()),
            None => None,
        };
        Ok((
            Self {
                model,
                objective,
                inner,
                ema,
                step: 0,
                stale: false,
                baseline: Vec::new(),
                warned: false,
                clip: None,
            },
            note,
        ))
    }

    /// Clips the gradient to global norm `max_norm` before each update.
    pub fn with_clip(mut self, max_norm: f64) -> Res<Self> {
        if !(max_norm > 0.0 && max_norm.is_finite()) {
            return Err(format!("--clip must be > 0, got {max_norm}").into());
        }
        self.clip = Some(max_norm);
        Ok(self)
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Fused { .. } => Engine::Fused,
            Inner::Generic { .. } => Engine::Generic,
        }
    }

    /// One optimisation step on `batch` with learning rate `lr`; `rng` draws Hutchinson probes.
    /// A non-finite loss or gradient is an error, and the parameters are left as they were.
    pub fn step(&mut self, batch: &PathSample, lr: f64, rng: &mut SeededRng) -> Res<StepInfo> {
        let info = match &mut self.inner {
            Inner::Fused { net, adam } => {
                let terms = self.objective.terms(self.model.config().dim, batch, rng)?;
                // a non-finite loss or gradient is refused before the update
                let out = match self.clip {
                    Some(c) => net.train_step_clipped(&terms, adam, lr, c),
                    None => net.train_step(&terms, adam, lr),
                }
                .map_err(|e| match e {
                    CoreError::NonFinite { .. } => non_finite(self.step + 1, &e.to_string()),
                    e => e.to_string(),
                })?;
                let g = out.grad_norm;
                self.stale = true;
                StepInfo {
                    loss: out.loss,
                    grad_norm: g,
                }
            }
            Inner::Generic { adam } => {
                let out = self.objective.loss(&self.model, batch, rng)?;
                let loss = out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                let mut grads = out.loss.backward()?;
                let g = grad_norm(&grads, adam.vars())?;
                if !loss.is_finite() || !g.is_finite() {
                    let what = format!("the loss is {loss} and ‖∇θ‖ = {g}");
                    return Err(non_finite(self.step + 1, &what).into());
                }
                if let Some(c) = self.clip {
                    let vars = adam.vars().to_vec();
                    clip_grad_norm(&mut grads, &vars, c)?;
                }
                adam.step(&grads, lr)?;
                StepInfo { loss, grad_norm: g }
            }
        };
        self.step += 1;
        if let Some((decay, shadow)) = &mut self.ema {
            let current: Vec<f32> = match &self.inner {
                Inner::Fused { net, .. } => net.params().to_vec(),
                Inner::Generic { .. } => flat(&self.model)?,
            };
            let (a, b) = (*decay as f32, 1.0 - *decay as f32);
            for (s, c) in shadow.iter_mut().zip(current) {
                *s = a * *s + b * c;
            }
        }
        Ok(info)
    }

    /// The divergence watch: ‖∇θ‖ or −loss over 100× their largest values in the first 100 steps
    /// this trainer took means the objective is running off to −∞ (e.g. a path between snapshots
    /// that barely overlap): the loss still "improves" while the model degrades. Returns the
    /// warning once.
    pub fn watch(&mut self, info: &StepInfo, step: u64) -> Option<String> {
        if self.baseline.len() < 100 {
            self.baseline.push((info.grad_norm, info.loss.abs()));
            return None;
        }
        if self.warned {
            return None;
        }
        let g_max = self.baseline.iter().map(|e| e.0).fold(0.0, f64::max);
        let l_max = self.baseline.iter().map(|e| e.1).fold(0.0, f64::max);
        if info.grad_norm > 100.0 * g_max || (info.loss < 0.0 && -info.loss > 100.0 * l_max) {
            self.warned = true;
            return Some(format!(
                "WARNING at step {step}: loss {:+.3e}, ‖∇θ‖ = {:.2e} (largest over the first 100 \
                 steps: |loss| {l_max:.2e}, ‖∇θ‖ {g_max:.2e}). The objective is running off to −∞: \
                 training is diverging although the loss keeps falling. The path between the data's \
                 time points probably has unbounded kinetic energy (neighbouring snapshots that \
                 barely overlap): use the OT-paired path, smooth the data, or stop early by the \
                 held-out loss.",
                info.loss, info.grad_norm
            ));
        }
        None
    }

    /// The AM objective of `batch` under the current parameters, without a step: on held-out
    /// samples it is the action gap minus a constant of the data, so it ranks models (Sec. 2.2).
    pub fn held_out_loss(&mut self, batch: &PathSample, rng: &mut SeededRng) -> Res<f64> {
        self.model()?;
        let out = self.objective.loss(&self.model, batch, rng)?;
        Ok(out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?)
    }

    /// The current model (the fused parameters are written back first).
    pub fn model(&mut self) -> Res<&Mlp> {
        if self.stale {
            if let Inner::Fused { net, .. } = &self.inner {
                net.write_into(&self.model)?;
            }
            self.stale = false;
        }
        Ok(&self.model)
    }

    /// A copy of the model with the EMA parameters (the model itself without an EMA).
    pub fn ema_model(&mut self) -> Res<Mlp> {
        let model = self.model()?;
        let copy = Mlp::new(
            model.config().clone(),
            &mut SeededRng::new(0),
            DType::F32,
            &Device::Cpu,
        )?;
        copy.load_named_tensors(&model.named_tensors()?)?;
        if let Some((_, shadow)) = &self.ema {
            set_flat(&copy, shadow)?;
        }
        Ok(copy)
    }

    /// The whole state: parameters, Adam moments and step, EMA, the RNG, the configuration and
    /// `extra` values (e.g. a time sampler's position).
    pub fn checkpoint(
        &mut self,
        rng: &SeededRng,
        config: &str,
        mut extra: BTreeMap<String, String>,
    ) -> Res<Checkpoint> {
        let mut tensors: std::collections::HashMap<String, Tensor> = self
            .model()?
            .named_tensors()?
            .into_iter()
            .map(|(k, v)| (format!("model.{k}"), v))
            .collect();
        let (m, v, adam_step) = match &self.inner {
            Inner::Fused { adam, .. } => {
                let (m, v) = adam.moments();
                (m.to_vec(), v.to_vec(), adam.step_count())
            }
            Inner::Generic { adam } => {
                let (m, v) = adam.moments();
                (concat(m)?, concat(v)?, adam.step_count())
            }
        };
        let vec = |v: Vec<f32>| Tensor::from_vec(v.clone(), v.len(), &Device::Cpu);
        tensors.insert("adam.m".into(), vec(m)?);
        tensors.insert("adam.v".into(), vec(v)?);
        extra.insert("adam.step".into(), adam_step.to_string());
        if let Some((decay, shadow)) = &self.ema {
            tensors.insert("ema".into(), vec(shadow.clone())?);
            extra.insert("ema.decay".into(), decay.to_string());
        }
        Ok(Checkpoint {
            tensors,
            step: self.step,
            rng: rng.state(),
            config: config.to_string(),
            extra,
        })
    }

    /// Restores a state written by [`Trainer::checkpoint`] for the same configuration (checked);
    /// returns the RNG to continue with.
    pub fn restore(&mut self, ck: &Checkpoint, config: &str) -> Res<SeededRng> {
        if ck.config != config {
            return Err(format!(
                "the checkpoint was written by another configuration:\n  checkpoint: {}\n  this run:   {config}",
                ck.config
            )
            .into());
        }
        let params: std::collections::HashMap<String, Tensor> = ck
            .tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("model.").map(|n| (n.to_string(), v.clone())))
            .collect();
        self.model.load_named_tensors(&params)?;
        let host = |name: &str| -> Res<Vec<f32>> {
            Ok(ck.tensor(name)?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
        };
        let (m, v) = (host("adam.m")?, host("adam.v")?);
        let adam_step: u64 = ck
            .extra
            .get("adam.step")
            .ok_or("checkpoint lacks adam.step")?
            .parse()?;
        match &mut self.inner {
            Inner::Fused { net, adam } => {
                net.read_from(&self.model)?;
                adam.restore(m, v, adam_step)?;
            }
            Inner::Generic { adam } => {
                let (mut ms, mut vs, mut at) = (Vec::new(), Vec::new(), 0);
                for var in adam.vars() {
                    let n = var.elem_count();
                    let shape = var.dims().to_vec();
                    ms.push(
                        Tensor::from_slice(&m[at..at + n], shape.as_slice(), var.device())?
                            .to_dtype(var.dtype())?,
                    );
                    vs.push(
                        Tensor::from_slice(&v[at..at + n], shape.as_slice(), var.device())?
                            .to_dtype(var.dtype())?,
                    );
                    at += n;
                }
                adam.restore(ms, vs, adam_step)?;
            }
        }
        if let Some((_, shadow)) = &mut self.ema {
            *shadow = host("ema")?;
        }
        self.step = ck.step;
        self.stale = false;
        Ok(SeededRng::from_state(ck.rng))
    }
}

fn concat(ts: &[Tensor]) -> Res<Vec<f32>> {
    let mut out = Vec::new();
    for t in ts {
        out.extend(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?);
    }
    Ok(out)
}

fn non_finite(step: u64, what: &str) -> String {
    format!(
        "step {step}: {what}: training diverged; the parameters of step {} are kept",
        step - 1
    )
}

/// The settings of [`train`].
pub struct LoopSettings<'a> {
    /// Total steps (a resumed run continues up to this count).
    pub steps: u64,
    /// The learning-rate schedule.
    pub schedule: action_matching::core::train::Warmup,
    /// Where checkpoints go (`None`: no checkpoints).
    pub checkpoint: Option<&'a std::path::Path>,
    /// Steps between checkpoints.
    pub every: u64,
    /// Continue from `checkpoint` if it exists.
    pub resume: bool,
    /// The run's configuration as JSON: stored in checkpoints and compared on resume.
    pub config: String,
    /// A label for the progress bar.
    pub label: &'a str,
}

/// What [`train`] reports.
pub struct LoopReport {
    /// Seconds spent in this call.
    pub seconds: f64,
    /// Steps taken in this call.
    pub steps: u64,
    /// The last minibatch loss.
    pub last_loss: f64,
}

/// The training loop: draws a batch of `batch` samples per term from `marginals` (f32, CPU), steps, shows loss, ‖∇θ‖ and speed on a progress
/// bar, writes a checkpoint every `every` steps and at the end (atomically), resumes from one
/// if asked. A non-finite loss or gradient stops the run with a plain message; the last good
/// checkpoint stays on disk.
pub fn train(
    t: &mut Trainer,
    rng: &mut SeededRng,
    times: &mut action_matching::objectives::QuasiRandomTime,
    marginals: &dyn action_matching::core::Marginals,
    batch: usize,
    s: &LoopSettings<'_>,
) -> Res<LoopReport> {
    if s.resume {
        if let Some(path) = s.checkpoint.filter(|p| p.exists()) {
            let ck = Checkpoint::load(path, &Device::Cpu)?;
            *rng = t.restore(&ck, &s.config)?;
            if let Some(u) = ck.extra.get("time.u") {
                *times = action_matching::objectives::QuasiRandomTime::starting_at(u.parse()?);
            }
            println!(
                "{}: resumed from {} at step {}",
                s.label,
                path.display(),
                ck.step
            );
        }
    }
    let start_step = t.step;
    let pb = super::progress(s.steps);
    pb.set_position(t.step);
    pb.set_prefix(s.label.to_string());
    let started = std::time::Instant::now();
    let mut last = f64::NAN;
    let save = |t: &mut Trainer,
                rng: &SeededRng,
                times: &action_matching::objectives::QuasiRandomTime|
     -> Res<()> {
        if let Some(path) = s.checkpoint {
            let mut extra = BTreeMap::new();
            if let Some(u) = times.position() {
                extra.insert("time.u".to_string(), u.to_string());
            }
            t.checkpoint(rng, &s.config, extra)?.save(path)?;
        }
        Ok(())
    };
    while t.step < s.steps {
        let b = PathSample::draw(marginals, batch, times, rng, DType::F32, &Device::Cpu)?;
        let k = t.step + 1;
        let info = match t.step(&b, s.schedule.lr_at(k), rng) {
            Ok(info) => info,
            Err(e) => {
                pb.abandon();
                return Err(format!(
                    "{}: {e}{}",
                    s.label,
                    s.checkpoint
                        .map(|p| format!("; the last good checkpoint is {}", p.display()))
                        .unwrap_or_default()
                )
                .into());
            }
        };
        last = info.loss;
        if let Some(msg) = t.watch(&info, k) {
            pb.suspend(|| eprintln!("{}: {msg}", s.label));
        }
        if k % 10 == 0 || k == s.steps {
            pb.set_position(k);
            pb.set_message(format!(
                "loss {:+.4} ‖∇θ‖ {:.2e}",
                info.loss, info.grad_norm
            ));
        }
        super::plain_progress(
            s.label,
            k,
            s.steps,
            started,
            &format!("loss {:+.4} ‖∇θ‖ {:.2e}", info.loss, info.grad_norm),
        );
        if s.every > 0 && k % s.every == 0 && k < s.steps {
            save(t, rng, times)?;
        }
    }
    pb.finish_and_clear();
    save(t, rng, times)?;
    Ok(LoopReport {
        seconds: started.elapsed().as_secs_f64(),
        steps: t.step - start_step,
        last_loss: last,
    })
}

/// The examples' schedule: linear warm-up over min(200, steps) steps to `lr`, then cosine decay
/// to `lr·floor` at `steps`.
pub fn warmup_cosine(lr: f64, steps: u64, floor: f64) -> action_matching::core::train::Warmup {
    action_matching::core::train::Warmup {
        lr,
        steps: steps.min(200),
        cosine_total: Some(steps),
        floor,
    }
}

/// A trainer with Adam at `lr` (other hyper-parameters at their defaults) and no EMA, printing
/// the note when the fused engine falls back to the generic one.
pub fn adam_trainer(
    model: Mlp,
    objective: ActionMatching,
    lr: f64,
    engine: Engine,
    label: &str,
) -> Res<Trainer> {
    let (trainer, note) = Trainer::new(
        model,
        objective,
        AdamConfig {
            lr,
            ..Default::default()
        },
        engine,
        None,
    )?;
    if let Some(n) = note {
        println!("({label}: {n})");
    }
    Ok(trainer)
}

/// Trains a vector-field model (a score or flow-matching baseline) with Adam on the minibatch
/// loss that `loss(step, rng)` builds: linear warm-up and cosine decay (`warmup_cosine`),
/// global-norm clipping at 1, a progress bar with loss and ‖∇θ‖; a non-finite loss stops with an
/// error naming the step. Returns the seconds spent.
pub fn train_vector(
    net: &dyn action_matching::core::VectorModel,
    steps: u64,
    lr: f64,
    label: &str,
    rng: &mut SeededRng,
    mut loss: impl FnMut(u64, &mut SeededRng) -> Res<Tensor>,
) -> Res<f64> {
    let vars = net.parameters();
    let mut adam = Adam::new(
        vars.clone(),
        AdamConfig {
            lr,
            ..Default::default()
        },
    )?;
    let schedule = warmup_cosine(lr, steps, 0.05);
    let pb = super::progress(steps);
    pb.set_prefix(label.to_string());
    let started = std::time::Instant::now();
    for k in 1..=steps {
        let l = loss(k, rng)?;
        let value = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !value.is_finite() {
            pb.abandon();
            return Err(format!("{label}: the loss is {value} at step {k}").into());
        }
        let mut grads = l.backward()?;
        let norm = clip_grad_norm(&mut grads, &vars, 1.0)?;
        adam.step(&grads, schedule.lr_at(k))?;
        if k % 10 == 0 || k == steps {
            pb.set_position(k);
            pb.set_message(format!("loss {value:+.5} ‖∇θ‖ {norm:.2e}"));
        }
        super::plain_progress(
            label,
            k,
            steps,
            started,
            &format!("loss {value:+.5} ‖∇θ‖ {norm:.2e}"),
        );
    }
    pb.finish_and_clear();
    Ok(started.elapsed().as_secs_f64())
}
