import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf, SGD, Checkpointer, type StepInfo, type TrainerMeta } from '@selfsup/core';
import { createRunTrainer, FileCheckpointStorage } from '../src';
import { FakeMethod, FakeViews, fakeDataset } from '../../core/test/train/fakes';

type TrainerOptions = Parameters<typeof createRunTrainer>[0];

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'selfsup-trainer-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const dataset = fakeDataset(12);

function options(runDir: string, method: FakeMethod, extra: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    method,
    optimizer: new SGD({ momentum: 0.9, weightDecay: 1e-4 }),
    dataset,
    views: new FakeViews(6),
    runDir,
    batchSize: 4,
    epochs: 3,
    seed: 11,
    lr: { baseLr: 0.2, warmupEpochs: 1 },
    progress: 'none',
    plots: false,
    log: () => undefined,
    ...extra,
  };
}

const weights = (m: FakeMethod) => m.stateEntries().map((e) => [e.name, Array.from(e.variable.dataSync())]);

describe('Trainer', () => {
  it('resumes after an interruption with the identical loss curve and final state', async () => {
    // Uninterrupted reference: 3 epochs x 3 steps.
    const ref: StepInfo[] = [];
    const a = new FakeMethod({ seed: 1 });
    const dirA = await tempDir();
    const sumA = await createRunTrainer(options(dirA, a, { onStep: (s) => void ref.push(s) })).run();
    expect(sumA.steps).toBe(9);
    expect(ref.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // Interrupted at step 5 (after it ran); checkpoints exist at steps 2, 3 (epoch end) and 4.
    const dirB = await tempDir();
    const b1 = new FakeMethod({ seed: 1 });
    const seen: StepInfo[] = [];
    const crash = createRunTrainer(
      options(dirB, b1, {
        checkpointEverySteps: 2,
        onStep: (s) => {
          seen.push(s);
          if (s.step === 5) throw new Error('simulated crash');
        },
      }),
    );
    await expect(crash.run()).rejects.toThrow('simulated crash');
    const ckpts = (await readdir(join(dirB, 'checkpoints'))).sort();
    expect(ckpts).toEqual([
      'checkpoint-00000002.safetensors',
      'checkpoint-00000003.safetensors',
      'checkpoint-00000004.safetensors',
    ]);

    // A new process: different initial weights and a fresh optimizer; everything comes from the checkpoint.
    const b2 = new FakeMethod({ seed: 99 });
    const resumed: StepInfo[] = [];
    const sumB = await createRunTrainer(
      options(dirB, b2, { checkpointEverySteps: 2, resume: true, onStep: (s) => void resumed.push(s) }),
    ).run();
    expect(sumB.resumedFrom).toBe(4);
    expect(resumed.map((s) => s.step)).toEqual([5, 6, 7, 8, 9]);
    const strip = (s: StepInfo) => ({
      loss: s.loss,
      terms: s.terms,
      lr: s.lr,
      ema: s.ema,
      epoch: s.epoch,
      batch: s.batch,
    });
    expect([...seen.slice(0, 4), ...resumed].map(strip)).toEqual(ref.map(strip));
    expect(weights(b2)).toEqual(weights(a));
    expect(b2.updates).toBe(9);

    // metrics.jsonl: one line per epoch, identical apart from timing.
    const lines = async (d: string) =>
      (await readFile(join(d, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map(({ imgs_per_s: _i, seconds: _s, ...rest }) => rest);
    const la = await lines(dirA);
    expect(la.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(await lines(dirB)).toEqual(la);
    a.dispose();
    b1.dispose();
    b2.dispose();
  });

  it('writes metrics.jsonl, kNN, plots and checkpoints, and keeps tensor count flat', async () => {
    const dir = await tempDir();
    const method = new FakeMethod({ seed: 2 });
    const counts: number[] = [];
    const logged: string[] = [];
    const trainer = createRunTrainer(
      options(dir, method, {
        epochs: 2,
        plots: true,
        progress: 'log',
        logEverySteps: 2,
        log: (l) => void logged.push(l),
        knn: { memory: fakeDataset(8, 6, 3), query: fakeDataset(4, 6, 4), everyEpochs: 2, k: 3 },
        onStep: () => void counts.push(tf.memory().numTensors),
      }),
    );
    const summary = await trainer.run();
    expect(summary.steps).toBe(6);
    expect(counts[5]).toBe(counts[1]);
    const rows = (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    for (const [i, r] of rows.entries()) {
      expect(r.epoch).toBe(i + 1);
      expect(r.step).toBe(3 * (i + 1));
      for (const k of ['loss', 'lr', 'ema', 'imgs_per_s']) expect(Number.isFinite(r[k])).toBe(true);
      expect(Object.keys(r.terms).sort()).toEqual(['mse', 'penalty']);
    }
    // Warm-up 1 epoch (3 steps) then cosine to 0 over 3 more: last step lr = 0.2 * 0.5 * (1 + cos(2pi/3)).
    expect(rows[1].lr).toBeCloseTo(0.2 * 0.5 * (1 + Math.cos((2 * Math.PI) / 3)), 10);
    expect(rows[0].lr).toBeCloseTo(0.2, 10);
    // Cosine EMA at k = 5 of 6: 1 - 0.1 * (cos(5pi/6) + 1) / 2.
    expect(rows[1].ema).toBeCloseTo(1 - (0.1 * (Math.cos((5 * Math.PI) / 6) + 1)) / 2, 10);
    expect(rows[0].knn).toBeUndefined();
    expect(rows[1].knn).toBeGreaterThanOrEqual(0);
    expect(rows[1].knn).toBeLessThanOrEqual(100);
    expect(rows[0].loss).toBeCloseTo(summary.metrics[0].loss, 12);
    for (const f of ['loss', 'lr', 'ema', 'knn']) {
      const png = await readFile(join(dir, 'plots', `${f}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
    expect(logged.filter((l) => /^epoch \d\/2 step \d+\/6 loss/.test(l))).toHaveLength(3);
    expect(logged.some((l) => /^epoch 2\/2 step 6 loss .* knn /.test(l))).toBe(true);
    expect((await readdir(join(dir, 'checkpoints'))).sort()).toEqual([
      'checkpoint-00000003.safetensors',
      'checkpoint-00000006.safetensors',
    ]);
    // A fresh run may not silently mix with an existing run's checkpoints.
    await expect(createRunTrainer(options(dir, method)).run()).rejects.toThrow(
      /already has checkpoints \(latest step 6\)/,
    );
    method.dispose();
  });

  it('stops on a NaN loss naming the step and keeps the last good checkpoint', async () => {
    const dir = await tempDir();
    const method = new FakeMethod({ seed: 5, nanAtCall: 5 });
    const trainer = createRunTrainer(options(dir, method, { checkpointEverySteps: 2 }));
    await expect(trainer.run()).rejects.toThrow(
      /loss is NaN at step 5 \(epoch 2, batch 2\/3\).*last good checkpoint: .*checkpoint-00000004\.safetensors/,
    );
    expect((await readdir(join(dir, 'checkpoints'))).sort()).toEqual([
      'checkpoint-00000002.safetensors',
      'checkpoint-00000003.safetensors',
      'checkpoint-00000004.safetensors',
    ]);
    const latest = await new Checkpointer<TrainerMeta>(
      new FileCheckpointStorage(join(dir, 'checkpoints')),
    ).loadLatest();
    expect(latest?.step).toBe(4);
    expect(latest?.meta.metrics).toHaveLength(1);
    method.dispose();
  });

  it('refuses to resume under another config hash', async () => {
    const dir = await tempDir();
    const method = new FakeMethod();
    await createRunTrainer(options(dir, method, { epochs: 1, configHash: 'aaa' })).run();
    await expect(
      createRunTrainer(options(dir, method, { resume: true, configHash: 'bbb' })).run(),
    ).rejects.toThrow(/config hash aaa, this run has bbb/);
    method.dispose();
  });

  it('gives the same stream with and without prefetch, with a short last batch and a mid-epoch stop', async () => {
    const run = async (prefetch: boolean) => {
      const method = new FakeMethod({ seed: 8 });
      const steps: StepInfo[] = [];
      const dir = await tempDir();
      const summary = await createRunTrainer(
        options(dir, method, {
          dataset: fakeDataset(10),
          dropLast: false,
          maxSteps: 5,
          prefetch,
          onStep: (s) => void steps.push(s),
        }),
      ).run();
      method.dispose();
      const rows = (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      return { steps, summary, rows };
    };
    const a = await run(true);
    const b = await run(false);
    // 10 images in batches of 4 without dropLast: 3 steps per epoch; maxSteps 5 stops in epoch 2.
    expect(a.steps.map((s) => [s.epoch, s.batch])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
      [2, 2],
    ]);
    expect(a.steps.map((s) => s.loss)).toEqual(b.steps.map((s) => s.loss));
    expect(a.summary.steps).toBe(5);
    expect(a.rows.map((r) => [r.epoch, r.step, r.partial])).toEqual([
      [1, 3, undefined],
      [2, 5, true],
    ]);
    // The schedule spans the 5 steps: the last step (k = 4) has lr = 0.2 * 0.5 * (1 + cos(pi * 1 / 2)).
    expect(a.steps[4].lr).toBeCloseTo(0.1, 10);
  });
});
