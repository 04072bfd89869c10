//! The forward jet: value, tangents along K input directions and the summed second directional
//! derivatives, pushed through every layer at once.
//!
//! Directions: k = 0 is t (input tangent [de/dt, 0]); k = 1..=D are the unit vectors of x;
//! k = D + 1 is the Hutchinson probe v when given. The second-order channel sums ∂²/∂α_k² over the
//! x directions (exact Laplacian) or over the probe alone (vᵀ∇²h v). Per layer
//! (Δh = σ″(z)⊙Σ_k(dz_k)² + σ′(z)⊙Δz, dh_k = σ′(z)⊙dz_k), with value, tangents and second
//! order stacked row-wise so that each layer is one matrix product.

use crate::mlp::HeadJet;
use crate::Mlp;
use am_core::candle::{Result, Tensor};

pub(crate) fn forward(
    mlp: &Mlp,
    u: &Tensor,
    de: &Tensor,
    probe: Option<&Tensor>,
) -> Result<HeadJet> {
    let n = u.dim(0)?;
    let width = u.dim(1)?;
    let f = de.dim(1)?;
    let d = width - f;
    let (dtype, dev) = (u.dtype(), u.device());
    // input tangents: t, x_1..x_D, [v]
    let mut blocks = vec![Tensor::cat(&[de, &Tensor::zeros((n, d), dtype, dev)?], 1)?];
    let unit = Tensor::cat(
        &[
            &Tensor::zeros((d, f), dtype, dev)?,
            &Tensor::eye(d, dtype, dev)?,
        ],
        1,
    )?; // (D, F + D)
    blocks.push(
        unit.unsqueeze(1)?
            .broadcast_as((d, n, width))?
            .reshape((d * n, width))?,
    );
    if let Some(v) = probe {
        blocks.push(Tensor::cat(&[&Tensor::zeros((n, f), dtype, dev)?, v], 1)?);
    }
    let k = 1 + d + usize::from(probe.is_some());
    // the directions whose second derivatives are summed
    let (s0, sn) = if probe.is_some() { (d + 1, 1) } else { (1, d) };

    let act = mlp.activation();
    let layers: Vec<_> = mlp.layers().collect();
    let last = layers.len() - 1;
    let mut value = u.clone();
    let mut tangents = Tensor::cat(&blocks, 0)?; // (K·N, in)
    let mut second: Option<Tensor> = None; // (N, in), zero at the input
    for (l, (w, b)) in layers.iter().enumerate() {
        let mut stack = vec![&value, &tangents];
        if let Some(s) = &second {
            stack.push(s);
        }
        let out = Tensor::cat(&stack, 0)?.matmul(w)?;
        let h = w.dim(1)?;
        let z = out.narrow(0, 0, n)?.broadcast_add(b)?;
        let dz = out.narrow(0, n, k * n)?.reshape((k, n, h))?;
        let ddz = match &second {
            Some(_) => Some(out.narrow(0, (1 + k) * n, n)?),
            None => None,
        };
        if l == last {
            let scale = mlp.config().output_scale;
            let sec = match ddz {
                Some(s) => (s * scale)?,
                None => Tensor::zeros((n, h), dtype, dev)?,
            };
            return Ok(HeadJet {
                h: (z * scale)?,
                tangents: (dz * scale)?,
                second: Some(sec),
            });
        }
        let j = act.jet(&z, true)?;
        let d1 = j.d1.unsqueeze(0)?;
        let d2 = j.d2.expect("second order requested");
        let sq = dz.narrow(0, s0, sn)?.sqr()?.sum(0)?; // Σ_{k∈S} dz_k²
        let mut new_second = (d2 * sq)?;
        if let Some(dd) = ddz {
            new_second = (new_second + (&j.d1 * dd)?)?;
        }
        tangents = dz.broadcast_mul(&d1)?.reshape((k * n, h))?;
        second = Some(new_second);
        value = j.value;
    }
    unreachable!("an MLP has at least one layer")
}
