import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';
import { negativeCosine } from '@selfsup/plugin-simsiam';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('negativeCosine (SimSiam D)', () => {
  it('is -mean cos over rows, and no gradient reaches the target side', () => {
    const p = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    const z = tf.tensor2d([
      [2, 0],
      [-1, 0],
    ]);
    const loss = tf.tidy(() => negativeCosine(p, z).dataSync()[0]);
    // cos = 1 and -1/sqrt(2).
    expect(loss).toBeCloseTo(-(1 - Math.SQRT1_2) / 2, 6);
    const [gp, gz] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      negativeCosine(a as tf.Tensor2D, b as tf.Tensor2D),
    )([p, z]);
    expect(Array.from(gz.dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(gp.dataSync()).some((v) => v !== 0)).toBe(true);
    tf.dispose([p, z, gp, gz]);
  });
});
