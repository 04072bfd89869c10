//! The evaluation protocols: baselines with exact answers, a field that reproduces the data
//! exactly, the table layout, and ε selection's validation and choice.

use am_core::{Device, Tensor, VelocityField};
use am_paths::Snapshots;
use am_train::protocol::{
    baseline_scores, field_score, markdown_table, select_eps, EvalConfig, Score, Transition,
};
use am_train::snapshots::FitConfig;
use am_train::Error;

/// A 2-D cloud of `n` points, deterministic and irregular.
fn cloud(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .flat_map(|i| {
            let a = i as f64 * 2.399 + phase;
            let r = 0.2 + (i as f64 * 0.37).sin().abs();
            [r * a.cos(), r * a.sin()]
        })
        .collect()
}

/// Time points 0, 0.25, 1 (uneven), each the base cloud translated by t·c (c = (2, −1)).
fn translated(n: usize, phase: f64) -> Snapshots {
    let base = cloud(n, phase);
    let groups = [0.0, 0.25, 1.0]
        .iter()
        .map(|&t| {
            let rows: Vec<f64> = base
                .chunks(2)
                .flat_map(|p| [p[0] + 2.0 * t, p[1] - t])
                .collect();
            (t, rows, n, 2)
        })
        .collect();
    Snapshots::from_groups("translated", groups).unwrap()
}

/// v_t(x) = c: the exact velocity of [`translated`].
struct Shift;

impl VelocityField for Shift {
    fn dim(&self) -> usize {
        2
    }

    fn velocity(&self, _t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        let n = x.dims()[0];
        let c = Tensor::from_vec(vec![2f32, -1.0], (1, 2), &Device::Cpu)?;
        Ok(c.broadcast_as((n, 2))?.to_dtype(x.dtype())?)
    }
}

fn named<'a>(scores: &'a [(String, Score)], name: &str) -> &'a Score {
    &scores.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn the_exact_field_scores_zero_and_the_baselines_have_their_exact_values() {
    let train = translated(40, 0.0);
    let test = translated(30, 1.3);
    let config = EvalConfig {
        repeats: 3,
        steps: 10,
        ..Default::default()
    };
    for k in [1, 2] {
        let s = field_score(&Shift, am_core::Diffusion::None, &test, k, &config).unwrap();
        assert!(s.w1 < 1e-5 && s.w2 < 1e-5 && s.w1_sd == 0.0, "{s:?}");
        let b = baseline_scores(&train, &test, k, false).unwrap();
        let names: Vec<&str> = b.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "identity",
                "mean shift",
                "OT interpolation",
                "OT displacement"
            ]
        );
        // a translation: the mean shift and the OT displacement (a translation is optimal, so
        // each training cell's target is itself shifted) reproduce it exactly
        for name in ["mean shift", "OT displacement"] {
            let s = named(&b, name);
            assert!(s.w1 < 1e-5 && s.w2 < 1e-5, "{name}: {s:?}");
        }
        // identity: every cell off by (t_k − t_{k−1})·‖c‖
        let dt = test.times()[k] - test.times()[k - 1];
        let s = named(&b, "identity");
        assert!(s.w1 <= dt * 5f64.sqrt() + 1e-5, "{s:?}");
        assert!(s.w1 > 0.1 * dt, "{s:?}");
    }
    // left out: the middle time point from the neighbours, a quarter of the way; the OT
    // interpolation is of the training cells, exact when they are the test cells
    let b = baseline_scores(&train, &test, 1, true).unwrap();
    for name in ["mean shift", "OT displacement"] {
        let s = named(&b, name);
        assert!(s.w1 < 1e-4, "{name} (left out): {s:?}");
    }
    assert!(named(&b, "OT interpolation").w1 > 0.05);
    let same = baseline_scores(&test, &test, 1, true).unwrap();
    let s = named(&same, "OT interpolation");
    assert!(
        s.w1 < 1e-4,
        "OT interpolation of the test cells themselves: {s:?}"
    );
    // a stochastic field: repeats give a spread
    let sde = am_core::Diffusion::Constant { eps: 0.1 };
    let s = field_score(&Shift, sde, &test, 2, &config).unwrap();
    assert!(s.w1 > 0.0 && s.w1_sd > 0.0, "{s:?}");
    let e = field_score(&Shift, sde, &test, 3, &config).unwrap_err();
    assert!(e.to_string().starts_with("k:"), "{e}");
}

#[test]
fn the_table_has_a_row_per_method_and_dashes_for_what_is_missing() {
    let s = |w1, w2| Score { w1, w1_sd: 0.0, w2 };
    let rows = vec![
        Transition {
            k: 1,
            time: 3.0,
            left_out: false,
            scores: vec![
                ("model".into(), s(0.5, 0.6)),
                ("paper".into(), s(0.4, f64::NAN)),
            ],
        },
        Transition {
            k: 2,
            time: 7.0,
            left_out: true,
            scores: vec![("model".into(), s(0.7, 0.8))],
        },
    ];
    let t = markdown_table("title", &rows);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "title");
    assert_eq!(
        lines[1],
        "| method | → t1 = 3: W1 | W2 | → t2 = 7, left out: W1 | W2 | mean W1 | mean W2 |"
    );
    assert_eq!(
        lines[3],
        "| model | 0.500 | 0.600 | 0.700 | 0.800 | 0.600 | 0.700 |"
    );
    assert_eq!(lines[4], "| paper | 0.400 | – | – | – | 0.400 | – |");
    assert_eq!(lines.len(), 5);
}

#[test]
fn select_eps_validates_its_candidates_and_picks_the_least_w1() {
    let raw = translated(20, 0.4);
    let mut base = FitConfig::new(3);
    base.hidden = vec![8];
    base.train.batch = 16;
    let eval = EvalConfig {
        repeats: 2,
        steps: 5,
        ..Default::default()
    };
    let never = |_: &mut am_train::snapshots::SnapshotFit, _: f64| -> am_train::Result<()> {
        panic!("no training for invalid candidates")
    };
    for bad in [&[][..], &[0.1, -1.0][..], &[f64::NAN][..]] {
        let e = select_eps(&raw, &base, bad, 0.25, 0, &eval, never).unwrap_err();
        assert!(e.to_string().starts_with("candidates:"), "{e}");
    }
    let loo = FitConfig {
        leave_out: Some(1),
        ..base.clone()
    };
    let e = select_eps(&raw, &loo, &[0.1], 0.25, 0, &eval, never).unwrap_err();
    assert!(e.to_string().starts_with("leave_out:"), "{e}");
    let mut trained = Vec::new();
    let sel = select_eps(&raw, &base, &[0.05, 0.5], 0.25, 0, &eval, |fit, eps| {
        trained.push((eps, fit.train_data.counts()));
        fit.run(&Default::default(), |_| {}).map(|_| ())
    })
    .unwrap();
    // each candidate trains on the same 75 % and is scored on the other 25 % (5 of 20 cells)
    assert_eq!(trained, vec![(0.05, vec![15; 3]), (0.5, vec![15; 3])]);
    assert_eq!(sel.held_counts, vec![5; 3]);
    assert_eq!(sel.trials.len(), 2);
    let best = sel
        .trials
        .iter()
        .min_by(|a, b| a.mean_w1.total_cmp(&b.mean_w1))
        .unwrap();
    assert_eq!(sel.chosen, best.eps);
    for t in &sel.trials {
        assert_eq!(t.w1.len(), 2);
        assert!((t.mean_w1 - (t.w1[0] + t.w1[1]) / 2.0).abs() < 1e-12);
    }
    // a failing training run passes its error through
    let e = select_eps(&raw, &base, &[0.1], 0.25, 0, &eval, |_, _| {
        Err(Error::Callback("stopped".into()))
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "stopped");
}
