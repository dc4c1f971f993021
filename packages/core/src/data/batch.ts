import type { Image } from '../contracts';
import { SeededRng } from '../util/random';

/** Stacks same-shape images into one NHWC buffer (for tf.tensor4d(data, shape)). */
export function makeBatch(images: Image[]): { data: Float32Array; shape: [number, number, number, number] } {
  if (images.length === 0) throw new Error('makeBatch: no images given');
  const { height: H, width: W, channels: C } = images[0];
  const size = H * W * C;
  const data = new Float32Array(images.length * size);
  for (let i = 0; i < images.length; i++) {
    const im = images[i];
    if (im.height !== H || im.width !== W || im.channels !== C || im.data.length !== size) {
      throw new Error(
        `makeBatch: image ${i} is ${im.height}x${im.width}x${im.channels} but image 0 is ${H}x${W}x${C} (HxWxC)`,
      );
    }
    data.set(im.data, i * size);
  }
  return { data, shape: [images.length, H, W, C] };
}

export interface EpochSamplerState {
  epoch: number;
  /** Samples of this epoch's permutation already handed out. */
  position: number;
}

/**
 * Shuffled batches of dataset indices. Epoch e's order is a permutation derived only from
 * (seed, e), so {epoch, position} is the whole state and resuming reproduces the same stream.
 */
export class EpochSampler {
  readonly batchesPerEpoch: number;
  private epoch = 0;
  private position = 0;
  private order: Int32Array;

  constructor(
    readonly length: number,
    readonly batchSize: number,
    readonly seed: number,
    readonly dropLast = true,
  ) {
    if (!Number.isInteger(length) || length < 1)
      throw new Error(`EpochSampler: length must be >= 1, got ${length}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`EpochSampler: batchSize must be >= 1, got ${batchSize}`);
    }
    if (dropLast && batchSize > length) {
      throw new Error(
        `EpochSampler: batchSize ${batchSize} exceeds the dataset length ${length} with dropLast`,
      );
    }
    this.batchesPerEpoch = dropLast ? Math.floor(length / batchSize) : Math.ceil(length / batchSize);
    this.order = this.permutation(0);
  }

  /** The index order of `epoch`. */
  permutation(epoch: number): Int32Array {
    return new SeededRng(this.seed).fork(epoch).permutation(this.length);
  }

  /** The next batch of indices, moving to the next epoch when this one is used up. */
  next(): { epoch: number; batch: number; indices: Int32Array } {
    const end = this.dropLast ? this.batchesPerEpoch * this.batchSize : this.length;
    if (this.position >= end) {
      this.epoch++;
      this.position = 0;
      this.order = this.permutation(this.epoch);
    }
    const stop = Math.min(this.position + this.batchSize, end);
    const indices = this.order.slice(this.position, stop);
    const batch = Math.floor(this.position / this.batchSize);
    const epoch = this.epoch;
    this.position = stop;
    return { epoch, batch, indices };
  }

  getState(): EpochSamplerState {
    return { epoch: this.epoch, position: this.position };
  }

  setState(state: EpochSamplerState): void {
    if (
      !Number.isInteger(state.epoch) ||
      state.epoch < 0 ||
      !Number.isInteger(state.position) ||
      state.position < 0
    ) {
      throw new Error(`EpochSampler.setState: bad state ${JSON.stringify(state)}`);
    }
    if (state.position > this.length) {
      throw new Error(
        `EpochSampler.setState: position ${state.position} exceeds the dataset length ${this.length}`,
      );
    }
    if (state.epoch !== this.epoch) this.order = this.permutation(state.epoch);
    this.epoch = state.epoch;
    this.position = state.position;
  }
}
