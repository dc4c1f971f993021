/**
 * SimSiam and SimCLR (methods without a target network) composed with LEWEL, trained from the
 * CLI in-process on the built-in dataset (cpu, tiny model): no EMA anywhere (metrics ema null,
 * no EMA plot, no target.* in the checkpoint), and the ready configs build.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPipeline, type SelfsupConfigInput } from '@selfsup/core';
import { loadPlugins, readConfigFile, readSafetensors } from '@selfsup/node';
import { REPO, errorLines, isPng, readJsonLines, runCli, tmpDir } from './helpers';

const METHODS = {
  simsiam: 'method: {type: simsiam, hiddenDim: 16, outDim: 16, predictorHiddenDim: 8}',
  simclr: 'method: {type: simclr, hiddenDim: 16, outDim: 16, temperature: 0.5}',
} as const;

function writeLewelConfig(dir: string, method: keyof typeof METHODS): string {
  const path = join(dir, `lewel_${method}.yaml`);
  const lines = [
    METHODS[method],
    'aggregator: {type: lewel, heads: 4, scale: 1, l2norm: true, lossWeight: 0.5}',
    'backbone: {type: resnet, blocks: [1, 1], widths: [4, 8], stem: cifar}',
    'optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weightDecay: 5.0e-4}',
    'train: {epochs: 1, batchSize: 8, seed: 0, warmupEpochs: 0}',
    'data: {dataset: cluttered, imageSize: 16, count: 32, testCount: 16, numClasses: 4}',
    'eval: {knnK: 5, linearEpochs: 2}',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

let dir: string;
beforeAll(() => {
  dir = tmpDir('no-target');
});

describe('selfsup train: SimSiam + LEWEL and SimCLR + LEWEL', () => {
  for (const method of ['simsiam', 'simclr'] as const) {
    it(`${method} + lewel: trains 4 steps; no EMA momentum reported or stored`, async () => {
      const runDir = join(dir, `run-${method}`);
      const r = await runCli([
        'train',
        '-c',
        writeLewelConfig(dir, method),
        '--out',
        runDir,
        '--backend',
        'cpu',
      ]);
      expect(errorLines(r.stderr), r.stderr).toEqual([]);
      expect(r.code).toBe(0);

      const [metrics] = readJsonLines(join(runDir, 'metrics.jsonl'));
      expect(metrics.step).toBe(4);
      expect(metrics.ema).toBeNull();
      const t = metrics.terms as Record<string, number>;
      expect(Object.keys(t).sort()).toEqual(['loss_aligned', 'loss_global']);
      expect(metrics.loss as number).toBeCloseTo(0.5 * t.loss_global + 0.5 * t.loss_aligned, 5);
      expect(isPng(join(runDir, 'plots', 'loss.png'))).toBe(true);
      expect(existsSync(join(runDir, 'plots', 'ema.png'))).toBe(false);

      const [checkpoint] = readdirSync(join(runDir, 'checkpoints'));
      const names = [...(await readSafetensors(join(runDir, 'checkpoints', checkpoint))).keys()];
      expect(names).toContain('model.online.backbone.conv1.weight');
      expect(names).toContain('model.online.proj_obj.mlp.0.weight');
      expect(names.filter((n) => n.startsWith('model.target.'))).toEqual([]);
      // LEWEL builds predictor_obj only for a method that has a predictor.
      expect(names.includes('model.predictor_obj.mlp.0.weight')).toBe(method === 'simsiam');
    });
  }
});

describe('the ready configs of the built-in dataset', () => {
  for (const name of ['simsiam', 'simclr', 'lewel_simsiam', 'lewel_simclr']) {
    it(`configs/${name}-cluttered.yaml builds its method, with its own default views`, async () => {
      const config = (await readConfigFile(
        join(REPO, 'configs', `${name}-cluttered.yaml`),
      )) as SelfsupConfigInput;
      const { plugins } = await loadPlugins();
      const p = createPipeline(config, { plugins });
      expect(p.method.type).toBe(name.replace('lewel_', ''));
      expect(p.config.aggregator).toEqual(
        name.startsWith('lewel_') ? expect.objectContaining({ type: 'lewel' }) : 'global',
      );
      expect(p.method.momentumAt).toBeUndefined();
      expect(p.method.defaultViews).toBe('mocov2');
      p.dispose();
    });
  }
});
