//! The [`Action`] trait: a scalar field s_t(x) whose gradient is the velocity (Thm 2.1, Eq. 3).
//!
//! An action returns, for a batch of times `t` `(N, 1)` and points `x` `(N, D)`:
//! s `(N, 1)`, ∇x s `(N, D)`, ∂t s `(N, 1)` and, on request, Δx s `(N, 1)` (exact, or the
//! Hutchinson estimate εᵀ∇²s ε for a given probe ε). Every output is differentiable with respect
//! to the action's parameters, so one first-order `backward()` of a loss built from them yields
//! ∇θ of the Action Matching objectives.

use crate::{Result, Tensor, Var};

/// How the Laplacian Δx s is wanted, if at all.
#[derive(Debug, Clone, Default)]
pub enum LaplacianMode {
    /// Not computed.
    #[default]
    None,
    /// The exact trace of the Hessian, Δs = Σᵢ ∂²s/∂xᵢ².
    Exact,
    /// Hutchinson's estimate εᵀ(∇²s)ε with the given probe ε `(N, D)` (Rademacher for minimum
    /// variance); unbiased when E[εεᵀ] = I.
    Hutchinson(Tensor),
}

impl LaplacianMode {
    /// True unless [`LaplacianMode::None`].
    pub fn wanted(&self) -> bool {
        !matches!(self, LaplacianMode::None)
    }
}

/// Which derivatives an evaluation must return besides s, ∇x s and ∂t s.
#[derive(Debug, Clone, Default)]
pub struct Derivatives {
    /// The Laplacian request.
    pub laplacian: LaplacianMode,
}

/// The value of an action and its derivatives on a batch.
#[derive(Debug, Clone)]
pub struct ActionEval {
    /// s_t(x), `(N, 1)`.
    pub s: Tensor,
    /// ∇x s_t(x), `(N, D)`.
    pub grad_x: Tensor,
    /// ∂s_t(x)/∂t, `(N, 1)`.
    pub dt: Tensor,
    /// Δx s_t(x) `(N, 1)` (exact or Hutchinson) when requested.
    pub laplacian: Option<Tensor>,
}

/// A (learnable) action s_t(x): the potential whose gradient moves particles (Eq. 8).
pub trait Action {
    /// The space dimension D.
    fn dim(&self) -> usize;

    /// s_t(x), `(N, 1)`, for `t` `(N, 1)` and `x` `(N, D)`.
    fn value(&self, t: &Tensor, x: &Tensor) -> Result<Tensor>;

    /// s, ∇x s, ∂t s and optionally Δx s, all differentiable with respect to the parameters.
    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> Result<ActionEval>;

    /// The trainable parameters (empty for fixed, closed-form actions).
    fn parameters(&self) -> Vec<Var> {
        Vec::new()
    }
}

impl<A: Action + ?Sized> Action for &A {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, t: &Tensor, x: &Tensor) -> Result<Tensor> {
        (**self).value(t, x)
    }
    fn eval(&self, t: &Tensor, x: &Tensor, want: &Derivatives) -> Result<ActionEval> {
        (**self).eval(t, x, want)
    }
    fn parameters(&self) -> Vec<Var> {
        (**self).parameters()
    }
}
