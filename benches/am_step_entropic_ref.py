"""Entropic AM training step in PyTorch or JAX, for the side-by-side comparison (our own script;
the shared reference scripts cover deterministic AM only).

Same model and batch as benches/ref/am_step_{torch,jax}.py: MLP on [t, x], `layers` hidden
SiLU layers of width `hidden`, scalar out; x0 ~ N(0, I), x1 ~ N(2, 0.25 I), x_t linear.
L = mean s(0,x0) - mean s(1,x1) + mean(½|∇s|² + ∂t s + ε²/2 Δs) with the exact Laplacian
(d Hessian-diagonal terms), then an Adam step. Prints `ROW ...` lines like the shared scripts.
"""
import argparse
import math
import time


def run_torch(args, b):
    import torch

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    layers, inp = [], args.d + 1
    for _ in range(args.layers):
        layers += [torch.nn.Linear(inp, args.hidden), torch.nn.SiLU()]
        inp = args.hidden
    layers.append(torch.nn.Linear(inp, 1))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x0 = torch.randn(b, args.d, generator=g)
    x1 = torch.randn(b, args.d, generator=g) * 0.5 + 2.0
    t = torch.rand(b, 1, generator=g)
    xt = (1 - t) * torch.randn(b, args.d, generator=g) + t * (torch.randn(b, args.d, generator=g) * 0.5 + 2.0)

    def step():
        opt.zero_grad(set_to_none=True)
        tt = t.clone().requires_grad_(True)
        xx = xt.clone().requires_grad_(True)
        s = model(torch.cat([tt, xx], 1))
        dt, dx = torch.autograd.grad(s.sum(), (tt, xx), create_graph=True)
        lap = 0.0
        for i in range(args.d):
            lap = lap + torch.autograd.grad(dx[:, i].sum(), xx, create_graph=True)[0][:, i:i + 1]
        s0 = model(torch.cat([torch.zeros(b, 1), x0], 1)).mean()
        s1 = model(torch.cat([torch.ones(b, 1), x1], 1)).mean()
        loss = s0 - s1 + (0.5 * (dx ** 2).sum(1, keepdim=True) + dt + 0.5 * args.eps ** 2 * lap).mean()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def run_jax(args, b):
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    sizes = [args.d + 1] + [args.hidden] * args.layers + [1]
    params = []
    for i in range(len(sizes) - 1):
        key, k1, k2 = jax.random.split(key, 3)
        bound = 1.0 / math.sqrt(sizes[i])
        params.append((jax.random.uniform(k1, (sizes[i], sizes[i + 1]), minval=-bound, maxval=bound),
                       jax.random.uniform(k2, (sizes[i + 1],), minval=-bound, maxval=bound)))

    def s_fn(p, t, x):
        h = jnp.concatenate([jnp.atleast_1d(t), x])
        for w, c in p[:-1]:
            h = jax.nn.silu(h @ w + c)
        w, c = p[-1]
        return (h @ w + c)[0]

    def integrand(p, t, x):
        # one reverse pass for (∂t s, ∇x s); the Laplacian by forward-over-reverse (jacfwd of ∇x s)
        grad_x = jax.grad(s_fn, argnums=2)
        dt, dx = jax.grad(s_fn, argnums=(1, 2))(p, t, x)
        lap = jnp.trace(jax.jacfwd(lambda y: grad_x(p, t, y))(x))
        return 0.5 * jnp.sum(dx ** 2) + dt + 0.5 * args.eps ** 2 * lap

    def loss_fn(p, x0, x1, t, xt):
        s0 = jax.vmap(lambda x: s_fn(p, 0.0, x))(x0).mean()
        s1 = jax.vmap(lambda x: s_fn(p, 1.0, x))(x1).mean()
        return s0 - s1 + jax.vmap(lambda tt, x: integrand(p, tt, x))(t, xt).mean()

    ks = jax.random.split(jax.random.PRNGKey(1), 5)
    x0 = jax.random.normal(ks[0], (b, args.d))
    x1 = jax.random.normal(ks[1], (b, args.d)) * 0.5 + 2.0
    t = jax.random.uniform(ks[2], (b,))
    xt = (1 - t)[:, None] * jax.random.normal(ks[3], (b, args.d)) + t[:, None] * (jax.random.normal(ks[4], (b, args.d)) * 0.5 + 2.0)
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)

    @jax.jit
    def update(p, m, v, k):
        loss, g = jax.value_and_grad(loss_fn)(p, x0, x1, t, xt)
        m = jax.tree_util.tree_map(lambda a, b_: 0.9 * a + 0.1 * b_, m, g)
        v = jax.tree_util.tree_map(lambda a, b_: 0.999 * a + 0.001 * b_ * b_, v, g)
        p = jax.tree_util.tree_map(lambda w, a, b_: w - 1e-4 * (a / (1 - 0.9 ** k)) / (jnp.sqrt(b_ / (1 - 0.999 ** k)) + 1e-8), p, m, v)
        return p, m, v, loss

    state = {"p": params, "m": m, "v": v, "k": 0}

    def step():
        state["k"] += 1
        state["p"], state["m"], state["v"], loss = update(state["p"], state["m"], state["v"], state["k"])
        return float(loss.block_until_ready())

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", choices=["torch", "jax"], required=True)
    ap.add_argument("--batches", default="256")
    ap.add_argument("--d", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--budget", type=float, default=15.0)
    args = ap.parse_args()
    for b in [int(x) for x in args.batches.split(",")]:
        step = (run_torch if args.framework == "torch" else run_jax)(args, b)
        for _ in range(args.warmup):
            step()
        times, start = [], time.perf_counter()
        for _ in range(args.steps):
            t0 = time.perf_counter()
            loss = step()
            times.append((time.perf_counter() - t0) * 1e3)
            if time.perf_counter() - start > args.budget:
                break
        s = sorted(times)
        print(f"ROW framework={args.framework}-entropic dev=cpu batch={b} median_ms={s[len(s) // 2]:.3f} "
              f"steps={len(s)} loss={loss:.5f}", flush=True)


if __name__ == "__main__":
    main()
