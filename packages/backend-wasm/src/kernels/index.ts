/**
 * The kernels a training step needs that tfjs-backend-wasm 4.22 lacks or gets wrong, registered
 * over the stock ones for the 'wasm' backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { batchMatMulConfig } from './batch_mat_mul';
import { batchNormTrainConfig, batchNormTrainGradConfig } from './batch_norm';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv2d_backprop';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './max_pool_grad';
import { transposeConfig } from './transpose';
import { meanConfig, sumConfig } from './reductions';
import { unsortedSegmentSumConfig } from './unsorted_segment_sum';
import { captureStock, stockKernel } from './util';

export const trainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  sumConfig,
  meanConfig,
  unsortedSegmentSumConfig,
  batchNormTrainConfig,
  batchNormTrainGradConfig,
  identityConfig,
  transposeConfig,
];

/** Names of the kernels `registerTrainingKernels` installs. */
export const trainingKernelNames: readonly string[] = trainingKernels.map((k) => k.kernelName);

/** Registers every training kernel for 'wasm', replacing the stock ones. Idempotent. */
export function registerTrainingKernels(): void {
  for (const config of trainingKernels) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    captureStock(config.kernelName);
    if (current != null) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}

/**
 * Puts the stock kernels back (for benchmarks and tests that compare against them). The stock
 * kernels' setup runs again when a wasm backend is active, as `setBackend` would have done.
 */
export function unregisterTrainingKernels(): void {
  const backend = tf.findBackend('wasm');
  for (const config of trainingKernels) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc !== config.kernelFunc) continue;
    tf.unregisterKernel(config.kernelName, 'wasm');
    const original = stockKernel(config.kernelName);
    if (original != null) {
      tf.registerKernel(original);
      if (backend != null) original.setupFunc?.(backend);
    }
  }
}
