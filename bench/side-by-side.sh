#!/usr/bin/env bash
# One training step, selfsup (wasm) next to PyTorch CPU, same model and shapes, one machine, one run.
# Usage: bash bench/side-by-side.sh [width] [res] [batch] [threads]
# Needs `npm run build` and Debian's python3-torch (apt-get install python3-torch).
# PyTorch peer: shared/bench/torch_step.py (set TORCH_BENCH_DIR to its folder).
set -euo pipefail
cd "$(dirname "$0")/.."
width=${1:-16} res=${2:-32} batch=${3:-64} threads=${4:-2}
peer=${TORCH_BENCH_DIR:-../shared/bench}
for m in byol moco lewel_b lewel_m; do
  # Both ways of using the cores: wasm pthreads in one process, and data-parallel ranks of one thread.
  node packages/node/bin/selfsup.js bench --method "$m" --backend wasm --threads "$threads" \
    --width "$width" --res "$res" --batch "$batch" --steps 5 --json
  node packages/node/bin/selfsup.js bench --method "$m" --backend wasm --workers "$threads" --threads 1 \
    --width "$width" --res "$res" --batch "$batch" --steps 5 --json
  if [ -f "$peer/torch_step.py" ]; then
    /usr/bin/python3 "$peer/torch_step.py" --method "$m" --width "$width" --res "$res" --batch "$batch" \
      --threads "$threads" --steps 5
  fi
done
