/**
 * Forward values and gradients of the ops a ResNet + MLP heads + BN + softmax training step uses,
 * wasm (with the training kernels) against cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { compareBackends, randomInput, tf } from './helpers';

const TOL = 1e-4;

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
});

type T = tf.Tensor;
/** Forward value and the gradient of sum(out * weights) w.r.t. every input. */
const withGrads =
  (f: (...xs: T[]) => T) =>
  (...xs: T[]): T[] => {
    const out = f(...xs);
    const w = tf.sin(tf.reshape(tf.range(1, out.size + 1), out.shape)); // deterministic, signed
    const grads = tf.grads((...ys: T[]) => tf.sum(tf.mul(f(...ys), w)))(xs);
    return [out, ...grads];
  };

const bn = (x: T) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2], true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
};

const cases: Record<string, { shapes: number[][]; f: (...xs: T[]) => T; positive?: boolean }> = {
  conv2d: {
    shapes: [
      [2, 7, 7, 3],
      [3, 3, 3, 4],
    ],
    f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
  },
  'conv2d stride 2': {
    shapes: [
      [2, 8, 8, 3],
      [3, 3, 3, 4],
    ],
    f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
  },
  'batchnorm as ops (moments)': { shapes: [[4, 5, 5, 3]], f: bn },
  'tf.batchNorm': {
    shapes: [[4, 5, 5, 3], [3], [3], [3], [3]],
    f: (x, m, v, o, s) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5), o, s, 1e-5),
  },
  relu: { shapes: [[64]], f: tf.relu },
  matMul: {
    shapes: [
      [6, 5],
      [5, 4],
    ],
    f: (a, b) => tf.matMul(a, b),
  },
  'matMul tA tB': {
    shapes: [
      [5, 6],
      [4, 5],
    ],
    f: (a, b) => tf.matMul(a, b, true, true),
  },
  'batched matMul': {
    shapes: [
      [3, 6, 5],
      [3, 5, 4],
    ],
    f: (a, b) => tf.matMul(a, b),
  },
  // (A 3-D x 2-D matMul has no gradient in tfjs-core on any backend: it does not reduce b's
  // broadcast batch. Heads reshape tokens to 2-D first.)
  'matMul of tokens reshaped to 2-D': {
    shapes: [
      [3, 6, 5],
      [5, 4],
    ],
    f: (a, b) => tf.reshape(tf.matMul(tf.reshape(a, [18, 5]), b), [3, 6, 4]),
  },
  mean: { shapes: [[4, 6, 5]], f: (x) => tf.mean(x, [0, 2]) },
  sum: { shapes: [[4, 6, 5]], f: (x) => tf.sum(x, 1) },
  softmax: { shapes: [[5, 7]], f: (x) => tf.softmax(tf.mul(x, 4)) },
  // MoCo's logits: 1 positive + a 4096-key queue at temperature 0.2.
  'softmax over 4097 logits': { shapes: [[4, 4097]], f: (x) => tf.softmax(tf.div(x, 0.2)) },
  'logSoftmax over 4097 logits': { shapes: [[4, 4097]], f: (x) => tf.logSoftmax(tf.div(x, 0.2)) },
  logSoftmax: { shapes: [[5, 7]], f: (x) => tf.logSoftmax(tf.mul(x, 4)) },
  logSumExp: { shapes: [[5, 7]], f: (x) => tf.logSumExp(tf.mul(x, 4), 1) },
  max: { shapes: [[5, 7]], f: (x) => tf.max(x, 1) },
  min: { shapes: [[5, 7]], f: (x) => tf.min(x, 0) },
  sqrt: { shapes: [[20]], f: tf.sqrt, positive: true },
  rsqrt: { shapes: [[20]], f: tf.rsqrt, positive: true },
  maximum: { shapes: [[20], [20]], f: tf.maximum },
  minimum: { shapes: [[20], [20]], f: tf.minimum },
  concat: {
    shapes: [
      [3, 4],
      [3, 2],
    ],
    f: (a, b) => tf.concat([a, b], 1),
  },
  slice: { shapes: [[5, 6]], f: (x) => tf.slice(x, [1, 2], [3, 3]) },
  transpose: { shapes: [[2, 3, 4]], f: (x) => tf.transpose(x, [2, 0, 1]) },
  reshape: { shapes: [[2, 3, 4]], f: (x) => tf.reshape(x, [6, 4]) },
  gather: { shapes: [[6, 3]], f: (x) => tf.gather(x, tf.tensor1d([4, 0, 4, 2], 'int32')) },
  'gather axis 1': { shapes: [[3, 6, 2]], f: (x) => tf.gather(x, tf.tensor1d([5, 1, 1], 'int32'), 1) },
  exp: { shapes: [[20]], f: tf.exp },
  log: { shapes: [[20]], f: tf.log, positive: true },
  square: { shapes: [[20]], f: tf.square },
  // (tfjs-core's SquaredDifference gradient does not reduce broadcast inputs on any backend.)
  squaredDifference: {
    shapes: [
      [4, 5],
      [4, 5],
    ],
    f: tf.squaredDifference,
  },
  'add/sub/mul/div broadcast': {
    shapes: [[4, 5], [5], [4, 1]],
    f: (a, b, c) => tf.div(tf.mul(tf.sub(a, b), tf.add(a, c)), tf.add(tf.abs(c), 1)),
  },
  neg: { shapes: [[20]], f: tf.neg },
  abs: { shapes: [[20]], f: tf.abs },
  sigmoid: { shapes: [[20]], f: tf.sigmoid },
  tanh: { shapes: [[20]], f: tf.tanh },
  pow: { shapes: [[20]], f: (x) => tf.pow(x, 1.5), positive: true },
  clipByValue: { shapes: [[20]], f: (x) => tf.clipByValue(x, -0.5, 0.5) },
  'l2 normalize': {
    shapes: [[4, 6]],
    f: (x) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12)),
  },
  avgPool: { shapes: [[2, 6, 6, 3]], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') },
  maxPool: { shapes: [[2, 7, 7, 3]], f: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same') },
  pad: {
    shapes: [[3, 4]],
    f: (x) =>
      tf.pad(x, [
        [1, 0],
        [2, 1],
      ]),
  },
  tile: { shapes: [[3, 4]], f: (x) => tf.tile(x, [2, 3]) },
  'stack/unstack': {
    shapes: [
      [3, 4],
      [3, 4],
    ],
    f: (a, b) => tf.stack([tf.unstack(a)[1], tf.unstack(b)[0]]),
  },
  where: {
    shapes: [[20], [20]],
    f: (a, b) =>
      tf.where(
        tf.tensor1d(
          [...Array(20).keys()].map((i) => i % 3 === 0),
          'bool',
        ),
        a,
        b,
      ),
  },
  elu: { shapes: [[20]], f: tf.elu },
  leakyRelu: { shapes: [[20]], f: (x) => tf.leakyRelu(x, 0.1) },
  softplus: { shapes: [[20]], f: tf.softplus },
  'global average pool': { shapes: [[3, 4, 4, 5]], f: (x) => tf.mean(x, [1, 2]) },
  'cross entropy': {
    shapes: [[6, 5]],
    f: (x) =>
      tf.neg(
        tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d([0, 3, 1, 4, 2, 2], 'int32'), 5), tf.logSoftmax(x)), 1)),
      ),
  },
};

describe('op values and gradients match cpu', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const inputs = c.shapes.map((s, i) => {
        const r = randomInput(s, 1000 + i * 17 + name.length);
        if (c.positive) r.data.forEach((v, j) => (r.data[j] = 0.1 + Math.abs(v)));
        return r;
      });
      const err = await compareBackends(inputs, withGrads(c.f));
      expect(err).toBeLessThan(TOL);
    });
  }
});
