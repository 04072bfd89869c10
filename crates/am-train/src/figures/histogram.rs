//! Histograms as curves: a (weighted) density estimate drawn as a step outline.

use crate::{Error, Result};

/// The step outline of the histogram density of `values` on `bins` equal bins of [lo, hi]: each
/// value adds its weight (its mass; `None` gives each 1/N) divided by the bin width, so with unit
/// total mass the outline integrates to the mass inside [lo, hi]. Values outside [lo, hi] (and
/// non-finite ones) are left out. Returns 2·bins + 2 points from (lo, 0) to (hi, 0), ready for a
/// [`Series`](super::Series) with [`Style::Line`](super::Style::Line).
pub fn histogram(
    values: &[f64],
    weights: Option<&[f64]>,
    range: (f64, f64),
    bins: usize,
) -> Result<Vec<(f64, f64)>> {
    let (lo, hi) = range;
    let arg = |arg, reason: String| Error::Argument { arg, reason };
    if bins == 0 {
        return Err(arg("bins", "must be ≥ 1".into()));
    }
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(arg(
            "range",
            format!("({lo}, {hi}) is not a finite lo < hi"),
        ));
    }
    if let Some(w) = weights {
        if w.len() != values.len() {
            return Err(arg(
                "weights",
                format!("{} weights for {} values", w.len(), values.len()),
            ));
        }
        if let Some(bad) = w.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(arg("weights", format!("{bad} is not a finite mass ≥ 0")));
        }
    }
    let width = (hi - lo) / bins as f64;
    let uniform = 1.0 / values.len().max(1) as f64;
    let mut density = vec![0.0; bins];
    for (i, &x) in values.iter().enumerate() {
        if !(x.is_finite() && (lo..=hi).contains(&x)) {
            continue;
        }
        let b = (((x - lo) / width) as usize).min(bins - 1);
        density[b] += weights.map_or(uniform, |w| w[i]) / width;
    }
    let mut out = Vec::with_capacity(2 * bins + 2);
    out.push((lo, 0.0));
    for (b, d) in density.iter().enumerate() {
        out.push((lo + b as f64 * width, *d));
        out.push((lo + (b + 1) as f64 * width, *d));
    }
    out.push((hi, 0.0));
    Ok(out)
}
