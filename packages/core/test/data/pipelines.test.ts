import 'reflect-metadata';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import type { Image, TransformRegistration } from '../../src/contracts';
import { Tokens } from '../../src/contracts/tokens';
import { SeededRng } from '../../src/util/random';
import {
  byolViewConfigs,
  ClutteredDataset,
  EpochSampler,
  makeBatch,
  mocov2ViewConfigs,
  transformRegistrations,
  TwoViewPipeline,
  viewPipelineRegistrations,
} from '../../src/data';

const pipeline = (type: string) => viewPipelineRegistrations.find((r) => r.type === type)!;
const sample = new ClutteredDataset({ count: 4, imageSize: 40 }).generate(1).image;
const gray: Image = { data: new Float32Array(28 * 28).fill(0.5), height: 28, width: 28, channels: 1 };

describe('view pipelines', () => {
  it('byol and mocov2 give two normalised 3-channel views at the output size, deterministic per seed', () => {
    for (const type of ['byol', 'mocov2']) {
      const p = pipeline(type).create({ outputSize: 24 }, rootContainer.createChildContainer());
      for (const input of [sample, gray]) {
        const [v1, v2] = p.views(input, new SeededRng(11));
        expect([v1.height, v1.width, v1.channels, v2.height, v2.width, v2.channels]).toEqual([
          24, 24, 3, 24, 24, 3,
        ]);
        const [w1, w2] = p.views(input, new SeededRng(11));
        expect(Array.from(w1.data)).toEqual(Array.from(v1.data));
        expect(Array.from(w2.data)).toEqual(Array.from(v2.data));
        // a constant gray image may give equal views; a real one must not
        if (input === sample) expect(Array.from(v1.data)).not.toEqual(Array.from(v2.data));
      }
      // normalised with ImageNet statistics: values span [-0.485/0.229, (1-0.406)/0.225]
      const [v] = p.views(sample, new SeededRng(2));
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of v.data) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
      expect(lo).toBeLessThan(0);
      expect(lo).toBeGreaterThanOrEqual(-0.485 / 0.229 - 1e-5);
      expect(hi).toBeLessThanOrEqual((1 - 0.406) / 0.225 + 1e-5);
    }
  });
  it('in-place execution gives what applying each transform in turn gives, and leaves the input alone', () => {
    const p = pipeline('byol').create(
      { outputSize: 20 },
      rootContainer.createChildContainer(),
    ) as TwoViewPipeline;
    const before = Array.from(sample.data);
    for (let seed = 0; seed < 6; seed++) {
      const [v1, v2] = p.views(sample, new SeededRng(seed));
      const rng = new SeededRng(seed);
      const manual = [p.view1, p.view2].map((ts) => ts.reduce((im, t) => t.apply(im, rng), sample));
      expect(Array.from(v1.data)).toEqual(Array.from(manual[0].data));
      expect(Array.from(v2.data)).toEqual(Array.from(manual[1].data));
    }
    expect(Array.from(sample.data)).toEqual(before);
  });
  it('configs follow METHODS.md and scale the blur with the output size', () => {
    const [b1, b2] = byolViewConfigs({ outputSize: 224 });
    const blur1 = b1.find((c) => c.type === 'gaussian_blur')!;
    expect(blur1).toMatchObject({ p: 1, kernelSize: 23, sigma: [0.1, 2.0] });
    expect(b1.some((c) => c.type === 'solarize')).toBe(false);
    expect(b2.find((c) => c.type === 'gaussian_blur')).toMatchObject({ p: 0.1 });
    expect(b2.find((c) => c.type === 'solarize')).toMatchObject({ p: 0.2, threshold: 128 / 255 });
    expect(b1.find((c) => c.type === 'color_jitter')).toMatchObject({
      brightness: 0.4,
      saturation: 0.2,
      hue: 0.1,
      p: 0.8,
    });
    const [m1, m2] = mocov2ViewConfigs({ outputSize: 32 });
    expect(m1).toEqual(m2);
    expect(m1.find((c) => c.type === 'color_jitter')).toMatchObject({ saturation: 0.4, p: 0.8 });
    const mb = m1.find((c) => c.type === 'gaussian_blur')!;
    expect(mb.p).toBe(0.5);
    expect(mb.kernelSize).toBe(3);
    expect((mb.sigma as number[])[1]).toBeCloseTo((2 * 32) / 224, 10);
    expect(m1.find((c) => c.type === 'random_resized_crop')).toMatchObject({ size: 32, scale: [0.2, 1] });
  });
  it('hue and grayscale tune both views of either preset; the defaults stay METHODS.md', () => {
    for (const configs of [byolViewConfigs, mocov2ViewConfigs]) {
      for (const view of configs({ outputSize: 32, hue: 0.5, grayscale: 0.5 })) {
        expect(view.find((c) => c.type === 'color_jitter')).toMatchObject({ hue: 0.5, p: 0.8 });
        expect(view.find((c) => c.type === 'random_grayscale')).toMatchObject({ p: 0.5 });
      }
      for (const view of configs({ outputSize: 32 })) {
        expect(view.find((c) => c.type === 'color_jitter')).toMatchObject({ hue: 0.1 });
        expect(view.find((c) => c.type === 'random_grayscale')).toMatchObject({ p: 0.2 });
      }
    }
  });
  it('two_view resolves user transforms registered in the container by name', () => {
    const invert: TransformRegistration = {
      type: 'invert',
      plugin: 'test',
      create: () => ({
        name: 'invert',
        apply: (im) => ({ ...im, data: im.data.map((v) => 1 - v) }),
      }),
    };
    const c = rootContainer.createChildContainer();
    c.register(Tokens.Transform, { useValue: invert });
    const p = pipeline('two_view').create(
      {
        outputSize: 2,
        view1: [
          { type: 'random_resized_crop', size: 2, scale: [1, 1], ratio: [1, 1] },
          { type: 'invert' },
          { type: 'to_rgb' },
        ],
        view2: [{ type: 'random_resized_crop', size: 2, scale: [1, 1], ratio: [1, 1] }, { type: 'to_rgb' }],
      },
      c,
    );
    const im: Image = { data: Float32Array.from([0, 0.25, 0.5, 1]), height: 2, width: 2, channels: 1 };
    const [v1, v2] = p.views(im, new SeededRng(0));
    expect(Array.from(v1.data)).toEqual([1, 1, 1, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0, 0, 0]);
    expect(Array.from(v2.data)).toEqual([0, 0, 0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 1, 1, 1]);
  });
  it('errors name the view, index and the bad type or key', () => {
    const p = pipeline('two_view');
    const c = rootContainer.createChildContainer();
    expect(() =>
      p.create({ outputSize: 8, view1: [{ type: 'nope' }], view2: [{ type: 'to_rgb' }] }, c),
    ).toThrow(/view1\[0\]: unknown transform type 'nope'; known: .*random_resized_crop/);
    expect(() =>
      p.create({ outputSize: 8, view1: [{ type: 'to_rgb' }], view2: [{ type: 'solarize', p: 2 }] }, c),
    ).toThrow(/view2\[0\] \(solarize\): invalid options: p/);
    const wrongSize = p.create(
      { outputSize: 8, view1: [{ type: 'to_rgb' }], view2: [{ type: 'to_rgb' }] },
      c,
    );
    expect(() => wrongSize.views(gray, new SeededRng(0))).toThrow(/view1: output is 28x28x3, expected 8x8x3/);
    expect(() => pipeline('byol').create({ outputSize: 8, extra: 1 }, c)).toThrow(/extra/);
  });
  it('every built-in transform registration validates and builds with its defaults', () => {
    for (const r of transformRegistrations) {
      const opts = r.type === 'random_resized_crop' ? { size: 4 } : {};
      const t = r.create(opts);
      const out = t.apply(sample, new SeededRng(1));
      expect(out.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('makeBatch', () => {
  it('stacks NHWC and checks shapes', () => {
    const a: Image = { data: Float32Array.from([1, 2, 3]), height: 1, width: 1, channels: 3 };
    const b: Image = { data: Float32Array.from([4, 5, 6]), height: 1, width: 1, channels: 3 };
    const { data, shape } = makeBatch([a, b]);
    expect(shape).toEqual([2, 1, 1, 3]);
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => makeBatch([a, gray])).toThrow(/image 1 is 28x28x1 but image 0 is 1x1x3/);
  });
});

describe('EpochSampler', () => {
  it('covers a permutation per epoch, drops the last partial batch and changes order across epochs', () => {
    const s = new EpochSampler(10, 3, 42);
    expect(s.batchesPerEpoch).toBe(3);
    const e0 = [s.next(), s.next(), s.next()];
    expect(e0.map((b) => b.epoch)).toEqual([0, 0, 0]);
    const seen = e0.flatMap((b) => Array.from(b.indices));
    expect(new Set(seen).size).toBe(9);
    expect(seen).toEqual(Array.from(s.permutation(0).slice(0, 9)));
    const n = s.next();
    expect([n.epoch, n.batch]).toEqual([1, 0]);
    expect(Array.from(s.permutation(1))).not.toEqual(Array.from(s.permutation(0)));
    const keep = new EpochSampler(10, 3, 42, false);
    const sizes = [0, 1, 2, 3].map(() => keep.next().indices.length);
    expect(sizes).toEqual([3, 3, 3, 1]);
  });
  it('resumes exactly from getState/setState', () => {
    const a = new EpochSampler(17, 4, 7);
    for (let i = 0; i < 6; i++) a.next();
    const state = a.getState();
    const rest = Array.from({ length: 9 }, () => Array.from(a.next().indices));
    const b = new EpochSampler(17, 4, 7);
    b.setState(JSON.parse(JSON.stringify(state)));
    expect(Array.from({ length: 9 }, () => Array.from(b.next().indices))).toEqual(rest);
    const c = new EpochSampler(17, 4, 8);
    expect(Array.from(c.permutation(0))).not.toEqual(Array.from(b.permutation(0)));
  });
});
