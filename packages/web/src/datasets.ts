/**
 * The page's data, built from the config the way `selfsup train` and `selfsup eval` build it
 * (packages/node/src/cli/session.ts: buildDatasets, buildViews, evalTransform), so the kNN the
 * page shows is the kNN `selfsup eval knn` gives for its checkpoint. Platform-neutral.
 */
import {
  Normalize,
  resizeImage,
  resolveType,
  toRGB,
  type Dataset,
  type DatasetRegistration,
  type Image,
  type Pipeline,
  type Sample,
  type SelfsupConfig,
  type ViewPipeline,
  type ViewPipelineRegistration,
  type z,
} from '@selfsup/core';

/** Every HOLD_OUT_EVERY-th image is held out for evaluation when a dataset has no test split (as the CLI). */
export const HOLD_OUT_EVERY = 5;

export interface PageSplits {
  train: Dataset;
  /** Labelled training images without augmentation: the kNN memory set. */
  trainEval?: Dataset;
  /** Labelled held-out images: the kNN queries and the images whose maps are shown. */
  test?: Dataset;
}

/** A read-only subset of a dataset's indices. */
export class DatasetSubset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly numClasses?: number;
  readonly classNames?: string[];
  constructor(
    private readonly base: Dataset,
    private readonly indices: number[],
    part: string,
  ) {
    this.name = `${base.name}[${part}]`;
    this.length = indices.length;
    this.numClasses = base.numClasses;
    this.classNames = base.classNames;
  }
  get(index: number): Promise<Sample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new RangeError(`${this.name}: index ${index} out of range`);
    return this.base.get(this.indices[index]);
  }
}

function schemaKeys(schema: z.ZodTypeAny | undefined): Set<string> {
  const shape = (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return new Set(shape ? Object.keys(shape) : []);
}

/** Without a test split of its own: every 5th image held out (not the tail, which is one class). */
function holdOut(train: Dataset): PageSplits {
  if (train.numClasses === undefined || train.length < 10) return { train };
  const kept: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < train.length; i++) (i % HOLD_OUT_EVERY === HOLD_OUT_EVERY - 1 ? held : kept).push(i);
  const trainPart = new DatasetSubset(train, kept, 'train');
  return { train: trainPart, trainEval: trainPart, test: new DatasetSubset(train, held, 'held-out') };
}

/**
 * Train and held-out data of the config: a registered dataset (the built-in `cluttered`) made
 * with the keys its schema knows, or the user's folder, already decoded in the page.
 */
export async function buildSplits(
  config: SelfsupConfig,
  pipeline: Pipeline,
  folder?: Dataset,
): Promise<PageSplits> {
  const d = config.data;
  if (folder) {
    if (folder.length === 0) throw new Error(`data: the folder '${d.path}' has no images`);
    return holdOut(folder);
  }
  const reg = resolveType<DatasetRegistration>(pipeline.container, 'Dataset', d.dataset, 'data.dataset');
  const keys = schemaKeys(reg.optionsSchema);
  if (keys.has('path')) {
    throw new Error(`data.dataset: '${d.dataset}' reads files; in the page, pick a folder of images instead`);
  }
  const candidate = (split: 'train' | 'test'): Record<string, unknown> => {
    const all: Record<string, unknown> = {
      imageSize: d.imageSize,
      numClasses: d.numClasses,
      seed: config.train.seed,
      split,
      count: split === 'train' ? d.count : d.testCount,
    };
    const common = Object.fromEntries(Object.entries(all).filter(([k, v]) => keys.has(k) && v !== undefined));
    return { ...common, ...d.options };
  };
  const train = await reg.create(candidate('train'));
  if (train.length === 0) throw new Error(`data: dataset '${d.dataset}' has no images`);
  if (!keys.has('split')) return holdOut(train);
  const labelled = train.numClasses !== undefined;
  const test = labelled ? await reg.create(candidate('test')) : undefined;
  return { train, trainEval: labelled ? train : undefined, test };
}

/** The method's own augmentation unless `data.views` names another. */
export function buildViews(config: SelfsupConfig, pipeline: Pipeline): ViewPipeline {
  const type = config.data.views ?? pipeline.method.defaultViews;
  const reg = resolveType<ViewPipelineRegistration>(pipeline.container, 'ViewPipeline', type, 'data.views');
  return reg.create({ outputSize: config.data.imageSize }, pipeline.container);
}

/** An image as the network's input shows it before normalisation: RGB at the training size. */
export function displayTransform(size: number): (image: Image) => Image {
  return (image) => {
    const im = image.channels === 1 ? toRGB(image) : image;
    return im.height !== size || im.width !== size ? resizeImage(im, size, size) : im;
  };
}

/** Evaluation preprocessing: RGB, the training size, ImageNet normalisation. */
export function evalTransform(size: number): (image: Image) => Image {
  const normalize = new Normalize();
  const display = displayTransform(size);
  return (image) => normalize.apply(display(image));
}
