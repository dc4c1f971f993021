/**
 * A small conv net's gradients (conv-BN-relu-maxpool-conv-BN-relu-mean + MLP head with BN and a
 * softmax cross-entropy), wasm with the training kernels against cpu: once, and after SGD steps.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { randomInput, relError, runOn, tf, type Input } from './helpers';

type T = tf.Tensor;

const B = 8;
const shapes: Record<string, number[]> = {
  conv1: [3, 3, 3, 8],
  g1: [8],
  b1: [8],
  conv2: [3, 3, 8, 16],
  g2: [16],
  b2: [16],
  fc1: [16, 32],
  g3: [32],
  b3: [32],
  fc2: [32, 10],
  bias2: [10],
};
const names = Object.keys(shapes);

function initParams(): Input[] {
  return names.map((n, i) => {
    const p = randomInput(shapes[n], 100 + i);
    const fanIn = shapes[n].slice(0, -1).reduce((a, b) => a * b, 1);
    // gammas near 1, betas/biases small, weights ~ uniform(-1,1) * sqrt(3 / fanIn)
    if (n.startsWith('g')) p.data.forEach((v, j) => (p.data[j] = 1 + 0.2 * v));
    else if (n.startsWith('b')) p.data.forEach((v, j) => (p.data[j] = 0.1 * v));
    else p.data.forEach((v, j) => (p.data[j] = v * Math.sqrt(3 / fanIn)));
    return p;
  });
}

const bn = (x: T, gamma: T, beta: T, axes: number[]) => {
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
};

function loss(x: T, labels: T, p: Record<string, T>): tf.Scalar {
  let h: T = tf.conv2d(x as tf.Tensor4D, p.conv1 as tf.Tensor4D, 1, 'same');
  h = tf.relu(bn(h, p.g1, p.b1, [0, 1, 2]));
  h = tf.maxPool(h as tf.Tensor4D, 3, 2, 'same');
  h = tf.conv2d(h as tf.Tensor4D, p.conv2 as tf.Tensor4D, 2, 'same');
  h = tf.relu(bn(h, p.g2, p.b2, [0, 1, 2]));
  let z: T = tf.mean(h, [1, 2]); // [B, 16]
  z = tf.relu(bn(tf.matMul(z, p.fc1), p.g3, p.b3, [0]));
  const logits = tf.add(tf.matMul(z, p.fc2), p.bias2);
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

const image = randomInput([B, 15, 15, 3], 7);
const labels = new Float32Array(B * 10);
for (let i = 0; i < B; i++) labels[i * 10 + ((i * 7) % 10)] = 1;

/** Loss, gradients of every parameter, and parameters after `steps` SGD steps, on one backend. */
async function train(
  backend: 'cpu' | 'wasm',
  steps: number,
): Promise<{ loss: number; grads: Float32Array[]; params: Float32Array[] }> {
  await tf.setBackend(backend);
  const start = tf.memory().numTensors;
  const x = tf.tensor(image.data, image.shape);
  const y = tf.tensor(labels, [B, 10]);
  const vars = initParams().map((p) => tf.tidy(() => tf.variable(tf.tensor(p.data, p.shape))));
  const f = (...ps: T[]) => loss(x, y, Object.fromEntries(names.map((n, i) => [n, ps[i]])));
  let first: { loss: number; grads: Float32Array[] } | undefined;
  for (let s = 0; s < Math.max(steps, 1); s++) {
    const { value, grads } = tf.valueAndGrads(f)(vars);
    if (first == null)
      first = { loss: value.dataSync()[0], grads: grads.map((g) => Float32Array.from(g.dataSync())) };
    if (steps > 0) tf.tidy(() => vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(grads[i], 0.1)))));
    tf.dispose([value, ...grads]);
  }
  const params = vars.map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([x, y, ...vars]);
  expect(tf.memory().numTensors).toBe(start);
  return { ...first!, params };
}

describe('conv net gradients: wasm vs cpu', () => {
  beforeAll(async () => {
    await activateWasm(1);
    registerTrainingKernels();
  });

  it('loss and every parameter gradient agree within 1e-4', async () => {
    const ref = await train('cpu', 0);
    const got = await train('wasm', 0);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    names.forEach((n, i) => {
      const err = relError(got.grads[i], ref.grads[i]);
      expect(err, `gradient of ${n}`).toBeLessThan(1e-4);
    });
  });

  it('batch-norm + relu gradient over 32k values per channel with a large mean agrees within 1e-4', async () => {
    // The cause of the drift seen with the stock kernels: float32 running sums put BN's mean
    // off by ~1e-5 relative; centring (mean/std = 140 here) amplifies that, and downstream a
    // ReLU whose input is that close to zero flips, moving gradients by percents.
    const x = randomInput([32, 32, 32, 2], 21);
    x.data.forEach((v, i) => (x.data[i] = 4 + 0.05 * v));
    const dyw = randomInput([32, 32, 32, 2], 22);
    const f = (t: T, w: T) =>
      tf.grad((v: T) => tf.sum(tf.mul(tf.relu(bn(v, tf.ones([2]), tf.zeros([2]), [0, 1, 2])), w)))(t);
    const ref = await runOn('cpu', [x, dyw], f);
    const got = await runOn('wasm', [x, dyw], f);
    expect(relError(got[0], ref[0])).toBeLessThan(1e-4);
  });

  it('parameters agree within 1e-4 after 5 SGD steps', async () => {
    const ref = await train('cpu', 5);
    const got = await train('wasm', 5);
    names.forEach((n, i) => {
      const err = relError(got.params[i], ref.params[i]);
      expect(err, `parameter ${n}`).toBeLessThan(1e-4);
    });
  });
});
