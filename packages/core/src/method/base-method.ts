import { tf } from '../tf';
import type {
  Aggregator,
  Backbone,
  EmaSchedule,
  EncoderOutput,
  HeadRegistration,
  LossOutput,
  Method,
  MethodContext,
  ProjectionHead,
} from '../contracts';
import { Module, type StateEntry } from '../nn/module';
import { normalizeL2 } from '../nn/functional';
import { resolveType } from '../di/registry';
import { Encoder } from './encoder';
import { emaUpdate } from '../optim/ema';

export interface HeadSpec {
  /** Head `type` (registered under the Head seam), e.g. "mlp_bn" or "mlp". */
  type: string;
  hiddenDim: number;
  outDim: number;
}

/**
 * What every SSL method shares: the online encoder (backbone + aggregator) and its EMA target,
 * head construction through the registry, the EMA update, alignment maps. A method adds its
 * heads (predictors), its loss and its state in one small subclass.
 */
export abstract class BaseMethod extends Module implements Method {
  abstract readonly type: string;
  abstract readonly ema: EmaSchedule;
  abstract readonly defaultOptimizer: { type: string } & Record<string, unknown>;

  readonly online: Encoder;
  readonly target: Encoder;
  private headSeed: number;

  protected constructor(
    protected readonly ctx: MethodContext,
    protected readonly head: HeadSpec,
  ) {
    super();
    this.headSeed = ctx.seed * 1000 + 17;
    this.online = this.registerModule('online', this.buildEncoder());
    this.target = this.registerModule('target', this.buildEncoder());
    this.target.copyFrom(this.online);
  }

  get backbone(): Backbone {
    return this.online.backbone;
  }

  get aggregator(): Aggregator {
    return this.online.aggregator;
  }

  /** A new head of this method's form; `inDim` -> hidden -> `outDim` (defaults to the method's). */
  protected makeHead(inDim: number, outDim = this.head.outDim): ProjectionHead {
    const reg = resolveType<HeadRegistration>(
      this.ctx.container,
      'Head',
      this.head.type,
      `${this.constructor.name}`,
    );
    return reg.create({ inDim, hiddenDim: this.head.hiddenDim, outDim, seed: this.headSeed++ }, {});
  }

  private buildEncoder(): Encoder {
    const backbone = this.ctx.buildBackbone();
    const { registration, options } = this.ctx.aggregator;
    const aggregator = registration.create({
      inChannels: backbone.outChannels,
      makeHead: (inDim) => this.makeHead(inDim),
      options,
      seed: this.ctx.seed,
    });
    return new Encoder(backbone, aggregator);
  }

  trainableParameters(): StateEntry[] {
    return this.namedParameters().filter((e) => !e.name.startsWith('target.'));
  }

  /** Target forward. No gradient reaches it: its variables are never in the optimised list. */
  protected targetForward(x: tf.Tensor4D): EncoderOutput {
    return this.target.forward(x);
  }

  abstract computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D): LossOutput;

  afterOptimizerStep(emaMomentum: number): void {
    emaUpdate(this.target.stateEntries(), this.online.stateEntries(), emaMomentum);
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

/** Torch's F.normalize: x / max(||x||, eps) along `axis` (nn's normalizeL2, kept under this name). */
export function l2normalize<T extends tf.Tensor>(x: T, axis = -1, eps = 1e-12): T {
  return normalizeL2(x, axis, eps);
}
