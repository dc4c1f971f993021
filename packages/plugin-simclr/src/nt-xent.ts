import { tf, normalizeL2 } from '@selfsup/core';

/**
 * SimCLR's NT-Xent over the 2N rows of [a; b] (a, b: [N, D], normalised here): with
 * u = normalize([a; b]) and s_jk = u_j . u_k / T, anchor j's positive is the other view of its
 * sample (j +/- N), the 2N - 2 others are its negatives, and j itself is left out:
 * l_j = -s_{j,pos(j)} + log sum_{k != j} exp(s_jk); the loss is the mean over the 2N anchors.
 */
export function ntXent(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = a.shape[0];
    const u = normalizeL2(tf.concat([a, b], 0) as tf.Tensor2D, 1);
    const sim = tf.div(tf.matMul(u, u, false, true), temperature) as tf.Tensor2D;
    const self = tf.cast(tf.eye(2 * n), 'bool');
    const others = tf.where(self, tf.fill([2 * n, 2 * n], -Infinity), sim) as tf.Tensor2D;
    const ua = tf.slice(u, [0, 0], [n, -1]);
    const ub = tf.slice(u, [n, 0], [n, -1]);
    const positive = tf.div(tf.sum(tf.mul(ua, ub), 1), temperature);
    const logits = tf.sub(tf.logSumExp(others, 1), tf.concat([positive, positive], 0));
    return tf.mean(logits) as tf.Scalar;
  });
}
