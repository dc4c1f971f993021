/** CLI building blocks: --set overrides, resume-safe config changes, held-out split, plugin files. */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { applyOverrides, loadPlugins } from '../../src/cli';
import { buildDatasets, configHash, resumeBreakingChanges } from '../../src/cli/session';
import { ClutteredDataset } from '@selfsup/core';
import { parseConfig, type SelfsupConfig } from '@selfsup/core';
import { createRegistryContainer, type Pipeline } from '@selfsup/core';
import { fileDatasetsPlugin } from '../../src/data/registrations';

const tmp = mkdtempSync(join(tmpdir(), 'selfsup-cli-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = () =>
  parseConfig({
    method: { type: 'moco', hiddenDim: 16 },
    optimizer: { type: 'sgd', lr: 0.06 },
    train: { epochs: 2, batchSize: 8 },
  });

describe('applyOverrides', () => {
  it('parses values as YAML, creates mappings, promotes a type name to a spec, leaves the input alone', () => {
    const input = { method: 'byol', train: { epochs: 2 } };
    const out = applyOverrides(input, [
      'train.epochs=5',
      'train.quiet=true',
      'data.path=some dir/with spaces',
      'backbone.widths=[4, 8]',
      'method.hiddenDim=8',
      'optimizer.lr=1e-3',
      'data.views=',
    ]);
    expect(out).toEqual({
      method: { type: 'byol', hiddenDim: 8 },
      train: { epochs: 5, quiet: true },
      data: { path: 'some dir/with spaces', views: null },
      backbone: { widths: [4, 8] },
      optimizer: { lr: 0.001 },
    });
    expect(input).toEqual({ method: 'byol', train: { epochs: 2 } });
  });

  it('names the override at fault', () => {
    expect(() => applyOverrides({ train: { epochs: 2 } }, ['train.epochs.max=1'])).toThrow(
      "--set train.epochs.max=1: 'train.epochs' is 2, not a mapping",
    );
    expect(() => applyOverrides({}, ['=1'])).toThrow('--set =1: expected key.path=value');
    expect(() => applyOverrides({}, ['a..b=1'])).toThrow('--set a..b=1: empty segment in key path');
  });
});

describe('resume and the config hash', () => {
  it('the hash is the one existing checkpoints were written with', () => {
    const c = base();
    const { method, backbone, aggregator, optimizer, data } = c;
    const { seed, batchSize, warmupEpochs } = c.train;
    const legacy = createHash('sha256')
      .update(
        JSON.stringify({ method, backbone, aggregator, optimizer, data, seed, batchSize, warmupEpochs }),
      )
      .digest('hex')
      .slice(0, 16);
    expect(configHash(c)).toBe(legacy);
  });

  it('epochs, logging and eval may change; model, data and optimizer settings are named', () => {
    const a = base();
    const b: SelfsupConfig = structuredClone(a);
    b.train.epochs = 9;
    b.train.quiet = true;
    b.eval.knnK = 3;
    expect(resumeBreakingChanges(a, b)).toEqual([]);
    expect(configHash(b)).toBe(configHash(a));
    b.optimizer = { type: 'sgd', lr: 0.1 };
    b.train.batchSize = 16;
    b.data.views = 'byol';
    expect(resumeBreakingChanges(a, b)).toEqual([
      'optimizer.lr (0.06 -> 0.1)',
      'data.views (unset -> "byol")',
      'train.batchSize (8 -> 16)',
    ]);
    expect(configHash(b)).not.toBe(configHash(a));
  });
});

describe('buildDatasets', () => {
  it('holds out every 5th image of a folder without a test split, so every class is in both parts', async () => {
    const root = mkdtempSync(join(tmp, 'split-'));
    for (const c of ['cat', 'dog']) {
      mkdirSync(join(root, c));
      for (let i = 0; i < 10; i++) {
        const data = Buffer.alloc(8 * 8 * 3, c === 'cat' ? 10 * i : 255 - 10 * i);
        await sharp(data, { raw: { width: 8, height: 8, channels: 3 } })
          .png()
          .toFile(join(root, c, `${i}.png`));
      }
    }
    const config = parseConfig({
      method: 'byol',
      data: { dataset: 'image_folder', path: root, imageSize: 8 },
    });
    const pipeline = { container: createRegistryContainer([fileDatasetsPlugin]) } as unknown as Pipeline;
    const splits = await buildDatasets({ config, pipeline });
    expect(splits.source.length).toBe(20);
    expect(splits.train.length).toBe(16);
    expect(splits.test!.length).toBe(4);
    const labels = async (d: { length: number; get(i: number): Promise<{ label?: number }> }) =>
      Promise.all(Array.from({ length: d.length }, async (_, i) => (await d.get(i)).label));
    // Held out: indices 4, 9 (cat) and 14, 19 (dog); the tail would have been dog only.
    expect(await labels(splits.test!)).toEqual([0, 0, 1, 1]);
    const held = await splits.test!.get(1);
    expect(held.image.data[0]).toBeCloseTo(90 / 255, 6); // cat/9.png
    expect((await labels(splits.train)).filter((l) => l === 0)).toHaveLength(8);
    expect(splits.trainEval).toBe(splits.train);
  });
  it('passes data.options to the dataset, whose schema names an option it does not know', async () => {
    const pipeline = { container: createRegistryContainer([fileDatasetsPlugin]) } as unknown as Pipeline;
    const build = (options: Record<string, unknown>) =>
      buildDatasets({
        config: parseConfig({ method: 'byol', data: { count: 4, testCount: 2, options } }),
        pipeline,
      });
    const grey = await buildDatasets({
      config: parseConfig({ method: 'byol', data: { count: 4, testCount: 2, options: { palette: 2 } } }),
      pipeline,
    });
    expect((grey.train as ClutteredDataset).palette).toBe(2);
    expect((grey.test as ClutteredDataset).palette).toBe(2);
    await expect(build({ palete: 2 })).rejects.toThrow(/palete/);
    await expect(build({ backgroundChroma: 3 })).rejects.toThrow(/backgroundChroma/);
  });
});

describe('loadPlugins', () => {
  // ('#' and '%' in paths are checked against the built CLI: vite-node resolves file URLs its own way.)
  it('loads a plugin file by path; a missing file is named', async () => {
    const dir = join(tmp, 'my plugins');
    mkdirSync(dir);
    const file = join(dir, 'plugin.mjs');
    writeFileSync(file, "export default { name: 'local-test-plugin', register() {} };\n");
    const loaded = await loadPlugins([file]);
    expect(loaded.plugins.map((p) => p.name)).toContain('local-test-plugin');
    await expect(loadPlugins([join(dir, 'absent.mjs')])).rejects.toThrow(
      `--plugin '${join(dir, 'absent.mjs')}': cannot load: no such file: tried ${join(dir, 'absent.mjs')}`,
    );
  });
});
