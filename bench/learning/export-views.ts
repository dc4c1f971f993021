/**
 * Writes the exact training views of a config (every step's two augmented batches, in order)
 * and its labelled evaluation images, so an independent implementation can train on the same
 * data: `torch_reference_train.py` trains the PyTorch reference on them.
 *
 *   npx vite-node --config vitest.config.ts bench/learning/export-views.ts CONFIG OUT_DIR [key.path=value ...]
 *
 * OUT_DIR gets views.f32 ([steps, 2, batch, size, size, 3] NHWC float32, normalised),
 * {train,test}_x.f32 (eval transform), {train,test}_y.i32, meta.json, and init.safetensors: the
 * model as selfsup initialises it from the config's seed, with PyTorch names and layouts.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  buildDatasets,
  buildViews,
  evalTransform,
  loadConfig,
  openSession,
} from '../../packages/node/src/cli/session';
import type { Dataset } from '../../packages/core/src/contracts';
import { exportStateDict } from '../../packages/core/src/io';
import { writeSafetensors } from '../../packages/node/src';
import { Trainer } from '../../packages/core/src/train/trainer';

const [configPath, outDir, ...sets] = process.argv.slice(2);
if (!configPath || !outDir) throw new Error('usage: export-views.ts CONFIG OUT_DIR [key.path=value ...]');
mkdirSync(outDir, { recursive: true });
const config = await loadConfig(configPath, sets);
const session = await openSession(config, { backend: 'cpu' });
const splits = await buildDatasets(session);
if (!splits.trainEval || !splits.test)
  throw new Error(`${configPath}: the dataset has no labels to evaluate with`);
const t = config.train;
await writeSafetensors(`${outDir}/init.safetensors`, exportStateDict(session.pipeline.method.stateEntries()));
// The trainer's own batch preparation: same sampler order, same per-(seed, epoch, index) augmentation.
const trainer = new Trainer({
  method: session.pipeline.method,
  optimizer: session.pipeline.optimizer,
  dataset: splits.train,
  views: buildViews(session),
  batchSize: t.batchSize,
  epochs: t.epochs,
  maxSteps: t.maxSteps,
  seed: t.seed,
  lr: { baseLr: session.pipeline.baseLr, warmupEpochs: t.warmupEpochs },
});
const size = config.data.imageSize;
const perView = t.batchSize * size * size * 3;
const views = new Float32Array(trainer.totalSteps * 2 * perView);
trainer.sampler.setState(trainer.samplerStateAt(0));
for (let step = 0; step < trainer.totalSteps; step++) {
  const batch = await trainer.prepareBatch(step);
  views.set(batch.view1, 2 * step * perView);
  views.set(batch.view2, (2 * step + 1) * perView);
}
writeFileSync(`${outDir}/views.f32`, Buffer.from(views.buffer));
const transform = evalTransform(size);
const writeSplit = async (name: string, ds: Dataset) => {
  const x = new Float32Array(ds.length * size * size * 3);
  const y = new Int32Array(ds.length);
  for (let i = 0; i < ds.length; i++) {
    const sample = await ds.get(i);
    x.set(transform(sample.image).data, i * size * size * 3);
    y[i] = sample.label ?? -1;
  }
  writeFileSync(`${outDir}/${name}_x.f32`, Buffer.from(x.buffer));
  writeFileSync(`${outDir}/${name}_y.i32`, Buffer.from(y.buffer));
};
await writeSplit('train', splits.trainEval);
await writeSplit('test', splits.test);
const meta = {
  steps: trainer.totalSteps,
  stepsPerEpoch: trainer.stepsPerEpoch,
  batch: t.batchSize,
  size,
  baseLr: session.pipeline.baseLr,
  config,
};
writeFileSync(`${outDir}/meta.json`, JSON.stringify(meta, null, 2));
session.pipeline.dispose();
console.log(
  `${outDir}: ${trainer.totalSteps} steps of 2 x ${t.batchSize} views, ${splits.trainEval.length}/${splits.test.length} eval images`,
);
