import { tf } from '../tf';
import type { Aggregator, Backbone, EncoderOutput } from '../contracts';
import { Module } from '../nn/module';

/**
 * backbone -> aggregator. The aggregator's heads sit at the encoder's level, so names read
 * `backbone.*` plus `neck.*` (global) or `proj.*` / `proj_obj.*` (LEWEL), as in PyTorch.
 */
export class Encoder extends Module {
  constructor(
    readonly backbone: Backbone,
    readonly aggregator: Aggregator,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('', aggregator);
  }

  forward(x: tf.Tensor4D): EncoderOutput {
    return this.aggregator.forward(this.backbone.forward(x));
  }
}
