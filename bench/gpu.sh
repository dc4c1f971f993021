#!/usr/bin/env bash
# GPU training-step benchmark: the four methods on webgpu, on node-gpu when it is installed, and
# PyTorch CUDA (torch_step.py --device cuda) when torch with CUDA is there, one JSON line per run
# with shared/bench/torch_step.py's fields, side by side, at two shapes: the CPU bench's (width
# 16, 32 px, batch 64) and a GPU-sized one (ResNet-18 at full width, 96 px, batch 256).
#
# Runs from the repo (after npm run build) or from the folder bench/gpu-pack.sh builds, where it
# needs nothing else: it unpacks the Node binary, uses the pack's Vulkan loader when the machine
# has none, and names NVIDIA's Vulkan driver when its ICD file is missing.
#
# After the benchmark runs, bench/gpu/profile.ts profiles each method on webgpu (kernels by name
# with their GPU times where the adapter has 'timestamp-query', and the share of BatchNorm and L2
# normalise with an A/B upper bound of what fused kernels save): one {"profile": ...} JSON line
# per run on stdout, its table on stderr.
#
# Usage: bash gpu.sh   (results on stdout, progress on stderr)
#   GPU_BENCH_SHAPES    "WxRxB[xSTEPS] ..." (default "16x32x64x5 64x96x256x3")
#   GPU_PROFILE_SHAPES  "WxRxB[xROUNDS] ..." for the profiles (default "16x32x64x3 64x96x256x2"; "" for none)
#   GPU_BENCH_METHODS   (default "byol moco lewel_b lewel_m")
#   GPU_BENCH_RUNS      which peers run (default "webgpu node-gpu torch")
#   GPU_BENCH_BUDGET_S  stop starting runs after this many seconds (default 450: done in < 8 min)
#   GPU_BENCH_TIMEOUT_S one run's limit (default 150)
#   TORCH_BENCH_DIR     folder of torch_step.py in the repo (default ../shared/bench)
#   GPU_BENCH_PACK_LOADER=1  use the pack's Vulkan loader even where the machine has one
#   GPU_BENCH_UNPACK_NODE=1  use the pack's Node even where the machine has one
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHAPES="${GPU_BENCH_SHAPES:-16x32x64x5 64x96x256x3}"
PROFILE_SHAPES="${GPU_PROFILE_SHAPES-16x32x64x3 64x96x256x2}"
METHODS="${GPU_BENCH_METHODS:-byol moco lewel_b lewel_m}"
RUNS="${GPU_BENCH_RUNS:-webgpu node-gpu torch}"
BUDGET="${GPU_BENCH_BUDGET_S:-450}"
RUN_TIMEOUT="${GPU_BENCH_TIMEOUT_S:-150}"
log() { echo "gpu.sh: $*" >&2; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/selfsup-gpu.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# ------------------------------------------------------------------ Node and the benchmark
if [[ -f "$HERE/selfsup-bench.mjs" ]]; then
  MODE=pack
  node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if ((node_major >= 20)) && [[ "${GPU_BENCH_UNPACK_NODE:-0}" != 1 ]]; then
    NODE="$(command -v node)"
  else
    NODE="$TMP/node"
    if command -v xz >/dev/null; then
      xz -dc "$HERE/node.xz" >"$NODE"
    else
      python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
        "$HERE/node.xz" "$NODE"
    fi
    chmod +x "$NODE"
  fi
  BENCH=("$NODE" "$HERE/selfsup-bench.mjs")
  PROFILE=("$NODE" "$HERE/selfsup-bench.mjs" --profile)
  probe() { "$NODE" "$HERE/selfsup-bench.mjs" --probe; }
  TORCH_STEP="$HERE/torch_step.py"
else
  MODE=repo
  REPO="$(cd "$HERE/.." && pwd)"
  NODE="$(command -v node)" || { log "no node on PATH"; exit 1; }
  [[ -f "$REPO/packages/core/dist/cli.js" ]] || { log "not built: run npm run build in $REPO"; exit 1; }
  BENCH=("$NODE" "$REPO/packages/node/bin/selfsup.js" bench --json)
  PROFILE=("$REPO/node_modules/.bin/vite-node" -c "$REPO/vitest.config.ts" "$REPO/bench/gpu/entry.ts" --profile)
  probe() {
    "$NODE" "$REPO/packages/node/bin/selfsup.js" info --json |
      "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const b of JSON.parse(s).backends)console.log(JSON.stringify(b))})'
  }
  TORCH_STEP="${TORCH_BENCH_DIR:-$REPO/../shared/bench}/torch_step.py"
fi
log "mode $MODE, node $("$NODE" --version)"

# ------------------------------------------------------------------ Vulkan for Dawn
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$TMP}"
has_loader() {
  local libs # (not a pipe into grep -q: under pipefail, ldconfig's SIGPIPE would read as "none")
  libs="$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null)"
  grep -q 'libvulkan\.so\.1 ' <<<"$libs"
}
# GPU_BENCH_PACK_LOADER=1 uses the pack's loader even where the machine has one (to test it).
if [[ -f "$HERE/lib/libvulkan.so.1" ]] && { [[ "${GPU_BENCH_PACK_LOADER:-0}" == 1 ]] || ! has_loader; }; then
  export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "Vulkan loader: the pack's ($HERE/lib)"
fi
if [[ -z "${VK_ICD_FILENAMES:-}" ]]; then
  icds="$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')"
  if ! grep -qs nvidia <<<"$icds"; then
    # Containers often mount NVIDIA's driver without its Vulkan ICD file: name the library.
    for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
      if [[ -f "$dir/libGLX_nvidia.so.0" ]]; then
        printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' \
          "$dir/libGLX_nvidia.so.0" >"$TMP/nvidia_icd.json"
        export VK_ICD_FILENAMES="$TMP/nvidia_icd.json"
        log "Vulkan driver: NVIDIA's $dir/libGLX_nvidia.so.0 (no ICD file was installed)"
        break
      fi
    done
  fi
  [[ -n "${VK_ICD_FILENAMES:-}" ]] || log "Vulkan drivers: ${icds:-none found}"
fi
command -v nvidia-smi >/dev/null && log "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"

# ------------------------------------------------------------------ who runs
declare -A AVAILABLE=()
probe >"$TMP/probe.jsonl" 2>"$TMP/probe.err" || log "probe failed: $(tail -3 "$TMP/probe.err" | tr '\n' ' ')"
while IFS=$'\t' read -r name state; do
  [[ "$name" == webgpu || "$name" == node-gpu ]] && log "$name $state"
  [[ "$state" == available* ]] && AVAILABLE[$name]=1
done < <("$NODE" -e '
  for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
    const b = JSON.parse(l);
    const state = b.available ? `available${b.device ? ` on ${b.device}` : ""}` : `unavailable: ${b.reason}`;
    console.log(`${b.name}\t${state}`);
  }' "$TMP/probe.jsonl")
if grep -q '"name":"webgpu".*software adapter' "$TMP/probe.jsonl"; then
  log "webgpu runs on a software adapter: a smoke test, not GPU numbers"
fi
TORCH=0
if [[ " $RUNS " == *" torch "* ]]; then
  if [[ ! -f "$TORCH_STEP" ]]; then
    log "torch: no torch_step.py at $TORCH_STEP"
  elif python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    TORCH=1
    log "torch $(python3 -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))')"
  else
    log "torch: no PyTorch with CUDA here; skipped"
  fi
fi

# ------------------------------------------------------------------ runs
run() {
  local what="$1"
  shift
  if ((SECONDS > BUDGET)); then
    log "SKIP $what: past the ${BUDGET} s budget"
    return
  fi
  local t0=$SECONDS out
  if out="$(timeout "$RUN_TIMEOUT" "$@" 2>"$TMP/err")"; then
    grep '^{' <<<"$out"
    # A profile's table (the lines after its progress lines).
    [[ "$what" == profile* ]] && grep -v '^backend:\|: warm-up\|: profiled\|: round' "$TMP/err" >&2
    log "$what: $((SECONDS - t0)) s"
  else
    log "FAIL $what (exit $?, $((SECONDS - t0)) s): $(grep -v '^\s*$' "$TMP/err" | tail -3 | tr '\n' ' ')"
  fi
}
for shape in $SHAPES; do
  IFS=x read -r width res batch steps <<<"$shape"
  steps="${steps:-5}"
  log "shape: width $width, ${res} px, batch $batch, $steps steps"
  for m in $METHODS; do
    for backend in webgpu node-gpu; do
      [[ " $RUNS " == *" $backend "* && -n "${AVAILABLE[$backend]:-}" ]] || continue
      run "$m $backend ${width}x${res}x${batch}" "${BENCH[@]}" --method "$m" --backend "$backend" \
        --width "$width" --res "$res" --batch "$batch" --steps "$steps"
    done
    if ((TORCH)); then
      run "$m torch-cuda ${width}x${res}x${batch}" python3 "$TORCH_STEP" --method "$m" --width "$width" \
        --res "$res" --batch "$batch" --steps "$steps" --threads 4 --device cuda
    fi
  done
done
for shape in $PROFILE_SHAPES; do
  [[ " $RUNS " == *" webgpu "* && -n "${AVAILABLE[webgpu]:-}" ]] || break
  IFS=x read -r width res batch rounds <<<"$shape"
  rounds="${rounds:-3}"
  log "profile shape: width $width, ${res} px, batch $batch, $rounds rounds"
  for m in $METHODS; do
    run "profile $m webgpu ${width}x${res}x${batch}" "${PROFILE[@]}" --method "$m" --backend webgpu \
      --width "$width" --res "$res" --batch "$batch" --rounds "$rounds"
  done
done
log "done in $SECONDS s"
