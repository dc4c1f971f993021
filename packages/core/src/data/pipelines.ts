import type { Image, Rng, Transform, TransformRegistration, ViewPipeline } from '../contracts';
import { markParsed } from '../di/define';
import { cloneImage } from './image';
import { supportsInPlace } from './scratch';
import { IMAGENET_MEAN, IMAGENET_STD } from './transforms/color';
import { blurKernelSize } from './transforms/blur';

/** One transform in config form: its registered `type` plus that registration's options. */
export type TransformConfig = { type: string } & Record<string, unknown>;

/**
 * Builds transforms from configs, validating each one's options with its registration's
 * schema. `where` prefixes errors (e.g. "view pipeline 'byol' view1[2]").
 */
export function buildTransforms(
  configs: readonly TransformConfig[],
  registrations: ReadonlyMap<string, TransformRegistration>,
  where: string,
): Transform[] {
  return configs.map((config, i) => {
    const at = `${where}[${i}]`;
    if (!config || typeof config.type !== 'string') {
      throw new Error(`${at}: a transform config needs a string 'type', got ${JSON.stringify(config)}`);
    }
    const reg = registrations.get(config.type);
    if (!reg) {
      throw new Error(
        `${at}: unknown transform type '${config.type}'; known: ${[...registrations.keys()].sort().join(', ')}`,
      );
    }
    const { type: _type, ...rest } = config;
    let options: Record<string, unknown> = rest;
    if (reg.optionsSchema) {
      const parsed = reg.optionsSchema.safeParse(rest);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .map(
            (iss: { path: (string | number)[]; message: string }) =>
              `${iss.path.join('.') || '(options)'}: ${iss.message}`,
          )
          .join('; ');
        throw new Error(`${at} (${config.type}): invalid options: ${issues}`);
      }
      // Parsed here, with the view's position in the message; create takes them as they are.
      options = markParsed(parsed.data as Record<string, unknown>);
    }
    return reg.create(options);
  });
}

/**
 * Two independently augmented views of one image. View 1's transforms draw from `rng` first,
 * then view 2's, so a seeded rng gives the same pair every time. The input is never mutated;
 * once a transform has produced a fresh buffer (the crop), later transforms that support it
 * work in place on that buffer. So a transform must return its input or a new image whose
 * buffer it does not keep.
 */
export class TwoViewPipeline implements ViewPipeline {
  constructor(
    readonly outputSize: number,
    readonly view1: readonly Transform[],
    readonly view2: readonly Transform[],
    readonly name = 'two_view',
  ) {}

  views(image: Image, rng: Rng): [Image, Image] {
    return [this.run(this.view1, image, rng, 'view1'), this.run(this.view2, image, rng, 'view2')];
  }

  private run(transforms: readonly Transform[], image: Image, rng: Rng, which: string): Image {
    let out = image;
    let owned = false;
    for (const t of transforms) {
      const next = owned && supportsInPlace(t) ? t.applyInPlace(out, rng) : t.apply(out, rng);
      if (next.data !== out.data) owned = true;
      out = next;
    }
    if (!owned) out = cloneImage(out);
    if (out.height !== this.outputSize || out.width !== this.outputSize || out.channels !== 3) {
      throw new Error(
        `view pipeline '${this.name}' ${which}: output is ${out.height}x${out.width}x${out.channels}, expected ` +
          `${this.outputSize}x${this.outputSize}x3 (does it end with a crop/resize to outputSize and normalize?)`,
      );
    }
    return out;
  }
}

export interface PresetOptions {
  outputSize: number;
  /** RandomResizedCrop area range. */
  scale?: [number, number];
  mean?: number[];
  std?: number[];
  /** Blur sigma range in pixels; default [0.1, 2.0] scaled by outputSize / 224. */
  blurSigma?: [number, number];
  /** Odd blur kernel; default ~10% of outputSize (23 at 224). */
  blurKernelSize?: number;
  /** Colour jitter's hue range h (shift uniform in [-h, h] of a turn); default 0.1. */
  hue?: number;
  /** Probability of the random grayscale; default 0.2. */
  grayscale?: number;
}

/** Pixel-size parameters in the spec are for 224 px images. */
function blurConfig(o: PresetOptions, p: number): TransformConfig {
  const f = o.outputSize / 224;
  return {
    type: 'gaussian_blur',
    p,
    sigma: o.blurSigma ?? [0.1 * f, 2.0 * f],
    kernelSize: o.blurKernelSize ?? blurKernelSize(o.outputSize),
  };
}

const crop = (o: PresetOptions): TransformConfig => ({
  type: 'random_resized_crop',
  size: o.outputSize,
  scale: o.scale ?? [0.2, 1],
  ratio: [3 / 4, 4 / 3],
});
const flip: TransformConfig = { type: 'horizontal_flip', p: 0.5 };
const jitter = (o: PresetOptions, saturation: number): TransformConfig[] => [
  { type: 'color_jitter', brightness: 0.4, contrast: 0.4, saturation, hue: o.hue ?? 0.1, p: 0.8 },
  { type: 'random_grayscale', p: o.grayscale ?? 0.2 },
];

function tail(o: PresetOptions): TransformConfig[] {
  return [
    { type: 'to_rgb' },
    { type: 'normalize', mean: o.mean ?? [...IMAGENET_MEAN], std: o.std ?? [...IMAGENET_STD] },
  ];
}

/**
 * BYOL / LEWEL_B views (METHODS.md "Two-view augmentation"): both RRC(0.2-1), flip 0.5,
 * jitter(0.4, 0.4, 0.2, 0.1) p 0.8, grayscale 0.2; view 1 blur p 1.0, no solarize;
 * view 2 blur p 0.1 and solarize p 0.2 (threshold 128/255); then ImageNet normalisation.
 */
export function byolViewConfigs(o: PresetOptions): [TransformConfig[], TransformConfig[]] {
  return [
    [crop(o), flip, ...jitter(o, 0.2), blurConfig(o, 1.0), ...tail(o)],
    [
      crop(o),
      flip,
      ...jitter(o, 0.2),
      blurConfig(o, 0.1),
      { type: 'solarize', p: 0.2, threshold: 128 / 255 },
      ...tail(o),
    ],
  ];
}

/**
 * MoCo v2 views, both alike, in its release's order: RRC(0.2-1), jitter(0.4, 0.4, 0.4, 0.1)
 * p 0.8, grayscale 0.2, blur p 0.5, flip 0.5, then ImageNet normalisation.
 */
export function mocov2ViewConfigs(o: PresetOptions): [TransformConfig[], TransformConfig[]] {
  const view = [crop(o), ...jitter(o, 0.4), blurConfig(o, 0.5), flip, ...tail(o)];
  return [view, view.map((c) => ({ ...c }))];
}
