//! The layer table of the FID Inception-v3 network (the TensorFlow-port layout of
//! `pt_inception-2015-12-05`): every convolution's name in the weight file, its stride and its
//! zero padding (rows, columns), and the pools between them. Kernel sizes come from the weights.
//!
//! Each convolution is conv (no bias) → batch norm without scale (β, running mean and variance,
//! ε = 1e-3) → ReLU. The blocks, for a 299×299 input:
//! - stem: 3×3/2, 3×3, 3×3 same, max 3×3/2, 1×1, 3×3, max 3×3/2 → 192×35×35;
//! - `mixed`, `mixed_1`, `mixed_2` (A): 1×1 | 1×1, 5×5 | 1×1, 3×3, 3×3 | avg 3×3 same → 1×1;
//! - `mixed_3` (B, reduction): 3×3/2 | 1×1, 3×3, 3×3/2 | max 3×3/2 → 768×17×17;
//! - `mixed_4` … `mixed_7` (C): 1×1 | 1×1, 1×7, 7×1 | 1×1, 7×1, 1×7, 7×1, 1×7 | avg → 1×1;
//! - `mixed_8` (D, reduction): 1×1, 3×3/2 | 1×1, 1×7, 7×1, 3×3/2 | max 3×3/2 → 1280×8×8;
//! - `mixed_9`, `mixed_10` (E): 1×1 | 1×1 → (1×3, 3×1) | 1×1, 3×3 → (1×3, 3×1) | pool → 1×1,
//!   where the pool is an average that excludes padding in `mixed_9` and a **max** pool in
//!   `mixed_10` (the TF graph's quirk that FID implementations must keep) → 2048×8×8;
//! - the pool3 features: the mean over the 8×8 positions, 2048 per image.
//!
//! Average pools "same" divide by the number of real (non-padding) pixels in the window
//! (`count_include_pad = False`).

/// One convolution (+ batch norm + ReLU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvSpec {
    /// Its name in the weight file: `<name>.weight`, `.beta`, `.mean`, `.var`.
    pub name: String,
    /// Stride (both directions).
    pub stride: usize,
    /// Zero padding (rows, columns).
    pub padding: (usize, usize),
}

/// One step of a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A convolution.
    Conv(ConvSpec),
    /// Max pool 3×3, stride 2, no padding.
    MaxPool3Stride2,
    /// Average pool 3×3, stride 1, padding 1, dividing by the pixels inside the image.
    AvgPool3Same,
    /// Max pool 3×3, stride 1, padding 1.
    MaxPool3Same,
}

/// A branch of a block: steps in order, then optionally two or more convolutions applied to the
/// branch's result side by side (the E blocks' 1×3 / 3×1 pairs), concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Convolutions applied side by side to the result of `steps` (empty: none).
    pub split: Vec<ConvSpec>,
}

/// A block: its branches, whose outputs are concatenated along channels in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block's name (`stem`, `mixed`, …, `mixed_10`).
    pub name: String,
    /// The branches.
    pub branches: Vec<Branch>,
}

impl Block {
    /// Every convolution of the block, in order.
    pub fn convs(&self) -> impl Iterator<Item = &ConvSpec> {
        self.branches.iter().flat_map(|b| {
            b.steps
                .iter()
                .filter_map(|s| match s {
                    Step::Conv(c) => Some(c),
                    _ => None,
                })
                .chain(b.split.iter())
        })
    }
}

fn conv(name: String, stride: usize, padding: (usize, usize)) -> ConvSpec {
    ConvSpec {
        name,
        stride,
        padding,
    }
}

fn c(name: String, stride: usize, padding: (usize, usize)) -> Step {
    Step::Conv(conv(name, stride, padding))
}

fn branch(steps: Vec<Step>) -> Branch {
    Branch {
        steps,
        split: vec![],
    }
}

fn block_a(m: &str) -> Block {
    Block {
        name: m.into(),
        branches: vec![
            branch(vec![c(format!("{m}.conv"), 1, (0, 0))]),
            branch(vec![
                c(format!("{m}.tower.conv"), 1, (0, 0)),
                c(format!("{m}.tower.conv_1"), 1, (2, 2)),
            ]),
            branch(vec![
                c(format!("{m}.tower_1.conv"), 1, (0, 0)),
                c(format!("{m}.tower_1.conv_1"), 1, (1, 1)),
                c(format!("{m}.tower_1.conv_2"), 1, (1, 1)),
            ]),
            branch(vec![
                Step::AvgPool3Same,
                c(format!("{m}.tower_2.conv"), 1, (0, 0)),
            ]),
        ],
    }
}

fn block_b(m: &str) -> Block {
    Block {
        name: m.into(),
        branches: vec![
            branch(vec![c(format!("{m}.conv"), 2, (0, 0))]),
            branch(vec![
                c(format!("{m}.tower.conv"), 1, (0, 0)),
                c(format!("{m}.tower.conv_1"), 1, (1, 1)),
                c(format!("{m}.tower.conv_2"), 2, (0, 0)),
            ]),
            branch(vec![Step::MaxPool3Stride2]),
        ],
    }
}

fn block_c(m: &str) -> Block {
    let (row, col) = ((0, 3), (3, 0)); // 1×7 and 7×1, "same"
    Block {
        name: m.into(),
        branches: vec![
            branch(vec![c(format!("{m}.conv"), 1, (0, 0))]),
            branch(vec![
                c(format!("{m}.tower.conv"), 1, (0, 0)),
                c(format!("{m}.tower.conv_1"), 1, row),
                c(format!("{m}.tower.conv_2"), 1, col),
            ]),
            branch(vec![
                c(format!("{m}.tower_1.conv"), 1, (0, 0)),
                c(format!("{m}.tower_1.conv_1"), 1, col),
                c(format!("{m}.tower_1.conv_2"), 1, row),
                c(format!("{m}.tower_1.conv_3"), 1, col),
                c(format!("{m}.tower_1.conv_4"), 1, row),
            ]),
            branch(vec![
                Step::AvgPool3Same,
                c(format!("{m}.tower_2.conv"), 1, (0, 0)),
            ]),
        ],
    }
}

fn block_d(m: &str) -> Block {
    Block {
        name: m.into(),
        branches: vec![
            branch(vec![
                c(format!("{m}.tower.conv"), 1, (0, 0)),
                c(format!("{m}.tower.conv_1"), 2, (0, 0)),
            ]),
            branch(vec![
                c(format!("{m}.tower_1.conv"), 1, (0, 0)),
                c(format!("{m}.tower_1.conv_1"), 1, (0, 3)),
                c(format!("{m}.tower_1.conv_2"), 1, (3, 0)),
                c(format!("{m}.tower_1.conv_3"), 2, (0, 0)),
            ]),
            branch(vec![Step::MaxPool3Stride2]),
        ],
    }
}

fn block_e(m: &str, pool: Step) -> Block {
    let pair = |prefix: &str| {
        vec![
            conv(format!("{m}.{prefix}mixed_conv"), 1, (0, 1)),
            conv(format!("{m}.{prefix}mixed_conv_1"), 1, (1, 0)),
        ]
    };
    Block {
        name: m.into(),
        branches: vec![
            branch(vec![c(format!("{m}.conv"), 1, (0, 0))]),
            Branch {
                steps: vec![c(format!("{m}.tower_conv"), 1, (0, 0))],
                split: pair("tower_"),
            },
            Branch {
                steps: vec![
                    c(format!("{m}.tower_1_conv"), 1, (0, 0)),
                    c(format!("{m}.tower_1_conv_1"), 1, (1, 1)),
                ],
                split: pair("tower_1_"),
            },
            branch(vec![pool, c(format!("{m}.tower_2_conv"), 1, (0, 0))]),
        ],
    }
}

/// The network's blocks in order (see the module docs); 94 convolutions.
pub fn layout() -> Vec<Block> {
    let stem = Block {
        name: "stem".into(),
        branches: vec![branch(vec![
            c("conv".into(), 2, (0, 0)),
            c("conv_1".into(), 1, (0, 0)),
            c("conv_2".into(), 1, (1, 1)),
            Step::MaxPool3Stride2,
            c("conv_3".into(), 1, (0, 0)),
            c("conv_4".into(), 1, (0, 0)),
            Step::MaxPool3Stride2,
        ])],
    };
    vec![
        stem,
        block_a("mixed"),
        block_a("mixed_1"),
        block_a("mixed_2"),
        block_b("mixed_3"),
        block_c("mixed_4"),
        block_c("mixed_5"),
        block_c("mixed_6"),
        block_c("mixed_7"),
        block_d("mixed_8"),
        block_e("mixed_9", Step::AvgPool3Same),
        block_e("mixed_10", Step::MaxPool3Same),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_has_94_distinct_convolutions() {
        let names: std::collections::BTreeSet<String> = layout()
            .iter()
            .flat_map(|b| b.convs().map(|c| c.name.clone()).collect::<Vec<_>>())
            .collect();
        assert_eq!(names.len(), 94);
    }
}
