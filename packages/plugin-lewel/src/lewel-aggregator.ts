import {
  tf,
  z,
  Module,
  normalizeL2,
  type Aggregator,
  type AggregatorContext,
  type AlignedBranchContext,
  type EncoderOutput,
  type ProjectionHead,
  type TrainingProgress,
} from '@selfsup/core';
import { LewelAlignedBranch } from './aligned-branch';

/** Authors' defaults (METHODS.md): G = 4 heads, scale 1, l2norm on, w = 0.5. */
export const lewelOptionsSchema = z
  .object({
    /** G: channel groups; the K = D maps split into G groups of S = K / G slots. */
    heads: z.number().int().positive().default(4),
    /** Softmax temperature of the alignment maps (logits / scale). */
    scale: z.number().positive().default(1),
    /** L2-normalise the per-pixel logits over the K channels before the softmax. */
    l2norm: z.boolean().default(true),
    /** w in  w * L_global + (1 - w) * L_aligned. */
    lossWeight: z.number().min(0).max(1).default(0.5),
    /**
     * Epochs over which the aligned term's weight rises linearly from 0 to 1 - w (the global
     * term's from 1 to w), so the shared head first learns from the global loss alone. Not in
     * the paper; 0 (the default) is the paper's constant weight.
     */
    lossWeightWarmupEpochs: z.number().min(0).default(0),
  })
  .strict();
export type LewelOptions = z.infer<typeof lewelOptionsSchema>;

/**
 * LEWEL's alignment aggregator. The method's own head (`proj`) runs once over
 * [pooled token; pixel tokens]: the pooled token gives the global embedding, the pixel tokens
 * give K per-pixel logits that become K spatial maps. Features pooled under the maps, per
 * channel group, give S aligned features per image, projected by a second head (`proj_obj`).
 * Their objective is LEWEL's too (LewelAlignedBranch), built from what the method supplies.
 */
export class LewelAggregator extends Module implements Aggregator {
  readonly hasAlignedBranch = true;
  readonly proj: ProjectionHead;
  readonly projObj: ProjectionHead;
  readonly options: LewelOptions;

  constructor(options: LewelOptions, ctx: AggregatorContext) {
    super();
    this.options = options;
    this.proj = this.registerModule('proj', ctx.makeHead(ctx.inChannels));
    this.projObj = this.registerModule('proj_obj', ctx.makeHead(ctx.inChannels));
    const { heads } = this.options;
    const K = this.proj.outDim;
    if (K % heads !== 0)
      throw new Error(`lewel: heads (${heads}) must divide the head's output dim K = ${K}`);
    if (ctx.inChannels % heads !== 0) {
      throw new Error(`lewel: heads (${heads}) must divide the backbone's channels C = ${ctx.inChannels}`);
    }
  }

  forward(featureMap: tf.Tensor4D): EncoderOutput {
    const [b, h, w, c] = featureMap.shape;
    const hw = h * w;
    const { heads: g, scale, l2norm } = this.options;
    const K = this.proj.outDim;
    const s = K / g;

    const pixels = tf.reshape(featureMap, [b, hw, c]) as tf.Tensor3D;
    const pooled = tf.mean(pixels, 1, true);
    // One call over all tokens: one BatchNorm spans the pooled and the pixel tokens.
    const z = this.proj.forward(tf.concat([pooled, pixels], 1) as tf.Tensor3D); // B, 1+HW, K
    const global = tf.reshape(tf.slice(z, [0, 0, 0], [b, 1, K]), [b, K]) as tf.Tensor2D;
    let logits = tf.slice(z, [0, 1, 0], [b, hw, K]) as tf.Tensor3D;
    if (l2norm) logits = normalizeL2(logits, 2);
    if (scale !== 1) logits = tf.div(logits, scale);
    const maps = tf.softmax(tf.transpose(logits, [0, 2, 1])) as tf.Tensor3D; // B, K, HW

    // Slot s of group gi pools the channels of group gi under map (gi, s).
    const groupedMaps = tf.reshape(maps, [b * g, s, hw]) as tf.Tensor3D;
    const groupedPixels = tf.reshape(tf.transpose(tf.reshape(pixels, [b, hw, g, c / g]), [0, 2, 1, 3]), [
      b * g,
      hw,
      c / g,
    ]) as tf.Tensor3D;
    const pooledSlots = tf.matMul(groupedMaps, groupedPixels); // B*G, S, C/G
    const alignedFeatures = tf.reshape(
      tf.transpose(tf.reshape(pooledSlots, [b, g, s, c / g]), [0, 2, 1, 3]),
      [b, s, c],
    ) as tf.Tensor3D;
    const aligned = this.projObj.forward(alignedFeatures); // B, S, D
    return { global, aligned, maps };
  }

  createAlignedBranch(ctx: AlignedBranchContext): LewelAlignedBranch {
    return new LewelAlignedBranch(ctx);
  }

  combineLosses(global: tf.Scalar, aligned?: tf.Scalar, progress?: TrainingProgress): tf.Scalar {
    if (!aligned) return global;
    const w = globalLossWeightAt(this.options.lossWeight, this.options.lossWeightWarmupEpochs, progress);
    return tf.add(tf.mul(global, w), tf.mul(aligned, 1 - w));
  }
}

/**
 * The global term's weight at a step: w after the warm-up (and outside training, where there is
 * no progress); during it, 1 - (1 - w) * (steps done / warm-up steps), so step 0 is global only.
 */
export function globalLossWeightAt(w: number, warmupEpochs: number, progress?: TrainingProgress): number {
  if (!progress || warmupEpochs <= 0) return w;
  const warmupSteps = warmupEpochs * progress.stepsPerEpoch;
  const ramp = Math.min(1, progress.step / warmupSteps);
  return 1 - (1 - w) * ramp;
}
