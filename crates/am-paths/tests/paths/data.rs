//! Snapshot data: readers, validation with named places, preprocessing, the mixture path, and the
//! real embryoid body files of `../shared/data/eb/`.

use am_core::{DType, Device, Marginals, SeededRng};
use am_paths::data::csv::{read_csv, CsvSpec, TimeColumn};
use am_paths::data::npy::{read_npy, Npz};
use am_paths::data::preprocess::{Standardizer, Whitener};
use am_paths::{DataError, MixturePath, Snapshots};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/paths/fixtures")
        .join(name)
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn flat(v: &serde_json::Value) -> Vec<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    rows.concat()
}

#[test]
fn numpy_files_round_trip_exactly() {
    let e = expected();
    for name in ["plain.npz", "compressed.npz"] {
        let mut npz = Npz::open(&fixture(name)).unwrap();
        assert_eq!(npz.keys(), vec!["X".to_string(), "ts".to_string()]);
        let x = npz.array("X").unwrap();
        assert_eq!(x.shape, vec![12, 3]);
        assert_eq!(x.data, flat(&e["X"]), "{name}");
        let t = npz.array("ts").unwrap();
        assert!(t.integer);
        let want: Vec<f64> = serde_json::from_value::<Vec<i64>>(e["ts"].clone())
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_eq!(t.data, want);
        match npz.array("pcs") {
            Err(DataError::MissingKey { key, available, .. }) => {
                assert_eq!(key, "pcs");
                assert!(available.contains("X") && available.contains("ts"));
            }
            other => panic!("{other:?}"),
        }
    }
    let f = read_npy(&fixture("fortran.npy")).unwrap();
    assert_eq!(f.shape, vec![3, 4]);
    assert_eq!(
        f.data,
        flat(&e["fortran"]),
        "Fortran order is transposed to row-major"
    );
    assert_eq!(
        read_npy(&fixture("bigendian.npy")).unwrap().data,
        flat(&e["bigendian"])
    );
    assert_eq!(
        read_npy(&fixture("int32.npy")).unwrap().data,
        flat(&e["int32"])
    );
    assert!(matches!(
        read_npy(&fixture("good.csv")),
        Err(DataError::Format { .. })
    ));
    assert!(matches!(
        read_npy(&fixture("absent.npy")),
        Err(DataError::Io { .. })
    ));
    let s = Snapshots::from_npz(&fixture("compressed.npz"), "X", "ts").unwrap();
    assert_eq!(s.times(), &[0.0, 1.0, 2.0]);
    assert_eq!(s.counts(), vec![3, 4, 5]);
    assert_eq!(s.dim(), 3);
}

#[test]
fn csv_snapshots_and_their_errors_name_the_place() {
    let spec = CsvSpec {
        header: true,
        time: TimeColumn::Name("day".into()),
        drop_bad_rows: false,
    };
    let (s, dropped) = read_csv(&fixture("good.csv"), &spec).unwrap();
    assert_eq!(
        (s.times().to_vec(), s.counts(), s.dim(), dropped),
        (vec![0.0, 6.0, 12.0], vec![2, 2, 1], 2, 0)
    );
    assert_eq!(s.group(1).unwrap(), &[1.5, 2.0, 2.5, 3.5]);
    let (s2, _) = read_csv(
        &fixture("good.csv"),
        &CsvSpec {
            time: TimeColumn::Index(2),
            ..spec.clone()
        },
    )
    .unwrap();
    assert_eq!(s, s2);
    match read_csv(&fixture("non_numeric.csv"), &spec) {
        Err(DataError::NonNumeric {
            row,
            column,
            value,
            path,
        }) => {
            assert_eq!((row, column, value.as_str()), (1, 1, "abc"));
            assert!(path.ends_with("non_numeric.csv"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        read_csv(&fixture("ragged.csv"), &spec),
        Err(DataError::Ragged {
            row: 1,
            expected: 3,
            got: 2,
            ..
        })
    ));
    match read_csv(&fixture("nan.csv"), &spec) {
        Err(DataError::NonFinite {
            row: 1,
            column: 1,
            key,
            ..
        }) => assert_eq!(key, "g2"),
        other => panic!("{other:?}"),
    }
    let (kept, dropped) = read_csv(
        &fixture("nan.csv"),
        &CsvSpec {
            drop_bad_rows: true,
            ..spec.clone()
        },
    )
    .unwrap();
    assert_eq!((dropped, kept.counts()), (1, vec![1, 2]));
    let no_header = CsvSpec {
        header: false,
        time: TimeColumn::Index(2),
        drop_bad_rows: false,
    };
    assert!(matches!(
        read_csv(&fixture("one_time.csv"), &no_header),
        Err(DataError::TooFewTimes { found: 1, .. })
    ));
    assert!(matches!(
        read_csv(
            &fixture("good.csv"),
            &CsvSpec {
                time: TimeColumn::Name("hour".into()),
                ..spec.clone()
            }
        ),
        Err(DataError::MissingKey { .. })
    ));
}

#[test]
fn snapshot_validation_and_preprocessing() {
    let x = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, f64::NAN];
    assert!(matches!(
        Snapshots::from_rows("memory", &x, 4, 2, &[0.0, 0.0, 1.0, 1.0]),
        Err(DataError::NonFinite {
            row: 3,
            column: 1,
            ..
        })
    ));
    let x = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0];
    assert!(matches!(
        Snapshots::from_rows("memory", &x, 4, 2, &[0.0, 0.0, 1.0]),
        Err(DataError::Shape { .. })
    ));
    let s = Snapshots::from_rows("memory", &x, 4, 2, &[3.0, 3.0, 1.0, 1.0]).unwrap();
    assert_eq!(s.times(), &[1.0, 3.0], "labels are sorted");
    assert_eq!(s.group(0).unwrap(), &[4.0, 5.0, 6.0, 8.0]);
    assert!(matches!(
        s.clone().with_time_values(&[5.0, 5.0]),
        Err(DataError::Argument { arg: "values", .. })
    ));
    assert!(matches!(
        s.clone().with_time_values(&[1.0, 2.0, 3.0]),
        Err(DataError::Shape { .. })
    ));
    assert!(matches!(
        s.clone().with_masses(&[1.0, -2.0]),
        Err(DataError::Argument { arg: "masses", .. })
    ));
    assert_eq!(
        s.clone().with_masses(&[10.0, 20.0]).unwrap().masses(),
        Some(&[10.0, 20.0][..])
    );
    assert_eq!(s.times_to_unit().times(), &[0.0, 1.0]);
    assert_eq!(s.first_dims(1).unwrap().group(1).unwrap(), &[0.0, 2.0]);
    assert!(s.first_dims(3).is_err());
    let st = Standardizer::fit(&s).unwrap();
    let z = st.apply(&s).unwrap();
    let all: Vec<f64> = (0..2).flat_map(|k| z.group(k).unwrap().to_vec()).collect();
    let mean0 = all.iter().step_by(2).sum::<f64>() / 4.0;
    let var0 = all.iter().step_by(2).map(|v| v * v).sum::<f64>() / 4.0;
    assert!(mean0.abs() < 1e-12 && (var0 - 1.0).abs() < 1e-12);
    // leave-one-out and splits
    let x3: Vec<f64> = (0..30).map(|v| v as f64).collect();
    let lab: Vec<f64> = (0..15).map(|i| (i / 5) as f64).collect();
    let s3 = Snapshots::from_rows("memory", &x3, 15, 2, &lab).unwrap();
    let (rest, t, held) = s3.leave_out(1).unwrap();
    assert_eq!(
        (rest.times().to_vec(), t, held.len()),
        (vec![0.0, 2.0], 1.0, 10)
    );
    assert!(s3.leave_out(0).is_err() && s3.leave_out(2).is_err());
    let (train, test) = s3.split(0.4, 7).unwrap();
    assert_eq!(
        (train.counts(), test.counts()),
        (vec![3, 3, 3], vec![2, 2, 2])
    );
    assert_eq!(s3.split(0.4, 7).unwrap().1, test, "seeded");
    assert!(s3.split(1.0, 7).is_err());
}

#[test]
fn the_mixture_path_draws_from_the_neighbouring_snapshots() {
    let x: Vec<f64> = vec![0.0, 0.0, 10.0, 10.0, 20.0, 20.0];
    let s = Snapshots::from_rows("memory", &x, 3, 2, &[0.0, 5.0, 10.0]).unwrap();
    let path = MixturePath::new(&s);
    let mut rng = SeededRng::new(1);
    let n = 4000;
    let v: Vec<Vec<f64>> = path
        .sample(&vec![0.3; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .to_vec2()
        .unwrap();
    // t = 0.3 lies between τ = 0 and 0.5: the right neighbour with probability 0.6
    let right = v.iter().filter(|r| r[0] == 10.0).count() as f64 / n as f64;
    assert!(v.iter().all(|r| r[0] == 0.0 || r[0] == 10.0));
    assert!(
        (right - 0.6).abs() < 5.0 * (0.24f64 / n as f64).sqrt(),
        "{right}"
    );
    let ends: Vec<Vec<f64>> = path
        .sample(&[0.0, 1.0], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .to_vec2()
        .unwrap();
    assert_eq!((ends[0][0], ends[1][0]), (0.0, 20.0));
    assert!(path
        .sample(&[1.2], &mut rng, DType::F64, &Device::Cpu)
        .is_err());
}

/// The real embryoid body splits (Moon et al. 2019, NLSB's preparation).
#[test]
fn embryoid_body_files_load_with_their_shapes_and_counts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/eb");
    if !dir.exists() {
        eprintln!(
            "SKIPPED: {} is absent (a fresh clone has no ../shared)",
            dir.display()
        );
        return;
    }
    let start = std::time::Instant::now();
    for (file, n, per) in [("test_rna.npz", 1750, 350), ("val_rna.npz", 1000, 200)] {
        let s = Snapshots::from_npz(&dir.join(file), "X", "ts").unwrap();
        assert_eq!(s.dim(), 100, "{file}");
        assert_eq!(s.times(), &[0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.counts(), vec![per; 5]);
        assert_eq!(s.counts().iter().sum::<usize>(), n);
    }
    // the Table 1 protocol: standardise all 100 PCs with the training split's statistics, keep 5
    let val = Snapshots::from_npz(&dir.join("val_rna.npz"), "X", "ts").unwrap();
    let test = Snapshots::from_npz(&dir.join("test_rna.npz"), "X", "ts").unwrap();
    let st = Standardizer::fit(&val).unwrap();
    let (train5, test5) = (
        st.apply(&val).unwrap().first_dims(5).unwrap(),
        st.apply(&test).unwrap().first_dims(5).unwrap(),
    );
    assert_eq!((train5.dim(), test5.dim()), (5, 5));
    eprintln!(
        "EB: read both splits and prepared them in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}

/// The OT-paired path is a geodesic between neighbours: W2(q_τk, q_s) = s·W2(q_τk, q_τk+1), its
/// endpoints are the snapshots, and its kinetic energy is far below the mixture path's.
#[test]
fn ot_paired_path_is_the_displacement_interpolation() {
    use am_core::ot::transport;
    use am_paths::OtPairedPath;
    let mut rng = SeededRng::new(5);
    let (n, d) = (40, 2);
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (k, shift) in [0.0, 6.0, 7.0].iter().enumerate() {
        for _ in 0..n {
            x.push(rng.normal() + shift);
            x.push(rng.normal() * (1.0 + k as f64));
            labels.push(k as f64 * 2.0);
        }
    }
    let s = Snapshots::from_rows("memory", &x, 3 * n, d, &labels).unwrap();
    let path = OtPairedPath::new(&s).unwrap();
    assert_eq!(path.times(), &[0.0, 0.5, 1.0]);
    let w2 = |a: &(Vec<f64>, Vec<f64>), b: &(Vec<f64>, Vec<f64>)| -> f64 {
        let (na, nb) = (a.1.len(), b.1.len());
        let c: Vec<f64> = (0..na)
            .flat_map(|i| {
                (0..nb).map(move |j| {
                    (0..d)
                        .map(|k| (a.0[i * d + k] - b.0[j * d + k]).powi(2))
                        .sum::<f64>()
                })
            })
            .collect();
        transport(&a.1, &b.1, &c).unwrap().cost
    };
    let start = path.measure_at(0.0);
    let end = path.measure_at(0.5);
    let total = w2(&start, &end);
    assert!((total - path.squared_w2()[0]).abs() < 1e-9);
    for s_ in [0.25, 0.5, 0.75] {
        let mid = path.measure_at(0.5 * s_);
        assert!(
            (w2(&start, &mid).sqrt() - s_ * total.sqrt()).abs() < 1e-9,
            "geodesic at s = {s_}"
        );
    }
    // endpoints: the measure at τ_k puts mass 1/n on every cell of snapshot k
    let g0 = s.group(0).unwrap();
    let mut pts: Vec<Vec<f64>> = start.0.chunks(d).map(|r| r.to_vec()).collect();
    let mut want: Vec<Vec<f64>> = g0.chunks(d).map(|r| r.to_vec()).collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    want.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert_eq!(
        pts, want,
        "with equal sizes the plan is a permutation: every cell once"
    );
    // sampling follows the plan and stays on segments; at t = 1 it returns cells of the last snapshot
    let last: Vec<Vec<f64>> = path
        .sample(&vec![1.0; 50], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .to_vec2()
        .unwrap();
    let g2: Vec<&[f64]> = s.group(2).unwrap().chunks(d).collect();
    assert!(last.iter().all(|r| g2
        .iter()
        .any(|c| (c[0] - r[0]).abs() < 1e-12 && (c[1] - r[1]).abs() < 1e-12)));
    assert!(path.kinetic_energy() > 0.0 && path.kinetic_energy().is_finite());
}

#[test]
fn branching_snapshots_split_then_merge() {
    use am_paths::branching::{branching_snapshots, petals, BranchingConfig};
    for times in [5, 10, 15] {
        let s = branching_snapshots(
            BranchingConfig {
                times,
                cells: 120,
                ..Default::default()
            },
            3,
        )
        .unwrap();
        assert_eq!((s.times().len(), s.counts()[0], s.dim()), (times, 120, 2));
        assert_eq!(
            s,
            branching_snapshots(
                BranchingConfig {
                    times,
                    cells: 120,
                    ..Default::default()
                },
                3
            )
            .unwrap(),
            "seeded"
        );
    }
    let s = branching_snapshots(
        BranchingConfig {
            times: 11,
            cells: 300,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let ys = |k: usize| {
        s.group(k)
            .unwrap()
            .chunks(2)
            .map(|r| r[1])
            .collect::<Vec<f64>>()
    };
    // t = 0.6: two branches (|y| large for nearly every cell, both signs); t = 1: merged near 0
    let mid = ys(6);
    assert!(mid.iter().filter(|y| y.abs() > 0.4).count() as f64 > 0.9 * mid.len() as f64);
    let up = mid.iter().filter(|y| **y > 0.0).count() as f64 / mid.len() as f64;
    assert!((0.3..0.7).contains(&up), "branch balance {up}");
    let end = ys(10);
    assert!(end.iter().map(|y| y.abs()).sum::<f64>() / (end.len() as f64) < 0.25);
    // x moves right at speed 2
    let mean_x = s.group(10).unwrap().chunks(2).map(|r| r[0]).sum::<f64>() / 300.0;
    assert!((mean_x - 2.0).abs() < 0.05, "{mean_x}");
    assert!(branching_snapshots(
        BranchingConfig {
            times: 1,
            ..Default::default()
        },
        0
    )
    .is_err());
    let p = petals(5, 200, 0.25, 4, 9).unwrap();
    assert_eq!(
        (p.times().len(), p.counts().iter().sum::<usize>()),
        (4, 1000)
    );
    let r = |k: usize| {
        p.group(k)
            .unwrap()
            .chunks(2)
            .map(|v| (v[0] * v[0] + v[1] * v[1]).sqrt())
            .sum::<f64>()
            / p.counts()[k] as f64
    };
    assert!(
        r(0) < r(1) && r(1) < r(2) && r(2) < r(3),
        "cells flow outwards"
    );
}

#[test]
fn whitening_gives_identity_covariance() {
    let mut rng = SeededRng::new(4);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for i in 0..600 {
        let (a, b, c) = (rng.normal(), rng.normal(), rng.normal());
        x.extend([3.0 * a + 1.0, a + 0.5 * b - 2.0, 0.2 * c + b]);
        labels.push((i % 3) as f64);
    }
    let s = Snapshots::from_rows("memory", &x, 600, 3, &labels).unwrap();
    let w = Whitener::fit(&s).unwrap().apply(&s).unwrap();
    let rows: Vec<Vec<f64>> = (0..3)
        .flat_map(|k| {
            w.group(k)
                .unwrap()
                .chunks(3)
                .map(|r| r.to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    for i in 0..3 {
        for j in 0..3 {
            let c = rows.iter().map(|r| r[i] * r[j]).sum::<f64>() / 600.0;
            assert!(
                (c - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9,
                "cov[{i}][{j}] = {c}"
            );
        }
    }
    let flat = Snapshots::from_rows(
        "memory",
        &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
        3,
        2,
        &[0.0, 1.0, 1.0],
    )
    .unwrap();
    assert!(matches!(
        Whitener::fit(&flat),
        Err(DataError::Argument { arg: "train", .. })
    ));
}

/// AnnData files written by `anndata` (feature `h5ad`; needs the system HDF5 library).
#[cfg(feature = "h5ad")]
#[test]
fn h5ad_files_round_trip() {
    use am_paths::data::h5ad::{read_h5ad, H5adMatrix};
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("h5ad_expected.json")).unwrap())
            .unwrap();
    let x = flat(&e["X"]);
    let pca = flat(&e["pca"]);
    for file in ["dense.h5ad", "csr.h5ad"] {
        let s = read_h5ad(&fixture(file), &H5adMatrix::X, "day").unwrap();
        assert_eq!(
            (s.times().to_vec(), s.counts(), s.dim()),
            (vec![0.0, 2.0, 4.0], vec![3, 3, 3], 4)
        );
        let got: Vec<f64> = (0..3).flat_map(|k| s.group(k).unwrap().to_vec()).collect();
        assert_eq!(
            got, x,
            "{file}: X read back identically (rows are already in time order)"
        );
        let p = read_h5ad(&fixture(file), &H5adMatrix::Obsm("X_pca".into()), "stage").unwrap();
        let got: Vec<f64> = (0..3).flat_map(|k| p.group(k).unwrap().to_vec()).collect();
        assert_eq!(got, pca);
        assert_eq!(
            p.times(),
            &[0.0, 1.0, 2.0],
            "non-numeric categories: their order"
        );
        assert!(matches!(
            read_h5ad(&fixture(file), &H5adMatrix::X, "hour"),
            Err(DataError::MissingKey { .. })
        ));
        assert!(matches!(
            read_h5ad(&fixture(file), &H5adMatrix::Obsm("X_umap".into()), "day"),
            Err(DataError::MissingKey { .. })
        ));
    }
}

#[test]
fn snapshots_from_per_time_arrays_are_validated() {
    let g = |t: f64, n: usize, d: usize| (t, vec![0.5; n * d], n, d);
    let s = Snapshots::from_groups("per-time", vec![g(0.0, 3, 2), g(1.5, 4, 2)]).unwrap();
    assert_eq!(
        (s.times().to_vec(), s.counts()),
        (vec![0.0, 1.5], vec![3, 4])
    );
    match Snapshots::from_groups("per-time", vec![g(0.0, 3, 2), g(1.0, 2, 3)]) {
        Err(DataError::Shape { reason, .. }) => assert!(
            reason.contains("group 1") && reason.contains("dimension 3"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Snapshots::from_groups("per-time", vec![g(0.0, 3, 2), g(1.0, 0, 2)]),
        Err(DataError::Shape { .. })
    ));
    assert!(matches!(
        Snapshots::from_groups("per-time", vec![g(1.0, 3, 2), g(0.5, 2, 2)]),
        Err(DataError::Argument { arg: "groups", .. })
    ));
    assert!(matches!(
        Snapshots::from_groups("per-time", vec![g(0.0, 3, 2), g(0.0, 2, 2)]),
        Err(DataError::Argument { arg: "groups", .. })
    ));
    assert!(matches!(
        Snapshots::from_groups("per-time", vec![g(0.0, 3, 2)]),
        Err(DataError::TooFewTimes { found: 1, .. })
    ));
    let bad = (2.0, vec![0.0, f64::INFINITY, 0.0, 0.0], 2, 2);
    assert!(matches!(
        Snapshots::from_groups("per-time", vec![g(0.0, 3, 2), bad]),
        Err(DataError::NonFinite {
            row: 0,
            column: 1,
            ..
        })
    ));
}

/// With bridge noise, a single pair x₀ = 0 → x₁ = 1 over a segment of length 1/2 gives
/// x_t ~ N(s, ε²s(1 − s)/2) inside it; at the snapshot times the noise vanishes.
#[test]
fn ot_paired_path_bridge_noise_has_the_bridge_variance() {
    use am_core::{DType, Device, Marginals};
    use am_paths::OtPairedPath;
    let s = Snapshots::from_rows("memory", &[0.0, 1.0, 1.0], 3, 1, &[0.0, 1.0, 2.0]).unwrap();
    let eps = 0.6;
    let path = OtPairedPath::new(&s)
        .unwrap()
        .with_bridge_noise(eps)
        .unwrap();
    let n = 40_000;
    let mut rng = SeededRng::new(3);
    let x: Vec<f64> = path
        .sample(&vec![0.25; n], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    let want = eps * eps * 0.25 * 0.5; // s = 1/2 inside the first segment of length 1/2
    assert!((mean - 0.5).abs() < 0.01, "{mean}");
    assert!((var - want).abs() < 0.05 * want, "{var} vs {want}");
    let at_snapshot = path
        .sample(&[0.5], &mut rng, DType::F64, &Device::Cpu)
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    assert_eq!(at_snapshot[0][0], 1.0);
    assert!(OtPairedPath::new(&s)
        .unwrap()
        .with_bridge_noise(-1.0)
        .is_err());
}

#[test]
fn npz_written_by_write_npz_reads_back() {
    use am_paths::data::npy::{write_npz, Npz};
    let dir = std::env::temp_dir().join(format!("am-npz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.npz");
    let x: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    let t = [0.0f32, 0.5, 1.0];
    write_npz(&path, &[("x", vec![3, 4, 2], &x), ("times", vec![3], &t)]).unwrap();
    let mut npz = Npz::open(&path).unwrap();
    assert_eq!(npz.keys(), vec!["times".to_string(), "x".to_string()]);
    let a = npz.array("x").unwrap();
    assert_eq!(a.shape, vec![3, 4, 2]);
    assert_eq!(a.data, x.iter().map(|v| *v as f64).collect::<Vec<_>>());
    assert_eq!(npz.array("times").unwrap().shape, vec![3]);
    assert!(write_npz(&path, &[("bad", vec![5], &t)]).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

/// The conditional velocity is d x_t/dt of the same draw (pair and noise): central differences
/// with the same random stream, with and without bridge noise.
#[test]
fn ot_paired_path_velocity_is_the_derivative_of_the_draw() {
    use am_core::{DType, Device};
    use am_paths::OtPairedPath;
    let rows = [0.0, 0.5, 1.0, 2.0, 1.5, -1.0, 3.0, 0.0, 2.5, 1.0, 0.5, 2.0];
    let s = Snapshots::from_rows("memory", &rows, 6, 2, &[0.0, 0.0, 1.0, 1.0, 3.0, 3.0]).unwrap();
    for eps in [0.0, 0.4] {
        let path = OtPairedPath::new(&s)
            .unwrap()
            .with_bridge_noise(eps)
            .unwrap();
        for (t, seed) in [(0.1, 1u64), (0.3, 2), (0.55, 3), (0.9, 4)] {
            let h = 1e-6;
            let at = |tt: f64| {
                let mut rng = SeededRng::new(seed);
                path.sample_with_velocity(&[tt], &mut rng, DType::F64, &Device::Cpu)
                    .unwrap()
            };
            let (xp, _) = at(t + h);
            let (xm, _) = at(t - h);
            let (_, u) = at(t);
            let fd = ((xp - xm).unwrap() / (2.0 * h))
                .unwrap()
                .to_vec2::<f64>()
                .unwrap();
            let u = u.to_vec2::<f64>().unwrap();
            for a in 0..2 {
                assert!(
                    (fd[0][a] - u[0][a]).abs() < 1e-5 * (1.0 + u[0][a].abs()),
                    "ε {eps}, t {t}: {} vs {}",
                    fd[0][a],
                    u[0][a]
                );
            }
        }
    }
}

/// PCA of a Gaussian with known axes: components, variances and explained fractions.
#[test]
fn pca_recovers_known_axes() {
    use am_paths::data::preprocess::Pca;
    // axes u = (1, 1, 0)/√2 (sd 3), w = (1, −1, 0)/√2 (sd 1), e_z (sd 0.5), mean (1, 2, 3)
    let mut rng = SeededRng::new(4);
    let n = 20_000;
    let r = std::f64::consts::FRAC_1_SQRT_2;
    let mut rows = Vec::with_capacity(3 * n);
    for _ in 0..n {
        let (a, b, c) = (3.0 * rng.normal(), rng.normal(), 0.5 * rng.normal());
        rows.extend([1.0 + r * (a + b), 2.0 + r * (a - b), 3.0 + c]);
    }
    let labels: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let s = Snapshots::from_rows("memory", &rows, n, 3, &labels).unwrap();
    let p = Pca::fit(&s, 2).unwrap();
    assert!((p.components[0] - r).abs() < 0.01 && (p.components[1] - r).abs() < 0.01);
    assert!(p.components[2].abs() < 0.01);
    assert!(
        (p.components[3].abs() - r).abs() < 0.01
            && (p.components[3] + p.components[4]).abs() < 0.02
    );
    assert!((p.variances[0] - 9.0).abs() < 0.3 && (p.variances[1] - 1.0).abs() < 0.05);
    assert!((p.explained[0] - 9.0 / 10.25).abs() < 0.01);
    let y = p.project(&[1.0 + 2.0 * r, 2.0 + 2.0 * r, 3.0]).unwrap();
    assert!(
        p.project(&[1.0, 2.0]).is_err(),
        "a row of the wrong length is an error"
    );
    assert!((y[0] - 2.0).abs() < 0.02 && y[1].abs() < 0.02, "{y:?}");
    assert!(Pca::fit(&s, 0).is_err() && Pca::fit(&s, 4).is_err());
}

#[test]
fn indices_past_the_data_are_typed_errors() {
    let s =
        Snapshots::from_rows("memory", &[0.0, 1.0, 2.0, 3.0], 4, 1, &[0.0, 0.0, 1.0, 1.0]).unwrap();
    assert_eq!(s.group(1).unwrap(), &[2.0, 3.0]);
    let err = s.group(2).unwrap_err().to_string();
    assert!(
        err.contains("time point 2") && err.contains("2 time points"),
        "{err}"
    );
    assert!(s.tensor(5, DType::F32, &Device::Cpu).is_err());
    assert_eq!(s.groups().len(), 2);
    let h = am_paths::hydrogen::HydrogenData::new(vec![0.0; 2 * 3 * 2], 2, 1).unwrap();
    assert!(h.at(1).is_ok() && h.at(2).is_err());
}

#[test]
fn conversions_keep_the_file() {
    let missing = Path::new("/nonexistent/cells.npz");
    let e = Snapshots::from_npz(missing, "X", "t").unwrap_err();
    let core: am_core::Error = e.into();
    let text = core.to_string();
    assert!(
        text.starts_with("file `/nonexistent/cells.npz`: "),
        "{text}"
    );
    assert!(!text.contains("file ``"), "{text}");
}

/// Semantic mutations of AnnData files written by a valid writer (the HDF5 library itself is not
/// ours to fuzz byte by byte): wrong shapes, missing keys, bad types, impossible CSR arrays,
/// declared sizes far beyond the data. Every one is `Ok` or a typed error, never a panic.
#[cfg(feature = "h5ad")]
#[test]
fn h5ad_semantic_mutations_are_typed_errors() {
    use am_paths::data::h5ad::{read_h5ad, H5adMatrix};
    use hdf5::types::VarLenUnicode;
    use hdf5_metno as hdf5;

    /// What one file holds; every field can be made wrong.
    #[derive(Clone)]
    struct Spec {
        csr: bool,
        shape_attr: Vec<i64>,
        data: Vec<f64>,
        indices: Vec<i64>,
        indptr: Vec<i64>,
        dense_shape: Vec<usize>,
        encoding: &'static str,
        day: Option<Vec<f64>>,
        codes: Option<Vec<i64>>,
        categories: Vec<&'static str>,
        pca_shape: Vec<usize>,
        string_x: bool,
    }
    let (n, d) = (6usize, 3usize);
    let dense: Vec<f64> = (0..n * d).map(|k| (k % 4) as f64).collect();
    let (mut data, mut indices, mut indptr) = (Vec::new(), Vec::new(), vec![0i64]);
    for i in 0..n {
        for j in 0..d {
            if dense[i * d + j] != 0.0 {
                data.push(dense[i * d + j]);
                indices.push(j as i64);
            }
        }
        indptr.push(data.len() as i64);
    }
    let good = Spec {
        csr: true,
        shape_attr: vec![n as i64, d as i64],
        data,
        indices,
        indptr,
        dense_shape: vec![n, d],
        encoding: "csr_matrix",
        day: Some(vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]),
        codes: Some(vec![0, 0, 1, 1, 2, 2]),
        categories: vec!["0", "3", "7"],
        pca_shape: vec![n, 2],
        string_x: false,
    };
    let write = |path: &Path, s: &Spec| -> hdf5::Result<()> {
        let f = hdf5::File::create(path)?;
        if s.string_x {
            let v: Vec<VarLenUnicode> = (0..n).map(|_| "x".parse().unwrap()).collect();
            f.new_dataset::<VarLenUnicode>()
                .shape(n)
                .create("X")?
                .write_raw(&v)?;
        } else if s.csr {
            let g = f.create_group("X")?;
            let enc: VarLenUnicode = s.encoding.parse().unwrap();
            g.new_attr::<VarLenUnicode>()
                .create("encoding-type")?
                .write_scalar(&enc)?;
            g.new_attr::<i64>()
                .shape(s.shape_attr.len())
                .create("shape")?
                .write_raw(&s.shape_attr)?;
            g.new_dataset::<f64>()
                .shape(s.data.len())
                .create("data")?
                .write_raw(&s.data)?;
            g.new_dataset::<i64>()
                .shape(s.indices.len())
                .create("indices")?
                .write_raw(&s.indices)?;
            g.new_dataset::<i64>()
                .shape(s.indptr.len())
                .create("indptr")?
                .write_raw(&s.indptr)?;
        } else {
            let ds = f
                .new_dataset::<f64>()
                .shape(s.dense_shape.clone())
                .create("X")?;
            let count: usize = s.dense_shape.iter().product();
            if count == dense.len() {
                ds.write_raw(&dense)?;
            }
        }
        let obs = f.create_group("obs")?;
        if let Some(day) = &s.day {
            obs.new_dataset::<f64>()
                .shape(day.len())
                .create("day")?
                .write_raw(day)?;
        }
        if let Some(codes) = &s.codes {
            let g = obs.create_group("stage")?;
            g.new_dataset::<i64>()
                .shape(codes.len())
                .create("codes")?
                .write_raw(codes)?;
            let cats: Vec<VarLenUnicode> =
                s.categories.iter().map(|c| c.parse().unwrap()).collect();
            g.new_dataset::<VarLenUnicode>()
                .shape(cats.len())
                .create("categories")?
                .write_raw(&cats)?;
        }
        let obsm = f.create_group("obsm")?;
        obsm.new_dataset::<f64>()
            .shape(s.pca_shape.clone())
            .create("X_pca")?;
        Ok(())
    };
    let mutants: Vec<(&str, &str, Spec)> = vec![
        ("valid", "none", good.clone()),
        (
            "dense",
            "none",
            Spec {
                csr: false,
                ..good.clone()
            },
        ),
        (
            "shape attr of one entry",
            "X",
            Spec {
                shape_attr: vec![6],
                ..good.clone()
            },
        ),
        (
            "empty shape attr",
            "X",
            Spec {
                shape_attr: vec![],
                ..good.clone()
            },
        ),
        (
            "negative shape",
            "X",
            Spec {
                shape_attr: vec![-6, 3],
                ..good.clone()
            },
        ),
        (
            "huge shape",
            "X",
            Spec {
                shape_attr: vec![i64::MAX, i64::MAX],
                ..good.clone()
            },
        ),
        (
            "terabyte shape",
            "X",
            Spec {
                shape_attr: vec![1 << 20, 1 << 20],
                ..good.clone()
            },
        ),
        (
            "zero columns",
            "X",
            Spec {
                shape_attr: vec![6, 0],
                ..good.clone()
            },
        ),
        (
            "indptr short",
            "X",
            Spec {
                indptr: good.indptr[..3].to_vec(),
                ..good.clone()
            },
        ),
        (
            "indptr past nnz",
            "X",
            Spec {
                indptr: good.indptr.iter().map(|v| v * 100).collect(),
                ..good.clone()
            },
        ),
        (
            "indptr negative",
            "X",
            Spec {
                indptr: good.indptr.iter().map(|v| -v).collect(),
                ..good.clone()
            },
        ),
        (
            "indptr decreasing",
            "X",
            Spec {
                indptr: good.indptr.iter().rev().copied().collect(),
                ..good.clone()
            },
        ),
        (
            "indices out of range",
            "X",
            Spec {
                indices: good.indices.iter().map(|v| v + 7).collect(),
                ..good.clone()
            },
        ),
        (
            "indices negative",
            "X",
            Spec {
                indices: good.indices.iter().map(|v| -1 - v).collect(),
                ..good.clone()
            },
        ),
        (
            "data shorter than indices",
            "X",
            Spec {
                data: good.data[1..].to_vec(),
                ..good.clone()
            },
        ),
        (
            "unknown encoding",
            "X",
            Spec {
                encoding: "csc_matrix",
                ..good.clone()
            },
        ),
        (
            "dense declared huge (fill values)",
            "X",
            Spec {
                csr: false,
                dense_shape: vec![1 << 20, 1 << 20],
                ..good.clone()
            },
        ),
        (
            "dense 3-D",
            "X",
            Spec {
                csr: false,
                dense_shape: vec![2, 3, 3],
                ..good.clone()
            },
        ),
        (
            "X of strings",
            "X",
            Spec {
                string_x: true,
                ..good.clone()
            },
        ),
        (
            "no time column",
            "day+stage",
            Spec {
                day: None,
                codes: None,
                ..good.clone()
            },
        ),
        (
            "time column too short",
            "day",
            Spec {
                day: Some(vec![0.0, 1.0]),
                ..good.clone()
            },
        ),
        (
            "non-finite times",
            "day",
            Spec {
                day: Some(vec![0.0, f64::NAN, 1.0, 1.0, 2.0, f64::INFINITY]),
                ..good.clone()
            },
        ),
        (
            "one time point",
            "day",
            Spec {
                day: Some(vec![1.0; 6]),
                ..good.clone()
            },
        ),
        (
            "codes out of range",
            "stage",
            Spec {
                codes: Some(vec![0, 0, 9, 1, -4, 2]),
                ..good.clone()
            },
        ),
        (
            "no categories",
            "stage",
            Spec {
                categories: vec![],
                ..good.clone()
            },
        ),
        (
            "obsm 1-D",
            "obsm",
            Spec {
                pca_shape: vec![6],
                ..good.clone()
            },
        ),
        (
            "obsm too few rows",
            "obsm",
            Spec {
                pca_shape: vec![2, 2],
                ..good.clone()
            },
        ),
        (
            "obsm declared huge",
            "obsm",
            Spec {
                pca_shape: vec![1 << 30, 1 << 10],
                ..good.clone()
            },
        ),
    ];
    let dir = std::env::temp_dir().join(format!("am-h5ad-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reads: [(&str, H5adMatrix, &str); 4] = [
        ("X/day", H5adMatrix::X, "day"),
        ("X/stage", H5adMatrix::X, "stage"),
        ("obsm/day", H5adMatrix::Obsm("X_pca".into()), "day"),
        ("X/missing", H5adMatrix::X, "hour"),
    ];
    let mut failures = Vec::new();
    // which part of the file a read uses: a mutation of that part must be refused
    let uses = |what: &str, part: &str| match part {
        "X" => what.starts_with("X/"),
        "obsm" => what.starts_with("obsm/"),
        "day" => what.ends_with("/day"),
        "stage" => what.ends_with("/stage"),
        "day+stage" => what.ends_with("/day") || what.ends_with("/stage"),
        _ => false,
    };
    for (name, part, spec) in &mutants {
        let path = dir.join(format!("{}.h5ad", name.replace(' ', "_")));
        write(&path, spec).unwrap_or_else(|e| panic!("{name}: the writer refused: {e}"));
        for (what, matrix, key) in &reads {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_h5ad(&path, matrix, key)
            }));
            match out {
                Err(_) => failures.push(format!("{name} ({what}): PANIC")),
                Ok(Err(e)) => {
                    let text = e.to_string();
                    if !text.contains(".h5ad") {
                        failures.push(format!("{name} ({what}): error without the file: {text}"));
                    }
                }
                Ok(Ok(s)) => {
                    if uses(what, part) || *what == "X/missing" {
                        failures.push(format!(
                            "{name} ({what}): accepted ({} cells)",
                            s.counts().iter().sum::<usize>()
                        ));
                    }
                }
            }
        }
    }
    // the valid file reads both ways, with numeric categories as times
    let s = read_h5ad(&dir.join("valid.h5ad"), &H5adMatrix::X, "stage").unwrap();
    assert_eq!(s.times(), &[0.0, 3.0, 7.0]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
