import { tf } from '../tf';

/**
 * Fused kernels a backend may register under these names; the layers use one when the active
 * backend has it and the plain op chain otherwise (same math). They exist because a chain of
 * broadcasting element-wise ops makes one pass over memory per op, single-threaded.
 *
 * BATCH_NORM_TRAIN: inputs {x [..., C], gamma [C], beta [C]}, attrs {eps};
 *   outputs [y = (x - mean) * invStd * gamma + beta, mean [C], biased variance [C], invStd [C]],
 *   statistics over every axis but the last.
 * BATCH_NORM_TRAIN_GRAD: inputs {dy, x, mean, invStd, gamma}; outputs [dx, dGamma, dBeta] with
 *   dx = gamma * invStd / N * (N * dy - sum(dy) - xhat * sum(dy * xhat)).
 */
export const BATCH_NORM_TRAIN = 'SelfsupBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'SelfsupBatchNormTrainGrad';

/**
 * The channel count C (x's last axis) of a BATCH_NORM_TRAIN(_GRAD) call, after checking the
 * contract above that every backend's kernel relies on: all inputs float32, every 1-D one of
 * length C. Throws naming the kernel, the input and its shape.
 */
export function batchNormChannels(
  kernel: string,
  named: Record<string, tf.TensorInfo>,
  x: tf.TensorInfo,
): number {
  const c = x.shape[x.shape.length - 1];
  for (const [name, t] of Object.entries(named)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
    if (t.shape.length === 1 && t.shape[0] !== c)
      throw new Error(`${kernel}: ${name} has shape [${t.shape}], expected [${c}] (x is [${x.shape}])`);
  }
  return c;
}

/**
 * L2_NORMALIZE: inputs {x}, attrs {axis (non-negative), eps}; outputs [y = x / max(norm, eps),
 *   norm = ||x||_2 over axis, kept as a size-1 axis].
 * L2_NORMALIZE_GRAD: inputs {dy, y, norm}, attrs {axis, eps}; output dx =
 *   (dy - y * sum(dy * y) * [norm >= eps]) / max(norm, eps).
 * No backend registers them yet; normalizeL2 dispatches to them when one does.
 */
export const L2_NORMALIZE = 'SelfsupL2Normalize';
export const L2_NORMALIZE_GRAD = 'SelfsupL2NormalizeGrad';

/** Whether the active backend registered the kernel `name`. */
export function backendHasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}
