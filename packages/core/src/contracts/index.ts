/**
 * The seams of selfsup. Core defines these interfaces and their injection tokens; plugins
 * register implementations by `type` name. Nothing here knows a concrete method or backend.
 */
import type { DependencyContainer } from 'tsyringe';
import type { ZodTypeAny } from 'zod';
import type { tf } from '../tf';
import type { Module, StateEntry } from '../nn/module';

/** A registration that config refers to by `type`, with the schema of its options. */
export interface Registration<TCreate> {
  /** Name used in config, e.g. "byol", "resnet18", "lewel". */
  readonly type: string;
  /** Package (or test) that registered it; shown in errors and `selfsup info`. */
  readonly plugin: string;
  readonly description?: string;
  /** Validates the options object given in config (the keys next to `type`). */
  readonly optionsSchema?: ZodTypeAny;
  readonly create: TCreate;
}

// ---------------------------------------------------------------- networks

/** Image -> final feature map. Input and output are NHWC. */
export interface Backbone extends Module {
  readonly outChannels: number;
  forward(x: tf.Tensor4D): tf.Tensor4D;
}
export type BackboneRegistration = Registration<(options: Record<string, unknown>, seed: number) => Backbone>;

/** Applied per token: [B, T, Cin] -> [B, T, Cout]. Projects a pooled vector or every pixel alike. */
export interface ProjectionHead extends Module {
  readonly inDim: number;
  readonly outDim: number;
  forward(tokens: tf.Tensor3D): tf.Tensor3D;
}
/** Builds one head of the method's own form (the method decides BN/bias, hidden and output dims). */
export type HeadFactory = (inDim: number) => ProjectionHead;
export type HeadRegistration = Registration<
  (
    spec: { inDim: number; hiddenDim: number; outDim: number; seed: number },
    options: Record<string, unknown>,
  ) => ProjectionHead
>;

/** What an encoder (backbone + aggregator) gives the loss. */
export interface EncoderOutput {
  /** [B, D] one embedding per image. */
  global: tf.Tensor2D;
  /** [B, S, D] aligned slot embeddings, when the aggregator has an aligned branch. */
  aligned?: tf.Tensor3D;
  /** [B, K, H*W] alignment maps (softmax over positions), when the aggregator makes them. */
  maps?: tf.Tensor3D;
}

/** How a feature map becomes embeddings: global pooling by default; LEWEL adds aligned slots. */
export interface Aggregator extends Module {
  readonly hasAlignedBranch: boolean;
  forward(featureMap: tf.Tensor4D): EncoderOutput;
  /** Combines the global loss term and, if present, the aligned term into the training loss. */
  combineLosses(global: tf.Scalar, aligned?: tf.Scalar): tf.Scalar;
}
export interface AggregatorContext {
  inChannels: number;
  /** Makes a head of the method's form; the aggregator decides how many and their names. */
  makeHead: HeadFactory;
  options: Record<string, unknown>;
  seed: number;
}
export type AggregatorRegistration = Registration<(ctx: AggregatorContext) => Aggregator>;

/** Pairwise loss: online predictions and target embeddings of the same shape [N, D] -> scalar. */
export type PairLoss = (online: tf.Tensor2D, target: tf.Tensor2D) => tf.Scalar;
export type LossRegistration = Registration<(options: Record<string, unknown>) => PairLoss>;

// ---------------------------------------------------------------- methods

export interface LossOutput {
  loss: tf.Scalar;
  /** Named scalar parts, e.g. loss_global, loss_aligned. */
  terms: Record<string, tf.Scalar>;
  /** Diagnostics with PyTorch-layout meaning, e.g. z_online_v1 [B,D]. Optional. */
  outputs: Record<string, tf.Tensor>;
}

export interface EmaSchedule {
  schedule: 'cosine' | 'constant';
  baseMomentum: number;
}

export interface StepContext {
  lr: number;
  emaMomentum: number;
}

export interface StepResult {
  loss: number;
  terms: Record<string, number>;
}

/** An SSL algorithm: online/target networks, heads, loss and its own state (queue, ...). */
export interface Method extends Module {
  readonly type: string;
  readonly ema: EmaSchedule;
  /** Optimizer the method is defined with when config names none. */
  readonly defaultOptimizer: { type: string } & Record<string, unknown>;
  /** The online backbone, used by evaluation (features = GAP of its feature map). */
  readonly backbone: Backbone;
  /** Parameters the optimizer updates, with PyTorch names. */
  trainableParameters(): StateEntry[];
  /** Forward both views and compute the loss. Runs under the gradient tape. */
  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D): LossOutput;
  /** After the optimizer step: EMA of the target, method state such as the key queue. */
  afterOptimizerStep(emaMomentum: number): void;
  /** Alignment maps [B, K, H, W] for NHWC images, when the aggregator makes them. */
  alignmentMaps?(images: tf.Tensor4D): tf.Tensor4D;
  /** Non-tensor state a checkpoint must keep (e.g. the queue pointer); JSON-serialisable. */
  getExtraState?(): Record<string, unknown>;
  setExtraState?(state: Record<string, unknown>): void;
  /**
   * Data-parallel training: per-sample tensors that computeLoss left for afterOptimizerStep and
   * that must cover the whole batch (MoCo: the keys to enqueue, which DDP all-gathers). Each
   * tensor's axis 0 runs over the shard's samples.
   */
  pendingStepState?(): Record<string, tf.Tensor>;
  /**
   * Replaces that pending state with every shard's, concatenated along axis 0 in batch order,
   * before afterOptimizerStep. The method keeps (and later disposes) its own copies.
   */
  setPendingStepState?(state: Record<string, tf.Tensor>): void;
}

export interface MethodContext {
  options: Record<string, unknown>;
  buildBackbone: () => Backbone;
  aggregator: { registration: AggregatorRegistration; options: Record<string, unknown> };
  container: DependencyContainer;
  seed: number;
}
export type MethodRegistration = Registration<(ctx: MethodContext) => Method>;

// ---------------------------------------------------------------- optimization

export interface ParamWithGrad {
  name: string;
  variable: tf.Variable;
  grad: tf.Tensor;
}

export interface Optimizer {
  readonly type: string;
  step(params: ParamWithGrad[], lr: number): void;
  /** Momentum buffers etc. keyed by parameter name, for checkpoints. */
  stateTensors(): Map<string, tf.Tensor>;
  loadStateTensors(state: Map<string, tf.Tensor>): void;
  dispose(): void;
}
export type OptimizerRegistration = Registration<(options: Record<string, unknown>) => Optimizer>;

/** Learning rate at a step (0-based) of a run of totalSteps. */
export type LrSchedule = (step: number, totalSteps: number) => number;
export type LrScheduleRegistration = Registration<(options: Record<string, unknown>) => LrSchedule>;

// ---------------------------------------------------------------- data

/** An image as float32 HWC in [0, 1]. */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export interface Sample {
  image: Image;
  label?: number;
  /** Per-pixel class mask (0 = background), same height/width as the image. */
  mask?: Uint8Array;
}

export interface Dataset {
  readonly name: string;
  readonly length: number;
  readonly numClasses?: number;
  readonly classNames?: string[];
  get(index: number): Promise<Sample>;
}
export type DatasetRegistration = Registration<(options: Record<string, unknown>) => Promise<Dataset>>;

/** Deterministic random source handed to transforms. */
export interface Rng {
  next(): number; // [0, 1)
  uniform(lo: number, hi: number): number;
  normal(): number;
  int(n: number): number;
}

/** One augmentation step on an image. */
export interface Transform {
  readonly name: string;
  apply(image: Image, rng: Rng): Image;
}
export type TransformRegistration = Registration<(options: Record<string, unknown>) => Transform>;

/** Two augmented views of one image, normalised, at the output size. */
export interface ViewPipeline {
  readonly outputSize: number;
  views(image: Image, rng: Rng): [Image, Image];
}
export type ViewPipelineRegistration = Registration<
  (options: Record<string, unknown> & { outputSize: number }, container: DependencyContainer) => ViewPipeline
>;

// ---------------------------------------------------------------- backends

export interface BackendAvailability {
  available: boolean;
  /** Why not, with the package to install when that is the fix. */
  reason?: string;
  version?: string;
  /**
   * Set when the backend works but `auto` must not choose it, saying why (e.g. a software GPU
   * adapter: exact but slow). Asking for the backend by name still uses it.
   */
  notForAuto?: string;
  /** The device it would run on, for `selfsup info` (e.g. the GPU adapter). */
  device?: string;
}

/** A compute backend that can be chosen at run time. */
export interface BackendProvider {
  /** Name used by --backend / SELFSUP_BACKEND / config, e.g. "wasm", "node-gpu", "cpu". */
  readonly name: string;
  /** Lower runs earlier in `auto`. node-gpu 10, webgpu 15, node 20, wasm 30, cpu 100. */
  readonly autoPriority: number;
  readonly description: string;
  probe(): Promise<BackendAvailability>;
  /** Registers and activates the tfjs backend (and any kernels it needs). */
  activate(options: { threads?: number }): Promise<void>;
}
export type BackendRegistration = Registration<() => BackendProvider>;

// ---------------------------------------------------------------- plugins

export interface Plugin {
  readonly name: string;
  register(container: DependencyContainer): void;
}
