//! Data-parallel training with ranks as threads ([`LocalGroup`]): a run of K shards reaches the
//! same parameters, EMA and adaptive sampler on 1, 2 and 4 ranks (f64, 1e-10) for every engine;
//! a rank whose data fails stops every rank at the same step; checkpoints name their rank count;
//! misconfigured groups are refused. The same runs under `mpirun` are `tests/mpi.rs`.

use crate::cases::{self, max_rel_diff, run_case, Case, Outcome, CASES};
use am_train::parallel::{block, gather, LocalGroup};
use am_train::{
    CheckpointProblem, Collective, Error, RunOptions, SingleProcess, TimeSamplerConfig,
};
use std::sync::Arc;

/// `f` on every rank of a group of `ranks` threads; the results in rank order.
fn on_ranks<T: Send>(ranks: usize, f: impl Fn(Arc<dyn Collective>) -> T + Sync) -> Vec<T> {
    let group = LocalGroup::new(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|g| {
                let f = &f;
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(s, move || f(Arc::new(g)))
                    .unwrap()
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn assert_same(a: &Outcome, b: &Outcome, what: &str) {
    let d = max_rel_diff(&a.params, &b.params);
    assert!(d <= 1e-10, "{what}: parameters differ by {d:e}");
    let d = max_rel_diff(&a.ema, &b.ema);
    assert!(d <= 1e-10, "{what}: EMA differs by {d:e}");
    let d = max_rel_diff(&a.losses, &b.losses);
    assert!(d <= 1e-10, "{what}: losses differ by {d:e}");
    match (&a.density, &b.density) {
        (Some(x), Some(y)) => {
            let d = max_rel_diff(x, y);
            assert!(d <= 1e-10, "{what}: adaptive densities differ by {d:e}");
        }
        (None, None) => {}
        _ => panic!("{what}: one run has an adaptive sampler, the other not"),
    }
}

#[test]
fn sharded_runs_reach_the_same_state_on_any_number_of_ranks() {
    let none = RunOptions::default();
    for case in CASES {
        let times = match case {
            Case::Autograd => vec![
                TimeSamplerConfig::QuasiRandom,
                TimeSamplerConfig::adaptive(),
            ],
            _ => vec![TimeSamplerConfig::QuasiRandom],
        };
        for time in times {
            let one = run_case(case, Arc::new(SingleProcess), 4, 5, time, None, &none).unwrap();
            assert!(one.losses.iter().all(|l| l.is_finite()) && one.losses.len() == 5);
            for ranks in [2, 4] {
                let all = on_ranks(ranks, |c| {
                    run_case(case, c, 4, 5, time, None, &none).unwrap()
                });
                for (r, got) in all.iter().enumerate() {
                    assert_same(
                        got,
                        &one,
                        &format!("{case:?}, {time:?}, rank {r} of {ranks}"),
                    );
                }
            }
        }
    }
}

#[test]
fn the_step_depends_on_the_shards_not_on_the_ranks() {
    // the same seed with another K is another batch: the runs must differ, or the test above
    // could pass with every shard drawn alike
    let none = RunOptions::default();
    let q = TimeSamplerConfig::QuasiRandom;
    let k4 = run_case(
        Case::Autograd,
        Arc::new(SingleProcess),
        4,
        3,
        q,
        None,
        &none,
    )
    .unwrap();
    let k2 = run_case(
        Case::Autograd,
        Arc::new(SingleProcess),
        2,
        3,
        q,
        None,
        &none,
    )
    .unwrap();
    assert!(max_rel_diff(&k4.params, &k2.params) > 1e-6);
}

#[test]
fn a_rank_whose_data_fails_stops_every_rank_at_that_step() {
    let none = RunOptions::default();
    let q = TimeSamplerConfig::QuasiRandom;
    // rank 1 draws shards 1 and 3, three samples each (x₀, x₁, x_t): its 13th call is in step 3
    let out = on_ranks(2, |c| {
        run_case(Case::Autograd, c, 4, 6, q, Some((1, 13)), &none)
    });
    match &out[0] {
        Err(Error::PeerFailed {
            step: 3,
            failed: 1,
            ranks: 2,
        }) => {}
        other => panic!("rank 0: {other:?}"),
    }
    let e = out[1].as_ref().unwrap_err();
    assert!(e.to_string().contains("the data of this rank broke"), "{e}");
    let msg = out[0].as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("1 of 2 ranks failed") && msg.contains("step 2"),
        "{msg}"
    );
}

#[test]
fn checkpoints_are_written_once_and_resumed_only_by_as_many_ranks() {
    let dir = std::env::temp_dir().join(format!("am-dp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.ckpt");
    let q = TimeSamplerConfig::QuasiRandom;
    let opts = |resume| RunOptions {
        checkpoint: Some(path.clone()),
        every: 0,
        resume,
    };
    // 2 ranks to step 3 (only rank 0 writes), then on to 6 from the file
    let _ = std::fs::remove_file(&path);
    on_ranks(2, |c| {
        run_case(Case::Autograd, c, 4, 3, q, None, &opts(false)).unwrap()
    });
    assert!(path.exists());
    let resumed = on_ranks(2, |c| {
        run_case(Case::Autograd, c, 4, 6, q, None, &opts(true)).unwrap()
    });
    let straight = run_case(
        Case::Autograd,
        Arc::new(SingleProcess),
        4,
        6,
        q,
        None,
        &RunOptions::default(),
    )
    .unwrap();
    // the resumed part has steps 4–6
    let d = max_rel_diff(&resumed[0].params, &straight.params);
    assert!(d <= 1e-10, "resumed on 2 ranks vs straight on 1: {d:e}");
    assert_eq!(resumed[0].params, resumed[1].params);
    // one process may not continue a 2-rank checkpoint
    let e = run_case(
        Case::Autograd,
        Arc::new(SingleProcess),
        4,
        6,
        q,
        None,
        &opts(true),
    )
    .unwrap_err();
    match e {
        Error::Checkpoint {
            problem: CheckpointProblem::Ranks { saved: 2, now: 1 },
            ..
        } => {}
        e => panic!("{e}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn groups_without_enough_shards_are_refused() {
    use am_train::{AutogradEngine, Trainer};
    let objective =
        am_objectives::ActionMatching::new(am_objectives::AmConfig::entropic(0.3)).unwrap();
    let make = |shards| {
        let config = am_train::TrainConfig {
            shards,
            ..cases::config(3, 4, TimeSamplerConfig::QuasiRandom)
        };
        let e = AutogradEngine::new(cases::mlp(1), config.adam).unwrap();
        Trainer::new(e, objective.clone(), config)
    };
    let out = on_ranks(2, |c| {
        (
            make(None)
                .unwrap()
                .with_collective(c.clone())
                .unwrap_err()
                .to_string(),
            make(Some(1))
                .unwrap()
                .with_collective(c)
                .unwrap_err()
                .to_string(),
        )
    });
    assert!(out[0].0.contains("no shards"), "{}", out[0].0);
    assert!(out[0].1.contains("1 shards for 2 ranks"), "{}", out[0].1);
    // K must divide the batch (16)
    let e = make(Some(3)).unwrap_err().to_string();
    assert!(e.contains("shards") && e.contains("divide"), "{e}");
}

#[test]
fn blocks_cover_the_items_and_gather_assembles_them_in_order() {
    for (items, ranks) in [(10, 3), (2, 4), (0, 2), (7, 1)] {
        let blocks: Vec<_> = (0..ranks).map(|r| block(items, r, ranks)).collect();
        assert_eq!(blocks.first().unwrap().start, 0);
        assert_eq!(blocks.last().unwrap().end, items);
        for w in blocks.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert!(w[0].len() >= w[1].len() && w[0].len() <= w[1].len() + 1);
        }
    }
    let rows = 5;
    let out = on_ranks(3, |c| {
        let mine = block(rows, c.rank(), c.size());
        let local: Vec<f64> = mine.flat_map(|i| [i as f64, -(i as f64)]).collect();
        gather(&*c, &local, rows, 2).unwrap()
    });
    let want: Vec<f64> = (0..rows).flat_map(|i| [i as f64, -(i as f64)]).collect();
    for got in out {
        assert_eq!(got, want);
    }
}

#[test]
fn parallel_evaluations_equal_one_process() {
    use am_core::{DType, Device, SeededRng};
    use am_solvers::{Method, OdeConfig};
    use am_train::images::{bits_per_dim_in, sample, sample_in, Solver};
    use am_train::snapshots::{FitConfig, Simulation, SnapshotFit};
    let solver = Solver::Fixed(OdeConfig {
        method: Method::Rk4,
        steps: 2,
    });
    // a tiny U-Net field with its zero-initialised output layer drawn at random, so that
    // samples move and the Hutchinson probes matter
    let field = am_models::UNetField {
        net: cases::unet(3),
    };
    let mut rng = SeededRng::new(9);
    for v in am_core::VectorModel::parameters(&field) {
        v.set(
            &rng.normal_tensor(v.dims(), DType::F64, &Device::Cpu)
                .unwrap()
                .affine(0.05, 0.0)
                .unwrap(),
        )
        .unwrap();
    }
    let one = sample(&field, 7, 3, solver, 4, DType::F64).unwrap();
    let test = one.images.clamp(-1.0, 1.0).unwrap();
    let single = bits_per_dim_in(&SingleProcess, &field, &test, 17, 3, solver, 5).unwrap();
    // a snapshot model for pushing particles (two steps of training are enough to move them)
    let cells = |t: f64| -> Vec<f64> {
        (0..40)
            .flat_map(|i| [(i as f64 * 0.7).sin() + t, (i as f64 * 1.3).cos() - t])
            .collect()
    };
    let raw = am_paths::Snapshots::from_groups(
        "cells",
        vec![(0.0, cells(0.0), 40, 2), (1.0, cells(1.0), 40, 2)],
    )
    .unwrap();
    let mut fit = SnapshotFit::new(
        &raw,
        FitConfig {
            eps: 0.3,
            hidden: vec![8],
            ..FitConfig::new(2)
        },
        "{}",
    )
    .unwrap();
    fit.run(&RunOptions::default(), |_| {}).unwrap();
    let model = fit.model().unwrap();
    let x0 = fit.data.tensor(0, DType::F32, &Device::Cpu).unwrap();
    let pushed_one = model
        .simulate_in(
            &SingleProcess,
            &x0,
            0.0,
            1.0,
            &[0.5],
            10,
            Simulation::Sde,
            6,
            16,
        )
        .unwrap();
    let ode = model
        .simulate(&x0, 0.0, 1.0, &[0.5], 10, Simulation::Ode, 6)
        .unwrap();
    let host = |t: &am_core::Tensor| {
        t.to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    };
    for ranks in [2, 3] {
        let out = on_ranks(ranks, |c| {
            let s = sample_in(&*c, &field, 7, 3, solver, 4, DType::F64).unwrap();
            let b = bits_per_dim_in(&*c, &field, &test, 17, 3, solver, 5).unwrap();
            let p = model
                .simulate_in(&*c, &x0, 0.0, 1.0, &[0.5], 10, Simulation::Sde, 6, 16)
                .unwrap();
            let o = model
                .simulate_in(&*c, &x0, 0.0, 1.0, &[0.5], 10, Simulation::Ode, 6, 16)
                .unwrap();
            (s, b, p, o)
        });
        for (s, b, p, o) in out {
            assert_eq!(
                host(&s.images),
                host(&one.images),
                "samples on {ranks} ranks"
            );
            assert_eq!(s.nfe, one.nfe);
            assert_eq!(
                (b.mean, b.stderr, b.images),
                (single.mean, single.stderr, 7)
            );
            assert_eq!(p.times, pushed_one.times);
            assert_eq!(
                host(&p.states),
                host(&pushed_one.states),
                "SDE on {ranks} ranks"
            );
            assert_eq!(host(&o.states), host(&ode.states), "ODE on {ranks} ranks");
        }
    }
    // the probes matter: another seed gives another estimate
    let other = bits_per_dim_in(&SingleProcess, &field, &test, 17, 3, solver, 6).unwrap();
    assert_ne!(other.mean, single.mean);
    assert!(single.mean.is_finite() && single.nfe > 0);
}

/// Features: each row's mean and mean square.
struct Moments;

impl am_metrics::FeatureExtractor for Moments {
    fn width(&self) -> usize {
        2
    }

    fn features(&self, images: &am_core::Tensor) -> am_core::Result<am_core::Tensor> {
        let x = images.flatten_from(1)?;
        Ok(am_core::Tensor::cat(
            &[x.mean_keepdim(1)?, x.sqr()?.mean_keepdim(1)?],
            1,
        )?)
    }
}

#[test]
fn features_gathered_from_ranks_equal_one_pass() {
    use am_core::{DType, Device, SeededRng};
    use am_metrics::FeatureExtractor;
    let images = SeededRng::new(2)
        .normal_tensor(&[11, 1, 4, 4], DType::F64, &Device::Cpu)
        .unwrap();
    let want = Moments.features(&images).unwrap().to_vec2::<f64>().unwrap();
    for ranks in [1, 2, 4] {
        let out = on_ranks(ranks, |c| {
            am_train::parallel::features_in(&*c, &Moments, &images, 3)
                .unwrap()
                .to_vec2::<f64>()
                .unwrap()
        });
        for got in out {
            assert_eq!(got, want, "{ranks} ranks");
        }
    }
}
