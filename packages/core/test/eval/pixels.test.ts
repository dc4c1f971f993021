import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { evalTransform } from '../../src/data';
import { extractPixelFeatures, extractPixelMemoryAndQuery, knnAccuracyAsync } from '../../src/eval';
import type { Dataset, Image, Sample } from '../../src/contracts';
import { fakeDataset } from '../train/fakes';

function datasetOf(samples: Sample[], name = 'tiny'): Dataset {
  return {
    name,
    length: samples.length,
    get: async (i) => {
      await new Promise((r) => setTimeout(r, 0));
      return samples[i];
    },
  };
}

const image = (height: number, width: number, channels: number, values: number[]): Image => ({
  data: Float32Array.from(values),
  height,
  width,
  channels,
});

describe('raw-pixel features', () => {
  it('are the flattened HWC pixels divided by their norm, batch by batch, without leaking tensors', async () => {
    // 2x2 RGB images, identity transform: row i is image i's values over their L2 norm.
    const values = [
      [3, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0], // norm 5
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], // norm sqrt(12)
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], // norm 2
    ];
    const ds = datasetOf([
      { image: image(2, 2, 3, values[0]), label: 4 },
      { image: image(2, 2, 3, values[1]) },
      { image: image(2, 2, 3, values[2]), label: 1 },
    ]);
    const before = tf.memory().numTensors;
    const fs = await extractPixelFeatures(ds, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fs.dim).toBe(12);
    expect(Array.from(fs.labels)).toEqual([4, -1, 1]);
    const expected = [
      [0.6, 0, 0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0],
      values[1].map(() => 1 / Math.sqrt(12)),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ].flat();
    for (let j = 0; j < expected.length; j++) expect(fs.features[j]).toBeCloseTo(expected[j], 6);

    const raw = await extractPixelFeatures(ds, { normalize: false, indices: [2, 0] });
    expect(Array.from(raw.features)).toEqual([...values[2], ...values[0]]);
    expect(Array.from(raw.labels)).toEqual([1, 4]);
  });

  it('see what the backbone sees: the eval transform (RGB, training size, ImageNet normalisation)', async () => {
    // A 1x1 grey pixel of 0.5 becomes RGB (0.5, 0.5, 0.5), then (0.5 - mean) / std per channel.
    const ds = datasetOf([{ image: image(1, 1, 1, [0.5]), label: 0 }]);
    const fs = await extractPixelFeatures(ds, { transform: evalTransform(1) });
    const normalised = [(0.5 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.5 - 0.406) / 0.225];
    const norm = Math.hypot(...normalised);
    expect(fs.dim).toBe(3);
    for (let c = 0; c < 3; c++) expect(fs.features[c]).toBeCloseTo(normalised[c] / norm, 6);
    // A 2x2 grey image at training size 4: resized, so 4 * 4 * 3 values.
    const small = datasetOf([{ image: image(2, 2, 1, [0, 1, 1, 0]), label: 0 }]);
    expect((await extractPixelFeatures(small, { transform: evalTransform(4) })).dim).toBe(48);
  });

  it('refuse images of different sizes, naming the sample', async () => {
    const ds = datasetOf([
      { image: image(1, 1, 3, [1, 2, 3]), label: 0 },
      { image: image(2, 2, 3, Array(12).fill(1)), label: 0 },
    ]);
    await expect(extractPixelFeatures(ds, { batchSize: 1 })).rejects.toThrow(
      /pixels of tiny: sample 1 is 2x2x3, earlier ones had 3 values/,
    );
    await expect(extractPixelFeatures(ds, { batchSize: 2 })).rejects.toThrow(/image 1 is 2x2x3/);
    const before = tf.memory().numTensors;
    await expect(extractPixelFeatures(ds, { batchSize: 1 })).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('give a perfect kNN where the pixels separate the classes', async () => {
    // fakeDataset: the label's colour channel is bright (0.8-1.0), the others dark (0.1-0.3).
    const sets = { memory: fakeDataset(30, 4, 1, 3, 'memory'), query: fakeDataset(12, 4, 2, 3, 'query') };
    const before = tf.memory().numTensors;
    const { memory, query } = await extractPixelMemoryAndQuery(sets, { batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(memory.dim).toBe(48);
    expect(await knnAccuracyAsync(memory, query, { k: 5 })).toBe(100);
    expect(tf.memory().numTensors).toBe(before);
  });
});
