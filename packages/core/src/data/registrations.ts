import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import type {
  DatasetRegistration,
  TransformRegistration,
  ViewPipeline,
  ViewPipelineRegistration,
} from '../contracts';
import { Tokens } from '../contracts/tokens';
import { defineAsyncRegistration, defineRegistration } from '../di/define';
import { ClutteredDataset, CLUTTERED_SHAPES } from './datasets/cluttered';
import {
  buildTransforms,
  byolViewConfigs,
  mocov2ViewConfigs,
  TwoViewPipeline,
  type PresetOptions,
  type TransformConfig,
} from './pipelines';
import { GaussianBlur } from './transforms/blur';
import {
  ColorJitter,
  IMAGENET_MEAN,
  IMAGENET_STD,
  Normalize,
  RandomGrayscale,
  Solarize,
  ToRGB,
} from './transforms/color';
import { HorizontalFlip, RandomResizedCrop } from './transforms/geometric';

const PLUGIN = '@selfsup/core';

const posInt = z.number().int().positive();
const probability = z.number().min(0).max(1);
const range = z.tuple([z.number(), z.number()]);
/** Option shapes that dataset plugins share. */
export const datasetSplitSchema = z.enum(['train', 'test']).default('train');
export const imageSizeSchema = z.union([posInt, z.tuple([posInt, posInt])]);
const split = datasetSplitSchema;
const size = imageSizeSchema;

// ---------------------------------------------------------------- datasets

const clutteredSchema = z
  .object({
    count: posInt.optional(),
    imageSize: z.number().int().min(8).default(32),
    numClasses: z.number().int().min(1).max(CLUTTERED_SHAPES.length).default(10),
    seed: z.number().int().default(0),
    split,
    objects: posInt.default(1),
    palette: z.number().int().min(0).optional(),
    backgroundChroma: z.number().min(0).max(1).optional(),
    objectScale: z.tuple([z.number().gt(0), z.number().max(0.5)]).optional(),
    distractors: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
  })
  .strict();

export const datasetRegistrations: DatasetRegistration[] = [
  defineAsyncRegistration({
    type: 'cluttered',
    plugin: PLUGIN,
    description:
      'Built-in synthetic "cluttered objects": shapes of up to 10 classes over a cluttered background, with class+1 masks',
    optionsSchema: clutteredSchema,
    create: async (options) => new ClutteredDataset(options),
  }),
];

// ---------------------------------------------------------------- transforms

const rrcSchema = z
  .object({
    size,
    scale: range.default([0.2, 1]),
    ratio: range.default([3 / 4, 4 / 3]),
  })
  .strict();
const flipSchema = z.object({ p: probability.default(0.5) }).strict();
const jitterSchema = z
  .object({
    brightness: z.number().min(0).default(0),
    contrast: z.number().min(0).default(0),
    saturation: z.number().min(0).default(0),
    hue: z.number().min(0).max(0.5).default(0),
    p: probability.default(1),
  })
  .strict();
const grayscaleSchema = z.object({ p: probability.default(0.1) }).strict();
const blurSchema = z
  .object({
    p: probability.default(1),
    sigma: range.default([0.1, 2.0]),
    kernelSize: posInt.refine((k) => k % 2 === 1, 'must be odd').optional(),
    kernelFraction: z.number().positive().max(1).default(0.1),
  })
  .strict();
const solarizeSchema = z.object({ p: probability.default(0.5), threshold: z.number().default(0.5) }).strict();
const normalizeSchema = z
  .object({
    mean: z
      .array(z.number())
      .min(1)
      .default([...IMAGENET_MEAN]),
    std: z
      .array(z.number().positive())
      .min(1)
      .default([...IMAGENET_STD]),
  })
  .strict();
const toRgbSchema = z.object({}).strict();

function transform<S extends z.ZodTypeAny>(
  type: string,
  description: string,
  schema: S,
  make: (o: z.output<S>) => import('../contracts').Transform,
): TransformRegistration {
  return defineRegistration({ type, plugin: PLUGIN, description, optionsSchema: schema, create: make });
}

export const transformRegistrations: TransformRegistration[] = [
  transform(
    'random_resized_crop',
    'torchvision RandomResizedCrop (10 tries, center-crop fallback), antialiased bilinear',
    rrcSchema,
    (o) => new RandomResizedCrop(o),
  ),
  transform(
    'horizontal_flip',
    'Left-right flip with probability p',
    flipSchema,
    (o) => new HorizontalFlip(o.p),
  ),
  transform(
    'color_jitter',
    'torchvision ColorJitter (random op order) applied with probability p',
    jitterSchema,
    (o) => new ColorJitter(o),
  ),
  transform(
    'random_grayscale',
    'Luma (0.299, 0.587, 0.114) with probability p, 3 channels kept',
    grayscaleSchema,
    (o) => new RandomGrayscale(o.p),
  ),
  transform(
    'gaussian_blur',
    'Separable Gaussian blur, random sigma, reflect padding, kernel ~10% of the side',
    blurSchema,
    (o) => new GaussianBlur(o),
  ),
  transform(
    'solarize',
    'Invert values >= threshold with probability p',
    solarizeSchema,
    (o) => new Solarize(o.p, o.threshold),
  ),
  transform(
    'normalize',
    '(x - mean) / std per channel (ImageNet by default)',
    normalizeSchema,
    (o) => new Normalize(o.mean, o.std),
  ),
  transform('to_rgb', 'Replicate 1-channel images to 3 channels', toRgbSchema, () => new ToRGB()),
];

/**
 * Transform registrations by type: the built-ins, overridden or extended by those registered in
 * `container` under Tokens.Transform (so users can insert their own transform by name).
 */
export function transformRegistry(container?: DependencyContainer): Map<string, TransformRegistration> {
  const map = new Map<string, TransformRegistration>();
  for (const r of transformRegistrations) map.set(r.type, r);
  if (container && container.isRegistered(Tokens.Transform, true)) {
    for (const r of container.resolveAll<TransformRegistration>(Tokens.Transform)) map.set(r.type, r);
  }
  return map;
}

// ---------------------------------------------------------------- view pipelines

const transformConfigSchema = z.object({ type: z.string().min(1) }).passthrough();
const presetSchema = z
  .object({
    outputSize: posInt,
    scale: range.optional(),
    mean: z.array(z.number()).min(1).optional(),
    std: z.array(z.number().positive()).min(1).optional(),
    blurSigma: range.optional(),
    blurKernelSize: posInt.refine((k) => k % 2 === 1, 'must be odd').optional(),
    hue: z.number().min(0).max(0.5).optional(),
    grayscale: z.number().min(0).max(1).optional(),
  })
  .strict();
const twoViewSchema = z
  .object({
    outputSize: posInt,
    view1: z.array(transformConfigSchema).min(1),
    view2: z.array(transformConfigSchema).min(1),
  })
  .strict();

function preset(
  type: string,
  description: string,
  configs: (o: PresetOptions) => [TransformConfig[], TransformConfig[]],
): ViewPipelineRegistration {
  return defineRegistration({
    type,
    plugin: PLUGIN,
    description,
    optionsSchema: presetSchema,
    create: (o, container: DependencyContainer): ViewPipeline => {
      const [c1, c2] = configs(o);
      const registry = transformRegistry(container);
      return new TwoViewPipeline(
        o.outputSize,
        buildTransforms(c1, registry, `view pipeline '${type}' view1`),
        buildTransforms(c2, registry, `view pipeline '${type}' view2`),
        type,
      );
    },
  });
}

export const viewPipelineRegistrations: ViewPipelineRegistration[] = [
  preset(
    'byol',
    'BYOL/LEWEL_B asymmetric views: view1 blur p1, view2 blur p0.1 + solarize p0.2',
    byolViewConfigs,
  ),
  preset('mocov2', 'MoCo v2 symmetric views: blur p0.5, jitter saturation 0.4', mocov2ViewConfigs),
  defineRegistration({
    type: 'two_view',
    plugin: PLUGIN,
    description: 'Two views from lists of transform configs {type, ...options} (view1, view2)',
    optionsSchema: twoViewSchema,
    create: (o, container: DependencyContainer): ViewPipeline => {
      const registry = transformRegistry(container);
      return new TwoViewPipeline(
        o.outputSize,
        buildTransforms(o.view1 as TransformConfig[], registry, "view pipeline 'two_view' view1"),
        buildTransforms(o.view2 as TransformConfig[], registry, "view pipeline 'two_view' view2"),
      );
    },
  }),
];
