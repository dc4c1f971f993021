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
