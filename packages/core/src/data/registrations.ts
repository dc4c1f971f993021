import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import type {
  DatasetRegistration,
  TransformRegistration,
  ViewPipeline,
  ViewPipelineRegistration,
} from '../contracts';
import { Tokens } from '../contracts/tokens';
import { ClutteredDataset, CLUTTERED_SHAPES } from './datasets/cluttered';
import { CifarDataset } from './datasets/cifar';
import {
  DEFAULT_FASHION_MNIST_PATH,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  MnistDataset,
} from './datasets/idx';
import { ImageFolderDataset } from './datasets/imageFolder';
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

/** Parses with `schema`, turning zod issues into one message that names the registration and key. */
function parseOptions<S extends z.ZodTypeAny>(schema: S, options: unknown, what: string): z.output<S> {
  const result = schema.safeParse(options ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
      .join('; ');
    throw new Error(`${what}: invalid options: ${issues}`);
  }
  return result.data;
}

const posInt = z.number().int().positive();
const probability = z.number().min(0).max(1);
const range = z.tuple([z.number(), z.number()]);
const split = z.enum(['train', 'test']).default('train');
const size = z.union([posInt, z.tuple([posInt, posInt])]);

// ---------------------------------------------------------------- datasets

const imageFolderSchema = z
  .object({
    path: z.string().min(1),
    resize: size.optional(),
    fit: z.enum(['cover', 'fill', 'contain']).default('cover'),
    onBadImage: z.enum(['skip', 'fail']).default('fail'),
    cacheSize: z.number().int().min(0).default(0),
    extensions: z.array(z.string().startsWith('.')).min(1).optional(),
    limit: posInt.optional(),
  })
  .strict();

const cifar10Schema = z.object({ path: z.string().min(1), split, limit: posInt.optional() }).strict();
const cifar100Schema = z
  .object({
    path: z.string().min(1),
    split,
    labelType: z.enum(['fine', 'coarse']).default('fine'),
    limit: posInt.optional(),
  })
  .strict();
const mnistSchema = z.object({ path: z.string().min(1), split, limit: posInt.optional() }).strict();
const fashionMnistSchema = z
  .object({ path: z.string().min(1).default(DEFAULT_FASHION_MNIST_PATH), split, limit: posInt.optional() })
  .strict();
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
  {
    type: 'cluttered',
    plugin: PLUGIN,
    description:
      'Built-in synthetic "cluttered objects": shapes of up to 10 classes over a cluttered background, with class+1 masks',
    optionsSchema: clutteredSchema,
    create: async (options) =>
      new ClutteredDataset(parseOptions(clutteredSchema, options, "dataset 'cluttered'")),
  },
  {
    type: 'image_folder',
    plugin: PLUGIN,
    description: 'PNG/JPEG folder; class subfolders give labels, a flat folder is unlabelled',
    optionsSchema: imageFolderSchema,
    create: async (options) =>
      ImageFolderDataset.load(parseOptions(imageFolderSchema, options, "dataset 'image_folder'")),
  },
  {
    type: 'cifar10',
    plugin: PLUGIN,
    description: 'CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)',
    optionsSchema: cifar10Schema,
    create: async (options) =>
      CifarDataset.load('cifar10', parseOptions(cifar10Schema, options, "dataset 'cifar10'")),
  },
  {
    type: 'cifar100',
    plugin: PLUGIN,
    description: 'CIFAR-100 binary version (train.bin, test.bin; fine or coarse labels)',
    optionsSchema: cifar100Schema,
    create: async (options) =>
      CifarDataset.load('cifar100', parseOptions(cifar100Schema, options, "dataset 'cifar100'")),
  },
  {
    type: 'mnist',
    plugin: PLUGIN,
    description: 'MNIST IDX files (gzipped or raw), 1-channel 28x28',
    optionsSchema: mnistSchema,
    create: async (options) =>
      MnistDataset.load('mnist', MNIST_CLASSES, parseOptions(mnistSchema, options, "dataset 'mnist'")),
  },
  {
    type: 'fashion_mnist',
    plugin: PLUGIN,
    description: `Fashion-MNIST IDX files (default path ${DEFAULT_FASHION_MNIST_PATH}, Debian dataset-fashion-mnist)`,
    optionsSchema: fashionMnistSchema,
    create: async (options) =>
      MnistDataset.load(
        'fashion_mnist',
        FASHION_MNIST_CLASSES,
        parseOptions(fashionMnistSchema, options, "dataset 'fashion_mnist'"),
      ),
  },
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
  return {
    type,
    plugin: PLUGIN,
    description,
    optionsSchema: schema,
    create: (options) => make(parseOptions(schema, options, `transform '${type}'`)),
  };
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
  return {
    type,
    plugin: PLUGIN,
    description,
    optionsSchema: presetSchema,
    create: (options, container): ViewPipeline => {
      const o = parseOptions(presetSchema, options, `view pipeline '${type}'`);
      const [c1, c2] = configs(o);
      const registry = transformRegistry(container);
      return new TwoViewPipeline(
        o.outputSize,
        buildTransforms(c1, registry, `view pipeline '${type}' view1`),
        buildTransforms(c2, registry, `view pipeline '${type}' view2`),
        type,
      );
    },
  };
}

export const viewPipelineRegistrations: ViewPipelineRegistration[] = [
  preset(
    'byol',
    'BYOL/LEWEL_B asymmetric views: view1 blur p1, view2 blur p0.1 + solarize p0.2',
    byolViewConfigs,
  ),
  preset('mocov2', 'MoCo v2 symmetric views: blur p0.5, jitter saturation 0.4', mocov2ViewConfigs),
  {
    type: 'two_view',
    plugin: PLUGIN,
    description: 'Two views from lists of transform configs {type, ...options} (view1, view2)',
    optionsSchema: twoViewSchema,
    create: (options, container): ViewPipeline => {
      const o = parseOptions(twoViewSchema, options, "view pipeline 'two_view'");
      const registry = transformRegistry(container);
      return new TwoViewPipeline(
        o.outputSize,
        buildTransforms(o.view1 as TransformConfig[], registry, "view pipeline 'two_view' view1"),
        buildTransforms(o.view2 as TransformConfig[], registry, "view pipeline 'two_view' view2"),
      );
    },
  },
];
