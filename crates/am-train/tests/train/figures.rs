//! Figures are drawn with the embedded font (no system font needed) and refuse empty data.

use am_train::figures::{line_chart, ramp, scatter_with_paths, Group, Labels, Series};

#[test]
fn figures_are_written_with_axes_and_legends() {
    let d = std::env::temp_dir().join(format!("am-fig-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let curve = Series {
        label: "model".into(),
        points: (1..=10)
            .map(|k| (k as f64 * 1000.0, 10f64.powi(-k)))
            .collect(),
        color: ramp(0, 2),
        reference: false,
    };
    let floor = Series {
        label: "noise floor".into(),
        points: vec![(0.0, 1e-6)],
        color: ramp(1, 2),
        reference: true,
    };
    let labels = Labels {
        title: "MMD² against steps",
        x: "training step",
        y: "MMD² (log scale)",
    };
    let png = d.join("curve.png");
    line_chart(&png, &labels, &[curve, floor], true).unwrap();
    let (w, h) = png_size(&png);
    assert_eq!((w, h), (900, 600));
    let groups: Vec<Group> = (0..3)
        .map(|k| Group {
            label: format!("day {k}"),
            points: (0..50)
                .map(|i| (k as f64 + 0.01 * i as f64, (i as f64).sin()))
                .collect(),
            color: ramp(k, 3),
        })
        .collect();
    let paths = vec![vec![(0.0, 0.0), (1.0, 0.5), (2.0, 0.2)]];
    let png2 = d.join("scatter.png");
    scatter_with_paths(&png2, &labels, &groups, &paths, "trajectories").unwrap();
    assert_eq!(png_size(&png2), (900, 760));
    let err = line_chart(&d.join("empty.png"), &labels, &[], false).unwrap_err();
    assert!(err.to_string().contains("empty.png"), "{err}");
    if std::env::var("AM_KEEP_FIGURES").is_err() {
        std::fs::remove_dir_all(&d).ok();
    }
}

fn png_size(p: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[1..4], b"PNG");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}
