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
 * InfoNCE per slot with in-batch negatives: for slot s, logits q_{i,s}.k_{j,s} / T over
 * images j, positive j = i; mean over images and slots. q, k: [B, S, D] L2-normalised over D.
 */
export function slotInfoNce(q: tf.Tensor3D, k: tf.Tensor3D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, s] = q.shape;
    const qs = tf.transpose(q, [1, 0, 2]) as tf.Tensor3D; // S, B, D
    const ks = tf.transpose(k, [1, 0, 2]) as tf.Tensor3D;
    const logits = tf.div(tf.matMul(qs, ks, false, true), temperature); // S, B, B
    const pos = tf.div(tf.sum(tf.mul(qs, ks), 2), temperature); // S, B
    return crossEntropyAt(
      tf.reshape(logits, [s * b, b]) as tf.Tensor2D,
      tf.reshape(pos, [s * b]) as tf.Tensor1D,
    );
  });
}

/** Pairwise InfoNCE with in-batch negatives on [N, D] rows (normalised here): one slot of slotInfoNce. */
export function batchInfoNce(online: tf.Tensor2D, target: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = online.shape;
    const q = tf.reshape(normalizeL2(online, 1), [n, 1, d]) as tf.Tensor3D;
    const k = tf.reshape(normalizeL2(target, 1), [n, 1, d]) as tf.Tensor3D;
    return slotInfoNce(q, k, temperature);
  });
}
