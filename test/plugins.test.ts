/**
 * Extending selfsup from outside the repository: an aggregator and a method defined only here,
 * registered through a Plugin, used by name from config, trained with core's trainStep. Also the
 * LEWEL compositions of the official plugins.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BaseMethod,
  createPipeline,
  defineRegistration,
  normalizeL2,
  Module,
  MomentumMethod,
  registerType,
  SeededRng,
  tf,
  trainStep,
  z,
  type Aggregator,
  type AggregatorContext,
  type AggregatorRegistration,
  type EncoderOutput,
  type LossOutput,
  type LossRegistration,
  type MethodContext,
  type MethodRegistration,
  type Pipeline,
  type Plugin,
  type ProjectionHead,
  type SelfsupConfigInput,
} from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { simsiamPlugin } from '@selfsup/plugin-simsiam';
import { simclrPlugin } from '@selfsup/plugin-simclr';

// ------------------------------------------------------------------ out-of-tree plugin

const gemOptions = z
  .object({ p: z.number().positive().default(3), eps: z.number().positive().default(1e-6) })
  .strict();

/** Generalized-mean pooling (Radenovic et al.) with a learnable exponent, then the method's head. */
class GemAggregator extends Module implements Aggregator {
  readonly hasAlignedBranch = false;
  readonly p: tf.Variable;
  readonly neck: ProjectionHead;
  private readonly eps: number;

  constructor(o: z.infer<typeof gemOptions>, ctx: AggregatorContext) {
    super();
    this.eps = o.eps;
    this.p = this.registerParameter('p', tf.tensor1d([o.p]));
    this.neck = this.registerModule('neck', ctx.makeHead(ctx.inChannels));
  }

  /** [B, H, W, C] -> [B, C]: (mean over H, W of max(x, eps)^p)^(1/p). */
  pool(featureMap: tf.Tensor4D): tf.Tensor2D {
    const x = tf.maximum(featureMap, this.eps);
    return tf.pow(tf.mean(tf.pow(x, this.p), [1, 2]), tf.div(1, this.p)) as tf.Tensor2D;
  }

  forward(featureMap: tf.Tensor4D): EncoderOutput {
    const [b, , , c] = featureMap.shape;
    const tokens = tf.reshape(this.pool(featureMap), [b, 1, c]) as tf.Tensor3D;
    return { global: tf.reshape(this.neck.forward(tokens), [b, this.neck.outDim]) as tf.Tensor2D };
  }

  combineLosses(global: tf.Scalar): tf.Scalar {
    return global;
  }
}

const cosineOptions = z
  .object({
    hiddenDim: z.number().int().positive().default(16),
    outDim: z.number().int().positive().default(8),
  })
  .strict();

/** 1 - cos(online, target), mean over rows: the pairwise loss of the method below. */
const cosineDistance = (a: tf.Tensor2D, b: tf.Tensor2D) =>
  tf.sub(1, tf.mean(tf.sum(tf.mul(normalizeL2(a), normalizeL2(b)), -1))) as tf.Scalar;

/**
 * A minimal method: its loss (registered below) of online(v1) against target(v2), with a
 * constant EMA. With an aligned aggregator (LEWEL) the aggregator scores the slots alike.
 */
class CosineMethod extends MomentumMethod {
  readonly type = 'cosine';
  readonly defaultOptimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0 };
  readonly defaultViews = 'mocov2';

  constructor(o: z.infer<typeof cosineOptions>, ctx: MethodContext) {
    super(ctx, {
      projector: { type: 'mlp', hiddenDim: o.hiddenDim, outDim: o.outDim },
      loss: { type: 'cosine_distance' },
      momentum: { schedule: 'constant', baseMomentum: 0.5 },
    });
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D): LossOutput {
    return this.pairwiseLoss([{ online: this.online.forward(view1), target: this.targetForward(view2) }]);
  }
}

const gemRegistration: AggregatorRegistration = defineRegistration({
  type: 'gem',
  plugin: 'test-extensions',
  description: 'generalized-mean pooling + the method head',
  optionsSchema: gemOptions,
  create: (options, ctx: AggregatorContext) => new GemAggregator(options, ctx),
});

const cosineRegistration: MethodRegistration = defineRegistration({
  type: 'cosine',
  plugin: 'test-extensions',
  optionsSchema: cosineOptions,
  create: (options, ctx: MethodContext) => new CosineMethod(options, ctx),
});

const cosineDistanceRegistration: LossRegistration = defineRegistration({
  type: 'cosine_distance',
  plugin: 'test-extensions',
  optionsSchema: z.object({}).strict(),
  create: () => cosineDistance,
});

const extensionsPlugin: Plugin = {
  name: 'test-extensions',
  register(container) {
    registerType(container, 'Aggregator', gemRegistration);
    registerType(container, 'Method', cosineRegistration);
    registerType(container, 'Loss', cosineDistanceRegistration);
  },
};

// ------------------------------------------------------------------ helpers

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };
const plugins = [byolPlugin, mocoPlugin, lewelPlugin, simsiamPlugin, simclrPlugin, extensionsPlugin];

function views(seed: number, batch = 4, res = 8): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(seed);
  const make = () =>
    tf.tensor4d(
      Float32Array.from({ length: batch * res * res * 3 }, () => rng.next()),
      [batch, res, res, 3],
    );
  return [make(), make()];
}

const names = (p: Pipeline) => p.method.stateEntries().map((e) => e.name);
const entry = (p: Pipeline, name: string) => {
  const e = p.method.stateEntries().find((x) => x.name === name);
  if (!e) throw new Error(`no entry '${name}' in ${names(p).join(', ')}`);
  return e;
};
const step = (p: Pipeline, v: [tf.Tensor4D, tf.Tensor4D]) =>
  trainStep(p.method, p.optimizer, v[0], v[1], { lr: p.baseLr, momentum: p.method.momentumAt?.(0, 1) });

function build(config: SelfsupConfigInput): Pipeline {
  return createPipeline(config, { plugins, source: 'plugins.test' });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// ------------------------------------------------------------------ tests

describe('out-of-tree aggregator (GeM)', () => {
  it('pools as (mean x^p)^(1/p)', () => {
    const gem = new GemAggregator(gemOptions.parse({ p: 3 }), {
      inChannels: 2,
      makeHead: () => ({ inDim: 2, outDim: 2 }) as unknown as ProjectionHead,
      seed: 0,
    });
    // Channel 0: values 1, 2 -> (4.5)^(1/3); channel 1: 0 (clamped to eps), 3 -> ((eps^3 + 27) / 2)^(1/3).
    const y = tf.tidy(() => gem.pool(tf.tensor4d([1, 0, 2, 3], [1, 2, 1, 2])));
    const v = y.dataSync();
    expect(v[0]).toBeCloseTo(4.5 ** (1 / 3), 5);
    expect(v[1]).toBeCloseTo(13.5 ** (1 / 3), 5);
    y.dispose();
    gem.p.dispose();
  });

  it("{ method: 'byol', aggregator: 'gem' }: built by name, the method's head as neck, trains with a finite loss", () => {
    const p = build({
      method: { type: 'byol', hiddenDim: 16, outDim: 8 },
      aggregator: 'gem',
      backbone: TINY,
    });
    expect((p.method as BaseMethod).aggregator).toBeInstanceOf(GemAggregator);
    const n = names(p);
    expect(n).toContain('online.p');
    expect(n).toContain('target.p');
    // BYOL's head form (BN, no bias) through ctx.makeHead.
    expect(n).toContain('online.neck.mlp.1.running_var');
    expect(n).not.toContain('online.neck.mlp.0.bias');
    expect(entry(p, 'online.neck.mlp.0.weight').variable.shape).toEqual([8, 16]);
    expect(p.method.trainableParameters().map((e) => e.name)).toContain('online.p');
    const p0 = entry(p, 'online.p').variable.dataSync()[0];
    expect(p0).toBe(3);
    const v = views(1);
    const r1 = step(p, v);
    const r2 = step(p, v);
    expect(Number.isFinite(r1.loss)).toBe(true);
    expect(Number.isFinite(r2.loss)).toBe(true);
    expect(r1.loss).toBeGreaterThan(0);
    // The exponent is learned: it received a gradient and moved.
    expect(entry(p, 'online.p').variable.dataSync()[0]).not.toBe(p0);
    p.dispose();
    tf.dispose(v);
  });

  it('its options are validated under aggregator.*', () => {
    expect(() => build({ method: 'byol', aggregator: { type: 'gem', p: -1 }, backbone: TINY })).toThrow(
      /aggregator\.p: got -1/,
    );
    const p = build({
      method: { type: 'moco', queueSize: 8 },
      aggregator: { type: 'gem', p: 2 },
      backbone: TINY,
    });
    expect(entry(p, 'online.p').variable.dataSync()[0]).toBe(2);
    // MoCo's head form (biases, no BN) through the same factory.
    expect(names(p)).toContain('online.neck.mlp.0.bias');
    p.dispose();
  });
});

describe('out-of-tree method (MomentumMethod subclass, its own Loss type)', () => {
  it('trains with its default optimizer and EMA-updates the target', () => {
    const p = build({ method: 'cosine', backbone: TINY });
    expect(p.method.type).toBe('cosine');
    expect(p.optimizer.type).toBe('sgd');
    expect(p.baseLr).toBe(0.05);
    expect(names(p)).toContain('online.neck.mlp.2.bias');
    const name = 'neck.mlp.2.weight';
    const t0 = Array.from(entry(p, `target.${name}`).variable.dataSync());
    const v = views(2);
    const r = step(p, v);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss).toBeGreaterThanOrEqual(0);
    expect(r.loss).toBeLessThanOrEqual(2);
    // m = 0.5: target <- 0.5 target + 0.5 online (after the optimizer step).
    const o1 = entry(p, `online.${name}`).variable.dataSync();
    const t1 = entry(p, `target.${name}`).variable.dataSync();
    expect(Array.from(t1)).not.toEqual(t0);
    t0.forEach((t, i) => expect(t1[i]).toBeCloseTo(0.5 * t + 0.5 * o1[i], 6));
    p.dispose();
    tf.dispose(v);
  });

  it('composes with the GeM and LEWEL aggregators by name', () => {
    const v = views(3);
    const gem = build({ method: 'cosine', aggregator: 'gem', backbone: TINY });
    expect(Number.isFinite(step(gem, v).loss)).toBe(true);
    gem.dispose();
    const lewel = build({
      method: { type: 'cosine', outDim: 16 },
      aggregator: { type: 'lewel', heads: 4 },
      backbone: TINY,
    });
    const r = step(lewel, v);
    expect(Object.keys(r.terms).sort()).toEqual(['loss_aligned', 'loss_global']);
    expect(r.loss).toBeCloseTo(0.5 * r.terms.loss_global + 0.5 * r.terms.loss_aligned, 5);
    lewel.dispose();
    tf.dispose(v);
  });
});

describe('LEWEL loss weight warm-up through a training step', () => {
  it.each([{ type: 'byol' }, { type: 'moco', queueSize: 32 }, { type: 'simsiam' }, { type: 'simclr' }])(
    '$type: the step weighs the terms as the progress says (1 at step 0, w after the warm-up)',
    (method) => {
      const v = views(4);
      const p = build({
        method: { ...method, hiddenDim: 16, outDim: 8 },
        aggregator: { type: 'lewel', heads: 4, lossWeight: 0.25, lossWeightWarmupEpochs: 2 },
        backbone: TINY,
      });
      const at = (s: number) =>
        trainStep(p.method, p.optimizer, v[0], v[1], {
          lr: 0,
          momentum: p.method.momentumAt?.(s, 100),
          progress: { step: s, totalSteps: 100, stepsPerEpoch: 10 },
        });
      const first = at(0);
      expect(first.loss).toBeCloseTo(first.terms.loss_global, 5);
      const mid = at(10); // half-way: w = 1 - 0.75 * 0.5
      expect(mid.loss).toBeCloseTo(0.625 * mid.terms.loss_global + 0.375 * mid.terms.loss_aligned, 5);
      const late = at(50);
      expect(late.loss).toBeCloseTo(0.25 * late.terms.loss_global + 0.75 * late.terms.loss_aligned, 5);
      expect(Math.abs(late.terms.loss_aligned - late.terms.loss_global)).toBeGreaterThan(1e-4);
      p.dispose();
      tf.dispose(v);
    },
  );
});

describe('LEWEL = an official method + the lewel aggregator', () => {
  const lewelCfg = (method: { type: string } & Record<string, unknown>): SelfsupConfigInput => ({
    method: { hiddenDim: 16, outDim: 16, ...method },
    aggregator: { type: 'lewel', heads: 4 },
    backbone: TINY,
  });

  it("{ method: 'byol', aggregator: 'lewel' } is LEWEL_B: proj, proj_obj, predictor, predictor_obj", () => {
    const p = build(lewelCfg({ type: 'byol' }));
    const n = names(p);
    for (const want of [
      'online.backbone.conv1.weight',
      'online.proj.mlp.0.weight',
      'online.proj.mlp.1.running_mean',
      'online.proj_obj.mlp.3.weight',
      'target.proj.mlp.0.weight',
      'target.proj_obj.mlp.3.weight',
      'predictor.mlp.0.weight',
      'predictor_obj.mlp.0.weight',
      'predictor_obj.mlp.3.weight',
    ])
      expect(n).toContain(want);
    expect(n.some((x) => x.includes('neck'))).toBe(false);
    expect(n).not.toContain('queue');
    expect(p.method.trainableParameters().some((e) => e.name.startsWith('target.'))).toBe(false);
    const v = views(4);
    const r = step(p, v);
    expect(Number.isFinite(r.loss)).toBe(true);
    // w = 0.5 per direction, summed over both directions.
    expect(r.loss).toBeCloseTo(0.5 * r.terms.loss_global + 0.5 * r.terms.loss_aligned, 5);
    p.dispose();
    tf.dispose(v);
  });

  it("{ method: 'moco', aggregator: 'lewel' } is LEWEL_M: queue, proj, proj_obj (MoCo head form), no predictor", () => {
    const p = build(lewelCfg({ type: 'moco', queueSize: 32 }));
    const n = names(p);
    expect(entry(p, 'queue').variable.shape).toEqual([16, 32]);
    expect(entry(p, 'queue').kind).toBe('buffer');
    for (const want of [
      'online.proj.mlp.0.bias',
      'online.proj_obj.mlp.2.weight',
      'target.proj_obj.mlp.2.bias',
    ])
      expect(n).toContain(want);
    expect(n.some((x) => x.startsWith('predictor'))).toBe(false);
    expect(n.some((x) => x.includes('running_mean'))).toBe(true); // the backbone's BN only
    expect(n.some((x) => x.includes('proj') && x.includes('running'))).toBe(false);
    const v = views(5);
    const r = step(p, v);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss).toBeCloseTo(0.5 * r.terms.loss_global + 0.5 * r.terms.loss_aligned, 5);
    p.dispose();
    tf.dispose(v);
  });

  it('alignedTemperature changes only the aligned term (LEWEL_M and LEWEL-SimCLR); unset, it is the temperature', () => {
    const cases = [
      { type: 'moco', queueSize: 32, temperature: 0.5 },
      { type: 'simclr', temperature: 0.5 },
    ];
    for (const method of cases) {
      const terms = (extra: Record<string, unknown>) => {
        const p = build(lewelCfg({ ...method, ...extra }));
        const v = views(6);
        const r = step(p, v);
        p.dispose();
        tf.dispose(v);
        return r.terms;
      };
      const plain = terms({});
      const same = terms({ alignedTemperature: 0.5 });
      const soft = terms({ alignedTemperature: 2 });
      expect(same.loss_aligned).toBeCloseTo(plain.loss_aligned, 6);
      expect(soft.loss_global).toBeCloseTo(plain.loss_global, 6);
      // Another temperature gives another aligned term, from the same network and views.
      expect(Math.abs(soft.loss_aligned - plain.loss_aligned)).toBeGreaterThan(1e-3);
    }
  });

  it('alignment maps come out as [B, K, H, W], non-negative, summing to 1 over H*W', () => {
    for (const method of [{ type: 'byol' }, { type: 'moco', queueSize: 32 }]) {
      const p = build(lewelCfg(method));
      const images = views(6, 2, 8)[0];
      const bn = entry(p, 'online.backbone.bn1.running_mean').variable;
      const statsBefore = Array.from(bn.dataSync());
      const maps = p.method.alignmentMaps!(images);
      // cifar stem, two stages: 8x8 -> 4x4; K = outDim = 16.
      expect(maps.shape).toEqual([2, 16, 4, 4]);
      const sums = tf.tidy(() => tf.sum(maps, [2, 3]));
      sums.dataSync().forEach((s) => expect(s).toBeCloseTo(1, 5));
      expect(tf.min(maps).dataSync()[0]).toBeGreaterThanOrEqual(0);
      // Maps are computed in eval mode; training mode is restored and BN stats untouched.
      expect(Array.from(bn.dataSync())).toEqual(statsBefore);
      expect(p.method.isTraining).toBe(true);
      expect((p.method as BaseMethod).online.isTraining).toBe(true);
      tf.dispose([maps, sums, images]);
      p.dispose();
    }
  });

  it('a global-aggregator method has no alignment maps and says how to get them', () => {
    const p = build({ method: { type: 'byol', hiddenDim: 16, outDim: 8 }, backbone: TINY });
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    expect(() => p.method.alignmentMaps!(x)).toThrow(/aggregator: "lewel"/);
    x.dispose();
    p.dispose();
  });
});

describe('methods without a target network (SimSiam, SimCLR), alone and with LEWEL', () => {
  const simsiam = { type: 'simsiam', hiddenDim: 16, outDim: 16, predictorHiddenDim: 4 };
  const simclr = { type: 'simclr', hiddenDim: 16, outDim: 16 };
  const lewel = { type: 'lewel', heads: 4 };

  it('simsiam: one network, an affine-free BN ending the projector, a bottleneck predictor; no momentum', () => {
    const p = build({ method: simsiam, backbone: TINY });
    const n = names(p);
    expect(n.some((x) => x.startsWith('target.'))).toBe(false);
    expect(n).toContain('online.neck.mlp.4.running_mean');
    expect(n).toContain('online.neck.mlp.4.running_var');
    expect(n).not.toContain('online.neck.mlp.4.weight');
    expect(n.some((x) => x.startsWith('predictor.mlp.4'))).toBe(false);
    // tfjs layout [in, out]: D -> predictorHiddenDim -> D.
    expect(entry(p, 'predictor.mlp.0.weight').variable.shape).toEqual([16, 4]);
    expect(entry(p, 'predictor.mlp.3.weight').variable.shape).toEqual([4, 16]);
    expect(p.method.momentumAt).toBeUndefined();
    expect(p.method.defaultViews).toBe('mocov2');
    // Every parameter is trained: there is no target to leave out.
    expect(p.method.trainableParameters().length).toBe(p.method.namedParameters().length);
    const v = views(7);
    const r = step(p, v);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss).toBeGreaterThanOrEqual(-1);
    expect(r.loss).toBeLessThanOrEqual(1);
    p.dispose();
    tf.dispose(v);
  });

  it('simsiam + lewel: proj and proj_obj end in the affine-free BN, predictor_obj comes from LEWEL', () => {
    const p = build({ method: simsiam, aggregator: lewel, backbone: TINY });
    const n = names(p);
    for (const want of [
      'online.proj.mlp.4.running_var',
      'online.proj_obj.mlp.4.running_var',
      'predictor.mlp.0.weight',
      'predictor_obj.mlp.0.weight',
      'predictor_obj.mlp.3.weight',
    ])
      expect(n).toContain(want);
    expect(entry(p, 'predictor_obj.mlp.0.weight').variable.shape).toEqual([16, 4]);
    expect(n.some((x) => x.startsWith('target.') || x.includes('neck'))).toBe(false);
    const v = views(8);
    const r = step(p, v);
    expect(Object.keys(r.terms).sort()).toEqual(['loss_aligned', 'loss_global']);
    expect(r.loss).toBeCloseTo(0.5 * r.terms.loss_global + 0.5 * r.terms.loss_aligned, 5);
    p.dispose();
    tf.dispose(v);
  });

  it('simclr + lewel: no predictor, no target; slots contrasted per slot; the weighted sum of both terms', () => {
    const p = build({ method: simclr, aggregator: lewel, backbone: TINY });
    const n = names(p);
    expect(n.some((x) => x.startsWith('predictor') || x.startsWith('target.'))).toBe(false);
    expect(n.some((x) => x.includes('mlp.4'))).toBe(false);
    expect(p.method.momentumAt).toBeUndefined();
    const v = views(9);
    const r = step(p, v);
    expect(Number.isFinite(r.terms.loss_aligned)).toBe(true);
    // NT-Xent over 2 * 4 rows is at least log(1) and near log(7) at init.
    expect(r.terms.loss_global).toBeGreaterThan(0);
    expect(r.loss).toBeCloseTo(0.5 * r.terms.loss_global + 0.5 * r.terms.loss_aligned, 5);
    p.dispose();
    tf.dispose(v);
  });

  it('a method with a target network refuses a step without its momentum, naming what to pass', () => {
    const p = build({ method: { type: 'byol', hiddenDim: 16, outDim: 8 }, backbone: TINY });
    const v = views(10);
    expect(() => trainStep(p.method, p.optimizer, v[0], v[1], { lr: 0.1 })).toThrow(
      /momentumAt\(step, totalSteps\)/,
    );
    p.dispose();
    tf.dispose(v);
  });

  it('an aggregator that makes aligned slots without an aligned branch is refused, naming it', () => {
    const bare: AggregatorRegistration = defineRegistration({
      type: 'bare_lewel',
      plugin: 'test-extensions',
      optionsSchema: z.object({}).strict(),
      // GeM pooling that claims aligned slots but offers no objective for them.
      create: (_o, ctx: AggregatorContext) =>
        Object.assign(new GemAggregator(gemOptions.parse({}), ctx), { hasAlignedBranch: true }),
    });
    const plugin: Plugin = { name: 'bare', register: (c) => registerType(c, 'Aggregator', bare) };
    expect(() =>
      createPipeline(
        { method: simclr, aggregator: 'bare_lewel', backbone: TINY },
        { plugins: [...plugins, plugin] },
      ),
    ).toThrow(/aggregator 'bare_lewel' makes aligned slots but has no createAlignedBranch/);
  });
});
