import {
  tf,
  z,
  MomentumMethod,
  type LossOutput,
  type MethodContext,
  type TrainingProgress,
} from '@selfsup/core';

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
 * symmetrised (the two directions summed), with the normalised-MSE loss. An aggregator with an
 * aligned branch (LEWEL) scores the aligned slots with the same loss and predictor form.
 */
export class BYOL extends MomentumMethod {
  readonly type = 'byol';
  readonly defaultOptimizer = { type: 'lars', lr: 0.2, momentum: 0.9, weightDecay: 1.5e-6, eta: 0.001 };
  readonly defaultViews = 'byol';

  constructor(o: ByolOptions, ctx: MethodContext) {
    const head = { type: o.head, hiddenDim: o.hiddenDim, outDim: o.outDim };
    super(ctx, {
      projector: head,
      predictor: head,
      loss: { type: 'normalized_mse' },
      momentum: { schedule: 'cosine', baseMomentum: o.baseMomentum },
    });
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const o1 = this.online.forward(view1);
    const o2 = this.online.forward(view2);
    const t1 = this.targetForward(view1);
    const t2 = this.targetForward(view2);
    return this.pairwiseLoss(
      [
        { online: o1, target: t2 },
        { online: o2, target: t1 },
      ],
      'sum',
      progress,
    );
  }
}
