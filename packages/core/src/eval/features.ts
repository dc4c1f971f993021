import { tf } from '../tf';
import { normalizeL2 } from '../nn/functional';
import type { Backbone, Dataset, Image, Sample } from '../contracts';
import type { Module } from '../nn/module';

/** Features of a labelled set as plain arrays: row i of `features` ([n, dim], row-major) has label labels[i]. */
export interface FeatureSet {
  features: Float32Array;
  dim: number;
  labels: Int32Array;
}

export interface ExtractOptions {
  batchSize?: number;
  /** Evaluation preprocessing (resize/crop + normalisation); images of one batch must end up the same size. */
  transform?: (image: Image) => Image;
  /** Subset of dataset indices, in this order; all by default. */
  indices?: ArrayLike<number>;
  /** L2-normalise each feature row (default true). */
  normalize?: boolean;
}

/** Runs fn with the module in eval mode and puts back every submodule's mode, even when fn throws. */
export function inEvalMode<T>(module: Module, fn: () => T): T {
  const modes = module.namedModules().map(([, m]) => [m, m.isTraining] as const);
  module.eval();
  try {
    return fn();
  } finally {
    for (const [m, training] of modes) m.train(training);
  }
}

/** L2-normalised global-average-pooled feature map of a batch: [B, C]. Eval mode, restored after. */
export function backboneFeatures(backbone: Backbone, images: tf.Tensor4D, normalize = true): tf.Tensor2D {
  return inEvalMode(backbone, () =>
    tf.tidy(() => {
      const gap = tf.mean(backbone.forward(images), [1, 2]) as tf.Tensor2D;
      return normalize ? normalizeL2(gap, 1) : gap;
    }),
  );
}

/** Stacks HWC images into one NHWC tensor; all must share height, width and channels. */
export function imagesToTensor(images: Image[], what = 'batch'): tf.Tensor4D {
  if (images.length === 0) throw new Error(`${what}: no images`);
  const { height, width, channels } = images[0];
  const per = height * width * channels;
  const data = new Float32Array(images.length * per);
  images.forEach((im, i) => {
    if (im.height !== height || im.width !== width || im.channels !== channels) {
      throw new Error(
        `${what}: image ${i} is ${im.height}x${im.width}x${im.channels}, expected ${height}x${width}x${channels} like image 0 (use an eval transform that resizes)`,
      );
    }
    data.set(im.data, i * per);
  });
  return tf.tensor4d(data, [images.length, height, width, channels]);
}

/** Loads samples in index order, batchSize at a time, prefetching the next batch while the caller computes. */
export async function* sampleBatches(
  dataset: Dataset,
  indices: ArrayLike<number>,
  batchSize: number,
): AsyncGenerator<{ samples: Sample[]; indices: number[] }> {
  if (!(batchSize >= 1)) throw new Error(`batchSize must be >= 1, got ${batchSize}`);
  const load = (start: number) => {
    const idx = Array.from(
      { length: Math.min(batchSize, indices.length - start) },
      (_, j) => indices[start + j],
    );
    return Promise.all(idx.map((i) => dataset.get(i))).then((samples) => ({ samples, indices: idx }));
  };
  let next = indices.length > 0 ? load(0) : undefined;
  for (let start = 0; next; start += batchSize) {
    const cur = await next;
    next = start + batchSize < indices.length ? load(start + batchSize) : undefined;
    yield cur;
  }
}

export function allIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * One row per sample of a dataset, batched: each batch of eval-transformed images [B, H, W, C]
 * becomes `rowsOf(x)` ([B, dim]), read asynchronously. `dim` is known up front or set by the
 * first batch; a batch of another width fails with `mismatch(x's shape, its width)`. Samples
 * without a label get -1. What the backbone's features and the raw-pixel baseline share.
 */
export async function extractRows(
  dataset: Dataset,
  opts: ExtractOptions,
  what: string,
  rowsOf: (x: tf.Tensor4D) => tf.Tensor2D,
  spec: { dim?: number; mismatch: (shape: number[], width: number, dim: number, row: number) => string },
): Promise<FeatureSet> {
  const indices = opts.indices ?? allIndices(dataset.length);
  const transform = opts.transform ?? ((im: Image) => im);
  let dim = spec.dim;
  let features = new Float32Array(indices.length * (dim ?? 0));
  const labels = new Int32Array(indices.length);
  let row = 0;
  for await (const { samples } of sampleBatches(dataset, indices, opts.batchSize ?? 64)) {
    const x = imagesToTensor(
      samples.map((s) => transform(s.image)),
      `${what} of ${dataset.name}`,
    );
    let f: tf.Tensor2D;
    try {
      f = rowsOf(x);
    } finally {
      x.dispose();
    }
    let data: Float32Array;
    try {
      const width = f.shape[1];
      if (dim === undefined) {
        dim = width;
        features = new Float32Array(indices.length * dim);
      } else if (width !== dim) {
        throw new Error(spec.mismatch(x.shape, width, dim, row));
      }
      data = (await f.data()) as Float32Array;
    } finally {
      f.dispose();
    }
    features.set(data, row * dim);
    samples.forEach((s, j) => (labels[row + j] = s.label ?? -1));
    row += samples.length;
  }
  return { features, dim: dim ?? 0, labels };
}

/**
 * GAP features of the backbone (eval mode) for a dataset, batched. Samples without a label get -1.
 */
export function extractFeatures(
  backbone: Backbone,
  dataset: Dataset,
  opts: ExtractOptions = {},
): Promise<FeatureSet> {
  return extractRows(
    dataset,
    opts,
    'features',
    (x) => backboneFeatures(backbone, x, opts.normalize ?? true),
    {
      dim: backbone.outChannels,
      mismatch: (_shape, width, dim) => `backbone features have ${width} channels, outChannels says ${dim}`,
    },
  );
}

/**
 * Features of a memory set (the labelled training images) and a query set (the held-out ones)
 * under the same options: what kNN and the linear probe compare.
 */
export async function extractMemoryAndQuery(
  backbone: Backbone,
  sets: { memory: Dataset; query: Dataset },
  opts: ExtractOptions = {},
): Promise<{ memory: FeatureSet; query: FeatureSet }> {
  const memory = await extractFeatures(backbone, sets.memory, opts);
  const query = await extractFeatures(backbone, sets.query, opts);
  return { memory, query };
}
