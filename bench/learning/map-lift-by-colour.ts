/**
 * A trained run's alignment-map lift split by the colour of the labelled object (the cluttered
 * dataset's palette hues): the same score, data and preprocessing as `selfsup maps`, computed
 * once per colour on the held-out images whose object has that colour. Shows whether the maps
 * find objects or one colour of object.
 *
 *   npx vite-node --config vitest.config.ts bench/learning/map-lift-by-colour.ts RUN_DIR_OR_CHECKPOINT
 */
import 'reflect-metadata';
import { ClutteredDataset } from '../../packages/core/src/data/datasets/cluttered';
import { DatasetSubset } from '../../packages/core/src/data/splits';
import { evaluateAlignmentMaps } from '../../packages/core/src/eval/maps';
import { buildDatasets, evalTransform, openCheckpointSession } from '../../packages/node/src/cli/session';

const [checkpoint] = process.argv.slice(2);
if (!checkpoint) throw new Error('usage: map-lift-by-colour.ts RUN_DIR_OR_CHECKPOINT');
const session = await openCheckpointSession({ checkpoint, backend: process.env.SELFSUP_BACKEND ?? 'wasm' });
const { test } = await buildDatasets(session);
if (!(test instanceof ClutteredDataset) || test.palette <= 0) {
  throw new Error(`${checkpoint}: the held-out split is not a cluttered dataset with a palette`);
}

/** Palette index of an object colour: its hue, rounded to the nearest of `palette` hues. */
function paletteIndex([r, g, b]: [number, number, number], palette: number): number {
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d + 6) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
  }
  return Math.round((h / 6) * palette) % palette;
}

const byColour = new Map<number, number[]>();
for (let i = 0; i < test.length; i++) {
  const { objects } = test.render(i);
  const k = paletteIndex(objects[objects.length - 1].color, test.palette);
  if (!byColour.has(k)) byColour.set(k, []);
  byColour.get(k)!.push(i);
}

const transform = evalTransform(session.config.data.imageSize);
const rows = [];
// The whole split's lift from the per-colour scores (both are means over scored images), so
// each image's maps are computed once.
let mass = 0;
let area = 0;
for (const k of [...byColour.keys()].sort((a, b) => a - b)) {
  const subset = new DatasetSubset(test, byColour.get(k)!, `hue ${k}/${test.palette}`);
  const score = await evaluateAlignmentMaps(session.pipeline.method, subset, { transform });
  mass += score.massOnMask * score.images;
  area += score.areaFraction * score.images;
  rows.push({ hue: k / test.palette, images: score.images, lift: score.lift, massOnMask: score.massOnMask });
}
console.log(JSON.stringify({ checkpoint, lift: mass / area, byObjectHue: rows }));
session.pipeline.dispose();
process.exit(0);
