//! Gauss–Legendre quadrature on [0, 1] for the time integrals of the closed forms.

/// Nodes and weights of the n-point Gauss–Legendre rule mapped to [0, 1] (Newton on P_n).
pub fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        out.push((0.5 * (1.0 - x), 0.5 * w));
    }
    out
}

/// ∫₀¹ f(t) dt by `n`-point Gauss–Legendre.
pub fn integrate(n: usize, f: impl Fn(f64) -> f64) -> f64 {
    gauss_legendre(n).into_iter().map(|(t, w)| w * f(t)).sum()
}
