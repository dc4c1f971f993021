/**
 * Conv2DBackpropInput when dy's spatial size does not match the requested input shape, as
 * tf.conv2dTranspose allows (tfjs's own spec "input=8x8x8,output=4x4x8,f=8,s=1,inDepth=8,p=same"):
 * the result has the requested shape and cpu's values (cpu and stock wasm read dy's first
 * ho x wo pixels); a dy too small for the requested shape is refused, naming the shapes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { randomInput, relError, tf } from './helpers';

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
});

async function transposeOn(backend: 'cpu' | 'wasm', xShape: number[], outShape: [number, number, number]) {
  await tf.setBackend(backend);
  const x = randomInput(xShape, 3);
  const w = randomInput([8, 8, outShape[2], xShape[2]], 4);
  const xt = tf.tensor3d(x.data, xShape as [number, number, number]);
  const wt = tf.tensor4d(w.data, w.shape as [number, number, number, number]);
  try {
    const y = tf.conv2dTranspose(xt, wt, outShape, 1, 'same');
    const out = { shape: y.shape, data: Float32Array.from(await y.data()) };
    y.dispose();
    return out;
  } finally {
    tf.dispose([xt, wt]);
  }
}

describe('Conv2DBackpropInput with a dy larger than the output needs', () => {
  it('conv2dTranspose input=8x8x8, output=4x4x8, f=8, s=1, same: shape [4,4,8] and cpu values', async () => {
    const cpu = await transposeOn('cpu', [8, 8, 8], [4, 4, 8]);
    const wasm = await transposeOn('wasm', [8, 8, 8], [4, 4, 8]);
    expect(cpu.shape).toEqual([4, 4, 8]);
    expect(wasm.shape).toEqual([4, 4, 8]);
    expect(wasm.data.length).toBe(4 * 4 * 8);
    expect(relError(wasm.data, cpu.data)).toBeLessThan(1e-5);
  });

  it('refuses a dy smaller than the requested input shape needs, naming both', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    await expect(transposeOn('wasm', [2, 2, 8], [4, 4, 8])).rejects.toThrow(
      'backend-wasm Conv2DBackpropInput: dy is [1,2,2,8], but input shape [1,4,4,8]',
    );
    await expect(transposeOn('wasm', [2, 2, 8], [4, 4, 8])).rejects.toThrow('needs dy [1,4,4,8]');
    expect(tf.memory().numTensors).toBe(before);
  });
});
