import { tf, normalizeL2 } from '@selfsup/core';

/** Mean over rows of logsumexp(logits) - logits[positive]. */
function crossEntropyAt(logits: tf.Tensor2D, positive: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), positive)) as tf.Scalar;
}

/**
 * MoCo's InfoNCE: logits [q.k, q.queue] / T with the positive at index 0.
 * q, k: [N, D] L2-normalised; queue: [D, Q] of L2-normalised keys (columns).
 */
export function infoNce(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.sum(tf.mul(q, k), 1, true);
    const logits = tf.div(tf.concat([pos, tf.matMul(q, queue)], 1), temperature) as tf.Tensor2D;
    return crossEntropyAt(logits, tf.div(tf.reshape(pos, [-1]), temperature) as tf.Tensor1D);
  });
}

/**
 * InfoNCE with in-batch negatives over G groups of N rows, [G, N, D] each side (L2-normalised
 * here): in group g, logits online_i . target_j / T over the rows j, positive j = i; mean over
 * every row of every group.
 */
export function groupedInfoNce(online: tf.Tensor3D, target: tf.Tensor3D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [g, n] = online.shape;
    const q = normalizeL2(online, 2);
    const k = normalizeL2(target, 2);
    const logits = tf.div(tf.matMul(q, k, false, true), temperature); // G, N, N
    const pos = tf.div(tf.sum(tf.mul(q, k), 2), temperature); // G, N
    return crossEntropyAt(
      tf.reshape(logits, [g * n, n]) as tf.Tensor2D,
      tf.reshape(pos, [g * n]) as tf.Tensor1D,
    );
  });
}

/** InfoNCE with in-batch negatives on [N, D] rows: one group of groupedInfoNce. */
export function batchInfoNce(online: tf.Tensor2D, target: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = online.shape;
    const one = (x: tf.Tensor2D) => tf.reshape(x, [1, n, d]) as tf.Tensor3D;
    return groupedInfoNce(one(online), one(target), temperature);
  });
}
