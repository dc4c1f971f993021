import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import {
  fromTorchData,
  fromTorchLayout,
  permute,
  tfShapeOf,
  toTorchLayout,
  torchShapeOf,
} from '../../src/io';

describe('PyTorch <-> tfjs layouts on hand-written arrays', () => {
  it('linear: torch (O=2, I=3) is the transpose of tfjs (I, O)', () => {
    const torch = [1, 2, 3, 4, 5, 6]; // [[1,2,3],[4,5,6]]
    const t = fromTorchData(torch, [2, 3], 'linear', 'fc.weight');
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('tokenwise: torch Conv1d (O=2, I=3, 1) <-> tfjs (I, O)', () => {
    const t = fromTorchData([1, 2, 3, 4, 5, 6], [2, 3, 1], 'tokenwise', 'neck.mlp.0.weight');
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('conv2d: torch (O=2, I=1, kh=1, kw=2) <-> tfjs (kh, kw, I, O)', () => {
    // torch w[o][0][0][x]: o0 -> [1, 2], o1 -> [3, 4]; tfjs w[0][x][0][o]: x0 -> [1, 3], x1 -> [2, 4].
    const t = fromTorchData([1, 2, 3, 4], [2, 1, 1, 2], 'conv2d');
    expect(t.shape).toEqual([1, 2, 1, 2]);
    expect(Array.from(t.data)).toEqual([1, 3, 2, 4]);
  });

  it('conv2d: every element lands where its (o, i, y, x) code says', () => {
    const [O, I, KH, KW] = [3, 2, 2, 3];
    const torch: number[] = [];
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) torch.push(1000 * o + 100 * i + 10 * y + x);
    const t = fromTorchData(torch, [O, I, KH, KW], 'conv2d');
    expect(t.shape).toEqual([KH, KW, I, O]);
    let k = 0;
    for (let y = 0; y < KH; y++)
      for (let x = 0; x < KW; x++)
        for (let i = 0; i < I; i++)
          for (let o = 0; o < O; o++) expect(t.data[k++]).toBe(1000 * o + 100 * i + 10 * y + x);
  });

  it('identity copies', () => {
    const src = [1, 2, 3];
    const t = fromTorchData(src, [3], 'identity');
    expect(t.shape).toEqual([3]);
    expect(Array.from(t.data)).toEqual(src);
  });

  it('permute matches tf.transpose on a rank-4 array', () => {
    const shape = [2, 3, 4, 5];
    const data = Float32Array.from({ length: 120 }, (_, i) => i);
    const perm = [3, 1, 0, 2];
    const expected = tf.tidy(() => tf.transpose(tf.tensor(data, shape), perm).dataSync());
    expect(Array.from(permute(data, shape, perm))).toEqual(Array.from(expected));
  });

  it('shape helpers map both ways', () => {
    expect(torchShapeOf([3, 3, 8, 16], 'conv2d')).toEqual([16, 8, 3, 3]);
    expect(tfShapeOf([16, 8, 3, 3], 'conv2d')).toEqual([3, 3, 8, 16]);
    expect(torchShapeOf([32, 16], 'tokenwise')).toEqual([16, 32, 1]);
    expect(tfShapeOf([16, 32, 1], 'tokenwise')).toEqual([32, 16]);
    expect(torchShapeOf([32, 16], 'linear')).toEqual([16, 32]);
    expect(torchShapeOf([5], 'identity')).toEqual([5]);
  });
});

describe('toTorchLayout / fromTorchLayout with tensors', () => {
  it('round-trips every layout without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const cases: Array<[Parameters<typeof fromTorchLayout>[2], number[]]> = [
      ['conv2d', [4, 3, 3, 2]],
      ['tokenwise', [5, 7, 1]],
      ['linear', [5, 7]],
      ['identity', [2, 3]],
    ];
    for (const [layout, shape] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const torch = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
      const t = fromTorchLayout(torch, shape, layout, 'w');
      expect(t.shape).toEqual(tfShapeOf(shape, layout));
      const back = toTorchLayout(t, layout, 'w');
      t.dispose();
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(torch));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a tfjs conv kernel reads back in torch order', () => {
    // tfjs (kh=1, kw=2, I=1, O=2) values [1, 3, 2, 4] are torch [[[[1, 2]]], [[[3, 4]]]].
    const k = tf.tensor4d([1, 3, 2, 4], [1, 2, 1, 2]);
    const t = toTorchLayout(k, 'conv2d');
    k.dispose();
    expect(t.shape).toEqual([2, 1, 1, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
  });

  it('makes int32 tensors when asked', () => {
    const t = fromTorchLayout([3], [1], 'identity', 'num_batches_tracked', 'int32');
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([3]);
    t.dispose();
  });

  it('shape errors name the tensor', () => {
    const x = tf.zeros([2, 3, 4]);
    expect(() => toTorchLayout(x, 'conv2d', 'backbone.conv1.weight')).toThrow(
      /'backbone.conv1.weight': layout conv2d expects a rank-4 tfjs tensor, got shape \[2, 3, 4\]/,
    );
    expect(() => toTorchLayout(x, 'linear', 'fc.weight')).toThrow(
      /'fc.weight': layout linear expects a rank-2/,
    );
    x.dispose();
    expect(() => fromTorchLayout([0, 0], [2, 1, 1], 'conv2d', 'c.weight')).toThrow(
      /'c.weight': layout conv2d expects a rank-4 PyTorch tensor, got shape \[2, 1, 1\]/,
    );
    expect(() => fromTorchLayout(new Float32Array(12), [2, 3, 2], 'tokenwise', 'neck.mlp.0.weight')).toThrow(
      /'neck.mlp.0.weight': layout tokenwise expects PyTorch shape \(O, I, 1\), got \[2, 3, 2\]/,
    );
    expect(() => fromTorchLayout([1, 2, 3], [2, 2], 'linear', 'fc.weight')).toThrow(
      /'fc.weight': 3 values do not fill shape \[2, 2\] \(4 values\)/,
    );
  });
});
