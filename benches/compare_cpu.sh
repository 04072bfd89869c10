#!/usr/bin/env bash
# One side-by-side CPU run of an AM training step: this project's criterion bench (the fused
# step, the generic explicit path and candle's double backward) beside
# benches/ref/am_step_torch.py and am_step_jax.py (and benches/am_step_entropic_ref.py for
# entropic AM), each pinned with taskset to the same cores and thread counts; first the peak of
# the matrix kernel (a 4096³ product). Writes benches/out/rows.txt; the table in
# docs/performance.md is made from it.
#
# usage: benches/compare_cpu.sh [PYTHON]   (a Python with torch and jax; default: python3)
# env: BATCHES (default "256 4096"), DIMS (default "3 5"), THREADS (default "1 2"),
#      MODES (default "fused explicit double-backward"; double backward is skipped at B > 1024,
#      where one entropic step takes seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
SHARED=${SHARED:-$(dirname "$0")/ref}
OUT=benches/out
mkdir -p "$OUT"
: > "$OUT/rows.txt"
: > "$OUT/criterion_raw.txt"
cargo build --release --bench am_step >/dev/null 2>&1 || cargo build --release --benches
BIN=$(ls -t target/release/deps/am_step-* | grep -v '\.d$' | head -1)
for threads in ${THREADS:-1 2}; do
  cores=$([ "$threads" = 1 ] && echo 0 || echo 0-1)
  AM_BENCH_PEAK=1 RAYON_NUM_THREADS=$threads taskset -c "$cores" "$BIN" --bench --noplot 2>/dev/null \
    | grep '^PEAK' | sed "s/^PEAK /ROW threads=$threads /" >> "$OUT/rows.txt"
done
for threads in ${THREADS:-1 2}; do
  cores=$([ "$threads" = 1 ] && echo 0 || echo 0-1)
  for d in ${DIMS:-3 5}; do
    for b in ${BATCHES:-256 4096}; do
      for mode in ${MODES:-fused explicit double-backward}; do
        if [ "$mode" = double-backward ] && [ "$b" -gt 1024 ] && [ -z "${MODES:-}" ]; then continue; fi
        samples=$([ "$b" -gt 1024 ] && echo 10 || echo 20)
        AM_BENCH_SAMPLES=$samples AM_BENCH_DERIVATION=$mode AM_BENCH_DIMS=$d AM_BENCH_BATCH=$b RAYON_NUM_THREADS=$threads \
          taskset -c "$cores" "$BIN" --bench --noplot 2>/dev/null | tee -a "$OUT/criterion_raw.txt" \
          | awk -v t="$threads" '/^am_step\// {id=$1} /time:/ {gsub(/\[/,""); print "ROW framework=candle-" id " threads=" t " median_ms_or_mean=" $4 " unit=" $5}' >> "$OUT/rows.txt"
      done
      OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads taskset -c "$cores" \
        "$PY" "$SHARED/am_step_torch.py" --cpu --batches "$b" --d "$d" --budget 15 2>&1 \
        | sed "s/^ROW /ROW threads=$threads d=$d /" | grep ROW >> "$OUT/rows.txt" || true
      XLA_FLAGS="--xla_cpu_multi_thread_eigen=$([ "$threads" = 1 ] && echo false || echo true) intra_op_parallelism_threads=$threads" \
        taskset -c "$cores" "$PY" "$SHARED/am_step_jax.py" --cpu --batches "$b" --d "$d" --budget 15 2>&1 \
        | sed "s/^ROW /ROW threads=$threads d=$d /" | grep ROW >> "$OUT/rows.txt" || true
      for fw in torch jax; do
        OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=$([ "$threads" = 1 ] && echo false || echo true) intra_op_parallelism_threads=$threads" \
          taskset -c "$cores" "$PY" benches/am_step_entropic_ref.py --framework "$fw" --batches "$b" --d "$d" 2>&1 \
          | sed "s/^ROW /ROW threads=$threads d=$d /" | grep ROW >> "$OUT/rows.txt" || true
      done
    done
  done
done
echo "rows in $OUT/rows.txt"
