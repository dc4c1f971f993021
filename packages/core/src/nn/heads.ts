import { tf } from '../tf';
import type { ProjectionHead } from '../contracts';
import { SeededRng } from '../util/random';
import { Module } from './module';
import { BatchNorm, Linear, ReLU, Sequential, type Layer } from './layers';

export interface TokenwiseMLPOptions {
  inDim: number;
  hiddenDim: number;
  outDim: number;
  /** Linear(no bias) - BN - ReLU - Linear(no bias) (BYOL form) when true; Linear - ReLU - Linear with biases otherwise (MoCo v2 form). */
  batchNorm: boolean;
  /**
   * Append `mlp.4` = BatchNorm(outDim, affine false) on the output: SimSiam's projector ends in
   * a BN without affine parameters. Default false.
   */
  outputBatchNorm?: boolean;
  seed: number;
}

/**
 * The two-layer MLP of the SSL heads, applied per token: [B, T, C] -> [B, T, D]. With
 * BatchNorm, one BN spans all B*T tokens of the call, exactly like a 1x1 Conv1d head in
 * PyTorch. Its `mlp.*` names match the reference's state dict.
 */
export class TokenwiseMLP extends Module implements ProjectionHead {
  readonly inDim: number;
  readonly outDim: number;
  private readonly mlp: Sequential;

  constructor(opts: TokenwiseMLPOptions) {
    super();
    this.inDim = opts.inDim;
    this.outDim = opts.outDim;
    const rng = new SeededRng(opts.seed);
    const bias = !opts.batchNorm;
    const layers: Layer[] = [new Linear(opts.inDim, opts.hiddenDim, { bias, rng, layout: 'tokenwise' })];
    if (opts.batchNorm) layers.push(new BatchNorm(opts.hiddenDim));
    layers.push(new ReLU(), new Linear(opts.hiddenDim, opts.outDim, { bias, rng, layout: 'tokenwise' }));
    if (opts.outputBatchNorm) layers.push(new BatchNorm(opts.outDim, { affine: false }));
    this.mlp = this.registerModule('mlp', new Sequential(...layers));
  }

  forward(tokens: tf.Tensor3D): tf.Tensor3D {
    const [b, t, c] = tokens.shape;
    if (c !== this.inDim) throw new Error(`head expects ${this.inDim} channels per token, got ${c}`);
    const y = this.mlp.forward(tf.reshape(tokens, [b * t, c]));
    return tf.reshape(y, [b, t, this.outDim]);
  }

  /** Convenience for one vector per image: [B, C] -> [B, D]. */
  forward2d(x: tf.Tensor2D): tf.Tensor2D {
    return this.mlp.forward(x) as tf.Tensor2D;
  }
}
