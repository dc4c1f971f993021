import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { reducePerm } from '../src/kernels/transpose';
import { randomInput, runOn, tf } from './helpers';

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
});

const cases: Array<[number[], number[]]> = [
  [
    [7, 5],
    [1, 0],
  ],
  [
    [1, 9],
    [1, 0],
  ],
  [
    [33, 65],
    [1, 0],
  ],
  [
    [3, 7, 5],
    [0, 2, 1],
  ],
  [
    [1, 40, 37],
    [0, 2, 1],
  ],
  [
    [5, 3, 7],
    [2, 1, 0],
  ],
  [
    [5, 3, 7],
    [1, 0, 2],
  ],
  [
    [5, 3, 40],
    [1, 0, 2],
  ],
  [
    [5, 3, 7],
    [1, 2, 0],
  ],
  [
    [5, 3, 7],
    [2, 0, 1],
  ],
  // conv filter gradient: [N, H, W, C] -> [C, H, W, N] and [N, H, W, C] -> [H, W, N, C]
  [
    [2, 5, 3, 4],
    [3, 1, 2, 0],
  ],
  [
    [3, 4, 5, 6],
    [1, 2, 0, 3],
  ],
  [
    [1, 5, 3, 1],
    [3, 1, 2, 0],
  ],
  [
    [2, 3, 4, 5],
    [3, 2, 1, 0],
  ],
  [
    [2, 3, 1, 4, 5],
    [4, 0, 2, 3, 1],
  ],
];

describe('Transpose matches cpu', () => {
  for (const [shape, perm] of cases) {
    it(`[${shape}] perm [${perm}]`, async () => {
      const input = randomInput(
        shape,
        shape.reduce((a, b) => a * 7 + b, 1),
      );
      const fn = (x: tf.Tensor) => tf.transpose(x, perm);
      const ref = await runOn('cpu', [input], fn);
      const got = await runOn('wasm', [input], fn);
      expect(Array.from(got[0])).toEqual(Array.from(ref[0]));
      // int32 through the same copies
      const ints = (x: tf.Tensor) => tf.transpose(tf.cast(tf.mul(x, 1000), 'int32'), perm);
      const refI = await runOn('cpu', [input], ints);
      const gotI = await runOn('wasm', [input], ints);
      expect(Array.from(gotI[0])).toEqual(Array.from(refI[0]));
    });
  }

  it('merges adjacent axes and drops size-1 axes before choosing a copy', () => {
    expect(reducePerm([2, 5, 3, 4], [3, 1, 2, 0])).toEqual({ shape: [2, 15, 4], perm: [2, 1, 0] });
    expect(reducePerm([3, 4, 5, 6], [1, 2, 0, 3])).toEqual({ shape: [3, 20, 6], perm: [1, 0, 2] });
    expect(reducePerm([1, 5, 1, 4], [3, 1, 2, 0])).toEqual({ shape: [5, 4], perm: [1, 0] });
    expect(reducePerm([4, 5], [0, 1])).toEqual({ shape: [20], perm: [0] });
  });

  it('gradient of a transposed product is unchanged (runs through Transpose on wasm)', async () => {
    const a = randomInput([6, 4], 3);
    const b = randomInput([6, 5], 4);
    const fn = (x: tf.Tensor, y: tf.Tensor) =>
      tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, true, false))))([x, y]);
    const ref = await runOn('cpu', [a, b], fn);
    const got = await runOn('wasm', [a, b], fn);
    for (let i = 0; i < ref.length; i++)
      for (let j = 0; j < ref[i].length; j++) expect(got[i][j]).toBeCloseTo(ref[i][j], 4);
  });
});
