import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { extractFeatures, knnAccuracy, knnPredict, vote, type FeatureSet } from '../../src/eval';
import { FakeBackbone, fakeDataset } from '../train/fakes';

const set = (rows: number[][], labels: number[]): FeatureSet => ({
  features: Float32Array.from(rows.flat()),
  dim: rows[0].length,
  labels: Int32Array.from(labels),
});

// Cosine similarities worked out by hand in the comments below; m0 is scaled to check that only
// the direction counts.
const memory = set(
  [
    [3, 0], // m0, class 0
    [0.8, 0.6], // m1, class 0
    [0, 1], // m2, class 1
    [-1, 0], // m3, class 2
    [0.6, 0.8], // m4, class 1
  ],
  [0, 0, 1, 2, 1],
);
const query = set(
  [
    [1, 0.1], // nearest m0 .995, m1 .856, m4 .677, m2 .100
    [0.1, 1], // m2 .995, m4 .856, m1 .677, m0 .100
    [0.72, 0.7], // m1 .992, m4 .988, m0 .717, m2 .697
    [0.7, 0.72], // m4 .992, m1 .988, m2 .717, m0 .697
    [-1, 0.05], // m3 .999, m2 .050, m4 -.559, m1 -.769
  ],
  [0, 1, 0, 1, 2],
);

describe('kNN', () => {
  it('votes by majority, a tie going to the class of the nearest neighbour', () => {
    expect(vote([0, 1, 2, 3], [7, 8, 8, 7])).toBe(7);
    expect(vote([0, 1, 2], [7, 8, 8])).toBe(8);
    expect(vote([3, 2, 1, 0], [5, 5, 9, 9])).toBe(9);
  });

  it('gives the hand-computed predictions and top-1 %', () => {
    // k = 3: q4's nearest is class 2, but two of three neighbours are class 1.
    expect(Array.from(knnPredict(memory, query, { k: 3 }))).toEqual([0, 1, 0, 1, 1]);
    expect(knnAccuracy(memory, query, { k: 3 })).toBe(80);
    // k = 2: q2, q3 and q4 are 1-1 ties, decided by the nearest neighbour.
    expect(Array.from(knnPredict(memory, query, { k: 2, chunk: 2 }))).toEqual([0, 1, 0, 1, 2]);
    expect(knnAccuracy(memory, query, { k: 2 })).toBe(100);
    // k larger than the memory: all 5 vote (classes 0: 2, 1: 2, 2: 1) and ties go to the nearest.
    expect(Array.from(knnPredict(memory, query, { k: 20 }))).toEqual([0, 1, 0, 1, 1]);
  });

  it('rejects unlabelled or mismatched sets', () => {
    expect(() => knnPredict(memory, set([[1, 0, 0]], [0]))).toThrow(/memory dim 2 != query dim 3/);
    expect(() => knnPredict(set([[1, 0]], [-1]), query)).toThrow(/memory: sample 0 has no label/);
  });

  it('extracts unit-norm GAP features in eval mode and restores training mode', async () => {
    const backbone = new FakeBackbone(3);
    const ds = fakeDataset(5, 4, 9, 3);
    const before = tf.memory().numTensors;
    const fs = await extractFeatures(backbone, ds, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fs.dim).toBe(4);
    expect(Array.from(fs.labels)).toEqual([0, 1, 2, 0, 1]);
    expect(backbone.modes).toEqual([false, false, false]);
    expect(backbone.isTraining).toBe(true);
    // Row 3 by hand: GAP of the conv output, then divided by its norm.
    const s = await ds.get(3);
    const x = tf.tensor4d(s.image.data, [1, 4, 4, 3]);
    const gap = tf.mean(backbone.forward(x), [1, 2]);
    const g = Array.from(gap.dataSync());
    tf.dispose([x, gap]);
    const n = Math.hypot(...g);
    for (let j = 0; j < 4; j++) expect(fs.features[3 * 4 + j]).toBeCloseTo(g[j] / n, 6);
    for (let r = 0; r < 5; r++)
      expect(Math.hypot(...fs.features.subarray(r * 4, r * 4 + 4))).toBeCloseTo(1, 5);
    backbone.dispose();
  });
});
