import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { linearProbe, softmaxCrossEntropy, type FeatureSet } from '../../src/eval';
import { featureStats, standardizeFeatures } from '../../src/eval/linear';
import { SeededRng } from '../../src/util/random';

/** Three Gaussian blobs in 2-D, far enough apart to be linearly separable. */
function blobs(n: number, seed: number): FeatureSet {
  const rng = new SeededRng(seed);
  const centers = [
    [3, 0],
    [-3, 0],
    [0, 3],
  ];
  const features = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    features[i * 2] = centers[c][0] + 0.4 * rng.normal();
    features[i * 2 + 1] = centers[c][1] + 0.4 * rng.normal();
  }
  return { features, dim: 2, labels };
}

describe('linear probe', () => {
  it('cross-entropy matches the hand value and skips ignored labels', () => {
    const logits = tf.tensor2d([
      [0, 0],
      [Math.log(3), 0],
      [5, -5],
    ]);
    const ce = softmaxCrossEntropy(logits, tf.tensor1d([0, 0, 255], 'int32'), 2, 255);
    // Row 0: -log(1/2); row 1: -log(3/4); row 2 ignored.
    expect(ce.dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 6);
    const all = softmaxCrossEntropy(
      tf.slice(logits, [0, 0], [2, 2]) as tf.Tensor2D,
      tf.tensor1d([0, 1], 'int32'),
      2,
    );
    expect(all.dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 6);
    tf.dispose([logits, ce, all]);
  });

  it('learns separable data to 100% with Adam and with SGD, without leaking tensors', () => {
    const train = blobs(90, 1);
    const test = blobs(30, 2);
    const before = tf.memory().numTensors;
    const adam = linearProbe(train, test, { numClasses: 3, epochs: 30, batchSize: 16, lr: 0.05 });
    expect(adam.top1).toBe(100);
    expect(adam.trainTop1).toBe(100);
    expect(adam.lastLoss).toBeLessThan(0.2);
    const sgd = linearProbe(train, test, {
      numClasses: 3,
      epochs: 30,
      batchSize: 16,
      lr: 0.1,
      optimizer: 'sgd',
    });
    expect(sgd.top1).toBe(100);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('standardises with the training statistics, so offset and scaled features probe alike', () => {
    const set: FeatureSet = {
      features: Float32Array.from([1, 10, 3, 10, 5, 10]),
      dim: 2,
      labels: new Int32Array(3),
    };
    const stats = featureStats(set);
    expect(Array.from(stats.mean)).toEqual([3, 10]);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    const z = standardizeFeatures(set, stats).features;
    expect(z[0]).toBeCloseTo(-2 / Math.sqrt(8 / 3), 5);
    expect([z[1], z[3], z[5]]).toEqual([0, 0, 0]); // a constant dimension carries nothing
    // Blobs moved far from the origin and squashed: the raw probe (few epochs) suffers, the standardised one does not.
    const far = (f: FeatureSet): FeatureSet => ({
      ...f,
      features: f.features.map((v, i) => (i % 2 ? 200 + 0.01 * v : v)),
    });
    const opts = { numClasses: 3, epochs: 5, batchSize: 16, lr: 0.05 };
    const [train, test] = [blobs(90, 1), blobs(30, 2)];
    const plain = linearProbe(train, test, opts).top1;
    expect(linearProbe(far(train), far(test), opts).top1).toBe(plain);
    expect(linearProbe(far(train), far(test), { ...opts, standardize: false }).top1).toBeLessThan(plain);
  });

  it('scores 0% against labels rotated by one class (the score is not free)', () => {
    const train = blobs(90, 1);
    const test = blobs(30, 2);
    // Test labels rotated by one class: a perfect classifier now gets 0%.
    const wrong = { ...test, labels: test.labels.map((l) => (l + 1) % 3) };
    expect(linearProbe(train, wrong, { numClasses: 3, epochs: 30, batchSize: 16, lr: 0.05 }).top1).toBe(0);
  });

  it('names bad labels', () => {
    const t = blobs(6, 1);
    expect(() =>
      linearProbe({ ...t, labels: Int32Array.from([0, 1, 2, 3, 0, 1]) }, t, { numClasses: 3 }),
    ).toThrow(/label 3 of sample 3 is outside 0..2/);
  });
});
