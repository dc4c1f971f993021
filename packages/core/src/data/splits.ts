/**
 * The data of a config: train, kNN-memory and held-out splits, the method's views and the
 * evaluation preprocessing. One definition for every front end (the CLI, the web page), so the
 * kNN a page shows for a checkpoint is the one `selfsup eval knn` gives.
 */
import type {
  Dataset,
  DatasetRegistration,
  Image,
  Sample,
  ViewPipeline,
  ViewPipelineRegistration,
} from '../contracts';
import { schemaKeys, type SelfsupConfig } from '../config/schema';
import type { Pipeline } from '../di/pipeline';
import { resolveType } from '../di/registry';
import { resizeImage } from './resize';
import { Normalize } from './transforms/color';
import { toRGB } from './image';

/** Every HOLD_OUT_EVERY-th image is held out for evaluation when a dataset has no test split. */
export const HOLD_OUT_EVERY = 5;

export interface DataSplits {
  train: Dataset;
  /** Labelled held-out data for kNN / probes, if the dataset has labels. */
  test?: Dataset;
  /** Labelled training data without augmentation (the kNN memory set). */
  trainEval?: Dataset;
  /** The dataset as loaded (before any held-out split), e.g. for its skipped-image count. */
  source: Dataset;
}

/** A read-only subset of a dataset's indices, for a held-out split of datasets that have none. */
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

/**
 * Splits a labelled dataset without a test split of its own: every 5th image held out
 * (deterministic). Not the tail: files come sorted by class folder, so the last 20% would be
 * the last class only. Unlabelled or tiny datasets are all training data.
 */
export function holdOutSplits(dataset: Dataset): DataSplits {
  if (dataset.numClasses === undefined || dataset.length < 10) return { train: dataset, source: dataset };
  const kept: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < dataset.length; i++) (i % HOLD_OUT_EVERY === HOLD_OUT_EVERY - 1 ? held : kept).push(i);
  const train = new DatasetSubset(dataset, kept, 'train');
  return { train, trainEval: train, test: new DatasetSubset(dataset, held, 'held-out'), source: dataset };
}

/** The registration `data.dataset` names, and the option keys its schema knows. */
export function resolveDataset(
  config: SelfsupConfig,
  pipeline: Pipeline,
): { registration: DatasetRegistration; keys: Set<string> } {
  const registration = resolveType<DatasetRegistration>(
    pipeline.container,
    'Dataset',
    config.data.dataset,
    'data.dataset',
  );
  return { registration, keys: schemaKeys(registration.optionsSchema) };
}

/**
 * A dataset's options for one split. Only the keys its schema knows are passed, so
 * `data.path`, `data.count`, `data.imageSize` mean the same for every dataset (`count` limits
 * how many images a file dataset uses); `data.options` go as they are, for the schema to check.
 */
export function datasetOptions(
  config: SelfsupConfig,
  keys: Set<string>,
  split: 'train' | 'test',
): Record<string, unknown> {
  const d = config.data;
  const count = split === 'train' ? d.count : d.testCount;
  const all: Record<string, unknown> = {
    path: d.path,
    imageSize: d.imageSize,
    numClasses: d.numClasses,
    seed: config.train.seed,
    onBadImage: d.onBadImage,
    resize: d.imageSize,
    split,
    count,
    limit: count,
  };
  const common = Object.fromEntries(Object.entries(all).filter(([k, v]) => keys.has(k) && v !== undefined));
  return { ...common, ...d.options };
}

/**
 * Train, kNN-memory and held-out data of the config's registered dataset: its own test split
 * where its schema has `split`, else every 5th image held out.
 */
export async function buildDataSplits(config: SelfsupConfig, pipeline: Pipeline): Promise<DataSplits> {
  const d = config.data;
  const { registration, keys } = resolveDataset(config, pipeline);
  const train = await registration.create(datasetOptions(config, keys, 'train'));
  if (train.length === 0)
    throw new Error(`data: dataset '${d.dataset}'${d.path ? ` at ${d.path}` : ''} has no images`);
  if (!keys.has('split')) return holdOutSplits(train);
  const labelled = train.numClasses !== undefined;
  const test = labelled ? await registration.create(datasetOptions(config, keys, 'test')) : undefined;
  return { train, test, trainEval: labelled ? train : undefined, source: train };
}

/** The method's own augmentation unless `data.views` names another, with `data.viewOptions`. */
export function buildViews(config: SelfsupConfig, pipeline: Pipeline): ViewPipeline {
  const { views, viewOptions = {}, imageSize } = config.data;
  const type = views ?? pipeline.method.defaultViews;
  const reg = resolveType<ViewPipelineRegistration>(pipeline.container, 'ViewPipeline', type, 'data.views');
  if ('outputSize' in viewOptions) {
    throw new Error(
      `data.viewOptions.outputSize: the views are always data.imageSize (${imageSize}) in size; set data.imageSize instead`,
    );
  }
  try {
    return reg.create({ ...viewOptions, outputSize: imageSize }, pipeline.container);
  } catch (err) {
    throw new Error(`data.viewOptions (views '${type}'): ${(err as Error).message}`, { cause: err });
  }
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
