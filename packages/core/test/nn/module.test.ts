import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { BatchNorm, Module, ResNet, TokenwiseMLP } from '../../src/nn';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tiny = () => new ResNet({ block: 'basic', blocks: [1, 1], widths: [4, 8], stem: 'cifar', seed: 1 });

describe('TokenwiseMLP', () => {
  it('BN form (BYOL): mlp.0.weight, mlp.1.*, mlp.3.weight, no biases on the linears', () => {
    const head = new TokenwiseMLP({ inDim: 8, hiddenDim: 16, outDim: 4, batchNorm: true, seed: 0 });
    expect(head.stateEntries().map((e) => [e.name, e.layout, e.variable.shape])).toEqual([
      ['mlp.0.weight', 'tokenwise', [8, 16]],
      ['mlp.1.weight', 'identity', [16]],
      ['mlp.1.bias', 'identity', [16]],
      ['mlp.1.running_mean', 'identity', [16]],
      ['mlp.1.running_var', 'identity', [16]],
      ['mlp.1.num_batches_tracked', 'identity', []],
      ['mlp.3.weight', 'tokenwise', [16, 4]],
    ]);
    expect(head.parameterCount()).toBe(8 * 16 + 2 * 16 + 16 * 4);
    head.dispose();
  });

  it('MoCo form: mlp.0.{weight,bias}, mlp.2.{weight,bias}', () => {
    const head = new TokenwiseMLP({ inDim: 8, hiddenDim: 16, outDim: 4, batchNorm: false, seed: 0 });
    expect(head.stateEntries().map((e) => e.name)).toEqual([
      'mlp.0.weight',
      'mlp.0.bias',
      'mlp.2.weight',
      'mlp.2.bias',
    ]);
    head.dispose();
  });

  it('maps [B, T, C] -> [B, T, D]; one BN spans all B*T tokens (same as the flat [B*T, C] call)', () => {
    const a = new TokenwiseMLP({ inDim: 3, hiddenDim: 5, outDim: 2, batchNorm: true, seed: 4 });
    const b = new TokenwiseMLP({ inDim: 3, hiddenDim: 5, outDim: 2, batchNorm: true, seed: 4 });
    const data = Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i));
    const y3 = tf.tidy(() => a.forward(tf.tensor3d(data, [2, 4, 3])));
    const y2 = tf.tidy(() => b.forward2d(tf.tensor2d(data, [8, 3])));
    expect(y3.shape).toEqual([2, 4, 2]);
    const v3 = y3.dataSync();
    y2.dataSync().forEach((v, i) => expect(v3[i]).toBeCloseTo(v, 6));
    // Running stats saw the same 8 tokens.
    const rm = (h: TokenwiseMLP) => Array.from(h.namedBuffers()[0].variable.dataSync());
    expect(rm(a)).toEqual(rm(b));
    const wrong = tf.zeros([1, 2, 4]) as tf.Tensor3D;
    expect(() => a.forward(wrong)).toThrow(/expects 3 channels per token, got 4/);
    tf.dispose([y3, y2, wrong]);
    a.dispose();
    b.dispose();
  });
});

describe('Module', () => {
  it('train()/eval() propagate to every submodule; eval forward leaves running stats alone', () => {
    const net = tiny();
    const modes = () => net.namedModules().map(([, m]) => m.isTraining);
    expect(net.namedModules().length).toBeGreaterThan(10);
    expect(new Set(modes())).toEqual(new Set([true]));
    net.eval();
    expect(new Set(modes())).toEqual(new Set([false]));
    const bns = net.namedModules().filter(([, m]) => m instanceof BatchNorm);
    const snap = () => bns.map(([, m]) => Array.from((m as BatchNorm).runningMean.dataSync()));
    const before = snap();
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    tf.tidy(() => net.forward(x));
    expect(snap()).toEqual(before);
    net.train();
    expect(new Set(modes())).toEqual(new Set([true]));
    tf.tidy(() => net.forward(x));
    expect(snap()).not.toEqual(before);
    // train(false) is eval().
    net.train(false);
    expect(new Set(modes())).toEqual(new Set([false]));
    x.dispose();
    net.dispose();
  });

  it('dispose frees every variable: tf.memory().numTensors returns to baseline', () => {
    const baseline = tf.memory().numTensors;
    const net = tiny();
    const head = new TokenwiseMLP({ inDim: 8, hiddenDim: 16, outDim: 4, batchNorm: true, seed: 0 });
    const entries = net.stateEntries().length + head.stateEntries().length;
    expect(tf.memory().numTensors).toBe(baseline + entries);
    // Training forwards (which update running stats) leak nothing inside tidy.
    tf.tidy(() => {
      const f = net.forward(tf.ones([2, 8, 8, 3]) as tf.Tensor4D);
      const [b, h, w, c] = f.shape;
      return head.forward(tf.reshape(f, [b, h * w, c]) as tf.Tensor3D);
    }).dispose();
    expect(tf.memory().numTensors).toBe(baseline + entries);
    net.dispose();
    head.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('copyFrom copies values by name and rejects a different structure', () => {
    const a = tiny();
    const b = new ResNet({ block: 'basic', blocks: [1, 1], widths: [4, 8], stem: 'cifar', seed: 2 });
    const w = (m: Module) => Array.from(m.stateEntries()[0].variable.dataSync());
    expect(w(b)).not.toEqual(w(a));
    b.copyFrom(a);
    expect(w(b)).toEqual(w(a));
    const c = new ResNet({ block: 'basic', blocks: [1, 2], widths: [4, 8], stem: 'cifar', seed: 2 });
    expect(() => c.copyFrom(a)).toThrow(/copyFrom/);
    [a, b, c].forEach((m) => m.dispose());
  });
});
