import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPipeline,
  createRegistryContainer,
  listTypes,
  registerType,
  SeededRng,
  tf,
  trainStep,
  type AggregatorRegistration,
  type Pipeline,
  type Plugin,
} from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };
const plugins = [byolPlugin, mocoPlugin];

function views(seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(seed);
  const make = () =>
    tf.tensor4d(
      Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.next()),
      [4, 8, 8, 3],
    );
  return [make(), make()];
}

const weights = (p: Pipeline) =>
  new Map(p.method.stateEntries().map((e) => [e.name, Array.from(e.variable.dataSync())]));

const step = (p: Pipeline, v: [tf.Tensor4D, tf.Tensor4D]) =>
  trainStep(p.method, p.optimizer, v[0], v[1], { lr: p.baseLr, momentum: p.method.momentumAt?.(0, 1) });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('pipelines in one process are independent', () => {
  it('different settings: own containers, own variables, training one leaves the other alone', () => {
    const a = createPipeline(
      { method: { type: 'byol', hiddenDim: 16, outDim: 8 }, backbone: TINY, train: { seed: 1 } },
      { plugins },
    );
    const b = createPipeline(
      {
        method: { type: 'moco', hiddenDim: 32, outDim: 16, queueSize: 32 },
        backbone: TINY,
        train: { seed: 2 },
      },
      { plugins },
    );
    expect(a.container).not.toBe(b.container);
    expect(a.method.type).toBe('byol');
    expect(b.method.type).toBe('moco');
    expect(a.optimizer.type).toBe('lars');
    expect(b.optimizer.type).toBe('sgd');
    expect(a.baseLr).toBe(0.2);
    expect(b.baseLr).toBe(0.03);
    const shape = (p: Pipeline, n: string) =>
      p.method.stateEntries().find((e) => e.name === n)!.variable.shape;
    expect(shape(a, 'online.neck.mlp.0.weight')).toEqual([8, 16]);
    expect(shape(b, 'online.neck.mlp.0.weight')).toEqual([8, 32]);

    // No tf.Variable is shared between the two.
    const varsA = new Set(a.method.stateEntries().map((e) => e.variable));
    expect(b.method.stateEntries().some((e) => varsA.has(e.variable))).toBe(false);

    // A registration added to one container is invisible to the other.
    const extra: AggregatorRegistration = {
      type: 'only_in_a',
      plugin: 'test',
      create: () => {
        throw new Error('not built');
      },
    };
    registerType(a.container, 'Aggregator', extra);
    expect(listTypes(a.container, 'Aggregator').map((r) => r.type)).toContain('only_in_a');
    expect(listTypes(b.container, 'Aggregator').map((r) => r.type)).toEqual(['global']);

    const v = views(3);
    const bBefore = weights(b);
    const aBefore = weights(a);
    expect(Number.isFinite(step(a, v).loss)).toBe(true);
    expect(weights(b)).toEqual(bBefore);
    expect(weights(a).get('online.backbone.conv1.weight')).not.toEqual(
      aBefore.get('online.backbone.conv1.weight'),
    );

    // Disposing one does not touch the other.
    a.dispose();
    expect(weights(b)).toEqual(bBefore);
    expect(Number.isFinite(step(b, v).loss)).toBe(true);
    b.dispose();
    tf.dispose(v);
  });

  it('same config and seed: identical initial weights in separate variables; another seed differs', () => {
    const cfg = { method: { type: 'byol', hiddenDim: 16, outDim: 8 }, backbone: TINY, train: { seed: 5 } };
    const a = createPipeline(cfg, { plugins });
    const b = createPipeline(cfg, { plugins });
    const c = createPipeline({ ...cfg, train: { seed: 6 } }, { plugins });
    expect(weights(b)).toEqual(weights(a));
    expect(weights(c).get('online.backbone.conv1.weight')).not.toEqual(
      weights(a).get('online.backbone.conv1.weight'),
    );
    // The target starts as a copy of the online encoder.
    const wa = weights(a);
    for (const [name, value] of wa) {
      if (name.startsWith('target.')) expect(value).toEqual(wa.get(`online.${name.slice('target.'.length)}`));
    }
    const v = views(4);
    step(a, v);
    expect(weights(b)).not.toEqual(weights(a));
    expect(weights(b).get('online.backbone.conv1.weight')).toEqual(wa.get('online.backbone.conv1.weight'));
    [a, b, c].forEach((p) => p.dispose());
    tf.dispose(v);
  });

  it("a parent container's plugins are inherited; the pipeline's registrations do not leak into it", () => {
    const parent = createRegistryContainer([byolPlugin]);
    const marker: Plugin = {
      name: 'test-marker',
      register: (c) =>
        registerType(c, 'Aggregator', {
          type: 'marker',
          plugin: 'test-marker',
          create: () => {
            throw new Error('not built');
          },
        } satisfies AggregatorRegistration),
    };
    const p = createPipeline(
      { method: { type: 'byol', hiddenDim: 16, outDim: 8 }, backbone: TINY },
      { container: parent, plugins: [marker] },
    );
    expect(p.method.type).toBe('byol');
    expect(listTypes(p.container, 'Aggregator').map((r) => r.type)).toContain('marker');
    expect(listTypes(parent, 'Aggregator').map((r) => r.type)).not.toContain('marker');
    expect(() => createPipeline({ method: 'moco' }, { container: parent })).toThrow(/Registered: byol;/);
    p.dispose();
  });
});
