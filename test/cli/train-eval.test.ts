/**
 * `selfsup train` for each method on the built-in cluttered dataset, then `eval` and `maps` on
 * the LEWEL run and `info`, all in-process as a user would run them (cpu backend, tiny model).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import sharp from 'sharp';
import {
  METHODS,
  TINY_LR,
  errorLines,
  isPng,
  readJsonLines,
  runCli,
  tmpDir,
  writeTinyConfig,
  type MethodName,
} from './helpers';

let dir: string;
const runs: Partial<Record<MethodName, string>> = {};

beforeAll(() => {
  dir = tmpDir('train');
});

const pctLine = (stdout: string, label: RegExp) => {
  const m = new RegExp(`${label.source}: (\\d+\\.\\d\\d)%`).exec(stdout);
  expect(m, `stdout has no '${label.source}' line:\n${stdout}`).not.toBeNull();
  return Number(m![1]);
};

describe('selfsup train on the cluttered dataset', () => {
  for (const method of METHODS) {
    it(`${method}: run directory, metrics per epoch, plots, checkpoints, final scores`, async () => {
      const config = writeTinyConfig(dir, method, method);
      const runDir = join(dir, `run-${method}`);
      const r = await runCli(['train', '-c', config, '--out', runDir, '--backend', 'cpu']);
      expect(errorLines(r.stderr), r.stderr).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('backend: cpu (from --backend)');
      runs[method] = runDir;

      // The resolved config: defaults filled in, what eval / maps / resume read back.
      const resolved = YAML.parse(readFileSync(join(runDir, 'config.yaml'), 'utf8'));
      expect(resolved.method.type).toBe(method === 'byol' || method === 'lewel_b' ? 'byol' : 'moco');
      expect(resolved.aggregator.type ?? resolved.aggregator).toBe(
        method.startsWith('lewel') ? 'lewel' : 'global',
      );
      expect(resolved.train).toMatchObject({ epochs: 2, batchSize: 8, checkpointEvery: 1 });

      // One line per epoch; 32 images / batch 8 = 4 steps an epoch.
      const metrics = readJsonLines(join(runDir, 'metrics.jsonl'));
      expect(metrics.map((m) => [m.epoch, m.step])).toEqual([
        [1, 4],
        [2, 8],
      ]);
      for (const m of metrics) {
        expect(Number.isFinite(m.loss)).toBe(true);
        expect(m.knn).toBeGreaterThanOrEqual(0);
        expect(m.knn).toBeLessThanOrEqual(100);
        // 16 queries: kNN accuracy is a multiple of 1/16.
        expect(((m.knn as number) * 16) / 100).toBeCloseTo(Math.round(((m.knn as number) * 16) / 100), 9);
      }
      // Warm-up 1 epoch (4 steps) then cosine over the other 4: the lr of each epoch's last step
      // (steps index 3 and 7) is base * 4/4 and base * (1 + cos(3/4 pi)) / 2.
      const base = TINY_LR[method];
      expect(metrics[0].lr).toBeCloseTo(base, 12);
      expect(metrics[1].lr).toBeCloseTo((base * (1 + Math.cos(0.75 * Math.PI))) / 2, 12);
      if (method.startsWith('lewel')) {
        // lossWeight 0.5: the loss is the mean of the global and aligned terms.
        const t = metrics[0].terms as Record<string, number>;
        expect(Object.keys(t).sort()).toEqual(['loss_aligned', 'loss_global']);
        expect(metrics[0].loss as number).toBeCloseTo(0.5 * t.loss_global + 0.5 * t.loss_aligned, 5);
      }

      for (const plot of ['loss', 'lr', 'ema', 'knn'])
        expect(isPng(join(runDir, 'plots', `${plot}.png`))).toBe(true);
      expect(readdirSync(join(runDir, 'checkpoints')).sort()).toEqual([
        'checkpoint-00000004.safetensors',
        'checkpoint-00000008.safetensors',
      ]);

      const final = JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8'));
      expect(final).toMatchObject({ runDir, steps: 8, epochs: 2, lastLoss: metrics[1].loss });
      expect(final.checkpoint).toBe(join(runDir, 'checkpoints', 'checkpoint-00000008.safetensors'));
      const knn = pctLine(r.stdout, /kNN top-1 \(k=5\)/);
      const linear = pctLine(r.stdout, /linear probe top-1/);
      expect(knn).toBeCloseTo(final.knn, 2);
      expect(linear).toBeCloseTo(final.linear, 2);
      // The baselines are printed beside it: the untrained network's kNN and the raw pixels' (16
      // queries: multiples of 1/16).
      const baselines = /\(untrained network: ([\d.]+)%, raw pixels: ([\d.]+)%\)\n/.exec(r.stdout);
      expect(baselines, r.stdout).not.toBeNull();
      expect(Number(baselines![1])).toBeCloseTo(final.knnUntrained, 2);
      expect(Number(baselines![2])).toBeCloseTo(final.knnPixels, 2);
      for (const baseline of [final.knnUntrained, final.knnPixels])
        expect((baseline * 16) / 100).toBeCloseTo(Math.round((baseline * 16) / 100), 9);
      // The final kNN uses the same frozen features as the monitor after the last epoch.
      expect(final.knn).toBe(metrics[1].knn);
    });
  }
});

describe('selfsup eval and maps on the LEWEL_B run', () => {
  const run = () => {
    if (!runs.lewel_b) throw new Error('needs the lewel_b run of the train test above');
    return runs.lewel_b;
  };

  it('eval knn and linear reproduce the numbers the run ended with, and the epoch-1 kNN', async () => {
    const final = JSON.parse(readFileSync(join(run(), 'final.json'), 'utf8'));
    const metrics = readJsonLines(join(run(), 'metrics.jsonl'));

    const knn = await runCli(['eval', 'knn', '--checkpoint', run(), '--backend', 'cpu']);
    expect(knn.code, knn.stderr).toBe(0);
    expect(knn.stdout).toBe(`knn_top1: ${final.knn.toFixed(2)}\n`);

    const linear = await runCli(['eval', 'linear', '--checkpoint', run(), '--backend', 'cpu', '--json']);
    expect(linear.code, linear.stderr).toBe(0);
    const lj = JSON.parse(linear.stdout);
    expect(lj.checkpoint).toBe(final.checkpoint);
    expect(lj.linear_top1).toBeCloseTo(final.linear, 9);

    // A checkpoint file (not the newest) is evaluated as it is: the kNN the monitor logged then.
    const first = join(run(), 'checkpoints', 'checkpoint-00000004.safetensors');
    const early = await runCli(['eval', 'knn', '--checkpoint', first, '--backend', 'cpu', '--json']);
    expect(early.code, early.stderr).toBe(0);
    expect(JSON.parse(early.stdout)).toEqual({ checkpoint: first, knn_top1: metrics[0].knn });
  });

  it('eval knn --pixels prints the raw-pixel baseline the run ended with, the same for every method', async () => {
    const final = JSON.parse(readFileSync(join(run(), 'final.json'), 'utf8'));
    const pixels = await runCli(['eval', 'knn', '--checkpoint', run(), '--backend', 'cpu', '--pixels']);
    expect(pixels.code, pixels.stderr).toBe(0);
    expect(pixels.stdout).toBe(`knn_pixels_top1: ${final.knnPixels.toFixed(2)}\n`);
    const json = await runCli([
      'eval',
      'knn',
      '--checkpoint',
      run(),
      '--backend',
      'cpu',
      '--pixels',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toEqual({
      checkpoint: final.checkpoint,
      knn_pixels_top1: final.knnPixels,
    });
    // The baseline before any training: from the config alone, no checkpoint.
    const config = join(run(), 'config.yaml');
    const fromConfig = await runCli(['eval', 'knn', '-c', config, '--backend', 'cpu', '--pixels', '--json']);
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    expect(JSON.parse(fromConfig.stdout)).toEqual({ config, knn_pixels_top1: final.knnPixels });
    const noCheckpoint = await runCli(['eval', 'knn', '-c', config, '--backend', 'cpu']);
    expect(noCheckpoint.code).toBe(2);
    expect(errorLines(noCheckpoint.stderr)).toEqual([
      'selfsup: eval knn: --checkpoint is required (only eval knn --pixels can take -c FILE instead)',
    ]);
    // No network in it: every method's run (same data, seed and k) ended with the same baseline.
    for (const dir of Object.values(runs))
      expect(JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8')).knnPixels, dir).toBe(final.knnPixels);

    const linear = await runCli(['eval', 'linear', '--checkpoint', run(), '--backend', 'cpu', '--pixels']);
    expect(linear.code).toBe(2);
    expect(errorLines(linear.stderr)).toEqual([
      'selfsup: eval linear: --pixels is for eval knn (the raw-pixel kNN baseline)',
    ]);
  });

  it('eval seg prints mIoU and pixel accuracy of the dense probe', async () => {
    const r = await runCli([
      'eval',
      'seg',
      '--checkpoint',
      join(run(), 'checkpoints'),
      '--epochs',
      '2',
      '--backend',
      'cpu',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = /^seg_mIoU: (\d+\.\d\d)\nseg_pixel_acc: (\d+\.\d\d)\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    for (const v of [Number(m![1]), Number(m![2])]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    // Background is most of every image, so pixel accuracy is at least mIoU.
    expect(Number(m![2])).toBeGreaterThanOrEqual(Number(m![1]));
  });

  it('maps writes a PNG grid of the alignment maps and prints the mass-on-object score', async () => {
    const out = join(dir, 'maps-out');
    const r = await runCli(['maps', '--checkpoint', run(), '--out', out, '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const grid = /^grid: (.+)$/m.exec(r.stdout)?.[1];
    expect(grid, r.stdout).toBeDefined();
    expect(grid!.startsWith(out)).toBe(true);
    expect(isPng(grid!)).toBe(true);
    const meta = await sharp(grid!).metadata();
    // At least one row: the image and one panel per slot (4 heads), each 16px or larger.
    expect(meta.width).toBeGreaterThanOrEqual(5 * 16);
    const score =
      /map mass on object: (\d+\.\d)% vs object area (\d+\.\d)% \(lift (\d+\.\d\d)x over a uniform map, (\d+) images\)/.exec(
        r.stdout,
      );
    expect(score, r.stdout).not.toBeNull();
    const [mass, area, lift, images] = score!.slice(1).map(Number);
    expect(images).toBe(16);
    expect(area).toBeGreaterThan(0);
    expect(mass).toBeGreaterThanOrEqual(0);
    expect(mass).toBeLessThanOrEqual(100);
    expect(lift).toBeCloseTo(mass / area, 1);
    const slots =
      /^slots: (\d+) of (\d+) at 2x or more on the object; lift per slot from (\d+\.\d\d)x to (\d+\.\d\d)x, median (\d+\.\d\d)x$/m.exec(
        r.stdout,
      );
    expect(slots, r.stdout).not.toBeNull();

    const json = await runCli(['maps', '--checkpoint', run(), '--out', out, '--backend', 'cpu', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout);
    expect(j.grid).toBe(grid);
    expect((100 * j.massOnMask).toFixed(1)).toBe(mass.toFixed(1));
    // The slot line is read off the JSON's per-slot masses.
    const lifts = (j.perSlotMass as number[]).map((m) => m / j.areaFraction).sort((a, b) => a - b);
    expect(Number(slots![2])).toBe(lifts.length);
    expect(Number(slots![1])).toBe(lifts.filter((l) => l >= 2).length);
    expect(Number(slots![3])).toBeCloseTo(lifts[0], 2);
    expect(Number(slots![4])).toBeCloseTo(lifts[lifts.length - 1], 2);
    const mid = lifts.length >> 1;
    expect(Number(slots![5])).toBeCloseTo(
      lifts.length % 2 ? lifts[mid] : (lifts[mid - 1] + lifts[mid]) / 2,
      2,
    );
    expect(existsSync(join(run(), 'maps'))).toBe(false); // --out was honoured
  });
});

describe('selfsup info', () => {
  it('lists cpu as available and says which backend auto picks', async () => {
    const json = await runCli(['info', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout);
    const cpu = info.backends.find((b: { name: string }) => b.name === 'cpu');
    expect(cpu).toMatchObject({ name: 'cpu', available: true });
    // auto picks the first available backend in the listed (auto) order that does not ask to
    // be left out of auto (webgpu on a software adapter), and marks that one.
    type Row = { name: string; available: boolean; notForAuto?: string; autoPick: boolean };
    const rows: Row[] = info.backends;
    const eligible = rows.find((b) => b.available && !b.notForAuto)!.name;
    expect(info.autoPick).toBe(eligible);
    expect(rows.filter((b) => b.autoPick).map((b) => b.name)).toEqual([eligible]);
    expect(info.plugins).toEqual(
      expect.arrayContaining(['@selfsup/plugin-byol', '@selfsup/plugin-moco', '@selfsup/plugin-lewel']),
    );
    expect(info.types.Method.map((t: { type: string }) => t.type)).toEqual(
      expect.arrayContaining(['byol', 'moco']),
    );

    const text = await runCli(['info']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ {2}[* ] cpu {7}available/m);
    expect(text.stdout).toContain(`auto would pick: ${info.autoPick}\n`);
    expect(text.stdout).toMatch(/^aggregator: .*\blewel\b/m);
  });

  it('info KIND lists its types; info KIND TYPE shows that type with its options', async () => {
    const kinds = await runCli(['info', 'ViewPipeline']);
    expect(kinds.code, kinds.stderr).toBe(0);
    expect(kinds.stdout).toMatch(/^viewpipeline \(3\):$/m);
    expect(kinds.stdout).toMatch(/^ {2}two_view +@selfsup\/core: Two views/m);

    const byol = await runCli(['info', 'viewpipeline', 'byol']);
    expect(byol.code, byol.stderr).toBe(0);
    expect(byol.stdout).toMatch(/^viewpipeline 'byol' \(@selfsup\/core\): BYOL/m);
    expect(byol.stdout).toMatch(/^ {2}outputSize +integer +\(required\)$/m);
    expect(byol.stdout).toMatch(/^ {2}scale +\[number, number\] +\(optional\)$/m);

    const json = await runCli(['info', 'method', 'moco', '--json']);
    const moco = JSON.parse(json.stdout);
    expect(moco).toMatchObject({ kind: 'method', type: 'moco', plugin: '@selfsup/plugin-moco' });
    expect(moco.options).toContainEqual({
      key: 'queueSize',
      type: 'integer',
      required: false,
      default: 65536,
    });

    const badKind = await runCli(['info', 'methods']);
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/unknown kind 'methods'; known: .*\bmethod\b/);
    const badType = await runCli(['info', 'method', 'mocov3']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/no method 'mocov3'; registered: .*\bmoco\b/);
  });
});
