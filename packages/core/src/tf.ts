/**
 * The single place core imports TensorFlow.js from. Importing this module guarantees the
 * always-available cpu backend, every gradient, and the cpu training kernels are registered:
 * tfjs-core's own entry registers no gradients, and its gradient files are ESM that the build
 * bundles in.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerCpuTrainingKernels } from './backend/kernels/cpu-kernels';

registerCpuTrainingKernels();

export { tf };
export type {
  Tensor,
  Variable,
  Scalar,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Rank,
} from '@tensorflow/tfjs-core';
