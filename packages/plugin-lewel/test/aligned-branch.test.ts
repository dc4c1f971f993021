import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRng, tf, type PairLoss } from '@selfsup/core';
import { LewelAlignedBranch } from '@selfsup/plugin-lewel';
import { batchInfoNce, groupedInfoNce } from '@selfsup/plugin-moco';

const slots = (b: number, s: number, d: number, seed: number) => {
  const rng = new SeededRng(seed);
  return tf.tensor3d(
    Float32Array.from({ length: b * s * d }, () => rng.normal()),
    [b, s, d],
  );
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LEWEL aligned branch scoring', () => {
  it("'per_slot' is the mean over slots of the loss on that slot's [B, D]; grouped and looped agree", () => {
    const [b, s, d] = [4, 3, 5];
    const online = slots(b, s, d, 1);
    const target = slots(b, s, d, 2);
    const grouped: PairLoss = Object.assign((o: tf.Tensor2D, t: tf.Tensor2D) => batchInfoNce(o, t, 0.2), {
      grouped: (o: tf.Tensor3D, t: tf.Tensor3D) => groupedInfoNce(o, t, 0.2),
    });
    const looped = new LewelAlignedBranch({ loss: (o, t) => batchInfoNce(o, t, 0.2), slots: 'per_slot' });
    const fast = new LewelAlignedBranch({ loss: grouped, slots: 'per_slot' });
    const [a, c, bySlot] = tf.tidy(() => {
      const perSlot = Array.from({ length: s }, (_, i) => {
        const pick = (x: tf.Tensor3D) => tf.reshape(tf.slice(x, [0, i, 0], [b, 1, d]), [b, d]) as tf.Tensor2D;
        return batchInfoNce(pick(online), pick(target), 0.2).dataSync()[0];
      });
      return [
        looped.score(online, target).dataSync()[0],
        fast.score(online, target).dataSync()[0],
        perSlot.reduce((x, y) => x + y, 0) / s,
      ];
    });
    expect(a).toBeCloseTo(bySlot, 5);
    expect(c).toBeCloseTo(bySlot, 5);
    tf.dispose([online, target]);
  });

  it("'rows': one loss call on the B*S rows, row b*S + s = slot s of image b; no predictor, no state", () => {
    const [b, s, d] = [2, 3, 4];
    const online = slots(b, s, d, 3);
    const target = slots(b, s, d, 4);
    const seen: number[][] = [];
    const branch = new LewelAlignedBranch({
      loss: (o, t) => {
        seen.push(o.shape, t.shape);
        return tf.sum(tf.mul(o, t)) as tf.Scalar;
      },
      slots: 'rows',
    });
    expect(branch.stateEntries()).toEqual([]);
    const v = tf.tidy(() => branch.score(online, target).dataSync()[0]);
    expect(seen).toEqual([
      [b * s, d],
      [b * s, d],
    ]);
    const expected = tf.tidy(() => tf.sum(tf.mul(online, target)).dataSync()[0]);
    expect(v).toBeCloseTo(expected, 5);
    tf.dispose([online, target]);
  });
});
