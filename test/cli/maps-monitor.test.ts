/**
 * The maps monitor: LEWEL runs on a dataset with masks log the alignment maps' lift on the
 * object masks every epoch (metrics.jsonl, plots/maps_lift.png, the epoch line), the same
 * score `selfsup maps` gives; train.mapsEvery sets how often, or asks for it where it cannot be.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines, isPng, readJsonLines, runCli, tmpDir, writeTinyConfig } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tmpDir('maps-monitor');
});

const train = (config: string, out: string, ...sets: string[]) =>
  runCli([
    'train',
    '-c',
    config,
    '--out',
    out,
    '--backend',
    'cpu',
    '-q',
    ...sets.flatMap((s) => ['--set', s]),
  ]);

describe('maps lift per epoch', () => {
  it('LEWEL on cluttered: every epoch gets maps_lift, mass and area, equal to selfsup maps at the end', async () => {
    const config = writeTinyConfig(dir, 'lewel_b', 'lewel_b');
    const out = join(dir, 'lewel_b');
    const r = await train(config, out);
    expect(r.code, r.stderr).toBe(0);
    const rows = readJsonLines(join(out, 'metrics.jsonl'));
    expect(rows).toHaveLength(2);
    for (const m of rows) {
      expect(m.maps_mass).toBeGreaterThan(0);
      expect(m.maps_area).toBeGreaterThan(0);
      expect(m.maps_lift).toBeCloseTo((m.maps_mass as number) / (m.maps_area as number), 10);
    }
    expect(r.stderr).toMatch(/epoch 2\/2 step 8 .* maps lift \d+\.\d\dx/);
    expect(isPng(join(out, 'plots', 'maps_lift.png'))).toBe(true);

    const maps = await runCli(['maps', '--checkpoint', out, '--backend', 'cpu', '--json']);
    expect(maps.code, maps.stderr).toBe(0);
    const score = JSON.parse(maps.stdout.trim().split('\n').at(-1)!);
    expect(rows[1].maps_lift).toBeCloseTo(score.lift, 6);
    expect(rows[1].maps_mass).toBeCloseTo(score.massOnMask, 6);
    expect(rows[1].maps_area).toBeCloseTo(score.areaFraction, 6);
  });

  it('train.mapsEvery=2 scores every second epoch and the last; 0 turns it off', async () => {
    const config = writeTinyConfig(dir, 'lewel_m', 'lewel_m');
    const every2 = join(dir, 'every2');
    expect((await train(config, every2, 'train.epochs=3', 'train.mapsEvery=2')).code).toBe(0);
    expect(readJsonLines(join(every2, 'metrics.jsonl')).map((m) => typeof m.maps_lift)).toEqual([
      'undefined',
      'number',
      'number',
    ]);
    const off = join(dir, 'off');
    expect((await train(config, off, 'train.mapsEvery=0')).code).toBe(0);
    expect(readJsonLines(join(off, 'metrics.jsonl')).some((m) => 'maps_lift' in m)).toBe(false);
    expect(existsSync(join(off, 'plots', 'maps_lift.png'))).toBe(false);
  });

  it('off by default without alignment maps; asking for it there names train.mapsEvery', async () => {
    const config = writeTinyConfig(dir, 'byol', 'byol');
    const plain = join(dir, 'byol');
    expect((await train(config, plain)).code).toBe(0);
    expect(readJsonLines(join(plain, 'metrics.jsonl')).some((m) => 'maps_lift' in m)).toBe(false);
    expect(existsSync(join(plain, 'plots', 'maps_lift.png'))).toBe(false);

    const asked = await train(config, join(dir, 'byol-asked'), 'train.mapsEvery=1');
    expect(asked.code).toBe(2);
    expect(errorLines(asked.stderr)).toEqual([
      "selfsup: train.mapsEvery: got 1; method 'byol' with aggregator 'global' makes no alignment maps " +
        '(use aggregator: lewel, or set train.mapsEvery=0)',
    ]);
    expect(existsSync(join(dir, 'byol-asked'))).toBe(false);
  });
});
