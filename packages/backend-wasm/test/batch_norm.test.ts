import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, BatchNorm } from '@selfsup/core';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { compareBackends, randomInput, tf } from './helpers';

const TOL = 1e-4;

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
});

/**
 * A training-mode BatchNorm step with random gamma/beta and an upstream gradient: outputs y, the
 * gradients w.r.t. x, gamma, beta, and the running statistics after the step. On cpu this is
 * the op chain, on wasm the fused kernels.
 */
function bnStep(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  const bn = new BatchNorm(x.shape[x.shape.length - 1]);
  bn.weight.assign(gamma as tf.Tensor1D);
  bn.bias.assign(beta as tf.Tensor1D);
  // An offset mean (3.5) so that centring matters.
  const xs = tf.add(tf.mul(x, 3), 3.5);
  let y: tf.Tensor | undefined;
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(bn.forward(xs));
    return tf.sum(tf.mul(y, dy)) as tf.Scalar;
  }, [bn.weight, bn.bias]);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi), dy)))(xs);
  const out = [
    y!,
    dx,
    grads[bn.weight.name],
    grads[bn.bias.name],
    tf.clone(bn.runningMean),
    tf.clone(bn.runningVar),
  ];
  tf.dispose(xs);
  bn.dispose();
  return out;
}

const shapes = [
  [7, 5],
  [1, 3, 3, 6],
  [2, 3, 5, 7],
  [3, 4, 4, 1],
  [2, 9, 9, 16],
  [5, 33],
];

describe('fused BatchNorm training kernels match the cpu op chain', () => {
  for (const shape of shapes) {
    it(`[${shape}]`, async () => {
      const c = shape[shape.length - 1];
      const seed = shape.reduce((a, b) => a * 31 + b, 7);
      const err = await compareBackends(
        [
          randomInput(shape, seed),
          randomInput([c], seed + 1),
          randomInput([c], seed + 2),
          randomInput(shape, seed + 3),
        ],
        bnStep,
      );
      expect(err).toBeLessThan(TOL);
    });
  }

  it('are the kernels the wasm BatchNorm runs (forward and backward)', async () => {
    await tf.setBackend('wasm');
    const [x, g, b, dy] = [[2, 3, 3, 4], [4], [4], [2, 3, 3, 4]].map((s, i) => {
      const r = randomInput(s, 50 + i);
      return tf.tensor(r.data, r.shape);
    });
    const info = await tf.profile(() => tf.dispose(bnStep(x, g, b, dy)));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(BATCH_NORM_TRAIN);
    expect(names).toContain(BATCH_NORM_TRAIN_GRAD);
    tf.dispose([x, g, b, dy]);
  });
});
