"""Builds the side-by-side table of docs/performance.md from benches/out/rows.txt (written by
benches/compare_cpu.sh): step times of the fused step, the generic candle paths, PyTorch and JAX,
the ratios fused/JAX, and the fused step's achieved GFLOP/s against the measured matmul peak.

FLOP model (MLP 5 x 256 on [t, x], f32): one row-product of every layer costs
2 * ((1 + d) * 256 + 4 * 256 * 256 + 256) FLOP; per sample index the AM step does 12 of them and
the exact-Laplacian entropic step 3 * (3 + d + 2) (see docs/design-fused-step.md).
"""
import re
import sys
from collections import defaultdict

rows = open(sys.argv[1] if len(sys.argv) > 1 else "benches/out/rows.txt").read().splitlines()
t = defaultdict(dict)  # (threads, d, b, loss) -> framework -> ms
peak = {}
for r in rows:
    kv = dict(re.findall(r"(\S+?)=(\S+)", r))
    if kv.get("framework", "").startswith("gemm"):
        peak[int(kv["threads"])] = float(kv["gflops"])
        continue
    fw = kv.get("framework", "")
    if fw.startswith("candle-"):
        _, mode, loss, d, b = fw[len("candle-"):].split("/")
        ms = float(kv["median_ms_or_mean"]) * {"ms": 1.0, "s": 1e3, "µs": 1e-3, "us": 1e-3}[kv["unit"]]
        t[(int(kv["threads"]), int(d[1:]), int(b[1:]), loss)][mode] = ms
    elif fw in ("torch", "jax", "torch-entropic", "jax-entropic"):
        loss = "entropic" if fw.endswith("entropic") else "am"
        t[(int(kv["threads"]), int(kv["d"]), int(kv["batch"]), loss)][fw.split("-")[0]] = float(kv["median_ms"])


def flops(d, b, loss):
    row = 2 * ((1 + d) * 256 + 4 * 256 * 256 + 256)
    products = 12 if loss == "am" else 3 * (3 + d + 2)
    return products * row * b


def fmt(v):
    return "—" if v is None else (f"{v:.1f}" if v < 1000 else f"{v:,.0f}")


print("| threads | d | B | loss | fused | generic explicit | generic double backward | PyTorch | JAX | fused / JAX | fused / PyTorch | fused GFLOP/s (% of peak) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(t, key=lambda k: (k[0], k[2], k[1], k[3] != "am")):
    th, d, b, loss = key
    m = t[key]
    fused = m.get("fused")
    jax, torch = m.get("jax"), m.get("torch")
    g = flops(d, b, loss) / (fused * 1e-3) / 1e9 if fused else None
    pk = peak.get(th)
    print(
        f"| {th} | {d} | {b} | {'AM' if loss == 'am' else 'entropic'} | {fmt(fused)} | {fmt(m.get('explicit'))} | "
        f"{fmt(m.get('double-backward'))} | {fmt(torch)} | {fmt(jax)} | "
        f"{(fused / jax) if fused and jax else float('nan'):.2f} | {(fused / torch) if fused and torch else float('nan'):.2f} | "
        f"{g:.0f} ({100 * g / pk:.0f} %) |" if g and pk else "| — |"
    )
print()
print("peak (4096³ f32 product, same kernel): " + ", ".join(f"{k} thread(s): {v:.1f} GFLOP/s" for k, v in sorted(peak.items())))
