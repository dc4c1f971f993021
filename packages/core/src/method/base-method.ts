import { tf } from '../tf';
import type {
  Aggregator,
  AlignedBranch,
  Backbone,
  EncoderOutput,
  HeadRegistration,
  HeadSpec,
  LossOutput,
  LossRegistration,
  Method,
  MethodContext,
  PairLoss,
  ProjectionHead,
  RawOptions,
  StepContext,
  TrainingProgress,
} from '../contracts';
import { Module, type StateEntry } from '../nn/module';
import { resolveType } from '../di/registry';
import { Encoder } from './encoder';

/** The heads and the loss a method is made of; BaseMethod builds them. */
export interface MethodSpec {
  /** The aggregator's head form: `neck` (global) or LEWEL's `proj` and `proj_obj`. */
  projector: HeadSpec;
  /** `predictor` (D -> D) on the online side; the aligned branch's predictor takes the same form. */
  predictor?: HeadSpec;
  /** The pairwise loss, a registered Loss type and its options; the aligned branch scores with it too. */
  loss: { type: string } & RawOptions;
  /** The aligned branch's loss where it differs from `loss` (e.g. its own temperature); default `loss`. */
  alignedLoss?: { type: string } & RawOptions;
  /** How the aligned branch scores slot pairs (AlignedBranchContext.slots); default 'rows'. */
  alignedSlots?: 'rows' | 'per_slot';
}

/** One pairing of views: the online outputs of one view against the target side's of the other. */
export interface ViewPair {
  online: EncoderOutput;
  /** The other view through the target network, or through the online one (SimSiam, SimCLR). */
  target: EncoderOutput;
}

/**
 * What every SSL method shares: the online encoder (backbone + aggregator), heads built from
 * their specs through the registry, the pairwise loss from the Loss seam, the aggregator's
 * aligned branch (LEWEL) fed with them, and alignment maps. A method adds its loss over view
 * pairs and its own state in one small subclass; MomentumMethod adds an EMA target.
 */
export abstract class BaseMethod extends Module implements Method {
  abstract readonly type: string;
  abstract readonly defaultOptimizer: { type: string } & Record<string, unknown>;
  abstract readonly defaultViews: string;

  readonly online: Encoder;
  /** The online `predictor`, when the spec has one. */
  readonly predictor?: ProjectionHead;
  /** The method's pairwise loss (spec.loss). */
  protected readonly pairLoss: PairLoss;
  /** The aggregator's objective on aligned slots, when it makes them. */
  protected readonly alignedBranch?: AlignedBranch;
  /** MomentumMethod's target: built right after `online`, before any predictor (init seeds follow module order). */
  protected readonly targetEncoder?: Encoder;
  private headSeed: number;

  protected constructor(
    protected readonly ctx: MethodContext,
    protected readonly spec: MethodSpec,
    networks: { target: boolean } = { target: false },
  ) {
    super();
    const where = this.constructor.name;
    this.headSeed = ctx.seed * 1000 + 17;
    this.online = this.registerModule('online', this.buildEncoder());
    if (networks.target) {
      this.targetEncoder = this.registerModule('target', this.buildEncoder());
      this.targetEncoder.copyFrom(this.online);
    }
    const makeLoss = ({ type, ...options }: MethodSpec['loss'], role: string): PairLoss =>
      resolveType<LossRegistration>(ctx.container, 'Loss', type, `${where} ${role}`).create(options);
    this.pairLoss = makeLoss(spec.loss, 'loss');
    const predictor = spec.predictor;
    const outDim = spec.projector.outDim;
    if (predictor) this.predictor = this.registerModule('predictor', this.makeHead(predictor, outDim));
    if (this.aggregator.hasAlignedBranch) {
      if (!this.aggregator.createAlignedBranch) {
        throw new Error(
          `aggregator '${ctx.aggregator.registration.type}' makes aligned slots but has no createAlignedBranch(ctx), so ${where} cannot train them`,
        );
      }
      const branch = this.aggregator.createAlignedBranch({
        loss: spec.alignedLoss ? makeLoss(spec.alignedLoss, 'aligned loss') : this.pairLoss,
        makePredictor: predictor && (() => this.makeHead(predictor, outDim)),
        slots: spec.alignedSlots ?? 'rows',
      });
      this.alignedBranch = this.registerModule('', branch);
    }
  }

  get backbone(): Backbone {
    return this.online.backbone;
  }

  get aggregator(): Aggregator {
    return this.online.aggregator;
  }

  /** A new head of `spec` for inputs of `inDim` channels, seeded in construction order. */
  protected makeHead(spec: HeadSpec, inDim: number): ProjectionHead {
    const reg = resolveType<HeadRegistration>(this.ctx.container, 'Head', spec.type, this.constructor.name);
    const dims = { inDim, hiddenDim: spec.hiddenDim, outDim: spec.outDim, seed: this.headSeed++ };
    return reg.create(spec.options ?? {}, dims);
  }

  private buildEncoder(): Encoder {
    const backbone = this.ctx.buildBackbone();
    const { registration, options } = this.ctx.aggregator;
    const aggregator = registration.create(options, {
      inChannels: backbone.outChannels,
      makeHead: (inDim) => this.makeHead(this.spec.projector, inDim),
      seed: this.ctx.seed,
    });
    return new Encoder(backbone, aggregator);
  }

  trainableParameters(): StateEntry[] {
    return this.namedParameters().filter((e) => !e.name.startsWith('target.'));
  }

  /** The predictor on one embedding per image, [B, D] -> [B, D]; the identity without one. */
  protected predict(z: tf.Tensor2D): tf.Tensor2D {
    if (!this.predictor) return z;
    const [b, d] = z.shape;
    const p = this.predictor.forward(tf.reshape(z, [b, 1, d]) as tf.Tensor3D);
    return tf.reshape(p, [b, this.predictor.outDim]) as tf.Tensor2D;
  }

  /**
   * The pairwise loss of each pair (online side through the predictor), summed over the pairs
   * (BYOL) or averaged (SimSiam); the aligned branch scores the same pairs alike.
   */
  protected pairwiseLoss(
    pairs: ViewPair[],
    reduce: 'sum' | 'mean' = 'sum',
    progress?: TrainingProgress,
  ): LossOutput {
    const global = reducePairs(
      pairs.map((p) => this.pairLoss(this.predict(p.online.global), p.target.global)),
      reduce,
    );
    return this.withAlignedBranch(global, pairs, reduce, progress);
  }

  /**
   * The training loss from the method's global term: the aligned branch (when the aggregator has
   * one) scores the same pairs, reduced alike, and the aggregator weighs the two. Diagnostics are
   * those of view 1 (the first pair's online side).
   */
  protected withAlignedBranch(
    global: tf.Scalar,
    pairs: ViewPair[],
    reduce: 'sum' | 'mean' = 'sum',
    progress?: TrainingProgress,
  ): LossOutput {
    const terms: Record<string, tf.Scalar> = { loss_global: global };
    let aligned: tf.Scalar | undefined;
    if (this.alignedBranch) {
      const branch = this.alignedBranch;
      aligned = reducePairs(
        pairs.map((p) => branch.score(alignedOf(p.online), alignedOf(p.target))),
        reduce,
      );
      terms.loss_aligned = aligned;
    }
    const first = pairs[0].online;
    const outputs: Record<string, tf.Tensor> = { z_online_v1: first.global };
    if (first.aligned) outputs.aligned_online_v1 = first.aligned;
    if (first.maps) outputs.maps_online_v1 = first.maps;
    return { loss: this.aggregator.combineLosses(global, aligned, progress), terms, outputs };
  }

  abstract computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput;

  afterOptimizerStep(_ctx: StepContext): void {
    this.updateState();
  }

  /** Method state after the step (e.g. the key queue). */
  protected updateState(): void {}

  /** Extra non-tensor state for checkpoints (e.g. the queue pointer). */
  getExtraState(): Record<string, unknown> {
    return {};
  }

  setExtraState(_state: Record<string, unknown>): void {}

  /** Alignment maps [B, K, H, W] of the online encoder in eval mode, when the aggregator makes them. */
  alignmentMaps(images: tf.Tensor4D): tf.Tensor4D {
    if (!this.aggregator.hasAlignedBranch) {
      throw new Error(
        `method '${this.type}' with this aggregator makes no alignment maps (use aggregator: "lewel")`,
      );
    }
    const wasTraining = this.online.isTraining;
    this.online.eval();
    try {
      return tf.tidy(() => {
        const f = this.online.backbone.forward(images);
        const [b, h, w] = f.shape;
        const maps = this.online.aggregator.forward(f).maps;
        if (!maps) throw new Error('aggregator returned no maps');
        return tf.reshape(maps, [b, maps.shape[1], h, w]) as tf.Tensor4D;
      });
    } finally {
      this.online.train(wasTraining);
    }
  }
}

function reducePairs(losses: tf.Scalar[], reduce: 'sum' | 'mean'): tf.Scalar {
  const sum = losses.length === 1 ? losses[0] : (tf.addN(losses) as tf.Scalar);
  return reduce === 'mean' && losses.length > 1 ? (tf.div(sum, losses.length) as tf.Scalar) : sum;
}

function alignedOf(out: EncoderOutput): tf.Tensor3D {
  if (!out.aligned) throw new Error('aligned branch: an encoder output of the pair has no aligned slots');
  return out.aligned;
}
