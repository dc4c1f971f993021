/** Tiny stand-ins for a method, dataset and view pipeline, so trainer tests run in milliseconds. */
import { tf } from '../../src/tf';
import { Module } from '../../src/nn/module';
import { SeededRng } from '../../src/util/random';
import type {
  Backbone,
  Dataset,
  Image,
  LossOutput,
  Method,
  Rng,
  Sample,
  StepContext,
  ViewPipeline,
  TrainingProgress,
} from '../../src/contracts';
import { emaMomentum } from '../../src/optim/schedules';
import type { StateEntry } from '../../src/nn/module';

function randn(shape: number[], rng: SeededRng, scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => scale * rng.normal()),
    shape,
  );
}

/** One 3x3 conv + ReLU; records whether it ran in training mode. */
export class FakeBackbone extends Module implements Backbone {
  readonly outChannels: number;
  readonly weight: tf.Variable;
  readonly modes: boolean[] = [];

  constructor(seed: number, inChannels = 3, outChannels = 4) {
    super();
    this.outChannels = outChannels;
    this.weight = this.registerParameter(
      'conv.weight',
      randn([3, 3, inChannels, outChannels], new SeededRng(seed), 0.3),
      'conv2d',
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.modes.push(this.isTraining);
    return tf.relu(tf.conv2d(x, this.weight as tf.Tensor4D, 1, 'same'));
  }
}

export interface FakeMethodOptions {
  seed?: number;
  /** computeLoss call (1-based) whose loss becomes NaN. */
  nanAtCall?: number;
}

/**
 * conv backbone -> GAP -> linear; loss = MSE of the online projection of view 1 to the EMA
 * target projection of view 2, plus a small weight penalty (a second term). A buffer tracks
 * the mean feature as BN running stats do (assigned under the tape), and a call counter is
 * extra (non-tensor) state.
 */
export class FakeMethod extends Module implements Method {
  readonly type = 'fake';
  readonly defaultOptimizer = { type: 'sgd' };
  readonly defaultViews = 'byol';
  readonly backbone: FakeBackbone;
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly targetW: tf.Variable;
  readonly running: tf.Variable;
  calls = 0;
  updates = 0;
  momenta: number[] = [];
  /** The progress each computeLoss call was given. */
  progress: Array<TrainingProgress | undefined> = [];

  constructor(readonly opts: FakeMethodOptions = {}) {
    super();
    const rng = new SeededRng((opts.seed ?? 1) + 100);
    this.backbone = this.registerModule('backbone', new FakeBackbone(opts.seed ?? 1));
    this.w = this.registerParameter('head.weight', randn([4, 2], rng, 0.5), 'linear');
    this.b = this.registerParameter('head.bias', tf.zeros([2]));
    this.targetW = this.registerBuffer('target.weight', tf.clone(this.w), 'linear');
    this.running = this.registerBuffer('running_mean', tf.zeros([4]));
  }

  trainableParameters(): StateEntry[] {
    return this.namedParameters();
  }

  private features(x: tf.Tensor4D): tf.Tensor2D {
    return tf.mean(this.backbone.forward(x), [1, 2]) as tf.Tensor2D;
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    this.calls++;
    this.progress.push(progress);
    const f1 = this.features(view1);
    const f2 = this.features(view2);
    tf.tidy(() => {
      this.running.assign(tf.add(tf.mul(this.running, 0.9), tf.mul(tf.mean(f1, 0), 0.1)));
    });
    const p1 = tf.add(tf.matMul(f1, this.w), this.b);
    const z2 = tf.matMul(f2, this.targetW);
    const mse = tf.mean(tf.square(tf.sub(p1, z2))) as tf.Scalar;
    const penalty = tf.mul(0.01, tf.sum(tf.square(this.w))) as tf.Scalar;
    let loss = tf.add(mse, penalty) as tf.Scalar;
    if (this.opts.nanAtCall === this.calls) loss = tf.mul(loss, NaN) as tf.Scalar;
    return { loss, terms: { mse, penalty }, outputs: { p1 } };
  }

  /** Cosine EMA from 0.9. */
  momentumAt(step: number, totalSteps: number): number {
    return emaMomentum('cosine', 0.9, step, totalSteps);
  }

  afterOptimizerStep(ctx: StepContext): void {
    const m = ctx.momentum!;
    this.updates++;
    this.momenta.push(m);
    tf.tidy(() => {
      this.targetW.assign(tf.add(tf.mul(this.targetW, m), tf.mul(this.w, 1 - m)));
    });
  }

  getExtraState(): Record<string, unknown> {
    return { updates: this.updates };
  }

  setExtraState(s: Record<string, unknown>): void {
    this.updates = s.updates as number;
  }
}

/** n images of size x size x 3; class c = i % numClasses shifts the colour, so features separate classes. */
export function fakeDataset(n: number, size = 8, seed = 7, numClasses = 2, name = 'fake'): Dataset {
  const rng = new SeededRng(seed);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % numClasses;
    const data = new Float32Array(size * size * 3);
    for (let p = 0; p < size * size; p++) {
      for (let c = 0; c < 3; c++) data[p * 3 + c] = 0.2 * rng.next() + (c === label ? 0.8 : 0.1);
    }
    samples.push({ image: { data, height: size, width: size, channels: 3 }, label });
  }
  return {
    name,
    length: n,
    numClasses,
    get: async (i: number) => {
      if (!(i >= 0 && i < n)) throw new Error(`index ${i} out of range`);
      // Resolve on a later tick so that prefetching and ordering are exercised.
      await new Promise((r) => setTimeout(r, 0));
      return samples[i];
    },
  };
}

/** Random crop to `out` plus a flip and a brightness jitter, all from the given rng. */
export class FakeViews implements ViewPipeline {
  constructor(readonly outputSize = 6) {}

  private view(im: Image, rng: Rng): Image {
    const s = this.outputSize;
    const y0 = rng.int(im.height - s + 1);
    const x0 = rng.int(im.width - s + 1);
    const flip = rng.next() < 0.5;
    const gain = rng.uniform(0.8, 1.2);
    const data = new Float32Array(s * s * im.channels);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const sx = flip ? x0 + s - 1 - x : x0 + x;
        for (let c = 0; c < im.channels; c++) {
          data[(y * s + x) * im.channels + c] = gain * im.data[((y0 + y) * im.width + sx) * im.channels + c];
        }
      }
    }
    return { data, height: s, width: s, channels: im.channels };
  }

  views(image: Image, rng: Rng): [Image, Image] {
    return [this.view(image, rng), this.view(image, rng)];
  }
}
