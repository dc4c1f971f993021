import { tf } from '../tf';
import { z } from 'zod';
import type {
  Aggregator,
  AggregatorContext,
  AggregatorRegistration,
  EncoderOutput,
  ProjectionHead,
} from '../contracts';
import { defineRegistration } from '../di/define';
import { Module } from '../nn/module';

/** The default aggregator: global average pooling, then the method's head (`neck`). */
export class GlobalAggregator extends Module implements Aggregator {
  readonly hasAlignedBranch = false;
  readonly neck: ProjectionHead;

  constructor(neck: ProjectionHead) {
    super();
    this.neck = this.registerModule('neck', neck);
  }

  forward(featureMap: tf.Tensor4D): EncoderOutput {
    const [b, , , c] = featureMap.shape;
    const pooled = tf.reshape(tf.mean(featureMap, [1, 2]), [b, 1, c]) as tf.Tensor3D;
    return { global: tf.reshape(this.neck.forward(pooled), [b, this.neck.outDim]) as tf.Tensor2D };
  }

  combineLosses(global: tf.Scalar): tf.Scalar {
    return global;
  }
}

export const globalAggregatorRegistration: AggregatorRegistration = defineRegistration({
  type: 'global',
  plugin: '@selfsup/core',
  description: 'global average pooling + the method head (one embedding per image)',
  optionsSchema: z.object({}).strict(),
  create: (_options, ctx: AggregatorContext) => new GlobalAggregator(ctx.makeHead(ctx.inChannels)),
});
