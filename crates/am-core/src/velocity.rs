//! Velocity fields for the particle solvers, and the adapter that turns an [`Action`] into one.

use crate::{check, Action, ConvexCost, Derivatives, Error, LaplacianMode, Result, Tensor};

/// A time-dependent velocity v_t(x) for dx/dt = v_t(x) (Eq. 1).
pub trait VelocityField {
    /// The space dimension D.
    fn dim(&self) -> usize;

    /// v_t(x) `(N, D)` at the scalar time `t` for points `x` `(N, D)`; carries no autograd graph.
    fn velocity(&self, t: f64, x: &Tensor) -> Result<Tensor>;

    /// v_t(x) and its divergence ∇·v_t(x) `(N, 1)`, exact or by the Hutchinson probe in `mode`
    /// (the log-density change of Eq. 9). Not every field can provide it.
    fn velocity_divergence(
        &self,
        t: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> Result<(Tensor, Tensor)> {
        let _ = (t, x, mode);
        Err(Error::Unsupported(
            "this velocity field has no divergence".into(),
        ))
    }

    /// The growth rate g_t(x) `(N, 1)` of weighted particles (Eq. 15/19); zero when absent.
    fn growth(&self, t: f64, x: &Tensor) -> Result<Option<Tensor>> {
        let _ = (t, x);
        Ok(None)
    }

    /// v_t(x) and g_t(x) together (Eq. 18–19); fields that get both from one evaluation override it.
    fn velocity_growth(&self, t: f64, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        Ok((self.velocity(t, x)?, self.growth(t, x)?))
    }
}

/// The column `(N, 1)` of a scalar time t ∈ [0, 1] for points `x` `(N, D)`, in x's dtype and
/// device: how a field evaluated at one time feeds a model that takes per-point times.
pub fn time_column(x: &Tensor, t: f64) -> Result<Tensor> {
    check::points("x", x)?;
    if !(0.0..=1.0).contains(&t) || !t.is_finite() {
        return Err(Error::OutOfRange {
            arg: "t",
            value: t,
            allowed: "[0, 1]",
        });
    }
    Ok(Tensor::full(t, (x.dim(0)?, 1), x.device())?.to_dtype(x.dtype())?)
}

/// The velocity of an action: v = ∇s (Eq. 8), or v = ∇c*(∇s) for a convex cost (Eq. 22), with
/// growth rate λ·s for unbalanced AM (Eq. 19 with the λ of Eq. 69).
pub struct GradientField<'a, A: Action + ?Sized> {
    action: &'a A,
    cost: Option<&'a dyn ConvexCost>,
    growth_weight: Option<f64>,
}

impl<'a, A: Action + ?Sized> GradientField<'a, A> {
    /// v = ∇s.
    pub fn new(action: &'a A) -> Self {
        Self {
            action,
            cost: None,
            growth_weight: None,
        }
    }

    /// v = ∇c*(∇s) (Eq. 22).
    pub fn with_cost(mut self, cost: &'a dyn ConvexCost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// Growth rate g = λ·s (Eq. 19; λ of Eq. 69), for weighted particles.
    pub fn with_growth(mut self, lambda: f64) -> Result<Self> {
        check::non_negative("lambda", lambda)?;
        self.growth_weight = Some(lambda);
        Ok(self)
    }
}

impl<A: Action + ?Sized> VelocityField for GradientField<'_, A> {
    fn dim(&self) -> usize {
        self.action.dim()
    }

    fn velocity(&self, t: f64, x: &Tensor) -> Result<Tensor> {
        let tt = time_column(x, t)?;
        let e = self.action.eval(&tt, x, &Derivatives::default())?;
        let v = match self.cost {
            Some(c) => c.grad_conjugate(&e.grad_x)?,
            None => e.grad_x,
        };
        Ok(v.detach())
    }

    /// v and ∇·v: Δs for v = ∇s (Eq. 9); tr(∇²c*(∇s)·∇²s) for v = ∇c*(∇s), as
    /// Σᵢ (Feᵢ)ᵀ∇²s(Feᵢ) (exact) or (Fε)ᵀ∇²s(Fε) (Hutchinson) with F Fᵀ = ∇²c*.
    fn velocity_divergence(
        &self,
        t: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> Result<(Tensor, Tensor)> {
        if !mode.wanted() {
            return Err(Error::config(
                "mode",
                "a divergence needs LaplacianMode::Exact or Hutchinson",
            ));
        }
        let tt = time_column(x, t)?;
        let Some(cost) = self.cost else {
            let want = Derivatives {
                laplacian: mode.clone(),
            };
            let e = self.action.eval(&tt, x, &want)?;
            let lap = e
                .laplacian
                .ok_or_else(|| Error::Unsupported("action returned no Laplacian".into()))?;
            return Ok((e.grad_x.detach(), lap.detach()));
        };
        let a = self
            .action
            .eval(&tt, x, &Derivatives::default())?
            .grad_x
            .detach();
        let along = |dir: Tensor| -> Result<Tensor> {
            let e = self.action.eval(
                &tt,
                x,
                &Derivatives {
                    laplacian: LaplacianMode::Hutchinson(dir),
                },
            )?;
            e.laplacian
                .map(|l| l.detach())
                .ok_or_else(|| Error::Unsupported("action returned no second derivative".into()))
        };
        let div = match mode {
            LaplacianMode::Hutchinson(eps) => along(cost.hessian_factor_apply(&a, eps)?)?,
            _ => {
                let (n, d) = check::points("x", x)?;
                let mut total = Tensor::zeros((n, 1), x.dtype(), x.device())?;
                for i in 0..d {
                    let mut e = vec![0.0; d];
                    e[i] = 1.0;
                    let ei = Tensor::from_vec(e, (1, d), x.device())?
                        .to_dtype(x.dtype())?
                        .broadcast_as((n, d))?
                        .contiguous()?;
                    total = (total + along(cost.hessian_factor_apply(&a, &ei)?)?)?;
                }
                total
            }
        };
        Ok((cost.grad_conjugate(&a)?.detach(), div))
    }

    fn growth(&self, t: f64, x: &Tensor) -> Result<Option<Tensor>> {
        match self.growth_weight {
            None => Ok(None),
            Some(lambda) => {
                let tt = time_column(x, t)?;
                Ok(Some((self.action.value(&tt, x)? * lambda)?.detach()))
            }
        }
    }

    /// One evaluation gives s and ∇s: v = ∇s (or ∇c*(∇s)) and g = λs.
    fn velocity_growth(&self, t: f64, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let tt = time_column(x, t)?;
        let e = self.action.eval(&tt, x, &Derivatives::default())?;
        let v = match self.cost {
            Some(c) => c.grad_conjugate(&e.grad_x)?,
            None => e.grad_x,
        };
        let g = match self.growth_weight {
            Some(lambda) => Some((e.s * lambda)?.detach()),
            None => None,
        };
        Ok((v.detach(), g))
    }
}
