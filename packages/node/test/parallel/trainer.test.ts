import 'reflect-metadata';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointFileName } from '@selfsup/core';
import { createPipeline } from '@selfsup/core';
import { createRunTrainer } from '../../src/train/run-trainer';
import { createStepRunner } from '../../src/parallel/runner';
import type { FaultInjection } from '../../src/parallel/protocol';
import { DataParallel } from '../../src/parallel/data-parallel';
import { fakeDataset, FakeViews } from '../../../core/test/train/fakes';
import { TINY_PLUGIN_FILE, tinyConfig, tinyPlugin } from './tiny-plugin';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Trains the tiny method 2 epochs x 3 steps through the Trainer with a data-parallel step function. */
async function train(fault?: FaultInjection) {
  const runDir = await mkdtemp(join(tmpdir(), 'selfsup-dp-'));
  dirs.push(runDir);
  const p = createPipeline(tinyConfig(), { plugins: [tinyPlugin] });
  const losses: number[] = [];
  const runner = fault
    ? await DataParallel.start(
        { config: tinyConfig(), plugins: [TINY_PLUGIN_FILE], backend: 'cpu' },
        p.method,
        { workers: 2, fault },
      ).then((dp) => ({ step: dp.step, close: () => dp.close() }))
    : await createStepRunner({
        workers: 2,
        method: p.method,
        spec: { config: tinyConfig(), plugins: [TINY_PLUGIN_FILE], backend: 'cpu' },
      });
  const trainer = createRunTrainer({
    method: p.method,
    optimizer: p.optimizer,
    dataset: fakeDataset(18, 8),
    views: new FakeViews(6),
    runDir,
    batchSize: 6,
    epochs: 2,
    seed: 5,
    lr: { baseLr: 0.05, warmupEpochs: 0 },
    progress: 'none',
    plots: false,
    log: () => undefined,
    stepFn: runner.step,
    onStep: (s) => void losses.push(s.loss),
  });
  let error: Error | undefined;
  try {
    await trainer.run();
  } catch (err) {
    error = err as Error;
  } finally {
    await runner.close();
    p.dispose();
  }
  return { losses, error, runDir };
}

describe('Trainer with data-parallel steps', () => {
  it('gives the same loss curve twice (same seed, same workers) and writes its checkpoints', async () => {
    const a = await train();
    const b = await train();
    expect(a.error).toBeUndefined();
    expect(a.losses).toHaveLength(6);
    expect(b.losses).toEqual(a.losses);
    expect((await readdir(join(a.runDir, 'checkpoints'))).length).toBeGreaterThanOrEqual(2);
  });

  it('stops on a crashed worker with its rank and the step, keeping the last checkpoint', async () => {
    const r = await train({ kind: 'throw', rank: 1, step: 5 });
    expect(r.error?.message).toMatch(/data-parallel worker 1 of 2 failed at step 5: injected fault/);
    expect(r.losses).toHaveLength(4);
    // Epoch 1 ended at step 3: its checkpoint is the run's last.
    const files = (await readdir(join(r.runDir, 'checkpoints'))).filter((f) => f.endsWith('.safetensors'));
    expect(files).toEqual([checkpointFileName(3)]);
  });
});
