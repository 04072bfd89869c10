#!/usr/bin/env bash
# Part 3's side-by-side: this project's metrics and POT/numpy on the same clouds, one thread each
# (taskset -c 0, RAYON_NUM_THREADS=1, OMP/MKL/OPENBLAS threads 1). Rows go to benches/out/metrics_rows.txt.
# usage: benches/metrics_vs_pot.sh [PYTHON]   (a Python with numpy, scipy and POT)
# env: AM_W2_SIZES (default 1000,5000), AM_SKIP_SINKHORN=1 to leave out the (slow) n = 10,000 Sinkhorn rows
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
mkdir -p benches/out
cargo build --release --bench metrics_vs_pot 2>/dev/null
BIN=$(ls -t target/release/deps/metrics_vs_pot-* | grep -v '\.d$' | head -1)
AM_W2_SIZES=${AM_W2_SIZES:-1000,5000} AM_W2_ASSIGNMENT=${AM_W2_ASSIGNMENT:-} RAYON_NUM_THREADS=1 taskset -c 0 "$BIN" | tee benches/out/metrics_rows.txt
AM_W2_SIZES=${AM_W2_SIZES:-1000,5000} OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 "$PY" - <<'PY' | tee -a benches/out/metrics_rows.txt
import time
import numpy as np
import ot
from scipy.spatial.distance import cdist

import os
sizes = [int(v) for v in os.environ.get("AM_W2_SIZES", "1000,5000").split(",")]
for n in (1000, 5000):
    x = np.load(f"benches/out/clouds_x_{n}.npy"); y = np.load(f"benches/out/clouds_y_{n}.npy")
    if n in sizes:
        t = time.perf_counter()
        a = np.full(n, 1.0 / n)
        w = np.sqrt(ot.emd2(a, a, ot.dist(x, y), numItermax=10_000_000))
        print(f"ROW tool=POT-{ot.__version__} metric=w2_exact n={n} d=5 seconds={time.perf_counter() - t:.4f} value={w:.10f}", flush=True)
    if n == 5000:
        t = time.perf_counter()
        al = [1 / (2 * s * s) for s in (0.5, 1.0, 2.0)]
        def ks(p, q):
            d2 = cdist(p, q, "sqeuclidean")
            return sum(np.exp(-a_ * d2) for a_ in al)
        kxx, kyy, kxy = ks(x, x), ks(y, y), ks(x, y)
        np.fill_diagonal(kxx, 0); np.fill_diagonal(kyy, 0)
        m = kxx.sum() / (n * (n - 1)) + kyy.sum() / (n * (n - 1)) - 2 * kxy.mean()
        print(f"ROW tool=numpy-{np.__version__} metric=mmd2_unbiased n={n} d=5 seconds={time.perf_counter() - t:.4f} value={m:.10f}", flush=True)
if os.environ.get("AM_SKIP_SINKHORN"):
    raise SystemExit(0)
n = 10000
x = np.load(f"benches/out/clouds_x_{n}.npy"); y = np.load(f"benches/out/clouds_y_{n}.npy")
t = time.perf_counter()
a = np.full(n, 1.0 / n)
v = ot.sinkhorn2(a, a, ot.dist(x, y), 1.0, method="sinkhorn_log", numItermax=20, stopThr=0.0)
print(f"ROW tool=POT-{ot.__version__} metric=sinkhorn_log_20_iterations n={n} d=5 seconds={time.perf_counter() - t:.4f} value={float(v):.10f}", flush=True)
PY
