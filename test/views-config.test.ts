// `data.views` and `data.viewOptions`: a config picks the augmentation and tunes it (the crop's
// area range on small images, say) without code, and a bad option names the key at fault.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildViews,
  createImage,
  createPipeline,
  SeededRng,
  tf,
  TwoViewPipeline,
  type Pipeline,
  type SelfsupConfigInput,
} from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };

function pipelineFor(data: SelfsupConfigInput['data']): Pipeline {
  return createPipeline(
    { method: { type: 'byol', hiddenDim: 8, outDim: 8 }, backbone: TINY, data },
    { plugins: [byolPlugin], source: 'views-config.test' },
  );
}

function twoViews(p: Pipeline): TwoViewPipeline {
  const views = buildViews(p.config, p);
  expect(views).toBeInstanceOf(TwoViewPipeline);
  return views as TwoViewPipeline;
}

/** The crop (first transform) of each view. */
function cropScales(p: Pipeline): unknown[] {
  const views = buildViews(p.config, p) as unknown as {
    view1: { scale?: unknown }[];
    view2: { scale?: unknown }[];
  };
  return [views.view1[0].scale, views.view2[0].scale];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('data.views and data.viewOptions', () => {
  it.each([
    {
      what: "without viewOptions: the method's views at their defaults (crop area 0.2-1)",
      data: { imageSize: 16 },
      name: 'byol',
      scale: [0.2, 1],
    },
    {
      what: 'viewOptions reach the view pipeline: scale sets both views’ crop area',
      data: { imageSize: 16, views: 'mocov2', viewOptions: { scale: [0.5, 1] } },
      name: 'mocov2',
      scale: [0.5, 1],
    },
  ])('$what', ({ data, name, scale }) => {
    const p = pipelineFor(data);
    expect(twoViews(p).name).toBe(name);
    expect(cropScales(p)).toEqual([scale, scale]);
    p.dispose();
  });

  it('two_view from config: transform lists, output at data.imageSize', () => {
    const p = pipelineFor({
      imageSize: 12,
      views: 'two_view',
      viewOptions: {
        view1: [{ type: 'random_resized_crop', size: 12, scale: [0.6, 1] }, { type: 'normalize' }],
        view2: [
          { type: 'random_resized_crop', size: 12 },
          { type: 'horizontal_flip' },
          { type: 'normalize' },
        ],
      },
    });
    const views = buildViews(p.config, p);
    const image = createImage(20, 20, 3);
    const [a, b] = views.views(image, new SeededRng(1));
    expect([a.height, a.width, b.height, b.width]).toEqual([12, 12, 12, 12]);
    p.dispose();
  });

  it('viewOptions.hue and .grayscale reach the colour jitter and the grayscale of both views', () => {
    const p = pipelineFor({ imageSize: 16, viewOptions: { hue: 0.5, grayscale: 0.4 } });
    const views = buildViews(p.config, p) as unknown as Record<'view1' | 'view2', object[]>;
    for (const view of [views.view1, views.view2]) {
      expect(view.find((t) => 'hue' in t)).toMatchObject({ hue: 0.5 });
      expect(view.find((t) => (t as { name?: string }).name === 'random_grayscale')).toMatchObject({
        p: 0.4,
      });
    }
    p.dispose();
  });

  it('a hue outside [0, 0.5] is refused, naming the key', () => {
    const p = pipelineFor({ imageSize: 16, viewOptions: { hue: 0.7 } });
    expect(() => buildViews(p.config, p)).toThrow(/data\.viewOptions.*hue/);
    p.dispose();
  });

  it('an unknown option is refused, naming data.viewOptions, the views and the key', () => {
    const p = pipelineFor({ imageSize: 16, viewOptions: { cropScale: [0.5, 1] } });
    expect(() => buildViews(p.config, p)).toThrow(/data\.viewOptions \(views 'byol'\).*cropScale/);
    p.dispose();
  });

  it('outputSize is refused: the views are always data.imageSize', () => {
    const p = pipelineFor({ imageSize: 16, viewOptions: { outputSize: 32 } });
    expect(() => buildViews(p.config, p)).toThrow(/data\.viewOptions\.outputSize.*data\.imageSize \(16\)/);
    p.dispose();
  });
});
