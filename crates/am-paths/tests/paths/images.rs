//! Image data and the generative interpolants.

use am_core::{DType, Device, SeededRng, Tensor};
use am_paths::data::images::{read_idx, ImageSet};
use am_paths::image_paths::{
    colourisation, gray, linear, super_resolution_paper, super_resolution_reference, vp,
    vp_coefficients,
};
use am_paths::DataError;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/paths/fixtures")
        .join(name)
}

#[test]
fn idx_cifar_and_digits_readers() {
    for gz in ["", ".gz"] {
        let set = ImageSet::from_idx(
            &fixture(&format!("tiny-images-idx3-ubyte{gz}")),
            &fixture(&format!("tiny-labels-idx1-ubyte{gz}")),
        )
        .unwrap();
        assert_eq!(
            (set.len(), set.shape, set.labels.clone()),
            (3, (1, 2, 3), vec![7, 0, 9])
        );
        assert_eq!(set.pixels[..6], [0, 10, 20, 30, 40, 50]);
    }
    assert!(matches!(
        ImageSet::from_idx(
            &fixture("tiny-images-idx3-ubyte"),
            &fixture("bad-labels-idx1-ubyte")
        ),
        Err(DataError::Shape { .. })
    ));
    assert!(matches!(
        read_idx(&fixture("good.csv")),
        Err(DataError::Format { .. })
    ));
    let c = ImageSet::from_cifar_bin(&[&fixture("tiny_cifar.bin")]).unwrap();
    assert_eq!(
        (c.len(), c.shape, c.labels.clone()),
        (2, (3, 32, 32), vec![3, 8])
    );
    assert_eq!(
        c.pixels[3072 + 1],
        9,
        "second record: byte 1 of (arange·9) mod 256"
    );
    assert!(matches!(
        ImageSet::from_cifar_bin(&[&fixture("good.csv")]),
        Err(DataError::Format { .. })
    ));
    // dequantised batches lie in [−1, 1); without dequantisation the extremes map to ±1
    let mut rng = SeededRng::new(1);
    let b = c
        .batch(&[0, 1], Some(&mut rng), true, DType::F64, &Device::Cpu)
        .unwrap();
    assert_eq!(b.dims(), &[2, 3, 32, 32]);
    let v: Vec<f64> = b.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
    let plain: Vec<f64> = c
        .batch(&[0], None, false, DType::F64, &Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(plain[0], -1.0);
    assert!(c
        .batch(&[5], None, false, DType::F64, &Device::Cpu)
        .is_err());
    // Fashion-MNIST as Debian installs it (apt-get install dataset-fashion-mnist), if present
    let fm = Path::new("/usr/share/datasets/fashion-mnist");
    if fm.exists() {
        let set = ImageSet::from_idx(
            &fm.join("t10k-images-idx3-ubyte.gz"),
            &fm.join("t10k-labels-idx1-ubyte.gz"),
        )
        .unwrap();
        assert_eq!(
            (set.len(), set.shape, set.levels),
            (10_000, (1, 28, 28), 256)
        );
        assert!(set.labels.iter().all(|l| *l <= 9));
        assert!(set.pixels.contains(&255) && set.pixels.contains(&0));
    } else {
        eprintln!(
            "SKIPPED: Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)"
        );
    }
    // the digits of ../shared (skipped on a fresh clone)
    let digits =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/images/digits.csv.gz");
    if digits.exists() {
        let d = ImageSet::from_digits_csv(&digits).unwrap();
        assert_eq!((d.len(), d.shape, d.levels), (1797, (1, 8, 8), 17));
        assert!(d.pixels.iter().all(|p| *p <= 16) && d.labels.iter().all(|l| *l <= 9));
    } else {
        eprintln!("SKIPPED: {} is absent", digits.display());
    }
}

fn images(seed: u64) -> (Tensor, Tensor, Tensor) {
    let mut rng = SeededRng::new(seed);
    let x0 = rng
        .normal_tensor(&[3, 3, 4, 4], DType::F64, &Device::Cpu)
        .unwrap();
    let x1 = rng
        .uniform_tensor(&[3, 3, 4, 4], -1.0, 1.0, DType::F64, &Device::Cpu)
        .unwrap();
    let t = Tensor::new(&[[0.0f64], [0.3], [1.0]], &Device::Cpu).unwrap();
    (x0, x1, t)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn interpolants_hit_their_endpoints() {
    let (x0, x1, t) = images(2);
    let at = |x: &Tensor, i: usize| x.get(i).unwrap();
    let xt = linear(&x0, &x1, &t).unwrap();
    assert!(
        max_diff(&at(&xt, 0), &at(&x0, 0)) < 1e-15 && max_diff(&at(&xt, 2), &at(&x1, 2)) < 1e-15
    );
    // VP: the data end is exact; the noise end keeps e^{−5.025} of the data
    let (a1, s1) = vp_coefficients(1.0, 0.1, 20.0);
    assert!((a1 - (-5.025f64).exp()).abs() < 1e-15 && (s1 * s1 + a1 * a1 - 1.0).abs() < 1e-15);
    let v = vp(&x0, &x1, &t, 0.1, 20.0).unwrap();
    assert!(max_diff(&at(&v, 2), &at(&x1, 2)) < 1e-15);
    let want0 = ((at(&x1, 0) * a1).unwrap() + (at(&x0, 0) * s1).unwrap()).unwrap();
    assert!(max_diff(&at(&v, 0), &want0) < 1e-15);
    // super-resolution (paper): kept pixels are data at every t, the rest noise at t = 0
    let (sr, low) = super_resolution_paper(&x0, &x1, &t).unwrap();
    assert_eq!(low.dims(), &[3, 3, 2, 2]);
    let s0: Vec<f64> = at(&sr, 0).flatten_all().unwrap().to_vec1().unwrap();
    let d0: Vec<f64> = at(&x1, 0).flatten_all().unwrap().to_vec1().unwrap();
    let n0: Vec<f64> = at(&x0, 0).flatten_all().unwrap().to_vec1().unwrap();
    for k in 0..16 {
        let kept = (k / 4) % 2 == 0 && (k % 4) % 2 == 0;
        assert_eq!(s0[k], if kept { d0[k] } else { n0[k] }, "pixel {k}");
    }
    assert!(max_diff(&at(&sr, 2), &at(&x1, 2)) < 1e-15);
    // super-resolution (reference code): 3 of 4 pixels start at the bilinear upsampling, 1 at noise
    let (rr, cond) = super_resolution_reference(&x0, &x1, &t).unwrap();
    assert_eq!(cond.dims(), x1.dims());
    let r0: Vec<f64> = at(&rr, 0).flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(r0[5], n0[5], "bottom-right of the first block is noise");
    assert!(max_diff(&at(&rr, 2), &at(&x1, 2)) < 1e-15);
    // colourisation: starts at grey + 0.1·noise, ends at the data; the condition is grey
    let (cz, g) = colourisation(&x0, &x1, &t).unwrap();
    assert!(max_diff(&g, &gray(&x1).unwrap()) < 1e-15);
    let start = ((at(&x0, 0) * 0.1).unwrap() + at(&g, 0)).unwrap();
    assert!(max_diff(&at(&cz, 0), &start) < 1e-15 && max_diff(&at(&cz, 2), &at(&x1, 2)) < 1e-15);
    let gv: Vec<f64> = at(&g, 1).flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(gv[0], gv[16], "grey is the same in every channel");
    // bad shapes
    let odd = Tensor::zeros((3, 3, 3, 3), DType::F64, &Device::Cpu).unwrap();
    assert!(super_resolution_paper(&odd, &odd, &t).is_err());
    assert!(linear(
        &x0,
        &x1,
        &Tensor::zeros((2, 1), DType::F64, &Device::Cpu).unwrap()
    )
    .is_err());
}

#[test]
fn jpeg_tar_reader_decodes_cifar_files_like_pillow() {
    let tar = fixture("cifar_jpeg_excerpt.tar.gz");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("cifar_jpeg_excerpt.json")).unwrap())
            .unwrap();
    for split in ["train", "test"] {
        let set = ImageSet::from_image_tar(&tar, split).unwrap();
        assert_eq!((set.shape, set.levels), ((3, 32, 32), 256));
        // the files of this split in (class, name) order; labels by sorted class rank
        let mut want: Vec<&serde_json::Value> = reference
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["split"] == split)
            .collect();
        want.sort_by_key(|r| (r["class"].as_str().unwrap(), r["file"].as_str().unwrap()));
        let mut classes: Vec<&str> = want.iter().map(|r| r["class"].as_str().unwrap()).collect();
        classes.dedup();
        assert_eq!(set.len(), want.len(), "{split}");
        for (i, r) in want.iter().enumerate() {
            let rank = classes
                .binary_search(&r["class"].as_str().unwrap())
                .unwrap();
            assert_eq!(set.labels[i] as usize, rank);
            let img = &set.pixels[i * 3072..(i + 1) * 3072];
            for c in 0..3 {
                let plane = &img[c * 1024..(c + 1) * 1024];
                let sum: i64 = plane.iter().map(|&v| v as i64).sum();
                let want_sum = r["plane_sums"][c].as_i64().unwrap();
                // two JPEG decoders may differ by a level here and there (IDCT rounding)
                assert!(
                    (sum - want_sum).abs() as f64 <= 0.5 * 1024.0,
                    "{split} {i} plane {c}: {sum} vs {want_sum}"
                );
                for (k, v) in plane.iter().take(8).enumerate() {
                    let w = r["first"][c][k].as_i64().unwrap();
                    assert!(
                        (*v as i64 - w).abs() <= 2,
                        "{split} {i} plane {c} px {k}: {v} vs {w}"
                    );
                }
            }
        }
    }
    // a split that is not in the archive, and a file that is not a tar archive
    match ImageSet::from_image_tar(&tar, "valid") {
        Err(DataError::Format { reason, .. }) => assert!(reason.contains("valid/"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(ImageSet::from_image_tar(&fixture("good.csv"), "train").is_err());
}

/// The whole CIFAR-10 JPEG archive, where `../shared/data` is present: 50,000 + 10,000 images,
/// 5,000 / 1,000 per class, and the per-channel train means of Pillow's decoding.
#[test]
fn the_cifar10_jpeg_archive_where_present() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/images/cifar10-jpeg.tar.gz");
    if !path.is_file() {
        eprintln!("SKIPPED: no {} on this machine", path.display());
        return;
    }
    let train = ImageSet::from_image_tar(&path, "train").unwrap();
    let test = ImageSet::from_image_tar(&path, "test").unwrap();
    assert_eq!((train.len(), test.len()), (50_000, 10_000));
    for k in 0..10u8 {
        assert_eq!(train.labels.iter().filter(|&&l| l == k).count(), 5000);
        assert_eq!(test.labels.iter().filter(|&&l| l == k).count(), 1000);
    }
    let mut sums = [0f64; 3];
    for img in train.pixels.chunks(3072) {
        for (c, s) in sums.iter_mut().enumerate() {
            *s += img[c * 1024..(c + 1) * 1024]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
    }
    // Pillow (libjpeg) decodes means 0.49125, 0.48209, 0.44652; the `image` crate's decoder
    // differs in chroma upsampling, which moves blue by about a third of a level on average
    for (c, want) in [0.49125, 0.48209, 0.44652].iter().enumerate() {
        let mean = sums[c] / (50_000.0 * 1024.0 * 255.0);
        eprintln!("channel {c}: mean {mean:.5} (Pillow {want})");
        assert!((mean - want).abs() < 2e-3, "channel {c}: {mean} vs {want}");
    }
}
