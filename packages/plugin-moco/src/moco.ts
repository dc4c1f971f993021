import {
  tf,
  z,
  MomentumMethod,
  normalizeL2,
  SeededRng,
  type LossOutput,
  type TrainingProgress,
  type MethodContext,
  type ViewPair,
} from '@selfsup/core';
import { infoNce } from './loss';

export const mocoOptionsSchema = z
  .object({
    hiddenDim: z.number().int().positive().default(2048),
    outDim: z.number().int().positive().default(128),
    head: z.string().default('mlp'),
    temperature: z.number().positive().default(0.2),
    /** T of LEWEL's aligned InfoNCE (in-batch negatives per slot); default: temperature. */
    alignedTemperature: z.number().positive().optional(),
    queueSize: z.number().int().positive().default(65536),
    /** Constant EMA momentum of the key encoder. */
    baseMomentum: z.number().min(0).max(1).default(0.999),
    /** Add the swapped term (query v2, key v1); both keys are enqueued. */
    symmetric: z.boolean().default(false),
  })
  .strict();
export type MocoOptions = z.infer<typeof mocoOptionsSchema>;

/**
 * MoCo v2: query = online(v1), key = EMA target(v2), InfoNCE against a FIFO queue of past keys.
 * Its pairwise loss is InfoNCE with in-batch negatives, scored per slot: an aggregator with an
 * aligned branch (LEWEL) contrasts each slot with the same slot of the other images. Only global
 * keys enter the queue.
 */
export class MoCo extends MomentumMethod {
  readonly type = 'moco';
  readonly defaultOptimizer = { type: 'sgd', lr: 0.03, momentum: 0.9, weightDecay: 1e-4 };
  readonly defaultViews = 'mocov2';
  readonly queue: tf.Variable;
  private readonly options: MocoOptions;
  private queuePtr = 0;
  private pendingKeys: tf.Tensor2D[] = [];

  constructor(o: MocoOptions, ctx: MethodContext) {
    super(ctx, {
      projector: { type: o.head, hiddenDim: o.hiddenDim, outDim: o.outDim },
      loss: { type: 'info_nce', temperature: o.temperature },
      alignedLoss: { type: 'info_nce', temperature: o.alignedTemperature ?? o.temperature },
      alignedSlots: 'per_slot',
      momentum: { schedule: 'constant', baseMomentum: o.baseMomentum },
    });
    this.options = o;
    this.queue = this.registerBuffer('queue', initialQueue(o.outDim, o.queueSize, ctx.seed));
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const T = this.options.temperature;
    const pairs: Array<[tf.Tensor4D, tf.Tensor4D]> = this.options.symmetric
      ? [
          [view1, view2],
          [view2, view1],
        ]
      : [[view1, view2]];
    const keys: tf.Tensor2D[] = [];
    const globals: tf.Scalar[] = [];
    const encoded: ViewPair[] = [];
    for (const [qView, kView] of pairs) {
      const q = this.online.forward(qView);
      const k = this.targetForward(kView);
      const kn = normalizeL2(k.global, 1);
      keys.push(kn);
      globals.push(infoNce(normalizeL2(q.global, 1), kn, this.queue as tf.Tensor2D, T));
      encoded.push({ online: q, target: k });
    }
    this.setPendingKeys(keys);
    const global = globals.length === 1 ? globals[0] : (tf.addN(globals) as tf.Scalar);
    return this.withAlignedBranch(global, encoded, 'sum', progress);
  }

  private setPendingKeys(keys: tf.Tensor2D[]): void {
    for (const k of this.pendingKeys) k.dispose();
    // Kept past the loss computation's scope; enqueued after the optimizer step.
    this.pendingKeys = keys.map((k) => tf.keep(tf.clone(k)));
  }

  /** Keys of each (query, key) pair, for data-parallel training to gather before the enqueue. */
  pendingStepState(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.pendingKeys.map((k, i) => [`keys${i}`, k]));
  }

  setPendingStepState(state: Record<string, tf.Tensor>): void {
    const keys = this.pendingKeys.map((_, i) => {
      const k = state[`keys${i}`];
      if (k === undefined) throw new Error(`moco: gathered step state lacks 'keys${i}'`);
      return k as tf.Tensor2D;
    });
    this.setPendingKeys(keys);
  }

  protected override updateState(): void {
    for (const keys of this.pendingKeys) {
      this.enqueue(keys);
      keys.dispose();
    }
    this.pendingKeys = [];
  }

  /** FIFO ring: keys [B, D] become queue columns ptr..ptr+B (wrapping); ptr advances by B. */
  private enqueue(keys: tf.Tensor2D): void {
    const Q = this.options.queueSize;
    const [b] = keys.shape;
    tf.tidy(() => {
      let cols = tf.transpose(keys) as tf.Tensor2D; // D, B
      if (b > Q) cols = tf.slice(cols, [0, b - Q], [-1, Q]);
      const n = cols.shape[1];
      const ptr = this.queuePtr;
      const first = Math.min(n, Q - ptr);
      const parts: tf.Tensor2D[] = [];
      // Columns [0, n - first) are overwritten by the wrapped-around tail of the keys.
      const wrapped = n - first;
      if (wrapped > 0) parts.push(tf.slice(cols, [0, first], [-1, wrapped]));
      if (ptr > wrapped) parts.push(tf.slice(this.queue as tf.Tensor2D, [0, wrapped], [-1, ptr - wrapped]));
      parts.push(tf.slice(cols, [0, 0], [-1, first]));
      if (ptr + first < Q)
        parts.push(tf.slice(this.queue as tf.Tensor2D, [0, ptr + first], [-1, Q - ptr - first]));
      this.queue.assign(tf.concat(parts, 1));
      this.queuePtr = (ptr + n) % Q;
    });
  }

  override getExtraState(): Record<string, unknown> {
    return { queuePtr: this.queuePtr };
  }

  override setExtraState(state: Record<string, unknown>): void {
    const ptr = Number(state.queuePtr ?? 0);
    if (!Number.isInteger(ptr) || ptr < 0 || ptr >= this.options.queueSize) {
      throw new Error(
        `moco state: queuePtr ${JSON.stringify(state.queuePtr)} is not in [0, ${this.options.queueSize})`,
      );
    }
    this.queuePtr = ptr;
  }

  override dispose(): void {
    for (const k of this.pendingKeys) k.dispose();
    this.pendingKeys = [];
    super.dispose();
  }
}

/** Random unit columns [D, Q], seeded. */
function initialQueue(dim: number, size: number, seed: number): tf.Tensor2D {
  const rng = new SeededRng(seed * 7919 + 3);
  const data = new Float32Array(dim * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return tf.tidy(() => normalizeL2(tf.tensor2d(data, [dim, size]), 0));
}
