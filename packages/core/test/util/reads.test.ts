/**
 * Host reads written once, run with dataSync or with `await data()`: both drivers give the same
 * results, dispose what they made when a read fails, and the async entry points of the
 * training, checkpoint, parity and evaluation paths equal their synchronous twins on cpu.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The index first: it loads reflect-metadata, which the plugins' tsyringe needs.
import {
  exportStateDict,
  exportStateDictAsync,
  knnPredict,
  knnPredictAsync,
  linearProbe,
  linearProbeAsync,
  parseParityFixture,
  readsAsync,
  readsSync,
  runParity,
  runParityAsync,
  SeededRng,
  SGD,
  tf,
  trainStep,
  trainStepAsync,
  type FeatureSet,
  type HostReads,
} from '../../src';
import { FakeMethod } from '../train/fakes';
import { byolPlugin } from '@selfsup/plugin-byol';
import { lewelPlugin } from '@selfsup/plugin-lewel';

function views(seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(seed);
  const make = () =>
    tf.tensor4d(
      Float32Array.from({ length: 2 * 5 * 5 * 3 }, () => rng.next()),
      [2, 5, 5, 3],
    );
  return [make(), make()];
}

function features(n: number, dim: number, seed: number, classes: number): FeatureSet {
  const rng = new SeededRng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const f = Float32Array.from(
    { length: n * dim },
    (_, i) => rng.normal() + (labels[Math.floor(i / dim)] === i % dim ? 2 : 0),
  );
  return { features: f, dim, labels };
}

describe('readsSync / readsAsync', () => {
  function* sumOfSquares(x: tf.Tensor): HostReads<number> {
    const sq = tf.square(x);
    const twice = tf.mul(sq, 2);
    try {
      const [a, b] = yield [sq, twice];
      return Array.from(a).reduce((s, v) => s + v, 0) + b[0];
    } finally {
      tf.dispose([sq, twice]);
    }
  }

  it('give the same values, reading every yielded tensor in order', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    expect(readsSync(sumOfSquares(x))).toBe(14 + 2);
    expect(await readsAsync(sumOfSquares(x))).toBe(14 + 2);
    x.dispose();
  });

  it('throw a failed read into the computation, whose finally blocks still dispose', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const spy = { calls: 0 };
    const failing = (t: tf.Tensor) => {
      spy.calls++;
      return Object.assign(Object.create(Object.getPrototypeOf(t)), t, {
        dataSync: () => {
          throw new Error('no sync read here');
        },
        data: () => Promise.reject(new Error('no async read here')),
      }) as tf.Tensor;
    };
    function* reads(): HostReads<number> {
      const sq = tf.square(x);
      try {
        const [v] = yield [failing(sq)];
        return v[0];
      } finally {
        sq.dispose();
      }
    }
    expect(() => readsSync(reads())).toThrow('no sync read here');
    await expect(readsAsync(reads())).rejects.toThrow('no async read here');
    expect(spy.calls).toBe(2);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('async twins equal the synchronous paths on cpu', () => {
  it('trainStepAsync: same losses and weights as trainStep, one read per step, nothing leaked', async () => {
    const a = new FakeMethod({ seed: 5 });
    const b = new FakeMethod({ seed: 5 });
    const oa = new SGD({ momentum: 0.9, weightDecay: 1e-4 });
    const ob = new SGD({ momentum: 0.9, weightDecay: 1e-4 });
    const [v1, v2] = views(4);
    const counts: number[] = [];
    for (let s = 1; s <= 6; s++) {
      const ctx = { lr: 0.1, momentum: 0.9, step: s };
      const ra = trainStep(a, oa, v1, v2, ctx);
      const proto = tf.Tensor.prototype as unknown as { dataSync(): unknown; data(): unknown };
      const [sync, async] = [proto.dataSync, proto.data];
      let reads = 0;
      proto.dataSync = function (this: tf.Tensor) {
        reads++;
        return sync.call(this);
      };
      proto.data = function (this: tf.Tensor) {
        reads++;
        return async.call(this);
      };
      let rb;
      try {
        rb = await trainStepAsync(b, ob, v1, v2, ctx);
      } finally {
        proto.dataSync = sync;
        proto.data = async;
      }
      expect(reads).toBe(1);
      expect(rb).toEqual(ra);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(await exportStateDictAsync(b.stateEntries(), 'm')).toEqual(exportStateDict(a.stateEntries(), 'm'));
    tf.dispose([v1, v2]);
    [oa, ob].forEach((o) => o.dispose());
    [a, b].forEach((m) => m.dispose());
  });

  it('trainStepAsync refuses a non-finite loss before any update, naming the step', async () => {
    const m = new FakeMethod({ nanAtCall: 2 });
    const opt = new SGD({ momentum: 0.9, weightDecay: 0 });
    const [v1, v2] = views(1);
    await trainStepAsync(m, opt, v1, v2, { lr: 0.1, momentum: 0.9, step: 1 });
    const before = exportStateDict(m.stateEntries());
    const tensors = tf.memory().numTensors;
    await expect(trainStepAsync(m, opt, v1, v2, { lr: 0.1, momentum: 0.9, step: 2 })).rejects.toThrow(
      /loss is NaN at step 2/,
    );
    // The running-stat buffer moves inside computeLoss (as BN does); parameters and target do not.
    const after = exportStateDict(m.stateEntries());
    for (const [k, v] of before) if (k !== 'running_mean') expect(after.get(k)).toEqual(v);
    expect(m.updates).toBe(1);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([v1, v2]);
    opt.dispose();
    m.dispose();
  });

  it('knnPredictAsync and linearProbeAsync equal knnPredict and linearProbe', async () => {
    const memory = features(60, 6, 1, 3);
    const query = features(30, 6, 2, 3);
    expect(await knnPredictAsync(memory, query, { k: 5, chunk: 7 })).toEqual(
      knnPredict(memory, query, { k: 5, chunk: 7 }),
    );
    const opts = { numClasses: 3, epochs: 4, batchSize: 16, lr: 0.05 };
    const sync = linearProbe(memory, query, opts);
    expect(sync.top1).toBeGreaterThan(60);
    expect(Number.isFinite(sync.lastLoss)).toBe(true);
    expect(await linearProbeAsync(memory, query, opts)).toEqual(sync);
  });

  // Core is platform-neutral: the fixture files are read here (@selfsup/node's loader does the same).
  const loadParityFixture = async (dir: string) => {
    const read = (f: string) => readFile(join(dir, f));
    const [fixtureJson, init, inputs, expected] = await Promise.all([
      readFile(join(dir, 'fixture.json'), 'utf8'),
      read('init.safetensors'),
      read('inputs.safetensors'),
      read('expected.safetensors'),
    ]);
    return parseParityFixture(dir, { fixtureJson, init, inputs, expected });
  };

  it("runParityAsync gives runParity's report (lewel_b fixture)", async () => {
    const dir = fileURLToPath(new URL('../../../../test/fixtures/parity/lewel_b', import.meta.url));
    const plugins = [byolPlugin, lewelPlugin];
    const a = runParity(await loadParityFixture(dir), plugins);
    const b = await runParityAsync(await loadParityFixture(dir), plugins);
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
  });
});
