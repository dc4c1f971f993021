import type { Aggregator, Dataset, Image, Method, Sample } from '../../contracts';
import { evaluateAlignmentMaps } from '../../eval/maps';
import type { TrainerHook } from '../hook';
import type { EpochMetrics } from '../state';
import type { Trainer } from '../trainer';

export interface MapsMonitorOptions {
  /** Held-out images with per-pixel object masks (non-zero = object), e.g. the cluttered test split. */
  dataset: Dataset;
  /** Measure after every N epochs (and after the last). Default 1. */
  everyEpochs?: number;
  /** Score only the first N images of the dataset (default: all, as `selfsup maps` does). */
  limit?: number;
  batchSize?: number;
  /** Network preprocessing (normalisation); must keep the image size, since masks are at image resolution. */
  transform?: (image: Image) => Image;
}

/** Whether a method makes alignment maps (LEWEL's aggregator does; the global one does not). */
export function makesAlignmentMaps(method: Method): boolean {
  const aggregator = (method as { aggregator?: Aggregator }).aggregator;
  return typeof method.alignmentMaps === 'function' && aggregator?.hasAlignedBranch !== false;
}

/** The first `count` samples of a dataset. */
class DatasetPrefix implements Dataset {
  readonly name: string;
  readonly numClasses?: number;
  constructor(
    private readonly base: Dataset,
    readonly length: number,
  ) {
    this.name = `${base.name}[:${length}]`;
    this.numClasses = base.numClasses;
  }
  get(index: number): Promise<Sample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new RangeError(`${this.name}: index ${index} out of range`);
    return this.base.get(index);
  }
}

/**
 * Where LEWEL's alignment maps look while it trains: the fraction of each map's mass on the
 * object masks (`maps_mass`), the objects' area fraction (`maps_area`, what a uniform map puts
 * on them) and their ratio (`maps_lift`, > 1 when maps concentrate on objects), added to the
 * epoch's metrics row, so metrics.jsonl tracks them. The same score as `selfsup maps`.
 */
export class MapsMonitorHook implements TrainerHook {
  readonly name = 'maps';
  /** After the kNN monitor (20), before logging (50) and the metrics file (60). */
  readonly priority = 25;
  private readonly dataset: Dataset;

  constructor(readonly options: MapsMonitorOptions) {
    const { dataset, limit } = options;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new Error(`maps monitor: limit must be a positive integer, got ${limit}`);
    }
    this.dataset =
      limit !== undefined && limit < dataset.length ? new DatasetPrefix(dataset, limit) : dataset;
  }

  beforeRun(trainer: Trainer): void {
    if (!makesAlignmentMaps(trainer.opts.method)) {
      throw new Error(`maps monitor: method '${trainer.opts.method.type}' makes no alignment maps`);
    }
  }

  async afterEpoch(trainer: Trainer, m: EpochMetrics): Promise<void> {
    const isLast = m.step === trainer.totalSteps;
    if (!isLast && (m.partial || m.epoch % (this.options.everyEpochs ?? 1) !== 0)) return;
    const score = await evaluateAlignmentMaps(trainer.opts.method, this.dataset, {
      batchSize: this.options.batchSize ?? 64,
      transform: this.options.transform,
    });
    if (score.images === 0) return; // No image has an object in its mask: nothing to score.
    m.maps_lift = score.lift;
    m.maps_mass = score.massOnMask;
    m.maps_area = score.areaFraction;
  }
}
