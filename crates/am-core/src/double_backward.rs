//! candle's second-order autograd: the one place where it is switched on and checked.
//!
//! candle detaches every gradient during `backward()` unless the environment variable
//! `CANDLE_GRAD_DO_NOT_DETACH` is set, and it reads that variable **once per thread, at the
//! thread's first backward**. Without it a loss built from ∇x s gets no parameter gradient — or,
//! worse, a wrong one, with `backward()` returning `Ok`. With it, every other backward of the
//! process becomes 40–50% slower, so it is opt-in: explicit-derivative models (the MLP of
//! `am-models`) never need it; generic models that rely on double backward call
//! [`enable`] first thing in `main`, before any thread runs a backward, then [`probe`] on the
//! thread that trains.

use crate::{DType, Device, Error, Result, Var};

/// The environment variable candle reads.
pub const ENV_VAR: &str = "CANDLE_GRAD_DO_NOT_DETACH";

/// Turns on candle's second-order gradients for every thread that has not yet run a backward, by
/// setting the process environment variable [`ENV_VAR`] (candle offers no other switch).
///
/// **This changes the whole process**: every later backward on every thread keeps its graph and
/// runs 40–50 % slower, and child processes inherit the variable. No function of this workspace
/// calls it: only a program (its `main`) should, and only when it trains a model whose
/// derivatives need double backward (`Derivation::DoubleBackward`; the MLP's default explicit
/// derivatives never do). Call it first thing in `main`, before spawning threads and before any
/// `backward()`, because setting environment variables while other threads read them is not
/// thread-safe; a thread that already ran a backward keeps its old setting, which [`probe`]
/// detects.
pub fn enable() {
    std::env::set_var(ENV_VAR, "1");
}

/// Whether the variable is set in this process (it may still be ineffective on a thread that
/// ran a backward before it was set: only [`probe`] can tell).
pub fn requested() -> bool {
    std::env::var(ENV_VAR)
        .map(|s| !s.is_empty() && s != "0")
        .unwrap_or(false)
}

/// Checks, on the calling thread, that a second derivative through two chained ops is exact:
/// for f(w, x) = exp(sin(w·x)) it computes ∂/∂w (∂f/∂x) by two `backward()` calls and compares it
/// with its closed form. Returns [`Error::DoubleBackward`] when the gradient is missing or wrong.
/// (A one-op probe such as d²/dx² x³ passes even when the variable is off.)
pub fn probe() -> Result<()> {
    let (w0, x0) = (0.7_f64, 1.3_f64);
    let w = Var::new(&[w0], &Device::Cpu)?;
    let x = Var::new(&[x0], &Device::Cpu)?;
    let f = (w.as_tensor() * x.as_tensor())?.sin()?.exp()?;
    let g1 = f.sum_all()?.backward()?;
    let dfdx = g1
        .get(x.as_tensor())
        .ok_or_else(|| Error::DoubleBackward("no first derivative ∂f/∂x".into()))?
        .clone();
    let g2 = dfdx.sum_all()?.backward()?;
    let got = match g2.get(w.as_tensor()) {
        Some(t) => t.to_dtype(DType::F64)?.to_vec1::<f64>()?[0],
        None => {
            return Err(Error::DoubleBackward(format!(
                "∂²f/∂w∂x is missing: set {ENV_VAR}=1 before this thread's first backward (am_core::double_backward::enable)"
            )))
        }
    };
    let u = w0 * x0;
    let want = u.cos() * u.sin().exp() + w0 * x0 * (u.cos().powi(2) - u.sin()) * u.sin().exp();
    if (got - want).abs() > 1e-9 * want.abs().max(1.0) {
        return Err(Error::DoubleBackward(format!(
            "∂²f/∂w∂x of exp(sin(wx)) came back as {got}, the true value is {want}: gradients are detached on this thread (set {ENV_VAR}=1 before its first backward)"
        )));
    }
    Ok(())
}

/// s, ∇x s, ∂t s and optionally Δx s of any scalar function `f(t, x)` by candle's autograd:
/// one backward for the first derivatives, then one more per dimension for the exact Laplacian
/// (or one for a Hutchinson probe). The results stay differentiable with respect to the
/// parameters inside `f` **only** when [`enable`] was called before this thread's first backward;
/// check with [`probe`] before training.
pub fn eval_by_autograd<F>(
    f: F,
    t: &crate::Tensor,
    x: &crate::Tensor,
    want: &crate::Derivatives,
) -> Result<crate::ActionEval>
where
    F: Fn(&crate::Tensor, &crate::Tensor) -> Result<crate::Tensor>,
{
    use crate::LaplacianMode;
    let (_, d) = crate::check::times_points(t, x)?;
    let tv = Var::from_tensor(&t.detach())?;
    let xv = Var::from_tensor(&x.detach())?;
    let s = f(tv.as_tensor(), xv.as_tensor())?;
    let grads = s.sum_all()?.backward()?;
    let missing = |what: &str| Error::DoubleBackward(format!("autograd returned no {what}"));
    let grad_x = grads
        .get(xv.as_tensor())
        .ok_or_else(|| missing("∇x s"))?
        .clone();
    let dt = grads
        .get(tv.as_tensor())
        .ok_or_else(|| missing("∂t s"))?
        .clone();
    let laplacian = match &want.laplacian {
        LaplacianMode::None => None,
        LaplacianMode::Exact => {
            let mut terms = Vec::with_capacity(d);
            for i in 0..d {
                let gi = grad_x.narrow(1, i, 1)?.sum_all()?.backward()?;
                let row = gi
                    .get(xv.as_tensor())
                    .ok_or_else(|| missing("second derivative"))?;
                terms.push(row.narrow(1, i, 1)?);
            }
            Some(crate::Tensor::cat(&terms, 1)?.sum_keepdim(1)?)
        }
        LaplacianMode::Hutchinson(v) => {
            let gv = (&grad_x * v)?.sum_all()?.backward()?;
            let hv = gv
                .get(xv.as_tensor())
                .ok_or_else(|| missing("Hessian-vector product"))?;
            Some((hv * v)?.sum_keepdim(1)?)
        }
    };
    Ok(crate::ActionEval {
        s,
        grad_x,
        dt,
        laplacian,
    })
}
