//! Small dense linear algebra for the closed forms (f64, symmetric matrices).

use nalgebra::DMatrix;

/// Solves the weighted Lyapunov equation in the eigenbasis of Σ = VΛVᵀ:
/// X′_ij = R′_ij / w(ℓ_i, ℓ_j), X = V X′ Vᵀ, with R′ = VᵀRV.
///
/// - w = ℓ_i + ℓ_j solves XΣ + ΣX = R (the deterministic action, docs/oracles.md);
/// - w = ℓ_i + ℓ_j + λℓ_iℓ_j solves ΣX + XΣ + λΣXΣ = R (the unbalanced action).
pub fn solve_weighted_lyapunov(
    sigma: &DMatrix<f64>,
    r: &DMatrix<f64>,
    w: impl Fn(f64, f64) -> f64,
) -> DMatrix<f64> {
    let eig = sigma.clone().symmetric_eigen();
    let v = &eig.eigenvectors;
    let rp = v.transpose() * r * v;
    let n = sigma.nrows();
    let xp = DMatrix::from_fn(n, n, |i, j| {
        rp[(i, j)] / w(eig.eigenvalues[i], eig.eigenvalues[j])
    });
    v * xp * v.transpose()
}

/// The symmetric square root of a symmetric positive semi-definite matrix.
pub fn sym_sqrt(a: &DMatrix<f64>) -> DMatrix<f64> {
    let eig = a.clone().symmetric_eigen();
    let v = &eig.eigenvectors;
    let d = DMatrix::from_diagonal(&eig.eigenvalues.map(|l| l.max(0.0).sqrt()));
    v * d * v.transpose()
}
