/**
 * `selfsup train --backend webgpu` end to end, in-process as a user would run it: progress,
 * metrics with the kNN monitor, checkpoints, final scores; then a crash and `--resume`, which
 * must give the run an uninterrupted one gives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@selfsup/core';
import { errorLines, readJsonLines, runCli, tinyConfig, tmpDir } from '../../../test/cli/helpers';
import { releaseWebGpu } from '../src';
import { setUpWebGpu } from './setup';

const webgpu = await setUpWebGpu('train-cli.test.ts');

/** Everything in a metrics line that does not depend on wall-clock time. */
const deterministic = (rows: Array<Record<string, unknown>>) =>
  rows.map(({ imgs_per_s: _i, seconds: _s, ...rest }) => rest);

describe.skipIf(!webgpu.ok)('selfsup train --backend webgpu', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
    await releaseWebGpu();
  });

  it('trains LEWEL_B (LARS), checkpoints every epoch, and resumes a crashed run to the same metrics', async () => {
    const dir = tmpDir('webgpu-train');
    // test/cli's tiny LEWEL_B config made smaller still, since a software GPU is slow: 16 images
    // of 8 px in batches of 8 (2 steps an epoch), kNN monitor every epoch (the default).
    const config = join(dir, 'lewel_b.yaml');
    writeFileSync(
      config,
      tinyConfig('lewel_b').replace(
        /^data: .*$/m,
        'data: {dataset: cluttered, imageSize: 8, count: 16, testCount: 8, numClasses: 4}',
      ),
    );
    const full = join(dir, 'full');
    const r = await runCli(['train', '-c', config, '--out', full, '--backend', 'webgpu']);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('backend: webgpu (from --backend)');
    // Progress: one line per epoch in log mode (stderr is not a TTY here).
    expect(r.stderr).toMatch(/epoch 1\/2 step 2 loss \d+\.\d{4} .* img\/s knn \d+\.\d\d%/);
    expect(r.stderr).toMatch(/epoch 2\/2 step 4 loss \d+\.\d{4} .* img\/s knn \d+\.\d\d%/);
    expect(r.stdout).toMatch(
      /^kNN top-1 \(k=5\): \d+\.\d\d% \(untrained network: \d+\.\d\d%, raw pixels: \d+\.\d\d%\)\nlinear probe top-1: \d+\.\d\d%\n$/,
    );

    const metrics = readJsonLines(join(full, 'metrics.jsonl'));
    expect(metrics.map((m) => [m.epoch, m.step])).toEqual([
      [1, 2],
      [2, 4],
    ]);
    for (const m of metrics) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(typeof m.knn).toBe('number');
    }
    expect(readdirSync(join(full, 'checkpoints')).sort()).toEqual([
      'checkpoint-00000002.safetensors',
      'checkpoint-00000004.safetensors',
    ]);
    const final = JSON.parse(readFileSync(join(full, 'final.json'), 'utf8'));
    expect(final.steps).toBe(4);
    expect(typeof final.knn).toBe('number');
    expect(typeof final.linear).toBe('number');

    // A crash during epoch 2's checkpoint: its metrics line written, its checkpoint gone.
    const crashed = join(dir, 'crashed');
    cpSync(full, crashed, { recursive: true });
    rmSync(join(crashed, 'checkpoints', 'checkpoint-00000004.safetensors'));
    rmSync(join(crashed, 'final.json'));
    const resumed = await runCli([
      'train',
      '-c',
      config,
      '--out',
      crashed,
      '--backend',
      'webgpu',
      '--resume',
    ]);
    expect(errorLines(resumed.stderr), resumed.stderr).toEqual([]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(
      `resumed from ${join(crashed, 'checkpoints', 'checkpoint-00000002.safetensors')} at step 2`,
    );
    expect(existsSync(join(crashed, 'checkpoints', 'checkpoint-00000004.safetensors'))).toBe(true);
    expect(deterministic(readJsonLines(join(crashed, 'metrics.jsonl')))).toEqual(
      deterministic(readJsonLines(join(full, 'metrics.jsonl'))),
    );
    const again = JSON.parse(readFileSync(join(crashed, 'final.json'), 'utf8'));
    expect([again.knn, again.linear, again.lastLoss]).toEqual([final.knn, final.linear, final.lastLoss]);
  }, 600_000);
});
