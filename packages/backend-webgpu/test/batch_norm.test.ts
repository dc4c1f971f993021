/**
 * The webgpu BatchNorm training kernels (src/kernels/batch_norm.ts) against core's op chain on
 * the same backend: outputs, the three gradients and the running statistics of one training
 * step, with columns summed by one thread (up to 1024 rows, 2-D input as the heads' BatchNorm1d)
 * and by workgroups of 64 (2304 rows) and 256 threads (4608 rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, SeededRng, backendHasKernel, BATCH_NORM_TRAIN, tf } from '@selfsup/core';
import {
  WebGpuBackendProvider,
  registerWebGpuTrainingKernels,
  releaseWebGpu,
  unregisterWebGpuTrainingKernels,
} from '../src';
import { setUpWebGpu } from './setup';

const webgpu = await setUpWebGpu('batch_norm.test.ts');

/** Largest |a - b| over the largest |b|: float32 sums in another order differ by ~1e-7 relative. */
const TOL = 1e-5;

function randomTensor(shape: number[], rng: SeededRng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** y, dx, dGamma, dBeta, running mean and variance of one training step, read back. */
async function bnStep(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  dy: tf.Tensor,
): Promise<Float32Array[]> {
  const bn = new BatchNorm(x.shape[x.shape.length - 1]);
  bn.weight.assign(gamma as tf.Tensor1D);
  bn.bias.assign(beta as tf.Tensor1D);
  // An offset mean (3.5) so that centring matters.
  const xs = tf.tidy(() => tf.add(tf.mul(x, 3), 3.5));
  let y: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    y = tf.keep(bn.forward(xs));
    return tf.sum(tf.mul(y, dy)) as tf.Scalar;
  }, [bn.weight, bn.bias]);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi), dy)))(xs);
  const out = [y!, dx, grads[bn.weight.name], grads[bn.bias.name], bn.runningMean, bn.runningVar];
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([xs, value, y!, dx, ...Object.values(grads)]);
  bn.dispose();
  return values;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

describe.skipIf(!webgpu.ok)('webgpu BatchNorm training kernels', () => {
  beforeAll(async () => {
    await new WebGpuBackendProvider().activate({});
    await tf.setBackend('webgpu');
  });
  afterAll(async () => {
    registerWebGpuTrainingKernels();
    await releaseWebGpu();
  });

  it('are registered when the backend loads', () => {
    expect(backendHasKernel(BATCH_NORM_TRAIN)).toBe(true);
  });

  for (const shape of [
    [4, 5, 5, 3],
    [2, 8, 8, 16],
    [37, 7],
    [3, 17, 19, 5],
    [4, 24, 24, 6],
    [2, 48, 48, 3],
    [8, 1024],
  ]) {
    it(`equal core's op chain on webgpu, x [${shape}]`, async () => {
      const rng = new SeededRng(shape.reduce((a, b) => a * 31 + b, 7));
      const C = shape[shape.length - 1];
      const x = randomTensor(shape, rng);
      const dy = randomTensor(shape, rng);
      const gamma = tf.add(randomTensor([C], rng), 1);
      const beta = randomTensor([C], rng);
      registerWebGpuTrainingKernels();
      const before = tf.memory().numTensors;
      const fused = await bnStep(x, gamma, beta, dy);
      const leakFused = tf.memory().numTensors - before;
      unregisterWebGpuTrainingKernels();
      expect(backendHasKernel(BATCH_NORM_TRAIN)).toBe(false);
      const beforeChain = tf.memory().numTensors;
      const chain = await bnStep(x, gamma, beta, dy);
      expect(tf.memory().numTensors).toBe(beforeChain);
      registerWebGpuTrainingKernels();
      expect(leakFused).toBe(0);
      const names = ['y', 'dx', 'dGamma', 'dBeta', 'runningMean', 'runningVar'];
      const errors = Object.fromEntries(names.map((n, i) => [n, relativeError(fused[i], chain[i])]));
      for (const [n, e] of Object.entries(errors)) expect(e, `${n}: ${e}`).toBeLessThan(TOL);
      tf.dispose([x, dy, gamma, beta]);
    });
  }
});
