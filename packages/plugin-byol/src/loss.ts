import { tf, normalizeL2 } from '@selfsup/core';

/** BYOL's loss: 2 - 2 * mean_i cos(a_i, b_i) over the rows of [N, D] inputs. */
export function normalizedMse(online: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const cos = tf.sum(tf.mul(normalizeL2(online, 1), normalizeL2(target, 1)));
    return tf.sub(2, tf.mul(2, tf.div(cos, online.shape[0]))) as tf.Scalar;
  });
}
