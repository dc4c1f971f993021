import { describe, expect, it } from 'vitest';
import { SGD } from '../../src/optim';
import { Checkpointer, MemoryCheckpointStorage } from '../../src/io';
import {
  CheckpointHook,
  Trainer,
  type EpochMetrics,
  type TrainerHook,
  type TrainerMeta,
} from '../../src/train';
import { FakeMethod, FakeViews, fakeDataset } from './fakes';

const base = (method: FakeMethod, hooks: TrainerHook[]) => ({
  method,
  optimizer: new SGD({ momentum: 0.9, weightDecay: 1e-4 }),
  dataset: fakeDataset(12),
  views: new FakeViews(6),
  batchSize: 4,
  epochs: 2,
  seed: 3,
  lr: { baseLr: 0.1, warmupEpochs: 0 },
  log: () => undefined,
  hooks,
});

describe('Trainer hooks (platform-neutral)', () => {
  it('runs hooks in priority order at each point, and a hook sees what earlier ones added', async () => {
    const calls: string[] = [];
    const rec = (name: string, priority: number): TrainerHook => ({
      name,
      priority,
      restore: () => void calls.push(`${name}.restore`),
      beforeRun: () => void calls.push(`${name}.beforeRun`),
      afterEpoch: (_t, m: EpochMetrics) => {
        calls.push(`${name}.afterEpoch:${String(m.marked ?? '-')}`);
        m.marked = name;
      },
      afterRun: () => void calls.push(`${name}.afterRun`),
      close: () => void calls.push(`${name}.close`),
    });
    await new Trainer(base(new FakeMethod({ seed: 1 }), [rec('late', 90), rec('early', 10)])).run();
    expect(calls).toEqual([
      'early.restore',
      'late.restore',
      'early.beforeRun',
      'late.beforeRun',
      'early.afterEpoch:-',
      'late.afterEpoch:early',
      'early.afterEpoch:-',
      'late.afterEpoch:early',
      'early.afterRun',
      'late.afterRun',
      'early.close',
      'late.close',
    ]);
  });

  it('gives every step its progress (0-based step, total steps, steps per epoch) for scheduled loss weights', async () => {
    const method = new FakeMethod({ seed: 4 });
    await new Trainer(base(method, [])).run();
    // 12 images, batch 4: 3 steps per epoch, 2 epochs.
    expect(method.progress).toEqual(
      Array.from({ length: 6 }, (_, step) => ({ step, totalSteps: 6, stepsPerEpoch: 3 })),
    );
  });

  it('checkpoints into memory storage and resumes to the same final state', async () => {
    const full = new FakeMethod({ seed: 2 });
    await new Trainer(base(full, [])).run();
    const storage = new MemoryCheckpointStorage();
    const crashed = new FakeMethod({ seed: 2 });
    const stopAt: TrainerHook = {
      name: 'crash',
      afterStep: (_t, s) => {
        if (s.step === 4) throw new Error('crash');
      },
    };
    await expect(
      new Trainer(base(crashed, [new CheckpointHook({ storage, everySteps: 3 }), stopAt])).run(),
    ).rejects.toThrow('crash');
    expect([...storage.files.keys()]).toEqual(['checkpoint-00000003.safetensors']);
    const resumed = new FakeMethod({ seed: 99 });
    const summary = await new Trainer(base(resumed, [new CheckpointHook({ storage, resume: true })])).run();
    expect(summary.resumedFrom).toBe(3);
    const w = (m: FakeMethod) => m.stateEntries().map((e) => Array.from(e.variable.dataSync()));
    expect(w(resumed)).toEqual(w(full));
    const latest = await new Checkpointer<TrainerMeta>(storage).loadLatest();
    expect(latest?.step).toBe(6);
  });

  it('requestStop ends the run after the current step with a checkpoint of that step', async () => {
    const storage = new MemoryCheckpointStorage();
    const stopper: TrainerHook = {
      name: 'stopper',
      afterStep: (t, s) => {
        if (s.step === 2) t.requestStop('SIGTERM');
      },
    };
    await expect(
      new Trainer(base(new FakeMethod({ seed: 4 }), [stopper, new CheckpointHook({ storage })])).run(),
    ).rejects.toThrow('training stopped at step 2: SIGTERM');
    expect([...storage.files.keys()]).toEqual(['checkpoint-00000002.safetensors']);
  });
});
