import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import {
  BatchNorm,
  Conv2d,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  Linear,
  MaxPool2d,
  normalizeL2,
  stopGradient,
} from '../../src/nn';
import { SeededRng } from '../../src/util/random';

const EPS = 1e-5;
const values = (t: tf.Tensor) => Array.from(t.dataSync());
const expectClose = (actual: ArrayLike<number>, expected: number[], digits = 5) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Two channels, four values each. Call 1: ch0 [1,2,3,4] (mean 2.5, biased var 1.25, unbiased 5/3),
// ch1 [0,0,4,4] (mean 2, biased var 4, unbiased 16/3). Call 2: ch0 [2,4,6,8] (mean 5, biased 5,
// unbiased 20/3), ch1 [1,1,1,1] (mean 1, var 0).
const CALL1 = [
  [1, 0],
  [2, 0],
  [3, 4],
  [4, 4],
];
const CALL2 = [
  [2, 1],
  [4, 1],
  [6, 1],
  [8, 1],
];
const GAMMA = [2, 0.5];
const BETA = [1, -1];
// running_mean: 0.9 * 0 + 0.1 * mean; running_var: 0.9 * 1 + 0.1 * unbiased.
const RM1 = [0.25, 0.2];
const RV1 = [0.9 + 0.1 * (5 / 3), 0.9 + 0.1 * (16 / 3)];
const RM2 = [0.9 * 0.25 + 0.1 * 5, 0.9 * 0.2 + 0.1 * 1];
const RV2 = [0.9 * RV1[0] + 0.1 * (20 / 3), 0.9 * RV1[1] + 0.1 * 0];
const EXPECTED_Y1 = CALL1.flatMap(([a, b]) => [
  ((a - 2.5) / Math.sqrt(1.25 + EPS)) * 2 + 1,
  ((b - 2) / Math.sqrt(4 + EPS)) * 0.5 - 1,
]);
// Zero variance: the output is beta exactly (centered values are 0).
const EXPECTED_Y2 = CALL2.flatMap(([a]) => [((a - 5) / Math.sqrt(5 + EPS)) * 2 + 1, -1]);

/** An input and an upstream gradient of `shape`, standard normal from one seeded stream. */
function normalPair(shape: number[], seed: number): [tf.Tensor, tf.Tensor] {
  const rng = new SeededRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
  const dy = tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
  return [x, dy];
}

function makeBn(): BatchNorm {
  const bn = new BatchNorm(2);
  bn.weight.assign(tf.tensor1d(GAMMA));
  bn.bias.assign(tf.tensor1d(BETA));
  return bn;
}

describe('BatchNorm (PyTorch semantics)', () => {
  it('has torch defaults and names: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0', () => {
    const bn = new BatchNorm(3);
    expect(bn.stateEntries().map((e) => [e.name, e.kind, e.torchDtype ?? 'float32'])).toEqual([
      ['weight', 'parameter', 'float32'],
      ['bias', 'parameter', 'float32'],
      ['running_mean', 'buffer', 'float32'],
      ['running_var', 'buffer', 'float32'],
      ['num_batches_tracked', 'buffer', 'int64'],
    ]);
    expect(bn.numBatchesTracked.shape).toEqual([]);
    expect(values(bn.numBatchesTracked)).toEqual([0]);
    expect(bn.eps).toBe(1e-5);
    expect(bn.momentum).toBe(0.1);
    expect(values(bn.weight)).toEqual([1, 1, 1]);
    expect(values(bn.runningVar)).toEqual([1, 1, 1]);
    bn.dispose();
  });

  it('BN1d [N, C]: normalises with the biased variance, folds the unbiased one into running_var', () => {
    const bn = makeBn();
    const y1 = tf.tidy(() => bn.forward(tf.tensor2d(CALL1)));
    expectClose(values(y1), EXPECTED_Y1);
    expectClose(values(bn.runningMean), RM1, 6);
    expectClose(values(bn.runningVar), RV1, 6);
    const y2 = tf.tidy(() => bn.forward(tf.tensor2d(CALL2)));
    expectClose(values(y2), EXPECTED_Y2);
    expectClose(values(bn.runningMean), RM2, 6);
    expectClose(values(bn.runningVar), RV2, 6);
    // torch counts every training forward.
    expect(values(bn.numBatchesTracked)).toEqual([2]);
    tf.dispose([y1, y2]);
    bn.dispose();
  });

  it('BN2d on NHWC: statistics over N, H and W per channel (last axis)', () => {
    // The same 4 values per channel spread over N=2, H=1, W=2.
    const bn = makeBn();
    const nhwc = (rows: number[][]) => tf.tensor4d(rows.flat(), [2, 1, 2, 2]);
    const y1 = tf.tidy(() => bn.forward(nhwc(CALL1)));
    expect(y1.shape).toEqual([2, 1, 2, 2]);
    expectClose(values(y1), EXPECTED_Y1);
    tf.tidy(() => bn.forward(nhwc(CALL2)));
    expectClose(values(bn.runningMean), RM2, 6);
    expectClose(values(bn.runningVar), RV2, 6);
    y1.dispose();
    bn.dispose();
  });

  it('eval mode normalises with the running statistics and leaves them unchanged', () => {
    const bn = makeBn();
    tf.tidy(() => bn.forward(tf.tensor2d(CALL1)));
    tf.tidy(() => bn.forward(tf.tensor2d(CALL2)));
    bn.eval();
    const x = [
      [3, -2],
      [0, 10],
    ];
    const y = tf.tidy(() => bn.forward(tf.tensor2d(x)));
    const expected = x.flatMap((row) =>
      row.map((v, c) => ((v - RM2[c]) / Math.sqrt(RV2[c] + EPS)) * GAMMA[c] + BETA[c]),
    );
    expectClose(values(y), expected);
    expectClose(values(bn.runningMean), RM2, 6);
    expectClose(values(bn.runningVar), RV2, 6);
    // Eval forwards are not counted.
    expect(values(bn.numBatchesTracked)).toEqual([2]);
    // A single value per channel is fine in eval (PyTorch raises only in training).
    const one = tf.tidy(() => bn.forward(tf.tensor2d([[1, 1]])));
    expect(one.shape).toEqual([1, 2]);
    tf.dispose([y, one]);
    bn.dispose();
  });

  it('training with one value per channel is an error, as in PyTorch', () => {
    const bn = new BatchNorm(2);
    const x = tf.tensor2d([[1, 2]]);
    expect(() => bn.forward(x)).toThrow(/more than 1 value per channel/);
    x.dispose();
    bn.dispose();
  });

  it('gradient flows to weight and bias but not through the running statistics', () => {
    const bn = makeBn();
    const x = tf.tensor2d(CALL1);
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.mul(bn.forward(x), tf.tensor2d(CALL2))) as tf.Scalar,
    );
    // d/dbeta of sum(y * g) = column sums of g; d/dgamma = sum(xhat * g).
    expectClose(values(grads[bn.bias.name]), [20, 4]);
    const xhat0 = [1, 2, 3, 4].map((a) => (a - 2.5) / Math.sqrt(1.25 + EPS));
    const xhat1 = [0, 0, 4, 4].map((b) => (b - 2) / Math.sqrt(4 + EPS));
    expectClose(values(grads[bn.weight.name]), [
      xhat0.reduce((s, v, i) => s + v * CALL2[i][0], 0),
      xhat1.reduce((s, v, i) => s + v * CALL2[i][1], 0),
    ]);
    expect(grads[bn.runningMean.name]).toBeUndefined();
    tf.dispose([x, value, ...Object.values(grads)]);
    bn.dispose();
  });
});

describe('BatchNorm({ affine: false }) (PyTorch BatchNorm1d(affine=False))', () => {
  it('holds running_mean, running_var and num_batches_tracked only, no parameters', () => {
    const bn = new BatchNorm(3, { affine: false });
    // PyTorch's state_dict of BatchNorm1d(3, affine=False) has exactly these three buffers.
    expect(bn.stateEntries().map((e) => [e.name, e.kind])).toEqual([
      ['running_mean', 'buffer'],
      ['running_var', 'buffer'],
      ['num_batches_tracked', 'buffer'],
    ]);
    expect(bn.weight).toBeUndefined();
    expect(bn.bias).toBeUndefined();
    expect(bn.affine).toBe(false);
    bn.dispose();
  });

  it('training: y = (x - mean) / sqrt(biased var + eps); the running statistics as with affine', () => {
    const bn = new BatchNorm(2, { affine: false });
    const y = tf.tidy(() => bn.forward(tf.tensor2d(CALL1)));
    const expected = CALL1.flatMap(([a, b]) => [
      (a - 2.5) / Math.sqrt(1.25 + EPS),
      (b - 2) / Math.sqrt(4 + EPS),
    ]);
    expectClose(values(y), expected);
    expectClose(values(bn.runningMean), RM1, 6);
    expectClose(values(bn.runningVar), RV1, 6);
    bn.eval();
    const e = tf.tidy(() => bn.forward(tf.tensor2d([[3, -2]])));
    expectClose(values(e), [(3 - RM1[0]) / Math.sqrt(RV1[0] + EPS), (-2 - RM1[1]) / Math.sqrt(RV1[1] + EPS)]);
    tf.dispose([y, e]);
    bn.dispose();
  });

  it('its input gradient is that of the plain normalisation; nothing is left behind', () => {
    const bn = new BatchNorm(2, { affine: false });
    const x = tf.tensor2d(CALL1);
    const dy = tf.tensor2d(CALL2);
    const before = tf.memory().numTensors;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bn.forward(t), dy)))(x);
    const plain = (t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, 0);
      return tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, EPS)));
    };
    const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(plain(t), dy)))(x);
    expectClose(values(g), values(gRef), 5);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([g, gRef]);
    bn.dispose();
    // Its three buffers and the two constants (scale 1, shift 0) it keeps for the training kernel go with it.
    expect(tf.memory().numTensors).toBe(before - 3 - 2);
    tf.dispose([x, dy]);
  });
});

describe('stopGradient', () => {
  it('is the identity forward, and no gradient passes back through it', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const y = stopGradient(x);
    expect(values(y)).toEqual([1, -2, 3]);
    // d/dx of x * sg(x): sg(x) only (the stopped side contributes nothing).
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, stopGradient(t))))(x);
    expect(values(g)).toEqual([1, -2, 3]);
    const none = tf.grad((t: tf.Tensor) => tf.sum(tf.square(stopGradient(t))))(x);
    expect(values(none)).toEqual([0, 0, 0]);
    tf.dispose([x, y, g, none]);
  });
});

describe('Conv2d', () => {
  // x[i][j] = 4i + j + 1 (1..16) on one 4x4 channel.
  const x4 = () =>
    tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );

  it('padding 1, stride 2 pads symmetrically like PyTorch (not TF "same")', () => {
    const conv = new Conv2d(1, 1, 3, 2, 1, { rng: new SeededRng(0) });
    // Kernel: centre tap 1, bottom-right tap 10 (HWIO). Output (i, j) = x[2i][2j] + 10 x[2i+1][2j+1].
    const k = new Float32Array(9);
    k[4] = 1;
    k[8] = 10;
    conv.weight.assign(tf.tensor4d(k, [3, 3, 1, 1]));
    const y = tf.tidy(() => conv.forward(x4()));
    expect(y.shape).toEqual([1, 2, 2, 1]);
    // TF 'same' would pad 0 top/left and 1 bottom/right: 6 + 10*11 = 116 at (0,0).
    expect(values(y)).toEqual([1 + 10 * 6, 3 + 10 * 8, 9 + 10 * 14, 11 + 10 * 16]);
    y.dispose();
    conv.dispose();
  });

  it('all-ones 3x3 kernel, padding 1, stride 2: window sums with zero padding', () => {
    const conv = new Conv2d(1, 1, 3, 2, 1, { rng: new SeededRng(0) });
    conv.weight.assign(tf.ones([3, 3, 1, 1]));
    const y = tf.tidy(() => conv.forward(x4()));
    // (0,0): rows 0-1, cols 0-1; (0,1): rows 0-1, cols 1-3; (1,0): rows 1-3, cols 0-1; (1,1): rows 1-3, cols 1-3.
    expect(values(y)).toEqual([1 + 2 + 5 + 6, 2 + 3 + 4 + 6 + 7 + 8, 5 + 6 + 9 + 10 + 13 + 14, 99]);
    y.dispose();
    conv.dispose();
  });

  it('weight is HWIO with PyTorch conv2d layout, bias adds per output channel', () => {
    const conv = new Conv2d(2, 3, 1, 1, 0, { rng: new SeededRng(1), bias: true });
    expect(conv.stateEntries().map((e) => [e.name, e.layout, e.variable.shape])).toEqual([
      ['weight', 'conv2d', [1, 1, 2, 3]],
      ['bias', 'identity', [3]],
    ]);
    // W[i][o]: in 0 -> [1, 2, 3], in 1 -> [10, 20, 30]; bias [0.5, 0, -1].
    conv.weight.assign(tf.tensor4d([1, 2, 3, 10, 20, 30], [1, 1, 2, 3]));
    conv.bias!.assign(tf.tensor1d([0.5, 0, -1]));
    const y = tf.tidy(() => conv.forward(tf.tensor4d([1, 2, -1, 0.5], [1, 1, 2, 2])));
    // pixel (1, 2): [21.5, 42, 62]; pixel (-1, 0.5): [4.5, 8, 11].
    expect(values(y)).toEqual([21.5, 42, 62, 4.5, 8, 11]);
    y.dispose();
    conv.dispose();
  });

  it('kaiming_normal fan_out init: std sqrt(2 / (out * k * k))', () => {
    const conv = new Conv2d(16, 32, 3, 1, 1, { rng: new SeededRng(5) });
    const w = values(conv.weight);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(Math.sqrt(2 / 288) * 0.95);
    expect(std).toBeLessThan(Math.sqrt(2 / 288) * 1.05);
    conv.dispose();
  });
});

describe('Linear', () => {
  it('y = x W + b with tfjs weight (in, out), PyTorch layout "linear"', () => {
    const lin = new Linear(3, 2, { rng: new SeededRng(0) });
    expect(lin.stateEntries().map((e) => [e.name, e.layout, e.variable.shape])).toEqual([
      ['weight', 'linear', [3, 2]],
      ['bias', 'identity', [2]],
    ]);
    lin.weight.assign(
      tf.tensor2d([
        [1, 0],
        [0, 1],
        [2, -1],
      ]),
    );
    lin.bias!.assign(tf.tensor1d([0.5, -0.5]));
    const y = tf.tidy(() =>
      lin.forward(
        tf.tensor2d([
          [1, 2, 3],
          [-1, 0, 1],
        ]),
      ),
    );
    expect(y.shape).toEqual([2, 2]);
    expect(values(y)).toEqual([1 + 6 + 0.5, 2 - 3 - 0.5, -1 + 2 + 0.5, -1 - 0.5]);
    // Rank 3: applied per token, leading axes kept.
    const y3 = tf.tidy(() => lin.forward(tf.tensor3d([1, 2, 3, -1, 0, 1], [1, 2, 3])));
    expect(y3.shape).toEqual([1, 2, 2]);
    expect(values(y3)).toEqual(values(y));
    tf.dispose([y, y3]);
    lin.dispose();
  });

  it('bias: false has no bias; tokenwise layout for 1x1 Conv1d heads; torch default init bound', () => {
    const lin = new Linear(64, 8, { rng: new SeededRng(2), bias: false, layout: 'tokenwise' });
    expect(lin.stateEntries().map((e) => [e.name, e.layout])).toEqual([['weight', 'tokenwise']]);
    const w = values(lin.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 / 8);
    lin.dispose();
  });
});

describe('MaxPool2d', () => {
  it('(3, 2, 1) on negative inputs: padding never wins (PyTorch pads with -inf)', () => {
    const pool = new MaxPool2d(3, 2, 1);
    // x[i][j] = -(4i + j + 1).
    const y = tf.tidy(() =>
      pool.forward(
        tf.tensor4d(
          Array.from({ length: 16 }, (_, i) => -(i + 1)),
          [1, 4, 4, 1],
        ),
      ),
    );
    expect(y.shape).toEqual([1, 2, 2, 1]);
    // Windows: rows 0-1 x cols 0-1 -> -1; rows 0-1 x cols 1-3 -> -2; rows 1-3 x cols 0-1 -> -5; rows 1-3 x cols 1-3 -> -6.
    expect(values(y)).toEqual([-1, -2, -5, -6]);
    y.dispose();
  });

  it('output size floor((H + 2p - k) / s) + 1 for odd sizes, per channel', () => {
    const pool = new MaxPool2d(3, 2, 1);
    const y = tf.tidy(() => pool.forward(tf.fill([2, 7, 5, 3], -3) as tf.Tensor4D));
    expect(y.shape).toEqual([2, 4, 3, 3]);
    expect(new Set(values(y))).toEqual(new Set([-3]));
    y.dispose();
  });
});

/**
 * A backend's L2_NORMALIZE pair, written out on the cpu backend's arrays (rows of `inner` values
 * strided by `inner`: the layout of axis `axis`), to check that normalizeL2 dispatches to it and
 * wires its outputs and gradient as the op chain does.
 */
function registerCpuL2Kernels(): () => void {
  type Cpu = {
    readSync(id: unknown): Float32Array;
    makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo;
  };
  const layout = (shape: number[], axis: number) => {
    const n = shape[axis];
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return { n, inner, outer, normShape: shape.map((d, i) => (i === axis ? 1 : d)) };
  };
  tf.registerKernel({
    kernelName: L2_NORMALIZE,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as Cpu;
      const { x } = inputs as { x: tf.TensorInfo };
      const { axis, eps } = attrs as unknown as { axis: number; eps: number };
      const xv = b.readSync(x.dataId);
      const { n, inner, outer, normShape } = layout(x.shape, axis);
      const y = new Float32Array(xv.length);
      const norm = new Float32Array(outer * inner);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += xv[(o * n + k) * inner + i] ** 2;
          const r = Math.sqrt(s);
          norm[o * inner + i] = r;
          for (let k = 0; k < n; k++)
            y[(o * n + k) * inner + i] = xv[(o * n + k) * inner + i] / Math.max(r, eps);
        }
      return [b.makeTensorInfo(x.shape, 'float32', y), b.makeTensorInfo(normShape, 'float32', norm)];
    },
  });
  tf.registerKernel({
    kernelName: L2_NORMALIZE_GRAD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as Cpu;
      const t = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo; norm: tf.TensorInfo };
      const { axis, eps } = attrs as unknown as { axis: number; eps: number };
      const [dy, y, norm] = [b.readSync(t.dy.dataId), b.readSync(t.y.dataId), b.readSync(t.norm.dataId)];
      const { n, inner, outer } = layout(t.dy.shape, axis);
      const dx = new Float32Array(dy.length);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const r = norm[o * inner + i];
          let s = 0;
          for (let k = 0; k < n; k++) s += dy[(o * n + k) * inner + i] * y[(o * n + k) * inner + i];
          if (r < eps) s = 0;
          for (let k = 0; k < n; k++) {
            const j = (o * n + k) * inner + i;
            dx[j] = (dy[j] - y[j] * s) / Math.max(r, eps);
          }
        }
      return b.makeTensorInfo(t.dy.shape, 'float32', dx);
    },
  });
  return () => {
    tf.unregisterKernel(L2_NORMALIZE, 'cpu');
    tf.unregisterKernel(L2_NORMALIZE_GRAD, 'cpu');
  };
}

describe('normalizeL2 through a backend kernel (L2_NORMALIZE)', () => {
  for (const [shape, axis] of [
    [[5, 7], 1],
    [[3, 4, 6], 1],
    [[6, 3], 0],
  ] as Array<[number[], number]>) {
    it(`equals the op chain, value and gradient, shape [${shape}] axis ${axis}`, async () => {
      const [x, dy] = normalPair(shape, shape.length * 7 + axis);
      const run = () => {
        const y = normalizeL2(x, axis);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(normalizeL2(t, axis), dy)))(x);
        const out = [values(y), values(g)];
        tf.dispose([y, g]);
        return out;
      };
      const [yChain, gChain] = run();
      const unregister = registerCpuL2Kernels();
      try {
        const before = tf.memory().numTensors;
        const profile = await tf.profile(() => {
          run();
        });
        const kernels = profile.kernels.map((k) => k.name);
        expect(kernels).toContain(L2_NORMALIZE);
        expect(kernels).toContain(L2_NORMALIZE_GRAD);
        expect(kernels).not.toContain('Sqrt');
        const [yKernel, gKernel] = run();
        expect(tf.memory().numTensors).toBe(before);
        expectClose(yKernel, yChain, 6);
        expectClose(gKernel, gChain, 6);
      } finally {
        unregister();
      }
      tf.dispose([x, dy]);
    });
  }
});

describe('normalizeL2 (F.normalize with a hand-written backward)', () => {
  const reference = (x: tf.Tensor, axis: number, eps = 1e-12) =>
    tf.div(x, tf.maximum(tf.norm(x, 'euclidean', axis, true), eps));

  for (const [shape, axis] of [
    [[5, 7], 1],
    [[3, 4, 6], 2],
    [[6, 3], 0],
    [[1, 9], -1],
  ] as Array<[number[], number]>) {
    it(`matches x / max(||x||, eps) and its autodiff gradient, shape [${shape}] axis ${axis}`, () => {
      const [x, dy] = normalPair(shape, shape.length * 10 + axis);
      const y = normalizeL2(x, axis);
      const yRef = reference(x, axis);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(normalizeL2(t, axis), dy)))(x);
      const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t, axis), dy)))(x);
      expectClose(values(y), values(yRef), 6);
      expectClose(values(g), values(gRef), 5);
      tf.dispose([x, dy, y, yRef, g, gRef]);
    });
  }

  it('below eps it is x / eps with gradient dy / eps (rows of zeros and tiny rows)', () => {
    const x = tf.tensor2d([
      [0, 0, 0],
      [1e-13, 0, 0],
      [3, 4, 0],
    ]);
    const dy = tf.tensor2d([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    const y = normalizeL2(x, 1);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(normalizeL2(t, 1), dy)))(x);
    const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t, 1), dy)))(x);
    expectClose(values(y), [0, 0, 0, 0.1, 0, 0, 0.6, 0.8, 0], 6);
    // A zero row gets dy / eps as in PyTorch (tf.norm's autodiff gives NaN there: sqrt'(0)).
    expectClose(
      values(g)
        .slice(0, 3)
        .map((v) => v / 1e12),
      [1, 2, 3],
      6,
    );
    expect(values(g).slice(3, 6)).toEqual(values(gRef).slice(3, 6));
    expectClose(values(g).slice(6), values(gRef).slice(6), 6);
    tf.dispose([x, dy, y, g, gRef]);
  });
});
