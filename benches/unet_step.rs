//! The U-Net AM step at the digits preset (1×8×8, base 32, (1, 2), 1 res block, attention at
//! 4×4; batch 32 per term), split where the time goes: the forward s(t, x) alone; s, ∇x s and
//! ∂t s (forward + the first backward, graph kept); the whole loss; and the full step (loss,
//! its second-order ∇θ, element-wise clip, Adam). Beside it the flow-matching step on the same
//! U-Net (first order only). The PyTorch reference of the same network and loss is
//! `../shared/bench/am_unet_step_torch.py --image 1 8 8 --nf 32 --mult 1 2 --res-blocks 1 --attn 4
//! --groups 8 --batch 32` (run it beside this bench, same threads).
//!
//! `cargo bench --bench unet_step` (RAYON_NUM_THREADS sets the threads).

use action_matching::core::train::{Adam, AdamConfig, Clip};
use action_matching::core::{
    double_backward, Action, DType, Derivatives, Device, SeededRng, Tensor,
};
use action_matching::models::{UNet, UNetConfig, UNetField};
use action_matching::objectives::{flow_matching_loss, PathSample};
use action_matching::train::images::objective;
use criterion::Criterion;
use std::time::Duration;

fn batch(n: usize, d: usize) -> PathSample {
    let mut rng = SeededRng::new(1);
    let x0 = rng
        .normal_tensor(&[n, d], DType::F32, &Device::Cpu)
        .unwrap();
    let x1 = rng
        .uniform_tensor(&[n, d], -1.0, 1.0, DType::F32, &Device::Cpu)
        .unwrap();
    let t = rng
        .uniform_tensor(&[n, 1], 0.0, 1.0, DType::F32, &Device::Cpu)
        .unwrap();
    let xt =
        (x0.broadcast_mul(&(1.0 - &t).unwrap()).unwrap() + x1.broadcast_mul(&t).unwrap()).unwrap();
    PathSample {
        x0,
        x1,
        t,
        xt,
        inv_p: None,
    }
}

/// The digits U-Net with its zero-initialised layers perturbed (as the PyTorch script does), so
/// no step is trivially cheap.
fn net() -> UNet {
    let net = UNet::new(
        UNetConfig::digits(),
        &mut SeededRng::new(0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let mut rng = SeededRng::new(2);
    for v in net.parameters() {
        if v.as_tensor()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            == 0.0
        {
            v.set(
                &rng.normal_tensor(v.dims(), DType::F32, &Device::Cpu)
                    .unwrap()
                    .affine(1e-2, 0.0)
                    .unwrap(),
            )
            .unwrap();
        }
    }
    net
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let c = &mut c;
    double_backward::enable();
    double_backward::probe().unwrap();
    let net = net();
    net.set_training(true);
    let b = batch(32, 64);
    let objective = objective().unwrap();
    let mut g = c.benchmark_group("unet_digits_b32");
    g.bench_function("forward s", |bch| {
        bch.iter(|| net.value(&b.t, &b.xt).unwrap())
    });
    g.bench_function("s, grad_x s, dt s", |bch| {
        bch.iter(|| net.eval(&b.t, &b.xt, &Derivatives::default()).unwrap())
    });
    g.bench_function("AM loss", |bch| {
        bch.iter(|| objective.loss(&net, &b, &mut SeededRng::new(0)).unwrap())
    });
    let mut adam = Adam::new(net.parameters(), AdamConfig::default()).unwrap();
    let vars = net.parameters();
    g.bench_function("AM step (loss, second-order grad, clip, Adam)", |bch| {
        bch.iter(|| {
            let l = objective
                .loss(&net, &b, &mut SeededRng::new(0))
                .unwrap()
                .loss;
            let mut grads = l.backward().unwrap();
            Clip::Value(1.0).apply(&mut grads, &vars, 0.0).unwrap();
            adam.step(&grads, 1e-4).unwrap();
        })
    });
    let field = UNetField { net: self::net() };
    let vars = action_matching::core::VectorModel::parameters(&field);
    let mut adam = Adam::new(vars, AdamConfig::default()).unwrap();
    let u: Tensor = (&b.x1 - &b.x0).unwrap();
    g.bench_function("CFM step (first order)", |bch| {
        bch.iter(|| {
            let l = flow_matching_loss(&field, &b.t, &b.xt, &u).unwrap();
            adam.step(&l.backward().unwrap(), 1e-4).unwrap();
        })
    });
    g.finish();
    c.final_summary();
}
