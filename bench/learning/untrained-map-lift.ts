/**
 * The alignment maps' lift of the untrained network (epoch 0 of metrics.jsonl's maps_lift):
 * map mass on the held-out object masks over the masks' area, for a config, with the same
 * score, data and preprocessing as `selfsup maps` and the maps monitor.
 *
 *   npx vite-node --config vitest.config.ts bench/learning/untrained-map-lift.ts CONFIG [key.path=value ...]
 */
import 'reflect-metadata';
import { evaluateAlignmentMaps } from '../../packages/core/src/eval/maps';
import { buildDatasets, evalTransform, loadConfig, openSession } from '../../packages/node/src/cli/session';

const [configPath, ...sets] = process.argv.slice(2);
if (!configPath) throw new Error('usage: untrained-map-lift.ts CONFIG [key.path=value ...]');
const config = await loadConfig(configPath, sets);
const session = await openSession(config, { backend: process.env.SELFSUP_BACKEND ?? 'wasm' });
const splits = await buildDatasets(session);
if (!splits.test) throw new Error(`${configPath}: no held-out split to score maps on`);
const score = await evaluateAlignmentMaps(session.pipeline.method, splits.test, {
  transform: evalTransform(config.data.imageSize),
});
console.log(
  JSON.stringify({
    config: configPath,
    sets,
    lift: score.lift,
    massOnMask: score.massOnMask,
    areaFraction: score.areaFraction,
    images: score.images,
  }),
);
session.pipeline.dispose();
process.exit(0);
