import { tf } from '../tf';
import { SeededRng } from '../util/random';
import { readsAsync, readsSync, type HostReads } from '../util/reads';
import type { FeatureSet } from './features';
import { top1Percent } from './knn';

export interface ProbeOptimizerOptions {
  /** tfjs optimizer: 'adam' (default) or 'sgd' (with momentum). */
  optimizer?: 'adam' | 'sgd';
  lr?: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** L2 penalty wd/2 * ||W||^2 on weights (not biases). */
  weightDecay?: number;
}

export interface LinearProbeOptions extends ProbeOptimizerOptions {
  numClasses: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /**
   * Standardise every feature with the training set's mean and std first (default true), as a
   * BatchNorm without affine in front of the classifier (MAE's probe): GAP features of a short
   * run are far from zero-mean and unit-scale, and the probe underfits them otherwise.
   */
  standardize?: boolean;
}

export interface LinearProbeResult {
  /** Top-1 % on the test set. */
  top1: number;
  /** Top-1 % on the training set after training. */
  trainTop1: number;
  /** Mean training loss of the last epoch. */
  lastLoss: number;
}

/** tfjs' MomentumOptimizer.dispose forgets the learning-rate scalar of its SGD base; this one frees it. */
class ProbeMomentum extends tf.MomentumOptimizer {
  override dispose(): void {
    super.dispose();
    this.c.dispose();
  }
}

/** Makes a tfjs optimizer from probe options; the caller disposes it. */
export function makeProbeOptimizer(o: ProbeOptimizerOptions, defaultLr: number): tf.Optimizer {
  const lr = o.lr ?? defaultLr;
  if (!(lr > 0)) throw new Error(`probe lr must be > 0, got ${o.lr}`);
  switch (o.optimizer ?? 'adam') {
    case 'adam':
      return tf.train.adam(lr);
    case 'sgd':
      return new ProbeMomentum(lr, o.momentum ?? 0.9);
    default:
      throw new Error(`probe optimizer must be 'adam' or 'sgd', got '${String(o.optimizer)}'`);
  }
}

/** Weights [inDim, numClasses] ~ N(0, 0.01^2) from the seed (as MMSelfSup's linear head), bias 0. */
export function initLinear(
  inDim: number,
  numClasses: number,
  seed: number,
): { w: tf.Variable; b: tf.Variable } {
  const rng = new SeededRng(seed);
  const init = new Float32Array(inDim * numClasses);
  for (let i = 0; i < init.length; i++) init[i] = 0.01 * rng.normal();
  return tf.tidy(() => ({
    w: tf.variable(tf.tensor2d(init, [inDim, numClasses])),
    b: tf.variable(tf.zeros([numClasses])),
  }));
}

/**
 * Linear classifier on frozen features with softmax cross-entropy, trained by minibatch
 * Adam/SGD on seeded shuffles; reports test top-1 %.
 */
export function linearProbe(
  train: FeatureSet,
  test: FeatureSet,
  opts: LinearProbeOptions,
): LinearProbeResult {
  return readsSync(linearProbeReads(train, test, opts));
}

/** linearProbe with asynchronous reads (every backend; the only way on webgpu). */
export function linearProbeAsync(
  train: FeatureSet,
  test: FeatureSet,
  opts: LinearProbeOptions,
): Promise<LinearProbeResult> {
  return readsAsync(linearProbeReads(train, test, opts));
}

function* linearProbeReads(
  train: FeatureSet,
  test: FeatureSet,
  opts: LinearProbeOptions,
): HostReads<LinearProbeResult> {
  const { numClasses } = opts;
  if (!(numClasses >= 2)) throw new Error(`linear probe: numClasses must be >= 2, got ${numClasses}`);
  if (train.dim !== test.dim) throw new Error(`linear probe: train dim ${train.dim} != test dim ${test.dim}`);
  checkLabels(train, numClasses, 'train');
  checkLabels(test, numClasses, 'test');
  if (opts.standardize ?? true) {
    const stats = featureStats(train);
    train = standardizeFeatures(train, stats);
    test = standardizeFeatures(test, stats);
  }
  const n = train.labels.length;
  const dim = train.dim;
  const epochs = opts.epochs ?? 100;
  const batchSize = Math.min(opts.batchSize ?? 256, n);
  const seed = opts.seed ?? 0;
  const wd = opts.weightDecay ?? 0;
  const rng = new SeededRng(seed + 1);
  const { w, b } = initLinear(dim, numClasses, seed);
  const optimizer = makeProbeOptimizer(opts, 1e-2);
  let lastLoss = NaN;
  try {
    const x = tf.tensor2d(train.features, [n, dim]);
    const y = tf.tensor1d(train.labels, 'int32');
    // Only the last epoch's losses are reported: read those, all at once after it.
    const lastCosts: Array<[tf.Scalar, number]> = [];
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const perm = rng.permutation(n);
        for (let start = 0; start < n; start += batchSize) {
          const rows = perm.subarray(start, Math.min(start + batchSize, n));
          const cost = tf.tidy(() => {
            const idx = tf.tensor1d(rows, 'int32');
            const xb = tf.gather(x, idx);
            const yb = tf.gather(y, idx);
            return optimizer.minimize(
              () => {
                const logits = tf.add(tf.matMul(xb, w), b) as tf.Tensor2D;
                const ce = softmaxCrossEntropy(logits, yb as tf.Tensor1D, numClasses);
                return wd > 0 ? tf.add(ce, tf.mul(wd / 2, tf.sum(tf.square(w)))) : ce;
              },
              true,
              [w, b],
            ) as tf.Scalar;
          });
          if (epoch === epochs - 1) lastCosts.push([cost, rows.length]);
          else cost.dispose();
        }
      }
      if (lastCosts.length > 0) {
        const values = yield lastCosts.map(([c]) => c);
        let sum = 0;
        let count = 0;
        lastCosts.forEach(([, rows], i) => {
          sum += values[i][0] * rows;
          count += rows;
        });
        lastLoss = sum / count;
      }
    } finally {
      x.dispose();
      y.dispose();
      for (const [c] of lastCosts) c.dispose();
    }
    return {
      top1: top1Percent(yield* predictLinearReads(test, w, b), test.labels),
      trainTop1: top1Percent(yield* predictLinearReads(train, w, b), train.labels),
      lastLoss,
    };
  } finally {
    optimizer.dispose();
    w.dispose();
    b.dispose();
  }
}

/** Per-dimension mean and std (population, in double) of a feature set. */
export function featureStats(set: FeatureSet): { mean: Float64Array; std: Float64Array } {
  const { dim, features } = set;
  const n = features.length / dim;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < features.length; i++) mean[i % dim] += features[i];
  for (let d = 0; d < dim; d++) mean[d] /= Math.max(1, n);
  for (let i = 0; i < features.length; i++) std[i % dim] += (features[i] - mean[i % dim]) ** 2;
  for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d] / Math.max(1, n));
  return { mean, std };
}

/** (x - mean) / (std + 1e-6) per dimension; a constant dimension becomes 0. */
export function standardizeFeatures(
  set: FeatureSet,
  stats: { mean: Float64Array; std: Float64Array },
): FeatureSet {
  const { dim, features } = set;
  const out = new Float32Array(features.length);
  for (let i = 0; i < features.length; i++) {
    const d = i % dim;
    out[i] = (features[i] - stats.mean[d]) / (stats.std[d] + 1e-6);
  }
  return { ...set, features: out };
}

/** argmax(x W + b) per row. */
export function predictLinear(set: FeatureSet, w: tf.Tensor, b: tf.Tensor): Int32Array {
  return readsSync(predictLinearReads(set, w, b));
}

function* predictLinearReads(set: FeatureSet, w: tf.Tensor, b: tf.Tensor): HostReads<Int32Array> {
  const n = set.labels.length;
  if (n === 0) return new Int32Array(0);
  const pred = tf.tidy(() => tf.argMax(tf.add(tf.matMul(tf.tensor2d(set.features, [n, set.dim]), w), b), 1));
  try {
    const [values] = yield [pred];
    return Int32Array.from(values);
  } finally {
    pred.dispose();
  }
}

/**
 * Mean softmax cross-entropy of logits [N, K] against int labels [N]; labels equal to
 * ignoreIndex (if given) count neither in the sum nor in the mean (as PyTorch's ignore_index).
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  numClasses: number,
  ignoreIndex?: number,
): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    const logp = tf.logSoftmax(logits);
    if (ignoreIndex === undefined) {
      const onehot = tf.oneHot(labels, numClasses);
      return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
    }
    const valid = tf.cast(tf.notEqual(labels, ignoreIndex), 'float32');
    // Ignored labels become class 0 for oneHot, then their row is zeroed by `valid`.
    const safe = tf.mul(labels, tf.cast(valid, 'int32'));
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(safe, numClasses), logp), 1));
    return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}

function checkLabels(set: FeatureSet, numClasses: number, what: string): void {
  if (set.features.length !== set.labels.length * set.dim) {
    throw new Error(
      `linear probe ${what}: ${set.features.length} values for ${set.labels.length} rows of dim ${set.dim}`,
    );
  }
  for (let i = 0; i < set.labels.length; i++) {
    const l = set.labels[i];
    if (!(l >= 0 && l < numClasses)) {
      throw new Error(`linear probe ${what}: label ${l} of sample ${i} is outside 0..${numClasses - 1}`);
    }
  }
}
