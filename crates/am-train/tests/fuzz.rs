//! Inputs that cannot crash it: every file reader of the workspace fed thousands of mutated and
//! truncated versions of valid files — byte flips, truncation, inserted and deleted runs, header
//! fields set to extremes, shapes whose product overflows or claims terabytes. Every one must
//! return `Ok` or a typed error: never a panic, and never an allocation beyond a bound set by the
//! file's real size (16 GiB-capped expansion for compressed members), measured by a counting
//! allocator. Deterministic (seeded); a failure prints the mutation that caused it.
//!
//! One test function (the allocator's counters are process-wide, so the readers run one at a time).

use am_core::memory::CountingAllocator;
use am_core::SeededRng;
use std::io::Write;
use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Mutants of each valid file.
const MUTANTS: usize = 3000;

/// How a mutant was made (printed on failure).
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(usize, u8)>),
    Truncate(usize),
    Insert(usize, usize),
    Delete(usize, usize),
    Word(usize, u32, bool),
    Splice(usize, Vec<u8>),
}

fn apply(seed: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = seed.to_vec();
    match m {
        Mutation::Flip(v) => {
            for &(i, x) in v {
                b[i] = x;
            }
        }
        Mutation::Truncate(n) => b.truncate(*n),
        Mutation::Insert(at, n) => {
            let run: Vec<u8> = (0..*n).map(|k| (k * 37 % 256) as u8).collect();
            b.splice(*at..*at, run);
        }
        Mutation::Delete(at, n) => {
            let end = (*at + *n).min(b.len());
            b.drain(*at..end);
        }
        Mutation::Word(at, v, big) => {
            let w = if *big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            for (k, x) in w.iter().enumerate() {
                if let Some(slot) = b.get_mut(at + k) {
                    *slot = *x;
                }
            }
        }
        Mutation::Splice(at, bytes) => {
            for (k, x) in bytes.iter().enumerate() {
                if let Some(slot) = b.get_mut(at + k) {
                    *slot = *x;
                }
            }
        }
    }
    b
}

/// Seeded mutations of `seed`; `fields` are (offset, bytes) splices of header fields at extremes.
fn mutations(seed: &[u8], rng: &mut SeededRng, fields: &[(usize, Vec<u8>)]) -> Vec<Mutation> {
    let n = seed.len().max(1);
    let extremes = [
        u32::MAX,
        u32::MAX - 1,
        0x7fff_ffff,
        0x8000_0000,
        0,
        1,
        0xffff,
    ];
    let mut out: Vec<Mutation> = fields
        .iter()
        .map(|(at, b)| Mutation::Splice(*at, b.clone()))
        .collect();
    // every truncation of the first 64 bytes, then random ones
    out.extend((0..seed.len().min(64)).map(Mutation::Truncate));
    while out.len() < MUTANTS {
        let at = rng.below(n);
        out.push(match rng.below(6) {
            0 => Mutation::Flip(
                (0..1 + rng.below(8))
                    .map(|_| (rng.below(n).min(seed.len() - 1), rng.below(256) as u8))
                    .collect(),
            ),
            1 => Mutation::Truncate(rng.below(n)),
            2 => Mutation::Insert(at.min(seed.len()), 1 + rng.below(64)),
            3 => Mutation::Delete(at, 1 + rng.below(64)),
            4 => Mutation::Word(at, extremes[rng.below(extremes.len())], rng.below(2) == 0),
            _ => {
                let (f, b) = &fields[rng
                    .below(fields.len().max(1))
                    .min(fields.len().saturating_sub(1))];
                let mut b = b.clone();
                let i = rng.below(b.len().max(1));
                if let Some(x) = b.get_mut(i) {
                    *x = rng.below(256) as u8;
                }
                Mutation::Splice(*f, b)
            }
        });
    }
    out
}

struct Report {
    failures: Vec<String>,
    cases: usize,
    worst_ratio: f64,
}

/// Runs `read` on every mutant of `seed` written to `file`; allocations may reach
/// `factor` × the mutant's size + 1 MiB.
fn fuzz<T, E: std::fmt::Display>(
    name: &str,
    seed: &[u8],
    file: &Path,
    fields: &[(usize, Vec<u8>)],
    factor: f64,
    report: &mut Report,
    mut read: impl FnMut(&Path) -> Result<T, E>,
) {
    let mut rng = SeededRng::new(name.len() as u64 * 7919);
    assert!(
        read_ok(file, seed, &mut read),
        "{name}: the seed file itself must read"
    );
    for m in mutations(seed, &mut rng, fields) {
        let bytes = apply(seed, &m);
        std::fs::write(file, &bytes).unwrap();
        let (out, peak) = ALLOC.peak_during(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(file).map(|_| ())))
        });
        report.cases += 1;
        let bound = factor * bytes.len() as f64 + (1 << 20) as f64;
        report.worst_ratio = report
            .worst_ratio
            .max(peak as f64 / (bytes.len().max(1)) as f64);
        match out {
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                report
                    .failures
                    .push(format!("{name}: PANIC `{msg}` on {m:?}"))
            }
            Ok(Err(e)) if e.to_string().is_empty() => report
                .failures
                .push(format!("{name}: empty error on {m:?}")),
            _ => {}
        }
        if peak as f64 > bound {
            report.failures.push(format!(
                "{name}: allocated {peak} bytes for a {}-byte file on {m:?}",
                bytes.len()
            ));
        }
    }
}

fn read_ok<T, E>(file: &Path, seed: &[u8], read: &mut impl FnMut(&Path) -> Result<T, E>) -> bool {
    std::fs::write(file, seed).unwrap();
    read(file).is_ok()
}

fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((h.len() as u16).to_le_bytes());
    b.extend(h.as_bytes());
    b.extend(data);
    b
}

fn zip_bytes(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Offsets of every occurrence of `pat` in `b`.
fn find_all(b: &[u8], pat: &[u8]) -> Vec<usize> {
    (0..b.len().saturating_sub(pat.len()))
        .filter(|&i| &b[i..i + pat.len()] == pat)
        .collect()
}

/// Header-field extremes of a zip: declared sizes in local and central headers.
fn zip_fields(b: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut f = Vec::new();
    for at in find_all(b, b"PK\x03\x04") {
        f.push((at + 18, u32::MAX.to_le_bytes().to_vec()));
        f.push((at + 22, u32::MAX.to_le_bytes().to_vec()));
        f.push((at + 22, 0x4000_0000u32.to_le_bytes().to_vec()));
        f.push((at + 26, 0xffffu16.to_le_bytes().to_vec()));
    }
    for at in find_all(b, b"PK\x01\x02") {
        f.push((at + 20, u32::MAX.to_le_bytes().to_vec()));
        f.push((at + 24, u32::MAX.to_le_bytes().to_vec()));
        f.push((at + 24, 0x4000_0000u32.to_le_bytes().to_vec()));
        f.push((at + 42, u32::MAX.to_le_bytes().to_vec()));
    }
    for at in find_all(b, b"PK\x05\x06") {
        f.push((at + 10, 0xffffu16.to_le_bytes().to_vec()));
        f.push((at + 12, u32::MAX.to_le_bytes().to_vec()));
        f.push((at + 16, u32::MAX.to_le_bytes().to_vec()));
    }
    f
}

/// Shape texts at extremes, spliced over the shape of an npy header.
fn npy_fields(b: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut f = vec![
        (8, 0xffffu16.to_le_bytes().to_vec()),
        (6, vec![2, 0, 0xff, 0xff, 0xff, 0xff]),
        (6, vec![9]),
    ];
    for at in find_all(b, b"'shape': (") {
        let s = at + 9;
        for text in [
            "(18446744073709551615, 18446744073709551615)",
            "(4611686018427387904, 4)",
            "(1000000000000, 3)",
            "(99999999999999999999999, 2)",
            ")",
            "(,,,)",
            "(-1, 2)",
        ] {
            f.push((s, text.as_bytes().to_vec()));
        }
    }
    for at in find_all(b, b"'descr': '") {
        for d in ["<f16'", "|V8'", "<c8'", "'", "<U9'"] {
            f.push((at + 10, d.as_bytes().to_vec()));
        }
    }
    f
}

#[test]
fn no_reader_panics_or_overallocates_on_damaged_files() {
    use am_paths::data::csv::{read_csv, CsvSpec, TimeColumn};
    use am_paths::data::images::{read_idx, ImageSet};
    use am_paths::data::npy::{read_npy, Npz};
    use am_paths::Snapshots;

    let started = std::time::Instant::now();
    // panics are caught and reported below, without a backtrace each
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let dir = std::env::temp_dir().join(format!("am-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let mut report = Report {
        failures: Vec::new(),
        cases: 0,
        worst_ratio: 0.0,
    };

    // npy: f8 C-order and i4 Fortran-order
    let f8: Vec<u8> = (0..6)
        .flat_map(|k| (k as f64 * 0.5).to_le_bytes())
        .collect();
    let i4: Vec<u8> = (0..6i32).flat_map(|k| k.to_le_bytes()).collect();
    for (tag, seed) in [
        ("npy f8", npy_bytes("<f8", false, "(3, 2)", &f8)),
        (
            "npy i4 fortran",
            npy_bytes(
                ">i4",
                true,
                "(2, 3)",
                &i4.iter().rev().copied().collect::<Vec<_>>(),
            ),
        ),
    ] {
        let fields = npy_fields(&seed);
        fuzz(
            tag,
            &seed,
            &file("a.npy"),
            &fields,
            40.0,
            &mut report,
            read_npy,
        );
    }

    // npz, stored and deflated: X (6, 2) f8, t (6,) i8
    let x: Vec<u8> = (0..12).flat_map(|k| (k as f64).to_le_bytes()).collect();
    let t: Vec<u8> = [0i64, 0, 1, 1, 2, 2]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let members = vec![
        ("X.npy", npy_bytes("<f8", false, "(6, 2)", &x)),
        ("t.npy", npy_bytes("<i8", false, "(6,)", &t)),
    ];
    for (tag, method, factor) in [
        ("npz stored", zip::CompressionMethod::Stored, 40.0),
        // a deflated member may expand 1032-fold, and its values 8-fold again as f64
        ("npz deflated", zip::CompressionMethod::Deflated, 20_000.0),
    ] {
        let seed = zip_bytes(&members, method);
        let mut fields = zip_fields(&seed);
        fields.extend(npy_fields(&seed));
        fuzz(
            tag,
            &seed,
            &file("a.npz"),
            &fields,
            factor,
            &mut report,
            |p| Snapshots::from_npz(p, "X", "t"),
        );
        fuzz(
            &format!("{tag} members"),
            &seed,
            &file("b.npz"),
            &fields,
            factor,
            &mut report,
            |p| {
                let mut z = Npz::open(p)?;
                for k in z.keys() {
                    let _ = z.array(&k);
                }
                z.array("X")
            },
        );
    }

    // csv with a header and a time column
    let csv = b"a,b,t\n0.1,0.2,0\n0.3,0.4,0\n1.5,1e-3,1\n-2,3,1\n0,0,2\n1,1,2\n".to_vec();
    let spec = CsvSpec {
        header: true,
        time: TimeColumn::Name("t".into()),
        drop_bad_rows: false,
    };
    fuzz(
        "csv",
        &csv,
        &file("a.csv"),
        &[(0, b"\xff\xfe,".to_vec()), (7, b"nan,inf,-0".to_vec())],
        40.0,
        &mut report,
        |p| read_csv(p, &spec),
    );

    // IDX images (3 × 2 × 2) and labels, plain and gzipped
    let mut idx = vec![0, 0, 8, 3];
    for d in [3u32, 2, 2] {
        idx.extend(d.to_be_bytes());
    }
    idx.extend(0..12u8);
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(3u32.to_be_bytes());
    labels.extend([1, 2, 3]);
    std::fs::write(file("labels.idx"), &labels).unwrap();
    let idx_fields = vec![
        (3, vec![0xff]),
        (4, u32::MAX.to_be_bytes().to_vec()),
        (8, u32::MAX.to_be_bytes().to_vec()),
        (
            4,
            vec![
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ),
    ];
    fuzz(
        "idx",
        &idx,
        &file("a.idx"),
        &idx_fields,
        40.0,
        &mut report,
        read_idx,
    );
    let labels_path = file("labels.idx");
    fuzz(
        "idx images",
        &idx,
        &file("b.idx"),
        &idx_fields,
        40.0,
        &mut report,
        |p| ImageSet::from_idx(p, &labels_path),
    );
    let gzipped = gz(&idx);
    let n = gzipped.len();
    let gz_fields = vec![
        (n - 4, u32::MAX.to_le_bytes().to_vec()),
        (3, vec![0xff]),
        (10, vec![0; 4]),
    ];
    fuzz(
        "idx gz",
        &gzipped,
        &file("a.idx.gz"),
        &gz_fields,
        2_000.0,
        &mut report,
        read_idx,
    );

    // CIFAR-10 binary: two records
    let mut cifar = Vec::new();
    for label in [3u8, 9] {
        cifar.push(label);
        cifar.extend((0..3072).map(|k| (k % 251) as u8));
    }
    fuzz(
        "cifar",
        &cifar,
        &file("a.bin"),
        &[(0, vec![10]), (3073, vec![255])],
        40.0,
        &mut report,
        |p| ImageSet::from_cifar_bin(&[p]),
    );

    // the 8×8 digits csv, gzipped
    let row: String = (0..64)
        .map(|k| (k % 17).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let digits = gz(format!("{row},3\n{row},7\n").as_bytes());
    fuzz(
        "digits gz",
        &digits,
        &file("d.csv.gz"),
        &[(digits.len() - 4, u32::MAX.to_le_bytes().to_vec())],
        2_000.0,
        &mut report,
        ImageSet::from_digits_csv,
    );

    model_files(&dir, &mut report);

    std::panic::set_hook(hook);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: {} cases in {secs:.1} s, {} failures; largest allocation {:.1}× the file",
        report.cases,
        report.failures.len(),
        report.worst_ratio
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        report.failures.is_empty(),
        "{} failures, the first:\n{}",
        report.failures.len(),
        report.failures[..report.failures.len().min(12)].join("\n")
    );
}

/// Training checkpoints, model files, MLP and snapshot-model files.
fn model_files(dir: &Path, report: &mut Report) {
    use am_core::{Checkpoint, DType, Device, ModelFile};
    use am_models::{Mlp, MlpConfig};
    let mlp = Mlp::new(
        MlpConfig {
            dim: 2,
            hidden: vec![4],
            ..Default::default()
        },
        &mut SeededRng::new(0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let path = dir.join("m.safetensors");
    mlp.save(&path).unwrap();
    let seed = std::fs::read(&path).unwrap();
    let mut fields = vec![
        (0, u64::MAX.to_le_bytes().to_vec()),
        (0, (1u64 << 40).to_le_bytes().to_vec()),
        (0, 7u64.to_le_bytes().to_vec()),
    ];
    for pat in [&b"[4]"[..], b"[2,4]", b"[1,4]"] {
        for at in find_all(&seed, pat) {
            fields.push((at, b"[18446744073709551615]".to_vec()));
            fields.push((at, b"[4294967296,4294967296]".to_vec()));
        }
    }
    for at in find_all(&seed, b"\"data_offsets\":[") {
        fields.push((at + 16, b"999999999999,1".to_vec()));
        fields.push((at + 16, b"18446744073709551615".to_vec()));
    }
    for at in find_all(&seed, br#"\"hidden\":["#) {
        fields.push((at + 11, b"0]".to_vec()));
        fields.push((at + 11, b"4294967296]".to_vec()));
    }
    let target = dir.join("f.safetensors");
    fuzz("model file", &seed, &target, &fields, 40.0, report, |p| {
        ModelFile::load(p, "mlp", &Device::Cpu)
    });
    fuzz("Mlp::load", &seed, &target, &fields, 40.0, report, |p| {
        Mlp::load(p, &Device::Cpu)
    });
    // a snapshot model: the preprocessing, dynamics and left-out point in the metadata
    let snap = am_train::snapshots::SnapshotModel {
        mlp: mlp.clone(),
        preprocessing: am_train::snapshots::Preprocessing {
            dims: 2,
            mean: vec![0.5, -1.0],
            std: vec![2.0, 0.25],
            t_first: 0.0,
            t_last: 7.0,
        },
        dynamics: am_train::snapshots::Dynamics {
            eps: 0.1,
            lambda: 0.0,
        },
        leave_out: Some(1),
        trained_on: "{}".into(),
    };
    let snap_path = dir.join("s.safetensors");
    snap.save(&snap_path).unwrap();
    let snap_seed = std::fs::read(&snap_path).unwrap();
    let mut snap_fields = fields.clone();
    for (pat, text) in [
        (&br#"\"dims\":2"#[..], &br#"\"dims\":9"#[..]),
        (br#"\"std\":[2.0"#, br#"\"std\":[0.0"#),
        (br#"\"t_last\":7.0"#, br#"\"t_last\":-1."#),
    ] {
        for at in find_all(&snap_seed, pat) {
            snap_fields.push((at, text.to_vec()));
        }
    }
    assert!(
        snap_fields.len() > fields.len(),
        "the metadata fields are found"
    );
    fuzz(
        "SnapshotModel::load",
        &snap_seed,
        &target,
        &snap_fields,
        40.0,
        report,
        |p| am_train::snapshots::SnapshotModel::load(p, &Device::Cpu).map(|_| ()),
    );
    // a trainer checkpoint
    use am_objectives::{ActionMatching, AmConfig};
    use am_train::{EngineChoice, MlpEngine, TrainConfig, Trainer};
    let objective = ActionMatching::new(AmConfig::default()).unwrap();
    let config = TrainConfig::new(2, 8, 1e-3);
    let (engine, _) =
        MlpEngine::new(mlp.clone(), &objective, config.adam, EngineChoice::Fused).unwrap();
    let mut trainer = Trainer::new(engine, objective.clone(), config.clone()).unwrap();
    let ckpt = dir.join("ck.safetensors");
    trainer.save_checkpoint(&ckpt).unwrap();
    let seed = std::fs::read(&ckpt).unwrap();
    let mut fields = vec![(0, u64::MAX.to_le_bytes().to_vec())];
    for at in find_all(&seed, br#"am.step":""#) {
        fields.push((at + 10, b"99999999999999999999999".to_vec()));
    }
    fuzz("checkpoint", &seed, &target, &fields, 40.0, report, |p| {
        Checkpoint::load(p, &Device::Cpu)
    });
    fuzz("resume", &seed, &target, &fields, 40.0, report, |p| {
        trainer.resume(p)
    });
}
