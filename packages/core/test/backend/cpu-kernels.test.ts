import { describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';

/** Reference dW by the definition, in plain loops (NHWC, HWIO). */
function referenceFilterGrad(
  x: Float32Array,
  [n, h, w, ci]: number[],
  dy: Float32Array,
  [, ho, wo, co]: number[],
  [kh, kw]: number[],
  stride: number,
  pt: number,
  pl: number,
): Float32Array {
  const out = new Float32Array(kh * kw * ci * co);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let bn = 0; bn < n; bn++)
            for (let y = 0; y < ho; y++)
              for (let xx = 0; xx < wo; xx++) {
                const iy = y * stride + a - pt;
                const ix = xx * stride + b - pl;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                s += x[((bn * h + iy) * w + ix) * ci + i] * dy[((bn * ho + y) * wo + xx) * co + o];
              }
          out[((a * kw + b) * ci + i) * co + o] = s;
        }
  return out;
}

describe('cpu Conv2DBackpropFilter via one Conv2D', () => {
  const cases: Array<{ k: number; s: number; pad: 'same' | 'valid' | number; h: number }> = [
    { k: 3, s: 1, pad: 1, h: 7 },
    { k: 3, s: 2, pad: 1, h: 8 },
    { k: 3, s: 2, pad: 1, h: 7 },
    { k: 1, s: 2, pad: 'valid', h: 9 },
    { k: 7, s: 2, pad: 3, h: 11 },
    { k: 3, s: 2, pad: 'same', h: 8 },
    { k: 3, s: 1, pad: 'valid', h: 5 },
  ];
  for (const c of cases) {
    it(`kernel ${c.k}, stride ${c.s}, pad ${c.pad}, ${c.h}x${c.h}`, async () => {
      await tf.setBackend('cpu');
      const [n, ci, co] = [2, 3, 4];
      const x = tf.randomNormal([n, c.h, c.h, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([c.k, c.k, ci, co], 0, 1, 'float32', 2) as tf.Tensor4D;
      const y = tf.conv2d(x, w, c.s as 1, c.pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
      // d/dW of sum(conv(x, W) * dy) is exactly Conv2DBackpropFilter(x, dy).
      const dw = tf.grad((wv) => tf.sum(tf.mul(tf.conv2d(x, wv as tf.Tensor4D, c.s as 1, c.pad), dy)))(w);
      const info = tf.backend_util.computeConv2DInfo(x.shape, w.shape, c.s, 1, c.pad);
      const expected = referenceFilterGrad(
        x.dataSync() as Float32Array,
        x.shape,
        dy.dataSync() as Float32Array,
        dy.shape,
        [c.k, c.k],
        c.s,
        info.padInfo.top,
        info.padInfo.left,
      );
      const got = dw.dataSync();
      let maxErr = 0;
      let maxRef = 0;
      for (let i = 0; i < expected.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - expected[i]));
        maxRef = Math.max(maxRef, Math.abs(expected[i]));
      }
      expect(maxErr / maxRef).toBeLessThan(1e-5);
      tf.dispose([x, w, y, dy, dw]);
    });
  }
});
