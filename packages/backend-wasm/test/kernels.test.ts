import { beforeAll, describe, expect, it } from 'vitest';
import { activateWasm } from '../src/wasm_init';
import { registerTrainingKernels } from '../src/kernels';
import { compareBackends, randomInput, tf } from './helpers';

const TOL = 1e-4;

beforeAll(async () => {
  await activateWasm(1);
  registerTrainingKernels();
});

type Pad = 'same' | 'valid';
const convCases: Array<{
  k: number;
  s: 1 | 2;
  pad: Pad | number;
  h: number;
  w: number;
  n: number;
  ci?: number;
  co?: number;
}> = [];
for (const k of [1, 3, 7])
  for (const s of [1, 2] as const)
    for (const pad of ['same', 'valid'] as const) convCases.push({ k, s, pad, h: 9, w: 11, n: 1 });
convCases.push({ k: 3, s: 2, pad: 'same', h: 8, w: 8, n: 2 });
convCases.push({ k: 3, s: 2, pad: 'valid', h: 10, w: 7, n: 2 });
// PyTorch-style symmetric numeric padding, as the ResNet layers use (k3 p1, k7 s2 p3, k1 s2 p0).
convCases.push({ k: 3, s: 1, pad: 1, h: 9, w: 8, n: 2 });
convCases.push({ k: 3, s: 2, pad: 1, h: 9, w: 8, n: 2 });
convCases.push({ k: 7, s: 2, pad: 3, h: 11, w: 10, n: 1 });
convCases.push({ k: 1, s: 2, pad: 0, h: 8, w: 9, n: 2 });
// More input than output channels.
convCases.push({ k: 3, s: 1, pad: 1, h: 9, w: 7, n: 2, ci: 6, co: 4 });
convCases.push({ k: 3, s: 1, pad: 'valid', h: 8, w: 9, n: 1, ci: 6, co: 4 });
convCases.push({ k: 7, s: 1, pad: 'same', h: 9, w: 9, n: 1, ci: 6, co: 4 });

describe('conv2d kernels match cpu', () => {
  for (const c of convCases) {
    const ci = c.ci ?? 3;
    const co = c.co ?? 5;
    const name = `k${c.k} s${c.s} pad ${c.pad} ${c.n}x${c.h}x${c.w}x${ci}->${co}`;
    const xShape = [c.n, c.h, c.w, ci];
    const wShape = [c.k, c.k, ci, co];
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      wShape as [number, number, number, number],
      c.s,
      1,
      c.pad,
    );
    const dyShape = info.outShape;
    const seed = c.k * 100 + c.s * 10 + (c.pad === 'same' ? 1 : c.pad === 'valid' ? 0 : 2 + c.pad) + c.h;

    it(`Conv2D ${name}`, async () => {
      const err = await compareBackends([randomInput(xShape, seed), randomInput(wShape, seed + 1)], (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad),
      );
      expect(err).toBeLessThan(TOL);
    });

    it(`Conv2DBackpropInput ${name}`, async () => {
      const err = await compareBackends(
        [randomInput(dyShape, seed + 2), randomInput(wShape, seed + 1)],
        (dy, w) =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
            strides: [c.s, c.s],
            pad: c.pad,
            dataFormat: 'NHWC',
            dimRoundingMode: undefined,
            inputShape: xShape,
          } as never) as tf.Tensor,
      );
      expect(err).toBeLessThan(TOL);
    });

    it(`Conv2DBackpropFilter ${name}`, async () => {
      const err = await compareBackends(
        [randomInput(xShape, seed), randomInput(dyShape, seed + 2)],
        (x, dy) =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
            strides: [c.s, c.s],
            pad: c.pad,
            dataFormat: 'NHWC',
            dimRoundingMode: undefined,
            filterShape: wShape,
          } as never) as tf.Tensor,
      );
      expect(err).toBeLessThan(TOL);
    });
  }
});

describe('pooling kernels match cpu', () => {
  const cases: Array<{ k: number; s: number; pad: Pad; h: number; relu: boolean }> = [
    { k: 3, s: 2, pad: 'same', h: 9, relu: true },
    { k: 3, s: 2, pad: 'valid', h: 10, relu: false },
    { k: 2, s: 2, pad: 'valid', h: 8, relu: true },
    { k: 3, s: 1, pad: 'same', h: 7, relu: false },
  ];
  for (const c of cases) {
    it(`MaxPoolGrad k${c.k} s${c.s} ${c.pad} h${c.h}${c.relu ? ' after relu (zero windows)' : ''}`, async () => {
      const x = randomInput([2, c.h, c.h + 2, 4], c.h);
      if (c.relu) x.data.forEach((v, i) => (x.data[i] = v < 0.3 ? 0 : v)); // many all-zero windows
      const err = await compareBackends([x], (t) =>
        tf.grad((v: tf.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, c.k, c.s, c.pad), tf.range(1, 5))),
        )(t),
      );
      expect(err).toBeLessThan(TOL);
    });
  }
  it('AvgPoolGrad k3 s2 same', async () => {
    const err = await compareBackends([randomInput([2, 9, 9, 3], 5)], (t) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, 3, 2, 'same'), tf.range(1, 4))))(
        t,
      ),
    );
    expect(err).toBeLessThan(TOL);
  });
});

describe('BatchMatMul matches cpu', () => {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[7, 5], [5, 3], false, false],
    [[5, 7], [5, 3], true, false],
    [[7, 5], [3, 5], false, true],
    [[5, 7], [3, 5], true, true],
    [[4, 7, 5], [4, 5, 3], false, false],
    [[4, 5, 7], [4, 3, 5], true, true],
    [[4, 7, 5], [5, 3], false, false], // b broadcast over a's batch
    [[4, 5, 7], [5, 3], true, false],
    [[7, 5], [4, 5, 3], false, false], // a broadcast over b's batch
    [[1, 6], [6, 1], false, false],
  ];
  for (const [as, bs, ta, tb] of cases) {
    it(`${JSON.stringify(as)} x ${JSON.stringify(bs)} tA=${ta} tB=${tb}`, async () => {
      const err = await compareBackends(
        [randomInput(as, as.length * 7 + 1), randomInput(bs, bs.length * 3 + 2)],
        (a, b) => tf.matMul(a, b, ta, tb),
      );
      expect(err).toBeLessThan(TOL);
    });
  }
});

describe('BatchMatMul broadcasting both batches', () => {
  // cpu gets this wrong (its batch is max(batchA, batchB)), so the reference is a plain loop.
  it('[2,1,7,5] x [1,3,5,6] -> [2,3,7,6]', async () => {
    const a = randomInput([2, 1, 7, 5], 11);
    const b = randomInput([1, 3, 5, 6], 12);
    await tf.setBackend('wasm');
    const ta = tf.tensor(a.data, a.shape);
    const tb = tf.tensor(b.data, b.shape);
    const out = tf.matMul(ta, tb);
    expect(out.shape).toEqual([2, 3, 7, 6]);
    const got = out.dataSync();
    let err = 0;
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let r = 0; r < 7; r++)
          for (let c = 0; c < 6; c++) {
            let s = 0;
            for (let k = 0; k < 5; k++) s += a.data[(i * 7 + r) * 5 + k] * b.data[(j * 5 + k) * 6 + c];
            err = Math.max(err, Math.abs(got[((i * 3 + j) * 7 + r) * 6 + c] - s));
          }
    expect(err).toBeLessThan(1e-5);
    tf.dispose([ta, tb, out]);
  });
});

describe('Sum and Mean match cpu', () => {
  const shape = [4, 5, 6, 7];
  for (const axis of [0, 3, [0, 1, 2], [1, 2], [0, 2], [1, 3], [0, 1, 2, 3]]) {
    for (const keepDims of [false, true]) {
      it(`axis ${JSON.stringify(axis)} keepDims=${keepDims}`, async () => {
        const err = await compareBackends([randomInput(shape, 3)], (x) => [
          tf.sum(x, axis, keepDims),
          tf.mean(x, axis, keepDims),
        ]);
        expect(err).toBeLessThan(TOL);
      });
    }
  }
  it('is accurate over 2^18 values of one sign (float32 running sums drift here)', async () => {
    const x = randomInput([1 << 18, 2], 9);
    x.data.forEach((v, i) => (x.data[i] = 1 + 0.5 * v));
    const ref = new Float64Array(2);
    x.data.forEach((v, i) => (ref[i % 2] += v));
    const [s, m] = await (async () => {
      await tf.setBackend('wasm');
      const t = tf.tensor(x.data, x.shape);
      const out = [tf.sum(t, 0).dataSync(), tf.mean(t, 0).dataSync()];
      t.dispose();
      return out;
    })();
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(s[c] - ref[c]) / ref[c]).toBeLessThan(1e-7);
      expect(Math.abs(m[c] - ref[c] / (1 << 18)) / (ref[c] / (1 << 18))).toBeLessThan(1e-7);
    }
  });
  it('sums int32 and bool like cpu', async () => {
    await tf.setBackend('wasm');
    const i = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const b = tf.tensor1d([true, false, true], 'bool');
    const si = tf.sum(i, 1);
    const sb = tf.sum(b);
    expect(si.dtype).toBe('int32');
    expect(Array.from(si.dataSync())).toEqual([6, 15]);
    expect(sb.dtype).toBe('int32');
    expect(sb.dataSync()[0]).toBe(2);
    tf.dispose([i, b, si, sb]);
  });
});
