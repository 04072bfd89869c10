//! The model-free baselines of the protocols (see the parent module's docs).

use super::{cells, score, Score};
use crate::{Error, Result};
use am_core::rng::tensor_from_f64;
use am_core::{DType, Device};
use am_paths::{OtPairedPath, Snapshots};

fn mean_of(s: &Snapshots, k: usize) -> Result<Vec<f64>> {
    let d = s.dim();
    let g = s.group(k)?;
    let n = (g.len() / d) as f64;
    Ok((0..d)
        .map(|j| g.chunks(d).map(|r| r[j]).sum::<f64>() / n)
        .collect())
}

/// The model-free baselines of transition k (see the module docs); `left_out`: t_k is not in
/// the training data the baselines may use.
pub fn baseline_scores(
    train: &Snapshots,
    test: &Snapshots,
    k: usize,
    left_out: bool,
) -> Result<Vec<(String, Score)>> {
    let d = train.dim();
    let tau = train.times();
    let truth = cells(test, k)?;
    let x0 = test.group(k - 1)?;
    let mut out = Vec::new();
    let n0 = x0.len() / d;
    let from = tensor_from_f64(x0.to_vec(), &[n0, d], DType::F32, &Device::Cpu)?;
    out.push(("identity".to_string(), score(&from, &truth, None)?));
    // the training mean at t_k (interpolated when t_k is left out)
    let (m0, mk) = if left_out {
        let (a, b) = (mean_of(train, k - 1)?, mean_of(train, k + 1)?);
        let f = (tau[k] - tau[k - 1]) / (tau[k + 1] - tau[k - 1]);
        let mk = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (1.0 - f) * x + f * y)
            .collect();
        (a, mk)
    } else {
        (mean_of(train, k - 1)?, mean_of(train, k)?)
    };
    let shifted: Vec<f64> = x0
        .chunks(d)
        .flat_map(|r| {
            r.iter()
                .zip(m0.iter().zip(&mk))
                .map(|(x, (a, b))| x + b - a)
                .collect::<Vec<_>>()
        })
        .collect();
    let shifted = tensor_from_f64(shifted, &[n0, d], DType::F32, &Device::Cpu)?;
    out.push(("mean shift".to_string(), score(&shifted, &truth, None)?));
    let interp = if left_out {
        let (rest, t_k, _) = train.leave_out(k)?;
        let (pts, mass) = OtPairedPath::new(&rest)?.measure_at(t_k);
        let n = mass.len();
        let total: f64 = mass.iter().sum();
        let x = tensor_from_f64(pts, &[n, d], DType::F32, &Device::Cpu)?;
        let w = tensor_from_f64(
            mass.iter().map(|m| m / total).collect(),
            &[n, 1],
            DType::F32,
            &Device::Cpu,
        )?;
        score(&x, &truth, Some(&w))?
    } else {
        score(&cells(train, k)?, &truth, None)?
    };
    out.push(("OT interpolation".to_string(), interp));
    // the barycentric OT displacement of the nearest training cell
    let (target, fraction) = if left_out {
        (k + 1, (tau[k] - tau[k - 1]) / (tau[k + 1] - tau[k - 1]))
    } else {
        (k, 1.0)
    };
    let moved = ot_displacement(train.group(k - 1)?, train.group(target)?, d, fraction, x0)?;
    let moved = tensor_from_f64(moved, &[n0, d], DType::F32, &Device::Cpu)?;
    out.push(("OT displacement".to_string(), score(&moved, &truth, None)?));
    Ok(out)
}

/// Each cell of `x` (row-major, `d` columns) moved by `fraction` of the barycentric OT
/// displacement T(a) − a of its nearest cell a of `from`, where T(a) = Σ_j π_aj y_j / Σ_j π_aj is
/// the barycentre of a's targets under the exact squared-Euclidean plan π from `from` to `to`.
pub(crate) fn ot_displacement(
    from: &[f64],
    to: &[f64],
    d: usize,
    fraction: f64,
    x: &[f64],
) -> Result<Vec<f64>> {
    let n = from.len() / d;
    if n == 0 || to.is_empty() {
        return Err(Error::Argument {
            arg: "train",
            reason: "a time point without cells".into(),
        });
    }
    let plan = am_core::ot::squared_euclidean_plan(from, to, d)?;
    let (mut target, mut mass) = (vec![0.0; n * d], vec![0.0; n]);
    for &(i, j, p) in &plan.entries {
        mass[i] += p;
        for a in 0..d {
            target[i * d + a] += p * to[j * d + a];
        }
    }
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| (u - v).powi(2)).sum::<f64>();
    let mut out = Vec::with_capacity(x.len());
    for p in x.chunks(d) {
        let (nn, _) = from
            .chunks(d)
            .map(|a| sq(p, a))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("from has cells");
        for a in 0..d {
            let moved = target[nn * d + a] / mass[nn] - from[nn * d + a];
            out.push(p[a] + fraction * moved);
        }
    }
    Ok(out)
}
