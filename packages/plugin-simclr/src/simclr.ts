import {
  tf,
  z,
  BaseMethod,
  type EncoderOutput,
  type LossOutput,
  type MethodContext,
  type TrainingProgress,
} from '@selfsup/core';

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
    /**
     * Both views through one forward pass, so BatchNorm normalises the 2N images together (the
     * paper's global BN). Off: each view is its own BatchNorm batch, as solo-learn and lightly do.
     */
    jointBatchNorm: z.boolean().default(false),
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

  private readonly jointBatchNorm: boolean;

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
    this.jointBatchNorm = o.jointBatchNorm;
  }

  computeLoss(view1: tf.Tensor4D, view2: tf.Tensor4D, progress?: TrainingProgress): LossOutput {
    const [z1, z2] = this.jointBatchNorm
      ? splitBatch(this.online.forward(tf.concat([view1, view2])), view1.shape[0])
      : [this.online.forward(view1), this.online.forward(view2)];
    return this.pairwiseLoss([{ online: z1, target: z2 }], 'sum', progress);
  }
}

/** The outputs of a forward over [view1; view2], cut back into the two views' halves. */
function splitBatch(out: EncoderOutput, n: number): [EncoderOutput, EncoderOutput] {
  const half = <T extends tf.Tensor>(t: T, i: 0 | 1): T => tf.slice(t, i * n, n) as T;
  const side = (i: 0 | 1): EncoderOutput => ({
    global: half(out.global, i),
    ...(out.aligned ? { aligned: half(out.aligned, i) } : {}),
    ...(out.maps ? { maps: half(out.maps, i) } : {}),
  });
  return [side(0), side(1)];
}
