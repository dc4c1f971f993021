import { tf, z, BaseMethod, type LossOutput, type MethodContext, type TrainingProgress } from '@selfsup/core';

export const simclrOptionsSchema = z
  .object({
    hiddenDim: z.number().int().positive().default(2048),
    outDim: z.number().int().positive().default(128),
    /** Head form of the projector g (registered Head type). */
    head: z.string().default('mlp_bn'),
    /** End the projector in a BatchNorm without affine parameters (off, as SimCLR). */
    outputBatchNorm: z.boolean().default(false),
    /** tau of NT-Xent (the paper's CIFAR-10 value). */
    temperature: z.number().positive().default(0.5),
    /** tau of LEWEL's aligned NT-Xent (per slot); default: temperature. */
    alignedTemperature: z.number().positive().optional(),
  })
  .strict();
export type SimClrOptions = z.infer<typeof simclrOptionsSchema>;

/**
 * SimCLR (Chen et al., ICML 2020): one network, no target, no predictor. The two views'
 * projections are contrasted with NT-Xent, every other image of both views a negative. An
 * aggregator with an aligned branch (LEWEL) contrasts each slot with the same slot of the others.
 */
export class SimCLR extends BaseMethod {
  readonly type = 'simclr';
  readonly defaultOptimizer = { type: 'lars', lr: 0.3, momentum: 0.9, weightDecay: 1e-6, eta: 0.001 };
  /** MoCo v2's views are SimCLR's augmentation at colour strength 0.5 (its CIFAR setting). */
  readonly defaultViews = 'mocov2';

  constructor(o: SimClrOptions, ctx: MethodContext) {
    super(ctx, {
      projector: {
        type: o.head,
        hiddenDim: o.hiddenDim,
        outDim: o.outDim,
        options: o.outputBatchNorm ? { outputBatchNorm: true } : {},
      },
      loss: { type: 'nt_xent', temperature: o.temperature },
      alignedLoss: { type: 'nt_xent', temperature: o.alignedTemperature ?? o.temperature },
      alignedSlots: 'per_slot',
    });
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const z1 = this.online.forward(view1);
    const z2 = this.online.forward(view2);
    return this.pairwiseLoss([{ online: z1, target: z2 }], 'sum', progress);
  }
}
