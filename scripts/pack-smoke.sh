#!/usr/bin/env bash
# Packs every workspace package, installs the tarballs into a fresh project outside the repo and
# uses them the way a user would: ESM import, CJS require, a LEWEL_B training step, `selfsup info`.
# Catches what in-repo tests cannot: missing files in "files", broken exports maps, deps that
# only resolve through the monorepo's hoisted node_modules.
#
# Run `npm run build` first. Usage: scripts/pack-smoke.sh [--strict]
#   --strict   fail when a workspace package has no dist/ (default: skip it with a warning;
#              the core and the method/aggregator plugins are always required).
#   KEEP=1     keep the temp folders for inspection.
set -euo pipefail

STRICT=0
[[ "${1:-}" == "--strict" ]] && STRICT=1

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIRED=(@selfsup/core @selfsup/node @selfsup/plugin-byol @selfsup/plugin-moco @selfsup/plugin-lewel @selfsup/plugin-simsiam @selfsup/plugin-simclr)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/selfsup-pack-smoke.XXXXXX")"
TARBALLS="$WORK/tarballs"
PROJECT="$WORK/project"
mkdir -p "$TARBALLS" "$PROJECT"
cleanup() {
  if [[ "${KEEP:-0}" == "1" ]]; then echo "pack-smoke: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  echo "pack-smoke: FAIL: $*" >&2
  exit 1
}

# ------------------------------------------------------------------ pack
cd "$REPO"
mapfile -t WORKSPACES < <(node -e 'for (const w of require("./package.json").workspaces) console.log(w)')
SKIPPED=()
for ws in "${WORKSPACES[@]}"; do
  name="$(node -p "require('./$ws/package.json').name")"
  # Private workspaces (the web page) are not published.
  [[ "$(node -p "require('./$ws/package.json').private === true")" == "true" ]] && continue
  if [[ ! -f "$ws/dist/index.js" || ! -f "$ws/dist/index.cjs" || ! -f "$ws/dist/index.d.ts" ]]; then
    required=0
    for r in "${REQUIRED[@]}"; do [[ "$r" == "$name" ]] && required=1; done
    if [[ $required == 1 || $STRICT == 1 ]]; then
      fail "$name ($ws) is not built (dist/index.{js,cjs,d.ts}); run npm run build"
    fi
    echo "pack-smoke: WARNING: $name is not built; skipped" >&2
    SKIPPED+=("$name")
    continue
  fi
  npm pack --silent --pack-destination "$TARBALLS" -w "$name" >/dev/null || fail "npm pack $name"
done
mapfile -t TGZ < <(ls "$TARBALLS"/*.tgz)
echo "pack-smoke: packed ${#TGZ[@]} packages:"
for t in "${TGZ[@]}"; do
  echo "  $(basename "$t")"
  # Nothing from the sources or tests may ship; dist must.
  listing="$(tar -tzf "$t")"
  grep -q '^package/dist/index.js$' <<<"$listing" || fail "$(basename "$t") has no dist/index.js"
  if grep -qE '^package/(src|test)/' <<<"$listing"; then fail "$(basename "$t") ships src/ or test/"; fi
done

# ------------------------------------------------------------------ install
cd "$PROJECT"
cat >package.json <<'JSON'
{ "name": "selfsup-pack-smoke", "version": "0.0.0", "private": true }
JSON
npm install --no-audit --no-fund --loglevel=error "${TGZ[@]}" || fail "npm install of the tarballs"
# Every @selfsup package must be the packed one, not a registry copy.
for t in "${TGZ[@]}"; do
  name="$(tar -xzOf "$t" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).name))')"
  [[ -f "node_modules/$name/dist/index.js" ]] || fail "$name is not installed at node_modules/$name"
done
[[ -z "$(find node_modules -path '*/node_modules/@selfsup/core' -not -path 'node_modules/@selfsup/core' -print -quit)" ]] ||
  fail "a second copy of @selfsup/core was installed (a plugin did not dedupe onto the packed core)"

# ------------------------------------------------------------------ use
cat >smoke.mjs <<'JS'
import { createPipeline, trainStep, tf, SeededRng } from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { lewelPlugin } from '@selfsup/plugin-lewel';

await tf.setBackend('cpu');
const p = createPipeline(
  {
    method: { type: 'byol', hiddenDim: 16, outDim: 16 },
    aggregator: { type: 'lewel', heads: 4 },
    backbone: { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' },
  },
  { plugins: [byolPlugin, lewelPlugin] },
);
const names = p.method.stateEntries().map((e) => e.name);
for (const n of ['predictor_obj.mlp.0.weight', 'online.proj.mlp.0.weight', 'online.proj_obj.mlp.3.weight'])
  if (!names.includes(n)) throw new Error(`LEWEL_B has no ${n}`);
const rng = new SeededRng(0);
const view = () => tf.tensor4d(Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.next()), [4, 8, 8, 3]);
const r = trainStep(p.method, p.optimizer, view(), view(), { lr: p.baseLr, momentum: p.method.momentumAt?.(0, 1) });
if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss}`);
console.log(`esm: LEWEL_B on ${tf.getBackend()}: loss ${r.loss.toFixed(6)} (global ${r.terms.loss_global.toFixed(6)}, aligned ${r.terms.loss_aligned.toFixed(6)})`);
p.dispose();
JS

cat >smoke.cjs <<'JS'
const { createPipeline, trainStep, tf, SeededRng } = require('@selfsup/core');
const { byolPlugin } = require('@selfsup/plugin-byol');
const { lewelPlugin } = require('@selfsup/plugin-lewel');

async function main() {
  await tf.setBackend('cpu');
  const p = createPipeline(
    {
      method: { type: 'byol', hiddenDim: 16, outDim: 16 },
      aggregator: { type: 'lewel', heads: 4 },
      backbone: { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' },
    },
    { plugins: [byolPlugin, lewelPlugin] },
  );
  if (!p.method.stateEntries().some((e) => e.name === 'predictor_obj.mlp.0.weight'))
    throw new Error('LEWEL_B has no predictor_obj');
  const rng = new SeededRng(0);
  const view = () => tf.tensor4d(Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.next()), [4, 8, 8, 3]);
  const r = trainStep(p.method, p.optimizer, view(), view(), { lr: p.baseLr, momentum: p.method.momentumAt?.(0, 1) });
  if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss}`);
  console.log(`cjs: LEWEL_B on ${tf.getBackend()}: loss ${r.loss.toFixed(6)}`);
  p.dispose();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
JS

ESM_OUT="$(node smoke.mjs 2>&1)" || { echo "$ESM_OUT" >&2; fail "ESM import"; }
grep -v -e '^=*$' -e 'Hi, looks like' -e 'tfjs-node' <<<"$ESM_OUT"
CJS_OUT="$(node smoke.cjs 2>&1)" || { echo "$CJS_OUT" >&2; fail "CJS require"; }
grep -v -e '^=*$' -e 'Hi, looks like' -e 'tfjs-node' <<<"$CJS_OUT"
# Same seed, same packages: ESM and CJS builds must give the same loss.
esm_loss="$(grep -o 'loss [0-9.]*' <<<"$ESM_OUT" | head -1)"
cjs_loss="$(grep -o 'loss [0-9.]*' <<<"$CJS_OUT" | head -1)"
[[ -n "$esm_loss" && "$esm_loss" == "$cjs_loss" ]] || fail "ESM ($esm_loss) and CJS ($cjs_loss) losses differ"

INFO="$(npx --no-install selfsup info 2>&1)" || { echo "$INFO" >&2; fail "npx selfsup info"; }
grep -v -e '^=*$' -e 'Hi, looks like' -e 'tfjs-node' <<<"$INFO"
grep -q '^method: .*byol' <<<"$INFO" || fail "selfsup info lists no byol method"
grep -q '^method: .*moco' <<<"$INFO" || fail "selfsup info lists no moco method"
grep -q '^aggregator: .*lewel' <<<"$INFO" || fail "selfsup info lists no lewel aggregator"

if [[ ${#SKIPPED[@]} -gt 0 ]]; then
  echo "pack-smoke: OK (not built, skipped: ${SKIPPED[*]})"
else
  echo "pack-smoke: OK"
fi
