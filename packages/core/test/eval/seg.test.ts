import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { Module } from '../../src/nn/module';
import type { Backbone, Dataset, Sample } from '../../src/contracts';
import {
  confusionMatrix,
  linearResizeMatrix,
  meanIoU,
  resizeBilinearDifferentiable,
  segmentationProbe,
} from '../../src/eval';
import { SeededRng } from '../../src/util/random';

describe('segmentation metrics', () => {
  it('computes IoU per class and mIoU as worked out by hand', () => {
    const truth = [0, 0, 1, 1, 1, 2, 255, 0];
    const pred = [0, 1, 1, 1, 2, 2, 0, 0];
    const r = meanIoU(confusionMatrix(pred, truth, 4), 4);
    // class 0: TP 2, FN 1, FP 0 -> 2/3; class 1: TP 2, FN 1, FP 1 -> 1/2; class 2: TP 1, FP 1 -> 1/2;
    // class 3 absent from both -> NaN, not averaged; pixel 6 is ignored.
    expect(r.iou[0]).toBeCloseTo(200 / 3, 10);
    expect(r.iou[1]).toBeCloseTo(50, 10);
    expect(r.iou[2]).toBeCloseTo(50, 10);
    expect(r.iou[3]).toBeNaN();
    expect(r.mIoU).toBeCloseTo((200 / 3 + 50 + 50) / 3, 10);
    expect(r.pixelAcc).toBeCloseTo((100 * 5) / 7, 10);
    expect(() => confusionMatrix([0], [7], 4)).toThrow(/mask value 7 at pixel 0 is outside 0..3/);
  });

  it('upsamples like PyTorch align_corners=False and differentiates correctly', () => {
    // F.interpolate([0, 1], size=4, mode='linear', align_corners=False) = [0, .25, .75, 1].
    const m = linearResizeMatrix(2, 4);
    expect(Array.from({ length: 4 }, (_, o) => m[o * 2 + 1])).toEqual([0, 0.25, 0.75, 1]);
    const rng = new SeededRng(3);
    const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, () => rng.normal());
    const x = tf.tensor4d(data, [2, 3, 2, 2]);
    const ours = resizeBilinearDifferentiable(x, 7, 5);
    const ref = tf.image.resizeBilinear(x, [7, 5], false, true);
    expect(ours.shape).toEqual([2, 7, 5, 2]);
    const a = ours.dataSync();
    const b = ref.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    // The map is linear, so d sum(c * up(x)) / dx_i = sum(c * up(e_i)).
    const c = tf.tensor4d(
      Float32Array.from({ length: 2 * 7 * 5 * 2 }, () => rng.normal()),
      [2, 7, 5, 2],
    );
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(resizeBilinearDifferentiable(t as tf.Tensor4D, 7, 5), c)),
    )(x);
    const gd = g.dataSync();
    for (const i of [0, 5, 13, 23]) {
      const e = new Float32Array(data.length);
      e[i] = 1;
      const up = tf.tidy(() =>
        tf.sum(tf.mul(tf.image.resizeBilinear(tf.tensor4d(e, [2, 3, 2, 2]), [7, 5], false, true), c)),
      );
      expect(gd[i]).toBeCloseTo(up.dataSync()[0], 4);
      up.dispose();
    }
    tf.dispose([x, ours, ref, c, g]);
  });
});

/** Features = 2x2 average pool of the image itself (3 channels), so the probe must upsample 4x4 -> 8x8. */
class PoolBackbone extends Module implements Backbone {
  readonly outChannels = 3;
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.avgPool(x, 2, 2, 'valid');
  }
}

/** 8x8 images whose 4x4 quadrants are background (blue), class 1 (red) or class 2 (green). */
function quadrantSet(n: number, seed: number): Dataset {
  const rng = new SeededRng(seed);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(8 * 8 * 3);
    const mask = new Uint8Array(64);
    const cls = [0, 1, 2, 3].map(() => rng.int(3));
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const c = cls[(y >= 4 ? 2 : 0) + (x >= 4 ? 1 : 0)];
        mask[y * 8 + x] = c;
        const colour = c === 0 ? 2 : c - 1;
        for (let ch = 0; ch < 3; ch++)
          data[(y * 8 + x) * 3 + ch] = (ch === colour ? 1 : 0) + 0.1 * rng.next();
      }
    }
    samples.push({ image: { data, height: 8, width: 8, channels: 3 }, mask });
  }
  return { name: `quadrants-${seed}`, length: n, get: async (i) => samples[i] };
}

describe('segmentation probe', () => {
  it('learns a linear per-pixel classifier on the frozen map to full mIoU', async () => {
    const backbone = new PoolBackbone();
    const before = tf.memory().numTensors;
    const r = await segmentationProbe(backbone, quadrantSet(12, 1), quadrantSet(6, 2), {
      numClasses: 3,
      epochs: 40,
      batchSize: 4,
      lr: 0.1,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.mIoU).toBe(100);
    expect(r.pixelAcc).toBe(100);
  });
});
