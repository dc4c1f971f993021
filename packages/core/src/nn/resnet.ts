import { tf } from '../tf';
import type { Backbone } from '../contracts';
import { SeededRng } from '../util/random';
import { Module } from './module';
import { BatchNorm, Conv2d, MaxPool2d, Sequential, type Layer } from './layers';

export type ResNetStem = 'imagenet' | 'cifar';
export type BlockKind = 'basic' | 'bottleneck';

export interface ResNetOptions {
  block: BlockKind;
  /** Blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18. */
  blocks: number[];
  /** Planes per stage (before the bottleneck expansion), e.g. [64, 128, 256, 512]. */
  widths: number[];
  stem: ResNetStem;
  inChannels?: number;
  /**
   * Stride of the last stage's first block (default 2). 1 keeps the last stage at the previous
   * stage's resolution, so the final feature map is twice as fine (8 x 8 instead of 4 x 4 at
   * 32 px with the cifar stem): LEWEL's alignment maps get four times the positions, at the cost
   * of the last stage's compute times four. Same parameters either way.
   */
  lastStride?: 1 | 2;
  seed: number;
}

class BasicBlock extends Module implements Layer<tf.Tensor4D, tf.Tensor4D> {
  static readonly expansion = 1;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly downsample?: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, rng: SeededRng) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, stride, 1, { rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, 1, 1, { rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm(planes));
    if (stride !== 1 || inPlanes !== planes) {
      this.downsample = this.registerModule(
        'downsample',
        new Sequential(new Conv2d(inPlanes, planes, 1, stride, 0, { rng }), new BatchNorm(planes)),
      );
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const identity = this.downsample ? (this.downsample.forward(x) as tf.Tensor4D) : x;
    const y = tf.relu(this.bn1.forward(this.conv1.forward(x))) as tf.Tensor4D;
    return tf.relu(tf.add(this.bn2.forward(this.conv2.forward(y)), identity)) as tf.Tensor4D;
  }
}

/** torchvision's Bottleneck (ResNet v1.5: the stride sits on the 3x3 conv). */
class Bottleneck extends Module implements Layer<tf.Tensor4D, tf.Tensor4D> {
  static readonly expansion = 4;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm;
  private readonly downsample?: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, rng: SeededRng) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 1, 1, 0, { rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, stride, 1, { rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm(planes));
    this.conv3 = this.registerModule('conv3', new Conv2d(planes, out, 1, 1, 0, { rng }));
    this.bn3 = this.registerModule('bn3', new BatchNorm(out));
    if (stride !== 1 || inPlanes !== out) {
      this.downsample = this.registerModule(
        'downsample',
        new Sequential(new Conv2d(inPlanes, out, 1, stride, 0, { rng }), new BatchNorm(out)),
      );
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const identity = this.downsample ? (this.downsample.forward(x) as tf.Tensor4D) : x;
    let y = tf.relu(this.bn1.forward(this.conv1.forward(x))) as tf.Tensor4D;
    y = tf.relu(this.bn2.forward(this.conv2.forward(y))) as tf.Tensor4D;
    return tf.relu(tf.add(this.bn3.forward(this.conv3.forward(y)), identity)) as tf.Tensor4D;
  }
}

/**
 * torchvision-named ResNet without the classifier: forward returns the final feature map
 * (NHWC). Stem `imagenet` = 7x7/2 conv + 3x3/2 max-pool; `cifar` = 3x3/1 conv, no pool.
 */
export class ResNet extends Module implements Backbone {
  readonly outChannels: number;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly maxpool?: MaxPool2d;
  private readonly stages: Sequential[] = [];

  constructor(readonly options: ResNetOptions) {
    super();
    const { block, blocks, widths, stem } = options;
    if (blocks.length !== widths.length || blocks.length === 0) {
      throw new Error(
        `ResNet: blocks (${blocks}) and widths (${widths}) must be non-empty and of equal length`,
      );
    }
    const rng = new SeededRng(options.seed);
    const Block = block === 'basic' ? BasicBlock : Bottleneck;
    const w0 = widths[0];
    const inCh = options.inChannels ?? 3;
    this.conv1 = this.registerModule(
      'conv1',
      stem === 'cifar' ? new Conv2d(inCh, w0, 3, 1, 1, { rng }) : new Conv2d(inCh, w0, 7, 2, 3, { rng }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm(w0));
    if (stem === 'imagenet') this.maxpool = new MaxPool2d(3, 2, 1);
    let inPlanes = w0;
    widths.forEach((planes, i) => {
      const layer: Layer[] = [];
      for (let j = 0; j < blocks[i]; j++) {
        const downsamples = j === 0 && i > 0;
        const stride = downsamples ? (i === widths.length - 1 ? (options.lastStride ?? 2) : 2) : 1;
        layer.push(new Block(inPlanes, planes, stride, rng));
        inPlanes = planes * Block.expansion;
      }
      this.stages.push(this.registerModule(`layer${i + 1}`, new Sequential(...layer)));
    });
    this.outChannels = inPlanes;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    let h = tf.relu(this.bn1.forward(this.conv1.forward(x))) as tf.Tensor4D;
    if (this.maxpool) h = this.maxpool.forward(h);
    for (const stage of this.stages) h = stage.forward(h) as tf.Tensor4D;
    return h;
  }
}

export const RESNET_PRESETS: Record<string, { block: BlockKind; blocks: number[] }> = {
  resnet18: { block: 'basic', blocks: [2, 2, 2, 2] },
  resnet34: { block: 'basic', blocks: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
};

/** Stage widths for a width multiplier: 64 * m * 2^i, at least 1 channel. */
export function resnetWidths(widthMultiplier: number, stages = 4): number[] {
  return Array.from({ length: stages }, (_, i) => Math.max(1, Math.round(64 * widthMultiplier * 2 ** i)));
}
