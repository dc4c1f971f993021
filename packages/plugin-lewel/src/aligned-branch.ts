import {
  tf,
  Module,
  type AlignedBranch,
  type AlignedBranchContext,
  type PairLoss,
  type ProjectionHead,
} from '@selfsup/core';

/**
 * LEWEL's aligned objective for any method: the method's predictor form (`predictor_obj`, when
 * it has a predictor) on the online slots, then the method's pairwise loss against the target
 * slots, slot s of one view matched with slot s of the other. The aggregator weighs it against
 * the global term.
 */
export class LewelAlignedBranch extends Module implements AlignedBranch {
  readonly predictorObj?: ProjectionHead;
  private readonly loss: PairLoss;
  private readonly slots: AlignedBranchContext['slots'];

  constructor(ctx: AlignedBranchContext) {
    super();
    this.loss = ctx.loss;
    this.slots = ctx.slots;
    if (ctx.makePredictor) this.predictorObj = this.registerModule('predictor_obj', ctx.makePredictor());
  }

  /** online, target: [B, S, D] slots of two views; the predictor spans all B*S tokens (one BN). */
  score(online: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar {
    const predicted = this.predictorObj ? this.predictorObj.forward(online) : online;
    if (this.slots === 'rows') {
      // Row b*S + s is slot s of image b, on both sides.
      const rows = (x: tf.Tensor3D) => tf.reshape(x, [-1, x.shape[2]]) as tf.Tensor2D;
      return this.loss(rows(predicted), rows(target));
    }
    // The loss per slot over the batch: negatives come from the same slot of the other images.
    const bySlot = (x: tf.Tensor3D) => tf.transpose(x, [1, 0, 2]) as tf.Tensor3D; // S, B, D
    if (this.loss.grouped) return this.loss.grouped(bySlot(predicted), bySlot(target));
    const targets = tf.unstack(bySlot(target)) as tf.Tensor2D[];
    const perSlot = (tf.unstack(bySlot(predicted)) as tf.Tensor2D[]).map((p, i) => this.loss(p, targets[i]));
    return tf.div(tf.addN(perSlot), perSlot.length) as tf.Scalar;
  }
}
