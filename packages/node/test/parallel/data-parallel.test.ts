import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';
import { createPipeline, type Pipeline } from '@selfsup/core';
import { disposeLossAndGrads, lossAndGrads, trainStep } from '@selfsup/core';
import { DataParallel } from '../../src/parallel/data-parallel';
import { SeededRng } from '@selfsup/core';
import { TINY_PLUGIN_FILE, tinyConfig, tinyPlugin } from './tiny-plugin';

const spec = { config: tinyConfig(), plugins: [TINY_PLUGIN_FILE], backend: 'cpu' };
const build = (): Pipeline => createPipeline(tinyConfig(), { plugins: [tinyPlugin] });

function batch(seed: number, b = 7, s = 6): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(seed);
  const n = b * s * s * 3;
  const mk = () =>
    tf.tensor4d(
      Float32Array.from({ length: n }, () => rng.normal()),
      [b, s, s, 3],
    );
  return [mk(), mk()];
}

const stateOf = (p: Pipeline) =>
  new Map(p.method.stateEntries().map((e) => [e.name, Array.from(e.variable.dataSync())]));

function expectClose(a: number[], b: number[], tol = 1e-4) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

describe('data parallel over worker_threads', () => {
  let single: Pipeline;
  let multi: Pipeline;
  let dp: DataParallel;

  beforeAll(async () => {
    single = build();
    multi = build();
    dp = await DataParallel.start(spec, multi.method, { workers: 2 });
  });
  afterAll(async () => {
    await dp?.close();
    single?.dispose();
    multi?.dispose();
  });

  it('averages shard gradients into the whole-batch gradient (no BN, 2 ranks, odd batch)', async () => {
    const [v1, v2] = batch(1);
    const ref = lossAndGrads(single.method, v1, v2);
    const par = await dp.lossAndGrads(multi.method, v1, v2, 1);
    try {
      expect(par.loss).toBeCloseTo(ref.loss.dataSync()[0], 5);
      expect(par.terms.spread).toBeCloseTo(ref.terms.spread.dataSync()[0], 5);
      expect([...par.grads.keys()].sort()).toEqual([...ref.grads.keys()].sort());
      for (const [name, g] of ref.grads)
        expectClose(Array.from(par.grads.get(name)!.dataSync()), Array.from(g.dataSync()));
    } finally {
      disposeLossAndGrads(ref);
      for (const g of par.grads.values()) g.dispose();
      // Both hold the pending keys of the batch; the next step replaces them.
      v1.dispose();
      v2.dispose();
    }
  });

  // The memory (FIFO of target embeddings) only matches if both shards' rows were gathered in batch order.
  it('trains like one process on the whole batch: parameters, EMA target and gathered memory agree', async () => {
    const before = tf.memory().numTensors;
    let afterFirst = 0;
    for (let s = 1; s <= 4; s++) {
      const [v1, v2] = batch(10 + s, 8);
      // The progress weighs the tiny method's terms: workers that lost it would differ from rank 0.
      const ctx = {
        lr: 0.1,
        momentum: 0.9,
        step: s,
        progress: { step: s - 1, totalSteps: 4, stepsPerEpoch: 2 },
      };
      const a = trainStep(single.method, single.optimizer, v1, v2, ctx);
      const b = await dp.step(multi.method, multi.optimizer, v1, v2, ctx);
      expect(b.loss).toBeCloseTo(a.loss, 4);
      v1.dispose();
      v2.dispose();
      if (s === 1) afterFirst = tf.memory().numTensors;
    }
    const sa = stateOf(single);
    const sb = stateOf(multi);
    for (const [name, v] of sa) expectClose(sb.get(name)!, v);
    // Optimizer slots appear on the first step; after that nothing grows.
    expect(tf.memory().numTensors).toBe(afterFirst);
    expect(afterFirst).toBeGreaterThanOrEqual(before);
  });

  it('is deterministic: a second runner with the same seed and workers gives identical losses', async () => {
    const run = async () => {
      const p = build();
      const r = await DataParallel.start(spec, p.method, { workers: 2 });
      const losses: number[] = [];
      try {
        for (let s = 1; s <= 3; s++) {
          const [v1, v2] = batch(20 + s, 9);
          losses.push(
            (await r.step(p.method, p.optimizer, v1, v2, { lr: 0.1, momentum: 0.9, step: s })).loss,
          );
          v1.dispose();
          v2.dispose();
        }
        return { losses, state: stateOf(p) };
      } finally {
        await r.close();
        p.dispose();
      }
    };
    const a = await run();
    const b = await run();
    expect(b.losses).toEqual(a.losses);
    expect(b.state).toEqual(a.state);
  });

  it('refuses a batch smaller than the number of ranks, naming both', async () => {
    const [v1, v2] = batch(5, 1);
    await expect(dp.lossAndGrads(multi.method, v1, v2, 9)).rejects.toThrow(
      /batch of 1 cannot be split over 2 workers/,
    );
    v1.dispose();
    v2.dispose();
  });
});
