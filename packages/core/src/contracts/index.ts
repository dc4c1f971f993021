/**
 * The seams of selfsup. Core defines these interfaces and their injection tokens; plugins
 * register implementations by `type` name. Nothing here knows a concrete method or backend.
 */
import type { DependencyContainer } from 'tsyringe';
import type { ZodTypeAny } from 'zod';
import type { tf } from '../tf';
import type { Module, StateEntry } from '../nn/module';

/** Options as config gives them: the keys next to `type`, not yet checked. */
export type RawOptions = Record<string, unknown>;

/**
 * A registration that config refers to by `type`, with the schema of its options. Every seam's
 * `create` takes the options first, then what the caller supplies (a seed, the input width...).
 * Written with `defineRegistration`, the author's create receives the options parsed by
 * `optionsSchema` (typed, defaults filled in); a caller may pass raw options, parsed once.
 */
export interface Registration<TCreate, S extends ZodTypeAny = ZodTypeAny> {
  /** Name used in config, e.g. "byol", "resnet18", "lewel". */
  readonly type: string;
  /** Package (or test) that registered it; shown in errors and `selfsup info`. */
  readonly plugin: string;
  readonly description?: string;
  /** Validates the options object given in config (the keys next to `type`). */
  readonly optionsSchema?: S;
  readonly create: TCreate;
}

// ---------------------------------------------------------------- networks

/** Image -> final feature map. Input and output are NHWC. */
export interface Backbone extends Module {
  readonly outChannels: number;
  forward(x: tf.Tensor4D): tf.Tensor4D;
}
export type BackboneRegistration = Registration<(options: RawOptions | undefined, seed: number) => Backbone>;

/** Applied per token: [B, T, Cin] -> [B, T, Cout]. Projects a pooled vector or every pixel alike. */
export interface ProjectionHead extends Module {
  readonly inDim: number;
  readonly outDim: number;
  forward(tokens: tf.Tensor3D): tf.Tensor3D;
}

/**
 * One head of a method: the registered head `type`, its widths, and that head type's own
 * options (e.g. `{ outputBatchNorm: true }` for `mlp_bn`). Each head of a method has its own.
 */
export interface HeadSpec {
  type: string;
  hiddenDim: number;
  outDim: number;
  options?: RawOptions;
}
/** What a head is built for: its input width, the widths of its spec, its init seed. */
export interface HeadContext {
  inDim: number;
  hiddenDim: number;
  outDim: number;
  seed: number;
}
/** Builds a head of one fixed spec for an input width (e.g. the method's projector form). */
export type HeadFactory = (inDim: number) => ProjectionHead;
export type HeadRegistration = Registration<
  (options: RawOptions | undefined, ctx: HeadContext) => ProjectionHead
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

/** Pairwise loss: online predictions and target embeddings of the same shape [N, D] -> scalar. */
export interface PairLoss {
  (online: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar;
  /**
   * Optional, for speed: the same loss over G independent groups at once, [G, N, D] each side,
   * mean over the groups (a contrastive loss draws its negatives within a group).
   */
  grouped?: (online: tf.Tensor3D, target: tf.Tensor3D) => tf.Scalar;
}
export type LossRegistration = Registration<(options?: RawOptions) => PairLoss>;

/**
 * What a method gives an aggregator's aligned branch (LEWEL's): its pairwise loss, its
 * predictor's form if it has one, and how slot pairs are scored. The branch itself is the
 * aggregator's code, so a method composes with it without writing any.
 */
export interface AlignedBranchContext {
  /** The method's pairwise loss (resolved through the Loss seam). */
  loss: PairLoss;
  /** A new head of the method's predictor form (D -> D); absent when the method has no predictor. */
  makePredictor?: () => ProjectionHead;
  /**
   * 'rows': the B*S (image, slot) pairs are the rows of one loss call (BYOL, SimSiam);
   * 'per_slot': the loss per slot over the batch, so a contrastive loss draws its negatives
   * from the same slot of the other images (MoCo, SimCLR); mean over slots (one grouped call
   * when the loss has `grouped`).
   */
  slots: 'rows' | 'per_slot';
}

/**
 * An aggregator's objective on aligned slot embeddings, built once per method. It sits at the
 * method's top level, so its modules are named there (LEWEL: `predictor_obj.*`).
 */
export interface AlignedBranch extends Module {
  /** Loss of one (online, target) pairing of views: online slots [B, S, D] against target slots. */
  score(online: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar;
}

/** How a feature map becomes embeddings: global pooling by default; LEWEL adds aligned slots. */
export interface Aggregator extends Module {
  /** Its forward gives `aligned` slots; it then offers createAlignedBranch. */
  readonly hasAlignedBranch: boolean;
  forward(featureMap: tf.Tensor4D): EncoderOutput;
  /** The objective on its aligned slots for one method (asked of the online encoder's aggregator). */
  createAlignedBranch?(ctx: AlignedBranchContext): AlignedBranch;
  /**
   * Combines the global loss term and, if present, the aligned term into the training loss.
   * `progress` is where the step is in its run (absent outside training: the weights at the end
   * of any warm-up apply).
   */
  combineLosses(global: tf.Scalar, aligned?: tf.Scalar, progress?: TrainingProgress): tf.Scalar;
}
export interface AggregatorContext {
  inChannels: number;
  /** Makes a head of the method's projector form; the aggregator decides how many and their names. */
  makeHead: HeadFactory;
  seed: number;
}
export type AggregatorRegistration = Registration<
  (options: RawOptions | undefined, ctx: AggregatorContext) => Aggregator
>;

// ---------------------------------------------------------------- methods

export interface LossOutput {
  loss: tf.Scalar;
  /** Named scalar parts, e.g. loss_global, loss_aligned. */
  terms: Record<string, tf.Scalar>;
  /** Diagnostics with PyTorch-layout meaning, e.g. z_online_v1 [B,D]. Optional. */
  outputs: Record<string, tf.Tensor>;
}

/** Where a training step is in its run, for loss weights that follow a schedule. */
export interface TrainingProgress {
  /** Steps done before this one (0-based), as in momentumAt and the LR schedule. */
  step: number;
  totalSteps: number;
  stepsPerEpoch: number;
}

export interface StepContext {
  lr: number;
  /** Where this step is in its run; the trainer always gives it, a bare step may not. */
  progress?: TrainingProgress;
  /** Momentum of the method's target network at this step (its momentumAt); read only by methods that have one. */
  momentum?: number;
}

export interface StepResult {
  loss: number;
  terms: Record<string, number>;
}

/** An SSL algorithm: its networks and heads, its loss and its own state (queue, ...). */
export interface Method extends Module {
  readonly type: string;
  /** Optimizer the method is defined with when config names none. */
  readonly defaultOptimizer: { type: string } & Record<string, unknown>;
  /** The registered view pipeline it is defined with, used when config sets no `data.views`. */
  readonly defaultViews: string;
  /** The online backbone, used by evaluation (features = GAP of its feature map). */
  readonly backbone: Backbone;
  /**
   * Momentum of the target network's EMA at a step (0-based) of a run of totalSteps. Only a
   * method with a target network has it; the trainer passes it to that step as ctx.momentum.
   */
  momentumAt?(step: number, totalSteps: number): number;
  /** Parameters the optimizer updates, with PyTorch names. */
  trainableParameters(): StateEntry[];
  /**
   * Forward both views and compute the loss. Runs under the gradient tape. `progress` goes on to
   * the aggregator's combineLosses (a scheduled loss weight); without it the final weights apply.
   */
  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput;
  /** After the optimizer step: EMA of the target (ctx.momentum), method state such as the key queue. */
  afterOptimizerStep(ctx: StepContext): void;
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
  buildBackbone: () => Backbone;
  /** The configured aggregator, its options parsed; the method builds one per encoder. */
  aggregator: { registration: AggregatorRegistration; options: RawOptions };
  container: DependencyContainer;
  seed: number;
}
export type MethodRegistration = Registration<
  (options: RawOptions | undefined, ctx: MethodContext) => Method
>;

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
export type OptimizerRegistration = Registration<(options?: RawOptions) => Optimizer>;

/** Learning rate at a step (0-based) of a run of totalSteps. */
export type LrSchedule = (step: number, totalSteps: number) => number;
export type LrScheduleRegistration = Registration<(options?: RawOptions) => LrSchedule>;

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
export type DatasetRegistration = Registration<(options?: RawOptions) => Promise<Dataset>>;

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
export type TransformRegistration = Registration<(options?: RawOptions) => Transform>;

/** Two augmented views of one image, normalised, at the output size. */
export interface ViewPipeline {
  readonly outputSize: number;
  views(image: Image, rng: Rng): [Image, Image];
}
export type ViewPipelineRegistration = Registration<
  (options: RawOptions & { outputSize: number }, container: DependencyContainer) => ViewPipeline
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
export type BackendRegistration = Registration<(options?: RawOptions) => BackendProvider>;

// ---------------------------------------------------------------- plugins

export interface Plugin {
  readonly name: string;
  register(container: DependencyContainer): void;
}
