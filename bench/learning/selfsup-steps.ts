/**
 * selfsup's per-step losses for a config, one JSON line per step: the counterpart of
 * `torch_reference_train.py --max-steps N --print-steps` (same views, same init, same schedules
 * spanning N steps).
 *
 *   npx vite-node --config vitest.config.ts bench/learning/selfsup-steps.ts CONFIG N [key.path=value ...]
 *
 * SELFSUP_BACKEND and SELFSUP_THREADS pick the backend and its threads (another float summation
 * order: how far two runs of one implementation drift apart, next to the reference's drift).
 * SELFSUP_INIT=CHECKPOINT starts from a checkpoint's network (its `model.*` entries; the optimizer
 * starts fresh), to compare one step of both implementations from a trained state.
 */
import 'reflect-metadata';
import {
  buildDatasets,
  buildViews,
  loadConfig,
  loadModelWeights,
  openSession,
} from '../../packages/node/src/cli/session';
import { Trainer } from '../../packages/core/src/train/trainer';

const [configPath, steps, ...sets] = process.argv.slice(2);
if (!configPath || !(Number(steps) >= 1))
  throw new Error('usage: selfsup-steps.ts CONFIG N [key.path=value ...]');
const config = await loadConfig(configPath, sets);
const threads = process.env.SELFSUP_THREADS ? Number(process.env.SELFSUP_THREADS) : undefined;
const session = await openSession(config, { backend: process.env.SELFSUP_BACKEND ?? 'wasm', threads });
if (process.env.SELFSUP_INIT) await loadModelWeights(session.pipeline, process.env.SELFSUP_INIT, configPath);
const splits = await buildDatasets(session);
const t = config.train;
const trainer = new Trainer({
  method: session.pipeline.method,
  optimizer: session.pipeline.optimizer,
  dataset: splits.train,
  views: buildViews(session),
  batchSize: t.batchSize,
  epochs: t.epochs,
  maxSteps: Number(steps),
  seed: t.seed,
  lr: { baseLr: session.pipeline.baseLr, warmupEpochs: t.warmupEpochs },
  onStep: (s) => console.log(JSON.stringify({ step: s.step, loss: s.loss, ...s.terms })),
});
await trainer.run();
session.pipeline.dispose();
