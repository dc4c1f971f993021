import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { balancedSubset, semiSupervised } from '../../src/eval';
import { FakeBackbone, fakeDataset } from '../train/fakes';

describe('semi-supervised', () => {
  it('takes a class-balanced, seeded subset', () => {
    const labels = [...Array(10).fill(0), ...Array(20).fill(1), ...Array(5).fill(2)];
    const sub = balancedSubset(labels, 0.1, 1);
    // round(1) = 1, round(2) = 2, round(0.5) = 1 (at least one per class).
    const per = [0, 1, 2].map((c) => Array.from(sub).filter((i) => labels[i] === c).length);
    expect(per).toEqual([1, 2, 1]);
    expect(Array.from(sub)).toEqual([...sub].sort((a, b) => a - b));
    expect(Array.from(balancedSubset(labels, 0.1, 1))).toEqual(Array.from(sub));
    const seeds = [2, 3, 4, 5].map((s) => Array.from(balancedSubset(labels, 0.1, s)).join());
    expect(new Set([sub.join(), ...seeds]).size).toBeGreaterThan(1);
    expect(balancedSubset(labels, 1, 0).length).toBe(35);
    expect(() => balancedSubset([0, -1], 0.5, 0)).toThrow(/sample 1 has no label/);
  });

  it('fine-tunes backbone + head to classify, then restores the backbone', async () => {
    const backbone = new FakeBackbone(4, 3, 4);
    const w0 = Array.from(backbone.weight.dataSync());
    const before = tf.memory().numTensors;
    const r = await semiSupervised(backbone, fakeDataset(30, 6, 1, 3), fakeDataset(15, 6, 2, 3), {
      numClasses: 3,
      fraction: 0.2,
      epochs: 40,
      batchSize: 6,
      lr: 0.05,
    });
    expect(r.indices.length).toBe(6);
    expect(r.top1).toBe(100);
    expect(Array.from(backbone.weight.dataSync())).toEqual(w0);
    expect(backbone.isTraining).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    backbone.dispose();
  });

  it('leaves the fine-tuned backbone in place when asked', async () => {
    const backbone = new FakeBackbone(4, 3, 4);
    const w0 = Array.from(backbone.weight.dataSync());
    await semiSupervised(backbone, fakeDataset(12, 6, 1, 3), fakeDataset(3, 6, 2, 3), {
      numClasses: 3,
      fraction: 0.5,
      epochs: 2,
      batchSize: 6,
      lr: 0.05,
      restoreBackbone: false,
    });
    const w1 = Array.from(backbone.weight.dataSync());
    expect(w1.some((w, i) => Math.abs(w - w0[i]) > 1e-4)).toBe(true);
    backbone.dispose();
  });
});
