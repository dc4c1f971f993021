/**
 * The page's training run, in Node (no browser needed): its config is the CLI's for the same
 * recipe and overrides, its config hash is the CLI's, and a checkpoint it writes is read by
 * `selfsup eval knn` (with the same kNN the page measured) and continued by `selfsup train --resume`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, tf } from '@selfsup/core';
import { applyOverrides as cliOverrides, readConfigFile } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { configHash as cliConfigHash } from '../../packages/node/src/cli/session';
import { loadRecipes, REPO_DIR } from '../../packages/web/scripts/recipes';
import {
  configHash,
  configToYaml,
  pageConfig,
  PAGE_METHODS,
  type RunSettings,
} from '../../packages/web/src/run-config';
import { PageRun, checkpointConfig } from '../../packages/web/src/page-run';
import { errorLines, runCli, tmpDir } from '../cli/helpers';

/** A model and data small enough for the cpu backend: 32 images of 4 classes, batches of 8. */
export const TINY_OVERRIDES = [
  'backbone={type: resnet, blocks: [1, 1], widths: [4, 8], stem: cifar}',
  'method.hiddenDim=16',
  'method.outDim=16',
  'data.imageSize=16',
  'data.count=32',
  'data.testCount=16',
  'data.numClasses=4',
  'train.batchSize=8',
  'eval.knnK=5',
  'eval.linearEpochs=2',
];

const plugins = [byolPlugin, mocoPlugin, lewelPlugin];
const recipes = loadRecipes();
const settings = (method: RunSettings['method'], extra: Partial<RunSettings> = {}): RunSettings => ({
  method,
  backend: 'cpu',
  mapsEvery: 2,
  overrides: TINY_OVERRIDES,
  data: { kind: 'cluttered' },
  ...extra,
});

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the page config', () => {
  for (const method of Object.keys(PAGE_METHODS) as RunSettings['method'][]) {
    it(`${method}: is the CLI's config of configs/${method}-cluttered.yaml with the same --set`, async () => {
      const file = join(REPO_DIR, 'configs', `${method}-cluttered.yaml`);
      const sets = [...TINY_OVERRIDES, 'train.maxSteps=6'];
      const cli = parseConfig(cliOverrides(await readConfigFile(file), sets), file);
      const page = pageConfig(recipes, settings(method, { steps: 6 }));
      expect(page).toEqual(cli);
      expect(configHash(page)).toBe(cliConfigHash(cli));
    });
  }

  it('a user folder becomes image_folder at that path, as `selfsup eval --set data.path=` reads it', () => {
    const c = pageConfig(recipes, settings('lewel_b', { data: { kind: 'folder', name: 'my-photos' } }));
    expect(c.data).toMatchObject({ dataset: 'image_folder', path: 'my-photos', onBadImage: 'skip' });
  });

  it('a bad override names itself', () => {
    expect(() => pageConfig(recipes, settings('byol', { overrides: ['train.batchSize'] }))).toThrow(
      /override 'train.batchSize': expected key.path=value/,
    );
    expect(() => pageConfig(recipes, settings('byol', { overrides: ['train.batchSize=one'] }))).toThrow(
      /train.batchSize/,
    );
  });
});

describe('a page run', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir('web');
  });

  it('trains, draws maps, measures kNN; its checkpoint is read by selfsup eval knn and resumed by selfsup train', async () => {
    const config = pageConfig(recipes, settings('lewel_b', { steps: 6 }));
    const losses: number[] = [];
    const frames: number[] = [];
    const knn: number[] = [];
    const run = await PageRun.create({
      config,
      plugins,
      mapsEvery: 2,
      step: (s) => losses.push(s.loss),
      maps: (f) => {
        // K = outDim maps over the 8x8 feature map of a 16 px image.
        expect([f.images, f.slots, f.height, f.width]).toEqual([6, 16, 8, 8]);
        frames.push(f.step);
      },
      epoch: (m) => m.knn !== undefined && knn.push(m.knn),
    });
    try {
      const summary = await run.run();
      expect(summary.steps).toBe(6);
      expect(losses).toHaveLength(6);
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      // Before the first step, every 2 steps, and not twice at the end.
      expect(frames).toEqual([0, 2, 4, 6]);
      // 32 images / 8 = 4 steps an epoch: kNN after epoch 1 and at the end.
      expect(knn).toHaveLength(2);

      const ck = await run.checkpoint();
      expect(ck.name).toBe('checkpoint-00000006.safetensors');
      expect(checkpointConfig(ck.name, ck.bytes)).toEqual(config);
      const file = join(dir, ck.name);
      writeFileSync(file, ck.bytes);

      // A lone downloaded file: eval reads the config it embeds.
      const r = await runCli(['eval', 'knn', '--checkpoint', file, '--backend', 'cpu', '--json']);
      expect(errorLines(r.stderr), r.stderr).toEqual([]);
      expect(r.code).toBe(0);
      const cli = JSON.parse(r.stdout.trim()) as { knn_top1: number };
      // Same backend, same data, same weights: the same kNN as the page measured at the end.
      expect(cli.knn_top1).toBe(knn[knn.length - 1]);

      // The page's config.yaml and the file in a run folder: `selfsup train --resume` continues.
      const runDir = join(dir, 'resumed');
      mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
      writeFileSync(join(runDir, 'checkpoints', ck.name), ck.bytes);
      writeFileSync(join(runDir, 'config.yaml'), configToYaml(config));
      const t = await runCli([
        'train',
        '-c',
        join(runDir, 'config.yaml'),
        '--out',
        runDir,
        '--resume',
        '--backend',
        'cpu',
        '--set',
        'train.maxSteps=8',
      ]);
      expect(errorLines(t.stderr), t.stderr).toEqual([]);
      expect(t.code).toBe(0);
      expect(t.stderr).toContain('at step 6');
    } finally {
      run.dispose();
    }
  });

  it('too few images for one batch is an error naming the batch size (the sampler says so)', async () => {
    const config = pageConfig(
      recipes,
      settings('byol', { overrides: [...TINY_OVERRIDES, 'train.batchSize=64'] }),
    );
    await expect(PageRun.create({ config, plugins, mapsEvery: 2 })).rejects.toThrow(
      /batchSize 64 exceeds the dataset length 32/,
    );
  });

  it('a checkpoint without an embedded config is refused by name', () => {
    expect(() => checkpointConfig('x.safetensors', new Uint8Array(8))).toThrow(/x\.safetensors/);
  });
});
