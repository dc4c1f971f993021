/**
 * selfsup's kernels for the 'webgpu' backend: core's fused BatchNorm training kernels, which the
 * layers use when the active backend registers them (packages/core/src/nn/kernels.ts). Why these
 * and not others (L2 normalise): docs/PERFORMANCE.md, GPU section (bench/gpu/profile.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { batchNormTrainConfig, batchNormTrainGradConfig } from './batch_norm';

export const webgpuTrainingKernels: readonly KernelConfig[] = [
  batchNormTrainConfig,
  batchNormTrainGradConfig,
];

/** Registers the kernels for 'webgpu' (none of them exists in tfjs-backend-webgpu). Idempotent. */
export function registerWebGpuTrainingKernels(): void {
  for (const config of webgpuTrainingKernels) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current != null) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}

/** Takes them away again: core's op chains run (for tests and benchmarks that compare). */
export function unregisterWebGpuTrainingKernels(): void {
  for (const config of webgpuTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName)?.kernelFunc === config.kernelFunc)
      tf.unregisterKernel(config.kernelName, config.backendName);
  }
}
