import { tf, z, BaseMethod, type LossOutput, type MethodContext, type TrainingProgress } from '@selfsup/core';

export const simsiamOptionsSchema = z
  .object({
    /** Projector hidden width and the embedding dim D (the paper's 2048, 2048). */
    hiddenDim: z.number().int().positive().default(2048),
    outDim: z.number().int().positive().default(2048),
    /** The predictor's bottleneck, D -> predictorHiddenDim -> D (the paper's 512). */
    predictorHiddenDim: z.number().int().positive().default(512),
    /** Head form of projector and predictor (registered Head type). */
    head: z.string().default('mlp_bn'),
    /** End the projector in a BatchNorm without affine parameters, as the paper. */
    outputBatchNorm: z.boolean().default(true),
  })
  .strict();
export type SimSiamOptions = z.infer<typeof simsiamOptionsSchema>;

/**
 * SimSiam (Chen & He, CVPR 2021): one network, no target. Each view's predictor regresses the
 * other view's projection under a stop-gradient, D(p, z) = -cos(p, stopgrad(z)), the two
 * directions averaged. An aggregator with an aligned branch (LEWEL) scores slots alike.
 */
export class SimSiam extends BaseMethod {
  readonly type = 'simsiam';
  readonly defaultOptimizer = { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4 };
  /** The authors' code uses MoCo v2's augmentation. */
  readonly defaultViews = 'mocov2';

  constructor(o: SimSiamOptions, ctx: MethodContext) {
    super(ctx, {
      projector: {
        type: o.head,
        hiddenDim: o.hiddenDim,
        outDim: o.outDim,
        options: o.outputBatchNorm ? { outputBatchNorm: true } : {},
      },
      predictor: { type: o.head, hiddenDim: o.predictorHiddenDim, outDim: o.outDim },
      loss: { type: 'negative_cosine' },
    });
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const z1 = this.online.forward(view1);
    const z2 = this.online.forward(view2);
    const pairs = [
      { online: z1, target: z2 },
      { online: z2, target: z1 },
    ];
    return this.pairwiseLoss(pairs, 'mean', progress);
  }
}
