#!/usr/bin/env bash
# Builds, on a machine with npm (this repo installed: npm ci), one folder to copy to a GPU
# machine that has Python and PyTorch but no Node, no Vulkan loader and no network, and takes at
# most 64 MiB: run `bash gpu.sh` there and it needs nothing else. The folder holds:
#   selfsup-bench.mjs      one esbuild bundle of the benchmark (bench/gpu/entry.ts: selfsup bench
#                          with its plugins and backends built in)
#   node_modules/webgpu    Dawn for Node: index.js and the Linux x64 dawn.node
#   node_modules/@tensorflow/tfjs-backend-wasm   the wasm binaries and pthread scripts
#   node.xz                this machine's Node binary, xz-compressed (gpu.sh unpacks it)
#   lib/libvulkan.so.1     the Vulkan loader from Debian's libvulkan1 (Dawn dlopens it)
#   torch_step.py, ref_methods.py   the PyTorch peer (shared/bench)
#   gpu.sh                 bench/gpu.sh
#
# Usage: bash bench/gpu-pack.sh [OUT_DIR]      (default: .tmp/gpu-pack)
#   TORCH_BENCH_DIR   folder of torch_step.py and ref_methods.py (default ../shared/bench)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO/.tmp/gpu-pack}"
PEER="${TORCH_BENCH_DIR:-$REPO/../shared/bench}"
LIMIT_MIB=64
fail() {
  echo "gpu-pack: FAIL: $*" >&2
  exit 1
}
cd "$REPO"
[[ -d node_modules/webgpu ]] || fail "node_modules/webgpu is missing: run npm ci first"
[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || fail "build the pack on Linux x86_64 (its Node binary goes into it)"
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
WASM=node_modules/@tensorflow/tfjs-backend-wasm
[[ -f "$DAWN" ]] || fail "$DAWN is missing (npm ci installs the webgpu package with its prebuilt binaries)"
[[ -f "$PEER/torch_step.py" && -f "$PEER/ref_methods.py" ]] || fail "no torch_step.py / ref_methods.py in $PEER (set TORCH_BENCH_DIR)"
command -v xz >/dev/null || fail "xz is needed to compress the Node binary (apt-get install xz-utils)"

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/node_modules/webgpu/dist/linux-x64" "$OUT/node_modules/@tensorflow"

echo "gpu-pack: bundle"
# ESM, with the require/__dirname that the CommonJS parts (tsyringe, emscripten's glue) expect.
# sharp (native image I/O) is stubbed and vega left out: the benchmark reads no images, plots
# nothing. Dawn and tfjs-node(-gpu) are loaded at run time from node_modules beside the bundle.
BANNER="import { createRequire as __ssRequire } from 'node:module'; import { fileURLToPath as __ssPath } from 'node:url'; import { dirname as __ssDir } from 'node:path'; const require = __ssRequire(import.meta.url); const __filename = __ssPath(import.meta.url); const __dirname = __ssDir(__filename);"
npx esbuild bench/gpu/entry.ts --bundle --platform=node --format=esm --target=node20 \
  --main-fields=module,main --outfile="$OUT/selfsup-bench.mjs" \
  --alias:sharp=./bench/gpu/no-sharp.ts \
  --external:vega --external:vega-lite --external:webgpu \
  --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  "--banner:js=$BANNER" --minify --keep-names --legal-comments=none --log-level=warning

echo "gpu-pack: Dawn (webgpu $(node -p "require('./node_modules/webgpu/package.json').version"))"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md "$OUT/node_modules/webgpu/"
cp "$DAWN" "$OUT/node_modules/webgpu/dist/linux-x64/"

echo "gpu-pack: tfjs wasm files"
mkdir -p "$OUT/$WASM/dist" "$OUT/$WASM/wasm-out"
cp "$WASM/package.json" "$OUT/$WASM/"
cp "$WASM"/dist/*.wasm "$OUT/$WASM/dist/"
cp "$WASM/wasm-out/tfjs-backend-wasm-threaded-simd.js" "$WASM/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js" \
  "$OUT/$WASM/wasm-out/"
# Only the version, which the webgpu provider reports (its code is in the bundle).
mkdir -p "$OUT/node_modules/@tensorflow/tfjs-backend-webgpu"
cp node_modules/@tensorflow/tfjs-backend-webgpu/package.json "$OUT/node_modules/@tensorflow/tfjs-backend-webgpu/"

echo "gpu-pack: Node $(node --version)"
xz -9 -T0 -c "$(command -v node)" >"$OUT/node.xz"
node --version >"$OUT/node.version"

echo "gpu-pack: Vulkan loader"
DEB_TMP="$(mktemp -d)"
trap 'rm -rf "$DEB_TMP"' EXIT
loader=""
if (cd "$DEB_TMP" && apt-get download libvulkan1 >/dev/null 2>&1); then
  dpkg -x "$DEB_TMP"/libvulkan1_*.deb "$DEB_TMP/x"
  loader="$(find "$DEB_TMP/x" -name 'libvulkan.so.1.*' -type f | head -1)"
  echo "  from $(basename "$DEB_TMP"/libvulkan1_*.deb)"
fi
if [[ -z "$loader" ]]; then
  # No apt: this machine's copy, if it has one.
  loader="$(readlink -f /lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null || true)"
  [[ -f "$loader" ]] || fail "no libvulkan1: apt-get download libvulkan1 failed and /lib/x86_64-linux-gnu has none"
  echo "  from this machine ($loader)"
fi
cp "$loader" "$OUT/lib/libvulkan.so.1"

echo "gpu-pack: PyTorch peer and gpu.sh"
cp "$PEER/torch_step.py" "$PEER/ref_methods.py" "$OUT/"
cp bench/gpu.sh "$OUT/gpu.sh"
chmod +x "$OUT/gpu.sh"
(cd "$OUT" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)

bytes="$(du -sb "$OUT" | cut -f1)"
mib=$((bytes / 1024 / 1024))
echo "gpu-pack: $OUT: ${mib} MiB ($bytes bytes)"
(cd "$OUT" && find . -type f -printf '  %8s  %p\n' | sort -k2)
((bytes < LIMIT_MIB * 1024 * 1024)) || fail "the pack is ${mib} MiB; the GPU machines take at most ${LIMIT_MIB} MiB"
echo "gpu-pack: OK. Copy $OUT to the GPU machine and run: bash gpu.sh"
