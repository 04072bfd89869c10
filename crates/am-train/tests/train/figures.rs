//! Figures are drawn with the embedded font (no system font needed) and refuse empty data.

use am_train::figures::{
    histogram, line_chart, panels, ramp, scatter_with_path_groups, scatter_with_paths, Group,
    Labels, Panel, PathGroup, Series, Style,
};

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
        style: Style::LineAndMarkers,
    };
    let floor = Series {
        label: "noise floor".into(),
        points: vec![(0.0, 1e-6)],
        color: ramp(1, 2),
        style: Style::Reference,
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
    let two = [
        PathGroup {
            label: "field A".into(),
            paths: paths.clone(),
            color: ramp(0, 2),
        },
        PathGroup {
            label: "field B".into(),
            paths: vec![vec![(0.0, 1.0), (2.0, -1.0)]],
            color: ramp(1, 2),
        },
    ];
    let png3 = d.join("paths.png");
    scatter_with_path_groups(&png3, &labels, &groups[..1], &two).unwrap();
    assert_eq!(png_size(&png3), (900, 760));
    let column: Vec<Panel> = (0..3)
        .map(|k| Panel {
            labels: labels.clone(),
            series: vec![Series {
                label: format!("panel {k}"),
                points: histogram(&[0.1, 0.2, 0.7], None, (0.0, 1.0), 4).unwrap(),
                color: ramp(k, 3),
                style: if k == 0 { Style::Markers } else { Style::Line },
            }],
        })
        .collect();
    let png4 = d.join("panels.png");
    panels(&png4, "three panels", &column, false).unwrap();
    assert_eq!(png_size(&png4), (900, 60 + 3 * 330));
    let err = line_chart(&d.join("empty.png"), &labels, &[], false).unwrap_err();
    assert!(err.to_string().contains("empty.png"), "{err}");
    let err = panels(&d.join("none.png"), "t", &[], false).unwrap_err();
    assert!(err.to_string().contains("none.png"), "{err}");
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

#[test]
fn histogram_outline_integrates_to_the_mass_inside_the_range() {
    let values = [-0.5, 0.05, 0.3, 0.31, 0.99, 1.0, 2.0, f64::NAN];
    let weights = [1.0, 0.5, 0.25, 0.25, 0.5, 0.5, 3.0, 1.0];
    let h = histogram(&values, Some(&weights), (0.0, 1.0), 5).unwrap();
    assert_eq!(h.len(), 12);
    assert_eq!((h[0], h[11]), ((0.0, 0.0), (1.0, 0.0)));
    // the integral of the step outline: Σ density · width over the bins
    let area: f64 = h[1..11].chunks(2).map(|s| s[0].1 * (s[1].0 - s[0].0)).sum();
    assert!((area - 2.0).abs() < 1e-12, "{area}");
    // 0.3 and 0.31 share bin 1 ([0.2, 0.4)): density (0.25 + 0.25) / 0.2
    assert!((h[3].1 - 2.5).abs() < 1e-12, "{:?}", h[3]);
    // without weights each value has mass 1/N
    let u = histogram(&[0.1, 0.6], None, (0.0, 1.0), 2).unwrap();
    assert_eq!((u[1].1, u[3].1), (1.0, 1.0));
    for (bad, arg) in [
        (histogram(&values, None, (0.0, 1.0), 0), "bins"),
        (histogram(&values, None, (1.0, 1.0), 3), "range"),
        (
            histogram(&values, Some(&weights[..2]), (0.0, 1.0), 3),
            "weights",
        ),
        (histogram(&[0.5], Some(&[-1.0]), (0.0, 1.0), 3), "weights"),
    ] {
        let e = bad.unwrap_err().to_string();
        assert!(e.starts_with(arg), "{e}");
    }
}
