//! σ and its first three derivatives at one pre-activation, computed together (one exp or erf
//! per element). σ‴ enters only ∇θ of the entropic objective (∂θ of σ″ in the Laplacian).

use super::Real;
use crate::Activation;

/// (σ, σ′, σ″, σ‴) at z.
#[inline(always)]
pub(crate) fn derivatives<T: Real>(act: Activation, z: T) -> [T; 4] {
    let one = T::ONE;
    let two = T::of(2.0);
    match act {
        Activation::Silu => {
            // g = sigmoid(z), g′ = g(1−g), g″ = g′(1−2g), g‴ = g′(1−6g+6g²);
            // σ = zg, σ′ = g + zg′, σ″ = 2g′ + zg″, σ‴ = 3g″ + zg‴
            let g = one / (one + (-z).exp());
            let g1 = g * (one - g);
            let g2 = g1 * (one - two * g);
            let g3 = g1 * (one - T::of(6.0) * g * (one - g));
            [
                z * g,
                g + z * g1,
                two * g1 + z * g2,
                T::of(3.0) * g2 + z * g3,
            ]
        }
        Activation::Tanh => {
            // th = sign(z)(1−e)/(1+e), e = e^{−2|z|}; σ′ = 1−th² = p, σ″ = −2·th·p,
            // σ‴ = −2p² + 4th²p
            let e = (-two * z.abs()).exp();
            let mag = (one - e) / (one + e);
            let th = if z < T::ZERO { -mag } else { mag };
            let p = one - th * th;
            [th, p, -two * th * p, p * (T::of(4.0) * th * th - two * p)]
        }
        Activation::Softplus => {
            // σ = max(z,0) + log(1+e^{−|z|}), σ′ = g, σ″ = g(1−g), σ‴ = g(1−g)(1−2g)
            let e = (-z.abs()).exp();
            let value = z.max(T::ZERO) + e.ln_1p();
            let g = one / (one + (-z).exp());
            let g1 = g * (one - g);
            [value, g, g1, g1 * (one - two * g)]
        }
        Activation::Gelu => {
            // Φ = ½(1 + erf(z/√2)), φ = e^{−z²/2}/√(2π); σ = zΦ, σ′ = Φ + zφ,
            // σ″ = φ(2 − z²), σ‴ = zφ(z² − 4)
            let cdf = T::of(0.5) * (one + (z * T::of(std::f64::consts::FRAC_1_SQRT_2)).erf());
            let z2 = z * z;
            let pdf = (T::of(-0.5) * z2).exp() * T::of(0.398_942_280_401_432_7);
            [
                z * cdf,
                cdf + z * pdf,
                pdf * (two - z2),
                z * pdf * (z2 - T::of(4.0)),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each derivative against a 4th-order central difference of the one before it.
    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-4;
        for act in [
            Activation::Silu,
            Activation::Tanh,
            Activation::Softplus,
            Activation::Gelu,
        ] {
            for &z in &[-3.1, -0.7, -1e-3, 0.0, 0.4, 2.2, 5.0] {
                let d = |x: f64| derivatives::<f64>(act, x);
                for order in 0..3 {
                    let fd = (-d(z + 2.0 * h)[order] + 8.0 * d(z + h)[order]
                        - 8.0 * d(z - h)[order]
                        + d(z - 2.0 * h)[order])
                        / (12.0 * h);
                    let exact = d(z)[order + 1];
                    assert!(
                        (fd - exact).abs() < 1e-8,
                        "{act:?} order {} at {z}: {fd} vs {exact}",
                        order + 1
                    );
                }
                let f = derivatives::<f32>(act, z as f32);
                for (a, b) in f.iter().zip(d(z)) {
                    assert!((*a as f64 - b).abs() < 2e-6, "{act:?} f32 at {z}");
                }
            }
        }
    }
}
