/**
 * A small method without BatchNorm, so data-parallel gradients must equal whole-batch ones:
 * conv -> ReLU -> GAP -> linear, an EMA target and a FIFO memory of target embeddings that the
 * loss reads (like MoCo's queue), filled from pendingStepState after the optimizer step.
 * Loaded by the workers as a plugin file.
 */
import { tf } from '@selfsup/core';
import { Module, type StateEntry } from '@selfsup/core';
import { registerType } from '@selfsup/core';
import { SeededRng } from '@selfsup/core';
import type {
  Backbone,
  BackboneRegistration,
  LossOutput,
  TrainingProgress,
  Method,
  MethodRegistration,
  Plugin,
  StepContext,
} from '@selfsup/core';

const randn = (shape: number[], seed: number, scale: number) => {
  const rng = new SeededRng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
    shape,
  );
};

class TinyConv extends Module implements Backbone {
  readonly outChannels = 6;
  readonly w: tf.Variable;
  constructor(seed: number) {
    super();
    this.w = this.registerParameter('conv.weight', randn([3, 3, 3, 6], seed, 0.4), 'conv2d');
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(tf.conv2d(x, this.w as tf.Tensor4D, 1, 'same'));
  }
}

const D = 5;
const Q = 12;

class TinyMethod extends Module implements Method {
  readonly type = 'dp_tiny';
  readonly defaultOptimizer = { type: 'sgd', lr: 0.1 };
  readonly defaultViews = 'byol';
  readonly backbone: TinyConv;
  readonly head: tf.Variable;
  readonly targetHead: tf.Variable;
  readonly memory: tf.Variable;
  private pending: tf.Tensor | undefined;

  constructor(seed: number, buildBackbone: () => Backbone) {
    super();
    this.backbone = this.registerModule('backbone', buildBackbone() as TinyConv);
    this.head = this.registerParameter('head.weight', randn([6, D], seed + 1, 0.5), 'linear');
    this.targetHead = this.registerBuffer('target.weight', tf.clone(this.head), 'linear');
    this.memory = this.registerBuffer('memory', randn([Q, D], seed + 2, 0.3));
  }

  trainableParameters(): StateEntry[] {
    return this.namedParameters();
  }

  /** The spread term's weight follows the run's progress (1 without it), like a scheduled loss weight. */
  computeLoss(v1: tf.Tensor4D, v2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const f1 = tf.mean(this.backbone.forward(v1), [1, 2]) as tf.Tensor2D;
    const f2 = tf.mean(this.backbone.forward(v2), [1, 2]) as tf.Tensor2D;
    const p = tf.matMul(f1, this.head);
    const z = tf.matMul(f2, this.targetHead);
    const align = tf.mean(tf.sum(tf.square(tf.sub(p, z)), 1)) as tf.Scalar;
    const spread = tf.mean(tf.logSumExp(tf.matMul(p, this.memory, false, true), 1)) as tf.Scalar;
    this.pending?.dispose();
    this.pending = tf.keep(tf.clone(z));
    const spreadWeight = progress ? 1 + progress.step / progress.totalSteps : 1;
    return {
      loss: tf.add(align, tf.mul(spread, spreadWeight)) as tf.Scalar,
      terms: { align, spread },
      outputs: {},
    };
  }

  pendingStepState(): Record<string, tf.Tensor> {
    return this.pending ? { z: this.pending } : {};
  }

  setPendingStepState(state: Record<string, tf.Tensor>): void {
    this.pending?.dispose();
    this.pending = tf.keep(tf.clone(state.z));
  }

  /** Constant EMA momentum. */
  momentumAt(): number {
    return 0.9;
  }

  afterOptimizerStep({ momentum }: StepContext): void {
    const m = momentum!;
    tf.tidy(() => {
      this.targetHead.assign(tf.add(tf.mul(this.targetHead, m), tf.mul(this.head, 1 - m)));
      if (this.pending) {
        const all = tf.concat([this.pending, this.memory], 0);
        this.memory.assign(tf.slice(all, [0, 0], [Q, D]));
      }
    });
    this.pending?.dispose();
    this.pending = undefined;
  }

  override dispose(): void {
    this.pending?.dispose();
    super.dispose();
  }
}

const PLUGIN = 'test-dp-tiny';
const backbone: BackboneRegistration = {
  type: 'dp_tiny_conv',
  plugin: PLUGIN,
  create: (_o, seed) => new TinyConv(seed),
};
const method: MethodRegistration = {
  type: 'dp_tiny',
  plugin: PLUGIN,
  create: (_options, ctx) => new TinyMethod(ctx.seed, ctx.buildBackbone),
};

export const tinyPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Backbone', backbone);
    registerType(container, 'Method', method);
  },
};
export default tinyPlugin;

export const TINY_PLUGIN_FILE = new URL(import.meta.url).pathname;

export const tinyConfig = (seed = 3) => ({
  method: { type: 'dp_tiny' },
  backbone: { type: 'dp_tiny_conv' },
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
  train: { seed },
});
