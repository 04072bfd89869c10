//! The U-Net read as a vector field f(t, x) = unet(t, x) `(N, D)` — the flow-matching baseline of
//! Table 3 on the same network (I-CFM: f regressed on x₁ − x₀) — for training
//! ([`am_core::VectorModel`]) and for sampling and likelihoods ([`am_core::VelocityField`], the
//! Hutchinson divergence εᵀ(∂f/∂x)ε by one first-order backward).

use super::UNet;
use am_core::candle::{Tensor, Var};
use am_core::{Error, LaplacianMode, VectorModel, VelocityField};

/// The U-Net as a vector field; see the module docs.
#[derive(Debug)]
pub struct UNetField {
    /// The network.
    pub net: UNet,
}

impl UNetField {
    /// f(t, x) `(N, D)` for t `(N, 1)` and x `(N, D)`, with the autograd graph.
    pub fn forward(&self, t: &Tensor, x: &Tensor) -> am_core::Result<Tensor> {
        let n = x.dims()[0];
        let img = self.net.image(x)?;
        Ok(self
            .net
            .network(t, &img)?
            .reshape((n, self.net.config().dim()))?)
    }
}

impl VectorModel for UNetField {
    fn dim(&self) -> usize {
        self.net.config().dim()
    }

    fn forward_jvp(
        &self,
        t: &Tensor,
        x: &Tensor,
        directions: Option<&Tensor>,
    ) -> am_core::Result<(Tensor, Option<Tensor>)> {
        if directions.is_some() {
            return Err(Error::Unsupported(
                "the U-Net field has no forward-mode Jacobian-vector products".into(),
            ));
        }
        Ok((self.forward(t, x)?, None))
    }

    fn parameters(&self) -> Vec<Var> {
        am_core::Action::parameters(&self.net)
    }
}

impl VelocityField for UNetField {
    fn dim(&self) -> usize {
        self.net.config().dim()
    }

    fn velocity(&self, t: f64, x: &Tensor) -> am_core::Result<Tensor> {
        Ok(self
            .forward(&am_core::velocity::time_column(x, t)?, &x.detach())?
            .detach())
    }

    fn velocity_divergence(
        &self,
        t: f64,
        x: &Tensor,
        mode: &LaplacianMode,
    ) -> am_core::Result<(Tensor, Tensor)> {
        let LaplacianMode::Hutchinson(eps) = mode else {
            return Err(Error::Unsupported(
                "the U-Net field's divergence is the Hutchinson estimate only".into(),
            ));
        };
        let xv = Var::from_tensor(&x.detach())?;
        let f = self.forward(&am_core::velocity::time_column(x, t)?, xv.as_tensor())?;
        let grads = (&f * eps)?.sum_all()?.backward()?;
        let jt_eps = grads
            .get(xv.as_tensor())
            .ok_or_else(|| Error::Unsupported("autograd returned no ∂f/∂x".into()))?;
        let div = (jt_eps * eps)?.sum_keepdim(1)?.to_dtype(x.dtype())?;
        Ok((f.detach(), div.detach()))
    }
}
