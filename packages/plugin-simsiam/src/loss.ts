import { tf, normalizeL2, stopGradient } from '@selfsup/core';

/**
 * SimSiam's D(p, z) = -(1/N) sum_n cos(p_n, stopgrad(z_n)) over the rows of [N, D] inputs: the
 * target side is a constant to the gradient.
 */
export function negativeCosine(online: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const cos = tf.sum(tf.mul(normalizeL2(online, 1), normalizeL2(stopGradient(target), 1)), 1);
    return tf.neg(tf.mean(cos)) as tf.Scalar;
  });
}
