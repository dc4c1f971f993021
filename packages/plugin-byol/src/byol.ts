import {
  tf,
  z,
  BaseMethod,
  type EncoderOutput,
  type LossOutput,
  type MethodContext,
  type ProjectionHead,
} from '@selfsup/core';
import { normalizedMse } from './loss';

export const byolOptionsSchema = z
  .object({
    hiddenDim: z.number().int().positive().default(4096),
    outDim: z.number().int().positive().default(256),
    /** Head form for neck and predictors (registered Head type). */
    head: z.string().default('mlp_bn'),
    /** m_0 of the cosine EMA schedule. */
    baseMomentum: z.number().min(0).max(1).default(0.996),
  })
  .strict();
export type ByolOptions = z.infer<typeof byolOptionsSchema>;

/**
 * BYOL: online encoder + predictor regress the EMA target's embedding of the other view,
 * symmetrised. With an aggregator that has an aligned branch, a second predictor
 * (`predictor_obj`) does the same for every aligned slot, and the aggregator weighs the terms.
 */
export class BYOL extends BaseMethod {
  readonly type = 'byol';
  readonly ema;
  readonly defaultOptimizer = { type: 'lars', lr: 0.2, momentum: 0.9, weightDecay: 1.5e-6, eta: 0.001 };
  readonly predictor: ProjectionHead;
  readonly predictorObj?: ProjectionHead;

  constructor(ctx: MethodContext) {
    const o = byolOptionsSchema.parse(ctx.options);
    super(ctx, { type: o.head, hiddenDim: o.hiddenDim, outDim: o.outDim });
    this.ema = { schedule: 'cosine' as const, baseMomentum: o.baseMomentum };
    this.predictor = this.registerModule('predictor', this.makeHead(o.outDim));
    if (this.aggregator.hasAlignedBranch) {
      this.predictorObj = this.registerModule('predictor_obj', this.makeHead(o.outDim));
    }
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D): LossOutput {
    const o1 = this.online.forward(view1);
    const o2 = this.online.forward(view2);
    const t1 = this.targetForward(view1);
    const t2 = this.targetForward(view2);
    const d12 = this.direction(o1, t2);
    const d21 = this.direction(o2, t1);
    const terms: Record<string, tf.Scalar> = { loss_global: tf.add(d12.global, d21.global) };
    if (d12.aligned && d21.aligned) terms.loss_aligned = tf.add(d12.aligned, d21.aligned);
    const outputs: Record<string, tf.Tensor> = { z_online_v1: o1.global };
    if (o1.aligned) outputs.aligned_online_v1 = o1.aligned;
    if (o1.maps) outputs.maps_online_v1 = o1.maps;
    return { loss: tf.add(d12.total, d21.total), terms, outputs };
  }

  /** One direction: online of one view predicts the target of the other. */
  private direction(online: EncoderOutput, target: EncoderOutput) {
    const [b, d] = online.global.shape;
    const p = tf.reshape(this.predictor.forward(tf.reshape(online.global, [b, 1, d])), [b, d]) as tf.Tensor2D;
    const global = normalizedMse(p, target.global);
    let aligned: tf.Scalar | undefined;
    if (this.predictorObj && online.aligned && target.aligned) {
      const [, s] = online.aligned.shape;
      const po = tf.reshape(this.predictorObj.forward(online.aligned), [b * s, d]) as tf.Tensor2D;
      aligned = normalizedMse(po, tf.reshape(target.aligned, [b * s, d]) as tf.Tensor2D);
    }
    return { global, aligned, total: this.aggregator.combineLosses(global, aligned) };
  }
}
