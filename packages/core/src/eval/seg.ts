import { tf } from '../tf';
import type { Backbone, Dataset, Sample } from '../contracts';
import { SeededRng } from '../util/random';
import { allIndices, imagesToTensor, inEvalMode, sampleBatches } from './features';
import { initLinear, makeProbeOptimizer, softmaxCrossEntropy, type ProbeOptimizerOptions } from './linear';

export interface SegProbeOptions extends ProbeOptimizerOptions {
  /** Classes including background 0. */
  numClasses: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /** Mask value excluded from loss and score (VOC boundaries); default 255. */
  ignoreIndex?: number;
  /** Evaluation preprocessing of image and mask together; samples of one batch must end up the same size. */
  transform?: (sample: Sample) => Sample;
}

export interface SegProbeResult {
  /** Mean IoU in % over classes that occur in prediction or ground truth of the test set. */
  mIoU: number;
  /** IoU in % per class; NaN for a class absent from both. */
  iou: number[];
  /** Pixel accuracy in % over non-ignored pixels. */
  pixelAcc: number;
}

/**
 * Interpolation matrix [outSize, inSize] of 1-D linear resizing with PyTorch's
 * align_corners=False (TF half_pixel_centers): src = (dst + 0.5) * in / out - 0.5, clamped at 0.
 */
export function linearResizeMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const lambda = src - i0;
    m[o * inSize + i0] += 1 - lambda;
    m[o * inSize + i1] += lambda;
  }
  return m;
}

/**
 * Bilinear resize of NHWC x to [outH, outW] (align_corners=False), written as two matrix
 * products so it differentiates correctly: tfjs' cpu ResizeBilinearGrad ignores
 * halfPixelCenters and mislabels non-square shapes. Forward equals
 * tf.image.resizeBilinear(x, size, false, true).
 */
export function resizeBilinearDifferentiable(x: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const ry = tf.tensor2d(linearResizeMatrix(h, outH), [outH, h]);
    const rx = tf.tensor2d(linearResizeMatrix(w, outW), [outW, w]);
    // Width: [b, h, c, w] x rx^T -> [b, h, c, outW].
    const xw = tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [b * h * c, w]);
    const yw = tf.reshape(tf.matMul(xw, rx, false, true), [b, h, c, outW]);
    // Height: [b, outW, c, h] x ry^T -> [b, outW, c, outH].
    const xh = tf.reshape(tf.transpose(yw, [0, 3, 2, 1]), [b * outW * c, h]);
    const yh = tf.reshape(tf.matMul(xh, ry, false, true), [b, outW, c, outH]);
    return tf.transpose(yh, [0, 3, 1, 2]) as tf.Tensor4D;
  });
}

/** Confusion counts [numClasses, numClasses] (row = truth, column = prediction), skipping ignoreIndex pixels. */
export function confusionMatrix(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  numClasses: number,
  ignoreIndex = 255,
  into?: Float64Array,
): Float64Array {
  if (pred.length !== truth.length)
    throw new Error(`confusion: ${pred.length} predictions for ${truth.length} pixels`);
  const m = into ?? new Float64Array(numClasses * numClasses);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    if (t === ignoreIndex) continue;
    if (!(t >= 0 && t < numClasses))
      throw new Error(`mask value ${t} at pixel ${i} is outside 0..${numClasses - 1}`);
    m[t * numClasses + pred[i]]++;
  }
  return m;
}

/** IoU per class (TP / (TP + FP + FN), %) and their mean over classes with a non-empty union. */
export function meanIoU(confusion: Float64Array, numClasses: number): SegProbeResult {
  const iou: number[] = [];
  let sum = 0;
  let present = 0;
  let correct = 0;
  let total = 0;
  for (let c = 0; c < numClasses; c++) {
    let rowSum = 0;
    let colSum = 0;
    for (let j = 0; j < numClasses; j++) {
      rowSum += confusion[c * numClasses + j];
      colSum += confusion[j * numClasses + c];
    }
    const tp = confusion[c * numClasses + c];
    const union = rowSum + colSum - tp;
    correct += tp;
    total += rowSum;
    if (union > 0) {
      iou.push((100 * tp) / union);
      sum += (100 * tp) / union;
      present++;
    } else iou.push(NaN);
  }
  return { mIoU: present ? sum / present : 0, iou, pixelAcc: total ? (100 * correct) / total : 0 };
}

interface CachedBatch {
  feats: Float32Array;
  featShape: [number, number, number, number];
  masks: Int32Array;
  maskHW: [number, number];
}

/** Frozen feature maps (eval mode) and masks of a dataset, batched, as plain arrays. */
async function cacheFeatureMaps(
  backbone: Backbone,
  dataset: Dataset,
  batchSize: number,
  transform: (s: Sample) => Sample,
): Promise<CachedBatch[]> {
  const out: CachedBatch[] = [];
  for await (const { samples, indices } of sampleBatches(dataset, allIndices(dataset.length), batchSize)) {
    const prepared = samples.map(transform);
    const { height, width } = prepared[0].image;
    const masks = new Int32Array(prepared.length * height * width);
    prepared.forEach((s, j) => {
      if (!s.mask) throw new Error(`segmentation probe: sample ${indices[j]} of ${dataset.name} has no mask`);
      if (s.mask.length !== height * width || s.image.height !== height || s.image.width !== width) {
        throw new Error(
          `segmentation probe: sample ${indices[j]} of ${dataset.name} has image ${s.image.height}x${s.image.width} and mask of ${s.mask.length} pixels, expected ${height}x${width} like the batch`,
        );
      }
      masks.set(s.mask, j * height * width);
    });
    const x = imagesToTensor(
      prepared.map((s) => s.image),
      `segmentation probe on ${dataset.name}`,
    );
    const f = inEvalMode(backbone, () => tf.tidy(() => backbone.forward(x)));
    x.dispose();
    out.push({
      feats: (await f.data()) as Float32Array,
      featShape: f.shape as [number, number, number, number],
      masks,
      maskHW: [height, width],
    });
    f.dispose();
  }
  return out;
}

/** Per-pixel logits at mask resolution: 1x1 linear map of the feature map, then bilinear upsampling. */
function segLogits(batch: CachedBatch, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, wd, c] = batch.featShape;
    const k = w.shape[1] as number;
    const f = tf.tensor2d(batch.feats, [n * h * wd, c]);
    const logits = tf.reshape(tf.add(tf.matMul(f, w), b), [n, h, wd, k]) as tf.Tensor4D;
    return resizeBilinearDifferentiable(logits, batch.maskHW[0], batch.maskHW[1]);
  });
}

/**
 * Dense linear probe: a per-pixel linear classifier on the frozen NHWC feature map, logits
 * upsampled bilinearly to the mask size, trained with pixel cross-entropy; reports mIoU on test.
 * Feature maps are computed once and cached as plain arrays (the backbone is frozen).
 */
export async function segmentationProbe(
  backbone: Backbone,
  train: Dataset,
  test: Dataset,
  opts: SegProbeOptions,
): Promise<SegProbeResult> {
  const { numClasses } = opts;
  if (!(numClasses >= 2)) throw new Error(`segmentation probe: numClasses must be >= 2, got ${numClasses}`);
  const ignoreIndex = opts.ignoreIndex ?? 255;
  const transform = opts.transform ?? ((s: Sample) => s);
  const batchSize = opts.batchSize ?? 16;
  const seed = opts.seed ?? 0;
  const trainBatches = await cacheFeatureMaps(backbone, train, batchSize, transform);
  const testBatches = await cacheFeatureMaps(backbone, test, batchSize, transform);
  const { w, b } = initLinear(backbone.outChannels, numClasses, seed);
  const optimizer = makeProbeOptimizer(opts, 1e-2);
  const rng = new SeededRng(seed + 1);
  const wd = opts.weightDecay ?? 0;
  try {
    for (let epoch = 0; epoch < (opts.epochs ?? 50); epoch++) {
      for (const bi of rng.permutation(trainBatches.length)) {
        const batch = trainBatches[bi];
        const cost = optimizer.minimize(
          () => {
            const logits = segLogits(batch, w, b);
            const flat = tf.reshape(logits, [-1, numClasses]) as tf.Tensor2D;
            const ce = softmaxCrossEntropy(flat, tf.tensor1d(batch.masks, 'int32'), numClasses, ignoreIndex);
            return wd > 0 ? tf.add(ce, tf.mul(wd / 2, tf.sum(tf.square(w)))) : ce;
          },
          true,
          [w, b],
        );
        cost?.dispose();
      }
    }
    const confusion = new Float64Array(numClasses * numClasses);
    for (const batch of testBatches) {
      const pred = tf.tidy(() => tf.argMax(segLogits(batch, w, b), 3));
      confusionMatrix(await pred.data(), batch.masks, numClasses, ignoreIndex, confusion);
      pred.dispose();
    }
    return meanIoU(confusion, numClasses);
  } finally {
    optimizer.dispose();
    w.dispose();
    b.dispose();
  }
}
