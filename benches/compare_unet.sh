#!/usr/bin/env bash
# One side-by-side CPU run of the U-Net AM step at the digits preset (batch 32): this project's
# criterion bench `unet_step` (forward, first derivatives, loss, full second-order step, and the
# flow-matching step) beside ../shared/bench/am_unet_step_torch.py with the same network, loss
# and batch, each pinned with taskset to the same cores and thread counts, each process's peak
# memory from /usr/bin/time. Writes benches/out/unet_rows.txt.
#
# usage: benches/compare_unet.sh [PYTHON]   (a Python with torch; default: python3)
# env: THREADS (default "1 2"), TORCH_SCRIPT (default ../shared/bench/am_unet_step_torch.py)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
SCRIPT=${TORCH_SCRIPT:-../shared/bench/am_unet_step_torch.py}
OUT=benches/out
mkdir -p "$OUT"
: > "$OUT/unet_rows.txt"
cargo build --release --bench unet_step >/dev/null 2>&1
BIN=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/unet_step-* | grep -v '\.d$' | head -1)
peak() { awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}' "$1"; }
for threads in ${THREADS:-1 2}; do
  cores=$([ "$threads" = 1 ] && echo 0 || echo 0-1)
  RAYON_NUM_THREADS=$threads /usr/bin/time -v -o "$OUT/time_rust.txt" taskset -c "$cores" \
    "$BIN" --bench --noplot 2>/dev/null | tee "$OUT/unet_criterion_t$threads.txt" \
    | awk -v t="$threads" '/^unet_digits_b32\// {id=$0; sub(/ +time:.*/, "", id)}
        /time:/ {gsub(/\[/,""); for (i = 1; i <= NF; i++) if ($i == "time:") print "ROW framework=candle threads=" t " what=\"" id "\" estimate=" $(i+3) " unit=" $(i+4)}' \
    >> "$OUT/unet_rows.txt"
  echo "ROW framework=candle threads=$threads peak_rss_mib=$(peak "$OUT/time_rust.txt") (whole bench process)" >> "$OUT/unet_rows.txt"
  OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads /usr/bin/time -v -o "$OUT/time_torch.txt" taskset -c "$cores" \
    "$PY" "$SCRIPT" --image 1 8 8 --nf 32 --mult 1 2 --res-blocks 1 --attn 4 --groups 8 --batch 32 \
    --threads "$threads" --steps 20 --budget 60 2>/dev/null | grep '^ROW' >> "$OUT/unet_rows.txt"
  echo "ROW framework=torch threads=$threads peak_rss_mib=$(peak "$OUT/time_torch.txt")" >> "$OUT/unet_rows.txt"
done
cat "$OUT/unet_rows.txt"
