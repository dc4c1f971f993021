/**
 * `selfsup bench --backend webgpu`: one warm-up and one timed step of the benchmark model
 * (ResNet-18 layout, BYOL heads and LARS) at a tiny width and size, printing torch_step.py's JSON fields
 * and the adapter it ran on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';
import { errorLines, runCli } from '../../../test/cli/helpers';
import { releaseWebGpu } from '../src';
import { setUpWebGpu } from './setup';

const webgpu = await setUpWebGpu('bench-cli.test.ts');

describe.skipIf(!webgpu.ok)('selfsup bench --backend webgpu', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
    await releaseWebGpu();
  });

  it('times a BYOL step and prints one JSON line naming the adapter', async () => {
    const r = await runCli([
      'bench',
      '--method',
      'byol',
      '--backend',
      'webgpu',
      '--width',
      '2',
      '--res',
      '8',
      '--batch',
      '2',
      '--steps',
      '1',
      '--json',
    ]);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(j).toMatchObject({ method: 'byol', width: 2, res: 8, batch: 2, workers: 1 });
    expect(String(j.impl)).toMatch(/^selfsup-.*-tfjs-4\.22\.0-webgpu$/);
    expect(j.step_s).toBeGreaterThan(0);
    expect(j.imgs_per_s).toBeCloseTo(2 / (j.step_s as number), 1);
    expect(j.device).toBe(webgpu.ok ? webgpu.availability.device : undefined);
  }, 600_000);
});
