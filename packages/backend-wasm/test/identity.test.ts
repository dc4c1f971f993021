import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { tf } from './helpers';

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
  await tf.setBackend('wasm');
});

describe('Identity shares the buffer (no copy)', () => {
  it('a clone outlives its source, reads the same values and frees the buffer last', () => {
    const before = tf.memory().numTensors;
    const backend = tf.backend() as unknown as { dataIdMap: { has(id: object): boolean } };
    const x = tf.tensor2d([
      [1, -2, 3],
      [4, 5, -6],
    ]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3, 4, 5, -6]);
    expect(backend.dataIdMap.has(y.dataId)).toBe(true);
    const id = y.dataId;
    y.dispose();
    expect(backend.dataIdMap.has(id)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('assigning to a variable leaves a clone of its old value intact', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const old = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(old.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    tf.dispose([v, old]);
  });

  it('gradients through saved (cloned) tensors are unchanged', () => {
    const x = tf.tensor1d([0.5, -1, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.exp(t), tf.square(t))))(x);
    const expected = [0.5, -1, 2].map((t) => Math.exp(t) * (t * t + 2 * t));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    tf.dispose([x, g]);
  });
});
