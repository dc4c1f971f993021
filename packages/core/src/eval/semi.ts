import { tf } from '../tf';
import type { Backbone, Dataset, Image, Rng } from '../contracts';
import { SeededRng } from '../util/random';
import { mixSeed } from '../train/seeds';
import { backboneFeatures, imagesToTensor, sampleBatches } from './features';
import { top1Percent } from './knn';
import { initLinear, makeProbeOptimizer, softmaxCrossEntropy, type ProbeOptimizerOptions } from './linear';

export interface SemiOptions extends ProbeOptimizerOptions {
  numClasses: number;
  /** Fraction of labels used, e.g. 0.01 or 0.1. */
  fraction: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /** Backbone lr = lr * backboneLrScale (the head uses lr); default 1. */
  backboneLrScale?: number;
  /** Training augmentation; gets a generator seeded from (seed, epoch, sample index). */
  trainTransform?: (image: Image, rng: Rng) => Image;
  /** Evaluation preprocessing for the test set. */
  evalTransform?: (image: Image) => Image;
  /** Labels of the training set in index order, to choose the subset without decoding every image. */
  trainLabels?: ArrayLike<number>;
  /** Put the backbone's weights and buffers back after fine-tuning (default true). */
  restoreBackbone?: boolean;
}

export interface SemiResult {
  top1: number;
  /** Training indices used, ascending. */
  indices: Int32Array;
}

/**
 * Class-balanced subset: from each class, round(fraction * count) samples (at least 1),
 * chosen by a seeded permutation of that class's indices. Returns ascending indices.
 */
export function balancedSubset(labels: ArrayLike<number>, fraction: number, seed: number): Int32Array {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`fraction must be in (0, 1], got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(c >= 0)) throw new Error(`sample ${i} has no label (got ${c}); a labelled set is needed`);
    const list = byClass.get(c) ?? [];
    list.push(i);
    byClass.set(c, list);
  }
  const out: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(c)!;
    // One generator per class, so a class's pick does not depend on the other classes.
    const perm = new SeededRng(mixSeed(seed, c)).permutation(list.length);
    const take = Math.max(1, Math.round(fraction * list.length));
    for (let j = 0; j < take; j++) out.push(list[perm[j]]);
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/**
 * Semi-supervised evaluation: fine-tunes backbone + a linear head on GAP features with
 * cross-entropy on a class-balanced fraction of the labels (BN in training mode), then reports
 * test top-1 %. The backbone is restored afterwards unless restoreBackbone is false.
 */
export async function semiSupervised(
  backbone: Backbone,
  train: Dataset,
  test: Dataset,
  opts: SemiOptions,
): Promise<SemiResult> {
  const { numClasses } = opts;
  const seed = opts.seed ?? 0;
  const labels = opts.trainLabels ?? (await loadLabels(train));
  if (labels.length !== train.length) {
    throw new Error(
      `semi-supervised: ${labels.length} trainLabels for ${train.length} samples of ${train.name}`,
    );
  }
  const indices = balancedSubset(labels, opts.fraction, seed);
  const batchSize = opts.batchSize ?? 64;
  const trainTransform = opts.trainTransform ?? ((im: Image) => im);
  const evalTransform = opts.evalTransform ?? ((im: Image) => im);
  const entries = backbone.stateEntries();
  const snapshot = (opts.restoreBackbone ?? true) ? entries.map((e) => tf.clone(e.variable)) : undefined;
  const wasTraining = backbone.namedModules().map(([, m]) => [m, m.isTraining] as const);
  const { w, b } = initLinear(backbone.outChannels, numClasses, seed);
  const scale = opts.backboneLrScale ?? 1;
  const headOpt = makeProbeOptimizer(opts, 1e-3);
  const bbOpt = makeProbeOptimizer({ ...opts, lr: (opts.lr ?? 1e-3) * scale }, 1e-3);
  const bbParams = backbone.namedParameters().map((e) => e.variable);
  const rng = new SeededRng(seed + 1);
  try {
    backbone.train();
    for (let epoch = 0; epoch < (opts.epochs ?? 20); epoch++) {
      const order = Int32Array.from(rng.permutation(indices.length), (j) => indices[j]);
      for await (const { samples, indices: idx } of sampleBatches(train, order, batchSize)) {
        // BatchNorm in training mode cannot normalise a single sample.
        if (samples.length < 2) continue;
        const images = samples.map((s, j) =>
          trainTransform(s.image, new SeededRng(mixSeed(seed, epoch, idx[j]))),
        );
        const x = imagesToTensor(images, `semi-supervised on ${train.name}`);
        const y = tf.tensor1d(
          samples.map((s) => s.label ?? -1),
          'int32',
        );
        const { value, grads } = tf.variableGrads(() => {
          const gap = tf.mean(backbone.forward(x), [1, 2]) as tf.Tensor2D;
          const logits = tf.add(tf.matMul(gap, w), b) as tf.Tensor2D;
          return softmaxCrossEntropy(logits, y, numClasses);
        }, [...bbParams, w, b]);
        const headGrads = { [w.name]: grads[w.name], [b.name]: grads[b.name] };
        const bbGrads: Record<string, tf.Tensor> = {};
        for (const v of bbParams) if (grads[v.name]) bbGrads[v.name] = grads[v.name];
        headOpt.applyGradients(headGrads);
        bbOpt.applyGradients(bbGrads);
        const loss = (await value.data())[0];
        tf.dispose([value, x, y, ...Object.values(grads)]);
        if (!Number.isFinite(loss))
          throw new Error(`semi-supervised fine-tuning: loss is ${loss} in epoch ${epoch}`);
      }
    }
    const pred: number[] = [];
    const truth: number[] = [];
    backbone.eval();
    for await (const { samples } of sampleBatches(
      test,
      Int32Array.from({ length: test.length }, (_, i) => i),
      batchSize,
    )) {
      const x = imagesToTensor(
        samples.map((s) => evalTransform(s.image)),
        `semi-supervised test on ${test.name}`,
      );
      const p = tf.tidy(() => tf.argMax(tf.add(tf.matMul(backboneFeatures(backbone, x, false), w), b), 1));
      pred.push(...(await p.data()));
      truth.push(...samples.map((s) => s.label ?? -1));
      tf.dispose([x, p]);
    }
    return { top1: top1Percent(pred, truth), indices };
  } finally {
    if (snapshot) {
      entries.forEach((e, i) => e.variable.assign(snapshot[i]));
      tf.dispose(snapshot);
    }
    for (const [m, training] of wasTraining) m.train(training);
    tf.dispose([w, b]);
    headOpt.dispose();
    bbOpt.dispose();
  }
}

async function loadLabels(ds: Dataset): Promise<Int32Array> {
  const labels = new Int32Array(ds.length);
  for (let i = 0; i < ds.length; i++) labels[i] = (await ds.get(i)).label ?? -1;
  return labels;
}
