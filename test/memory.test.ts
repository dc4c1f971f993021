/**
 * tfjs habit check: a training step allocates nothing that survives it, and a pipeline's
 * dispose() frees everything it made, for each method and aggregator combination.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, SeededRng, tf, trainStep, type SelfsupConfigInput } from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { simsiamPlugin } from '@selfsup/plugin-simsiam';
import { simclrPlugin } from '@selfsup/plugin-simclr';

const BATCH = 4;
const RES = 8;
const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };
const lewel = { type: 'lewel', heads: 4 }; // K = 16 and C = 8 both divisible by 4
const simsiam = { type: 'simsiam', hiddenDim: 16, outDim: 16, predictorHiddenDim: 8 };
const simclr = { type: 'simclr', hiddenDim: 16, outDim: 16 };

const CASES: Array<[string, SelfsupConfigInput]> = [
  ['byol', { method: { type: 'byol', hiddenDim: 16, outDim: 16 }, backbone: TINY }],
  ['moco', { method: { type: 'moco', hiddenDim: 16, outDim: 16, queueSize: 32 }, backbone: TINY }],
  ['byol+lewel', { method: { type: 'byol', hiddenDim: 16, outDim: 16 }, aggregator: lewel, backbone: TINY }],
  [
    'moco+lewel',
    { method: { type: 'moco', hiddenDim: 16, outDim: 16, queueSize: 32 }, aggregator: lewel, backbone: TINY },
  ],
  ['simsiam', { method: { ...simsiam }, backbone: TINY }],
  ['simclr', { method: { ...simclr }, backbone: TINY }],
  ['simsiam+lewel', { method: { ...simsiam }, aggregator: lewel, backbone: TINY }],
  ['simclr+lewel', { method: { ...simclr }, aggregator: lewel, backbone: TINY }],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('no tensor leaks (cpu)', () => {
  for (const [name, config] of CASES) {
    it(`${name}: numTensors flat from step 3 to step 50; dispose() returns to the count before the pipeline`, () => {
      const rng = new SeededRng(11);
      const make = () =>
        tf.tensor4d(
          Float32Array.from({ length: BATCH * RES * RES * 3 }, () => rng.next()),
          [BATCH, RES, RES, 3],
        );
      const v1 = make();
      const v2 = make();
      const before = tf.memory().numTensors;

      const p = createPipeline(config, {
        plugins: [byolPlugin, mocoPlugin, lewelPlugin, simsiamPlugin, simclrPlugin],
      });
      const counts: number[] = [];
      let last = NaN;
      for (let s = 1; s <= 50; s++) {
        const r = trainStep(p.method, p.optimizer, v1, v2, {
          lr: p.baseLr,
          momentum: p.method.momentumAt?.(s - 1, 50),
          step: s,
        });
        last = r.loss;
        counts.push(tf.memory().numTensors);
      }
      expect(Number.isFinite(last)).toBe(true);
      // Step 1 creates optimizer state; nothing may accumulate afterwards.
      expect(counts[49]).toBe(counts[2]);
      expect(new Set(counts.slice(2)).size).toBe(1);

      p.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([v1, v2]);
    });
  }
});
