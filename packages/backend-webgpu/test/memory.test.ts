/**
 * tfjs habit check on webgpu: a training step (asynchronous, one read-back) allocates nothing
 * that survives it, and a pipeline's dispose() frees everything it made, for each method and
 * aggregator combination. The webgpu twin of test/memory.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, SeededRng, tf, trainStepAsync, type SelfsupConfigInput } from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { WebGpuBackendProvider, releaseWebGpu } from '../src';
import { setUpWebGpu } from './setup';

const webgpu = await setUpWebGpu('memory.test.ts');

const BATCH = 4;
const RES = 8;
const STEPS = 12;
const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };
const lewel = { type: 'lewel', heads: 4 };

const CASES: Array<[string, SelfsupConfigInput]> = [
  ['byol', { method: { type: 'byol', hiddenDim: 16, outDim: 16 }, backbone: TINY }],
  ['moco', { method: { type: 'moco', hiddenDim: 16, outDim: 16, queueSize: 32 }, backbone: TINY }],
  ['byol+lewel', { method: { type: 'byol', hiddenDim: 16, outDim: 16 }, aggregator: lewel, backbone: TINY }],
  [
    'moco+lewel',
    { method: { type: 'moco', hiddenDim: 16, outDim: 16, queueSize: 32 }, aggregator: lewel, backbone: TINY },
  ],
];

// A software GPU on a shared machine is slow: shader compiles alone can take tens of seconds.
const SLOW = 300_000;

describe.skipIf(!webgpu.ok)('no tensor leaks (webgpu)', () => {
  beforeAll(async () => {
    await new WebGpuBackendProvider().activate({});
  });
  afterAll(async () => {
    await releaseWebGpu();
  });

  for (const [name, config] of CASES) {
    it(
      `${name}: numTensors flat from step 3 to step ${STEPS}; dispose() returns to the count before the pipeline`,
      async () => {
        expect(tf.getBackend()).toBe('webgpu');
        const rng = new SeededRng(11);
        const make = () =>
          tf.tensor4d(
            Float32Array.from({ length: BATCH * RES * RES * 3 }, () => rng.next()),
            [BATCH, RES, RES, 3],
          );
        const v1 = make();
        const v2 = make();
        const before = tf.memory().numTensors;

        const p = createPipeline(config, { plugins: [byolPlugin, mocoPlugin, lewelPlugin] });
        const counts: number[] = [];
        const losses: number[] = [];
        for (let s = 1; s <= STEPS; s++) {
          const r = await trainStepAsync(p.method, p.optimizer, v1, v2, {
            lr: p.baseLr,
            momentum: p.method.momentumAt?.(s, STEPS),
            step: s,
          });
          losses.push(r.loss);
          counts.push(tf.memory().numTensors);
        }
        expect(losses.every(Number.isFinite)).toBe(true);
        // Training moves the loss: a backend that computed nothing would repeat step 1's.
        expect(new Set(losses).size).toBeGreaterThan(1);
        // Step 1 creates optimizer state; nothing may accumulate afterwards.
        expect(new Set(counts.slice(2)).size).toBe(1);

        p.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([v1, v2]);
      },
      SLOW,
    );
  }
});
