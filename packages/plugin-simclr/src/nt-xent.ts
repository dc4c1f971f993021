import { tf, normalizeL2 } from '@selfsup/core';

/**
 * SimCLR's NT-Xent over the 2N rows of [a; b] (a, b: [N, D], normalised here): with
 * u = normalize([a; b]) and s_jk = u_j . u_k / T, anchor j's positive is the other view of its
 * sample (j +/- N), the 2N - 2 others are its negatives, and j itself is left out:
 * l_j = -s_{j,pos(j)} + log sum_{k != j} exp(s_jk); the loss is the mean over the 2N anchors.
 */
export function ntXent(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = a.shape;
    const one = (x: tf.Tensor2D) => tf.reshape(x, [1, n, d]) as tf.Tensor3D;
    return groupedNtXent(one(a), one(b), temperature);
  });
}

/** NT-Xent in each of G independent groups ([G, N, D] each side; negatives within the group), mean over groups. */
export function groupedNtXent(a: tf.Tensor3D, b: tf.Tensor3D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [g, n] = a.shape;
    const u = normalizeL2(tf.concat([a, b], 1) as tf.Tensor3D, 2); // G, 2N, D
    const sim = tf.div(tf.matMul(u, u, false, true), temperature) as tf.Tensor3D;
    const self = tf.cast(tf.eye(2 * n), 'bool');
    const others = tf.where(self, tf.fill([g, 2 * n, 2 * n], -Infinity), sim);
    const ua = tf.slice(u, [0, 0, 0], [g, n, -1]);
    const ub = tf.slice(u, [0, n, 0], [g, n, -1]);
    const positive = tf.div(tf.sum(tf.mul(ua, ub), 2), temperature); // G, N
    const logits = tf.sub(tf.logSumExp(others, 2), tf.concat([positive, positive], 1));
    return tf.mean(logits) as tf.Scalar;
  });
}
