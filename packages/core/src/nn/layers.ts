import { tf } from '../tf';
import { SeededRng } from '../util/random';
import { Module } from './module';
import { kaimingNormalFanOut, torchDefaultUniform } from './init';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, backendHasKernel } from './kernels';

export interface Layer<I extends tf.Tensor = tf.Tensor, O extends tf.Tensor = tf.Tensor> extends Module {
  forward(x: I): O;
}

/** 2-D convolution, NHWC, PyTorch's symmetric zero padding; weight HWIO (PyTorch OIHW on export). */
export class Conv2d extends Module implements Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride = 1,
    readonly padding = 0,
    opts: { bias?: boolean; rng: SeededRng; init?: 'kaiming_fan_out' | 'torch_default' },
  ) {
    super();
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    const fanIn = inChannels * kernelSize * kernelSize;
    const w =
      (opts.init ?? 'kaiming_fan_out') === 'kaiming_fan_out'
        ? kaimingNormalFanOut(shape, outChannels * kernelSize * kernelSize, opts.rng)
        : torchDefaultUniform(shape, fanIn, opts.rng);
    this.weight = this.registerParameter('weight', w, 'conv2d');
    if (opts.bias)
      this.bias = this.registerParameter('bias', torchDefaultUniform([outChannels], fanIn, opts.rng));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(
      x,
      this.weight as tf.Tensor4D,
      this.stride,
      this.padding === 0 ? 'valid' : this.padding,
    );
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

export interface BatchNormOptions<Affine extends boolean = boolean> {
  eps?: number;
  momentum?: number;
  /**
   * Learnable per-channel scale `weight` and shift `bias` (default true). Without them, as
   * PyTorch's BatchNorm1d(affine=False), the state is running_mean and running_var only.
   */
  affine?: Affine;
}

/** `weight` / `bias` of a BatchNorm: variables when affine, absent otherwise. */
type AffineParameter<Affine extends boolean> = Affine extends true ? tf.Variable : undefined;

/**
 * BatchNorm over the last (channel) axis with PyTorch semantics: training normalises with the
 * biased batch variance and folds the *unbiased* variance into running_var (momentum 0.1).
 * One class serves BatchNorm1d (tokens [N, C]) and BatchNorm2d (NHWC). num_batches_tracked
 * counts training forwards as torch does (int64 in state dicts), so torchvision's
 * load_state_dict(strict=True) takes the state; with momentum set, torch never reads it.
 */
export class BatchNorm<Affine extends boolean = true> extends Module implements Layer {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly weight: AffineParameter<Affine>;
  readonly bias: AffineParameter<Affine>;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  private readonly identityAffine?: [tf.Tensor1D, tf.Tensor1D];
  readonly numBatchesTracked: tf.Variable;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions<Affine> = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? true;
    if (this.affine) {
      this.weight = this.registerParameter('weight', tf.ones([numFeatures])) as AffineParameter<Affine>;
      this.bias = this.registerParameter('bias', tf.zeros([numFeatures])) as AffineParameter<Affine>;
    } else {
      this.weight = undefined as AffineParameter<Affine>;
      this.bias = undefined as AffineParameter<Affine>;
      // gamma 1, beta 0 for the shared training kernel; constants, so their gradients go nowhere.
      this.identityAffine = [tf.keep(tf.ones([numFeatures])), tf.keep(tf.zeros([numFeatures]))];
    }
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', tf.scalar(0), 'identity', 'int64');
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training) {
      const inv = tf.rsqrt(tf.add(this.runningVar, this.eps));
      const centered = tf.sub(x, this.runningMean);
      if (this.weight === undefined || this.bias === undefined) return tf.mul(centered, inv);
      return tf.add(tf.mul(centered, tf.mul(inv, this.weight)), this.bias);
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const count = x.size / this.numFeatures;
    if (count < 2)
      throw new Error(`BatchNorm needs more than 1 value per channel in training, got input ${x.shape}`);
    return this.trainingForward(x, axes, count);
  }

  /**
   * Batch statistics with a hand-written backward: the tape keeps only x and two per-channel
   * vectors instead of four full-size intermediates per layer, which is most of a step's memory.
   * dx = gamma * invStd / N * (N * dy - sum(dy) - xhat * sum(dy * xhat)).
   */
  private trainingForward(x: tf.Tensor, axes: number[], count: number): tf.Tensor {
    const eps = this.eps;
    // One pass per statistic and one for the output where the backend fuses it (wasm).
    const fused = backendHasKernel(BATCH_NORM_TRAIN) && backendHasKernel(BATCH_NORM_TRAIN_GRAD);
    const fn = tf.customGrad((xIn, gamma, beta, save) => {
      const input = xIn as tf.Tensor;
      let value: tf.Tensor;
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      let invStd: tf.Tensor;
      if (fused) {
        [value, mean, variance, invStd] = tf
          .engine()
          .runKernel(BATCH_NORM_TRAIN, { x: input, gamma, beta } as tf.NamedTensorMap, {
            eps,
          }) as tf.Tensor[];
      } else {
        mean = tf.mean(input, axes);
        const centered = tf.sub(input, mean);
        variance = tf.mean(tf.square(centered), axes);
        invStd = tf.rsqrt(tf.add(variance, eps));
        value = tf.add(tf.mul(centered, tf.mul(invStd, gamma as tf.Tensor)), beta as tf.Tensor);
      }
      this.updateRunningStats(mean, variance, count);
      (save as tf.GradSaveFunc)([input, mean, invStd, gamma as tf.Tensor]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, m, inv, g] = saved;
          if (fused) {
            return tf
              .engine()
              .runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: xs, mean: m, invStd: inv, gamma: g }) as tf.Tensor[];
          }
          const xhat = tf.mul(tf.sub(xs, m), inv);
          const dBeta = tf.sum(dy, axes);
          const dGamma = tf.sum(tf.mul(dy, xhat), axes);
          const inner = tf.sub(tf.sub(tf.mul(dy, count), dBeta), tf.mul(xhat, dGamma));
          const dx = tf.mul(inner, tf.div(tf.mul(g, inv), count));
          return [dx, dGamma, dBeta];
        },
      };
    });
    const [gamma, beta]: tf.Tensor[] = this.identityAffine ?? [this.weight!, this.bias!];
    return (fn as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
  }

  override dispose(): void {
    if (this.identityAffine) tf.dispose(this.identityAffine);
    super.dispose();
  }

  private updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, count: number): void {
    tf.tidy(() => {
      const m = this.momentum;
      // Not on the loss path, so nothing flows back through these.
      const unbiased = tf.mul(biasedVar, count / (count - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, 1));
    });
  }
}

/**
 * Linear map over the last axis. `layout` says how PyTorch stores the weight: 'linear' for
 * nn.Linear (O, I), 'tokenwise' for a 1x1 nn.Conv1d (O, I, 1) as used by the SSL heads.
 */
export class Linear extends Module implements Layer {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; rng: SeededRng; layout?: 'linear' | 'tokenwise' },
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      torchDefaultUniform([inFeatures, outFeatures], inFeatures, opts.rng),
      opts.layout ?? 'linear',
    );
    if (opts.bias ?? true)
      this.bias = this.registerParameter('bias', torchDefaultUniform([outFeatures], inFeatures, opts.rng));
  }

  forward(x: tf.Tensor): tf.Tensor {
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, this.inFeatures]);
    let y: tf.Tensor = tf.matMul(flat as tf.Tensor2D, this.weight as tf.Tensor2D);
    if (this.bias) y = tf.add(y, this.bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
  }
}

export class ReLU extends Module implements Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** Max pooling with PyTorch's symmetric padding (padded cells never win). */
export class MaxPool2d extends Module implements Layer<tf.Tensor4D, tf.Tensor4D> {
  constructor(
    readonly kernelSize: number,
    readonly stride: number,
    readonly padding = 0,
  ) {
    super();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.maxPool(x, this.kernelSize, this.stride, this.padding === 0 ? 'valid' : this.padding);
  }
}

/** NHWC feature map -> [B, C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** Children named 0, 1, 2, ... as torch.nn.Sequential. */
export class Sequential extends Module implements Layer {
  private readonly layers: Layer[];

  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.registerModule(String(i), l));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
}
