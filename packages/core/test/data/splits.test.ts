import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Dataset, Sample } from '../../src/contracts';
import { parseConfig, schemaKeys } from '../../src/config/schema';
import { createImage } from '../../src/data/image';
import { HOLD_OUT_EVERY, datasetOptions, holdOutSplits } from '../../src/data/splits';

const labelled = (n: number, numClasses?: number): Dataset => ({
  name: 'toy',
  length: n,
  numClasses,
  get: async (i: number): Promise<Sample> => ({ image: createImage(1, 1, 3), label: i }),
});

describe('data splits shared by the CLI and the page', () => {
  it('holds out every 5th image of a labelled dataset without a test split, in order', async () => {
    const s = holdOutSplits(labelled(23, 3));
    expect(s.train.length).toBe(23 - Math.floor(23 / HOLD_OUT_EVERY));
    expect(s.test!.length).toBe(Math.floor(23 / HOLD_OUT_EVERY));
    expect(s.trainEval).toBe(s.train);
    const held = await Promise.all(Array.from({ length: s.test!.length }, (_, i) => s.test!.get(i)));
    expect(held.map((x) => x.label)).toEqual([4, 9, 14, 19]);
    expect((await s.train.get(4)).label).toBe(5);
    expect(() => s.train.get(s.train.length)).toThrow(/toy\[train\]: index 19 out of range/);
  });

  it('keeps unlabelled or tiny datasets whole', () => {
    for (const d of [labelled(50), labelled(9, 3)]) {
      const s = holdOutSplits(d);
      expect(s.train).toBe(d);
      expect(s.test).toBeUndefined();
    }
  });

  it('passes a dataset only the keys its schema knows, then data.options as they are', () => {
    const config = parseConfig({
      method: { type: 'byol' },
      data: { dataset: 'cluttered', imageSize: 24, count: 100, testCount: 30, options: { palette: 2 } },
    });
    const keys = schemaKeys(z.object({ imageSize: z.number(), count: z.number(), split: z.string() }));
    expect(datasetOptions(config, keys, 'train')).toEqual({
      imageSize: 24,
      count: 100,
      split: 'train',
      palette: 2,
    });
    expect(datasetOptions(config, keys, 'test')).toEqual({
      imageSize: 24,
      count: 30,
      split: 'test',
      palette: 2,
    });
  });
});
