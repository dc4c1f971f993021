import { SeededRng } from '../util/random';

/** Deterministic seed from integers, e.g. (seed, epoch, sample index) for one sample's augmentation. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}

/** Where a sampler is: the epoch and how many of its batches were already handed out. */
export interface SamplerState {
  seed: number;
  epoch: number;
  batch: number;
}

/**
 * Seeded shuffling into batches. An epoch's order is a pure function of (seed, epoch), so the
 * position (epoch, batch) is the whole state: resuming mid-epoch yields exactly the batches an
 * uninterrupted run would have seen.
 */
export class ShuffleSampler {
  private epoch = 0;
  private batch = 0;
  private order: Int32Array | undefined;
  private orderEpoch = -1;

  constructor(
    readonly length: number,
    readonly batchSize: number,
    readonly seed: number,
    readonly dropLast = true,
  ) {
    if (!Number.isInteger(length) || length < 1)
      throw new Error(`sampler: dataset length must be >= 1, got ${length}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`sampler: batchSize must be >= 1, got ${batchSize}`);
    if (dropLast && batchSize > length) {
      throw new Error(
        `sampler: batchSize ${batchSize} is larger than the dataset (${length}) and dropLast is on`,
      );
    }
  }

  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.length / this.batchSize) : Math.ceil(this.length / this.batchSize);
  }

  /** The shuffled order of the dataset in an epoch. */
  epochOrder(epoch: number): Int32Array {
    return new SeededRng(mixSeed(this.seed, epoch, 0x5eed)).permutation(this.length);
  }

  /** Dataset indices of batch b of an epoch. */
  batchIndices(epoch: number, b: number): Int32Array {
    if (epoch !== this.orderEpoch || !this.order) {
      this.order = this.epochOrder(epoch);
      this.orderEpoch = epoch;
    }
    const start = b * this.batchSize;
    return this.order.slice(start, Math.min(start + this.batchSize, this.length));
  }

  /** The next batch and its position; advances to the next epoch after the last batch. */
  next(): { epoch: number; batch: number; indices: Int32Array } {
    if (this.batch >= this.batchesPerEpoch) {
      this.epoch++;
      this.batch = 0;
    }
    const out = { epoch: this.epoch, batch: this.batch, indices: this.batchIndices(this.epoch, this.batch) };
    this.batch++;
    return out;
  }

  getState(): SamplerState {
    return { seed: this.seed, epoch: this.epoch, batch: this.batch };
  }

  setState(s: SamplerState): void {
    if (s.seed !== this.seed)
      throw new Error(`sampler: state is for seed ${s.seed}, this sampler has seed ${this.seed}`);
    if (!(s.batch >= 0 && s.batch <= this.batchesPerEpoch)) {
      throw new Error(`sampler: state batch ${s.batch} is outside 0..${this.batchesPerEpoch}`);
    }
    this.epoch = s.epoch;
    this.batch = s.batch;
  }
}
