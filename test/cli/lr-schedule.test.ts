import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLines, readJsonLines, runCli, tmpDir, writeTinyConfig } from './helpers';

describe('train.lrSchedule names a registered LrSchedule', () => {
  it('constant keeps the optimizer lr at every step; warmup_cosine takes its options from config', async () => {
    const dir = tmpDir('lr');
    const config = writeTinyConfig(dir, 'byol', 'byol');
    const run = join(dir, 'constant');
    const r = await runCli([
      'train',
      '-c',
      config,
      '--out',
      run,
      '--backend',
      'cpu',
      '-q',
      '--set',
      'train.lrSchedule=constant',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readJsonLines(join(run, 'metrics.jsonl')).map((m) => m.lr)).toEqual([0.5, 0.5]);

    const cos = join(dir, 'cosine');
    const c = await runCli([
      'train',
      '-c',
      config,
      '--out',
      cos,
      '--backend',
      'cpu',
      '-q',
      '--set',
      'train.lrSchedule={type: warmup_cosine, warmupSteps: 0, finalLr: 0.1}',
    ]);
    expect(c.code, c.stderr).toBe(0);
    const lrs = readJsonLines(join(cos, 'metrics.jsonl')).map((m) => m.lr as number);
    // Epoch 2's last step is the run's last: cosine has decayed (almost) to finalLr.
    expect(lrs[0]).toBeLessThan(0.5);
    expect(lrs[1]).toBeGreaterThanOrEqual(0.1);
    expect(lrs[1]).toBeLessThan(lrs[0]);

    const bad = await runCli([
      'train',
      '-c',
      config,
      '--out',
      join(dir, 'bad'),
      '--backend',
      'cpu',
      '--set',
      'train.lrSchedule=step_decay',
    ]);
    expect(errorLines(bad.stderr).join('\n')).toMatch(
      /train\.lrSchedule: unknown lrschedule 'step_decay'|train\.lrSchedule.*step_decay/i,
    );
  });
});
