import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { SGD } from '../../src/optim';
import { disposeLossAndGrads, lossAndGrads, NonFiniteLossError, trainStep } from '../../src/train';
import { SeededRng } from '../../src/util/random';
import { FakeMethod } from './fakes';

function views(seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(seed);
  const make = () =>
    tf.tensor4d(
      Float32Array.from({ length: 2 * 5 * 5 * 3 }, () => rng.next()),
      [2, 5, 5, 3],
    );
  return [make(), make()];
}

const snapshot = (m: FakeMethod) => m.stateEntries().map((e) => Array.from(e.variable.dataSync()));

describe('trainStep', () => {
  it('updates with named gradients, calls the EMA update, and leaks no tensor', () => {
    const method = new FakeMethod();
    const opt = new SGD({ momentum: 0.9, weightDecay: 0 });
    const [v1, v2] = views(1);
    const counts: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const r = trainStep(method, opt, v1, v2, { lr: 0.1, momentum: 0.5 + i / 100 });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.loss).toBeCloseTo(r.terms.mse + r.terms.penalty, 5);
      counts.push(tf.memory().numTensors);
    }
    // Step 1 creates the momentum buffers; from then on the count must be flat.
    expect(counts[9]).toBe(counts[2]);
    expect(method.momenta).toEqual(Array.from({ length: 10 }, (_, i) => 0.5 + (i + 1) / 100));
    tf.dispose([v1, v2]);
    opt.dispose();
    method.dispose();
  });

  it('applies w - lr * g on the first SGD step, with the gradients of lossAndGrads', () => {
    const a = new FakeMethod({ seed: 3 });
    const b = new FakeMethod({ seed: 3 });
    const [v1, v2] = views(2);
    const r = lossAndGrads(a, v1, v2);
    expect([...r.grads.keys()].sort()).toEqual(['backbone.conv.weight', 'head.bias', 'head.weight']);
    expect(Object.keys(r.terms).sort()).toEqual(['mse', 'penalty']);
    expect(r.outputs.p1.shape).toEqual([2, 2]);
    const w0 = Array.from(b.w.dataSync());
    const g = Array.from(r.grads.get('head.weight')!.dataSync());
    const loss = r.loss.dataSync()[0];
    disposeLossAndGrads(r);
    const before = tf.memory().numTensors;
    const res = trainStep(b, new SGD({ momentum: 0.9, weightDecay: 0 }), v1, v2, {
      lr: 0.5,
      momentum: 0.9,
    });
    expect(res.loss).toBeCloseTo(loss, 6);
    const w1 = Array.from(b.w.dataSync());
    w1.forEach((w, i) => expect(w).toBeCloseTo(w0[i] - 0.5 * g[i], 6));
    // The optimizer keeps one momentum buffer per parameter (3); nothing else may remain.
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([v1, v2]);
    a.dispose();
    b.dispose();
  });

  it('throws before any update when the loss is NaN, naming the step', () => {
    const method = new FakeMethod({ nanAtCall: 2 });
    const opt = new SGD({ weightDecay: 0 });
    const [v1, v2] = views(4);
    trainStep(method, opt, v1, v2, { lr: 0.1, momentum: 0.9, step: 1 });
    const before = snapshot(method);
    const tensors = tf.memory().numTensors;
    let err: unknown;
    try {
      trainStep(method, opt, v1, v2, { lr: 0.1, momentum: 0.9, step: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/loss is NaN at step 2/);
    // The running-stat buffer moved inside computeLoss (as BN does); parameters and target did not.
    const after = snapshot(method);
    const names = method.stateEntries().map((e) => e.name);
    names.forEach((n, i) => {
      if (n !== 'running_mean') expect(after[i]).toEqual(before[i]);
    });
    expect(method.updates).toBe(1);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([v1, v2]);
    opt.dispose();
    method.dispose();
  });
});
