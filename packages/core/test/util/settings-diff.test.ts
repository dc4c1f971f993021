import { describe, expect, it } from 'vitest';
import { settingsDiff } from '../../src/util/settings-diff';
import { configMismatch } from '../../src/train/trainer';

describe('settingsDiff', () => {
  it('names each differing key path with both values; equal trees give nothing', () => {
    const a = {
      method: { type: 'byol', outDim: 16 },
      train: { seed: 0, batchSize: 8 },
      aggregator: 'global',
    };
    expect(settingsDiff(a, structuredClone(a))).toEqual([]);
    const b = {
      method: { type: 'byol', outDim: 32 },
      train: { seed: 0 },
      aggregator: { type: 'lewel', heads: 4 },
    };
    expect(settingsDiff(a, b)).toEqual([
      'method.outDim (16 -> 32)',
      'train.batchSize (8 -> unset)',
      'aggregator ("global" -> {"type":"lewel","heads":4})',
    ]);
  });
});

describe('configMismatch', () => {
  it('lists the settings when both sides recorded them, and says so when the checkpoint did not', () => {
    const now = { configHash: 'b', configSettings: { optimizer: { lr: 0.1 } } };
    expect(configMismatch({ configHash: 'b' }, now)).toBeUndefined();
    expect(configMismatch({ configHash: 'a', configSettings: { optimizer: { lr: 0.06 } } }, now)).toBe(
      'config hash a, this run has b; these settings differ: optimizer.lr (0.06 -> 0.1)',
    );
    expect(configMismatch({ configHash: 'a' }, now)).toBe(
      'config hash a, this run has b (the checkpoint does not record which settings those were)',
    );
  });
});
