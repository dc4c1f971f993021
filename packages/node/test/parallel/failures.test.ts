import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';
import { createPipeline } from '@selfsup/core';
import { DataParallel } from '../../src/parallel/data-parallel';
import type { FaultInjection } from '../../src/parallel/protocol';
import { TINY_PLUGIN_FILE, tinyConfig, tinyPlugin } from './tiny-plugin';

const spec = { config: tinyConfig(), plugins: [TINY_PLUGIN_FILE], backend: 'cpu' };

/** Runs steps 1..3 with a fault at worker `fault.rank`, step 2; returns the error and how long the failing step took. */
async function failingRun(fault: FaultInjection, stepTimeoutMs?: number) {
  const p = createPipeline(tinyConfig(), { plugins: [tinyPlugin] });
  const dp = await DataParallel.start(spec, p.method, { workers: 2, fault, stepTimeoutMs });
  const v = () => tf.ones([6, 6, 6, 3]) as tf.Tensor4D;
  const [v1, v2] = [v(), v()];
  let t0 = 0;
  try {
    for (let s = 1; s <= 3; s++) {
      t0 = performance.now();
      await dp.step(p.method, p.optimizer, v1, v2, { lr: 0.1, momentum: 0.9, step: s });
    }
    return { error: undefined, seconds: 0, dp };
  } catch (err) {
    return { error: err as Error, seconds: (performance.now() - t0) / 1000, dp };
  } finally {
    v1.dispose();
    v2.dispose();
    p.dispose();
  }
}

describe('data-parallel failures stop training with an error naming the worker and the step', () => {
  it('a worker that throws', async () => {
    const { error, dp } = await failingRun({ kind: 'throw', rank: 1, step: 2 });
    expect(error?.message).toMatch(/data-parallel worker 1 of 2 failed at step 2: injected fault at step 2/);
    // The runner stays failed (and its workers are gone) rather than half-working.
    const [a, b] = [tf.ones([6, 6, 6, 3]) as tf.Tensor4D, tf.ones([6, 6, 6, 3]) as tf.Tensor4D];
    await expect(dp.lossAndGrads((dp as unknown as { method: never }).method, a, b, 3)).rejects.toThrow(
      /worker 1 of 2/,
    );
    a.dispose();
    b.dispose();
  });

  it('a worker that exits', async () => {
    const { error } = await failingRun({ kind: 'exit', rank: 1, step: 2 });
    expect(error?.message).toMatch(/data-parallel worker 1 of 2 failed at step 2: exited with code 3/);
  });

  it('a worker that hangs, within the step timeout', async () => {
    const { error, seconds } = await failingRun({ kind: 'hang', rank: 1, step: 2 }, 1500);
    expect(error?.message).toMatch(/data-parallel worker 1 of 2 did not answer step 2 within 1\.5 s/);
    expect(seconds).toBeLessThan(5);
  });
});
